import ArgumentParser
import KernelProbe
import Logging
#if canImport(Glibc)
import Glibc
import ProcessControl
#endif

/// `mbcas probe`: like runqlat, but per cgroup, and pushed rather than polled.
struct ProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Print per-cgroup CPU stalls (CFS throttling, run-queue wait) as the kernel pushes them.",
        discussion: """
            Loads the MBCAS eBPF probes (needs root, or CAP_BPF and CAP_PERFMON), prints one line \
            per pushed event, and on exit (after --duration, or on Ctrl-C) prints each cgroup's \
            totals from the cumulative maps, which count everything, even events the ring buffer \
            had to drop.

            Events: throttle-start (the cgroup's CPU quota ran out on a CPU; latency_ns is the time \
            from the kernel seeing it to this process printing it), throttle-end (delta_ns = episode \
            length), runq-wait (delta_ns of run-queue wait within one window crossed the threshold).

            Examples:
              mbcas probe --duration 10
              mbcas probe --cgroup /sys/fs/cgroup/cpu/mbcas-demo/bursty --json
            """
    )

    @Option(name: .customLong("cgroup"), help: ArgumentHelp(
        "Only report this cgroup (a directory of the hierarchy holding the cpu controller). Repeatable.",
        valueName: "path"))
    var cgroups: [String] = []

    @Option(help: "Stop after this many seconds (default: run until Ctrl-C).")
    var duration: Double?

    @Flag(help: "Print JSON lines instead of text.")
    var json = false

    @Option(help: "Where to pin the cumulative maps in bpffs (the agent's are under /sys/fs/bpf/mbcas).")
    var pinRoot = "/sys/fs/bpf/mbcas-probe"

    @Flag(help: "Leave the pinned maps in bpffs on exit (for bpftool after the probe stops).")
    var keepPins = false

    @Option(help: "Ring-buffer size in bytes (power of two, >= 4096).")
    var ringBufferBytes: UInt32 = 256 * 1024

    @Option(help: "Push a runq-wait event when a cgroup waits this many milliseconds on one CPU within a window.")
    var waitThresholdMs: Double = 5

    @Option(help: "The run-queue wait window, in milliseconds.")
    var waitWindowMs: Double = 100

    @Flag(help: "Run the ring-buffer thread under SCHED_FIFO, so a push preempts other work at once (needs CAP_SYS_NICE).")
    var realtime = false

    @Option(help: "Program set: auto (tp_btf, else raw_tp), btf, raw.")
    var attachMode: AttachMode = .automatic

    @Option(help: "Log level for diagnostics on stderr (trace, debug, info, warning, error).")
    var logLevel: Logger.Level = .warning

    func run() throws {
        let logger = makeStderrLogger(label: "mbcas.probe", level: logLevel)
        let filter = try CgroupFilter(paths: cgroups)
        let configuration = ProbeConfiguration(
            attachMode: attachMode,
            pinRoot: pinRoot,
            ringBufferBytes: ringBufferBytes,
            waitThresholdNanos: UInt64(waitThresholdMs * 1_000_000),
            waitWindowNanos: UInt64(waitWindowMs * 1_000_000))

        // Signals are taken synchronously below; block them before any thread starts.
        let signals = StopSignals()
        let probe = try KernelProbe.load(configuration, logger: logger)
        defer { probe.close(keepPins: keepPins) }
        try probe.attach()

        let printer = EventPrinter(json: json, names: CgroupNames())
        let consumer = try probe.makeConsumer { event in
            guard filter.includes(event.cgroupID) else { return }
            printer.print(event)
        }
        if try !consumer.start(realtimePriority: realtime ? 10 : nil), realtime {
            logger.warning("SCHED_FIFO refused (needs CAP_SYS_NICE): the ring-buffer thread runs as an ordinary thread")
        }
        let signal = signals.wait(seconds: duration)
        consumer.stop()

        let snapshot = try probe.maps.snapshot()
        printer.printTotals(snapshot, including: filter.includes)
        if let signal { logger.info("stopped by signal \(signal)") }
    }
}
