#if canImport(Glibc)
import Glibc
#endif
import Foundation
import KernelProbe

/// Facts of one run that the summary reports beside the latencies.
struct RunContext {
    var command: String
    var cgroups: PushCgroups
    var podMillicores: Int
    var workMillicores: Int
    var workPeriodMicros: Int64
    /// From the agent's start to the last measurement, ns: the CPU percentages' denominator.
    var wallNanos: UInt64
    var workloadNanos: UInt64
    /// How much the workload cgroup's `nr_throttled` rose over the run.
    var kernelThrottles: UInt64
    var ringBufferDrops: UInt64
    var processCPUNanos: UInt64
    var pressure: (path: String, perCgroup: Bool)
    var psi: PSITrigger?
    var psiUnavailable: String?
}

/// Turns what the run recorded into the summary: samples per method, costs, notes.
struct PushResults {
    let context: RunContext

    func summarize(agent: PushAgent, ringBufferCPU: UInt64?, pollers: [CPUStatPoller], pollerCPU: [UInt64?],
                   psi: PSITrigger?, psiCPU: UInt64?, programs: [ProgramRunStats],
                   emptyProgram: ProgramRunStats?) -> PushLatencySummary {
        let events = agent.recorder.throttleStarts
        // An end carries its episode's start (stall_start_ns, a ns timestamp): join on it.
        var endByStart: [UInt64: UInt64] = [:]
        for end in agent.recorder.throttleEnds { endByStart[end.stallStart] = end.kernelTimestamp }
        let episodes = events.map { EpisodeMatcher.Episode(start: $0.stallStart, end: endByStart[$0.stallStart]) }
        let wall = Double(max(1, context.wallNanos))
        func percent(_ ns: UInt64?) -> Double? { ns.map { Double($0) / wall * 100 } }

        var methods = [
            MethodResult(method: "push-detect",
                         timed: "kernel timestamp of the throttle start (bpf_ktime_get_ns at the switch-out) → receipt on the agent's ring-buffer thread (\(agent.realtime ? "SCHED_FIFO" : "SCHED_OTHER: SCHED_FIFO was refused"))",
                         samplesNanos: events.map(\.latencyNanos)),
            MethodResult(method: "push-react",
                         timed: "kernel timestamp → NodeAgent.handle's guardrail raise written to the pod's CPU limit file by CgroupActuator (the write returned); the agent's own push→write latency",
                         samplesNanos: agent.recorder.reactionLatencies),
        ]
        for (poller, cpu) in zip(pollers, pollerCPU) {
            let matched = EpisodeMatcher.match(episodes: episodes, detections: poller.allDetections.map(\.at), coverage: .ended)
            let period = poller.intervalNanos >= 1_000_000_000
                ? "\(poller.intervalNanos / 1_000_000_000) s" : "\(poller.intervalNanos / 1_000_000) ms"
            let counts = poller.counts
            methods.append(MethodResult(
                method: poller.method,
                timed: "episode start → the first poll (every \(period)) of cpu.stat whose nr_throttled or throttled time rose (charged to the oldest episode not yet seen)"
                    + (counts.failures > 0 ? "; \(counts.failures) of \(counts.polls + counts.failures) reads failed (\(counts.lastError ?? "?"))" : ""),
                samplesNanos: matched.samplesNanos, episodesSeen: matched.episodesSeen,
                episodesMissed: matched.episodesMissed, unmatchedDetections: matched.unmatchedDetections,
                cpuPercent: percent(cpu), detectionsNanos: poller.allDetections.map(\.at)))
        }
        if let psi {
            let matched = EpisodeMatcher.match(episodes: episodes, detections: psi.allEvents, coverage: .begun)
            methods.append(MethodResult(
                method: "psi",
                timed: "episode start → POLLPRI on the trigger 'some \(psi.thresholdMicros) \(psi.windowMicros)' on \(psi.path) (\(context.pressure.perCgroup ? "the workload's own cgroup; in the v2 tree, per-cgroup PSI needs no cpu controller" : "system-wide"))",
                samplesNanos: matched.samplesNanos, episodesSeen: matched.episodesSeen,
                episodesMissed: matched.episodesMissed, unmatchedDetections: matched.unmatchedDetections,
                cpuPercent: percent(psiCPU), detectionsNanos: psi.allEvents))
        } else {
            methods.append(MethodResult(method: "psi", timed: "PSI trigger on \(context.pressure.path)", samplesNanos: [],
                                        unavailable: context.psiUnavailable ?? "not armed"))
        }

        let switchProgram = programs.first { $0.name.contains("sched_switch") }
        let refreshCPU = agent.refreshPodsCPU
        let agentCPU = ringBufferCPU.map { $0 + refreshCPU }
        let restore = agent.restoreSummary
        var run: [String: String] = [
            "command": context.command,
            "machine": Self.machine(),
            "episodes": "\(events.count) throttle episodes pushed (\(endByStart.count) ends), kernel nr_throttled +\(context.kernelThrottles)",
            "duration": String(format: "%.1f s of workload, %.1f s measured", Double(context.workloadNanos) / 1e9, wall / 1e9),
            "setup": "one-thread bursty workload in \(context.cgroups.work.path) at a fixed \(context.workMillicores)m (CFS period \(Double(context.workPeriodMicros) / 1000) ms, so no poller's phase locks to the period timer); the agent manages its parent pod \(context.cgroups.pod.path), starting at \(context.podMillicores)m",
            "reactions": "\(agent.recorder.reactionLatencies.count) guardrail raises written by NodeAgent (interval 0, market loops off); \(restore.count) restores to \(context.podMillicores)m + agent.refreshPods()" + (restore.failure.map { "; last restore failure: \($0)" } ?? ""),
            "agent_cpu_detail": String(format: "ring-buffer thread %.3f %% + refreshPods %.3f %%",
                                       percent(ringBufferCPU) ?? .nan, percent(refreshCPU) ?? .nan),
            "process_cpu_percent": String(format: "%.3f", percent(context.processCPUNanos) ?? .nan),
            "ringbuf_drops": "\(context.ringBufferDrops)",
            "clock": "CLOCK_MONOTONIC (bpf_ktime_get_ns)",
        ]
        if let psi {
            run["psi"] = "some \(psi.thresholdMicros) \(psi.windowMicros) on \(psi.path)"
                + (psi.refusals.isEmpty ? "" : "; refused first: \(psi.refusals.joined(separator: "; "))")
        }
        run["notes"] = notes(psi: psi, nonGuardrail: agent.recorder.nonGuardrailDecisions)
        return PushLatencySummary(
            methods: methods, bpfNanosecondsPerRun: switchProgram.map(\.nanosecondsPerRun),
            bpfPrograms: (programs + (emptyProgram.map { [$0] } ?? [])).map {
                ProgramCost(name: $0.name, runs: $0.runCount, ns_per_run: $0.nanosecondsPerRun)
            },
            bpfEmptyNanosecondsPerRun: emptyProgram.map(\.nanosecondsPerRun),
            bpfCPUPercent: programs.isEmpty ? nil : percent(programs.reduce(0) { $0 + $1.runTimeNanos }),
            agentCPUPercent: percent(agentCPU), agentRSSBytes: peakResidentBytes(), run: run, episodes: episodes)
    }

