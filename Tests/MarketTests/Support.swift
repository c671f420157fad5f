import PropertyBased
import Testing
@testable import Market

/// Optimality checks written from the problem's definition, independent of the solvers.
enum Optimality {
    /// A tolerance scaled to the problem's size in millicores.
    static func scale(_ problem: AllocationProblem) -> Double {
        Swift.max(1, problem.budget, problem.pods.map(\.cap).max() ?? 0)
    }

    /// Every violation of feasibility, the KKT conditions or Pareto efficiency, as sentences.
    ///
    /// For a round that is not over-committed, a feasible x with one price λ ≥ 0 such that
    /// (a) pods strictly inside [mᵢ, uᵢ] sit at dᵢ + wᵢ/λ, (b) pods at uᵢ have dᵢ + wᵢ/λ ≥ uᵢ,
    /// (c) pods at mᵢ have dᵢ + wᵢ/λ ≤ mᵢ, (d) λ > 0 only if Σ x = B, (e) zero bids sit at mᵢ,
    /// is the unique optimum of the strictly concave problem; (f) Pareto: no spare CPU while a
    /// positive bid is below its cap.
    static func violations(_ problem: AllocationProblem, _ allocation: Allocation,
                           relativeTolerance: Double = 1e-9) -> [String] {
        var out: [String] = []
        let tol = relativeTolerance * scale(problem)
        let x = allocation.millicores
        let budget = problem.budget
        guard x.count == problem.pods.count else { return ["\(x.count) allocations for \(problem.pods.count) pods"] }
        let total = x.reduce(0, +)
        if total > budget + tol { out.append("capacity exceeded: Σx = \(total) > \(budget)") }
        for value in x where !value.isFinite || value < 0 { out.append("invalid allocation \(value)") }

        let floorSum = problem.pods.reduce(0) { $0 + $1.floor }
        let lowerSum = problem.pods.reduce(0) { $0 + Swift.max($1.floor, $1.baseline) }
        switch allocation.overcommit {
        case .floors:
            if floorSum <= budget { out.append("flagged floors over-committed but Σl = \(floorSum) ≤ \(budget)") }
            for (pod, value) in zip(problem.pods, x) where abs(value - pod.floor * budget / floorSum) > tol {
                out.append("\(pod.name): \(value) is not its floor scaled by budget/Σl")
            }
            return out
        case .baselines:
            if !(floorSum <= budget && lowerSum > budget) { out.append("baselines tier flagged wrongly") }
            var theta: Double?
            for (pod, value) in zip(problem.pods, x) {
                let excess = Swift.max(pod.floor, pod.baseline) - pod.floor
                guard excess > tol else {
                    if abs(value - pod.floor) > tol { out.append("\(pod.name) not at its floor") }
                    continue
                }
                let share = (value - pod.floor) / excess
                if let theta, abs(theta - share) > 1e-6 { out.append("\(pod.name): unequal baseline fraction") }
                theta = theta ?? share
            }
            if abs(total - budget) > tol { out.append("baselines tier does not use the budget") }
            return out
        case .none:
            if floorSum > budget + tol { out.append("floors exceed budget but round not flagged") }
        }

        let price = allocation.shadowPrice
        if price.isNaN || price < 0 { out.append("invalid price \(price)") }
        if price > 0, abs(total - budget) > tol {
            out.append("complementary slackness: price \(price) > 0 but Σx = \(total) ≠ B = \(budget)")
        }
        for (pod, value) in zip(problem.pods, x) {
            let lower = Swift.max(pod.floor, pod.baseline)
            if value < lower - tol { out.append("\(pod.name): \(value) below effective floor \(lower)") }
            if value < pod.floor - tol { out.append("\(pod.name): \(value) below floor \(pod.floor)") }
            if value > pod.cap + tol { out.append("\(pod.name): \(value) above cap \(pod.cap)") }
            if pod.bid == 0 {
                if abs(value - lower) > tol { out.append("\(pod.name): zero bid but \(value) ≠ floor \(lower)") }
                continue
            }
            if price == 0 {
                if abs(value - pod.cap) > tol { out.append("\(pod.name): price 0 but \(value) below cap \(pod.cap)") }
                continue
            }
            guard price.isFinite else {
                if abs(value - lower) > tol { out.append("\(pod.name): infinite price but not at floor") }
                continue
            }
            let wanted = pod.baseline + pod.bid / price
            let atLower = value <= lower + tol
            let atUpper = value >= pod.cap - tol
            let kktTol = tol + 1e-9 * abs(wanted)
            if atLower && atUpper { continue } // pinned: lower == cap
            if atUpper {
                if wanted < pod.cap - kktTol { out.append("\(pod.name): at cap but d + w/λ = \(wanted) < \(pod.cap)") }
            } else if atLower {
                if wanted > lower + kktTol { out.append("\(pod.name): at floor but d + w/λ = \(wanted) > \(lower)") }
            } else if abs(value - wanted) > kktTol {
                out.append("\(pod.name): inside bounds at \(value) but d + w/λ = \(wanted)")
            }
        }
        if total < budget - tol {
            for (pod, value) in zip(problem.pods, x) where pod.bid > 0 && value < pod.cap - tol {
                out.append("Pareto: \(budget - total) idle while \(pod.name) (bid \(pod.bid)) is below its cap")
            }
        }
        return out
    }
}

/// Jain's fairness index of positive values: (Σx)² / (n·Σx²), 1 when all are equal.
func jainIndex(_ values: [Double]) -> Double {
    let sum = values.reduce(0, +)
    let squares = values.reduce(0) { $0 + $1 * $1 }
    return values.isEmpty || squares == 0 ? 1 : sum * sum / (Double(values.count) * squares)
}

/// Random allocation problems covering every regime: zero bids, pinned pods, baselines above and
/// below floors, scarce, not scarce and over-committed capacity.
enum Problems {
    static var pod: Generator<MarketPod, some SendableSequenceType> {
        zip(Gen.int(in: 0...5), Gen.double(in: -2...2), Gen.double(in: 0...500),
            Gen.double(in: 0...3000), Gen.int(in: 0...3), Gen.double(in: 0...1))
            .map { bidKind, logBid, floor, width, shape, fraction in
                let bid = bidKind == 0 ? 0 : pow10(logBid)
                let cap = shape == 0 ? floor : floor + width
                let baseline: Double
                switch shape {
                case 1: baseline = fraction * floor          // below the floor
                case 2: baseline = floor + fraction * (cap - floor) // between floor and cap
                default: baseline = 0
                }
                return MarketPod(name: "", bid: bid, floor: floor, cap: cap, baseline: baseline)
            }
    }

    static var problem: Generator<AllocationProblem, some SendableSequenceType> {
        zip(pod.array(of: 1...30), Gen.double(in: 0.02...1.3), Gen.double(in: 0...0.1))
            .map { pods, capacityFactor, reserveFactor in
                var named = pods
                for index in named.indices { named[index].name = "p\(index)" }
                let caps = named.reduce(0) { $0 + $1.cap }
                let capacity = (capacityFactor * caps).rounded()
                return AllocationProblem(capacity: capacity, reserve: (reserveFactor * capacity).rounded(), pods: named)
            }
    }

    static func pow10(_ x: Double) -> Double {
        var result = 1.0
        let whole = Int(x.rounded(.down))
        let base = whole >= 0 ? 10.0 : 0.1
        for _ in 0..<abs(whole) { result *= base }
        // 10^f for f in [0, 1) by linear interpolation on a log grid is enough for test inputs.
        let fraction = x - Double(whole)
        return result * (1 + 9 * fraction)
    }
}
