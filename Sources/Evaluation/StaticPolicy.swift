/// Static limits: the scenario's initial limits, never changed.
public struct StaticPolicy: Policy {
    /// `static`.
    public let name = "static"
    /// Never wakes.
    public var nextWake: Int? { nil }

    /// Creates the policy.
    public init() {}

    /// Nothing to do.
    public mutating func wake(_ view: NodeView) throws(EvaluationError) -> [LimitChange] { [] }
}
