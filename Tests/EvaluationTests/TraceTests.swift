import Testing
@testable import Evaluation

@Suite("Demand traces: generation and CSV")
struct TraceTests {
    @Test("the same seed gives the same trace; another seed another", arguments: TraceKind.allCases)
    func deterministic(kind: TraceKind) throws {
        let a = try TraceGenerator.generate(kind, pods: 3, duration: 20 * SimTime.second, seed: 5)
        let b = try TraceGenerator.generate(kind, pods: 3, duration: 20 * SimTime.second, seed: 5)
        let c = try TraceGenerator.generate(kind, pods: 3, duration: 20 * SimTime.second, seed: 6)
        #expect(a == b)
        #expect(a.trace.cpus != c.trace.cpus)
        #expect(a.trace.duration == 20 * SimTime.second)
        #expect(a.trace.cpus.allSatisfy { $0.allSatisfy { $0 >= 0 } })
    }

    @Test("step: pod 0 jumps past its 1-CPU limit at a fifth of the run, where the probe points")
    func step() throws {
        let generated = try TraceGenerator.generate(.step, pods: 4, duration: 100 * SimTime.second, seed: 1)
        let probe = try #require(generated.probe)
        #expect(probe == ReactionProbe(pod: 0, time: 20 * SimTime.second))
        let trace = generated.trace
        #expect(trace.demand(pod: 0, at: probe.time - 1) < 0.5)
        #expect(trace.demand(pod: 0, at: probe.time) > 1.7)
    }

    @Test("bursty: 10 ms steps and sub-second bursts above 1 CPU")
    func bursty() throws {
        let trace = try TraceGenerator.generate(.bursty, pods: 2, duration: 60 * SimTime.second, seed: 3).trace
        #expect(trace.resolution == 10 * SimTime.millisecond)
        var bursts: [Int] = []
        var run = 0
        for value in trace.cpus[0] {
            if value > 1 { run += 1 } else if run > 0 { bursts.append(run); run = 0 }
        }
        #expect(bursts.count >= 5)
        #expect(bursts.filter { $0 < 100 }.count >= bursts.count * 9 / 10) // under 1 s
    }

    @Test("CSV: what is written reads back (to 0.1 millicore)")
    func roundTrip() throws {
        let trace = try TraceGenerator.generate(.seasonal, pods: 3, duration: 5 * SimTime.second, seed: 2).trace
        let parsed = try TraceCSV.parse(TraceCSV.render(trace))
        #expect(parsed.pods == trace.pods)
        #expect(parsed.resolution == trace.resolution)
        for (a, b) in zip(parsed.cpus, trace.cpus) {
            #expect(zip(a, b).allSatisfy { abs($0 - $1) <= 0.00005 })
        }
    }

    @Test("CSV: comments, blank lines, CRLF and spaces are fine")
    func lenient() throws {
        let trace = try TraceCSV.parse("# a trace\r\ntime_s, web, db\r\n\r\n0, 0.5, 1\r\n0.25, 2, 1.5\r\n")
        #expect(trace.pods == ["web", "db"])
        #expect(trace.resolution == 250 * SimTime.millisecond)
        #expect(trace.cpus == [[0.5, 2], [1, 1.5]])
    }

    @Test("CSV: bad input is refused with the line at fault", arguments: [
        ("t,web\n0,1\n", "header"),
        ("time_s,web\n0,1,2\n", "line 2"),
        ("time_s,web\n0,-1\n", "line 2"),
        ("time_s,web\n0,1\n0.1,1\n0.3,1\n", "evenly spaced"),
        ("time_s,web\n0.5,1\n", "time 0"),
        ("time_s,web,web\n0,1,1\n", "distinct"),
        ("time_s,web\n", "no rows"),
    ])
    func invalid(input: String, fragment: String) {
        #expect {
            _ = try TraceCSV.parse(input)
        } throws: { error in
            "\(error)".contains(fragment)
        }
    }
}
