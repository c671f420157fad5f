import Market
import Testing
@testable import Evaluation

/// The FIFO queueing delay against cases worked out by hand.
@Suite("Queue delay: FIFO, exact at the breakpoints")
struct QueueDelayTests {
    let ms = SimTime.millisecond

    @Test("no queue: no delay")
    func noQueue() {
        var delay = QueueDelay(seconds: 1)
        for step in 1...10 { delay.observe(time: step * 100 * ms, offered: Double(step) * 50e6, used: Double(step) * 50e6) }
        #expect(delay.peaks == [0])
    }

    @Test("a burst served at half its rate: the last work of the burst waits as long as the burst")
    func burst() {
        // 0-100 ms: 2 CPUs offered, 1 CPU run (200 ms of CPU offered, 100 run); 100-200 ms: nothing
        // offered, 1 CPU run, the queue empties at 200 ms. Work offered at 100 ms is done at 200 ms.
        var delay = QueueDelay(seconds: 1)
        delay.observe(time: 100 * ms, offered: 200e6, used: 100e6)
        delay.observe(time: 200 * ms, offered: 200e6, used: 200e6)
        #expect(abs(delay.peaks[0] - 100e6) < 1)
    }

    @Test("an interior peak: work finished at a throttle's start waits the whole throttle")
    func interior() {
        // 0.5 CPUs offered throughout, run as they come until 40 ms (U = A = 20 ms of CPU), then
        // throttled until 100 ms (U flat), then 1 CPU until the queue is gone at 160 ms. Work offered
        // at 40 ms is done at once; work offered just after waits until 100 ms: 60 ms, the peak,
        // booked at 100 ms, where U leaves its flat part (40 ms is a breakpoint of A with no delay).
        var delay = QueueDelay(seconds: 1)
        delay.observe(time: 40 * ms, offered: 20e6, used: 20e6)
        delay.observe(time: 100 * ms, offered: 50e6, used: 20e6)
        delay.observe(time: 160 * ms, offered: 80e6, used: 80e6)
        #expect(abs(delay.peaks[0] - 60e6) < 1)
    }

    @Test("work still queued at the end counts its wait so far, booked to the second it arrived in")
    func unfinished() {
        var delay = QueueDelay(seconds: 3)
        delay.observe(time: 1500 * ms, offered: 1e9, used: 0)
        delay.finish(at: 2500 * ms)
        // Nothing ran: the work offered at 0 has waited 2.5 s, the work offered at 1.5 s 1 s.
        #expect(delay.peaks == [2500e6, 1000e6, 0])
    }
}

/// The exact peaks against the delay sampled every millisecond on a bursty run with random limits.
@Suite("Queue delay: against brute force")
struct QueueDelayBruteForceTests {
    @Test("peaks per second match the sampled delay within the sampling step", arguments: [UInt64(1), 2, 3])
    func sampled(seed: UInt64) throws {
        let seconds = 4
        let trace = try TraceGenerator.generate(.bursty, pods: 2, duration: seconds * SimTime.second, seed: seed).trace
        var cfs = try node(trace, capacity: 2000, pods: [(4, 400), (2, nil)])
        var delay = QueueDelay(seconds: seconds)
        var points: [(t: Double, a: Double, u: Double)] = [(0, 0, 0)]
        var random = SplitMix64(seed: seed)
        while cfs.time < trace.duration {
            _ = cfs.advance(until: trace.duration)
            let a = cfs.ledger(of: 0).offeredNanos, u = cfs.counters(of: 0).usageNanos
            delay.observe(time: cfs.time, offered: a, used: u)
            points.append((Double(cfs.time), a, u))
            if random.next() % 50 == 0 { cfs.setLimit(0, to: 200 + Int(random.next() % 800)) }
        }
        delay.finish(at: cfs.time)
        func interpolate(_ t: Double) -> Double {
            let k = points.lastIndex { $0.t <= t }!
            guard k + 1 < points.count else { return points[k].a }
            return points[k].a + (points[k + 1].a - points[k].a) * (t - points[k].t) / (points[k + 1].t - points[k].t)
        }
        func doneAt(_ level: Double) -> Double {
            guard let k = points.firstIndex(where: { $0.u >= level - 1e-3 }) else { return points.last!.t }
            guard k > 0, points[k].u > points[k - 1].u else { return points[k].t }
            return points[k - 1].t + (level - points[k - 1].u) / (points[k].u - points[k - 1].u) * (points[k].t - points[k - 1].t)
        }
        let ms = Double(SimTime.millisecond)
        for second in 0..<seconds {
            var sampled = 0.0
            for step in 0..<1000 {
                let t = Double(second) * 1e9 + Double(step) * ms + 0.5 * ms
                sampled = max(sampled, doneAt(interpolate(t)) - t)
            }
            #expect(delay.peaks[second] >= sampled - 1e-3 * ms, "second \(second)")
            #expect(delay.peaks[second] <= sampled + 3 * ms, "second \(second)")
        }
    }
}
