import Market
import Testing
@testable import Evaluation

@Suite("CPU sharing under node contention (weighted max-min)")
struct CPUShareTests {
    @Test("enough CPUs: everyone gets what it wants")
    func enough() {
        #expect(CPUShare.divide(wants: [1, 0.5, 2], weights: [1, 1, 1], capacity: 4) == [1, 0.5, 2])
    }

    @Test("equal weights: the small want is met, the rest split evenly")
    func maxMin() {
        let rates = CPUShare.divide(wants: [1, 5, 5], weights: [1, 1, 1], capacity: 4)
        #expect(rates == [1, 1.5, 1.5])
    }

    @Test("weights 1 : 3 split 4 CPUs 1 : 3 when both want more")
    func weighted() {
        #expect(CPUShare.divide(wants: [3, 3], weights: [1, 3], capacity: 4) == [1, 3])
    }

    @Test("the same answer as Market's WaterFilling with bids = weights, floors 0, caps = wants",
          arguments: [UInt64(11), 12, 13, 14, 15])
    func matchesWaterFilling(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        for _ in 0..<50 {
            let count = 1 + Int(random.next() % 6)
            let wants = (0..<count).map { _ in random.unit() * 3 }
            let weights = (0..<count).map { _ in 0.1 + random.unit() * 4 }
            let capacity = 0.5 + random.unit() * 6
            let rates = CPUShare.divide(wants: wants, weights: weights, capacity: capacity)
            let problem = AllocationProblem(capacity: capacity, pods: wants.indices.map {
                MarketPod(name: "p\($0)", bid: weights[$0], floor: 0, cap: wants[$0])
            })
            let market = try WaterFilling.solve(problem).millicores
            for index in wants.indices {
                #expect(abs(rates[index] - market[index]) < 1e-9, "wants \(wants) weights \(weights) capacity \(capacity)")
            }
            #expect(rates.reduce(0, +) <= capacity + 1e-9)
        }
    }
}
