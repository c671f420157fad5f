import PropertyBased
import Testing
@testable import Market

@Suite("Primal-dual price iteration")
struct PrimalDualTests {
    /// Σ|xᵢ − xᵢ*| / B against the exact solution.
    func l1Distance(_ problem: AllocationProblem, _ a: Allocation, _ b: Allocation) -> Double {
        zip(a.millicores, b.millicores).reduce(0) { $0 + abs($1.0 - $1.1) } / Swift.max(1, problem.budget)
    }

    @Test("Newton rule: converges to the exact solution within tolerance·B in at most 30 iterations")
    func newtonConverges() async {
        // The stated bound: on these problems (≤ 30 pods, so ≤ 60 breakpoints) a Newton step lands on
        // the exact price once it stays on one linear segment; bracketing and bisection cap the rest.
        await propertyCheck(count: 400, input: Problems.problem) { problem in
            let exact = try WaterFilling.solve(problem)
            let result = try PrimalDual.solve(problem, options: .init(tolerance: 1e-6, stepRule: .newton))
            #expect(result.converged)
            #expect(result.iterations <= 30)
            #expect(result.relativeGap <= 1e-6)
            // L1 distance = |Σx − B| at a scarce optimum; allow rounding on top.
            #expect(l1Distance(problem, exact, result.allocation) <= 1e-6 + 1e-12)
            #expect(result.allocation.overcommit == exact.overcommit)
        }
    }

    @Test("proportional rule (tâtonnement λ ← λ·Σx/B): converges to the exact solution within tolerance·B")
    func proportionalConverges() async {
        await propertyCheck(count: 200, input: Problems.problem) { problem in
            let exact = try WaterFilling.solve(problem)
            let result = try PrimalDual.solve(problem, options: .init(tolerance: 1e-6, maxIterations: 1_000_000,
                                                                       stepRule: .proportional))
            #expect(result.converged)
            #expect(l1Distance(problem, exact, result.allocation) <= 1e-6 + 1e-12)
        }
    }

    @Test("rounds without a price take no iterations and match the exact answer")
    func noPriceNeeded() throws {
        let cases = [
            AllocationProblem(capacity: 1000, pods: []),
            AllocationProblem(capacity: 5000, pods: [MarketPod(name: "a", bid: 1, floor: 0, cap: 1000)]),
            AllocationProblem(capacity: 500, pods: [MarketPod(name: "a", bid: 1, floor: 600, cap: 1000)]),
        ]
        for problem in cases {
            let result = try PrimalDual.solve(problem)
            #expect(result.iterations == 0)
            #expect(result.allocation == (try WaterFilling.solve(problem)))
        }
    }

    @Test("reports the iterations it used: a tighter tolerance never takes fewer")
    func iterationsReported() throws {
        let problem = AllocationProblem(capacity: 3000, pods: (0..<50).map {
            MarketPod(name: "p\($0)", bid: Double($0 % 7 + 1), floor: Double($0 % 5) * 20, cap: 400)
        })
        let loose = try PrimalDual.solve(problem, options: .init(tolerance: 1e-2, stepRule: .proportional))
        let tight = try PrimalDual.solve(problem, options: .init(tolerance: 1e-9, stepRule: .proportional))
        #expect(loose.iterations >= 1)
        #expect(tight.iterations >= loose.iterations)
        #expect(tight.relativeGap <= 1e-9)
    }

    @Test("invalid options are rejected")
    func invalidOptions() {
        let problem = AllocationProblem(capacity: 10, pods: [MarketPod(name: "a", bid: 1, floor: 0, cap: 100)])
        #expect(throws: MarketError.self) { try PrimalDual.solve(problem, options: .init(tolerance: 0)) }
        #expect(throws: MarketError.self) { try PrimalDual.solve(problem, options: .init(maxIterations: 0)) }
    }
}
