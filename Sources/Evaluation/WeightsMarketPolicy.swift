import Market

/// MBCAS as the standalone agent runs it now (weights actuation, docs/decisions.md): the node
/// budget (capacity − reserve) is the managed parent's quota; every round turns the pods' scheduler
/// windows into CFS weights through Market's own ``WeightPlanner`` (class learner → demand →
/// ``ShareMarket`` → write beyond the deadband); a pod's limit is its cap, raised to the cap
/// (bounded by the budget) the moment it throttles below it.
///
/// - **Push** (`push-weights`): a pushed throttle raises the limit at once (within the throttled
///   period); every push asks for a round, debounced, plus a slow pass, as the agent's
///   ``PushMarketPolicy`` cadence.
/// - **Poll** (`poll-weights-1s`): every poll interval, a raise for each pod whose `nr_throttled`
///   grew, then a round over the poll's window.
///
/// Windows carry what the probe counts: run, run-queue wait, throttled time and switch-ins since the
/// previous round. With class hints (`…-hints`) the scenario's declared classes override the
/// learned ones, as the `class` configuration field does.
public struct WeightsMarketPolicy: Policy {
    /// When the policy hears of stalls.
    public enum Cadence: Sendable, Hashable {
        /// Pushed within the push latency.
        case push
        /// Read every poll interval.
        case poll
    }

    private struct Member {
        var name: String
        var floor: Int
        var cap: Int
        var weight: Double
        var declared: LatencyClass?
    }

    /// `push-weights`, `push-weights-hints` or `poll-weights-1s`.
    public let name: String
    /// The settings (push latency, debounce, slow pass, poll interval, the planner's configuration).
    public let settings: MBCASSettings
    /// Budget on the parent; pods start at their initial limits, which go to their caps once they
    /// throttle; the CFS burst as the agent writes it (banked quota within the cap).
    public var setup: NodeSetup { NodeSetup(budgetOnParent: true, initialLimits: true, burst: .withinCap) }
    /// The weights decided so far (nil until the first look: the kubelet's).
    public private(set) var weights: [Double]?
    /// Rounds, weight writes, cap raises, pods the learner holds latency-sensitive at the end.
    public var diagnostics: [String: Int] {
        var out = counts
        out["learned-latency-pods", default: 0] = members.indices.filter {
            planner.learnedClass(of: PodSlot($0)) == .latency
        }.count
        return out
    }

    /// The class the planner's learner holds for `pod` now (nil before its first window).
    public func learnedClass(of pod: Int) -> LatencyClass? { planner.learnedClass(of: PodSlot(pod)) }

    private let cadence: Cadence
    private var pushes: PushCadence
    private var nextPoll: Int? = 0
    private var planner: WeightPlanner
    private let members: [Member]
    private let budget: Int
    private var last: [PodCounters]?
    private var lastAt = 0
    private var counts: [String: Int] = [:]

    /// Creates the policy for a scenario.
    /// - Parameters:
    ///   - cadence: Push or poll.
    ///   - classHints: Declare the scenario's classes to the planner.
    /// - Throws: ``EvaluationError`` for settings out of range.
    public init(scenario: Scenario, cadence: Cadence, classHints: Bool = false,
                settings: MBCASSettings = MBCASSettings()) throws(EvaluationError) {
        try settings.validate()
        self.cadence = cadence
        self.settings = settings
        pushes = PushCadence(settings: settings)
        budget = scenario.capacity - scenario.reserve
        members = scenario.pods.map {
            Member(name: $0.name, floor: $0.request, cap: Swift.min($0.cap, scenario.capacity - scenario.reserve),
                   weight: $0.weight, declared: classHints ? $0.latencyClass : nil)
        }
        switch cadence {
        case .push: name = classHints ? "push-weights-hints" : "push-weights"
        case .poll:
            let interval = settings.pollInterval == SimTime.second ? "1s" : "\(settings.pollInterval / SimTime.millisecond)ms"
            name = (classHints ? "poll-weights-hints-" : "poll-weights-") + interval
        }
        do { planner = try WeightPlanner(config: settings.weightPlanner) } catch { throw .market(error) }
    }

