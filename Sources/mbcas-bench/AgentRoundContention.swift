import Cgroups
import Histogram
import KernelProbe
import Logging
import MonotonicTime
import NodeAgent
import Synchronization

/// `mbcas-bench agent --during-rounds`: the hot path's worst case while the slow pass runs beside
/// it (pod refresh + market round every millisecond, reading and writing real cgroup files), each
/// call timed on its own so a wait on the agent's lock shows in the tail. Baseline in the same
/// run: the same calls with no pass running.
struct AgentRoundContention {
    let parent: BenchCgroup
    let ids: [UInt64]
    let probe: KernelProbe
    let logger: Logger
    let calls: Int

    /// The cgroup actuator, counting the reads the pod refresh makes (one per pod per pass).
    final class CountedCgroupActuator: Actuator {
        let real: CgroupActuator
        let reads = Atomic<Int>(0)
        let writes = Atomic<Int>(0)
        init(version: CgroupVersion) { real = CgroupActuator(version: version) }
        func apply(_ change: LimitChange) throws(AgentError) {
            writes.add(1, ordering: .relaxed)
            try real.apply(change)
        }
        func currentLimit(cgroupPath: String) throws(AgentError) -> Int? {
            reads.add(1, ordering: .relaxed)
            return try real.currentLimit(cgroupPath: cgroupPath)
        }
    }

    func run() throws {
        let actuator = CountedCgroupActuator(version: parent.hierarchy.version)
        let agent = try NodeAgent(
            configuration: AgentConfiguration(cgroupParent: parent.path, capacityMillicores: 1600,
                                              reserveMillicores: 0, defaults: .init(floor: 100, cap: 1600),
                                              guardrail: .init(step: 0.3, intervalMs: 3_600_000),  // rate-limited: no write on the hot path
                                              market: .init(debounceMs: 1, reclaimIntervalMs: 1),
                                              actuation: .limits),
            probe: probe, actuator: actuator, hierarchy: parent.hierarchy, logger: logger)
        agent.refreshPods()
        for i in 0..<ids.count { agent.handle(event(.throttleStart, i)) }  // spend each pod's one raise

        print("agent hot path during rounds: \(calls) calls per path, each timed alone (ns per call, clock reads included)")
        let idle = (measure(agent, .throttleStart), measure(agent, .runQueueWait))
        let readsBefore = actuator.reads.load(ordering: .relaxed)
        let passes = [Task.detached { await agent.runReclaimPass() }, Task.detached { await agent.runMarketRounds() }]
        let busy = (measure(agent, .throttleStart), measure(agent, .runQueueWait))
        for pass in passes { pass.cancel() }
        agent.finish()
        let refreshes = (actuator.reads.load(ordering: .relaxed) - readsBefore) / max(1, ids.count)
        report("throttle-start, rate-limited, no round", idle.0)
        report("throttle-start, rate-limited, rounds on", busy.0)
        report("runq-wait, no round", idle.1)
        report("runq-wait, rounds on", busy.1)
        print("  (\(refreshes) pod refreshes + rounds ran beside the timed calls; \(actuator.writes.load(ordering: .relaxed)) limit writes in all)")
    }

    func event(_ kind: StallEvent.Kind, _ i: Int) -> StallEvent { .pushedNow(kind, cgroupID: ids[i % ids.count]) }

    func measure(_ agent: NodeAgent, _ kind: StallEvent.Kind) -> Histogram<UInt64> {
        var histogram = Histogram<UInt64>(highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: .three)
        for i in 0..<calls {
            let e = event(kind, i)
            let start = monotonicNanos()
            agent.handle(e)
            _ = histogram.record(max(1, monotonicNanos() - start))
        }
        return histogram
    }

    func report(_ name: String, _ h: Histogram<UInt64>) {
        print(name.padding(toLength: 40, withPad: " ", startingAt: 0),
              "median \(h.valueAtPercentile(50)) ns, p99 \(h.valueAtPercentile(99)) ns,",
              "p99.9 \(h.valueAtPercentile(99.9)) ns, p99.99 \(h.valueAtPercentile(99.99)) ns, max \(h.max) ns")
    }
}

extension StallEvent {
    /// An event as the probe would push it now (stall, kernel and receipt times all this instant):
    /// what the hot-path benchmarks feed `NodeAgent.handle`.
    static func pushedNow(_ kind: Kind, cgroupID: UInt64) -> StallEvent {
        let now = monotonicNanos()
        return StallEvent(kind: kind, kernelTimestamp: now, stallStart: now, cgroupID: cgroupID, receivedAt: now)
    }
}
