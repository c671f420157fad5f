import QoS
import Testing
@testable import Market

@Suite("Stability and safety rules")
struct SafetyRulesTests {
    static let second: UInt64 = 1_000_000_000
    let pod = PodSlot(0)

    func rules(warmup: Duration = .zero, cooldown: Duration = .seconds(30), reserve: Int = 0) throws -> SafetyRules {
        try SafetyRules(config: SafetyConfig(shrinkCooldown: cooldown, warmup: warmup, reserve: reserve))
    }

    func input(_ limit: Int, slot: PodSlot = PodSlot(0), floor: Int = 100, cap: Int = 8000, qos: QoSClass = .burstable,
               stall: Double = 0.5, used: Double = 0) -> SafetyInput {
        SafetyInput(slot: slot, currentLimit: limit, floor: floor, cap: cap, qos: qos, stall: stall, usedMillicores: used)
    }

    func one(_ rules: inout SafetyRules, _ pod: SafetyInput, target: Double, price: Double = 0.01,
             capacity: Int = 100_000, at seconds: UInt64) throws -> Decision {
        try rules.apply([pod], targets: [target], capacity: capacity, shadowPrice: price, now: seconds * Self.second)[0]
    }

    @Test("raises are limited to the maximum step up")
    func stepUp() throws {
        var rules = try rules()
        let decision = try one(&rules, input(1000), target: 3000, at: 1)
        #expect(decision.newLimit == 1000 + Int(1000 * SafetyConfig().maxStepUp))
        #expect(decision.reason == .contention)
        #expect(decision.limitedBy == .maxStep)
    }

    @Test("cuts are limited to the maximum step down; reason reclaim when CPU is not scarce")
    func stepDown() throws {
        var rules = try rules()
        let decision = try one(&rules, input(1000), target: 200, price: 0, at: 1)
        #expect(decision.newLimit == 1000 - Int(1000 * SafetyConfig().maxStepDown))
        #expect(decision.reason == .reclaim)
        #expect(decision.limitedBy == .maxStep)
        var fresh = try self.rules()
        let unlimited = try one(&fresh, input(1000), target: 900, price: 0, at: 2)
        #expect(unlimited.newLimit == 900)
        #expect(unlimited.limitedBy == nil)
    }

    @Test("raises when CPU is not scarce are labelled headroom")
    func headroom() throws {
        var rules = try rules()
        let decision = try one(&rules, input(1000), target: 1200, price: 0, at: 1)
        #expect(decision.newLimit == 1200)
        #expect(decision.reason == .headroom)
    }

    @Test("the minimum step lets small limits move")
    func minimumStep() throws {
        var rules = try rules()
        let decision = try one(&rules, input(20, floor: 0), target: 500, at: 1)
        #expect(decision.newLimit == 20 + SafetyConfig().minimumStep)
    }

    @Test("new pods are never shrunk while warming up")
    func warmup() throws {
        var rules = try rules(warmup: .seconds(60))
        for second in stride(from: UInt64(100), to: 160, by: 10) {
            let decision = try one(&rules, input(1000), target: 300, at: second)
            #expect(decision.reason == .warmupHold)
            #expect(!decision.changesLimit)
            #expect(rules.isWarmingUp(pod, now: second * Self.second))
        }
        let after = try one(&rules, input(1000), target: 300, at: 160)
        #expect(after.reason == .contention)
        #expect(after.newLimit < 1000)
        // Raises are allowed during warm-up.
        var fresh = try self.rules(warmup: .seconds(60))
        #expect(try one(&fresh, input(1000), target: 1200, at: 1).newLimit == 1200)
    }

    @Test("no shrink within the cooldown after a raise")
    func cooldown() throws {
        var rules = try rules(cooldown: .seconds(30))
        let raise = try one(&rules, input(1000), target: 1400, at: 10)
        #expect(raise.newLimit == 1400)
        for second in [11, 20, 39] as [UInt64] {
            let decision = try one(&rules, input(1400, stall: 0.1), target: 800, at: second)
            #expect(decision.reason == .cooldownHold)
            #expect(!decision.changesLimit)
        }
        let after = try one(&rules, input(1400, stall: 0.1), target: 1300, at: 40)
        #expect(after.newLimit == 1300)
    }

