import Testing
@testable import Evaluation

/// Each policy sees only what it is allowed to, when it is allowed to: checked on hand-made traces
/// (no noise) where the moment and size of its first reaction follow from its rules.
@Suite("Policies: cadence, staleness and reaction")
struct PolicyTests {
    /// Pod 0 steps from 0.3 to 2 CPUs at 10 s; every pod starts at 500 m (room for the guardrail).
    func stepScenario(at: Int = 10, seconds: Int = 12) throws -> Scenario {
        try scenario(try stepTrace(at: at, seconds: seconds), initialLimit: 500,
                     probe: ReactionProbe(pod: 0, time: at * SimTime.second))
    }

    @Test("push: the guardrail raises within the throttled period, 100 µs after the quota runs out")
    func pushReaction() throws {
        // 500 m at 2 CPUs: the 50 ms of quota is gone 25 ms into the step's period; the push
        // reaches the guardrail 100 µs later, which adds 30 % (150 m).
        let (result, record) = try runRecording(try stepScenario(), try PushMarketPolicy(scenario: try stepScenario()))
        let first = try #require(record.changes.first { $0.change.pod == 0 && $0.time >= 10 * SimTime.second })
        #expect(first.time == 10 * SimTime.second + 25_000_000 + 100_000)
        #expect(first.change.limit == 650)
        #expect(result.metrics.reactionSeconds == 0.0251)
    }

    @Test("koordinator-like: × 1.2 a second while throttled, up to 3× the static limit; × 0.8 back to it when quiet")
    func koordinatorLike() throws {
        // Pod 0 steps to 2 CPUs at 10 s under 500 m: throttled every second from then on, so its
        // limit grows 600, 720, 864, 1037, 1244, 1493 (3× is 1500), one step per second from 11 s.
        let scenario = try stepScenario(at: 10, seconds: 20)
        let (_, record) = try runRecording(scenario, KoordinatorLikePolicy(scenario: scenario))
        let pod0 = record.changes.filter { $0.change.pod == 0 }
        #expect(pod0.map(\.change.limit) == [600, 720, 864, 1037, 1244, 1493, 1500])
        #expect(pod0.map(\.time) == (11...17).map { $0 * SimTime.second })
        #expect(record.changes.allSatisfy { $0.change.pod == 0 }) // the others never throttle: they stay at 500 m
        #expect(KoordinatorLikePolicy(scenario: scenario).setup.burst(limit: 600, cap: 4000) == 600)
    }

    @Test("poll-1s: learns of the throttling at the next poll, a second later; acts only on polls")
    func pollReaction() throws {
        let (result, record) = try runRecording(try stepScenario(), try PollingMarketPolicy(scenario: try stepScenario()))
        #expect(result.metrics.reactionSeconds == 1)
        #expect(record.changes.allSatisfy { $0.time % SimTime.second == 0 })
        let first = try #require(record.changes.first { $0.change.pod == 0 })
        #expect(first.change.limit == 650) // the guardrail's step, applied at the poll
    }

    @Test("hpa-like: acts every 15 s on usage 15–30 s old; its first raise after a step comes 30 s later")
    func hpaStaleness() throws {
        // Syncs at 15, 30, 45, …; at 30 s it sees [0, 15): 0.3 CPUs on 500 m is 60 % against a 70 %
        // target, off by more than 10 %: 0.3 / 0.7 → 430 m. The step at 60 s shows first at the
        // 90 s sync (usage of [60, 75)): throttled at 430 m, 100 % → 0.43 / 0.7 → 620 m.
        let scenario = try stepScenario(at: 60, seconds: 95)
        let (result, record) = try runRecording(scenario, try HPALikePolicy(scenario: scenario))
        #expect(record.changes.allSatisfy { $0.time % (15 * SimTime.second) == 0 })
        let pod0 = record.changes.filter { $0.change.pod == 0 }
        #expect(pod0.map(\.time) == [30 * SimTime.second, 90 * SimTime.second])
        #expect(pod0.map(\.change.limit) == [430, 620])
        #expect(result.metrics.reactionSeconds == 30)
    }

    @Test("vpa-like: p90 of usage + 15 %, applied on the minute only")
    func vpaRecommendation() throws {
        // 0.4 CPUs steady under 1000 m: six 10 s samples of 0.4 by 60 s; p90 × 1.15 = 460 m.
        let scenario = try scenario(try constantTrace([0.4, 0.8], seconds: 130))
        let (_, record) = try runRecording(scenario, try VPALikePolicy(scenario: scenario))
        #expect(record.changes.allSatisfy { $0.time % (60 * SimTime.second) == 0 })
        let atMinute = record.changes.filter { $0.time == 60 * SimTime.second }.map(\.change)
        #expect(atMinute == [LimitChange(pod: 0, limit: 460), LimitChange(pod: 1, limit: 920)])
        #expect(!record.changes.contains { $0.time == 120 * SimTime.second }) // nothing new to apply
    }

    @Test("static: never changes a limit")
    func staticPolicy() throws {
        let (result, record) = try runRecording(try stepScenario(), StaticPolicy())
        #expect(record.changes.isEmpty)
        #expect(result.metrics.changes == 0)
        #expect(result.metrics.reactionSeconds == nil)
    }

    @Test("MBCAS never commits more than capacity − reserve, guardrail and market together",
          arguments: [TraceKind.step, .bursty], [UInt64(1), 2])
    func withinBudget(kind: TraceKind, seed: UInt64) throws {
        let scenario = try Scenario.generated(kind, duration: 90 * SimTime.second, seed: seed, initialLimit: 700)
        let (push, pushRecord) = try runRecording(scenario, try PushMarketPolicy(scenario: scenario))
        let (poll, pollRecord) = try runRecording(scenario, try PollingMarketPolicy(scenario: scenario))
        #expect(push.metrics.changes > 0 && poll.metrics.changes > 0)
        #expect(pushRecord.largestTotal <= scenario.capacity - scenario.reserve)
        #expect(pollRecord.largestTotal <= scenario.capacity - scenario.reserve)
    }
}
