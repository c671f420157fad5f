/// Static limits: the scenario's initial limits, never changed; with `burst`, the kernel's CFS
/// burst set to one quota (`cpu.cfs_burst_us` = quota), as the issue-12 bench's second policy.
public struct StaticPolicy: Policy {
    /// `static` or `static-burst`.
    public let name: String
    /// The limits layout, with one quota of burst for `static-burst`.
    public let setup: NodeSetup
    /// Never wakes.
    public var nextWake: Int? { nil }

    /// Creates the policy.
    public init(burst: Bool = false) {
        name = burst ? "static-burst" : "static"
        setup = NodeSetup(budgetOnParent: false, initialLimits: true, burst: burst ? .oneQuota : .none)
    }

    /// Nothing to do.
    public mutating func wake(_ view: NodeView) throws(EvaluationError) -> [LimitChange] { [] }
}
