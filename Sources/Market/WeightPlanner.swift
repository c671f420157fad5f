#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import QoS

/// Settings of the weight planner.
public struct WeightPlannerConfig: Sendable, Hashable {
    /// The class learner.
    public var learner: ClassLearnerConfig
    /// A weight is rewritten only when it moves by at least this fraction. Default 0.1.
    public var deadband: Double
    /// Half-life of a pod's recent demand, which rises at once with a window's demand and decays by
    /// this half-life. Default 1 s: when a burst ends, the share it took flows back within about a
    /// second (and at once where the kernel sees the pod idle: weights only matter under contention).
    public var batchDemandHalfLife: Duration
    /// Demand is offered with this margin on top. Default ``ShareMarket/defaultMargin``.
    public var margin: Double
    /// How much more latency-sensitive pods bid, declared and learned.
    public var boost: ClassBoost

    /// Creates a configuration; every parameter has the default documented on its property.
    public init(learner: ClassLearnerConfig = ClassLearnerConfig(), deadband: Double = 0.1,
                batchDemandHalfLife: Duration = .seconds(1), margin: Double = ShareMarket.defaultMargin,
                boost: ClassBoost = ClassBoost()) {
        self.learner = learner
        self.deadband = deadband
        self.batchDemandHalfLife = batchDemandHalfLife
        self.margin = margin
        self.boost = boost
    }
}

/// One pod's input to a planning round.
public struct PlannerInput: Sendable, Hashable {
    /// The pod.
    public var slot: PodSlot
    /// Its name.
    public var name: String
    /// Floor (request) and cap, millicores.
    public var floor: Int
    public var cap: Int
    /// Configured weight (relative importance), > 0.
    public var weight: Double
    /// QoS: Guaranteed pods are never written.
    public var qos: QoSClass
    /// A declared class overrides the learned one.
    public var declaredClass: LatencyClass?
    /// The window since the previous round (nil: the pod is new, no window yet).
    public var window: SchedulerWindow?
    /// The weight in force now (nil: unknown, write it).
    public var currentWeight: CPUWeight?

    /// Creates an input.
    public init(slot: PodSlot, name: String, floor: Int, cap: Int, weight: Double = 1, qos: QoSClass = .burstable,
                declaredClass: LatencyClass? = nil, window: SchedulerWindow?, currentWeight: CPUWeight?) {
        self.slot = slot
        self.name = name
        self.floor = floor
        self.cap = cap
        self.weight = weight
        self.qos = qos
        self.declaredClass = declaredClass
        self.window = window
        self.currentWeight = currentWeight
    }
}

/// What the planner decided for one pod.
public struct WeightPlan: Sendable, Hashable {
    /// The pod.
    public var slot: PodSlot
    /// The class in force (declared, else learned) and whether it was declared.
    public var latencyClass: LatencyClass
    public var declared: Bool
    /// The evidence the learner holds.
    public var evidence: ClassEvidence
    /// The demand offered to the market, millicores.
    public var demandMillicores: Double
    /// CPU the pod gets under full contention, millicores (the market's share).
    public var shareMillicores: Double
    /// The weight the share calls for.
    public var target: CPUWeight
    /// The weight before.
    public var current: CPUWeight?
    /// Whether to write `target` (it moved beyond the deadband, or nothing is known yet).
    public var write: Bool
    /// Whether this write reverses the pod's previous move (an oscillation, counted).
    public var reversesDirection: Bool
}

/// The result of one planning round.
public struct PlanningRound: Sendable {
    /// One plan per input, in input order.
    public var plans: [WeightPlan]
    /// The market's division and prices.
    public var allocation: ShareAllocation
}

/// Turns each round's scheduler windows into CFS weights: learn each pod's class, estimate its
/// demand (a server's recent peak, a batch job's recent average), divide the budget by
/// ``ShareMarket``, and write a weight only when it moved beyond the deadband. The kernel does the
/// rest at every scheduling decision.
///
/// There is no cooldown: nothing here holds an allocation by time. Hysteresis sits on the signals
/// (the learner's score band, the demand averages, the write deadband).
/// Value type, no clock: `now` and the windows' lengths come from the caller.
public struct WeightPlanner: Sendable {
    /// The configuration in force.
    public let config: WeightPlannerConfig
    private let batchHalfLifeNanos: Double
    /// A learner with no history (its configuration validated once, in `init`).
    private let freshLearner: ClassLearner
    private var pods: [PodSlot: PodMemory] = [:]

    private struct PodMemory {
        var learner: ClassLearner
        var batchDemand: Double = 0
        /// +1 after a raise, −1 after a cut, 0 before any.
        var lastDirection = 0
    }