    /// The kernel → agent latency (push only).
    public var pushLatency: Int? { cadence == .push ? settings.pushLatency : nil }

    /// Push: start-up, then the next debounced round or slow pass. Poll: the next poll.
    public var nextWake: Int? { cadence == .push ? pushes.nextWake : nextPoll }

    /// Push: start-up, a debounced round or the slow pass. Poll: raises for the pods throttled since
    /// the last poll, then a round.
    public mutating func wake(_ view: NodeView) throws(EvaluationError) -> [LimitChange] {
        switch cadence {
        case .push:
            switch pushes.wake(at: view.time) {
            case .start:
                baseline(view)
                return []
            case .round: return try round(view, after: [])
            case .nothing: return []
            }
        case .poll:
            nextPoll = view.time + settings.pollInterval
            guard let last else {
                baseline(view)
                return []
            }
            let raises = view.pods.indices.compactMap { pod in
                view.pods[pod].counters.throttleCount > last[pod].throttleCount ? raiseToCap(pod, view) : nil
            }
            return try round(view, after: raises)
        }
    }

    /// A pushed throttle: the cap at once if the limit is below it; any push: ask for a round.
    public mutating func push(_ signal: NodeSignal, view: NodeView) throws(EvaluationError) -> [LimitChange] {
        var changes: [LimitChange] = []
        if case .throttled(let pod, _) = signal, let raise = raiseToCap(pod, view) { changes.append(raise) }
        return pushes.push(at: view.time) ? try round(view, after: changes) : changes
    }

    private mutating func baseline(_ view: NodeView) {
        last = view.pods.map(\.counters)
        lastAt = view.time
        if weights == nil { weights = view.pods.map(\.weight) }
    }

    /// The limit is what holds the pod back when it is below the cap: the cap, now.
    private mutating func raiseToCap(_ pod: Int, _ view: NodeView) -> LimitChange? {
        guard let limit = view.pods[pod].limit, limit < members[pod].cap else { return nil }
        counts["cap-raises", default: 0] += 1
        return LimitChange(pod: pod, limit: members[pod].cap)
    }

    /// One planning round over the window since the previous one (none under 1 ms, as in the
    /// agent). A throttle the pushes did not report still lifts a limit below its cap. Returns
    /// `raised` (the raises ordered just before) and its own.
    private mutating func round(_ view: NodeView, after raised: [LimitChange]) throws(EvaluationError) -> [LimitChange] {
        guard let last else {
            baseline(view)
            return raised
        }
        let length = view.time - lastAt
        guard length >= SimTime.millisecond else { return raised }
        var raises = raised
        var inputs: [PlannerInput] = []
        inputs.reserveCapacity(members.count)
        for (pod, member) in members.enumerated() {
            let now = view.pods[pod].counters
            let window = SchedulerWindow(
                runNanos: Self.nanos(now.usageNanos - last[pod].usageNanos),
                waitNanos: Self.nanos(now.waitNanos - last[pod].waitNanos),
                throttledNanos: Self.nanos(now.throttledNanos - last[pod].throttledNanos),
                switches: Self.nanos(now.switches - last[pod].switches), windowNanos: UInt64(length))
            if window.throttledNanos > 0, !raised.contains(where: { $0.pod == pod }), let raise = raiseToCap(pod, view) {
                raises.append(raise)
            }
            inputs.append(PlannerInput(
                slot: PodSlot(pod), name: member.name, floor: member.floor, cap: member.cap, weight: member.weight,
                declaredClass: member.declared, window: window,
                currentWeight: CPUWeight(shares: Int(view.pods[pod].weight.rounded()))))
        }
        let planned: PlanningRound
        do { planned = try planner.round(inputs, budget: budget) } catch { throw .market(error) }
        counts["rounds", default: 0] += 1
        var next = weights ?? view.pods.map(\.weight)
        for (pod, plan) in planned.plans.enumerated() where plan.write {
            next[pod] = Double(plan.target.shares)
            counts["weight-writes", default: 0] += 1
        }
        weights = next
        baseline(view)
        return raises
    }

    /// A counter's growth as the probe's whole units.
    private static func nanos(_ delta: Double) -> UInt64 { UInt64(Swift.max(0, delta).rounded()) }
}
