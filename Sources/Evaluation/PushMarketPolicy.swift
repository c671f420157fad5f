/// MBCAS as the node agent runs it: the kernel pushes each throttle start and run-queue wait.
/// A throttle push goes straight to the guardrail, whose raise is written within the throttled
/// period (the push latency after the quota ran out); every push also asks for a market round,
/// which runs at once unless one ran within the debounce interval, else when it ends (requests in
/// between coalesce). A slow pass runs a round every couple of seconds regardless, which is what
/// gives idle CPU back.
public struct PushMarketPolicy: Policy {
    /// `push`.
    public let name = "push"
    /// The settings.
    public let settings: MBCASSettings
    private var driver: MarketDriver

    /// Market rounds, scarce rounds, decisions by reason, guardrail raises and refusals by cause.
    public var diagnostics: [String: Int] { driver.diagnostics }
    private var cadence: PushCadence

    /// Creates the policy for a scenario.
    /// - Throws: ``EvaluationError`` for settings out of range.
    public init(scenario: Scenario, settings: MBCASSettings = MBCASSettings()) throws(EvaluationError) {
        driver = try MarketDriver(scenario: scenario, settings: settings)
        self.settings = settings
        cadence = PushCadence(settings: settings)
    }

    /// The kernel → agent latency.
    public var pushLatency: Int? { settings.pushLatency }

    /// Start-up, then the next debounced round or slow pass.
    public var nextWake: Int? { cadence.nextWake }

    /// Start-up (the first window's baseline), a debounced round, or the slow pass.
    public mutating func wake(_ view: NodeView) throws(EvaluationError) -> [LimitChange] {
        switch cadence.wake(at: view.time) {
        case .start:
            driver.baseline(view)
            return []
        case .round: return try driver.round(view)
        case .nothing: return []
        }
    }

    /// A pushed throttle: guardrail raise now; any push: ask for a round.
    public mutating func push(_ signal: NodeSignal, view: NodeView) throws(EvaluationError) -> [LimitChange] {
        var changes: [LimitChange] = []
        if case .throttled(let pod, _) = signal, let raise = driver.guardrailRaise(pod: pod, now: view.time) {
            changes.append(raise)
        }
        return cadence.push(at: view.time) ? changes + (try driver.round(view)) : changes
    }
}
