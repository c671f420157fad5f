import Testing
@testable import Market

/// Windows shaped like what the probe counts for real programs on this machine (2 CPUs, HZ 250):
/// a saturated nginx and a stress-ng hog both run ~2–3 ms slices under contention; nginx goes quiet
/// between bursts, the hog never does; a lightly loaded server runs slices of tens of µs.
enum Windows {
    static let tenth: UInt64 = 100_000_000 // 100 ms windows

    /// A hog with `threads` always-runnable threads getting `cpus` CPUs.
    static func hog(threads: Double = 2, cpus: Double = 0.8) -> SchedulerWindow {
        let run = UInt64(cpus * Double(tenth)), wanted = UInt64(threads * Double(tenth))
        return SchedulerWindow(runNanos: run, waitNanos: wanted - run, throttledNanos: 0,
                               switches: max(1, run / 2_500_000), windowNanos: tenth)
    }

    /// A saturated server: preempted like a hog, 2 ms slices.
    static func burst(cpus: Double = 0.8) -> SchedulerWindow {
        let run = UInt64(cpus * Double(tenth))
        return SchedulerWindow(runNanos: run, waitNanos: 2 * tenth - run, throttledNanos: 0,
                               switches: run / 2_000_000, windowNanos: tenth)
    }

    static let asleep = SchedulerWindow(runNanos: 0, waitNanos: 0, throttledNanos: 0, switches: 0, windowNanos: tenth)

    /// A server at light load: 150 m in slices of 40 µs.
    static let lightServer = SchedulerWindow(runNanos: 15_000_000, waitNanos: 1_000_000, throttledNanos: 0,
                                             switches: 375, windowNanos: tenth)
}

@Suite("Class learner: servers and batch told apart from the scheduler alone")
struct ClassLearnerTests {
    @Test("a bursty server becomes latency-sensitive after its first idle gap, and stays so through its bursts")
    func burstyServer() throws {
        var learner = try ClassLearner()
        for _ in 0..<20 { learner.observe(Windows.burst()) }        // 2 s burst
        #expect(learner.learned == .batch, "no evidence yet: a burst alone looks like a hog")
        for _ in 0..<20 { learner.observe(Windows.asleep) }         // 2 s idle
        #expect(learner.learned == .latency)
        for _ in 0..<6 {
            for _ in 0..<20 { learner.observe(Windows.burst()) }
            #expect(learner.learned == .latency, "score \(learner.evidence.score)")
            for _ in 0..<20 { learner.observe(Windows.asleep) }
        }
        #expect(learner.evidence.peakMillicores > 1500)
    }

    @Test("an always-runnable hog stays batch")
    func hog() throws {
        var learner = try ClassLearner()
        for _ in 0..<600 { learner.observe(Windows.hog()) }
        #expect(learner.learned == .batch)
        #expect(learner.evidence.score == 0)
    }

    @Test("a lightly loaded server with brief slices is latency-sensitive without ever sleeping for long")
    func briefSlices() throws {
        var learner = try ClassLearner()
        for _ in 0..<10 { learner.observe(Windows.lightServer) }
        #expect(learner.learned == .latency)
        #expect(learner.evidence.meanSliceNanos.map { $0 < 100_000 } == true)
    }

    @Test("an idle pod that never ran is no evidence of anything")
    func idle() throws {
        var learner = try ClassLearner()
        for _ in 0..<100 { learner.observe(Windows.asleep) }
        #expect(learner.learned == .batch)
        #expect(learner.evidence.score == 0)
    }

    @Test("a server that turns into a hog goes back to batch, but only after the slow half-life (hysteresis)")
    func hysteresis() throws {
        var learner = try ClassLearner()
        for _ in 0..<5 {
            for _ in 0..<20 { learner.observe(Windows.burst()) }
            for _ in 0..<20 { learner.observe(Windows.asleep) }
        }
        #expect(learner.learned == .latency)
        for _ in 0..<100 { learner.observe(Windows.hog()) }         // 10 s
        #expect(learner.learned == .latency, "one long burst must not unmake a server")
        for _ in 0..<1200 { learner.observe(Windows.hog()) }        // 2 more minutes
        #expect(learner.learned == .batch)
    }

    @Test("invalid settings are refused with the field named")
    func invalid() {
        #expect(throws: MarketError.self) { try ClassLearner(config: ClassLearnerConfig(latencyAbove: 0.1, batchBelow: 0.2)) }
        #expect(throws: MarketError.self) { try ClassLearner(config: ClassLearnerConfig(sleepFraction: 0)) }
        #expect(throws: MarketError.self) { try ClassLearner(config: ClassLearnerConfig(riseHalfLife: .zero)) }
    }
}
