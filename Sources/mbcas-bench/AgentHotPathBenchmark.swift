import ArgumentParser
import Cgroups
import Foundation
import Histogram
import KernelProbe
import Logging
import MonotonicTime
import NodeAgent
import Synchronization

/// `mbcas-bench agent`: what `NodeAgent.handle` costs on the ring-buffer
/// thread, per pushed event, without the kernel (synthetic events) and
/// without the cgroup write (an actuator that only counts), so the figure
/// is the agent's own work: lookup, guardrail, lock, round request (limits actuation: under
/// weights actuation a throttle start raises a pod once, to its cap, then only asks for a round).
struct AgentHotPathBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Cost of the agent's hot path per pushed event (root: it loads the probe and makes cgroups).",
        discussion: """
            Three paths, timed in batches (one call is below the clock's resolution): a throttle \
            start that raises (guardrail interval 0), a throttle start the guardrail rate-limits, \
            and a run-queue-wait event (only asks for a market round). Baseline in the same run: \
            an uncontended Mutex lock/unlock. With --during-rounds: the rate-limited throttle start and \
            the run-queue-wait event timed one call at a time while the slow pass (pod refresh and \
            market round on real cgroup files) runs beside them every millisecond, against the same \
            calls with no pass running.
            """
    )

    @Option(help: "Calls per timed batch.")
    var batch = 1000

    @Option(help: "Batches per path.")
    var batches = 2000

    @Flag(help: "Time single calls while pod refreshes and market rounds run beside them (the worst case).")
    var duringRounds = false

    @Option(help: "Calls per path with --during-rounds.")
    var calls = 2_000_000

    /// Counts writes instead of making them.
    final class CountingActuator: Actuator {
        let writes = Atomic<Int>(0)
        func apply(_ change: LimitChange) throws(AgentError) { writes.add(1, ordering: .relaxed) }
        func currentLimit(cgroupPath: String) throws(AgentError) -> Int? { 100 }
    }

    func run() throws {
        let parent = try BenchCgroup(prefix: "mbcas-bench-agent")
        defer { parent.remove() }
        let pods = try (0..<8).map { try parent.directory.createChild("pod\($0)") }
        var logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        logger.logLevel = .critical
        let probe = try KernelProbe.load(ProbeConfiguration(pinRoot: "/sys/fs/bpf/mbcas-bench-agent-\(getpid())"),
                                         logger: logger)
        defer { probe.close(keepPins: false) }

        let actuator = CountingActuator()
        func agent(intervalMs: Int) throws -> NodeAgent {
            let a = try NodeAgent(
                configuration: AgentConfiguration(cgroupParent: parent.path, capacityMillicores: 1_000_000_000,
                                                  reserveMillicores: 0, defaults: .init(floor: 100, cap: 900_000_000),
                                                  guardrail: .init(step: 1e-9, intervalMs: intervalMs),  // +10m each: never reaches the cap
                                                  actuation: .limits),  // the guardrail path; weights raise once, to the cap
                probe: probe, actuator: actuator, hierarchy: parent.hierarchy, logger: logger)
            a.refreshPods()
            return a
        }
        let ids = try pods.map { try cgroupID(of: $0.path) }
        if duringRounds {
            return try AgentRoundContention(parent: parent, ids: ids, probe: probe, logger: logger, calls: calls).run()
        }
        func event(_ kind: StallEvent.Kind, _ i: Int) -> StallEvent { .pushedNow(kind, cgroupID: ids[i % ids.count]) }

        let raising = try agent(intervalMs: 0)
        let limited = try agent(intervalMs: 3_600_000)
        for i in 0..<ids.count { limited.handle(event(.throttleStart, i)) }  // spend each pod's one raise
        let mutex = Mutex(0)

        print("agent hot path, \(batches) batches of \(batch) calls (ns per call)")
        let writesBefore = actuator.writes.load(ordering: .relaxed)
        let raises = measure { i in raising.handle(event(.throttleStart, i)) }
        let written = actuator.writes.load(ordering: .relaxed) - writesBefore
        report("throttle-start, guardrail raises", raises)
        print("  (\(written) raises written of \(batch * batches) events)")
        report("throttle-start, rate-limited", measure { i in limited.handle(event(.throttleStart, i)) })
        report("runq-wait (round request only)", measure { i in limited.handle(event(.runQueueWait, i)) })
        report("baseline: Mutex lock/unlock", measure { i in mutex.withLock { $0 &+= i } })
        print("(events are built in the loop: each figure includes two clock reads)")
    }

    func measure(_ body: (Int) -> Void) -> Histogram<UInt64> {
        var histogram = Histogram<UInt64>(highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: .three)
        var i = 0
        for _ in 0..<batches {
            let start = monotonicNanos()
            for _ in 0..<batch { body(i); i &+= 1 }
            _ = histogram.record(max(1, (monotonicNanos() - start) / UInt64(batch)))
        }
        return histogram
    }

    func report(_ name: String, _ h: Histogram<UInt64>) {
        print(name.padding(toLength: 36, withPad: " ", startingAt: 0),
              "median \(h.valueAtPercentile(50)) ns, p99 \(h.valueAtPercentile(99)) ns")
    }
}
