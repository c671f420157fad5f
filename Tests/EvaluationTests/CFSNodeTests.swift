import Market
import Testing
@testable import Evaluation

/// The CFS bandwidth model against cases worked out by hand. Times are exact to the nanosecond up
/// to the rounding of a quota-exhaustion time up to a whole nanosecond (≤ 1 ns per period).
@Suite("CFS bandwidth model: hand-computed cases")
struct CFSNodeTests {
    let ms = Double(SimTime.millisecond)

    @Test("1.5 CPUs of demand under a 500 m quota for 10 periods: runs 50 ms of CPU and is throttled 66.7 ms per period")
    func overQuota() throws {
        // Quota 0.5 × 100 ms = 50 ms of CPU per period, used at 1.5 CPUs: gone after 33.33 ms,
        // throttled for the 66.67 ms left. Unmet work: 1.5 × 100 − 50 = 100 ms of CPU per period.
        var cfs = try node(try constantTrace([1.5], seconds: 1), pods: [(1.5, 500)])
        let signals = cfs.run(until: SimTime.second)
        let counters = cfs.counters(of: 0)
        #expect(abs(counters.usageNanos - 500 * ms) < 1)
        #expect(abs(counters.throttledNanos - 10 * (100 - 100.0 / 3) * ms) < 10)
        #expect(counters.throttleCount == 10)
        #expect(abs(cfs.backlog(of: 0) - 1000 * ms) < 10)
        #expect(signals == (0..<10).map { .throttled(pod: 0, at: $0 * 100 * SimTime.millisecond + 33_333_334) })
        // The latency model: 1 s of CPU queued, drained at the limit's 0.5 CPUs: 2 s.
        #expect(abs(cfs.latency(of: 0) - 2e9) < 100)
    }

    @Test("quota exhausted mid-period: throttled for the remainder of that period only")
    func midPeriod() throws {
        // 10 ms steps: idle for 20 ms, then 3 CPUs. A 1-CPU quota (100 ms of CPU) lasts 33.33 ms at
        // 3 CPUs: throttled from 53.33 ms to the period's end at 100 ms, then refilled.
        let steps = (0..<20).map { $0 < 2 ? 0.0 : 3.0 }
        let trace = try DemandTrace(pods: ["p0"], resolution: 10 * SimTime.millisecond, cpus: [steps])
        var cfs = try node(trace, pods: [(3, 1000)])
        let signals = cfs.run(until: 100 * SimTime.millisecond)
        #expect(signals == [.throttled(pod: 0, at: 53_333_334)])
        #expect(abs(cfs.counters(of: 0).throttledNanos - 46_666_666) < 1)
        #expect(abs(cfs.counters(of: 0).usageNanos - 100 * ms) < 1)
        #expect(!cfs.isThrottled(0))
        #expect(cfs.runtimeLeft(of: 0) == 100 * ms)
    }

    @Test("no limit: never throttled, runs its whole demand")
    func unlimited() throws {
        var cfs = try node(try constantTrace([3], seconds: 2), pods: [(4, nil)])
        let signals = cfs.run(until: 2 * SimTime.second)
        #expect(signals.isEmpty)
        #expect(cfs.counters(of: 0).throttledNanos == 0)
        #expect(cfs.counters(of: 0).throttleCount == 0)
        #expect(abs(cfs.counters(of: 0).usageNanos - 6e9) < 1)
        #expect(cfs.backlog(of: 0) == 0)
    }

    @Test("demand below the quota: no throttling, no queue")
    func underQuota() throws {
        var cfs = try node(try constantTrace([0.4], seconds: 2), pods: [(4, 500)])
        let signals = cfs.run(until: 2 * SimTime.second)
        #expect(signals.isEmpty)
        #expect(cfs.counters(of: 0).throttledNanos == 0)
        #expect(abs(cfs.counters(of: 0).usageNanos - 0.8e9) < 1)
        #expect(cfs.backlog(of: 0) == 0)
        #expect(cfs.latency(of: 0) == 0)
    }

