import Cgroups
import Foundation
import KernelProbe
import ProcessControl
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
        try parent.delegateCPU()
        let pods = try ["busy", "calm"].map { try parent.directory.createChild($0) }
        for pod in pods { try CPULimit(millicores: 150).write(cgroupPath: pod.path, version: version) }
        let floor = 100, cap = 1200
        let agentRun = try AgentRun(mbcas: mbcas, parent: parent.path, floor: floor, cap: cap)
        defer { agentRun.cleanUp() }
        let pinRoot = agentRun.pinRoot
        func startAgent() throws -> Process { try agentRun.start() }
        func limits() throws -> [Int] {
            try pods.map { Int(try CPULimit.read(cgroupPath: $0.path, version: version).millicores ?? Int64.max) }
        }
        func busyRun() throws -> UInt64 {
            let maps = try CumulativeMaps.openPinned(at: pinRoot)
            let id = try cgroupID(of: pods[0].path)
            return try maps.snapshot().cgroups[id]?.runNanos ?? 0
        }

        let burner = try Burner(cgroupPath: pods[0].path)
        defer { burner.stop() }
        var agent = try startAgent()
        try agentRun.waitUntilAttached()
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
        try agentRun.waitUntilAttached()
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

    @Test("SIGKILL during a throttle episode: across the restart, throttled time and episodes follow cpu.stat")
    func episodeOpenAtKill() throws {
        let mbcas = try #require(builtProduct("mbcas"), "the mbcas executable was not built next to the tests")
        let parent = try TemporaryCgroup(prefix: "mbcas-restart-test")
        defer { parent.remove() }
        // floor = cap: the agent cannot lift the limit, so the pod stays throttled ~80 % of each period.
        try parent.delegateCPU()
        let pod = try parent.directory.createChild("busy")
        try CPULimit(millicores: 200).write(cgroupPath: pod.path, version: parent.hierarchy.version)
        let id = try cgroupID(of: pod.path)
        let agentRun = try AgentRun(mbcas: mbcas, parent: parent.path, floor: 200, cap: 200)
        defer { agentRun.cleanUp() }
        func kernel() throws -> CPUStat { try CPUStat.read(cgroupPath: pod.path, version: parent.hierarchy.version) }
        func probe() throws -> CgroupStallTotals {
            try CumulativeMaps.openPinned(at: agentRun.pinRoot).snapshot().cgroups[id] ?? CgroupStallTotals(cgroupID: id)
        }

        let burner = try Burner(cgroupPath: pod.path)
        defer { burner.stop() }
        var agent = try agentRun.start()
        defer { if agent.isRunning { kill(agent.processIdentifier, SIGKILL); agent.waitUntilExit() } }
        try agentRun.waitUntilAttached()
        Thread.sleep(forTimeInterval: 1)
        let kernel0 = try kernel(), probe0 = try probe()
        Thread.sleep(forTimeInterval: 1)
        // Kill while an episode is open (it is, 80 % of the time).
        var open = false
        for _ in 0..<200 where !open {
            open = try probe().openThrottledNanos > 0
            if !open { usleep(2_000) }
        }
        #expect(open, "the pod was never seen throttled")
        kill(agent.processIdentifier, SIGKILL)
        agent.waitUntilExit()
        let kernelAtKill = try kernel()
        Thread.sleep(forTimeInterval: 1)  // no probe: the kernel throttles on, unseen

        agent = try agentRun.start()
        try agentRun.waitUntilAttached()
        let kernelAtAttach = try kernel()
        Thread.sleep(forTimeInterval: 3)
        burner.stop()
        Thread.sleep(forTimeInterval: 0.3)  // every episode closed on both sides
        let kernel1 = try kernel(), probe1 = try probe()

        // The probe cannot see the kernel's throttling while no agent runs: leave that part out.
        let unseen = kernelAtAttach.throttledNanos - kernelAtKill.throttledNanos
        let expected = Double(kernel1.throttledNanos - kernel0.throttledNanos - unseen)
        let measured = Double(probe1.since(probe0).throttledNanos)
        let error = abs(measured - expected) / expected
        print("[figure] throttled time across a SIGKILL and restart: probe \(measured / 1e6) ms, cpu.stat \(expected / 1e6) ms (\(unseen / 1_000_000) ms unseen while down)")
        #expect(error <= 0.10, "throttled time across the restart: probe \(measured) ns vs cpu.stat \(expected) ns (\(Int(error * 100))% apart)")
        let expectedEpisodes = Double(kernel1.nrThrottled - kernel0.nrThrottled - (kernelAtAttach.nrThrottled - kernelAtKill.nrThrottled))
        let episodes = Double(probe1.since(probe0).throttleEpisodes)
        #expect(abs(episodes - expectedEpisodes) <= max(2, expectedEpisodes * 0.10),
                "episodes across the restart: probe \(episodes) vs cpu.stat \(expectedEpisodes)")
        #expect(probe1.openThrottledNanos == 0, "an episode is still open with no task throttled: it leaked")
    }
}

/// One agent configuration (a parent cgroup, default floor and cap) and its pin root, started as
/// many times as a test needs; its log goes to a file the test reads.
struct AgentRun {
    let mbcas: String
    let pinRoot = "/sys/fs/bpf/mbcas-test-\(UInt32.random(in: 0...UInt32.max))"
    let config = NSTemporaryDirectory() + "mbcas-restart-\(UUID().uuidString).json"
    let log = NSTemporaryDirectory() + "mbcas-restart-\(UUID().uuidString).log"

    init(mbcas: String, parent: String, floor: Int, cap: Int) throws {
        self.mbcas = mbcas
        try """
            {"cgroup_parent": "\(parent)", "capacity_millicores": 2000, "reserve_millicores": 100,
             "defaults": {"floor": \(floor), "cap": \(cap)},
             "market": {"reclaim_interval_ms": 300, "cooldown_ms": 500, "warmup_ms": 500}}
            """.write(toFile: config, atomically: true, encoding: .utf8)
    }

    /// Starts the agent; its log (info) replaces the previous run's.
    func start(_ extraArguments: [String] = []) throws -> Process {
        FileManager.default.createFile(atPath: log, contents: nil)
        let agent = Process()
        agent.executableURL = URL(fileURLWithPath: mbcas)
        agent.arguments = ["agent", "--config", config, "--pin-root", pinRoot, "--log-level", "info"] + extraArguments
        agent.standardOutput = FileHandle.nullDevice
        agent.standardError = FileHandle(forWritingAtPath: log)
        try agent.run()
        return agent
    }

    /// Waits for the log line that says the programs are attached (they count from then on). Up to
    /// a minute: under emulation (make test-vm) loading takes seconds.
    func waitUntilAttached() throws {
        for _ in 0..<6000 {
            if let text = try? String(contentsOfFile: log, encoding: .utf8), text.contains("probe attached") { return }
            usleep(10_000)
        }
        Issue.record("the agent never attached its probe; its log:\n\((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
    }

    func cleanUp() {
        try? FileManager.default.removeItem(atPath: pinRoot)
        try? FileManager.default.removeItem(atPath: config)
        try? FileManager.default.removeItem(atPath: log)
    }
}

