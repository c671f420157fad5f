import QoS

/// Settings of the stability and safety rules. CPU amounts are millicores.
public struct SafetyConfig: Sendable, Hashable {
    /// Largest raise per round, as a fraction of the current limit. Default 0.5.
    public var maxStepUp: Double
    /// Largest cut per round, as a fraction of the current limit. Default 0.2.
    public var maxStepDown: Double
    /// The step bounds are never smaller than this, so small limits can move. Default 50.
    public var minimumStep: Int
    /// No shrink until this long after the pod's last raise by these rules. Guardrail raises do not
    /// start it: the next market round may settle them. Default 30 s.
    public var shrinkCooldown: Duration
    /// A pod seen for less than this is never shrunk. Default 60 s.
    public var warmup: Duration
    /// CPU kept out of the market; limits together never exceed capacity − reserve through a raise.
    /// Use the same value as ``AllocationProblem/reserve``. Default 0.
    public var reserve: Int
    /// Changes smaller than max(minimumChange, minimumChangeFraction × limit) are not worth acting
    /// on. Default 10 millicores and 0.02.
    public var minimumChange: Int
    /// See ``minimumChange``.
    public var minimumChangeFraction: Double
    /// No limit is set below this (a zero CPU quota is not a limit). Default 10.
    public var minimumLimit: Int
    /// Raises in consecutive rounds without improvement after which raising stops. Default 2.
    public var ineffectiveRaises: Int
    /// How long raises stay refused once found ineffective. Default 300 s.
    public var ineffectiveBackoff: Duration
    /// Only raises of a pod that was stalling at least this much (stall ratio before the raise)
    /// are judged: a raise that merely hands out idle CPU is not meant to cure anything. Default 0.05.
    public var stallThreshold: Double
    /// Raises are judged once the CPU added since the streak began is at least this fraction of the
    /// limit before it, so that accounting noise cannot decide. Default 0.1.
    public var judgedRaise: Double
    /// A raise helped if the stall ratio fell by at least this much... Default 0.02.
    public var stallImprovement: Double
    /// ...or if use grew by at least this fraction of the CPU added. Default 0.25.
    public var useImprovement: Double

    /// Creates a configuration; every parameter has the default documented on its property.
    public init(maxStepUp: Double = 0.5, maxStepDown: Double = 0.2, minimumStep: Int = 50,
                shrinkCooldown: Duration = .seconds(30), warmup: Duration = .seconds(60),
                reserve: Int = 0, minimumChange: Int = 10, minimumChangeFraction: Double = 0.02,
                minimumLimit: Int = 10, ineffectiveRaises: Int = 2,
                ineffectiveBackoff: Duration = .seconds(300), stallThreshold: Double = 0.05, judgedRaise: Double = 0.1,
                stallImprovement: Double = 0.02, useImprovement: Double = 0.25) {
        self.maxStepUp = maxStepUp
        self.maxStepDown = maxStepDown
        self.minimumStep = minimumStep
        self.shrinkCooldown = shrinkCooldown
        self.warmup = warmup
        self.reserve = reserve
        self.minimumChange = minimumChange
        self.minimumChangeFraction = minimumChangeFraction
        self.minimumLimit = minimumLimit
        self.ineffectiveRaises = ineffectiveRaises
        self.ineffectiveBackoff = ineffectiveBackoff
        self.stallThreshold = stallThreshold
        self.judgedRaise = judgedRaise
        self.stallImprovement = stallImprovement
        self.useImprovement = useImprovement
    }
}

/// One pod as the safety rules see it in a round.
public struct SafetyInput: Sendable, Hashable {
    /// The pod.
    public var slot: PodSlot
    /// Its limit now, in millicores (after any guardrail raise since the last round).
    public var currentLimit: Int
    /// Its floor (request), in millicores.
    public var floor: Int
    /// Its cap (ceiling), in millicores.
    public var cap: Int
    /// Its QoS class; Guaranteed pods are never touched.
    public var qos: QoSClass
    /// Stall ratio of the latest window (``DemandEstimate/windowStall``), unsmoothed so that the
    /// effect of a raise shows one round later.
    public var stall: Double
    /// CPU use of the latest window in millicores (``DemandEstimate/windowUsedMillicores``).
    public var usedMillicores: Double

