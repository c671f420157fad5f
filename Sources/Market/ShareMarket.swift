/// One pod as the share market sees it.
public struct SharePod: Sendable, Hashable {
    /// Name, for results and errors.
    public var name: String
    /// Its class: latency-sensitive pods are served first.
    public var latencyClass: LatencyClass
    /// Its floor (request), millicores: never less under contention.
    public var floor: Double
    /// Its cap, millicores: never more.
    public var cap: Double
    /// Its demand estimate, millicores (recent peak for servers, recent use for batch).
    public var demand: Double
    /// Its budget in the market: configured weight × floor, so that equal pods split by their
    /// requests as the kernel's fair share would.
    public var budget: Double

    /// Creates a pod.
    public init(name: String, latencyClass: LatencyClass, floor: Double, cap: Double, demand: Double, budget: Double) {
        self.name = name
        self.latencyClass = latencyClass
        self.floor = floor
        self.cap = cap
        self.demand = demand
        self.budget = budget
    }
}

/// What the share market decided.
public struct ShareAllocation: Sendable, Hashable {
    /// CPU each pod gets when everyone wants more than it can have, millicores, in input order.
    /// Written as weights, these make the kernel clear the same division, and give CPU that one
    /// pod leaves idle to the others.
    public var millicores: [Double]
    /// The shadow price of CPU among the batch pods (0: not scarce; +∞: floors over-committed).
    public var shadowPrice: Double
    /// The price among the latency-sensitive pods (0 unless their demands alone exceed the node).
    public var latencyPrice: Double
}

/// Divides the node's budget B = capacity − reserve between pods, for weights, in two tiers:
///
/// 1. Latency-sensitive pods are offered their demand (plus `margin`), within [floor, cap], from
///    B − Σ batch floors: maximise Σ bᵢ·log xᵢ over them (the Fisher market with budgets bᵢ,
///    solved exactly by ``WaterFilling``). Their stall takes CPU from batch pods first.
/// 2. Batch pods share what is left by the same market, each at least its floor and at most
///    its cap and demand (plus margin).
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
        var result = [Double](repeating: 0, count: pods.count)
        let floors = pods.reduce(0.0) { $0 + Swift.min($1.floor, $1.cap) }
        if floors > budget {
            // Over-committed: the requests alone do not fit. Scale every floor alike, as the kernel
            // would with weights in proportion to requests; no tier can be served first.
            let scale = budget / floors
            return ShareAllocation(millicores: pods.map { Swift.min($0.floor, $0.cap) * scale },
                                   shadowPrice: .infinity, latencyPrice: .infinity)
        }
        let latency = pods.indices.filter { pods[$0].latencyClass == .latency }
        let batch = pods.indices.filter { pods[$0].latencyClass == .batch }
        let batchFloors = batch.reduce(0.0) { $0 + Swift.min(pods[$1].floor, pods[$1].cap) }

        func offer(_ pod: SharePod) -> Double {
            Swift.min(pod.cap, Swift.max(pod.floor, pod.demand * (1 + margin)))
        }
        func solve(_ indices: [Int], budget: Double) throws(MarketError) -> Allocation {
            let problem = AllocationProblem(capacity: Swift.max(0, budget), pods: indices.map { i in
                MarketPod(name: pods[i].name, bid: pods[i].budget, floor: Swift.min(pods[i].floor, pods[i].cap),
                          cap: offer(pods[i]))
            })
            return try WaterFilling.solve(problem)
        }

        let first = try solve(latency, budget: budget - batchFloors)
        for (k, i) in latency.enumerated() { result[i] = first.millicores[k] }
        let second = try solve(batch, budget: budget - first.total)
        for (k, i) in batch.enumerated() { result[i] = second.millicores[k] }
        return ShareAllocation(millicores: result, shadowPrice: second.shadowPrice, latencyPrice: first.shadowPrice)
    }
}
