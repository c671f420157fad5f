import Market

/// MBCAS's brain as both MBCAS policies run it: one `NodeMarket` (demand model → exact market →
/// safety rules) and one `Guardrail`, fed windows of kernel counters the way the node agent feeds
/// them (the counters' growth since the previous round, with the limit in force now).
struct MarketDriver: Sendable {
    private(set) var market: NodeMarket
    private(set) var guardrail: Guardrail
    private let members: [MarketMember]
    private let includesWait: Bool
    /// The counters at the previous round (nil before the baseline).
    private(set) var last: [PodCounters]?
    private var lastAt = 0
    /// What happened: rounds, scarce rounds, decisions by reason, guardrail raises and refusals by cause.
    private(set) var diagnostics: [String: Int] = [:]

    init(scenario: Scenario, settings: MBCASSettings) throws(EvaluationError) {
        try settings.validate()
        includesWait = settings.demandIncludesWait
        members = scenario.pods.enumerated().map { index, pod in
            MarketMember(slot: PodSlot(index), name: pod.name, floor: pod.request, cap: pod.cap, weight: pod.weight)
        }
        do {
            market = try NodeMarket(
                capacity: scenario.capacity, reserve: scenario.reserve,
                demand: DemandConfig(halfLife: .nanoseconds(settings.halfLife), deadband: settings.deadband),
                safety: SafetyConfig(shrinkCooldown: .nanoseconds(settings.cooldown), warmup: .nanoseconds(settings.warmup)))
            var guardrail = try Guardrail(
                slotCount: scenario.pods.count, capacity: scenario.capacity,
                config: GuardrailConfig(stepFraction: settings.guardrailStep,
                                        interval: .nanoseconds(settings.guardrailInterval), reserve: scenario.reserve))
            for (index, pod) in scenario.pods.enumerated() {
                try guardrail.track(PodSlot(index), limit: pod.initialLimit, cap: pod.cap)
            }
            self.guardrail = guardrail
        } catch {
            throw .market(error)
        }
    }

    /// Remembers the counters now: the first window starts here.
    mutating func baseline(_ view: NodeView) {
        last = view.pods.map(\.counters)
        lastAt = view.time
    }

    /// The guardrail's answer to a throttle of `pod` at `now`, if it raises.
    mutating func guardrailRaise(pod: Int, now: Int) -> LimitChange? {
        let slot = PodSlot(pod)
        let monotonic = SimTime.monotonic(now)
        guard let raise = guardrail.onThrottle(slot, now: monotonic) else {
            let cause: String
            if market.safety.raisesBlocked(slot, now: monotonic) {
                cause = "ineffective"
            } else if guardrail.headroom <= 0 {
                cause = "no-headroom"
            } else if let limit = guardrail.limit(of: slot), limit >= members[pod].cap {
                cause = "at-cap"
            } else {
                cause = "interval"
            }
            diagnostics["guardrail-refused-\(cause)", default: 0] += 1
            return nil
        }
        diagnostics["guardrail-raises", default: 0] += 1
        return LimitChange(pod: raise.pod.rawValue, limit: raise.newLimit)
    }

    /// One market round over the window since the previous one (none if it is under 1 ms, as in
    /// the agent); the guardrail absorbs the decisions. Returns the limits that change.
    mutating func round(_ view: NodeView) throws(EvaluationError) -> [LimitChange] {
        guard let last else {
            baseline(view)
            return []
        }
        let window = view.time - lastAt
        guard window >= SimTime.millisecond else { return [] }
        var inputs: [RoundInput] = []
        inputs.reserveCapacity(members.count)
        for (index, member) in members.enumerated() {
            let now = view.pods[index].counters
            let before = last[index]
            let limit = guardrail.limit(of: member.slot) ?? view.pods[index].limit ?? member.cap
            let sample = DemandSample(
                throttledNanos: UInt64(Swift.max(0, now.throttledNanos - before.throttledNanos)),
                waitNanos: includesWait ? UInt64(Swift.max(0, now.waitNanos - before.waitNanos)) : 0,
                runNanos: UInt64(Swift.max(0, now.usageNanos - before.usageNanos)),
                limitMillicores: Double(Swift.max(1, limit)), windowNanos: UInt64(window))
            inputs.append(RoundInput(member: member, sample: sample, currentLimit: limit))
        }
        let now = SimTime.monotonic(view.time)
        let result: RoundResult
        do { result = try market.round(inputs, now: now) } catch { throw .market(error) }
        guardrail.absorb(result.decisions, safety: market.safety, now: now)
        diagnostics["rounds", default: 0] += 1
        if result.allocation.isScarce { diagnostics["rounds-scarce", default: 0] += 1 }
        for decision in result.decisions where decision.changesLimit || decision.reason != .steady {
            diagnostics["decision-\(decision.reason)", default: 0] += 1
        }
        baseline(view)
        return result.decisions.filter(\.changesLimit).map { LimitChange(pod: $0.pod.rawValue, limit: $0.newLimit) }
    }
}
