import Market

/// A limit change the agent made, as shown in logs, `mbcas top` and the demo.
public struct DecisionRecord: Sendable, Hashable {
    /// The pod.
    public var pod: String
    /// Why.
    public var reason: Reason
    /// Limit before, millicores.
    public var oldMillicores: Int
    /// Limit after, millicores.
    public var newMillicores: Int
    /// When the cgroup file was written (CLOCK_MONOTONIC ns).
    public var appliedAt: UInt64
    /// Kernel stall → cgroup write; nil for periodic decisions (no stall behind them).
    public var latencyNanoseconds: UInt64?
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
}

/// Latency percentiles, nanoseconds.
public struct LatencySummary: Sendable, Hashable {
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
    /// Push → actuation latency of every decision triggered by a kernel push.
    public var pushLatency: LatencySummary
    /// Σ of the managed pods' limits, millicores.
    public var allocatedMillicores: Int
    /// Capacity and reserve, millicores.
    public var capacityMillicores: Int, reserveMillicores: Int

    /// Limit changes applied in all.
    public var decisions: Int { decisionsByReason.values.reduce(0, +) }
}
