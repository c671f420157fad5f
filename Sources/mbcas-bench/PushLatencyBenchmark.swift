import ArgumentParser
import Cgroups
import Foundation
import KernelProbe
import Logging
import MonotonicTime
import ProcessControl
import Workloads

/// `mbcas-bench push`: how soon each method notices the same CPU throttle episodes, in one run
/// on one workload: MBCAS's push (detection and the guardrail's reaction) against polling
/// `cpu.stat` every 1 s, 100 ms and 10 ms and against a PSI trigger; plus what each costs.
/// Writes summary.json and summary.md; `scripts/bench-push-latency` adds the CDF plot.
struct PushLatencyBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Push vs polling: stall detection and reaction latency on one workload (root).",
        discussion: """
            A one-thread bursty workload (bursts 150-600 ms, gaps 200-900 ms, seeded) runs in a cgroup \
            limited to --work-millicores (period --work-period-us), so it is throttled a few times a second at \
            irregular times. Timestamps are all CLOCK_MONOTONIC, the clock bpf_ktime_get_ns() reads.
            push-detect: kernel timestamp of each pushed throttle start → receipt on the agent's \
            ring-buffer thread. push-react: kernel timestamp → the agent's guardrail wrote the raised \
            limit (NodeAgent in-process, market loops off, guardrail interval 0; the pod's limit is \
            restored after each raise and re-adopted through agent.refreshPods()). Baselines, at the \
            same time on the same cgroup: cpu.stat read every 1 s, 100 ms and 10 ms, and a PSI \
            trigger with the shortest window the kernel accepts; each detection is charged to the \
            oldest episode that method had not seen yet.
            """
    )

    @Option(help: "Stop once this many throttle episodes have been pushed.")
    var episodes = 300

    @Option(help: "Seconds of workload at most; the run ends at --episodes or here, whichever comes first.")
    var duration: Double = 120

    @Option(help: "Output directory (created); default: push-latency-<UTC time> in the working directory.")
    var out: String?

    @Option(help: "The workload cgroup's fixed CPU limit, millicores (its quota is this share of each period).")
    var workMillicores = 300

    /// Why not the usual 100 ms: `cpu.stat` changes only at the CFS period timer, and a 100 ms
    /// timer would hold a fixed phase against pollers of 10 ms, 100 ms and 1 s (all run off the
    /// same clock), so each poller's latency would depend on one lucky or unlucky offset. At 97 ms
    /// the offset drifts through every value within seconds, which averages over it.
    @Option(help: "The workload cgroup's CFS period, µs (97 ms: not a divisor or multiple of any polling interval, so no poller's phase locks to the period timer).")
    var workPeriodUs: Int64 = 97_000

    @Option(help: "Seed of the bursty workload's schedule.")
    var seed: UInt64 = 1

    @Option(help: "PSI trigger threshold: µs of stall within the window (the kernel accepts 1 and up).")
    var psiThresholdUs: UInt32 = 1

    @Option(help: "The mbcas binary that runs the workload (default: the one next to this binary).")
    var mbcas: String?

    @Option(help: "Program set: auto, btf or raw.")
    var attachMode: String = "auto"

    @Option(help: "A plot script to run as `<plot> DIR/summary.json DIR/latency-cdf.png` once the results are written (scripts/bench-push-latency passes scripts/plot-latency-cdf).")
    var plot: String?

    func validate() throws {
        guard episodes >= 1 else { throw ValidationError("--episodes must be at least 1") }
        guard duration > 0, duration.isFinite else { throw ValidationError("--duration must be a positive number of seconds") }
        guard (10...900).contains(workMillicores) else { throw ValidationError("--work-millicores must be in 10...900") }
        guard (10_000...1_000_000).contains(workPeriodUs) else { throw ValidationError("--work-period-us must be in 10000...1000000") }
        guard psiThresholdUs >= 1 else { throw ValidationError("--psi-threshold-us must be at least 1") }
        guard AttachMode(rawValue: attachMode) != nil else { throw ValidationError("--attach-mode: auto, btf or raw") }
    }

    func run() throws {
        guard geteuid() == 0 else {
            throw BenchError("mbcas-bench push needs root: it loads BPF programs and creates cgroups (run it with sudo)")
        }
        let signals = StopSignals()
        var logger = Logger(label: "mbcas.bench.push")
        logger.logLevel = .warning
        let executable = try locateMbcas(mbcas)
        let outDirectory = try makeOutputDirectory()

        let capacity = NodeAgentDefaults.capacityMillicores
        let podMillicores = max(workMillicores, (capacity - 100) / 2 / 10 * 10)
        let cgroups = try PushCgroups(podMillicores: podMillicores, workMillicores: workMillicores,
                                      workPeriodMicros: workPeriodUs)
        defer { cgroups.remove() }
        try checkSignal(signals)

        let pinRoot = "/sys/fs/bpf/mbcas-bench-push-\(getpid())"
        removeLeftovers(in: "/sys/fs/bpf", prefix: "mbcas-bench-push-")
        removeLeftovers(in: "/run/lock", prefix: "mbcas_sys_fs_bpf_mbcas-bench-push-")
        // The probes' per-pin-root lock files are named after this pid: remove ours at the end too.
        defer { removeLeftovers(in: "/run/lock", prefix: "mbcas_sys_fs_bpf_mbcas-bench-push-", includingPID: getpid()) }
        let probe: KernelProbe
        do {
            probe = try KernelProbe.load(ProbeConfiguration(attachMode: AttachMode(rawValue: attachMode)!, pinRoot: pinRoot,
                                                            filterCgroups: true), logger: logger)
            try probe.watch(cgroupIDs: [try cgroupID(of: cgroups.work.path)])
            try probe.attach()
        } catch {
            throw BenchError("BPF is unavailable, so there is no push to measure: \(error)")
        }
        defer { probe.close(keepPins: false) }
        // Same-run baseline for the BPF cost: an empty program on sched_switch, under the same
        // (low, cold-cache) switch rate. Optional: its absence only drops that column.
        let empty = try? KernelProbe.load(ProbeConfiguration(attachMode: .baseline, pinRoot: pinRoot + "-baseline"), logger: logger)
        if (try? empty?.attach()) == nil { empty?.close(keepPins: false) }
        defer { empty?.close(keepPins: false) }
        let statistics = try BPFStatisticsSession()
        let statsBefore = probe.programStats()
        let emptyBefore = empty?.programStats() ?? []

        let agent = try PushAgent(probe: probe, cgroups: cgroups, podMillicores: podMillicores,
                                  expectedEpisodes: episodes, logger: logger)
        let agentStart = monotonicNanos()
        defer { agent.stop() }

        let cpuStat = cgroups.work.file("cpu.stat")
        let pollers = [("poll-1s", 1_000_000_000), ("poll-100ms", 100_000_000), ("poll-10ms", 10_000_000)].map {
            CPUStatPoller(method: $0.0, cpuStatPath: cpuStat, intervalNanos: UInt64($0.1))
        }
        defer { for poller in pollers { poller.stop() } }
        for poller in pollers { try poller.start() }
        let pressure = cgroups.pressureFile
        var psi: PSITrigger?
        var psiUnavailable: String?
        do {
            psi = try PSITrigger.arm(path: pressure.path, thresholdMicros: psiThresholdUs)
            try psi?.start()
        } catch {
            psiUnavailable = error.description
        }
        defer { psi?.stop() }
        let nrThrottledBefore = CPUStatPoller.readCounters(cpuStat)?.nrThrottled ?? 0
        let processCPUBefore = processCPUNanos()

        // The workload last: every episode it causes is seen by every method from the start.
        let workload: WorkloadProcess
        do {
            workload = try WorkloadProcess(
                executable: executable, spec: WorkloadSpec(kind: .bursty, threads: 1, seed: seed, durationSeconds: duration + 30),
                cgroup: cgroups.work, otherCgroups: cgroups.unifiedTwin.map { [$0] } ?? [])
            try workload.waitUntilWorkersStarted()
        } catch {
            throw BenchError("cannot start the workload (\(executable) workload --kind bursty): \(error)")
        }
        defer { workload.stop() }
        let workloadStart = monotonicNanos()
        printProgress("push-latency: bursty workload in \(cgroups.work.path) at \(workMillicores)m; until \(episodes) episodes or \(Int(duration)) s")

        var lastProgress = workloadStart
        while agent.recorder.episodeCount < episodes, Double(monotonicNanos() - workloadStart) / 1e9 < duration {
            try checkSignal(signals, sleep: 0.2)
            guard workload.isRunning else {
                throw BenchError("the workload ended early (\(workload.exitStatus.map { "\($0)" } ?? "?")); its standard error says why")
            }
            if monotonicNanos() - lastProgress >= 10_000_000_000 {
                lastProgress = monotonicNanos()
                printProgress(String(format: "  %d episodes after %.0f s", agent.recorder.episodeCount,
                                     Double(lastProgress - workloadStart) / 1e9))
            }
        }
        workload.stop()
        let workloadEnd = monotonicNanos()
        // Let the slowest baseline report the last episodes: a poll interval plus a CFS period,
        // or a PSI window plus the 2 s averaging tick, whichever is longer.
        let drain = max(1.2, psi.map { Double($0.windowMicros) / 1e6 + 0.6 } ?? 0)
        printProgress(String(format: "  %d episodes in %.1f s; %.1f s more for the slow baselines to catch up",
                             agent.recorder.episodeCount, Double(workloadEnd - workloadStart) / 1e9, drain))
        try checkSignal(signals, sleep: drain)

        // Costs first, while every thread is still alive.
        let end = monotonicNanos()
        let ringBufferCPU = agent.ringBufferThreadCPU
        let pollerCPU = pollers.map(\.cpuNanos)
        let psiCPU = psi?.cpuNanos
        let statsAfter = probe.programStats()
        let emptyAfter = empty?.programStats() ?? []
        withExtendedLifetime(statistics) {}
        let processCPU = processCPUNanos() - processCPUBefore
        let nrThrottledAfter = CPUStatPoller.readCounters(cpuStat)?.nrThrottled ?? nrThrottledBefore
        let drops = (try? probe.maps.snapshot().counters.ringBufferDrops) ?? 0
        for poller in pollers { poller.stop() }
        psi?.stop()
        agent.stop()

        let context = RunContext(
            command: ProcessInfo.processInfo.environment["MBCAS_BENCH_COMMAND"]
                ?? CommandLine.arguments.joined(separator: " "),
            cgroups: cgroups, podMillicores: podMillicores, workMillicores: workMillicores, workPeriodMicros: workPeriodUs,
            wallNanos: end - agentStart, workloadNanos: workloadEnd - workloadStart,
            kernelThrottles: nrThrottledAfter &- nrThrottledBefore, ringBufferDrops: drops,
            processCPUNanos: processCPU, pressure: pressure, psi: psi, psiUnavailable: psiUnavailable)
        var summary = PushResults(context: context).summarize(
            agent: agent, ringBufferCPU: ringBufferCPU, pollers: pollers, pollerCPU: pollerCPU,
            psi: psi, psiCPU: psiCPU, programs: difference(statsAfter, statsBefore),
            emptyProgram: difference(emptyAfter, emptyBefore).first)
        summary.computeRatios()
        summary.checkTargets()
        try write(summary, to: outDirectory)
    }

    /// Removes `<prefix><pid>...` entries (pin directories, the probes' lock files) of runs whose
    /// process is gone (killed outright, so their clean-up never ran), and those of `includingPID`.
    func removeLeftovers(in directory: String, prefix: String, includingPID: Int32? = nil) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count).prefix { $0.isNumber }),
                  pid == includingPID || (kill(pid, 0) != 0 && errno == ESRCH) else { continue }
            try? FileManager.default.removeItem(atPath: directory + "/" + name)
        }
    }

    /// Each program's runs and run time between two readings.
    func difference(_ after: [ProgramRunStats], _ before: [ProgramRunStats]) -> [ProgramRunStats] {
        zip(after, before).map { a, b in
            ProgramRunStats(name: a.name, runTimeNanos: a.runTimeNanos &- b.runTimeNanos,
                            runCount: a.runCount &- b.runCount)
        }
    }

    /// Prints the table and the costs, and writes summary.json and summary.md.
    func write(_ summary: PushLatencySummary, to directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(summary).write(to: directory.appendingPathComponent("summary.json"))
        try Data(summary.markdown(plot: "latency-cdf.png").utf8).write(to: directory.appendingPathComponent("summary.md"))
        print("")
        print("Push vs polling (\(summary.run["episodes"] ?? ""))")
        print(summary.terminalTable)
        print("")
        for line in summary.costLines { print(line) }
        print("")
        for target in summary.targets {
            print("target: \(target.target): \(target.measured) \(target.met.map { $0 ? "(met)" : "(MISSED)" } ?? "")")
        }
        guard let plot else {
            print("\nwrote \(directory.path)/summary.json and summary.md")
            return
        }
        let png = directory.appendingPathComponent("latency-cdf.png").path
        let result = try runCommand(plot, [directory.appendingPathComponent("summary.json").path, png], timeout: 120)
        guard result.status == 0, !result.timedOut else {
            throw BenchError("the plot script \(plot) failed (exit \(result.status)): \(result.stderr.suffix(500)); summary.json and summary.md are written")
        }
        print("\nwrote \(directory.path)/summary.json, summary.md and latency-cdf.png")
    }

    /// Throws the exit code of `signal` (128 + its number) once one has arrived, after an
    /// optional interruptible sleep; the defers then clean up.
    func checkSignal(_ signals: StopSignals, sleep seconds: Double = 0) throws {
        let received = seconds > 0 ? signals.wait(seconds: seconds) : signals.caught
        if let received {
            printProgress("push-latency: interrupted (signal \(received)); cleaning up")
            throw ExitCode(128 + received)
        }
    }

    func makeOutputDirectory() throws -> URL {
        let path = out ?? {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyyMMdd-HHmmss"
            return "push-latency-" + formatter.string(from: Date())
        }()
        let url = URL(fileURLWithPath: path)
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            throw BenchError("cannot create the output directory \(url.path): \(error.localizedDescription)")
        }
        return url
    }
}

/// Progress goes to standard error, so standard output is the report alone.
func printProgress(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
