/// The exact market solver: water-filling over the breakpoints of the best responses.
///
/// With t = 1/λ every pod's best response xᵢ(t) = clamp(dᵢ + wᵢ·t, mᵢ, uᵢ) (mᵢ = max(lᵢ, dᵢ)) is
/// piecewise linear in t with at most two breakpoints: it leaves its floor at tᵢ = (mᵢ − dᵢ)/wᵢ and
/// reaches its cap at Tᵢ = (uᵢ − dᵢ)/wᵢ. Between breakpoints S(t) = Σ xᵢ(t) = A + W·t; the segment
/// where S crosses the budget B gives t* = (B − A)/W exactly, hence λ = 1/t* and
/// xᵢ = clamp(dᵢ + wᵢ·t*, mᵢ, uᵢ). The segment is found by breakpoint selection (O(n) expected,
/// see `waterLevel`) rather than by sorting all 2n breakpoints (O(n log n), kept as the tests'
/// reference); either way there is no iteration and no tolerance. O(n) memory.
///
/// The result satisfies the KKT conditions of
/// maximise Σ wᵢ·log(xᵢ − dᵢ) s.t. Σ xᵢ ≤ C − reserve, max(lᵢ, dᵢ) ≤ xᵢ ≤ uᵢ:
/// one price λ; pods strictly inside their bounds sit at dᵢ + wᵢ/λ; pods at the cap have
/// dᵢ + wᵢ/λ ≥ uᵢ; pods at the floor have dᵢ + wᵢ/λ ≤ mᵢ; and λ > 0 only when Σ xᵢ = C − reserve.
///
/// Defined answers at the edges (see ``Allocation`` and ``Overcommit``):
/// - no pods: an empty allocation, λ = 0;
/// - all bids zero: every pod at its effective floor, λ = 0;
/// - not scarce (Σ over positive bids of uᵢ + Σ over zero bids of mᵢ ≤ budget): positive bids at
///   their caps, zero bids at their effective floors, λ = 0;
/// - floors above the budget: floors scaled down proportionally, λ = +∞, ``Overcommit/floors``;
/// - floors fit but floors and baselines do not: ``Overcommit/baselines``, λ = +∞;
/// - invalid numbers, caps below floors, baselines above caps: a ``MarketError`` naming the pod.
public enum WaterFilling {
    /// A breakpoint: at t the constant part of S changes by `shift` and its slope by `slope`.
    @usableFromInline
    struct Breakpoint {
        @usableFromInline var t: Double
        @usableFromInline var shift: Double
        @usableFromInline var slope: Double
    }

    /// Solves one round exactly.
    /// - Parameter problem: The round's capacity, reserve and pods.
    /// - Returns: The allocation, in the problem's pod order, with its shadow price.
    /// - Throws: ``MarketError`` for invalid input, naming the pod and field.
    public static func solve(_ problem: AllocationProblem) throws(MarketError) -> Allocation {
        switch try MarketPrelude.evaluate(problem) {
        case .decided(let allocation):
            return allocation
        case .scarce(let budget, _):
            let t = waterLevel(problem.pods, budget: budget)
            return allocation(problem.pods, level: t)
        }
    }

    /// A pod whose best response still has a breakpoint inside the search interval.
    struct OpenPod {
        var low: Double   // t where it leaves its effective floor
        var high: Double  // t where it reaches its cap
        var baseline: Double
        var bid: Double
        var floor: Double // effective floor
        var cap: Double
    }