    /// Creates an input.
    /// - Parameters:
    ///   - slot: The pod.
    ///   - currentLimit: Its limit now.
    ///   - floor: Its floor.
    ///   - cap: Its cap.
    ///   - qos: Its QoS class.
    ///   - stall: Latest window's stall ratio.
    ///   - usedMillicores: Latest window's CPU use.
    public init(slot: PodSlot, currentLimit: Int, floor: Int, cap: Int, qos: QoSClass = .burstable,
                stall: Double = 0, usedMillicores: Double = 0) {
        self.slot = slot
        self.currentLimit = currentLimit
        self.floor = floor
        self.cap = cap
        self.qos = qos
        self.stall = stall
        self.usedMillicores = usedMillicores
    }
}

/// The stability and safety rules applied to the market's raw output. A value type the caller
/// owns, holding a little history per pod; `now` is injected (monotonic nanoseconds).
///
/// Each round, for each pod, in this order:
/// 1. Guaranteed QoS: never touched (``Reason/guaranteedQoS``).
/// 2. Below its floor (or ``SafetyConfig/minimumLimit``): raised to it at once (``Reason/floor``);
///    above its cap: cut to it at once (``Reason/cap``).
/// 3. A shrink is held while the pod warms up (``Reason/warmupHold``) or within the cooldown after
///    its last raise (``Reason/cooldownHold``); a raise is refused while raises are found
///    ineffective (``Reason/ineffective``).
/// 4. Changes below the minimum change are not made (``Reason/steady``).
/// 5. Moves are limited to the maximum step (``Constraint/maxStep``); the reason is
///    ``Reason/contention`` when CPU is scarce (price > 0), else ``Reason/headroom`` for raises and
///    ``Reason/reclaim`` for cuts.
/// 6. Raises are funded only from capacity − reserve − Σ other limits; when short, every raise
///    is scaled down alike (``Constraint/nodeReserve``). Limits are whole millicores, rounded down.
///
/// Ineffective scaling: whenever a pod that was stalling (≥ ``SafetyConfig/stallThreshold``) had its
/// limit raised since the previous round (by the market or the guardrail), its stall and use are
/// compared with the observation before the first raise of the streak, once at least
/// ``SafetyConfig/judgedRaise`` of the limit has been added. A raise helped if the stall ratio fell by ``SafetyConfig/stallImprovement`` or use
/// grew by ``SafetyConfig/useImprovement`` of the CPU added. After
/// ``SafetyConfig/ineffectiveRaises`` raises in consecutive rounds that did not help, raises are
/// refused for ``SafetyConfig/ineffectiveBackoff``. A round without a raise ends a streak.
///
/// Feeding ``marketBounds(for:now:)`` to the market as each pod's floor and cap makes the market
/// divide only what the rules will let move this round, so its output is Pareto efficient within
/// what is reachable, and ``apply(_:targets:capacity:shadowPrice:now:)`` then mostly just labels it.
public struct SafetyRules: Sendable {
    /// The configuration in force.
    public let config: SafetyConfig
    private let cooldownNanos: UInt64
    private let warmupNanos: UInt64
    private let backoffNanos: UInt64
    private var states: [PodSlot: PodState] = [:]

    private struct Observation {
        var stall: Double
        var used: Double
        var limit: Int
    }

    private struct PodState {
        var firstSeen: UInt64
        var lastRaise: UInt64?
        var last: Observation?
        var streak = 0
        var streakReference: Observation?
        var blockedUntil: UInt64?
    }

