/// Koordinator's CPU Burst as the issue-12 bench reimplements it (scripts/bench_workloads): static
/// limits with the kernel's CFS burst at one quota, and a 1 s loop that reads `nr_throttled`: a pod
/// throttled during the last second gets its limit × 1.2 (at most 3× its static limit and the
/// node), one that was not × 0.8 (at least its static limit).
public struct KoordinatorLikePolicy: Policy {
    /// Growth per throttled second, decay per quiet one, and the ceiling over the static limit.
    public static let increase = 1.2, decrease = 0.8, ceiling = 3.0

    /// `koordinator-like`.
    public let name = "koordinator-like"
    /// Limits on the whole node, burst at one quota.
    public var setup: NodeSetup { NodeSetup(budgetOnParent: false, initialLimits: true, burst: .oneQuota) }
    /// The next second.
    public private(set) var nextWake: Int? = 0
    private let base: [Int]
    private let top: [Int]
    private var lastThrottles: [Int]?

    /// Creates the policy for a scenario.
    public init(scenario: Scenario) {
        base = scenario.pods.map(\.initialLimit)
        top = scenario.pods.map { Swift.min(Int((Double($0.initialLimit) * Self.ceiling).rounded()), scenario.capacity) }
    }

    /// Every second: × 1.2 for the pods throttled since the last look, × 0.8 for the others.
    public mutating func wake(_ view: NodeView) throws(EvaluationError) -> [LimitChange] {
        nextWake = view.time + SimTime.second
        let throttles = view.pods.map(\.counters.throttleCount)
        defer { lastThrottles = throttles }
        guard let last = lastThrottles else { return [] }
        var changes: [LimitChange] = []
        for (pod, observed) in view.pods.enumerated() {
            let current = observed.limit ?? top[pod]
            let factor = throttles[pod] > last[pod] ? Self.increase : Self.decrease
            let target = Swift.max(base[pod], Swift.min(top[pod], Int((Double(current) * factor).rounded())))
            if target != current { changes.append(LimitChange(pod: pod, limit: target)) }
        }
        return changes
    }
}
