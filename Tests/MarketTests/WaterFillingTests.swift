import Testing
@testable import Market

@Suite("Water-filling: hand-computed cases")
struct WaterFillingHandTests {
    @Test("two pods share in proportion to their bids")
    func proportional() throws {
        // max log x₁ + 3·log x₂ s.t. x₁ + x₂ ≤ 1000 → x = w/λ with Σw/λ = 1000, λ = 4/1000.
        let problem = AllocationProblem(capacity: 1000, pods: [
            MarketPod(name: "a", bid: 1, floor: 0, cap: 1000),
            MarketPod(name: "b", bid: 3, floor: 0, cap: 1000),
        ])
        let result = try WaterFilling.solve(problem)
        #expect(abs(result.millicores[0] - 250) < 1e-9)
        #expect(abs(result.millicores[1] - 750) < 1e-9)
        #expect(abs(result.shadowPrice - 0.004) < 1e-15)
        #expect(result.overcommit == .none)
    }

    @Test("a capped pod leaves its share to the others")
    func capBinds() throws {
        // Bids 1, 1, 2 on 1000: pod a would get 250 but its cap is 100; the remaining 900 go 1:2.
        let problem = AllocationProblem(capacity: 1000, pods: [
            MarketPod(name: "a", bid: 1, floor: 0, cap: 100),
            MarketPod(name: "b", bid: 1, floor: 0, cap: 1000),
            MarketPod(name: "c", bid: 2, floor: 0, cap: 1000),
        ])
        let result = try WaterFilling.solve(problem)
        #expect(abs(result.millicores[0] - 100) < 1e-9)
        #expect(abs(result.millicores[1] - 300) < 1e-9)
        #expect(abs(result.millicores[2] - 600) < 1e-9)
        #expect(abs(result.shadowPrice - 1.0 / 300) < 1e-15)
    }

    @Test("a floor lifts a low bidder and the rest is shared")
    func floorBinds() throws {
        // Bids 1, 9 on 1000 would give 100/900, but pod a's floor is 200: b gets 800, λ = 9/800,
        // and a's unconstrained wish 1/λ = 88.9 is below its floor.
        let problem = AllocationProblem(capacity: 1000, pods: [
            MarketPod(name: "a", bid: 1, floor: 200, cap: 1000),
            MarketPod(name: "b", bid: 9, floor: 0, cap: 1000),
        ])
        let result = try WaterFilling.solve(problem)
        #expect(abs(result.millicores[0] - 200) < 1e-9)
        #expect(abs(result.millicores[1] - 800) < 1e-9)
        #expect(abs(result.shadowPrice - 9.0 / 800) < 1e-15)
    }

    @Test("baselines: equal bids split the surplus above the disagreement points equally")
    func nashBargaining() throws {
        // d = 100 and 300, B = 1000: surplus 600 split equally → 400 and 600, λ = 1/300.
        let problem = AllocationProblem(capacity: 1000, pods: [
            MarketPod(name: "a", bid: 1, floor: 0, cap: 1000, baseline: 100),
            MarketPod(name: "b", bid: 1, floor: 0, cap: 1000, baseline: 300),
        ])
        let result = try WaterFilling.solve(problem)
        #expect(abs(result.millicores[0] - 400) < 1e-9)
        #expect(abs(result.millicores[1] - 600) < 1e-9)
        #expect(abs(result.shadowPrice - 1.0 / 300) < 1e-15)
    }

    @Test("the reserve is kept out of the market")
    func reserve() throws {
        let problem = AllocationProblem(capacity: 1200, reserve: 200, pods: [
            MarketPod(name: "a", bid: 1, floor: 0, cap: 2000),
            MarketPod(name: "b", bid: 1, floor: 0, cap: 2000),
        ])
        let result = try WaterFilling.solve(problem)
        #expect(result.millicores == [500, 500])
    }

    @Test("not scarce: positive bids get their caps, zero bids their floors, price 0")
    func notScarce() throws {
        let problem = AllocationProblem(capacity: 4000, pods: [
            MarketPod(name: "a", bid: 2, floor: 100, cap: 1500),
            MarketPod(name: "b", bid: 0, floor: 250, cap: 1500, baseline: 50),
            MarketPod(name: "c", bid: 1, floor: 0, cap: 800),
        ])
        let result = try WaterFilling.solve(problem)
        #expect(result.millicores == [1500, 250, 800])
        #expect(result.shadowPrice == 0)
        #expect(!result.isScarce)
    }

    @Test("no pods: empty allocation, price 0")
    func empty() throws {
        let result = try WaterFilling.solve(AllocationProblem(capacity: 1000, pods: []))
        #expect(result.millicores.isEmpty)
        #expect(result.shadowPrice == 0)
        #expect(!result.overcommitted)
    }

    @Test("all bids zero: everyone at its effective floor, price 0")
    func allZero() throws {
        let problem = AllocationProblem(capacity: 1000, pods: [
            MarketPod(name: "a", bid: 0, floor: 100, cap: 900),
            MarketPod(name: "b", bid: 0, floor: 50, cap: 900, baseline: 300),
        ])
        let result = try WaterFilling.solve(problem)
        #expect(result.millicores == [100, 300])
        #expect(result.shadowPrice == 0)
    }

