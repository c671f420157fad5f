import Histogram
import Market

/// Cumulative kernel accounting of one pod (all its cgroups), at one moment.
struct PodTotals: Sendable {
    var throttledNanos: UInt64 = 0
    var waitNanos: UInt64 = 0
    var runNanos: UInt64 = 0
    var episodes: UInt64 = 0
    var switches: UInt64 = 0

    /// What happened since `earlier`, never negative: a pod's totals shrink when one of its
    /// container cgroups goes away (its counts leave the sum), and a wrapped difference would read
    /// as centuries of CPU.
    func since(_ earlier: PodTotals) -> PodTotals {
        PodTotals(throttledNanos: throttledNanos.saturatingMinus(earlier.throttledNanos),
                  waitNanos: waitNanos.saturatingMinus(earlier.waitNanos),
                  runNanos: runNanos.saturatingMinus(earlier.runNanos),
                  episodes: episodes.saturatingMinus(earlier.episodes),
                  switches: switches.saturatingMinus(earlier.switches))
    }
}

extension UInt64 {
    /// self − other, or 0 when other is larger.
    public func saturatingMinus(_ other: UInt64) -> UInt64 { self > other ? self - other : 0 }
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
    /// Weights actuation: the planner, its latest plan per pod, and when each pod's moves reversed
    /// direction (kept for a minute, to report oscillation).
    var planner: WeightPlanner
    var plans: [PodSlot: WeightPlan] = [:]
    var reversals: [PodSlot: [UInt64]] = [:]
    var reversalTotals: [PodSlot: UInt64] = [:]
    var limitDirections: [PodSlot: Int] = [:]

    /// Notes a move of `slot` by `delta` at `now`; counts it when it reverses the previous move.
    mutating func noteMove(_ slot: PodSlot, reversed: Bool, now: UInt64) {
        guard reversed else { return }
        reversalTotals[slot, default: 0] += 1
        let minuteAgo = now > 60_000_000_000 ? now - 60_000_000_000 : 0
        reversals[slot, default: []].removeAll { $0 < minuteAgo }
        reversals[slot, default: []].append(now)
    }

    /// Reversals of `slot` in the minute before `now`.
    func reversalsLastMinute(_ slot: PodSlot, now: UInt64) -> Int {
        let minuteAgo = now > 60_000_000_000 ? now - 60_000_000_000 : 0
        return reversals[slot]?.filter { $0 >= minuteAgo }.count ?? 0
    }

    /// Books an applied change.
    mutating func record(_ decision: DecisionRecord, slot: PodSlot) {
        switch decision.knob {
        case .limit:
            table.setLimit(slot, decision.newMillicores)
            let direction = decision.newMillicores > decision.oldMillicores ? 1 : -1
            let previous = limitDirections[slot] ?? 0
            noteMove(slot, reversed: previous != 0 && previous != direction, now: decision.appliedAt)
            limitDirections[slot] = direction
        case .weight:
            table.setWeight(slot, decision.newMillicores)
        }
        lastDecisions[slot] = decision
        decisionsByReason[decision.reason, default: 0] += 1
        if let latency = decision.latencyNanos {
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
