import Market
import Testing
@testable import Evaluation

/// The weights policies: kernel fair share with and without hand weights, and MBCAS's
/// `WeightPlanner` driven on pushes or polls.
@Suite("Weights policies: fair share, push and poll")
struct WeightsPolicyTests {
    /// Pod 0 steps from 0.3 to 2 CPUs at 10 s; every pod starts at 500 m.
    func stepScenario() throws -> Scenario {
        try scenario(try stepTrace(at: 10, seconds: 12), initialLimit: 500, probe: ReactionProbe(pod: 0, time: 10 * SimTime.second))
    }

    @Test("every policy runs on every trace kind it applies to; budget policies stay within the budget")
    func everyTraceKind() throws {
        let duration = 20
        for kind in TraceKind.allCases {
            let scenario = try Scenario.generated(kind, duration: duration * SimTime.second, seed: 3)
            let kinds = PolicyKind.allCases.filter { $0.applies(to: scenario) }
            #expect(kinds.contains(.fairShareHand) == (kind == .webBatch), "\(kind)")
            #expect(kinds.contains(.pushWeightsHints) == (kind == .webBatch), "\(kind)")
            for policyKind in kinds {
                let policy = try policyKind.make(for: scenario)
                let result = try Simulator.run(scenario, policy: policy, options: SimulationOptions(recordsSeries: false))
                let m = result.metrics
                #expect(m.policy == policyKind.rawValue)
                #expect(m.usedCPUSeconds > 0 && m.throttledSeconds.isFinite && m.sloViolationSeconds.isFinite)
                if policy.setup.budgetOnParent {
                    #expect(m.usedCPUSeconds <= 3.9 * Double(duration) + 1e-6, "\(kind) \(policyKind)")
                }
                #expect((m.latencySLOViolationSeconds != nil) == (kind == .webBatch))
            }
        }
    }

    @Test("fair share: no limits, weights from requests; hand-weighted: declared latency pods 10×")
    func fairShareWeights() throws {
        let scenario = try Scenario.generated(.webBatch, duration: 4 * SimTime.second)
        let plain = FairSharePolicy(scenario: scenario)
        let hand = FairSharePolicy(scenario: scenario, handWeighted: true)
        #expect(plain.weights == [256, 256, 256, 256])
        #expect(hand.weights == [2560, 256, 256, 256])
        #expect(!plain.setup.initialLimits && plain.setup.budgetOnParent)
        // In the first 2 s burst (2 CPUs against 3 × 0.8 of batch on 3.9): hand-weighted, the server
        // runs all it is offered and batch waits; plain, batch runs its 0.8 each (under its equal
        // share, ±10 % noise) and the server gets the ~1.5 left.
        let handResult = try Simulator.run(scenario, policy: hand)
        let plainResult = try Simulator.run(scenario, policy: plain)
        func burst(_ result: RunResult) -> (used: Double, offered: Double) {
            let seconds = result.series.filter { $0.pod == 0 && $0.second < 2 }
            return (seconds.map(\.used).reduce(0, +), seconds.map(\.demand).reduce(0, +))
        }
        #expect(burst(handResult).used > 0.999 * burst(handResult).offered)
        #expect(burst(plainResult).used < 0.8 * burst(plainResult).offered)
        let plainTotal = plainResult.series.filter { $0.second < 2 }.map(\.used).reduce(0, +)
        #expect(abs(plainTotal - 3.9 * 2) < 1e-6) // the server takes all batch leaves: the budget is used
        #expect(handResult.metrics.weightWrites == 1) // the hand weight, written once before the start
    }

    @Test("CFS burst as the agent writes it: banked quota within the cap, none at the cap; static-burst: one quota")
    func burstRule() throws {
        let agent = try WeightsMarketPolicy(scenario: try stepScenario(), cadence: .push).setup
        #expect(agent.burst(limit: 1000, cap: 3900) == 1000)
        #expect(agent.burst(limit: 3000, cap: 3900) == 900)
        #expect(agent.burst(limit: 3900, cap: 3900) == 0)
        #expect(StaticPolicy(burst: true).setup.burst(limit: 700, cap: 4000) == 700)
        #expect(StaticPolicy().setup.burst(limit: 700, cap: 4000) == 0)
        #expect(FairSharePolicy(scenario: try stepScenario()).setup.burst(limit: nil, cap: 3900) == 0)
    }

    @Test("push-weights: a throttle below the cap raises the limit to the cap, 100 µs after the quota runs out")
    func pushRaisesToCap() throws {
        let scenario = try stepScenario()
        let (result, record) = try runRecording(scenario, try WeightsMarketPolicy(scenario: scenario, cadence: .push))
        let first = try #require(record.changes.first { $0.change.pod == 0 && $0.time >= 10 * SimTime.second })
        // 500 m at 2 CPUs: 50 ms of quota gone 25 ms into the step's period; the cap is the budget (3.9 CPUs).
        #expect(first.time == 10 * SimTime.second + 25_000_000 + 100_000)
        #expect(first.change.limit == 3900)
        #expect(result.metrics.reactionSeconds == 0.0251)
        #expect(record.changes.allSatisfy { $0.change.limit == 3900 }) // limits only ever go to the cap
    }

    @Test("poll-weights-1s: the raise to the cap comes at the next poll")
    func pollRaisesAtPoll() throws {
        let scenario = try stepScenario()
        let (result, record) = try runRecording(scenario, try WeightsMarketPolicy(scenario: scenario, cadence: .poll))
        let first = try #require(record.changes.first { $0.change.pod == 0 })
        #expect(first.time == 11 * SimTime.second && first.change.limit == 3900)
        #expect(result.metrics.reactionSeconds == 1)
        #expect(result.metrics.throttledSeconds > 0.5)
    }

    @Test("push-weights learns the bursting server's class from its idle gaps; with hints it weights it first at once")
    func classes() throws {
        let scenario = try Scenario.generated(.webBatch, duration: 20 * SimTime.second, seed: 2)
        var learned = try WeightsMarketPolicy(scenario: scenario, cadence: .push)
        _ = try Simulator.run(scenario, policy: &learned)
        #expect(learned.learnedClass(of: 0) == .latency)
        #expect((1..<4).allSatisfy { learned.learnedClass(of: $0) == .batch })

        let short = try Scenario.generated(.webBatch, duration: SimTime.second, seed: 2)
        var hinted = try WeightsMarketPolicy(scenario: short, cadence: .push, classHints: true)
        _ = try Simulator.run(short, policy: &hinted)
        let weights = try #require(hinted.weights)
        #expect((1..<4).allSatisfy { weights[0] > 4 * weights[$0] })
    }
}
