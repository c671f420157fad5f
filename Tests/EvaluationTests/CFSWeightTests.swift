import Market
import Testing
@testable import Evaluation

/// The weighted-fair part of the CFS model: contended CPU divided by weight, what a pod does not
/// want going to the others, a cap (quota) that binds throttling per period, and weight writes.
@Suite("CFS model: weights, leftovers and caps")
struct CFSWeightTests {
    let ms = Double(SimTime.millisecond)

    @Test("weights 1 : 3 under contention on a 2-CPU budget: 0.5 and 1.5 CPUs, from the moment they are written")
    func weightedSplit() throws {
        // Both want 2 CPUs for 2 s at equal weights (1 CPU each); at 1 s the weights become 1 : 3.
        var cfs = try node(try constantTrace([2, 2], seconds: 2), capacity: 2000, pods: [(2, nil), (2, nil)])
        _ = cfs.run(until: SimTime.second)
        #expect(abs(cfs.counters(of: 0).usageNanos - 1e9) < 1)
        cfs.setWeight(0, to: 256)
        cfs.setWeight(1, to: 768)
        #expect(cfs.weight(of: 1) == 768)
        _ = cfs.run(until: 2 * SimTime.second)
        #expect(abs(cfs.counters(of: 0).usageNanos - 1.5e9) < 1)
        #expect(abs(cfs.counters(of: 1).usageNanos - 2.5e9) < 1)
        #expect(cfs.counters(of: 0).throttledNanos == 0 && cfs.counters(of: 1).throttledNanos == 0)
    }

    @Test("a pod capped by its demand gives its leftover to the other, whatever the weights")
    func leftover() throws {
        // Weights 3 : 1 on 2 CPUs would give 1.5 : 0.5; pod 0 wants only 0.5, so pod 1 runs 1.5.
        var cfs = try node(try constantTrace([0.5, 4], seconds: 1), capacity: 2000, pods: [(4, nil), (4, nil)],
                           weights: [3, 1])
        _ = cfs.run(until: SimTime.second)
        #expect(abs(cfs.counters(of: 0).usageNanos - 0.5e9) < 1)
        #expect(abs(cfs.counters(of: 1).usageNanos - 1.5e9) < 1)
        #expect(cfs.counters(of: 0).waitNanos == 0)
        #expect(abs(cfs.counters(of: 1).waitNanos - 2.5e9) < 1) // wants 4 threads, runs 1.5
    }

    @Test("a cap binds before the weight: the pod throttles once its quota is gone and the other takes the rest")
    func capThrottles() throws {
        // Weights 10 : 1 on 2 CPUs, both wanting 2: pod 0 runs 20/11 CPUs until its 500 m quota
        // (50 ms of CPU) is gone at 27.5 ms, is throttled for the 72.5 ms left, and pod 1 runs both
        // CPUs meanwhile: 0.5 and 1.5 CPUs, the node fully used.
        var cfs = try node(try constantTrace([2, 2], seconds: 1), capacity: 2000, pods: [(2, 500), (2, nil)],
                           weights: [10, 1])
        let signals = cfs.run(until: SimTime.second)
        #expect(abs(cfs.counters(of: 0).usageNanos - 0.5e9) < 10)
        #expect(abs(cfs.counters(of: 1).usageNanos - 1.5e9) < 10)
        #expect(abs(cfs.counters(of: 0).throttledNanos - 10 * 72.5 * ms) < 20)
        #expect(cfs.counters(of: 0).throttleCount == 10)
        #expect(signals.filter { if case .throttled = $0 { true } else { false } }.count == 10)
    }

    @Test("CFS burst: quota left unused is banked up to one burst, so a burst after an idle period runs longer")
    func burst() throws {
        // 500 m with 500 m of burst: idle for the first period (50 ms of quota banked), then 2 CPUs.
        // The second period starts with 100 ms of CPU: used up at 2 CPUs 50 ms in, throttled for
        // 50 ms (without burst: 25 ms in, 75 ms). The third period has only its own 50 ms again.
        let steps = (0..<30).map { $0 < 10 ? 0.0 : 2.0 }
        let trace = try DemandTrace(pods: ["p0"], resolution: 10 * SimTime.millisecond, cpus: [steps])
        var banked = try CFSNode(capacity: 4000, pods: [CFSPodConfig(weight: 1, threads: 2, limit: 500, burst: 500)], trace: trace)
        _ = banked.run(until: 200 * SimTime.millisecond)
        #expect(abs(banked.counters(of: 0).usageNanos - 100 * ms) < 1)
        #expect(abs(banked.counters(of: 0).throttledNanos - 50 * ms) < 1)
        _ = banked.run(until: 300 * SimTime.millisecond)
        #expect(abs(banked.counters(of: 0).usageNanos - 150 * ms) < 1)
        var plain = try node(trace, pods: [(2, 500)])
        _ = plain.run(until: 200 * SimTime.millisecond)
        #expect(abs(plain.counters(of: 0).throttledNanos - 75 * ms) < 1)
    }

    @Test("switch-ins grow by CPU used / slice")
    func switches() throws {
        let trace = try constantTrace([1, 1], seconds: 1)
        var cfs = try CFSNode(capacity: 4000, pods: [CFSPodConfig(weight: 1, threads: 2, limit: nil, slice: 0.25 * ms),
                                                     CFSPodConfig(weight: 1, threads: 2, limit: nil)], trace: trace)
        _ = cfs.run(until: SimTime.second)
        #expect(abs(cfs.counters(of: 0).switches - 4000) < 1e-6)
        #expect(abs(cfs.counters(of: 1).switches - 1e9 / CFSNode.defaultSlice) < 1e-6)
    }

    @Test("a budget on the parent: the pods together never use more than capacity − reserve")
    func budgetOnParent() throws {
        // Four pods wanting 2 CPUs each on a 4-CPU node with a 100 m reserve: 3.9 CPUs in all.
        let scenario = try scenario(try constantTrace([2, 2, 2, 2], seconds: 5), reserve: 100)
        let result = try Simulator.run(scenario, policy: FairSharePolicy(scenario: scenario),
                                       options: SimulationOptions(recordsSeries: true))
        #expect(abs(result.metrics.usedCPUSeconds - 3.9 * 5) < 1e-6)
        #expect(result.metrics.throttledSeconds == 0)
        for second in 0..<5 {
            let used = result.series.filter { $0.second == second }.map(\.used).reduce(0, +)
            #expect(abs(used - 3.9) < 1e-6, "second \(second)")
        }
    }
}
