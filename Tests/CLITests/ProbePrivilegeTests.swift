import Foundation
import ProcessControl
import TestSupport
import Testing

/// Without the privilege, the command must fail fast with an error that
/// names what is missing: no crash, no hang.
@Suite("Missing privilege", .serialized, .enabled(if: Privileged.canRun))
struct PrivilegeTests {
    func mbcas() throws -> String {
        try #require(builtProduct("mbcas"), "the mbcas executable was not built next to the tests")
    }

    @Test("as an unprivileged user: names CAP_BPF and CAP_PERFMON")
    func unprivilegedUser() throws {
        let result = try runCommand("/usr/bin/setpriv",
                                    ["--reuid=65534", "--regid=65534", "--clear-groups", try mbcas(), "probe", "--duration", "1"],
                                    timeout: 20)
        #expect(!result.timedOut)
        #expect(result.status != 0)
        #expect(result.stderr.contains("CAP_BPF"), "stderr: \(result.stderr)")
        #expect(result.stderr.contains("CAP_PERFMON"), "stderr: \(result.stderr)")
    }

    @Test("as root without CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN (a container without them)")
    func rootWithoutCapabilities() throws {
        let result = try runCommand("/usr/bin/setpriv",
                                    ["--inh-caps=-all", "--bounding-set=-bpf,-perfmon,-sys_admin", try mbcas(),
                                     "probe", "--duration", "1"],
                                    timeout: 20)
        #expect(!result.timedOut)
        #expect(result.status != 0)
        #expect(result.stderr.contains("CAP_BPF"), "stderr: \(result.stderr)")
    }
}
