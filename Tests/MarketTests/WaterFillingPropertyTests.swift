import PropertyBased
import Testing
@testable import Market

@Suite("Water-filling: properties on random problems")
struct WaterFillingPropertyTests {
    @Test("KKT conditions, capacity, floors, caps and Pareto efficiency hold")
    func optimality() async {
        await propertyCheck(count: 400, input: Problems.problem) { problem in
            let allocation = try WaterFilling.solve(problem)
            let violations = Optimality.violations(problem, allocation)
            #expect(violations.isEmpty, "\(violations.prefix(5))")
        }
    }

    @Test("floors are respected whenever they fit; never more than the budget")
    func floorsAndCapacity() async {
        await propertyCheck(count: 300, input: Problems.problem) { problem in
            let allocation = try WaterFilling.solve(problem)
            let tolerance = 1e-9 * Optimality.scale(problem)
            #expect(allocation.total <= problem.budget + tolerance)
            let floors = problem.pods.reduce(0) { $0 + $1.floor }
            if floors <= problem.budget {
                for (pod, x) in zip(problem.pods, allocation.millicores) {
                    #expect(x >= pod.floor - tolerance, "\(pod.name) below its floor")
                }
            } else {
                #expect(allocation.overcommit == .floors)
            }
        }
    }

    @Test("scaling every bid by a constant changes no allocation and scales the price")
    func bidScaleInvariance() async {
        await propertyCheck(count: 300, input: Problems.problem, Gen.double(in: -3...3)) { problem, logScale in
            let factor = Problems.pow10(logScale)
            var scaled = problem
            for index in scaled.pods.indices { scaled.pods[index].bid *= factor }
            let a = try WaterFilling.solve(problem)
            let b = try WaterFilling.solve(scaled)
            let tolerance = 1e-9 * Optimality.scale(problem)
            for (x, y) in zip(a.millicores, b.millicores) { #expect(abs(x - y) <= tolerance) }
            #expect(a.overcommit == b.overcommit)
            if a.shadowPrice.isFinite && a.shadowPrice > 0 {
                #expect(abs(b.shadowPrice / (a.shadowPrice * factor) - 1) < 1e-9)
            } else {
                #expect(a.shadowPrice == b.shadowPrice)
            }
        }
    }

    @Test("deterministic, and independent of the order of the pods")
    func orderIndependence() async {
        await propertyCheck(count: 300, input: Problems.problem, Gen.int(in: 0...Int.max)) { problem, seed in
            let first = try WaterFilling.solve(problem)
            let again = try WaterFilling.solve(problem)
            #expect(first == again)

            var generator = SplitMix64(seed: UInt64(seed))
            var order = Array(problem.pods.indices)
            for index in order.indices.reversed() where index > 0 {
                order.swapAt(index, Int(generator.next() % UInt64(index + 1)))
            }
            let shuffled = AllocationProblem(capacity: problem.capacity, reserve: problem.reserve,
                                             pods: order.map { problem.pods[$0] })
            let permuted = try WaterFilling.solve(shuffled)
            let tolerance = 1e-9 * Optimality.scale(problem)
            for (position, original) in order.enumerated() {
                #expect(abs(permuted.millicores[position] - first.millicores[original]) <= tolerance)
            }
            #expect(first.overcommit == permuted.overcommit)
            if first.shadowPrice.isFinite && first.shadowPrice > 0 {
                #expect(abs(permuted.shadowPrice / first.shadowPrice - 1) < 1e-9)
            } else {
                #expect(first.shadowPrice == permuted.shadowPrice)
            }
        }
    }
}

@Suite("Water-filling: two independent segment searches agree")
struct WaterLevelCrossCheck {
    @Test("breakpoint selection and the full sort find the same water level")
    func selectionMatchesSort() async {
        await propertyCheck(count: 400, input: Problems.problem) { problem in
            guard case .scarce(let budget, let lowerSum) = try MarketPrelude.evaluate(problem) else { return }
            let fast = WaterFilling.allocation(problem.pods, level: WaterFilling.waterLevel(problem.pods, budget: budget))
            let reference = WaterFilling.allocation(
                problem.pods, level: WaterFilling.waterLevelSorted(problem.pods, budget: budget, lowerSum: lowerSum))
            let tolerance = 1e-9 * Optimality.scale(problem)
            for (x, y) in zip(fast.millicores, reference.millicores) { #expect(abs(x - y) <= tolerance) }
        }
    }

    @Test("the generator covers every regime: scarce, not scarce, both over-commit tiers")
    func regimesCovered() async throws {
        // Guards the property tests above against a generator that drifted into one regime.
        var counts: [String: Int] = [:]
        var generator = Xoshiro(seed: (1, 2, 3, 4))
        for _ in 0..<2000 {
            let problem = Problems.problem.run(using: &generator)
            let allocation = try WaterFilling.solve(problem)
            let regime = allocation.overcommitted ? allocation.overcommit.rawValue
                : (allocation.shadowPrice == 0 ? "free" : "scarce")
            counts[regime, default: 0] += 1
        }
        for regime in ["scarce", "free", "floors", "baselines"] {
            #expect((counts[regime] ?? 0) >= 10, "\(regime): \(counts)")
        }
    }
}
