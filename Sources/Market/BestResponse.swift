extension MarketPod {
    /// The pod's best response to price λ: the CPU that maximises wᵢ·log(xᵢ − dᵢ) − λ·xᵢ within its
    /// bounds, xᵢ(λ) = clamp(dᵢ + wᵢ/λ, max(lᵢ, dᵢ), uᵢ).
    ///
    /// Conventions at the edges: a zero bid answers its effective floor; λ = 0 with a positive bid
    /// answers the cap; λ = +∞ answers the effective floor. Non-increasing in λ. O(1).
    /// - Parameter price: The price λ ≥ 0.
    /// - Returns: The CPU the pod asks for at that price, in millicores.
    @inlinable
    public func bestResponse(price: Double) -> Double {
        let lower = effectiveFloor
        guard bid > 0 else { return lower }
        guard price > 0 else { return cap }
        let wanted = baseline + bid / price
        return Swift.min(Swift.max(wanted, lower), cap)
    }
}

/// What the solvers share before the price search: validation, the empty round, the two
/// over-commit tiers and the not-scarce round. Internal.
enum MarketPrelude {
    /// The round is decided without a price search.
    case decided(Allocation)
    /// CPU is scarce: a positive finite (or infinite) price must be found for `budget`.
    case scarce(budget: Double, lowerSum: Double)

    /// Runs the checks shared by ``WaterFilling`` and ``PrimalDual``.
    static func evaluate(_ problem: AllocationProblem) throws(MarketError) -> MarketPrelude {
        try problem.validate()
        let pods = problem.pods
        let budget = problem.budget
        if pods.isEmpty {
            return .decided(Allocation(millicores: [], shadowPrice: 0, overcommit: .none))
        }
        var floorSum = 0.0
        var lowerSum = 0.0
        var saturatedSum = 0.0 // Σ of best responses at λ = 0
        for pod in pods {
            let lower = pod.effectiveFloor
            floorSum += pod.floor
            lowerSum += lower
            saturatedSum += pod.bid > 0 ? pod.cap : lower
        }
        if floorSum > budget {
            // Tier 1: the requests alone do not fit. Scale every floor by the same factor.
            let scale = budget / floorSum
            let x = pods.map { $0.floor * scale }
            return .decided(Allocation(millicores: x, shadowPrice: .infinity, overcommit: .floors))
        }
        if lowerSum > budget {
            // Tier 2: floors fit, baselines do not. Everyone gets its floor plus the same fraction
            // of its baseline excess.
            let theta = (budget - floorSum) / (lowerSum - floorSum)
            let x = pods.map { $0.floor + theta * ($0.effectiveFloor - $0.floor) }
            return .decided(Allocation(millicores: x, shadowPrice: .infinity, overcommit: .baselines))
        }
        if saturatedSum <= budget {
            // Not scarce: every positive bid is satisfied at its cap, zero bids keep their floor.
            let x = pods.map { $0.bestResponse(price: 0) }
            return .decided(Allocation(millicores: x, shadowPrice: 0, overcommit: .none))
        }
        if budget == 0 {
            // Scarce with nothing to divide: floors and baselines are all zero; no finite price clears.
            return .decided(Allocation(millicores: pods.map { _ in 0 }, shadowPrice: .infinity, overcommit: .none))
        }
        return .scarce(budget: budget, lowerSum: lowerSum)
    }
}
