import QoS

/// A pod as the node's market round sees it.
public struct MarketMember: Sendable, Hashable {
    /// The pod's slot (the same index the guardrail uses).
    public var slot: PodSlot
    /// Its name, for the allocation problem and logs.
    public var name: String
    /// Its floor (request): never less.
    public var floor: Int
    /// Its cap (ceiling): never more.
    public var cap: Int
    /// Its QoS class: Guaranteed pods are never touched.
    public var qos: QoSClass
    /// Its bid weight.
    public var weight: Double

    /// Creates a member.
    public init(slot: PodSlot, name: String, floor: Int, cap: Int, qos: QoSClass = .burstable, weight: Double = 1) {
        self.slot = slot
        self.name = name
        self.floor = floor
        self.cap = cap
        self.qos = qos
        self.weight = weight
    }
}

/// One pod's input to a round: who it is, what the window showed, its limit now.
public struct RoundInput: Sendable, Hashable {
    /// The pod.
    public var member: MarketMember
    /// The window's accounting (throttled, wait, run, limit, length).
    public var sample: DemandSample
    /// The limit in force now, millicores.
    public var currentLimit: Int

    /// Creates an input.
    public init(member: MarketMember, sample: DemandSample, currentLimit: Int) {
        self.member = member
        self.sample = sample
        self.currentLimit = currentLimit
    }
}

/// What one round decided, and why.
public struct RoundResult: Sendable {
    /// Each pod's demand estimate, in input order.
    public var estimates: [DemandEstimate]
    /// The problem the market solved (bounds already narrowed by the safety rules).
    public var problem: AllocationProblem
    /// The market's raw allocation and shadow price.
    public var allocation: Allocation
    /// One decision per pod, in input order; apply those with ``Decision/changesLimit``.
    public var decisions: [Decision]
}

/// A node's market, round after round: demand model per pod → bids → exact
/// allocation within the safety rules' bounds → decisions. The same brain
/// drives the agent (real windows from the kernel) and the simulation.
public struct NodeMarket: Sendable {
    /// The node's allocatable CPU, millicores.
    public private(set) var capacity: Int
    /// CPU kept out of the market, millicores.
    public let reserve: Int
    /// The safety rules and their per-pod state.
    public private(set) var safety: SafetyRules
    /// A pod is offered at most its estimated need plus this fraction (and
    /// never less than its floor), so CPU nobody needs is given back rather
    /// than parked at idle pods' caps: it stays free for the guardrail to
    /// hand out at the next throttle push. nil offers every pod its cap.
    public let needMargin: Double?
    private let demandConfig: DemandConfig
    private var models: [PodSlot: DemandModel] = [:]

    /// Creates a market.
    /// - Throws: ``MarketError`` for invalid settings.
    public init(capacity: Int, reserve: Int, demand: DemandConfig = DemandConfig(),
                safety: SafetyConfig = SafetyConfig(), needMargin: Double? = 0.25) throws(MarketError) {
        if let needMargin, !(needMargin.isFinite && needMargin >= 0) {
            throw .configuration("needMargin", "needMargin must be a non-negative number, got \(needMargin)")
        }
        self.needMargin = needMargin
        guard capacity > 0 else { throw .configuration("capacity", "capacity must be positive, got \(capacity)") }
        guard reserve >= 0, reserve < capacity else {
            throw .configuration("reserve", "reserve must be in 0..<capacity, got \(reserve)")
        }
        var safetyConfig = safety
        safetyConfig.reserve = reserve
        self.capacity = capacity
        self.reserve = reserve
        self.safety = try SafetyRules(config: safetyConfig)
        self.demandConfig = demand
        _ = try DemandModel(config: demand)  // validate once, here
    }

    /// The node's allocatable CPU changed (a Kubernetes node's `status.allocatable.cpu`): the
    /// next round divides the new amount. Limits and weights move there by the safety rules.
    /// - Throws: ``MarketError`` when the reserve would no longer fit; nothing changes then.
    public mutating func setCapacity(_ capacity: Int) throws(MarketError) {
        guard capacity > reserve else {
            throw .configuration("capacity", "capacity must exceed the reserve (\(reserve)), got \(capacity)")
        }
        self.capacity = capacity
    }

    /// Runs one round at `now` (monotonic nanoseconds). Pods absent from
    /// `pods` are forgotten (a pod that comes back warms up again).
    /// - Throws: ``MarketError`` for invalid samples or bounds; nothing changes then.
    public mutating func round(_ pods: [RoundInput], now: UInt64) throws(MarketError) -> RoundResult {
        var nextModels: [PodSlot: DemandModel] = [:]
        var estimates: [DemandEstimate] = []
        var inputs: [SafetyInput] = []
        var marketPods: [MarketPod] = []
        for pod in pods {
            var model: DemandModel
            if let existing = models[pod.member.slot] { model = existing } else { model = try DemandModel(config: demandConfig) }
            let estimate = try model.observe(pod.sample, cap: Double(pod.member.cap), weight: pod.member.weight)
            nextModels[pod.member.slot] = model
            estimates.append(estimate)
            let input = SafetyInput(slot: pod.member.slot, currentLimit: pod.currentLimit, floor: pod.member.floor,
                                    cap: pod.member.cap, qos: pod.member.qos, stall: estimate.windowStall,
                                    usedMillicores: estimate.windowUsedMillicores)
            inputs.append(input)
            let bounds = safety.marketBounds(for: input, now: now)
            var cap = Double(bounds.cap)
            if let needMargin { cap = Swift.max(Double(bounds.floor), Swift.min(cap, estimate.needMillicores * (1 + needMargin))) }
            marketPods.append(MarketPod(name: pod.member.name, bid: estimate.bid, floor: Double(bounds.floor), cap: cap))
        }
        let problem = AllocationProblem(capacity: Double(capacity), reserve: Double(reserve), pods: marketPods)
        let allocation = try WaterFilling.solve(problem)
        var safety = self.safety
        let decisions = try safety.apply(inputs, targets: allocation.millicores, capacity: capacity,
                                         shadowPrice: allocation.shadowPrice, now: now)
        self.safety = safety
        models = nextModels
        return RoundResult(estimates: estimates, problem: problem, allocation: allocation, decisions: decisions)
    }
}

extension Guardrail {
    /// Takes in a market round's decisions: the new limits, and which pods'
    /// raises the safety rules now refuse (ineffective scaling).
    public mutating func absorb(_ decisions: [Decision], safety: SafetyRules, now: UInt64) {
        for decision in decisions {
            apply(decision)
            setRaisesBlocked(decision.pod, safety.raisesBlocked(decision.pod, now: now))
        }
    }
}
