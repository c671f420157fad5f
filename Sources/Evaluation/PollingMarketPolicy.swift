/// MBCAS as the Go original ran it: every poll interval (1 s) read cpu.stat; a pod whose
/// `nr_throttled` grew since the last poll gets a guardrail raise, then a market round runs over
/// the poll's window. The same `NodeMarket` and `Guardrail` as the push policy; the difference is
/// only when it learns of throttling: at the next poll, up to a second late.
public struct PollingMarketPolicy: Policy {
    /// `poll-1s` (or `poll-<ms>ms` for another interval).
    public let name: String
    /// The settings.
    public let settings: MBCASSettings
    /// The next poll.
    public private(set) var nextWake: Int? = 0
    private var driver: MarketDriver

    /// Market rounds, scarce rounds, decisions by reason, guardrail raises and refusals by cause.
    public var diagnostics: [String: Int] { driver.diagnostics }

    /// Creates the policy for a scenario.
    /// - Throws: ``EvaluationError`` for settings out of range.
    public init(scenario: Scenario, settings: MBCASSettings = MBCASSettings()) throws(EvaluationError) {
        driver = try MarketDriver(scenario: scenario, settings: settings)
        self.settings = settings
        name = settings.pollInterval == SimTime.second ? "poll-1s" : "poll-\(settings.pollInterval / SimTime.millisecond)ms"
    }

    /// One poll: guardrail raises for the pods throttled since the last poll, then a round.
    public mutating func wake(_ view: NodeView) throws(EvaluationError) -> [LimitChange] {
        nextWake = view.time + settings.pollInterval
        guard let last = driver.last else {
            driver.baseline(view)
            return []
        }
        var changes: [LimitChange] = []
        for (index, pod) in view.pods.enumerated() where pod.counters.throttleCount > last[index].throttleCount {
            if let raise = driver.guardrailRaise(pod: index, now: view.time) { changes.append(raise) }
        }
        changes += try driver.round(view)
        return changes
    }
}
