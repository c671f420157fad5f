import Testing
@testable import Market

@Suite("Demand model")
struct DemandModelTests {
    static let second: UInt64 = 1_000_000_000

    /// A window of `window` ns at `limit` millicores using `usage` of the limit and stalled `stall` of the time.
    func sample(usage: Double, stall: Double = 0, wait: Double = 0, limit: Double = 1000,
                window: UInt64 = second) -> DemandSample {
        DemandSample(throttledNanos: UInt64(stall * Double(window)), waitNanos: UInt64(wait * Double(window)),
                     runNanos: limit.isFinite && limit > 0 ? UInt64(usage * limit / 1000 * Double(window)) : 0,
                     limitMillicores: limit,
                     windowNanos: window)
    }

    @Test("first window: stall, usage, need, demand and bid follow the documented formula")
    func formula() throws {
        // 500 ms of CPU under a 1000 m limit → usage 0.5, use 500 m; throttled 500 ms (summed over
        // run queues) → denied 500 m, stall 500 / (500 + 500) = 0.5; wait 300 ms is left out;
        // need = 500 + 500 = 1000 m; demand = 1000 / cap 4000 = 0.25; bid = weight 2 × 0.25 × 4000.
        var model = try DemandModel()
        let estimate = try model.observe(
            DemandSample(throttledNanos: 500_000_000, waitNanos: 300_000_000, runNanos: 500_000_000,
                         limitMillicores: 1000, windowNanos: Self.second), cap: 4000, weight: 2)
        #expect(abs(estimate.stall - 0.5) < 1e-12)
        #expect(abs(estimate.usage - 0.5) < 1e-12)
        #expect(abs(estimate.usedMillicores - 500) < 1e-9)
        #expect(abs(estimate.needMillicores - 1000) < 1e-9)
        #expect(abs(estimate.demand - 0.25) < 1e-12)
        #expect(abs(estimate.bid - 2000) < 1e-9)
        #expect(estimate.demandChanged)
    }

    @Test("run-queue wait does not raise the need: a larger limit cannot cure it")
    func waitIsNotNeed() throws {
        var waiting = try DemandModel(), calm = try DemandModel()
        let a = try waiting.observe(sample(usage: 0.5, wait: 3), cap: 4000)  // 3 s of wait summed over threads
        let b = try calm.observe(sample(usage: 0.5), cap: 4000)
        #expect(a.needMillicores == b.needMillicores)
        #expect(a.stall == 0)
    }

    @Test("ratios saturate: usage at 1, need at the cap; throttling on several CPUs adds up")
    func saturation() throws {
        var model = try DemandModel()
        // 3 CPUs of use under a 1000 m limit (usage saturates), throttled 5.4 s summed over run
        // queues in 1 s: need = 3000 + 5400 = 8400 m, capped at 8000: demand 1.
        let estimate = try model.observe(sample(usage: 3, stall: 5.4, wait: 0.9), cap: 8000)
        #expect(abs(estimate.stall - 5.4 / 8.4) < 1e-12)
        #expect(estimate.usage == 1)
        #expect(estimate.needMillicores == 8000)
        #expect(estimate.demand == 1)
    }

    @Test("a pod that uses its whole limit and stalls bids more than one that only uses it, and that more than an idle one")
    func bidOrdering() throws {
        var stalling = try DemandModel()
        var busy = try DemandModel()
        var idle = try DemandModel()
        let a = try stalling.observe(sample(usage: 1, stall: 0.6), cap: 4000)
        let b = try busy.observe(sample(usage: 1), cap: 4000)
        let c = try idle.observe(sample(usage: 0.05), cap: 4000)
        #expect(a.bid > b.bid)
        #expect(b.bid > c.bid)
        #expect(c.bid > 0)
    }

    @Test("EMA: after one half-life a step has moved the smoothed value half-way")
    func halfLife() throws {
        var model = try DemandModel(config: DemandConfig(halfLife: .seconds(3), deadband: 0, rejectsOutliers: false))
        _ = try model.observe(sample(usage: 0), cap: 4000)
        var estimate = try model.observe(sample(usage: 1), cap: 4000)
        estimate = try model.observe(sample(usage: 1), cap: 4000)
        estimate = try model.observe(sample(usage: 1), cap: 4000)
        #expect(abs(estimate.usage - 0.5) < 1e-12)
    }