    /// Creates a planner.
    /// - Throws: ``MarketError`` naming a bad field.
    public init(config: WeightPlannerConfig = WeightPlannerConfig()) throws(MarketError) {
        guard config.deadband >= 0, config.deadband < 1 else {
            throw .configuration("deadband", "deadband must be in [0, 1), got \(config.deadband)")
        }
        guard config.margin >= 0, config.margin.isFinite else {
            throw .configuration("margin", "margin must be a non-negative number")
        }
        guard config.boost.declared >= 1, config.boost.learned >= 1, config.boost.declared.isFinite, config.boost.learned.isFinite else {
            throw .configuration("boost", "class boosts must be numbers ≥ 1")
        }
        freshLearner = try ClassLearner(config: config.learner)
        self.config = config
        batchHalfLifeNanos = Double(try config.batchDemandHalfLife.nanoseconds(field: "batchDemandHalfLife"))
        guard batchHalfLifeNanos > 0 else { throw .configuration("batchDemandHalfLife", "must be positive") }
    }

    /// The class a pod holds now (declared classes are not remembered here), nil if unknown.
    public func learnedClass(of slot: PodSlot) -> LatencyClass? { pods[slot]?.learner.learned }

    /// Takes in one window of a pod between rounds: its class learner and demand estimate follow
    /// the scheduler at the window's own length, and the next round plans from them. Short windows
    /// are what let the learner see a server asleep between bursts; a round's window then covers only
    /// the time since the last observation.
    public mutating func observe(_ slot: PodSlot, window: SchedulerWindow) {
        var memory = pods[slot] ?? PodMemory(learner: freshLearner)
        absorb(window, into: &memory)
        pods[slot] = memory
    }

    private func absorb(_ window: SchedulerWindow, into memory: inout PodMemory) {
        memory.learner.observe(window)
        // Rises at once with a stall (the bid reflects the burst now), falls by half-lives.
        let decayed = memory.batchDemand * exp2(-Double(window.windowNanos) / batchHalfLifeNanos)
        memory.batchDemand = Swift.max(window.demandMillicores, decayed)
    }

    /// Plans one round over `budget` millicores (capacity − reserve). Pods absent from `inputs`
    /// are forgotten.
    /// - Throws: ``MarketError`` for invalid numbers; nothing changes then.
    public mutating func round(_ inputs: [PlannerInput], budget: Int) throws(MarketError) -> PlanningRound {
        var next: [PodSlot: PodMemory] = [:]
        next.reserveCapacity(inputs.count)
        var sharePods: [SharePod] = []
        sharePods.reserveCapacity(inputs.count)
        var guaranteed = 0
        var classes: [LatencyClass] = []
        for input in inputs {
            guard input.weight.isFinite, input.weight > 0 else {
                throw MarketError(.negative, pod: input.name, field: "weight", message: "weight must be a positive number")
            }
            var memory = pods[input.slot] ?? PodMemory(learner: freshLearner)
            if let window = input.window { absorb(window, into: &memory) }
            next[input.slot] = memory
            let latencyClass = input.declaredClass ?? memory.learner.learned
            // A server is offered its recent peak: its weight costs nothing while it sleeps, and it
            // needs it the moment requests come back. Batch is offered what it asks for lately.
            let demand = latencyClass == .latency
                ? Swift.max(memory.learner.evidence.peakMillicores, memory.batchDemand) : memory.batchDemand
            if input.qos == .guaranteed { guaranteed += input.floor }
            let boost = config.boost.factor(latencyClass, declared: input.declaredClass != nil)
            classes.append(latencyClass)
            sharePods.append(SharePod(name: input.name, floor: Double(input.floor), cap: Double(input.cap), demand: demand,
                                      budget: input.weight * Double(Swift.max(1, input.floor)) * boost))
        }
        // Guaranteed pods keep their own CPU and take no part.
        let managed = inputs.indices.filter { inputs[$0].qos != .guaranteed }
        let allocation = try ShareMarket.divide(managed.map { sharePods[$0] }, budget: Double(budget - guaranteed),
                                                margin: config.margin)
        var shares = [Double](repeating: 0, count: inputs.count)
        for (k, i) in managed.enumerated() { shares[i] = allocation.millicores[k] }
        for i in inputs.indices where inputs[i].qos == .guaranteed { shares[i] = Double(inputs[i].floor) }

        var plans: [WeightPlan] = []
        plans.reserveCapacity(inputs.count)
        for (i, input) in inputs.enumerated() {
            let target = CPUWeight(millicores: shares[i])
            var write = false
            var reverses = false
            if input.qos != .guaranteed {
                if let current = input.currentWeight {
                    let moved = abs(Double(target.shares - current.shares)) / Double(current.shares)
                    write = moved >= config.deadband && target != current
                } else {
                    write = true
                }
                if write, let current = input.currentWeight, var memory = next[input.slot] {
                    let direction = target > current ? 1 : -1
                    reverses = memory.lastDirection != 0 && direction != memory.lastDirection
                    memory.lastDirection = direction
                    next[input.slot] = memory
                }
            }
            let memory = next[input.slot]
            plans.append(WeightPlan(
                slot: input.slot, latencyClass: classes[i], declared: input.declaredClass != nil,
                evidence: memory?.learner.evidence ?? ClassEvidence(score: 0, peakMillicores: 0, demandMillicores: 0,
                                                                    meanSliceNanos: nil, serverLike: false),
                demandMillicores: sharePods[i].demand, shareMillicores: shares[i], target: target,
                current: input.currentWeight, write: write, reversesDirection: reverses))
        }
        pods = next
        return PlanningRound(plans: plans, allocation: allocation)
    }
}
