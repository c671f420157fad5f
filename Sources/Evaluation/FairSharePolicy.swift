import Market

/// The kernel's own fair share, with no agent: the node budget (capacity − reserve) is the managed
/// parent's quota, no pod has a limit of its own, and CFS divides contended CPU by the weights the
/// kubelet derives from the requests (the floors). Hand-weighted, a pod the scenario declares
/// latency-sensitive gets its weight × ``handWeight`` (the issue-12 bench's "latency pods 10×").
/// Nothing moves during the run.
public struct FairSharePolicy: Policy {
    /// The latency pods' weight factor when hand-weighted.
    public static let handWeight = 10.0

    /// `fair-share` or `fair-share-hand`.
    public let name: String
    /// Budget on the parent, no per-pod limits.
    public var setup: NodeSetup { NodeSetup(budgetOnParent: true, initialLimits: false) }
    /// The weights, written once before the start.
    public let weights: [Double]?
    /// Never wakes.
    public var nextWake: Int? { nil }

    /// Creates the policy for a scenario.
    /// - Parameter handWeighted: Weight the declared latency pods 10×.
    public init(scenario: Scenario, handWeighted: Bool = false) {
        name = handWeighted ? "fair-share-hand" : "fair-share"
        weights = scenario.pods.map { pod in
            let base = Double(CPUWeight(millicores: Double(pod.request)).shares)
            return handWeighted && pod.latencyClass == .latency ? base * Self.handWeight : base
        }
    }

    /// Nothing to do.
    public mutating func wake(_ view: NodeView) throws(EvaluationError) -> [LimitChange] { [] }
}