    @Test("windows weigh by their length: two half windows smooth like one full window")
    func windowLength() throws {
        let config = DemandConfig(halfLife: .seconds(2), deadband: 0, rejectsOutliers: false)
        var halves = try DemandModel(config: config)
        var whole = try DemandModel(config: config)
        _ = try halves.observe(sample(usage: 0), cap: 4000)
        _ = try whole.observe(sample(usage: 0), cap: 4000)
        _ = try halves.observe(sample(usage: 1, window: Self.second / 2), cap: 4000)
        let a = try halves.observe(sample(usage: 1, window: Self.second / 2), cap: 4000)
        let b = try whole.observe(sample(usage: 1), cap: 4000)
        #expect(abs(a.usage - b.usage) < 1e-12)
    }

    @Test("one noisy window, however large, changes nothing")
    func singleOutlier() throws {
        var model = try DemandModel()
        var before: DemandEstimate?
        for _ in 0..<10 { before = try model.observe(sample(usage: 0.5, stall: 0.1), cap: 4000) }
        let spike = try model.observe(sample(usage: 1, stall: 1, wait: 1), cap: 4000)
        #expect(spike.demand == before?.demand)
        #expect(spike.bid == before?.bid)
        #expect(!spike.demandChanged)
        #expect(spike.windowStall == 0.5) // the raw window is still reported: 1 s throttled of 2 s asked
        for _ in 0..<5 {
            let after = try model.observe(sample(usage: 0.5, stall: 0.1), cap: 4000)
            #expect(after.demand == before?.demand)
            #expect(!after.demandChanged)
        }
    }

    @Test("the deadband alone absorbs small noise")
    func deadband() throws {
        var model = try DemandModel(config: DemandConfig(deadband: 0.05, rejectsOutliers: false))
        let first = try model.observe(sample(usage: 0.5), cap: 4000)
        for index in 0..<30 {
            let estimate = try model.observe(sample(usage: index % 2 == 0 ? 0.55 : 0.45), cap: 4000)
            #expect(estimate.demand == first.demand)
        }
    }

    @Test("a sustained step passes through within three windows and settles near the new level")
    func sustainedStep() throws {
        var model = try DemandModel()
        var estimate = try model.observe(sample(usage: 0.2), cap: 4000)
        for _ in 0..<9 { estimate = try model.observe(sample(usage: 0.2), cap: 4000) }
        let old = estimate.demand
        var changedAt: Int?
        for window in 1...30 {
            estimate = try model.observe(sample(usage: 1), cap: 4000)
            if changedAt == nil, estimate.demand != old { changedAt = window }
        }
        // Median of three needs two windows of the new level; the EMA then moves the demand from
        // 0.05 by 0.2 × (1 − 2^(−1/3)) ≈ 0.04, beyond the deadband 0.05 × 0.05, in one window.
        #expect((changedAt ?? 99) <= 3)
        // Final demand within the deadband of the new level's demand: need 1000 m of cap 4000.
        #expect(abs(estimate.demand - 0.25) <= DemandConfig().deadband * 0.25)
    }

    @Test("invalid samples are rejected naming the field, and leave the model unchanged")
    func invalidSamples() throws {
        var model = try DemandModel()
        let cases: [(DemandSample, Double, String)] = [
            (sample(usage: 0.5, limit: 0), 1, "limitMillicores"),
            (sample(usage: 0.5, limit: .nan), 1, "limitMillicores"),
            (sample(usage: 0.5, limit: -5), 1, "limitMillicores"),
            (DemandSample(throttledNanos: 0, waitNanos: 0, runNanos: 0, limitMillicores: 100, windowNanos: 0), 1, "windowNanos"),
            (sample(usage: 0.5), -1, "weight"),
            (sample(usage: 0.5), .infinity, "weight"),
        ]
        #expect(throws: MarketError.self) { try model.observe(sample(usage: 0.5), cap: 0) }
        for (bad, weight, field) in cases {
            #expect(throws: MarketError.self) { try model.observe(bad, cap: 4000, weight: weight) }
            do {
                _ = try model.observe(bad, cap: 4000, weight: weight)
            } catch {
                #expect(error.field == field)
            }
        }
        #expect(model.estimate == nil)
    }

    @Test("invalid configurations are rejected naming the field")
    func invalidConfig() {
        let cases: [(DemandConfig, String)] = [
            (DemandConfig(halfLife: .zero), "halfLife"),
            (DemandConfig(halfLife: .seconds(-1)), "halfLife"),
            (DemandConfig(deadband: 1), "deadband"),
        ]
        for (config, field) in cases {
            do {
                _ = try DemandModel(config: config)
                Issue.record("accepted invalid \(field)")
            } catch {
                #expect(error.field == field)
                #expect(error.code == .invalidConfiguration)
            }
        }
    }
}
