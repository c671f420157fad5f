/// A tuning knob of MBCAS the sweep varies.
public enum SweepParameter: String, Sendable, Hashable, CaseIterable {
    /// The guardrail's step (fraction of the limit per raise).
    case guardrailStep = "guardrail-step"
    /// The demand model's EMA half-life, seconds.
    case halfLife = "half-life-s"
    /// The demand model's hysteresis deadband (relative).
    case deadband = "deadband"

    /// The values tried (the default among them).
    public var values: [Double] {
        switch self {
        case .guardrailStep: [0.1, 0.3, 0.6]
        case .halfLife: [1, 3, 10]
        case .deadband: [0, 0.05, 0.2]
        }
    }

    /// `settings` with this knob set to `value`.
    public func applied(_ value: Double, to settings: MBCASSettings) -> MBCASSettings {
        var settings = settings
        switch self {
        case .guardrailStep: settings.guardrailStep = value
        case .halfLife: settings.halfLife = SimTime.nanoseconds(seconds: value)
        case .deadband: settings.deadband = value
        }
        return settings
    }
}

/// One point of the sweep: one knob at one value, one MBCAS policy, totals over the scenarios.
public struct SweepPoint: Sendable, Hashable {
    /// The knob.
    public var parameter: SweepParameter
    /// Its value.
    public var value: Double
    /// The policy (`poll-1s` or `push`).
    public var policy: String
    /// Throttled seconds, summed over scenarios.
    public var throttledSeconds: Double
    /// SLO-violation seconds, summed over scenarios.
    public var sloViolationSeconds: Double
    /// CPU used / granted over all scenarios.
    public var efficiency: Double
    /// Limit changes, summed over scenarios.
    public var changes: Int
    /// Direction reversals, summed over scenarios.
    public var reversals: Int
}

/// Sensitivity: one knob at a time moves through its values, the others stay at their defaults,
/// and both MBCAS policies run every scenario at each point.
public enum Sweep {
    /// Runs the sweep.
    /// - Throws: ``EvaluationError`` from any run.
    public static func run(scenarios: [Scenario], base: MBCASSettings = MBCASSettings(),
                           parameters: [SweepParameter] = SweepParameter.allCases,
                           policies: [PolicyKind] = [.poll, .push],
                           options: SimulationOptions = SimulationOptions()) throws(EvaluationError) -> [SweepPoint] {
        var options = options
        options.recordsSeries = false
        var points: [SweepPoint] = []
        for parameter in parameters {
            for value in parameter.values {
                let settings = PolicySettings(mbcas: parameter.applied(value, to: base))
                for kind in policies {
                    var point = SweepPoint(parameter: parameter, value: value, policy: kind.rawValue, throttledSeconds: 0,
                                           sloViolationSeconds: 0, efficiency: 0, changes: 0, reversals: 0)
                    var used = 0.0
                    var allocated = 0.0
                    for scenario in scenarios {
                        let metrics = try Simulator.run(scenario, policy: try kind.make(for: scenario, settings: settings),
                                                        options: options).metrics
                        point.throttledSeconds += metrics.throttledSeconds
                        point.sloViolationSeconds += metrics.sloViolationSeconds
                        point.changes += metrics.changes
                        point.reversals += metrics.reversals
                        used += metrics.usedCPUSeconds
                        allocated += metrics.allocatedCPUSeconds
                    }
                    point.efficiency = allocated > 0 ? used / allocated : 0
                    points.append(point)
                }
            }
        }
        return points
    }
}