    /// Finds the water level t* = 1/λ at which Σ xᵢ(t) reaches `budget`. Requires a scarce round.
    ///
    /// Breakpoint selection instead of a full sort: keep an interval (tL, tR) around t*, pick a
    /// breakpoint inside it as pivot, evaluate S there, shrink the interval, and fold every pod whose
    /// breakpoints now lie outside the interval into the linear form A + W·t. Random pivots (fixed
    /// seed, so the result is deterministic) remove a constant fraction of the breakpoints per
    /// pass: O(n) expected, O(n²) worst case with vanishing probability. Gives the same segment,
    /// hence the same t*, as sorting the breakpoints (see `waterLevelSorted`).
    static func waterLevel(_ pods: [MarketPod], budget: Double) -> Double {
        var open: [OpenPod] = []
        open.reserveCapacity(pods.count)
        var constant = 0.0 // A: Σ of the pods whose position is known on (tL, tR), at t = 0
        var slope = 0.0    // W: Σ bids of the pods that are strictly between their bounds on (tL, tR)
        for pod in pods {
            let lower = pod.effectiveFloor
            guard pod.bid > 0, lower < pod.cap else {
                constant += lower
                continue
            }
            let inverseBid = 1 / pod.bid
            open.append(OpenPod(low: (lower - pod.baseline) * inverseBid, high: (pod.cap - pod.baseline) * inverseBid,
                                baseline: pod.baseline, bid: pod.bid, floor: lower, cap: pod.cap))
        }
        var left = 0.0             // S(left) < budget (or left = 0)
        var right = Double.infinity // S(right) ≥ budget
        var random: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(truncatingIfNeeded: pods.count | 1)
        while !open.isEmpty {
            // Fold pods whose breakpoints are outside (left, right); keep the rest, compacted in place.
            var kept = 0
            for index in open.indices {
                let pod = open[index]
                if pod.high <= left {
                    constant += pod.cap
                } else if pod.low >= right {
                    constant += pod.floor
                } else if pod.low <= left && pod.high >= right {
                    constant += pod.baseline
                    slope += pod.bid
                } else {
                    open[kept] = pod
                    kept += 1
                }
            }
            open.removeLast(open.count - kept)
            guard !open.isEmpty else { break }
            // A pseudo-random pod's breakpoint inside (left, right) as pivot.
            random ^= random << 13
            random ^= random >> 7
            random ^= random << 17
            let chosen = open[Int(random % UInt64(open.count))]
            let pivot = chosen.low > left ? chosen.low : chosen.high
            var total = constant + slope * pivot
            for pod in open {
                total += Swift.min(Swift.max(pod.baseline + pod.bid * pivot, pod.floor), pod.cap)
            }
            if total >= budget { right = pivot } else { left = pivot }
        }
        guard slope > 0 else { return right.isFinite ? right : left }
        let t = (budget - constant) / slope
        return Swift.min(Swift.max(t, left), right)
    }

    /// The reference implementation of ``waterLevel(_:budget:)``: sort all breakpoints and sweep.
    /// O(n log n); kept as an independent cross-check for the tests.
    static func waterLevelSorted(_ pods: [MarketPod], budget: Double, lowerSum: Double) -> Double {
        var events: [Breakpoint] = []
        events.reserveCapacity(2 * pods.count)
        for pod in pods where pod.bid > 0 {
            let lower = pod.effectiveFloor
            guard lower < pod.cap else { continue } // pinned: contributes its cap to lowerSum
            let inverseBid = 1 / pod.bid
            events.append(Breakpoint(t: (lower - pod.baseline) * inverseBid,
                                     shift: pod.baseline - lower, slope: pod.bid))
            events.append(Breakpoint(t: (pod.cap - pod.baseline) * inverseBid,
                                     shift: pod.cap - pod.baseline, slope: -pod.bid))
        }
        events.sort { $0.t < $1.t }

        // On the current segment S(t) = constant + slope·t.
        var constant = lowerSum
        var slope = 0.0
        var previous = 0.0
        for event in events {
            let total = constant + slope * event.t
            if total >= budget {
                // The crossing lies in [previous, event.t]. On a flat segment take its right end:
                // the smallest price that clears the market.
                guard slope > 0 else { return event.t }
                let t = (budget - constant) / slope
                return Swift.min(Swift.max(t, previous), event.t)
            }
            constant += event.shift
            slope += event.slope
            previous = event.t
        }
        // Only reachable through rounding: every pod is at its cap.
        return previous
    }

    /// The allocation at water level `t` (λ = 1/t).
    static func allocation(_ pods: [MarketPod], level t: Double) -> Allocation {
        guard t > 0 else {
            // The effective floors use the whole budget and some positive bid sits at its baseline.
            return Allocation(millicores: pods.map { $0.effectiveFloor }, shadowPrice: .infinity, overcommit: .none)
        }
        let x = pods.map { pod -> Double in
            let lower = pod.effectiveFloor
            guard pod.bid > 0 else { return lower }
            return Swift.min(Swift.max(pod.baseline + pod.bid * t, lower), pod.cap)
        }
        return Allocation(millicores: x, shadowPrice: 1 / t, overcommit: .none)
    }
}