    @Test("writing a limit mid-period refills the quota to the new limit's and unthrottles at once")
    func limitWrite() throws {
        // 2 CPUs under 500 m: 50 ms of CPU gone at 25 ms. At 50 ms the limit becomes 1000 m: a fresh
        // 100 ms of CPU, used at 2 CPUs by 100 ms, the period's end (a refill, not a throttle).
        var cfs = try node(try constantTrace([2], seconds: 1), pods: [(2, 500)])
        _ = cfs.run(until: 50 * SimTime.millisecond)
        #expect(cfs.isThrottled(0))
        cfs.setLimit(0, to: 1000)
        #expect(!cfs.isThrottled(0))
        #expect(cfs.runtimeLeft(of: 0) == 100 * ms)
        let signals = cfs.run(until: 100 * SimTime.millisecond)
        #expect(signals.isEmpty)
        #expect(abs(cfs.counters(of: 0).throttledNanos - 25 * ms) < 1)
        #expect(abs(cfs.counters(of: 0).usageNanos - 150 * ms) < 1)
        #expect(cfs.counters(of: 0).throttleCount == 1)
    }

    @Test("node contention: CPUs split by weight, the shortfall is run-queue wait, pushed past 5 ms")
    func contention() throws {
        // Two unlimited pods wanting 3 CPUs each on 4 CPUs, weights 1 : 3 → 1 and 3 CPUs. The first
        // waits 2 thread-seconds per second; its wait passes 5 ms 2.5 ms into each period.
        var cfs = try node(try constantTrace([3, 3], seconds: 1), pods: [(3, nil), (3, nil)], weights: [1, 3])
        let signals = cfs.run(until: SimTime.second)
        #expect(abs(cfs.counters(of: 0).usageNanos - 1e9) < 1)
        #expect(abs(cfs.counters(of: 1).usageNanos - 3e9) < 1)
        #expect(abs(cfs.counters(of: 0).waitNanos - 2e9) < 1)
        #expect(cfs.counters(of: 1).waitNanos == 0)
        #expect(signals == (0..<10).map { .waiting(pod: 0, at: $0 * 100 * SimTime.millisecond + 2_500_000) })
    }

    @Test("a queue drains at the pod's threads once the limit allows, then it runs its arrivals")
    func drain() throws {
        // 1 s at 1.5 CPUs under 500 m queues 1 s of CPU. Then the limit goes and the pod runs its 2
        // threads: the queue drains at 2 − 1.5 = 0.5 CPUs, in 2 s.
        var cfs = try node(try constantTrace([1.5], seconds: 4), pods: [(2, 500)])
        _ = cfs.run(until: SimTime.second)
        cfs.setLimit(0, to: nil)
        _ = cfs.run(until: 2 * SimTime.second)
        #expect(abs(cfs.backlog(of: 0) - 0.5e9) < 10)
        _ = cfs.run(until: 4 * SimTime.second)
        #expect(cfs.backlog(of: 0) == 0)
        #expect(abs(cfs.counters(of: 0).usageNanos - 6e9) < 10)
    }

    @Test("work is conserved: used + queued = offered, whatever the limits", arguments: [UInt64(1), 2, 3])
    func conservation(seed: UInt64) throws {
        let trace = try TraceGenerator.generate(.bursty, pods: 3, duration: 5 * SimTime.second, seed: seed).trace
        var cfs = try node(trace, capacity: 2000, pods: [(4, 300), (2, 700), (1, nil)])
        var random = SplitMix64(seed: seed)
        while cfs.time < trace.duration {
            _ = cfs.advance(until: min(trace.duration, cfs.time + Int(random.next() % 30_000_000) + 1))
            if random.next() % 4 == 0 { cfs.setLimit(Int(random.next() % 2), to: 100 + Int(random.next() % 2000)) }
        }
        for pod in 0..<3 {
            let offered = cfs.ledger(of: pod).offeredNanos
            let accounted = cfs.counters(of: pod).usageNanos + cfs.backlog(of: pod)
            #expect(abs(offered - accounted) <= 1e-6 * offered + 1, "pod \(pod)")
        }
    }
}