    @Test("a guardrail raise does not start the cooldown: the next round may settle it")
    func guardrailRaiseSettled() throws {
        var rules = try rules(cooldown: .seconds(30))
        _ = try one(&rules, input(1000), target: 1000, at: 10)
        // The guardrail lifted the limit to 1300 between rounds; the market wants it back down.
        let decision = try one(&rules, input(1300, stall: 0.1), target: 1100, at: 11)
        #expect(decision.newLimit == 1100)
        #expect(decision.reason == .contention)
        #expect(!rules.isCoolingDown(pod, now: 11 * Self.second))
    }

    @Test("Guaranteed-QoS pods are never touched")
    func guaranteed() throws {
        var rules = try rules()
        for target in [0.0, 500, 1000, 4000] {
            let decision = try one(&rules, input(1000, qos: .guaranteed), target: target, at: 1)
            #expect(decision.reason == .guaranteedQoS)
            #expect(decision.newLimit == 1000)
        }
        #expect(rules.marketBounds(for: input(1000, qos: .guaranteed), now: 0) == (1000, 1000))
    }

    @Test("changes below the minimum change are not made")
    func minimumChange() throws {
        var rules = try rules()
        // 2 % of 1000 = 20 m.
        #expect(try one(&rules, input(1000), target: 1015, at: 1).reason == .steady)
        #expect(try one(&rules, input(1000), target: 1015, at: 1).newLimit == 1000)
        #expect(try one(&rules, input(1000), target: 1025, at: 2).newLimit == 1025)
    }

    @Test("a pod below its floor is raised to it at once; above its cap cut to it at once")
    func floorAndCap() throws {
        var rules = try rules(warmup: .seconds(60))
        let up = try one(&rules, input(50, floor: 400), target: 0, at: 1)
        #expect(up.newLimit == 400)
        #expect(up.reason == .floor)
        let down = try one(&rules, input(5000, cap: 2000), target: 5000, at: 2)
        #expect(down.newLimit == 2000)
        #expect(down.reason == .cap)
    }

    @Test("raises are funded only up to capacity − reserve, scaled alike")
    func reserve() throws {
        var rules = try rules(reserve: 100)
        // Budget 2600 − 100 = 2500; limits 1000 + 1000 leave 500 for raises of 500 + 500.
        let decisions = try rules.apply([input(1000), input(1000, slot: PodSlot(1))], targets: [1500, 1500],
                                        capacity: 2600, shadowPrice: 0.01, now: Self.second)
        #expect(decisions.map(\.newLimit) == [1250, 1250])
        #expect(decisions.allSatisfy { $0.limitedBy == .nodeReserve })
        #expect(decisions.map(\.newLimit).reduce(0, +) <= 2500)
    }

    @Test("more CPU twice without less stall or more use: raises stop, with reason ineffective")
    func ineffective() throws {
        var rules = try rules()
        var limit = 1000
        // The pod waits on something CPU cannot fix: stall and use never change.
        for second in 1...2 as ClosedRange<UInt64> {
            let decision = try one(&rules, input(limit, stall: 0.6, used: 300), target: 4000, at: second)
            #expect(decision.reason == .contention)
            limit = decision.newLimit
        }
        let refused = try one(&rules, input(limit, stall: 0.6, used: 300), target: 4000, at: 3)
        #expect(refused.reason == .ineffective)
        #expect(!refused.changesLimit)
        #expect(rules.raisesBlocked(pod, now: 3 * Self.second))
        #expect(rules.marketBounds(for: input(limit), now: 3 * Self.second).cap == limit)
        // After the back-off, raises are tried again.
        let backoff = UInt64(SafetyConfig().ineffectiveBackoff.components.seconds)
        let retried = try one(&rules, input(limit, stall: 0.6, used: 300), target: 4000, at: 3 + backoff)
        #expect(retried.newLimit > limit)
    }

