import PropertyBased
import Testing
@testable import Market

@Suite("Fast guardrail")
struct GuardrailTests {
    static let ms: UInt64 = 1_000_000

    func rail(capacity: Int = 8000, reserve: Int = 0, slots: Int = 8) throws -> Guardrail {
        try Guardrail(slotCount: slots, capacity: capacity, config: GuardrailConfig(reserve: reserve))
    }

    @Test("raises by 30 % from headroom and keeps the running sum")
    func raise() throws {
        var rail = try rail()
        try rail.track(PodSlot(0), limit: 1000, cap: 4000)
        try rail.track(PodSlot(1), limit: 500, cap: 4000)
        let raised = rail.onThrottle(PodSlot(0), now: 1000 * Self.ms)
        let decision = try #require(raised)
        #expect(decision == Decision(pod: PodSlot(0), oldLimit: 1000, newLimit: 1300, reason: .guardrail))
        #expect(rail.totalLimits == 1800)
        #expect(rail.limit(of: PodSlot(0)) == 1300)
        #expect(rail.headroom == 8000 - 1800)
    }

    @Test("a node whose allocatable changes: headroom and raises count from the new capacity; below the reserve refused, nothing changed")
    func capacityChange() throws {
        var rail = try rail(capacity: 2000, reserve: 200)
        try rail.track(PodSlot(0), limit: 1000, cap: 4000)
        #expect(rail.headroom == 800)
        try rail.setCapacity(1400)
        #expect(rail.headroom == 200)
        let raised = rail.onThrottle(PodSlot(0), now: 1000 * Self.ms)
        #expect(raised?.newLimit == 1200)  // the headroom (200), not the 30 % step (300)
        #expect(throws: MarketError.self) { try rail.setCapacity(100) }
        #expect(rail.capacity == 1400)
    }

    @Test("at most one raise per interval per pod")
    func interval() throws {
        var rail = try rail()
        try rail.track(PodSlot(0), limit: 1000, cap: 8000)
        try rail.track(PodSlot(1), limit: 1000, cap: 8000)
        #expect(rail.onThrottle(PodSlot(0), now: 1000 * Self.ms) != nil)
        #expect(rail.onThrottle(PodSlot(0), now: 1249 * Self.ms) == nil)
        #expect(rail.onThrottle(PodSlot(1), now: 1100 * Self.ms) != nil) // other pods are independent
        #expect(rail.onThrottle(PodSlot(0), now: 1250 * Self.ms)?.newLimit == 1690)
        #expect(rail.onThrottle(PodSlot(0), now: 900 * Self.ms) == nil) // time going backwards: no raise
    }

    @Test("never above the pod's cap")
    func cap() throws {
        var rail = try rail()
        try rail.track(PodSlot(0), limit: 3800, cap: 4000)
        let raised = rail.onThrottle(PodSlot(0), now: 0)
        let decision = try #require(raised)
        #expect(decision.newLimit == 4000)
        #expect(decision.limitedBy == .cap)
        #expect(rail.onThrottle(PodSlot(0), now: 10_000 * Self.ms) == nil)
    }

    @Test("only free headroom: never above capacity − reserve in total")
    func headroom() throws {
        var rail = try rail(capacity: 2000, reserve: 200)
        try rail.track(PodSlot(0), limit: 1000, cap: 2000)
        try rail.track(PodSlot(1), limit: 700, cap: 2000)
        let raised = rail.onThrottle(PodSlot(0), now: 0)
        let decision = try #require(raised)
        #expect(decision.newLimit == 1100)
        #expect(decision.limitedBy == .nodeReserve)
        #expect(rail.totalLimits == 1800)
        #expect(rail.onThrottle(PodSlot(1), now: 0) == nil)
        // A market decision frees CPU; the next event may use it.
        rail.apply(Decision(pod: PodSlot(1), oldLimit: 700, newLimit: 400, reason: .contention))
        #expect(rail.onThrottle(PodSlot(1), now: 0)?.newLimit == 520)
    }

    @Test("the minimum step lets tiny limits grow")
    func minimumStep() throws {
        var rail = try rail()
        try rail.track(PodSlot(0), limit: 10, cap: 1000)
        #expect(rail.onThrottle(PodSlot(0), now: 0)?.newLimit == 20)
    }

    @Test("Guaranteed, blocked, untracked and out-of-range pods are never raised")
    func neverRaised() throws {
        var rail = try rail()
        try rail.track(PodSlot(0), limit: 1000, cap: 4000, qos: .guaranteed)
        try rail.track(PodSlot(1), limit: 1000, cap: 4000)
        rail.setRaisesBlocked(PodSlot(1), true)
        #expect(rail.onThrottle(PodSlot(0), now: 0) == nil)
        #expect(rail.onThrottle(PodSlot(1), now: 0) == nil)
        #expect(rail.onThrottle(PodSlot(2), now: 0) == nil)
        #expect(rail.onThrottle(PodSlot(99), now: 0) == nil)
        #expect(rail.onThrottle(PodSlot(-1), now: 0) == nil)
        rail.setRaisesBlocked(PodSlot(1), false)
        #expect(rail.onThrottle(PodSlot(1), now: 0) != nil)
        #expect(rail.totalLimits == 2300) // the Guaranteed pod's limit still counts
        rail.untrack(PodSlot(1))
        #expect(rail.totalLimits == 1000)
        #expect(throws: MarketError.self) { try rail.track(PodSlot(8), limit: 1, cap: 1) }
    }

    @Test("random event sequences: running sum exact, caps and capacity − reserve never exceeded by a raise")
    func randomSequences() async {
        let operation = zip(Gen.int(in: 0...9), Gen.int(in: 0...7), Gen.int(in: 0...3000), Gen.int(in: 0...400))
        await propertyCheck(count: 200, input: operation.array(of: 1...200)) { operations in
            var rail = try Guardrail(slotCount: 8, capacity: 6000, config: GuardrailConfig(reserve: 500))
            var now: UInt64 = 0
            for (kind, slot, amount, advance) in operations {
                now += UInt64(advance) * Self.ms
                let pod = PodSlot(slot)
                switch kind {
                case 0: try rail.track(pod, limit: amount / 4, cap: amount)
                case 1: rail.untrack(pod)
                case 2: rail.setLimit(pod, to: Swift.min(amount, rail.limit(of: pod) ?? 0))
                default:
                    let before = rail.totalLimits
                    if let decision = rail.onThrottle(pod, now: now) {
                        #expect(decision.newLimit > decision.oldLimit)
                        #expect(rail.totalLimits == before + decision.delta)
                        #expect(rail.totalLimits <= 6000 - 500)
                        #expect(decision.delta <= Swift.max(10, decision.oldLimit * 3 / 10))
                    }
                }
                let sum = (0..<8).compactMap { rail.limit(of: PodSlot($0)) }.reduce(0, +)
                #expect(rail.totalLimits == sum)
            }
        }
    }

    @Test("invalid configurations are rejected naming the field")
    func invalidConfig() {
        #expect(throws: MarketError.self) { try Guardrail(slotCount: 1, capacity: 100, config: GuardrailConfig(stepFraction: 0)) }
        #expect(throws: MarketError.self) { try Guardrail(slotCount: 1, capacity: 100, config: GuardrailConfig(stepFraction: 1.5)) }
        #expect(throws: MarketError.self) { try Guardrail(slotCount: 1, capacity: 100, config: GuardrailConfig(reserve: 200)) }
        #expect(throws: MarketError.self) { try Guardrail(slotCount: -1, capacity: 100) }
    }
}