    /// Creates the rules.
    /// - Parameter config: The settings.
    /// - Throws: ``MarketError`` (`invalidConfiguration`) naming the field out of range.
    public init(config: SafetyConfig = SafetyConfig()) throws(MarketError) {
        guard config.maxStepUp > 0, config.maxStepUp.isFinite else {
            throw .configuration("maxStepUp", "maxStepUp must be a positive fraction")
        }
        guard config.maxStepDown > 0, config.maxStepDown <= 1 else {
            throw .configuration("maxStepDown", "maxStepDown must be in (0, 1]")
        }
        guard config.minimumStep >= 1 else { throw .configuration("minimumStep", "minimumStep must be at least 1") }
        guard config.reserve >= 0 else { throw .configuration("reserve", "reserve must not be negative") }
        guard config.minimumChange >= 0 else { throw .configuration("minimumChange", "minimumChange must not be negative") }
        guard config.minimumChangeFraction >= 0, config.minimumChangeFraction < 1 else {
            throw .configuration("minimumChangeFraction", "minimumChangeFraction must be in [0, 1)")
        }
        guard config.minimumLimit >= 1 else { throw .configuration("minimumLimit", "minimumLimit must be at least 1") }
        guard config.ineffectiveRaises >= 1 else {
            throw .configuration("ineffectiveRaises", "ineffectiveRaises must be at least 1")
        }
        guard config.stallImprovement >= 0, config.useImprovement >= 0, config.stallThreshold >= 0, config.judgedRaise >= 0 else {
            throw .configuration("stallImprovement", "improvement thresholds must not be negative")
        }
        self.config = config
        cooldownNanos = try config.shrinkCooldown.nanoseconds(field: "shrinkCooldown")
        warmupNanos = try config.warmup.nanoseconds(field: "warmup")
        backoffNanos = try config.ineffectiveBackoff.nanoseconds(field: "ineffectiveBackoff")
    }

    // MARK: Queries

    /// Whether `slot` is still warming up at `now` (unknown pods are).
    public func isWarmingUp(_ slot: PodSlot, now: UInt64) -> Bool {
        guard let state = states[slot] else { return true }
        return !now.hasElapsed(warmupNanos, since: state.firstSeen)
    }

    /// Whether `slot` is within its shrink cooldown at `now`.
    public func isCoolingDown(_ slot: PodSlot, now: UInt64) -> Bool {
        guard let raised = states[slot]?.lastRaise else { return false }
        return !now.hasElapsed(cooldownNanos, since: raised)
    }

    /// Whether raises of `slot` are refused at `now` as ineffective. Mirror this into
    /// ``Guardrail/setRaisesBlocked(_:_:)`` so the guardrail stops raising the pod too.
    public func raisesBlocked(_ slot: PodSlot, now: UInt64) -> Bool {
        guard let until = states[slot]?.blockedUntil else { return false }
        return now < until
    }

    /// The largest raise allowed this round from `limit`.
    public func maxRaise(from limit: Int) -> Int {
        Swift.max(config.minimumStep, Int(Double(limit) * config.maxStepUp))
    }

    /// The largest cut allowed this round from `limit`.
    public func maxCut(from limit: Int) -> Int {
        Swift.max(config.minimumStep, Int(Double(limit) * config.maxStepDown))
    }

    /// The pod's floor as enforced: max(floor, minimumLimit), never above the cap.
    public func enforcedFloor(floor: Int, cap: Int) -> Int {
        Swift.min(cap, Swift.max(floor, config.minimumLimit))
    }

    /// The bounds the rules will let the pod's limit reach this round: pass them to the market as
    /// the pod's floor and cap. Guaranteed pods are pinned at their limit; warming-up and
    /// cooling-down pods cannot go below their limit; pods whose raises are ineffective cannot go
    /// above it; everyone else moves at most one step each way.
    /// - Parameters:
    ///   - pod: The pod.
    ///   - now: Monotonic nanoseconds.
    /// - Returns: floor ≤ cap in millicores.
    public func marketBounds(for pod: SafetyInput, now: UInt64) -> (floor: Int, cap: Int) {
        let current = pod.currentLimit
        if pod.qos == .guaranteed { return (current, current) }
        let low = enforcedFloor(floor: pod.floor, cap: pod.cap)
        let high = pod.cap
        if current < low { return (low, Swift.max(low, Swift.min(high, current + maxRaise(from: current)))) }
        if current > high { return (low, high) }
        let holdsShrink = isWarmingUp(pod.slot, now: now) || isCoolingDown(pod.slot, now: now)
        let floor = holdsShrink ? current : Swift.max(low, current - maxCut(from: current))
        let cap = raisesBlocked(pod.slot, now: now) ? current : Swift.min(high, current + maxRaise(from: current))
        return (floor, cap)
    }

    // MARK: The round

