import Foundation
import ProcessControl
import TestSupport
import Testing

@Suite("mbcas top", .serialized, .enabled(if: Privileged.canRun))
struct TopCommandTests {
    @Test("without a running agent it says so, names the pin root, and exits non-zero")
    func noAgent() throws {
        let mbcas = try #require(builtProduct("mbcas"))
        let pinRoot = "/sys/fs/bpf/mbcas-none-\(UInt32.random(in: 0...UInt32.max))"
        let result = try runCommand(mbcas, ["top", "--pin-root", pinRoot, "--count", "1"], timeout: 10)
        #expect(!result.timedOut)
        #expect(result.status != 0)
        #expect(result.stderr.contains("no agent is running") && result.stderr.contains(pinRoot), "stderr: \(result.stderr)")
    }
}
