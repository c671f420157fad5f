import Testing
@testable import Evaluation

@Suite("Simulator: determinism, metrics, comparisons")
struct SimulatorTests {
    @Test("the same seed gives the same numbers and series, for every policy; another seed others")
    func deterministic() throws {
        func run(_ seed: UInt64) throws -> [ScenarioResult] {
            let scenario = try Scenario.generated(.bursty, duration: 40 * SimTime.second, seed: seed, initialLimit: 700)
            return try Evaluation.run(scenarios: [scenario])
        }
        let first = try run(9)
        #expect(first == (try run(9)))
        let applicable = PolicyKind.allCases.filter { $0.applies(to: first[0].scenario) }
        #expect(applicable.count == PolicyKind.allCases.count - 2) // no declared classes: no hand weights, no hints
        #expect(first[0].runs.map(\.metrics.policy) == applicable.map(\.rawValue))
        let other = try run(10)
        #expect(first[0].runs.map(\.metrics) != other[0].runs.map(\.metrics))
    }

    @Test("efficiency is used / granted; no contention, no throttling, no SLO miss, no Jain index")
    func efficiency() throws {
        // 0.5 + 0.25 CPUs used of 2 × 1 CPU granted, for 10 s.
        let result = try Simulator.run(try scenario(try constantTrace([0.5, 0.25], seconds: 10)), policy: StaticPolicy())
        #expect(abs(result.metrics.efficiency - 0.375) < 1e-9)
        #expect(abs(result.metrics.usedCPUSeconds - 7.5) < 1e-6)
        #expect(abs(result.metrics.allocatedCPUSeconds - 20) < 1e-6)
        #expect(result.metrics.throttledSeconds == 0)
        #expect(result.metrics.sloViolationSeconds == 0)
        #expect(result.metrics.jain == nil)
        #expect(result.series.count == 20)
        #expect(result.series.allSatisfy { abs($0.limit - 1) < 1e-9 && $0.throttled == 0 })
    }

    @Test("SLO: a pod whose queue outgrows its limit misses the SLO every second; the other never")
    func slo() throws {
        // Pod 0: 1.5 CPUs with 1.5 threads under 500 m runs 50 ms of CPU per period and queues the
        // other 100 ms: work waits > 100 ms in all 3 seconds. Pod 1: 0.2 CPUs, never queued.
        let trace = try constantTrace([1.5, 0.2], seconds: 3)
        let scenario = try Scenario(name: "slo", capacity: 4000, reserve: 0,
                                    pods: [PodSpec(name: "p0", initialLimit: 500, threads: 1.5), PodSpec(name: "p1")],
                                    trace: trace, duration: trace.duration)
        let result = try Simulator.run(scenario, policy: StaticPolicy())
        #expect(result.metrics.sloViolationSeconds == 3)
        #expect(abs(result.metrics.throttledSeconds - 3 * 10 * (0.1 - 0.1 / 3)) < 1e-6)
        let pod0 = result.series.filter { $0.pod == 0 }.map(\.peakLatencyMs)
        // FIFO delay: work offered just before 1 s (1.5 CPU-s by then) is done once the pod has run
        // 1.5 CPU-s at 50 ms per period, 33.3 ms into the 30th period: at 2.9333 s, 1933.3 ms later.
        #expect(abs(pod0[0] - (2900 + 100.0 / 3 - 1000)) < 1e-3)
        #expect(result.series.filter { $0.pod == 1 }.allSatisfy { $0.peakLatencyMs < 1e-6 })
    }

    @Test("Jain: under contention, used / fair share of a throttled and an unthrottled pod")
    func jain() throws {
        // 2 CPUs. Pod 0 wants 1.5 (1.5 threads) under 500 m, pod 1 wants 1 with no effective limit:
        // demand 2.5 > 2 in every period. Fair (equal weights): 1 and 1. Used: 0.5 and 1.
        // Jain(0.5, 1) = 1.5² / (2 · 1.25) = 0.9.
        let trace = try constantTrace([1.5, 1], seconds: 2)
        let scenario = try Scenario(name: "jain", capacity: 2000, reserve: 0,
                                    pods: [PodSpec(name: "p0", cap: 2000, initialLimit: 500, threads: 1.5),
                                           PodSpec(name: "p1", cap: 2000, initialLimit: 2000, threads: 1)],
                                    trace: trace, duration: trace.duration)
        let result = try Simulator.run(scenario, policy: StaticPolicy())
        #expect(result.metrics.contendedPeriods == 20)
        #expect(abs(try #require(result.metrics.jain) - 0.9) < 1e-9)
    }

    @Test("Jain's index: 1 for equal shares, 1/n when one pod has everything")
    func jainBounds() {
        #expect(abs(jainIndex([0.7, 0.7, 0.7]) - 1) < 1e-12)
        #expect(abs(jainIndex([1, 0, 0, 0]) - 0.25) < 1e-12)
        #expect(abs(jainIndex([0.5, 1]) - 0.9) < 1e-12)
    }

    @Test("changes count writes that changed a limit; reversals count changes of direction")
    func oscillation() throws {
        let s = SimTime.second
        let script = [1200, 1400, 900, 1100, 1100, 1000].enumerated().map { ($0.offset * s + s, LimitChange(pod: 0, limit: $0.element)) }
        let result = try Simulator.run(try scenario(try constantTrace([0.5], seconds: 8), probe: ReactionProbe(pod: 0, time: 1500_000_000)),
                                       policy: ScriptedPolicy(script: script))
        #expect(result.metrics.changes == 5)   // 1100 → 1100 is no change
        #expect(result.metrics.reversals == 3) // up, up, down (1), up (2), –, down (3)
        #expect(result.metrics.reactionSeconds == 0.5) // the first raise after 1.5 s: 1400 m at 2 s
    }

    @Test("after a step, push leaves the stepping pod less throttled in that second than poll-1s",
          arguments: [UInt64(1), 2, 3])
    func pushBeatsPollAfterStep(seed: UInt64) throws {
        // The generated step trace (with noise): 0.4 → 2 CPUs at a fifth of 150 s, 30 s; limits start
        // at 700 m so the guardrail has headroom. Push raises within the first throttled period;
        // poll-1s waits for its next poll, a second later.
        let scenario = try Scenario.generated(.step, duration: 150 * SimTime.second, seed: seed, initialLimit: 700)
        let step = try #require(scenario.probe).time / SimTime.second
        #expect(step == 30)
        func throttled(_ kind: PolicyKind) throws -> Double {
            try Simulator.run(scenario, policy: try kind.make(for: scenario)).series
                .filter { $0.pod == 0 && $0.second == step }.map(\.throttled).reduce(0, +)
        }
        let push = try throttled(.push)
        let poll = try throttled(.poll)
        #expect(push < poll, "push \(push) s, poll-1s \(poll) s")
        #expect(poll > 0.5) // throttled most of every period until its poll
    }

    @Test("a policy that does not move its wake-up forward is reported, not looped on")
    func stuckPolicy() throws {
        struct Stuck: Policy {
            let name = "stuck"
            var nextWake: Int? { 0 }
            mutating func wake(_ view: NodeView) throws(EvaluationError) -> [LimitChange] { [] }
        }
        #expect(throws: EvaluationError.self) {
            _ = try Simulator.run(try scenario(try constantTrace([0.5], seconds: 1)), policy: Stuck())
        }
    }
}
