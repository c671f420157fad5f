import Cgroups
import Foundation
import KernelProbe
import TestSupport
import Testing

/// The agent killed mid-run (SIGKILL: no clean-up at all) and restarted:
/// no limit is ever outside its pod's [floor, cap], and the totals in the
/// pinned maps continue rather than restart from zero.
@Suite("Agent killed and restarted", .serialized, .enabled(if: Privileged.canRun))
struct AgentRestartTests {
    @Test("after SIGKILL, every limit is within [floor, cap]; a restart continues the totals")
    func killAndRestart() throws {
        let mbcas = try #require(builtProduct("mbcas"), "the mbcas executable was not built next to the tests")
        let parent = try TemporaryCgroup(prefix: "mbcas-restart-test")
        defer { parent.remove() }
        let version = parent.hierarchy.version
        let pods = try ["busy", "calm"].map { try parent.directory.createChild($0) }
        for pod in pods { try CPULimit(millicores: 150).write(cgroupPath: pod.path, version: version) }
        let pinRoot = "/sys/fs/bpf/mbcas-test-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: pinRoot) }
        let floor = 100, cap = 1200
        let config = NSTemporaryDirectory() + "mbcas-restart-\(UUID().uuidString).json"
        try """
            {"cgroup_parent": "\(parent.path)", "capacity_millicores": 2000, "reserve_millicores": 100,
             "defaults": {"floor": \(floor), "cap": \(cap)},
             "market": {"reclaim_interval_ms": 300, "cooldown_ms": 500, "warmup_ms": 500}}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: config) }

        func startAgent() throws -> Process {
            let agent = Process()
            agent.executableURL = URL(fileURLWithPath: mbcas)
            agent.arguments = ["agent", "--config", config, "--pin-root", pinRoot, "--log-level", "warning"]
            agent.standardOutput = FileHandle.nullDevice
            try agent.run()
            return agent
        }
        func limits() throws -> [Int] {
            try pods.map { Int(try CPULimit.read(cgroupPath: $0.path, version: version).millicores ?? Int64.max) }
        }
        func busyRun() throws -> UInt64 {
            let maps = try CumulativeMaps.openPinned(at: pinRoot)
            let id = try cgroupID(of: pods[0].path)
            return try maps.snapshot().cgroups[id]?.runNanoseconds ?? 0
        }

        let burner = try Burner(cgroupPath: pods[0].path)
        defer { burner.stop() }
        var agent = try startAgent()
        // Wait until the agent has moved the busy pod's limit off its start value.
        var moved = false
        for _ in 0..<100 where !moved {
            Thread.sleep(forTimeInterval: 0.1)
            moved = try limits()[0] != 150
        }
        #expect(moved, "the agent never changed the busy pod's limit")
        kill(agent.processIdentifier, SIGKILL)
        agent.waitUntilExit()

        for limit in try limits() { #expect((floor...cap).contains(limit), "limit \(limit)m outside [\(floor), \(cap)] after SIGKILL") }
        let runBefore = try busyRun()
        #expect(runBefore > 0, "the pinned map should hold the busy pod's run time")

        agent = try startAgent()
        defer { if agent.isRunning { agent.terminate(); agent.waitUntilExit() } }
        Thread.sleep(forTimeInterval: 1.5)
        let runAfter = try busyRun()
        #expect(runAfter > runBefore + 500_000_000, "totals should continue from \(runBefore) ns, got \(runAfter) ns")
        for limit in try limits() { #expect((floor...cap).contains(limit), "limit \(limit)m outside [\(floor), \(cap)] after restart") }

        // `mbcas top` reads the running agent's pinned maps: both pods, their limits, the node line.
        let top = try runCommand(mbcas, ["top", "--pin-root", pinRoot, "--count", "1", "--interval", "0.5"], timeout: 15)
        #expect(top.status == 0, "stderr: \(top.stderr)")
        let lines = top.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("POD") == true)
        // Columns are left-aligned: the LIMIT cell starts where its header does.
        let header = String(lines.first ?? "")
        let limitOffset = try #require(header.range(of: " LIMIT ").map { header.distance(from: header.startIndex, to: $0.lowerBound) + 1 },
                                       "no LIMIT column in:\n\(top.stdout)")
        for pod in ["busy", "calm"] {
            // The agent may move the limit between top's read and ours, but it stays in bounds.
            let row = lines.first { $0.hasPrefix(pod + " ") }.map(String.init)
            let shown = row.flatMap { $0.count > limitOffset ? $0.dropFirst(limitOffset).split(separator: " ").first : nil }
                .flatMap { Int($0.dropLast()) }
            #expect(shown.map { (floor...cap).contains($0) } == true, "\(pod)'s limit missing or out of bounds in:\n\(top.stdout)")
        }
        #expect(lines.contains { $0.hasPrefix("node: ") && $0.contains("shadow price") })

        agent.terminate()  // SIGTERM: a clean stop
        agent.waitUntilExit()
        #expect(agent.terminationStatus == 0)
        for limit in try limits() { #expect((floor...cap).contains(limit)) }
    }
}
