import PropertyBased
import Testing
@testable import Market

@Suite("Share market: latency pods bid more, batch keeps its floor, equals split by weight × request")
struct ShareMarketTests {
    let boost = ClassBoost()

    func pod(_ name: String, _ c: LatencyClass, declared: Bool = true, floor: Double = 200, cap: Double = 1600,
             demand: Double, weight: Double = 1) -> SharePod {
        SharePod(name: name, floor: floor, cap: cap, demand: demand,
                 budget: weight * floor * boost.factor(c, declared: declared))
    }

    @Test("a declared server bursting beside batch bids 10× batch; batch keeps its floor")
    func declaredServer() throws {
        let a = try ShareMarket.divide([pod("web", .latency, demand: 2000), pod("batch", .batch, demand: 2000)], budget: 1600)
        // 10:1 would leave batch 145m, below its floor: batch keeps its floor, the server takes the rest.
        #expect(a.millicores == [1400, 200])
        #expect(a.shadowPrice > 0)
    }

    @Test("a learned server bids 4× its request against batch")
    func learnedServer() throws {
        let a = try ShareMarket.divide([pod("web", .latency, declared: false, demand: 2000), pod("batch", .batch, demand: 2000)],
                                       budget: 1500)
        #expect(abs(a.millicores[0] - 1200) < 1e-6 && abs(a.millicores[1] - 300) < 1e-6, "\(a.millicores)")
    }

    @Test("a server that needs less leaves the rest to batch")
    func latencyNeedsLess() throws {
        let a = try ShareMarket.divide([pod("web", .latency, demand: 400), pod("batch", .batch, demand: 2000)], budget: 1600)
        #expect(a.millicores[0] == 500)  // demand + 25 % margin
        #expect(a.millicores[1] == 1100)
    }

    @Test("equal classes split by weight × floor, as the kernel's fair share does with weights from requests")
    func weighted() throws {
        let a = try ShareMarket.divide([
            pod("a", .batch, floor: 100, demand: 2000), pod("b", .batch, floor: 100, demand: 2000, weight: 2),
            pod("c", .batch, floor: 100, demand: 2000, weight: 4),
        ], budget: 1400)
        #expect(abs(a.millicores[0] - 200) < 1e-6 && abs(a.millicores[1] - 400) < 1e-6 && abs(a.millicores[2] - 800) < 1e-6)
    }

    @Test("two servers bursting at once split like equals")
    func twoServers() throws {
        let a = try ShareMarket.divide([pod("a", .latency, demand: 2000), pod("b", .latency, demand: 2000)], budget: 1600)
        #expect(a.millicores == [800, 800])
    }

    @Test("over-committed floors are scaled alike and the price is infinite")
    func overcommit() throws {
        let a = try ShareMarket.divide([pod("a", .latency, floor: 1000, demand: 0), pod("b", .batch, floor: 1000, demand: 0)],
                                       budget: 1000)
        #expect(a.millicores == [500, 500])
        #expect(a.shadowPrice == .infinity)
    }

    @Test("on random pods: floors hold when they fit, the budget is never exceeded, nobody above its cap or offer")
    func properties() async {
        let gen = zip(Gen.int(in: 0...2), Gen.double(in: 10...400), Gen.double(in: 0...1600), Gen.double(in: 0...3000),
                      Gen.double(in: 0.1...8))
            .map { c, floor, width, demand, weight in
                SharePod(name: "", floor: floor, cap: floor + width, demand: demand,
                         budget: weight * floor * [1, 2, 10][c])
            }
        await propertyCheck(count: 300, input: gen.array(of: 1...40), Gen.double(in: 100...8000)) { pods, budget in
            let a = try ShareMarket.divide(pods, budget: budget)
            let total = a.millicores.reduce(0, +)
            #expect(total <= budget * (1 + 1e-9) + 1e-6)
            let floors = pods.reduce(0) { $0 + $1.floor }
            let offers = pods.map { Swift.min($0.cap, Swift.max($0.floor, $0.demand * 1.25)) }
            for (i, (pod, x)) in zip(pods, a.millicores).enumerated() {
                #expect(x <= offers[i] + 1e-6)
                if floors <= budget { #expect(x >= pod.floor - 1e-6) }
            }
            // Pareto: if any pod is below its offer, the budget is used up.
            if zip(a.millicores, offers).contains(where: { $0 < $1 - 1e-6 }), floors <= budget {
                #expect(abs(total - budget) < 1e-6 * budget + 1e-6)
            }
        }
    }
}

@Suite("CFS weights: the kubelet's conversion")
struct CPUWeightTests {
    @Test("millicores to shares as MilliCPUToShares does, clamped to the kernel's range")
    func conversion() {
        #expect(CPUWeight(millicores: 1000).shares == 1024)
        #expect(CPUWeight(millicores: 200).shares == 205)
        #expect(CPUWeight(millicores: 0).shares == 2)
        #expect(CPUWeight(millicores: 1e9).shares == 262_144)
        #expect(abs(CPUWeight(shares: 1434).millicores - 1400) < 1)
    }
}
