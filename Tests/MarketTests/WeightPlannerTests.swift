import QoS
import Testing
@testable import Market

@Suite("Weight planner: weights from windows, written only when they move")
struct WeightPlannerTests {
    func input(_ slot: Int, _ name: String, floor: Int = 200, cap: Int = 1600, qos: QoSClass = .burstable,
               declared: LatencyClass? = nil, window: SchedulerWindow?, current: Int?) -> PlannerInput {
        PlannerInput(slot: PodSlot(slot), name: name, floor: floor, cap: cap, qos: qos, declaredClass: declared,
                     window: window, currentWeight: current.map { CPUWeight(shares: $0) })
    }

    /// Runs rounds, feeding back the written weights as the ones in force; returns the writes per pod.
    func run(_ planner: inout WeightPlanner, rounds: Int, windows: [SchedulerWindow?], weights: inout [Int?],
             declared: [LatencyClass?]? = nil, qos: [QoSClass]? = nil) throws -> (writes: [Int], last: PlanningRound) {
        var writes = [Int](repeating: 0, count: windows.count)
        var last: PlanningRound?
        for _ in 0..<rounds {
            let inputs = windows.indices.map { i in
                input(i, "p\(i)", qos: qos?[i] ?? .burstable, declared: declared?[i], window: windows[i], current: weights[i])
            }
            let round = try planner.round(inputs, budget: 1600)
            for (i, plan) in round.plans.enumerated() where plan.write {
                writes[i] += 1
                weights[i] = plan.target.shares
            }
            last = round
        }
        return (writes, last!)
    }

    @Test("windows observed between rounds teach the learner as rounds would: a server seen in 100 ms windows is learned, and the next round plans from it")
    func observedBetweenRounds() throws {
        var planner = try WeightPlanner()
        var weights: [Int?] = [1024, 1024]
        _ = try run(&planner, rounds: 1, windows: [nil, nil], weights: &weights)
        // Two bursts with an idle gap, seen only by observation ticks; a round every 2 s would have
        // averaged each burst with its gap.
        for _ in 0..<2 {
            for _ in 0..<20 { planner.observe(PodSlot(0), window: Windows.burst()); planner.observe(PodSlot(1), window: Windows.hog()) }
            for _ in 0..<20 { planner.observe(PodSlot(0), window: Windows.asleep); planner.observe(PodSlot(1), window: Windows.hog()) }
        }
        #expect(planner.learnedClass(of: PodSlot(0)) == .latency)
        #expect(planner.learnedClass(of: PodSlot(1)) == .batch)
        let tiny = SchedulerWindow(runNanos: 0, waitNanos: 0, throttledNanos: 0, switches: 0, windowNanos: 2_000_000)
        let (_, round) = try run(&planner, rounds: 1, windows: [tiny, Windows.hog()], weights: &weights)
        #expect(round.plans[0].latencyClass == .latency)
        #expect(round.plans[0].shareMillicores > 3 * round.plans[1].shareMillicores, "\(round.plans.map(\.shareMillicores))")
    }

    @Test("idle pods get one write each, however many rounds pass")
    func idleOneWrite() throws {
        var planner = try WeightPlanner()
        var weights: [Int?] = Array(repeating: 1024, count: 150)
        let (writes, _) = try run(&planner, rounds: 50, windows: Array(repeating: Windows.asleep, count: 150), weights: &weights)
        #expect(writes.allSatisfy { $0 == 1 }, "\(Set(writes))")
    }

    @Test("a declared server beside a hog: the server's weight is its demand, the hog keeps its floor's weight")
    func declaredClass() throws {
        var planner = try WeightPlanner()
        var weights: [Int?] = [1024, 1024]
        let (_, round) = try run(&planner, rounds: 5, windows: [Windows.burst(), Windows.hog()], weights: &weights,
                                 declared: [.latency, nil])
        #expect(round.plans[0].latencyClass == .latency && round.plans[0].declared)
        #expect(round.plans[1].latencyClass == .batch && !round.plans[1].declared)
        #expect(weights[0] == CPUWeight(millicores: 1400).shares)
        #expect(weights[1] == CPUWeight(millicores: 200).shares)
    }

    @Test("no time lock: when contended demand moves from one pod to the other, the weights follow within a second")
    func noCooldown() throws {
        var planner = try WeightPlanner()
        var weights: [Int?] = [nil, nil]
        let light = Windows.hog(threads: 0.3, cpus: 0.3)
        _ = try run(&planner, rounds: 20, windows: [Windows.hog(), light], weights: &weights)
        let before = weights
        _ = try run(&planner, rounds: 10, windows: [light, Windows.hog()], weights: &weights)
        #expect(planner.learnedClass(of: PodSlot(0)) == .batch && planner.learnedClass(of: PodSlot(1)) == .batch)
        #expect(weights[1]! > before[1]!, "the newly busy pod's weight did not rise: \(before) → \(weights)")
        #expect(weights[0]! < before[0]!, "the now idle pod's weight did not fall: \(before) → \(weights)")
    }

    @Test("a server's weight stays at its peak while it sleeps between bursts: no writes, no reversals")
    func serverHoldsItsWeight() throws {
        var planner = try WeightPlanner()
        var weights: [Int?] = [nil, nil]
        var total = [0, 0]
        var reversals = 0
        for cycle in 0..<6 {
            for phase in [Windows.burst(), Windows.asleep] {
                let inputs = (0..<2).map { i in input(i, "p\(i)", window: i == 0 ? phase : Windows.hog(), current: weights[i]) }
                for _ in 0..<20 {
                    let round = try planner.round(inputs.enumerated().map { i, x in
                        var x = x
                        x.currentWeight = weights[i].map { CPUWeight(shares: $0) }
                        return x
                    }, budget: 1600)
                    for (i, plan) in round.plans.enumerated() where plan.write {
                        if cycle >= 2 { total[i] += 1 }
                        if plan.reversesDirection { reversals += 1 }
                        weights[i] = plan.target.shares
                    }
                }
            }
        }
        #expect(planner.learnedClass(of: PodSlot(0)) == .latency)
        #expect(total == [0, 0], "writes after the class was learned: \(total)")
        #expect(reversals <= 2)
    }

    @Test("Guaranteed pods are never written")
    func guaranteed() throws {
        var planner = try WeightPlanner()
        var weights: [Int?] = [nil, 1024]
        let (writes, _) = try run(&planner, rounds: 5, windows: [Windows.hog(), Windows.hog()], weights: &weights,
                                  qos: [.guaranteed, .burstable])
        #expect(writes[0] == 0)
        #expect(weights[0] == nil)
    }
}
