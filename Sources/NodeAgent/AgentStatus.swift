import Histogram
import Market

/// What a decision changed.
public enum Knob: String, Sendable, Hashable, CaseIterable {
    /// The CFS limit (quota), in millicores.
    case limit
    /// The CFS weight, in cpu.shares.
    case weight
}

/// A change the agent made, as shown in logs, `mbcas top` and the demo.
public struct DecisionRecord: Sendable, Hashable {
    /// The pod.
    public var pod: String
    /// Why.
    public var reason: Reason
    /// Value before: millicores for a limit, cpu.shares for a weight.
    public var oldMillicores: Int
    /// Value after, in the same unit.
    public var newMillicores: Int
    /// When the cgroup file was written (CLOCK_MONOTONIC ns).
    public var appliedAt: UInt64
    /// Kernel stall → cgroup write; nil for periodic decisions (no stall behind them).
    public var latencyNanos: UInt64?
    /// What changed.
    public var knob: Knob = .limit
    /// The pod's class when the decision was made, and the evidence behind it (weight decisions).
    public var latencyClass: LatencyClass? = nil
    public var evidence: String? = nil
}

/// One pod as the agent sees it now.
public struct PodStatus: Sendable, Hashable {
    /// Its name.
    public var name: String
    /// Its cgroup directory.
    public var cgroupPath: String
    /// The limit in force, millicores.
    public var limit: Int
    /// Its floor and cap, millicores.
    public var floor: Int, cap: Int
    /// The last change made to it.
    public var lastDecision: DecisionRecord?
    /// The CFS weight in force, cpu.shares (nil: limits-only actuation or not read yet).
    public var weightShares: Int? = nil
    /// Its class (declared or learned) and the learner's evidence; nil under limits-only actuation.
    public var latencyClass: LatencyClass? = nil
    public var classDeclared = false
    public var evidence: ClassEvidence? = nil
    /// Its share under full contention, millicores (the market's division).
    public var shareMillicores: Double? = nil
    /// Weight or limit moves that reversed the previous one, in the last minute (oscillation).
    public var directionChangesLastMinute = 0
}

/// Latency percentiles, nanoseconds.
public struct LatencySummary: Sendable, Hashable {
    init(_ histogram: Histogram<UInt64>) {
        let empty = histogram.totalCount == 0
        count = histogram.totalCount
        p50 = empty ? 0 : histogram.valueAtPercentile(50)
        p99 = empty ? 0 : histogram.valueAtPercentile(99)
        max = empty ? 0 : histogram.max
    }

    /// How many were measured.
    public var count: UInt64
    /// Median.
    public var p50: UInt64
    /// 99th percentile.
    public var p99: UInt64
    /// Largest.
    public var max: UInt64
}

/// The agent at one moment.
public struct AgentStatus: Sendable {
    /// The managed pods, by name.
    public var pods: [PodStatus]
    /// The last market round's shadow price (0 = CPU not scarce, ∞ = floors over-committed).
    public var shadowPrice: Double
    /// Market rounds run.
    public var rounds: UInt64
    /// Limit changes applied, by reason.
    public var decisionsByReason: [Reason: Int]
    /// Kernel push → cgroup write of guardrail raises (inline on the ring-buffer thread).
    public var guardrailLatency: LatencySummary
    /// Kernel push → cgroup write of market decisions from pushed rounds (includes the debounce).
    public var marketLatency: LatencySummary
    /// Σ of the managed pods' limits, millicores.
    public var allocatedMillicores: Int
    /// Capacity and reserve, millicores.
    public var capacityMillicores: Int, reserveMillicores: Int

    /// Limit changes applied in all.
    public var decisions: Int { decisionsByReason.values.reduce(0, +) }
}

/// One pod's cumulative kernel accounting, as of a market round.
public struct PodReport: Sendable, Hashable {
    /// The pod.
    public var name: String
    /// Throttled time, run-queue wait and run time since the probe's maps were created (ns).
    public var throttledNanos: UInt64, waitNanos: UInt64, runNanos: UInt64
    /// Throttle episodes since then.
    public var episodes: UInt64
    /// Moves that reversed the previous one, since the agent started.
    public var directionChanges: UInt64 = 0
    /// Weights actuation: the weight in force (cpu.shares), the share under contention, the class
    /// in force and whether it was declared, the learner's score, the CFS burst with the limit (µs).
    public var weightShares: Int? = nil
    public var shareMillicores: Double? = nil
    public var latencyClass: LatencyClass? = nil
    public var classDeclared = false
    public var latencyScore: Double? = nil
    public var burstMicros: Int64? = nil
}

/// What a market round saw and set, for observers (metrics).
public struct RoundReport: Sendable {
    /// The round's shadow price.
    public var shadowPrice: Double
    /// Every managed pod's cumulative accounting and limit.
    public var pods: [PodReport]
    /// Ring-buffer drops so far (cumulative, all CPUs).
    public var ringBufferDrops: UInt64
}