    @Test("raises that bring more use, or less stall, are never called ineffective")
    func effective() throws {
        var rules = try rules()
        var limit = 500
        for second in 1...6 as ClosedRange<UInt64> {
            // Use follows the limit: the pod was starved.
            let decision = try one(&rules, input(limit, stall: 0.6, used: Double(limit)), target: 8000, at: second)
            #expect(decision.reason == .contention)
            #expect(decision.newLimit > limit)
            limit = decision.newLimit
        }
        var rules2 = try self.rules()
        limit = 500
        var stall = 0.8
        for second in 1...6 as ClosedRange<UInt64> {
            let decision = try one(&rules2, input(limit, stall: stall, used: 100), target: 8000, at: second)
            #expect(decision.newLimit > limit)
            limit = decision.newLimit
            stall -= 0.1
        }
    }

    @Test("market bounds: one step each way, holds become bounds")
    func marketBounds() throws {
        var rules = try rules(warmup: .seconds(60))
        let fresh = rules.marketBounds(for: input(1000), now: 0)
        #expect(fresh == (1000, 1500)) // unknown pods are warming up: no shrink
        _ = try one(&rules, input(1000), target: 1000, at: 0)
        let settled = rules.marketBounds(for: input(1000), now: 61 * Self.second)
        #expect(settled == (800, 1500))
        #expect(rules.marketBounds(for: input(1000, floor: 900), now: 61 * Self.second) == (900, 1500))
        #expect(rules.marketBounds(for: input(1000, cap: 1100), now: 61 * Self.second) == (800, 1100))
    }

    @Test("pods absent from a round are forgotten and warm up again")
    func forgetting() throws {
        var rules = try rules(warmup: .seconds(10))
        _ = try one(&rules, input(1000), target: 1000, at: 0)
        #expect(!rules.isWarmingUp(pod, now: 20 * Self.second))
        _ = try rules.apply([input(1000, slot: PodSlot(1))], targets: [1000], capacity: 10_000, shadowPrice: 0,
                            now: 20 * Self.second)
        #expect(rules.isWarmingUp(pod, now: 21 * Self.second))
    }

    @Test("invalid rounds are rejected naming the field")
    func invalid() throws {
        var rules = try rules()
        #expect(throws: MarketError.self) {
            try rules.apply([input(1000)], targets: [], capacity: 1000, shadowPrice: 0, now: 0)
        }
        do {
            _ = try rules.apply([input(1000)], targets: [.nan], capacity: 1000, shadowPrice: 0, now: 0)
            Issue.record("NaN target accepted")
        } catch {
            #expect(error.field == "target")
            #expect(error.pod == "slot 0")
        }
        #expect(throws: MarketError.self) {
            try rules.apply([input(1000), input(900)], targets: [1, 2], capacity: 1000, shadowPrice: 0, now: 0)
        }
        #expect(throws: MarketError.self) {
            try rules.apply([input(1000, floor: 500, cap: 100)], targets: [1], capacity: 1000, shadowPrice: 0, now: 0)
        }
        #expect(throws: MarketError.self) { try SafetyRules(config: SafetyConfig(maxStepDown: 0)) }
        #expect(throws: MarketError.self) { try SafetyRules(config: SafetyConfig(warmup: .seconds(-5))) }
    }

    @Test("reason and constraint strings are the stable contract for logs and PodAllocation status")
    func stableStrings() {
        let reasons = Dictionary(uniqueKeysWithValues: Reason.allCases.map { ($0, $0.rawValue) })
        #expect(reasons[.contention] == "contention")
        #expect(reasons[.guardrail] == "guardrail")
        #expect(reasons[.reclaim] == "reclaim")
        #expect(reasons[.warmupHold] == "warmup-hold")
        #expect(reasons[.cooldownHold] == "cooldown-hold")
        #expect(reasons[.ineffective] == "ineffective")
        #expect(reasons[.guaranteedQoS] == "guaranteed-qos")
        #expect(Set(reasons.values).count == Reason.allCases.count)
        #expect(Constraint.nodeReserve.rawValue == "node-reserve")
        #expect(Reason(rawValue: "warmup-hold") == .warmupHold)
    }
}
