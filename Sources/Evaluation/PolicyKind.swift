/// The policies compared, by their names in the results: seven that set limits (two with the
/// kernel's CFS burst), five that divide a node budget by CFS weights.
public enum PolicyKind: String, Sendable, Hashable, CaseIterable {
    /// ``StaticPolicy``.
    case `static` = "static"
    /// ``StaticPolicy`` with the kernel's CFS burst at one quota.
    case staticBurst = "static-burst"
    /// ``KoordinatorLikePolicy``: CFS burst and a 1 s loop scaling throttled pods' quota × 1.2.
    case koordinatorLike = "koordinator-like"
    /// ``HPALikePolicy``.
    case hpaLike = "hpa-like"
    /// ``VPALikePolicy``.
    case vpaLike = "vpa-like"
    /// ``PollingMarketPolicy`` at 1 s.
    case poll = "poll-1s"
    /// ``PushMarketPolicy``.
    case push = "push"
    /// ``FairSharePolicy``: the budget on the parent, weights from requests, no agent.
    case fairShare = "fair-share"
    /// ``FairSharePolicy`` hand-weighted: declared latency pods 10× (scenarios that declare classes).
    case fairShareHand = "fair-share-hand"
    /// ``WeightsMarketPolicy`` polling every 1 s.
    case pollWeights = "poll-weights-1s"
    /// ``WeightsMarketPolicy`` on pushes, classes learned.
    case pushWeights = "push-weights"
    /// ``WeightsMarketPolicy`` on pushes with the declared classes as hints (scenarios that declare them).
    case pushWeightsHints = "push-weights-hints"

    /// Whether the policy means anything on `scenario`: hand weights and class hints need declared classes.
    public func applies(to scenario: Scenario) -> Bool {
        switch self {
        case .fairShareHand, .pushWeightsHints: scenario.declaresClasses
        default: true
        }
    }

    /// A fresh policy of this kind for `scenario`.
    /// - Throws: ``EvaluationError`` for settings out of range.
    public func make(for scenario: Scenario, settings: PolicySettings = PolicySettings()) throws(EvaluationError) -> any Policy {
        switch self {
        case .static: StaticPolicy()
        case .staticBurst: StaticPolicy(burst: true)
        case .koordinatorLike: KoordinatorLikePolicy(scenario: scenario)
        case .hpaLike: try HPALikePolicy(scenario: scenario, settings: settings.hpa)
        case .vpaLike: try VPALikePolicy(scenario: scenario, settings: settings.vpa)
        case .poll:
            try PollingMarketPolicy(scenario: scenario, settings: settings.mbcas)
        case .push: try PushMarketPolicy(scenario: scenario, settings: settings.mbcas)
        case .fairShare: FairSharePolicy(scenario: scenario)
        case .fairShareHand: FairSharePolicy(scenario: scenario, handWeighted: true)
        case .pollWeights: try WeightsMarketPolicy(scenario: scenario, cadence: .poll, settings: settings.mbcas)
        case .pushWeights: try WeightsMarketPolicy(scenario: scenario, cadence: .push, settings: settings.mbcas)
        case .pushWeightsHints:
            try WeightsMarketPolicy(scenario: scenario, cadence: .push, classHints: true, settings: settings.mbcas)
        }
    }
}

/// Every policy's settings.
public struct PolicySettings: Sendable, Hashable {
    /// The HPA-like policy's.
    public var hpa: HPALikeSettings
    /// The VPA-like policy's.
    public var vpa: VPALikeSettings
    /// The two MBCAS policies'.
    public var mbcas: MBCASSettings

    /// Creates settings (defaults throughout).
    public init(hpa: HPALikeSettings = HPALikeSettings(), vpa: VPALikeSettings = VPALikeSettings(),
                mbcas: MBCASSettings = MBCASSettings()) {
        self.hpa = hpa
        self.vpa = vpa
        self.mbcas = mbcas
    }
}
