import Foundation
import Testing

/// deploy/overlays/pre-5.8-kernel: the same install plus CAP_SYS_ADMIN on the agent (and
/// allowPrivilegeEscalation true, which the API requires with it), nothing else.
@Suite(.enabled(if: DeployCheck.canRun, "no .venv/bin/python or kubectl (make deps creates the venv)"))
struct OverlayTests {
    @Test("the overlay renders, validates and differs only by SYS_ADMIN")
    func differsOnlyBySysAdmin() throws {
        let result = try DeployCheck.run(["overlay"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("ok overlay: differs from deploy/ only by SYS_ADMIN"), "\(result.stdout)")
        #expect(result.stdout.contains("ok overlay schemas:"), "\(result.stdout)")
        #expect(result.stdout.contains("the agent adds only BPF, PERFMON, SYS_ADMIN, SYS_RESOURCE"), "\(result.stdout)")
    }

    @Test("the checker catches", arguments: [
        Mutation(description: "an overlay that changes something else too", kind: "DaemonSet", name: "mbcas-agent",
                 old: "memory: 256Mi", new: "memory: 1Gi", expected: "limits.memory differs: '256Mi' -> '1Gi'"),
        Mutation(description: "an overlay without SYS_ADMIN", kind: "DaemonSet", name: "mbcas-agent",
                 old: "            - SYS_ADMIN\n", new: "", expected: "the overlay does not add SYS_ADMIN"),
        Mutation(description: "an overlay adding another capability", kind: "DaemonSet", name: "mbcas-agent",
                 old: "            - SYS_ADMIN\n", new: "            - SYS_ADMIN\n            - SYS_PTRACE\n",
                 expected: "expected SYS_ADMIN added and nothing else"),
    ])
    func checkerCatches(mutation: Mutation) throws {
        let file = try DeployCheck.temporaryFile(try mutation.apply(to: DeployCheck.render("deploy/overlays/pre-5.8-kernel")))
        let result = try DeployCheck.run(["overlay", "--overlay-input", file])
        #expect(result.status == 1, "accepted: \(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains(mutation.expected), "\(result.stdout)\(result.stderr)")
    }
}
