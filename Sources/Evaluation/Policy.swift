/// What a policy may see of one pod when it looks: the kernel's counters and the limit in force.
public struct PodObservation: Sendable, Hashable {
    /// The pod's cumulative counters (cpu.stat, schedstat).
    public var counters: PodCounters
    /// Its limit now, millicores (nil: none).
    public var limit: Int?

    /// Creates an observation.
    public init(counters: PodCounters, limit: Int?) {
        self.counters = counters
        self.limit = limit
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
        pods = (0..<node.podCount).map { PodObservation(counters: node.counters(of: $0), limit: node.limit(of: $0)) }
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

/// A way of setting the pods' CPU limits. The simulator calls ``wake(_:)`` at ``nextWake``
/// (the policy's own cadence: sync period, poll, debounced round) and, if ``pushLatency`` is set,
/// ``push(_:view:)`` that long after each ``NodeSignal``; each returns the limits to write now.
/// A policy sees only a ``NodeView``: counters, limits and the time, at the moments it is called.
public protocol Policy: Sendable {
    /// The name in the results.
    var name: String { get }
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

    /// Not pushed to by default.
    public var pushLatency: Int? { nil }

    /// Ignores pushes by default.
    public mutating func push(_ signal: NodeSignal, view: NodeView) throws(EvaluationError) -> [LimitChange] { [] }
}
