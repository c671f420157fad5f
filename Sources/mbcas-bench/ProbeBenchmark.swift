import ArgumentParser
import Cgroups
import Foundation
import Histogram
import KernelProbe
import Logging
import MonotonicTime
import ProcessControl
import Synchronization
import Workloads

/// `mbcas-bench probe`: what the probes cost the kernel, and how fast a
/// stall reaches user space. Prints figures; asserts nothing.
struct ProbeBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "BPF cost per invocation and kernel-to-user push latency (root).",
        discussion: """
            1. Context-switch load (stress-ng --switch): the system-wide context-switch rate \
            without the probe (baseline) and with it, in the same run; then the kernel's own \
            BPF statistics (run_time_ns / run_cnt) per program.
            2. Push latency: a CPU burner in a cgroup limited to 20 % (2 ms per 10 ms period) makes \
            ~100 throttle episodes a second; each pushed throttle-start (wakes user space) and \
            throttle-end (batched) is timed from bpf_ktime_get_ns() to receipt.
            """
    )

    @Option(help: "Seconds of context-switch load per phase.")
    var switchSeconds: Double = 5

    @Option(help: "Seconds of throttling for the push-latency phase.")
    var throttleSeconds: Double = 5

    @Option(help: "stress-ng --switch workers.")
    var switchWorkers = 2

    @Option(help: "Program set to measure: btf (tp_btf) or raw (raw_tp).")
    var attachMode: String = "btf"

    func run() throws {
        let logger = Logger(label: "mbcas.bench")
        guard let mode = AttachMode(rawValue: attachMode) else { throw ValidationError("--attach-mode: btf, raw or auto") }
        let config = ProbeConfiguration(attachMode: mode, pinRoot: "/sys/fs/bpf/mbcas-bench-\(getpid())")

        print("== Programs: \(mode)")
        print("== BPF cost under context-switch load (stress-ng --switch \(switchWorkers), \(switchSeconds) s per phase)")
        let baselineRate = try contextSwitchRate()

        // The fixed cost of any program on this hook here: an empty one, same load.
        let empty = try KernelProbe.load(ProbeConfiguration(attachMode: .baseline, pinRoot: config.pinRoot + "-baseline"),
                                         logger: logger)
        try empty.attach()
        let emptyCost = try measureCost(of: empty).first?.nanosecondsPerRun ?? 0
        empty.close(keepPins: false)

        let probe = try KernelProbe.load(config, logger: logger)
        defer { probe.close(keepPins: false) }
        try probe.attach()
        let probeRate = try contextSwitchRate()
        print(String(format: "context switches/s: without probe %.0f, with probe %.0f (ratio %.3f)",
                     baselineRate, probeRate, probeRate / baselineRate))
        print("program                    runs      ns/run   minus empty program (%.1f ns)".replacingOccurrences(
            of: "%.1f", with: String(format: "%.1f", emptyCost)))
        for stats in try measureCost(of: probe) {
            print(stats.name.padding(toLength: 22, withPad: " ", startingAt: 0),
                  String(format: "%10llu  %10.1f  %10.1f", stats.runCount, stats.nanosecondsPerRun,
                         stats.nanosecondsPerRun - emptyCost))
        }

        print("\n== Push latency (\(throttleSeconds) s of throttling at 2 ms / 10 ms), consumer thread SCHED_OTHER")
        try pushLatency(probe: probe, realtimePriority: nil)
        print("\n== Push latency, consumer thread SCHED_FIFO priority 10 (mbcas probe --realtime)")
        try pushLatency(probe: probe, realtimePriority: 10)
    }

    /// Each program's cost per run under the context-switch load, from the
    /// kernel's BPF statistics (on only while measuring).
    func measureCost(of probe: KernelProbe) throws -> [ProgramRunStats] {
        let statistics = try BPFStatisticsSession()
        let before = probe.programStats()
        _ = try contextSwitchRate()
        let after = probe.programStats()
        withExtendedLifetime(statistics) {}
        return zip(after, before).map { a, b in
            ProgramRunStats(name: a.name, runTimeNanos: a.runTimeNanos - b.runTimeNanos,
                            runCount: a.runCount - b.runCount)
        }
    }

    /// System-wide context switches per second while stress-ng runs.
    func contextSwitchRate() throws -> Double {
        let start = try contextSwitches(), t0 = monotonicNanos()
        let result = try runCommand("/usr/bin/stress-ng",
                                    ["--switch", "\(switchWorkers)", "--timeout", "\(Int(switchSeconds))s", "--quiet"],
                                    timeout: switchSeconds + 30)
        guard result.status == 0 else {
            throw ValidationError("stress-ng failed (\(result.status)): \(result.stderr) — `make deps` installs it")
        }
        let end = try contextSwitches(), t1 = monotonicNanos()
        return Double(end - start) / (Double(t1 - t0) / 1e9)
    }

    func contextSwitches() throws -> UInt64 {
        let stat = try String(contentsOfFile: "/proc/stat", encoding: .utf8)
        guard let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("ctxt ") }),
              let value = UInt64(line.dropFirst(5)) else { throw ValidationError("no ctxt line in /proc/stat") }
        return value
    }

    func pushLatency(probe: KernelProbe, realtimePriority: Int32?) throws {
        let cgroup = try BenchCgroup(prefix: "mbcas-bench")
        defer { cgroup.remove() }
        try CPULimit(quotaMicros: 2_000, periodMicros: 10_000).write(cgroupPath: cgroup.path, version: cgroup.hierarchy.version)
        let id = try cgroupID(of: cgroup.path)
        let events = Mutex<[StallEvent]>([])
        let consumer = try probe.makeConsumer { event in
            if event.cgroupID == id { events.withLock { $0.append(event) } }
        }
        let realtime = try consumer.start(realtimePriority: realtimePriority)
        if realtimePriority != nil && !realtime { print("(SCHED_FIFO refused: needs CAP_SYS_NICE; measured as SCHED_OTHER)") }
        // One thread spinning all the time, under a 20 % quota: throttled every period.
        let burner = try WorkloadProcess(executable: try locateMbcas(nil), spec: WorkloadSpec(kind: .hog, threads: 1),
                                         cgroup: cgroup.directory)
        try burner.waitUntilWorkersStarted()
        Thread.sleep(forTimeInterval: throttleSeconds)
        _ = burner.stop()
        Thread.sleep(forTimeInterval: 0.1)
        consumer.stop()

        print("event            samples      p50       p90       p99       max")
        for kind in [StallEvent.Kind.throttleStart, .throttleEnd] {
            var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
            for e in events.withLock({ $0 }) where e.kind == kind { _ = histogram.record(max(1, e.latencyNanos)) }
            func us(_ p: Double) -> String { String(format: "%7.1fus", Double(histogram.valueAtPercentile(p)) / 1e3) }
            print(kind.description.padding(toLength: 15, withPad: " ", startingAt: 0),
                  String(format: "%8llu", histogram.totalCount), us(50), us(90), us(99),
                  String(format: "%7.1fus", Double(histogram.max) / 1e3))
        }
        let drops = try probe.maps.snapshot().counters.ringBufferDrops
        print("ring-buffer drops: \(drops); throttle-start wakes the consumer (BPF_RB_FORCE_WAKEUP), throttle-end is batched (BPF_RB_NO_WAKEUP, read within the \(probe.configuration.pollTimeoutMilliseconds) ms poll timeout)")
    }
}
