/// What a policy may see of one pod when it looks: the kernel's counters, the limit and the CFS
/// weight in force.
public struct PodObservation: Sendable, Hashable {
    /// The pod's cumulative counters (cpu.stat, schedstat).
    public var counters: PodCounters
    /// Its limit now, millicores (nil: none).
    public var limit: Int?
    /// Its CFS weight now, in `cpu.shares` units.
    public var weight: Double

    /// Creates an observation.
    public init(counters: PodCounters, limit: Int?, weight: Double = 1024) {
        self.counters = counters
        self.limit = limit
        self.weight = weight
    }
}

/// What a policy may see of the node when it looks: the time and each pod's counters and limit.
/// Never the trace, the backlog or the latency.
public struct NodeView: Sendable, Hashable {
    /// Now, nanoseconds from the start.
    public var time: Int
    /// The pods, in slot order.
    public var pods: [PodObservation]

    /// Creates a view.
    public init(time: Int, pods: [PodObservation]) {
        self.time = time
        self.pods = pods
    }

    /// The node's state as a policy may read it.
    public init(_ node: CFSNode) {
        time = node.time
        pods = (0..<node.podCount).map {
            PodObservation(counters: node.counters(of: $0), limit: node.limit(of: $0), weight: node.weight(of: $0))
        }
    }
}

/// A policy's order: set pod `pod`'s limit to `limit` millicores now.
public struct LimitChange: Sendable, Hashable {
    /// The pod.
    public var pod: Int
    /// The new limit, millicores.
    public var limit: Int

    /// Creates an order.
    public init(pod: Int, limit: Int) {
        self.pod = pod
        self.limit = limit
    }
}

/// How the node is laid out before a policy's first call.
public struct NodeSetup: Sendable, Hashable {
    /// The CFS burst written with every limit.
    public enum Burst: Sendable, Hashable {
        /// None (`cpu.cfs_burst_us` 0).
        case none
        /// One whole quota, the most the kernel allows.
        case oneQuota
        /// As MBCAS writes it (`CPUBurst.micros(for:capMillicores:)`): as much as keeps quota +
        /// burst within the pod's cap (bounded by the budget), at most one quota.
        case withinCap
    }

    /// Whether the node budget (capacity − reserve) is the managed parent's quota, so the pods
    /// together never use more (else they share the whole node).
    public var budgetOnParent: Bool
    /// Whether the pods start at the scenario's initial limits (else with no per-pod limit).
    public var initialLimits: Bool
    /// The burst written with every limit (at the start and after every limit write).
    public var burst: Burst

    /// Creates a layout.
    public init(budgetOnParent: Bool, initialLimits: Bool, burst: Burst = .none) {
        self.budgetOnParent = budgetOnParent
        self.initialLimits = initialLimits
        self.burst = burst
    }

    /// The burst, millicores, for a limit of `limit` under a cap of `cap`.
    public func burst(limit: Int?, cap: Int) -> Int {
        guard let limit else { return 0 }
        switch burst {
        case .none: return 0
        case .oneQuota: return limit
        case .withinCap: return Swift.max(0, Swift.min(limit, cap - limit))
        }
    }

    /// The limits policies': the whole node, every pod at its initial limit.
    public static let limits = NodeSetup(budgetOnParent: false, initialLimits: true)
}

/// A way of setting the pods' CPU limits and weights. The simulator calls ``wake(_:)`` at
/// ``nextWake`` (the policy's own cadence: sync period, poll, debounced round) and, if
/// ``pushLatency`` is set, ``push(_:view:)`` that long after each ``NodeSignal``; each returns the
/// limits to write now. After every call (and once before the first) it writes the ``weights``
/// that differ from the node's. A policy sees only a ``NodeView``: counters, limits, weights and
/// the time, at the moments it is called.
public protocol Policy: Sendable {
    /// The name in the results.
    var name: String { get }
    /// How the node is laid out at the start. Default ``NodeSetup/limits``.
    var setup: NodeSetup { get }
    /// The CFS weights (`cpu.shares` units, > 0) the policy wants in force now, one per pod, or nil
    /// to leave them as the kubelet sets them (from the requests).
    var weights: [Double]? { get }
    /// How long after a throttle or wait the kernel's push reaches the policy (nanoseconds), or
    /// nil if it hears of nothing but what it reads when it wakes.
    var pushLatency: Int? { get }
    /// When the policy wants to run next (≥ the current time), or nil for never.
    var nextWake: Int? { get }
    /// Runs at ``nextWake``; must move ``nextWake`` past `view.time` (or to nil).
    mutating func wake(_ view: NodeView) throws(EvaluationError) -> [LimitChange]
    /// Hears one pushed signal, ``pushLatency`` after it happened.
    mutating func push(_ signal: NodeSignal, view: NodeView) throws(EvaluationError) -> [LimitChange]
    /// Counts of what the policy did and why (for explaining results; may be empty).
    var diagnostics: [String: Int] { get }
}

extension Policy {
    /// None by default.
    public var diagnostics: [String: Int] { [:] }

    /// The limits layout by default.
    public var setup: NodeSetup { .limits }

    /// The kubelet's weights by default.
    public var weights: [Double]? { nil }

    /// Not pushed to by default.
    public var pushLatency: Int? { nil }

    /// Ignores pushes by default.
    public mutating func push(_ signal: NodeSignal, view: NodeView) throws(EvaluationError) -> [LimitChange] { [] }
}
