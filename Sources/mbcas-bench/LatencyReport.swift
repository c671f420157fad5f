import Foundation

/// One method's latencies: push detection, push reaction, or a baseline.
struct MethodResult: Encodable {
    /// `push-detect`, `push-react`, `poll-1s`, `poll-100ms`, `poll-10ms` or `psi`.
    var method: String
    /// What is timed, in words (for the Markdown report and the JSON reader).
    var timed: String
    /// Every sample, ns, in the order observed.
    var samplesNanos: [UInt64]
    /// Baselines: episodes marked seen, never seen, and detections with nothing to see.
    var episodesSeen: Int?
    var episodesMissed: Int?
    var unmatchedDetections: Int?
    /// Pollers and the PSI waiter: their thread's CPU, % of one core over the run.
    var cpuPercent: Double?
    /// Filled in by the report: this method's median over push-detect's.
    var ratioToPushMedian: Double?
    /// Baselines: when each detection happened (CLOCK_MONOTONIC ns), for re-matching a run offline.
    var detectionsNanos: [UInt64]?
    /// Why there are no samples, when there are none (e.g. the kernel refused the PSI trigger).
    var unavailable: String?

    /// The nearest-rank percentile `p` (0-100), or nil without samples.
    func percentile(_ p: Double) -> UInt64? {
        let sorted = samplesNanos.sorted()
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    var p50: UInt64? { percentile(50) }
    var p90: UInt64? { percentile(90) }
    var p99: UInt64? { percentile(99) }
    var maximum: UInt64? { samplesNanos.max() }

    enum CodingKeys: String, CodingKey {
        case method, timed, samples, p50_ns, p90_ns, p99_ns, max_ns, ratio_to_push_p50, samples_ns
        case episodes_seen, episodes_missed, unmatched_detections, cpu_percent, unavailable, detections_ns
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(method, forKey: .method)
        try c.encode(timed, forKey: .timed)
        try c.encode(samplesNanos.count, forKey: .samples)
        // Explicit nulls: every listed field exists even when a method has no samples.
        try c.encode(p50, forKey: .p50_ns)
        try c.encode(p90, forKey: .p90_ns)
        try c.encode(p99, forKey: .p99_ns)
        try c.encode(maximum, forKey: .max_ns)
        try c.encode(ratioToPushMedian, forKey: .ratio_to_push_p50)
        try c.encodeIfPresent(episodesSeen, forKey: .episodes_seen)
        try c.encodeIfPresent(episodesMissed, forKey: .episodes_missed)
        try c.encodeIfPresent(unmatchedDetections, forKey: .unmatched_detections)
        try c.encodeIfPresent(cpuPercent, forKey: .cpu_percent)
        try c.encodeIfPresent(unavailable, forKey: .unavailable)
        try c.encode(samplesNanos, forKey: .samples_ns)
        try c.encodeIfPresent(detectionsNanos, forKey: .detections_ns)
    }
}

/// One BPF program's cost over the run, from the kernel's BPF statistics.
struct ProgramCost: Encodable {
    var name: String
    var runs: UInt64
    var ns_per_run: Double
}

/// One target of the issue, and whether this run met it.
struct TargetCheck: Encodable {
    var target: String
    var measured: String
    var met: Bool?
}

/// Everything one run measured: written as summary.json and summary.md, printed as a table.
struct PushLatencySummary: Encodable {
    var methods: [MethodResult]
    /// `sched_switch`'s mean cost per invocation, ns (the program on every context switch).
    var bpfNanosecondsPerRun: Double?
    var bpfPrograms: [ProgramCost]
    /// An empty program's cost on the same hook in the same run, ns (the fixed part).
    var bpfEmptyNanosecondsPerRun: Double?
    /// All of the probe's programs together, % of one core over the run (runs × cost / wall time).
    var bpfCPUPercent: Double?
    /// The agent's CPU over the run, % of one core.
    var agentCPUPercent: Double?
    /// Peak RSS of the process running the agent, bytes.
    var agentRSSBytes: UInt64?
    /// Free-form facts about the run (command, machine, setup, counts, method notes).
    var run: [String: String]
    /// Every pushed episode: kernel start and end (CLOCK_MONOTONIC ns; end null if not pushed).
    var episodes: [EpisodeMatcher.Episode] = []
    var targets: [TargetCheck] = []

    enum CodingKeys: String, CodingKey {
        case methods, bpf_ns_per_run, bpf_empty_ns_per_run, bpf_cpu_percent, bpf_programs, agent_cpu_percent, agent_rss_bytes, run, targets, episodes
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(methods, forKey: .methods)
        try c.encode(bpfNanosecondsPerRun, forKey: .bpf_ns_per_run)
        try c.encode(bpfEmptyNanosecondsPerRun, forKey: .bpf_empty_ns_per_run)
        try c.encode(bpfCPUPercent, forKey: .bpf_cpu_percent)
        try c.encode(bpfPrograms, forKey: .bpf_programs)
        try c.encode(agentCPUPercent, forKey: .agent_cpu_percent)
        try c.encode(agentRSSBytes, forKey: .agent_rss_bytes)
        try c.encode(run, forKey: .run)
        try c.encode(targets, forKey: .targets)
        try c.encode(episodes.map { ["start_ns": $0.start, "end_ns": $0.end] }, forKey: .episodes)
    }

    /// Sets each method's ratio to the push-detect median.
    mutating func computeRatios() {
        let push = methods.first { $0.method == "push-detect" }?.p50
        for i in methods.indices {
            if let push, push > 0, let median = methods[i].p50 {
                methods[i].ratioToPushMedian = Double(median) / Double(push)
            }
        }
    }

