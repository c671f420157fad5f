import Histogram
import Market

/// Cumulative kernel accounting of one pod (all its cgroups), at one moment.
struct PodTotals: Sendable {
    var throttledNanos: UInt64 = 0
    var waitNanos: UInt64 = 0
    var runNanos: UInt64 = 0
    var episodes: UInt64 = 0
}

/// Everything the agent's paths share, behind one lock: the hot path takes
/// it for a few hundred nanoseconds per throttle push; a market round holds
/// it while it decides and writes (tens of microseconds, at most every
/// debounce interval).
struct AgentState: Sendable {
    var table = PodTable()
    var guardrail: Guardrail
    var market: NodeMarket
    /// The pods' totals at their last round, and when that was.
    var lastTotals: [PodSlot: (totals: PodTotals, at: UInt64)] = [:]
    var lastDecisions: [PodSlot: DecisionRecord] = [:]
    var decisionsByReason: [Reason: Int] = [:]
    /// Push → actuation latency (ns) of guardrail raises (written on the
    /// ring-buffer thread) and of market decisions (pushed round requests,
    /// debounced). Fixed-size: recording never allocates.
    var guardrailLatency = AgentState.latencyHistogram()
    var marketLatency = AgentState.latencyHistogram()
    var rounds: UInt64 = 0
    var shadowPrice: Double = 0

    /// Books an applied change.
    mutating func record(_ decision: DecisionRecord, slot: PodSlot) {
        table.setLimit(slot, decision.newMillicores)
        lastDecisions[slot] = decision
        decisionsByReason[decision.reason, default: 0] += 1
        if let latency = decision.latencyNanoseconds {
            if decision.reason == .guardrail {
                _ = guardrailLatency.record(Swift.max(1, latency))
            } else {
                _ = marketLatency.record(Swift.max(1, latency))
            }
        }
    }

    static func latencyHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    }

    var allocatedMillicores: Int { table.pods.values.reduce(0) { $0 + $1.limit } }
}
