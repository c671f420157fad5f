import Cgroups
import Foundation
import KernelProbe
import Logging
import Market
import Synchronization
import TestSupport
import Testing
@testable import NodeAgent

/// Collects what the agent applied, from whatever thread.
final class DecisionCollector: AgentObserver {
    private let decisions = Mutex<[DecisionRecord]>([])
    func observe(_ event: StallEvent) {}
    func applied(_ decision: DecisionRecord) { decisions.withLock { $0.append(decision) } }
    func roundFinished(_ report: RoundReport) {}
    var all: [DecisionRecord] { decisions.withLock { $0 } }
}

/// The older model, still what Kubernetes mode runs: the market moves limits, a guardrail raises
/// them on pushes. On real cgroups with real load: push → guardrail → cgroup write, then market
/// rounds, then CPU given back.
@Suite("Node agent on real cgroups, limits actuation", .serialized, .enabled(if: Privileged.canRun))
struct LimitsActuationTests {
    let logger = Logger(label: "test.agent")

    @Test("a throttled pod is raised by the guardrail at once, the market keeps the node within capacity − reserve, and CPU is given back when the load stops")
    func pushToActuation() async throws {
        let parent = try TemporaryCgroup(prefix: "mbcas-agent-test")
        defer { parent.remove() }
        let hot = try parent.directory.createChild("hot"), idle = try parent.directory.createChild("idle")
        let version = parent.hierarchy.version
        try CPULimit(millicores: 200).write(cgroupPath: hot.path, version: version)
        try CPULimit(millicores: 500).write(cgroupPath: idle.path, version: version)

        let capacity = 2000, reserve = 100
        let configuration = AgentConfiguration(
            cgroupParent: parent.path, capacityMillicores: capacity, reserveMillicores: reserve,
            defaults: .init(floor: 100, cap: 1500),
            market: .init(debounceMs: 100, reclaimIntervalMs: 500, cooldownMs: 1000, warmupMs: 1000), actuation: .limits)
        let probe = try KernelProbe.load(ProbeConfiguration(pinRoot: "/sys/fs/bpf/mbcas-test-\(UInt32.random(in: 0...UInt32.max))",
                                                            filterCgroups: true), logger: logger)
        defer { probe.close(keepPins: false) }
        let collector = DecisionCollector()
        try probe.attach()
        let runtime = try AgentRuntime(probe: probe, configuration: configuration, actuator: CgroupActuator(version: version),
                                       hierarchy: parent.hierarchy, realtimePriority: nil, logger: logger, observer: collector)
        let agent = runtime.agent
        #expect(agent.status().pods.map(\.name) == ["hot", "idle"])
        runtime.start()
        defer { runtime.stop() }

        func limit(_ dir: CgroupDirectory) throws -> Int {
            Int(try CPULimit.read(cgroupPath: dir.path, version: version).millicores ?? Int64.max)
        }

        // 1. Load: the pod at 200m is throttled; the guardrail raises it, from the push.
        let burner = try Burner(cgroupPath: hot.path)
        let raised = await eventually(timeout: .seconds(5)) { collector.all.contains { $0.pod == "hot" && $0.reason == .guardrail } }
        #expect(raised, "no guardrail raise for the throttled pod")
        let guardrailRaise = try #require(collector.all.first { $0.pod == "hot" && $0.reason == .guardrail })
        #expect(guardrailRaise.newMillicores > guardrailRaise.oldMillicores)
        let latency = try #require(guardrailRaise.latencyNanos, "a pushed decision must carry its push→actuation latency")
        #expect(latency > 0 && latency < 5_000_000_000)
        #expect(try limit(hot) > 200)

        // 2. Market rounds follow; the node stays within capacity − reserve (read from the files).
        #expect(await eventually(timeout: .seconds(5)) { agent.status().rounds >= 3 })
        #expect(try limit(hot) + limit(idle) <= capacity - reserve)
        let peak = try limit(hot)

        // 3. The load stops: CPU is given back (cooldown 1 s, 20 % steps every 0.5 s).
        burner.stop()
        let givenBack = try await eventually(timeout: .seconds(20)) { try limit(hot) <= max(300, peak / 3) }
        let left = try limit(hot)
        #expect(givenBack, "hot still holds \(left)m, 20 s after its load stopped (peak \(peak)m)")
        #expect(collector.all.contains { $0.pod == "hot" && $0.reason == .reclaim })
        for record in collector.all {
            #expect(record.newMillicores >= 100 && record.newMillicores <= 1500, "\(record)")
        }
    }
}