    /// Applies the rules to the market's raw output and returns one decision per pod, in input order.
    /// - Parameters:
    ///   - pods: The pods of the round, each once.
    ///   - targets: The market's allocation for each pod (``Allocation/millicores``), same order.
    ///   - capacity: The node's allocatable CPU in millicores.
    ///   - shadowPrice: The round's price (``Allocation/shadowPrice``); > 0 means CPU is scarce.
    ///   - now: Monotonic nanoseconds.
    /// - Returns: Decisions; apply those with ``Decision/changesLimit``.
    /// - Throws: ``MarketError`` for mismatched counts, repeated slots, non-finite or negative numbers,
    ///   or a cap below a floor; the rules' state is unchanged then. Pods absent from the round
    ///   are forgotten (a pod that comes back warms up again).
    public mutating func apply(_ pods: [SafetyInput], targets: [Double], capacity: Int,
                               shadowPrice: Double, now: UInt64) throws(MarketError) -> [Decision] {
        try validate(pods, targets: targets, capacity: capacity, shadowPrice: shadowPrice)
        let scarce = shadowPrice > 0
        var next: [PodSlot: PodState] = [:]
        next.reserveCapacity(pods.count)
        var decisions: [Decision] = []
        decisions.reserveCapacity(pods.count)

        for (pod, target) in zip(pods, targets) {
            var state = states[pod.slot] ?? PodState(firstSeen: now)
            track(&state, pod, now: now)
            decisions.append(decide(pod, target: target, state: state, scarce: scarce, now: now))
            next[pod.slot] = state
        }

        fund(&decisions, budget: capacity - config.reserve)

        for (pod, decision) in zip(pods, decisions) {
            guard var state = next[pod.slot] else { continue }
            state.last = Observation(stall: pod.stall, used: pod.usedMillicores, limit: pod.currentLimit)
            if decision.newLimit > decision.oldLimit { state.lastRaise = now }
            next[pod.slot] = state
        }
        states = next
        return decisions
    }

    private func validate(_ pods: [SafetyInput], targets: [Double], capacity: Int,
                          shadowPrice: Double) throws(MarketError) {
        guard pods.count == targets.count else {
            throw MarketError(.countMismatch, field: "targets",
                              message: "\(targets.count) targets for \(pods.count) pods")
        }
        guard capacity >= 0 else { throw MarketError(.negative, field: "capacity", message: "capacity must not be negative") }
        guard !shadowPrice.isNaN, shadowPrice >= 0 else {
            throw MarketError(.negative, field: "shadowPrice", message: "shadowPrice must be ≥ 0, got \(shadowPrice)")
        }
        var seen = Set<PodSlot>()
        seen.reserveCapacity(pods.count)
        for (pod, target) in zip(pods, targets) {
            let name = pod.slot.description
            guard seen.insert(pod.slot).inserted else {
                throw MarketError(.duplicateName, pod: name, field: "slot", message: "slot appears twice in one round")
            }
            try MarketError.checkNonNegative(target, pod: name, field: "target")
            try MarketError.checkNonNegative(pod.stall, pod: name, field: "stall")
            try MarketError.checkNonNegative(pod.usedMillicores, pod: name, field: "usedMillicores")
            try MarketError.checkNonNegative(Double(pod.currentLimit), pod: name, field: "currentLimit")
            try MarketError.checkNonNegative(Double(pod.floor), pod: name, field: "floor")
            guard pod.cap >= pod.floor else {
                throw MarketError(.capBelowFloor, pod: name, field: "cap", message: "cap \(pod.cap) is below floor \(pod.floor)")
            }
        }
    }