    @Test("floors above capacity are scaled down proportionally and flagged")
    func floorsOvercommitted() throws {
        let problem = AllocationProblem(capacity: 1100, reserve: 100, pods: [
            MarketPod(name: "a", bid: 5, floor: 600, cap: 900),
            MarketPod(name: "b", bid: 1, floor: 900, cap: 900),
        ])
        let result = try WaterFilling.solve(problem)
        #expect(abs(result.millicores[0] - 400) < 1e-9) // 600 × 1000/1500
        #expect(abs(result.millicores[1] - 600) < 1e-9)
        #expect(result.overcommit == .floors)
        #expect(result.overcommitted)
        #expect(result.shadowPrice == .infinity)
    }

    @Test("floors fit but baselines do not: floors kept, baseline excess scaled alike")
    func baselinesOvercommitted() throws {
        // Floors 100 + 100 fit in 600; effective floors 500 + 300 = 800 do not. θ = 400/600.
        let problem = AllocationProblem(capacity: 600, pods: [
            MarketPod(name: "a", bid: 1, floor: 100, cap: 900, baseline: 500),
            MarketPod(name: "b", bid: 1, floor: 100, cap: 900, baseline: 300),
        ])
        let result = try WaterFilling.solve(problem)
        #expect(abs(result.millicores[0] - (100 + 400 * 400.0 / 600)) < 1e-9)
        #expect(abs(result.millicores[1] - (100 + 200 * 400.0 / 600)) < 1e-9)
        #expect(result.overcommit == .baselines)
    }

    @Test("a baseline above the floor acts as the floor")
    func baselineAboveFloor() throws {
        // a: floor 0, baseline 600 (so a gets at least 600); B = 1000, bids 1:1 → surplus 400 split
        // as x − d equal: a = 600 + s, b = 0 + s, 2s = 400.
        let problem = AllocationProblem(capacity: 1000, pods: [
            MarketPod(name: "a", bid: 1, floor: 0, cap: 1000, baseline: 600),
            MarketPod(name: "b", bid: 1, floor: 0, cap: 1000),
        ])
        let result = try WaterFilling.solve(problem)
        #expect(abs(result.millicores[0] - 800) < 1e-9)
        #expect(abs(result.millicores[1] - 200) < 1e-9)
    }

    @Test("a baseline equal to the cap pins the pod at its cap")
    func baselineAtCap() throws {
        let problem = AllocationProblem(capacity: 1000, pods: [
            MarketPod(name: "a", bid: 1, floor: 0, cap: 300, baseline: 300),
            MarketPod(name: "b", bid: 1, floor: 0, cap: 1000),
        ])
        let result = try WaterFilling.solve(problem)
        #expect(result.millicores == [300, 700])
    }
}

@Suite("Water-filling: invalid input is rejected, naming pod and field")
struct WaterFillingValidationTests {
    func error(_ problem: AllocationProblem) -> MarketError? {
        do {
            _ = try WaterFilling.solve(problem)
            return nil
        } catch {
            return error
        }
    }

    func pod(_ name: String = "web", bid: Double = 1, floor: Double = 0, cap: Double = 100,
             baseline: Double = 0) -> MarketPod {
        MarketPod(name: name, bid: bid, floor: floor, cap: cap, baseline: baseline)
    }

    @Test("cap below floor")
    func capBelowFloor() {
        let failure = error(AllocationProblem(capacity: 1000, pods: [pod("ok"), pod(floor: 200, cap: 100)]))
        #expect(failure?.code == .capBelowFloor)
        #expect(failure?.pod == "web")
        #expect(failure?.field == "cap")
        #expect(failure?.description.contains("web") == true)
    }

    @Test("baseline above cap")
    func baselineAboveCap() {
        let failure = error(AllocationProblem(capacity: 1000, pods: [pod(baseline: 150)]))
        #expect(failure?.code == .baselineAboveCap)
        #expect(failure?.pod == "web")
        #expect(failure?.field == "baseline")
    }

    @Test("NaN, infinite and negative numbers", arguments: [Double.nan, .infinity, -.infinity, -1])
    func badNumbers(value: Double) {
        let expected: MarketError.Code = value.isFinite ? .negative : .notFinite
        let cases: [(String, AllocationProblem)] = [
            ("bid", AllocationProblem(capacity: 1000, pods: [pod(bid: value)])),
            ("floor", AllocationProblem(capacity: 1000, pods: [pod(floor: value)])),
            ("cap", AllocationProblem(capacity: 1000, pods: [pod(cap: value)])),
            ("baseline", AllocationProblem(capacity: 1000, pods: [pod(baseline: value)])),
            ("capacity", AllocationProblem(capacity: value, pods: [pod()])),
            ("reserve", AllocationProblem(capacity: 1000, reserve: value, pods: [pod()])),
        ]
        for (field, problem) in cases {
            let failure = error(problem)
            #expect(failure?.code == expected, "field \(field)")
            #expect(failure?.field == field)
            if field != "capacity" && field != "reserve" { #expect(failure?.pod == "web") }
        }
    }

    @Test("reserve above capacity")
    func reserveAboveCapacity() {
        let failure = error(AllocationProblem(capacity: 100, reserve: 200, pods: [pod()]))
        #expect(failure?.code == .reserveExceedsCapacity)
        #expect(failure?.field == "reserve")
    }

    @Test("an unnamed pod is named by its index")
    func unnamed() {
        let failure = error(AllocationProblem(capacity: 100, pods: [pod(), pod("", bid: -3)]))
        #expect(failure?.pod == "pods[1]")
    }
}