    /// The issue's targets for a 2-core machine, checked against this run.
    mutating func checkTargets() {
        func method(_ name: String) -> MethodResult? { methods.first { $0.method == name } }
        func check(_ target: String, _ measured: String?, _ met: Bool?) {
            targets.append(TargetCheck(target: target, measured: measured ?? "no samples", met: met))
        }
        let detect = method("push-detect")?.p99, react = method("push-react")?.p99
        check("push detection p99 ≤ 1 ms", detect.map { formatNanos($0) }, detect.map { $0 <= 1_000_000 })
        check("push reaction p99 ≤ 2 ms", react.map { formatNanos($0) }, react.map { $0 <= 2_000_000 })
        let ratio = method("poll-1s")?.ratioToPushMedian
        check("push median ≥ 1,000× lower than the 1 s poller's", ratio.map { String(format: "%.0f×", $0) }, ratio.map { $0 >= 1000 })
        let net = bpfEmptyNanosecondsPerRun.flatMap { empty in bpfNanosecondsPerRun.map { $0 - empty } }
        check("BPF ≤ 150 ns per sched_switch", bpfNanosecondsPerRun.map {
            String(format: "%.0f ns", $0) + (net.map { String(format: " (%.0f ns over an empty program)", $0) } ?? "")
        }, bpfNanosecondsPerRun.map { $0 <= 150 })
        check("agent CPU ≤ 2 % of one core", agentCPUPercent.map { String(format: "%.3f %%", $0) }, agentCPUPercent.map { $0 <= 2 })
    }

    /// The latency table: header, then one row per method.
    var tableRows: [[String]] {
        var rows = [["method", "samples", "p50", "p90", "p99", "max", "p50 / push-detect p50"]]
        for m in methods {
            rows.append([
                m.method, "\(m.samplesNanos.count)",
                m.p50.map(formatNanos) ?? "-", m.p90.map(formatNanos) ?? "-",
                m.p99.map(formatNanos) ?? "-", m.maximum.map(formatNanos) ?? "-",
                m.ratioToPushMedian.map { $0 < 10 ? String(format: "%.1f×", $0) : String(format: "%.0f×", $0) } ?? "-",
            ])
        }
        return rows
    }

    /// The table aligned for a terminal.
    var terminalTable: String {
        let rows = tableRows
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i] + 2, withPad: " ", startingAt: 0)
            }.joined()
        }.joined(separator: "\n")
    }

    /// A Markdown table of `rows` (first row: header).
    static func markdownTable(_ rows: [[String]]) -> String {
        var lines = ["| " + rows[0].joined(separator: " | ") + " |",
                     "| " + rows[0].map { _ in "---" }.joined(separator: " | ") + " |"]
        lines += rows.dropFirst().map { "| " + $0.joined(separator: " | ") + " |" }
        return lines.joined(separator: "\n")
    }

    /// The cost lines, shared by the terminal and the Markdown report.
    var costLines: [String] {
        var lines: [String] = []
        let programs = bpfPrograms.map { String(format: "%@ %.0f ns × %llu runs", $0.name, $0.ns_per_run, $0.runs) }
        lines.append("BPF (kernel BPF statistics over the run): " + (programs.isEmpty ? "unavailable" : programs.joined(separator: "; "))
                     + (bpfCPUPercent.map { String(format: "; the probe's programs together: %.3f %% of one core", $0) } ?? ""))
        lines.append("agent: " + (agentCPUPercent.map { String(format: "%.3f %% of one core", $0) } ?? "?")
                     + " (\(run["agent_cpu_detail"] ?? "")), peak RSS "
                     + (agentRSSBytes.map { String(format: "%.1f MiB", Double($0) / 1_048_576) } ?? "?"))
        let pollerCPU = methods.compactMap { m in m.cpuPercent.map { String(format: "%@ %.3f %%", m.method, $0) } }
        lines.append("baselines' own threads, % of one core: " + pollerCPU.joined(separator: ", "))
        return lines
    }

    /// The Markdown report (summary.md); `plot` is the PNG's file name beside it.
    func markdown(plot: String) -> String {
        var text = """
            # Push vs polling: how soon a CPU throttle is noticed

            Command: `\(run["command"] ?? "")`  
            Machine: \(run["machine"] ?? "")  
            Run: \(run["episodes"] ?? ""), \(run["duration"] ?? "")

            \(Self.markdownTable(tableRows))

            """
        text += "\n" + methods.map { "- `\($0.method)`: \($0.timed)" + ($0.unavailable.map { " **Unavailable:** \($0)" } ?? "") }
            .joined(separator: "\n") + "\n"
        text += "\n## Cost\n\n" + costLines.map { "- " + $0 }.joined(separator: "\n") + "\n"
        text += "\n## Targets (2-core machine)\n\n" + Self.markdownTable(
            [["target", "measured", "met"]] + targets.map { [$0.target, $0.measured, $0.met.map { $0 ? "yes" : "**no**" } ?? "-"] }) + "\n"
        if let notes = run["notes"], !notes.isEmpty { text += "\n## Notes\n\n" + notes + "\n" }
        text += "\n![latency CDF](\(plot))\n"
        return text
    }
}

/// A duration for people: µs below 1 ms, ms below 1 s, else s.
func formatNanos(_ ns: UInt64) -> String { formatNanos(Double(ns)) }

func formatNanos(_ ns: Double) -> String {
    if ns < 1e6 { return String(format: "%.1f µs", ns / 1e3) }
    if ns < 1e9 { return String(format: "%.2f ms", ns / 1e6) }
    return String(format: "%.3f s", ns / 1e9)
}