    /// Updates the ineffective-scaling streak from what happened since the previous round.
    private func track(_ state: inout PodState, _ pod: SafetyInput, now: UInt64) {
        if let until = state.blockedUntil, now >= until {
            state.blockedUntil = nil
            state.streak = 0
            state.streakReference = nil
        }
        guard let last = state.last else { return }
        guard pod.currentLimit > last.limit else {
            // No raise since the last round: a streak needs raises in consecutive rounds.
            state.streak = 0
            state.streakReference = nil
            return
        }
        let reference = state.streakReference ?? last
        guard reference.stall >= config.stallThreshold else {
            // The pod was not stalling: the raise handed out idle CPU and cures nothing.
            state.streak = 0
            state.streakReference = nil
            return
        }
        let added = Double(pod.currentLimit - reference.limit)
        guard added >= config.judgedRaise * Double(reference.limit) else {
            state.streakReference = reference // too little added to judge yet: keep accumulating
            return
        }
        let helped = reference.stall - pod.stall >= config.stallImprovement
            || pod.usedMillicores - reference.used >= config.useImprovement * added
        if helped {
            state.streak = 0
            state.streakReference = nil
        } else {
            state.streak += 1
            state.streakReference = reference
            if state.streak >= config.ineffectiveRaises, state.blockedUntil == nil {
                state.blockedUntil = now &+ backoffNanos
            }
        }
    }

    private func decide(_ pod: SafetyInput, target: Double, state: PodState, scarce: Bool, now: UInt64) -> Decision {
        let current = pod.currentLimit
        func hold(_ reason: Reason) -> Decision {
            Decision(pod: pod.slot, oldLimit: current, newLimit: current, reason: reason)
        }
        if pod.qos == .guaranteed { return hold(.guaranteedQoS) }
        let low = enforcedFloor(floor: pod.floor, cap: pod.cap)
        if current < low { return Decision(pod: pod.slot, oldLimit: current, newLimit: low, reason: .floor) }
        if current > pod.cap { return Decision(pod: pod.slot, oldLimit: current, newLimit: pod.cap, reason: .cap) }

        let warming = !now.hasElapsed(warmupNanos, since: state.firstSeen)
        let cooling = state.lastRaise.map { !now.hasElapsed(cooldownNanos, since: $0) } ?? false
        let blocked = state.blockedUntil.map { now < $0 } ?? false
        let desired = Swift.min(pod.cap, Swift.max(low, Int(Swift.min(target, Double(Int.max / 2)).rounded(.down))))
        let threshold = Swift.max(config.minimumChange, Int(Double(current) * config.minimumChangeFraction))
        // Within a millicore of the current limit counts as "at" it: the market sits on a bound.
        let wantsLess = target < Double(current) + 1e-6 && low < current
        let wantsMore = target > Double(current) - 1e-6 && current < pod.cap

        if desired < current || (desired == current && wantsLess) {
            if warming { return hold(.warmupHold) }
            if cooling { return hold(.cooldownHold) }
            guard current - desired >= threshold else { return hold(.steady) }
            let step = maxCut(from: current)
            let limited = current - desired > step
            return Decision(pod: pod.slot, oldLimit: current, newLimit: limited ? current - step : desired,
                            reason: scarce ? .contention : .reclaim, limitedBy: limited ? .maxStep : nil)
        }
        if desired > current || (desired == current && wantsMore && blocked) {
            if blocked { return hold(.ineffective) }
            guard desired - current >= threshold else { return hold(.steady) }
            let step = maxRaise(from: current)
            let limited = desired - current > step || (desired - current == step && desired < pod.cap)
            return Decision(pod: pod.slot, oldLimit: current, newLimit: Swift.min(desired, current + step),
                            reason: scarce ? .contention : .headroom, limitedBy: limited ? .maxStep : nil)
        }
        return hold(.steady)
    }

    /// Scales raises down so that the limits fit in the budget.
    private func fund(_ decisions: inout [Decision], budget: Int) {
        var total = 0
        var raised = 0
        for decision in decisions {
            total += decision.newLimit
            if isMarketRaise(decision) { raised += decision.delta }
        }
        guard total > budget, raised > 0 else { return }
        let available = Swift.max(0, budget - (total - raised))
        let scale = Double(available) / Double(raised)
        for index in decisions.indices where isMarketRaise(decisions[index]) {
            let old = decisions[index].oldLimit
            let threshold = Swift.max(config.minimumChange, Int(Double(old) * config.minimumChangeFraction))
            var funded = Int((Double(decisions[index].delta) * scale).rounded(.down))
            if funded < threshold { funded = 0 }
            decisions[index].newLimit = old + funded
            decisions[index].limitedBy = .nodeReserve
        }
    }

    private func isMarketRaise(_ decision: Decision) -> Bool {
        decision.newLimit > decision.oldLimit && (decision.reason == .contention || decision.reason == .headroom)
    }
}
