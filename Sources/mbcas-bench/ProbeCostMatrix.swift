import MonotonicTime
import ArgumentParser
import Foundation
import KernelProbe
import Logging
import Cgroups

/// The probe's cost per sched_switch the way the agent runs it: with the cgroup filter on (a
/// watched cgroup doing the switching, the rest of the machine not watched) and off, at a low and
/// a high switch rate, against an empty program attached to the same hook at the same time (so
/// both see the same caches and the same load). The kernel's BPF statistics are sampled in short
/// windows; each window gives one ns/run per program, of which the median and p99 are printed.
struct ProbeCostMatrix {
    /// A switching load: stress-ng's switch stressor in the watched cgroup.
    struct Load {
        let name: String
        let workers: Int
        /// Context switches per second per worker asked of stress-ng; nil: as fast as it goes.
        let frequency: Int?
    }

    let mode: AttachMode
    let seconds: Double
    let window: Double
    let logger: Logger

    /// The loads named in `rates` ("low", "high", comma-separated), in that order.
    static func loads(workers: Int, rates: String) throws -> [Load] {
        try rates.split(separator: ",").map { rate in
            switch rate.trimmingCharacters(in: .whitespaces) {
            case "low": Load(name: "low (~2k/s)", workers: 1, frequency: 1_000)
            case "high": Load(name: "high (stress-ng)", workers: workers, frequency: nil)
            default: throw ValidationError("--rates: low, high or both (low,high), got \(rate)")
            }
        }
    }

    func run(loads: [Load]) throws {
        let cgroup = try BenchCgroup(prefix: "mbcas-bench-cost")
        defer { cgroup.remove() }
        let pinRoot = "/sys/fs/bpf/mbcas-bench-cost-\(getpid())"
        let empty = try KernelProbe.load(ProbeConfiguration(attachMode: .baseline, pinRoot: pinRoot + "-empty"), logger: logger)
        defer { empty.close(keepPins: false) }
        try empty.attach()
        let statistics = try BPFStatisticsSession()
        defer { withExtendedLifetime(statistics) {} }

        print("load              filter  switches/s   probe ns/run med   p99   empty ns/run med   p99   ratio (med)  probe-empty (med)")
        for load in loads {
            for filter in [false, true] {
                let probe = try KernelProbe.load(ProbeConfiguration(attachMode: mode, pinRoot: pinRoot, filterCgroups: filter),
                                                 logger: logger)
                defer { probe.close(keepPins: false) }
                if filter { try probe.watch(cgroupIDs: [try cgroupID(of: cgroup.path)]) }
                try probe.attach()
                let samples = try sample(probe: probe, empty: empty, load: load, in: cgroup.path)
                let p = Percentiles(samples.map(\.probe)), e = Percentiles(samples.map(\.empty))
                print(load.name.padding(toLength: 18, withPad: " ", startingAt: 0) + (filter ? "on      " : "off     ")
                      + String(format: "%10.0f   %16.1f %6.1f   %16.1f %6.1f   %11.2f  %17.1f",
                               samples.map(\.switchesPerSecond).reduce(0, +) / Double(max(1, samples.count)),
                               p.median, p.p99, e.median, e.p99, p.median / e.median, p.median - e.median))
            }
        }
    }

    struct Sample { let probe: Double, empty: Double, switchesPerSecond: Double }

    /// Runs the load for `seconds` and reads both programs' statistics every `window`.
    func sample(probe: KernelProbe, empty: KernelProbe, load: Load, in cgroupPath: String) throws -> [Sample] {
        let stressor = Process()
        stressor.executableURL = URL(fileURLWithPath: "/bin/sh")
        let frequency = load.frequency.map { " --switch-freq \($0)" } ?? ""
        stressor.arguments = ["-c", "echo $$ > '\(cgroupPath)/cgroup.procs' && exec /usr/bin/stress-ng --switch \(load.workers)\(frequency) --timeout \(Int(seconds.rounded(.up)) + 1)s --quiet"]
        try stressor.run()
        defer { if stressor.isRunning { stressor.terminate() }; stressor.waitUntilExit() }
        Thread.sleep(forTimeInterval: 0.5)  // started and switching
        func reading() -> (probe: ProgramRunStats?, empty: ProgramRunStats?, switches: UInt64, at: UInt64) {
            (probe.programStats().first { $0.name.hasSuffix("sched_switch") }, empty.programStats().first,
             (try? contextSwitches()) ?? 0, monotonicNanos())
        }
        var samples: [Sample] = []
        var last = reading()
        for _ in 0..<Int(seconds / window) {
            Thread.sleep(forTimeInterval: window)
            let now = reading()
            defer { last = now }
            guard let p1 = now.probe, let p0 = last.probe, let e1 = now.empty, let e0 = last.empty,
                  p1.runCount > p0.runCount, e1.runCount > e0.runCount else { continue }
            func perRun(_ a: ProgramRunStats, _ b: ProgramRunStats) -> Double {
                Double(a.runTimeNanos - b.runTimeNanos) / Double(a.runCount - b.runCount)
            }
            samples.append(Sample(probe: perRun(p1, p0), empty: perRun(e1, e0),
                                  switchesPerSecond: Double(now.switches - last.switches) / (Double(now.at - last.at) / 1e9)))
        }
        return samples
    }
}

/// Median and 99th percentile (nearest rank) of a few samples.
struct Percentiles {
    let median: Double
    let p99: Double

    init(_ values: [Double]) {
        let sorted = values.sorted()
        func rank(_ q: Double) -> Double {
            guard !sorted.isEmpty else { return .nan }
            let index = max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1)
            return sorted[min(sorted.count - 1, index)]
        }
        median = rank(0.5)
        p99 = rank(0.99)
    }
}

/// System-wide context switches so far (/proc/stat's ctxt).
func contextSwitches() throws -> UInt64 {
    let stat = try String(contentsOfFile: "/proc/stat", encoding: .utf8)
    guard let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("ctxt ") }),
          let value = UInt64(line.dropFirst(5)) else { throw ProbeCostError("no ctxt line in /proc/stat") }
    return value
}

struct ProbeCostError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
