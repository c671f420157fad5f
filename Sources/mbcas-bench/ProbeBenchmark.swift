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
            1. Cost per sched_switch, from the kernel's BPF statistics (run_time_ns / run_cnt) in \
            short windows: median and p99 of the probe's and of an empty program's, attached side \
            by side, with the cgroup filter off and on (the agent's way: the switching cgroup \
            watched), at a low switch rate (stress-ng --switch 1 --switch-freq 1000) and a high \
            one (stress-ng --switch N).
            2. Push latency: a CPU burner in a cgroup limited to 20 % (2 ms per 10 ms period) makes \
            ~100 throttle episodes a second; each pushed throttle-start (wakes user space) and \
            throttle-end (batched) is timed from bpf_ktime_get_ns() to receipt.
            """
    )

    @Option(help: "Seconds of context-switch load per row of the cost matrix.")
    var switchSeconds: Double = 5

    @Option(help: "Seconds per window of the cost matrix (one ns/run sample per window and program).")
    var costWindow: Double = 0.25

    @Option(help: "Seconds of throttling for the push-latency phase.")
    var throttleSeconds: Double = 5

    @Option(help: "stress-ng --switch workers.")
    var switchWorkers = 2

    @Option(help: "Program set to measure: btf (tp_btf) or raw (raw_tp).")
    var attachMode: String = "btf"

    @Option(help: "Switch rates of the cost matrix, comma-separated: low, high.")
    var rates: String = "low,high"

    @Flag(help: "Only the cost matrix: no push-latency phase (for quick A/B runs of the probe's cost).")
    var costOnly = false

    func run() throws {
        let logger = Logger(label: "mbcas.bench")
        guard let mode = AttachMode(rawValue: attachMode) else { throw ValidationError("--attach-mode: btf, raw or auto") }
        let loads = try ProbeCostMatrix.loads(workers: switchWorkers, rates: rates)
        let config = ProbeConfiguration(attachMode: mode, pinRoot: "/sys/fs/bpf/mbcas-bench-\(getpid())")

        print("== Programs: \(mode)")
        print("== BPF cost per sched_switch (\(switchSeconds) s per row, \(costWindow) s windows; an empty tp_btf program attached beside it)")
        try ProbeCostMatrix(mode: mode, seconds: switchSeconds, window: costWindow, logger: logger)
            .run(loads: loads)
        if costOnly { return }

        let probe = try KernelProbe.load(config, logger: logger)
        defer { probe.close(keepPins: false) }
        try probe.attach()
        print("\n== Push latency (\(throttleSeconds) s of throttling at 2 ms / 10 ms), consumer thread SCHED_OTHER")
        try pushLatency(probe: probe, realtimePriority: nil)
        print("\n== Push latency, consumer thread SCHED_FIFO priority 10 (mbcas probe --realtime)")
        try pushLatency(probe: probe, realtimePriority: 10)
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
