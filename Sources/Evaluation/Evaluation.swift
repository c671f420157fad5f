/// All policies' runs on one scenario.
public struct ScenarioResult: Sendable, Hashable {
    /// The scenario.
    public var scenario: Scenario
    /// One run per policy, in the order asked for.
    public var runs: [RunResult]

    /// Creates a result.
    public init(scenario: Scenario, runs: [RunResult]) {
        self.scenario = scenario
        self.runs = runs
    }
}

/// A whole evaluation: every scenario under every policy, and the sensitivity sweep if asked for.
public struct EvaluationResult: Sendable, Hashable {
    /// Per scenario.
    public var scenarios: [ScenarioResult]
    /// The sweep's points (empty unless swept).
    public var sweep: [SweepPoint]

    /// Creates a result.
    public init(scenarios: [ScenarioResult], sweep: [SweepPoint] = []) {
        self.scenarios = scenarios
        self.sweep = sweep
    }
}

/// Runs scenarios × policies.
public enum Evaluation {
    /// Runs every policy on every scenario it applies to (``PolicyKind/applies(to:)``; each run
    /// starts from a fresh policy and node).
    /// - Throws: ``EvaluationError`` from any run.
    public static func run(scenarios: [Scenario], policies: [PolicyKind] = PolicyKind.allCases,
                           settings: PolicySettings = PolicySettings(),
                           options: SimulationOptions = SimulationOptions()) throws(EvaluationError) -> [ScenarioResult] {
        var results: [ScenarioResult] = []
        for scenario in scenarios {
            var runs: [RunResult] = []
            for kind in policies where kind.applies(to: scenario) {
                runs.append(try Simulator.run(scenario, policy: try kind.make(for: scenario, settings: settings), options: options))
            }
            results.append(ScenarioResult(scenario: scenario, runs: runs))
        }
        return results
    }
}
