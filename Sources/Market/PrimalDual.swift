/// The distributed variant of the market: a primal-dual price iteration.
///
/// Why it is kept beside ``WaterFilling`` (which the agent uses): it is the form the market takes
/// when no one holds every pod's bounds — a price posted to parties that each answer their best
/// response (pods of a cluster-level allocator, nodes bidding for a pool). The tests hold it to the
/// exact solver (agreement within 1e-6·C on random problems) and `mbcas-bench market` prices it, so
/// that form stays correct and measured; nothing on the agent's path calls it.
///
/// A coordinator posts a price λ; every pod answers its best response
/// xᵢ(λ) = clamp(dᵢ + wᵢ/λ, max(lᵢ, dᵢ), uᵢ) (``MarketPod/bestResponse(price:)``) and, for the
/// Newton rule, whether it is strictly inside its bounds (then ∂xᵢ/∂(1/λ) = wᵢ). The coordinator
/// only sees these sums and moves the price along the excess demand:
///
///     λ ← [λ + η·(Σ xᵢ − B)]₊,  B = capacity − reserve.
///
/// Step rules (``StepRule``):
/// - ``StepRule/proportional``: η = λ/B, i.e. λ ← λ·Σxᵢ/B, the classic tâtonnement of a Fisher
///   market. With t = 1/λ the update is t ← t·B/S(t); since S(t)/t is non-increasing the iterates
///   move monotonically towards the solution and converge from any λ > 0, linearly with rate A/B,
///   where A is the part of Σ xᵢ that does not scale with 1/λ (pods at floors or caps, baselines).
/// - ``StepRule/newton`` (default): η from the pods' reported slopes, a Newton step on
///   S(t) = Σ xᵢ(1/t), which is piecewise linear in t, so a step that stays on one segment lands on
///   the exact price. The coordinator keeps a bracket [t_lo, t_hi] around the solution and falls
///   back to the proportional step whenever Newton would leave it, so it converges whenever the
///   proportional rule does, in a handful of iterations.
///
/// A fixed η does not work here: the slope of Σ xᵢ in λ, −Σ wᵢ/λ², spans orders of magnitude
/// across problems, and the excess demand is bounded below by Σ mᵢ − B but not above.
///
/// Stopping rule: |Σ xᵢ − B| ≤ tolerance·B. Because every best response moves the same way with λ,
/// Σᵢ |xᵢ(λ) − xᵢ*| = |Σ xᵢ(λ) − B| at a scarce optimum: the stopping rule bounds the L1 distance to
/// the exact solution of ``WaterFilling`` by tolerance·B.
///
/// Rounds that need no price (no pods, not scarce, over-committed) are answered exactly as
/// ``WaterFilling`` answers them, with zero iterations.
public enum PrimalDual {
    /// How the coordinator sizes the price step.
    public enum StepRule: String, Sendable, Hashable, CaseIterable {
        /// η = λ/B: the Fisher-market tâtonnement λ ← λ·Σxᵢ/B.
        case proportional
        /// η from the pods' reported slopes (Newton), safeguarded by a bracket and the proportional step.
        case newton
    }

    /// Settings of the price iteration.
    public struct Options: Sendable, Hashable {
        /// Relative accuracy: stop when |Σ xᵢ − B| ≤ tolerance·B. Default 1e-6.
        public var tolerance: Double
        /// Give up after this many price updates. Default 100,000.
        public var maxIterations: Int
        /// How the step is sized. Default ``StepRule/newton``.
        public var stepRule: StepRule

        /// Creates options.
        /// - Parameters:
        ///   - tolerance: Relative accuracy on the total, > 0.
        ///   - maxIterations: Iteration limit, ≥ 1.
        ///   - stepRule: Step sizing.
        public init(tolerance: Double = 1e-6, maxIterations: Int = 100_000, stepRule: StepRule = .newton) {
            self.tolerance = tolerance
            self.maxIterations = maxIterations
            self.stepRule = stepRule
        }
    }

    /// The outcome of the price iteration.
    public struct Result: Sendable, Hashable {
        /// The pods' best responses to the final price, and that price.
        public var allocation: Allocation
        /// Price updates performed; each is one round trip to every pod.
        public var iterations: Int
        /// Whether the stopping rule was met within ``Options/maxIterations``.
        public var converged: Bool
        /// |Σ xᵢ − B| / B at the final price (0 for rounds that need no price).
        public var relativeGap: Double
    }

    /// Runs the price iteration.
    /// - Parameters:
    ///   - problem: The round's capacity, reserve and pods.
    ///   - options: Tolerance, iteration limit and step rule.
    /// - Returns: The allocation at the final price, the iterations used and whether it converged.
    /// - Throws: ``MarketError`` for invalid input (naming pod and field) or invalid options.
    public static func solve(_ problem: AllocationProblem, options: Options = Options()) throws(MarketError) -> Result {
        guard options.tolerance > 0, options.tolerance.isFinite else {
            throw .configuration("tolerance", "tolerance must be a positive finite number")
        }
        guard options.maxIterations >= 1 else {
            throw .configuration("maxIterations", "maxIterations must be at least 1")
        }
        let budget: Double
        switch try MarketPrelude.evaluate(problem) {
        case .decided(let allocation):
            return Result(allocation: allocation, iterations: 0, converged: true, relativeGap: 0)
        case .scarce(let b, _):
            budget = b
        }
        let pods = problem.pods
        // Work with t = 1/λ; start from the Fisher price λ₀ = Σ wᵢ / B.
        var t = budget / pods.reduce(0) { $0 + $1.bid }
        var low = 0.0            // S(low) ≤ B
        var high = Double.infinity // S(high) ≥ B
        var iterations = 0
        var gap = Double.infinity
        while true {
            // One round trip: each pod answers its best response (and slope, for Newton).
            var total = 0.0
            var slope = 0.0
            let price = 1 / t
            for pod in pods {
                let x = pod.bestResponse(price: price)
                total += x
                if pod.bid > 0, x > pod.effectiveFloor, x < pod.cap { slope += pod.bid }
            }
            let excess = total - budget
            gap = abs(excess) / budget
            if abs(excess) <= options.tolerance * budget || iterations >= options.maxIterations { break }
            if excess < 0 { low = t } else { high = t }
            // Proportional step λ ← λ + (λ/B)·(S − B), i.e. t ← t·B/S.
            var next = total > 0 ? t * budget / total : 2 * t
            if options.stepRule == .newton {
                let newton = slope > 0 ? t - excess / slope : .nan
                if newton > low, newton < high {
                    next = newton
                } else if high.isFinite {
                    next = bisect(low, high)
                } else {
                    next = Swift.max(next, 2 * t) // no upper bracket yet: expand
                }
            }
            if !(next > low && next < high) {
                next = high.isFinite ? bisect(low, high) : 2 * t
            }
            t = next
            iterations += 1
        }
        let price = 1 / t
        let x = pods.map { $0.bestResponse(price: price) }
        return Result(allocation: Allocation(millicores: x, shadowPrice: price, overcommit: .none),
                      iterations: iterations, converged: gap <= options.tolerance, relativeGap: gap)
    }

    /// The middle of a bracket, geometric when it spans more than a factor 4.
    private static func bisect(_ low: Double, _ high: Double) -> Double {
        low > 0 && high > 4 * low ? (low * high).squareRoot() : (low + high) / 2
    }
}