    /// What a reader needs to interpret the figures.
    func notes(psi: PSITrigger?, nonGuardrail: Int) -> String {
        var notes = [
            "cpu.stat's nr_throttled and throttled time change only when the kernel unthrottles the cgroup (at the CFS period timer that refills its quota, or earlier when runtime is handed back), so a poller cannot see an episode before it ends, however often it reads. Here an episode lasts up to \(String(format: "%.0f", Double(context.workPeriodMicros) * (1 - Double(context.workMillicores) / 1000) / 1000)) ms (period minus quota): the 10 ms poller's floor.",
            "The workload's CFS period is \(String(format: "%.0f", Double(context.workPeriodMicros) / 1000)) ms rather than 100 ms: the period timer gates what cpu.stat shows, and a 100 ms timer would keep one fixed phase against pollers of 10 ms, 100 ms and 1 s, so each poller's figure would hang on one lucky or unlucky offset. At 97 ms the offset sweeps through all values within seconds.",
            "The guardrail writes the pod's limit one level above the workload's own quota, so its raise does not unthrottle the episode the baselines are timing (writing a cgroup's own quota refills and unthrottles it, and the kernel would then never count that episode).",
            "Agent CPU is the ring-buffer thread (receipt, guardrail, cgroup writes, its 20 ms poll-timeout wake-ups) plus the agent's refreshPods() calls; the bench's own pollers and bookkeeping are excluded (whole process: \(processCPUPercent) %). Peak RSS is the whole bench process.",
        ]
        if let psi, psi.windowMicros > 500_000 {
            notes.append("The kernel refused the 500 ms PSI window (it allows windows that are not multiples of 2 s only with CAP_SYS_RESOURCE, which this process lacks), so the trigger uses \(psi.windowMicros / 1000) ms and is checked by PSI's 2 s averaging work, not its real-time poller: at most one event per window, on a tick that sometimes lands just short of it, so events come every 2 or 4 s.")
        }
        if !context.pressure.perCgroup {
            notes.append("PSI here is system-wide (/proc/pressure/cpu): any CPU contention on the machine fires it.")
        }
        if nonGuardrail > 0 { notes.append("\(nonGuardrail) non-guardrail decisions were applied (reconcile writes).") }
        return notes.map { "- " + $0 }.joined(separator: "\n")
    }

    /// The whole bench process's CPU over the run, % of one core (pollers and bookkeeping included).
    private var processCPUPercent: String {
        String(format: "%.3f", Double(context.processCPUNanos) / Double(max(1, context.wallNanos)) * 100)
    }

    /// Kernel, CPUs, CPU model and OS, for the report.
    static func machine() -> String {
        var name = utsname()
        uname(&name)
        let kernel = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" } ?? "?"
        let osRelease = (try? String(contentsOfFile: "/etc/os-release", encoding: .utf8)) ?? ""
        let os = osRelease.split(separator: "\n").first { $0.hasPrefix("PRETTY_NAME=") }
            .map { $0.dropFirst("PRETTY_NAME=".count).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) } ?? "Linux"
        return "\(os), kernel \(kernel), \(NodeAgentDefaults.capacityMillicores / 1000) CPUs (\(model))"
    }
}
