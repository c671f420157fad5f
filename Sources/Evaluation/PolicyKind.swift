/// The five policies compared, by their names in the results.
public enum PolicyKind: String, Sendable, Hashable, CaseIterable {
    /// ``StaticPolicy``.
    case `static` = "static"
    /// ``HPALikePolicy``.
    case hpaLike = "hpa-like"
    /// ``VPALikePolicy``.
    case vpaLike = "vpa-like"
    /// ``PollingMarketPolicy`` at 1 s.
    case poll = "poll-1s"
    /// ``PushMarketPolicy``.
    case push = "push"

    /// A fresh policy of this kind for `scenario`.
    /// - Throws: ``EvaluationError`` for settings out of range.
    public func make(for scenario: Scenario, settings: PolicySettings = PolicySettings()) throws(EvaluationError) -> any Policy {
        switch self {
        case .static: StaticPolicy()
        case .hpaLike: try HPALikePolicy(scenario: scenario, settings: settings.hpa)
        case .vpaLike: try VPALikePolicy(scenario: scenario, settings: settings.vpa)
        case .poll:
            try PollingMarketPolicy(scenario: scenario, settings: settings.mbcas)
        case .push: try PushMarketPolicy(scenario: scenario, settings: settings.mbcas)
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
