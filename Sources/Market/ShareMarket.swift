/// One pod as the share market sees it.
public struct SharePod: Sendable, Hashable {
    /// Name, for results and errors.
    public var name: String
    /// Its floor (request), millicores: never less under contention.
    public var floor: Double
    /// Its cap, millicores: never more.
    public var cap: Double
    /// Its demand estimate, millicores (recent peak for servers, recent use for batch).
    public var demand: Double
    /// Its budget in the market: configured weight × floor × class boost (see ``ClassBoost``).
    public var budget: Double

    /// Creates a pod.
    public init(name: String, floor: Double, cap: Double, demand: Double, budget: Double) {
        self.name = name
        self.floor = floor
        self.cap = cap
        self.demand = demand
        self.budget = budget
    }
}

/// How much more a latency-sensitive pod bids than a batch pod with the same request.
public struct ClassBoost: Sendable, Hashable {
    /// For a declared class: an operator's label is certain. Default 10, the hand-weighted bar
    /// (latency pods weighted 10× under the kernel's fair share).
    public var declared: Double
    /// For a learned class: the learner can take a batch job that pauses for a server, so its
    /// word moves less CPU. Default 4: a learned server beside batch with an equal request gets 80 %
    /// of contended CPU, batch keeps 20 % on top of what the server leaves between bursts
    /// (docs/decisions.md has the measurements behind the number).
    public var learned: Double

    /// Creates boosts (each ≥ 1).
    public init(declared: Double = 10, learned: Double = 4) {
        self.declared = declared
        self.learned = learned
    }

    /// The boost for a pod of `latencyClass`, declared or learned.
    public func factor(_ latencyClass: LatencyClass, declared isDeclared: Bool) -> Double {
        latencyClass == .batch ? 1 : (isDeclared ? declared : learned)
    }
}

/// What the share market decided.
public struct ShareAllocation: Sendable, Hashable {
    /// CPU each pod gets when everyone wants more than it can have, millicores, in input order.
    /// Written as weights, these make the kernel clear the same division, and give CPU that one
    /// pod leaves idle to the others.
    public var millicores: [Double]
    /// The shadow price of CPU (0: not scarce; +∞: floors over-committed).
    public var shadowPrice: Double
}

/// Divides the node's budget B = capacity − reserve between pods, for weights: the Fisher market
/// maximise Σ bᵢ·log xᵢ subject to Σ xᵢ ≤ B and floorᵢ ≤ xᵢ ≤ min(capᵢ, demandᵢ × (1 + margin)),
/// solved exactly by ``WaterFilling``, with budgets bᵢ = weight × floor × class boost. A
/// latency-sensitive pod's stall therefore takes CPU from batch pods first (it bids more for the
/// same request), batch keeps its floor, and equal classes split by weight × request, as the
/// kernel's fair share would with weights from requests.
///
/// CPU a pod does not claim is not lost: weights only matter under contention, and the kernel gives
/// idle CPU to whoever is runnable. That is why an idle pod can be written its floor as weight
/// without starving it later, and why a server's weight can stay at its peak while it sleeps.
public enum ShareMarket {
    /// Demand is offered with this margin on top, so a pod near its estimate is not the one squeezed.
    public static let defaultMargin = 0.25

    /// Divides `budget` millicores.
    /// - Throws: ``MarketError`` for invalid numbers, naming the pod.
    public static func divide(_ pods: [SharePod], budget: Double, margin: Double = defaultMargin) throws(MarketError) -> ShareAllocation {
        let problem = AllocationProblem(capacity: Swift.max(0, budget), pods: pods.map { pod in
            let floor = Swift.min(pod.floor, pod.cap)
            return MarketPod(name: pod.name, bid: pod.budget, floor: floor,
                             cap: Swift.min(pod.cap, Swift.max(floor, pod.demand * (1 + margin))))
        })
        let allocation = try WaterFilling.solve(problem)
        return ShareAllocation(millicores: allocation.millicores, shadowPrice: allocation.shadowPrice)
    }
}
