import Foundation
import NodeAgent
import Workloads

/// The demo's closing comparison, as text or as one JSON object: per pod and phase, the median over
/// the repetitions and the spread (min–max), so a win can be told from run-to-run noise.
struct DemoSummary {
    let agentMode: AgentMode
    let pods: [DemoPod]
    /// Each phase's results, one per repetition, in the order they ran.
    let phases: [(phase: DemoNode.Phase, results: [DemoNode.PhaseResult])]

    /// The agent's view at the end of its last phase.
    var agent: AgentStatus? { phases.first { $0.phase == .mbcas }?.results.last?.agent }

    /// The three figures compared, per pod and phase.
    enum Metric: String, CaseIterable {
        case throttled, wait, run

        func value(_ result: DemoNode.PhaseResult, pod: String) -> UInt64 {
            switch self {
            case .throttled: result.throttledNanos[pod] ?? 0
            case .wait: result.waitNanos[pod] ?? 0
            case .run: result.runNanos[pod] ?? 0
            }
        }
    }

    /// Median and range of `metric` for `pod` over the repetitions of `phase`.
    func spread(_ metric: Metric, pod: String, phase: DemoNode.Phase) -> (median: UInt64, min: UInt64, max: UInt64) {
        let values = (phases.first { $0.phase == phase }?.results ?? []).map { metric.value($0, pod: pod) }.sorted()
        guard !values.isEmpty else { return (0, 0, 0) }
        return (values[values.count / 2], values.first!, values.last!)
    }

    /// `mbcas demo --json`: per pod `<phase>_<metric>_ns` (medians) and `spread.<phase>.<metric>_ns`
    /// ([min, max]), phases `static`, `fair_share`, `mbcas`.
    struct JSON: Encodable {
        struct Pod: Encodable {
            var name: String
            var workload: String
            var medians: [String: UInt64]
            var spread: [String: [String: [UInt64]]]

            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: Key.self)
                try c.encode(name, forKey: Key("name"))
                try c.encode(workload, forKey: Key("workload"))
                for (key, value) in medians { try c.encode(value, forKey: Key(key)) }
                try c.encode(spread, forKey: Key("spread"))
            }
        }
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(_ s: String) { stringValue = s }
            init?(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
        struct Latency: Encodable {
            var p50: UInt64 = 0
            var p99: UInt64 = 0
            var max: UInt64 = 0
            var samples: UInt64 = 0

            init(_ summary: LatencySummary?) {
                guard let summary else { return }
                (p50, p99, max, samples) = (summary.p50, summary.p99, summary.max, summary.count)
            }
        }
        var agent_mode: String
        var repetitions: Int
        var pods: [Pod]
        var decisions: Int
        var decisions_by_reason: [String: Int]
        /// Kernel push → cgroup write of raises on the ring-buffer thread.
        var latency_ns: Latency
        /// Kernel push → cgroup write of decisions from pushed rounds (debounced).
        var market_latency_ns: Latency
    }

    func json() throws -> String {
        let value = JSON(
            agent_mode: agentMode.rawValue, repetitions: phases.first?.results.count ?? 0,
            pods: pods.map { pod in
                var medians: [String: UInt64] = [:]
                var spreads: [String: [String: [UInt64]]] = [:]
                for (phase, _) in phases {
                    for metric in Metric.allCases {
                        let s = spread(metric, pod: pod.name, phase: phase)
                        medians["\(phase.key)_\(metric.rawValue)_ns"] = s.median
                        spreads[phase.key, default: [:]]["\(metric.rawValue)_ns"] = [s.min, s.max]
                    }
                }
                return JSON.Pod(name: pod.name, workload: pod.spec.kind.rawValue, medians: medians, spread: spreads)
            },
            decisions: agent?.decisions ?? 0,
            decisions_by_reason: Dictionary(uniqueKeysWithValues: (agent?.decisionsByReason ?? [:]).map { ($0.key.rawValue, $0.value) }),
            latency_ns: JSON.Latency(agent?.guardrailLatency), market_latency_ns: JSON.Latency(agent?.marketLatency))
        return try CLIJSON.line(value)
    }

    func text() -> [String] {
        let repetitions = phases.first?.results.count ?? 0
        func cell(_ metric: Metric, _ pod: String, _ phase: DemoNode.Phase) -> String {
            let s = spread(metric, pod: pod, phase: phase)
            let median = String(format: "%.2fs", Double(s.median) / 1e9)
            return repetitions > 1 ? median + String(format: " (%.2f–%.2f)", Double(s.min) / 1e9, Double(s.max) / 1e9) : median
        }
        var header = ["POD", "WORKLOAD"]
        for metric in [Metric.run, .throttled, .wait] {
            for (phase, _) in phases { header.append("\(metric.rawValue.uppercased()) \(phase.key)") }
        }
        var table = TextTable(header: header)
        for pod in pods {
            var row = [pod.name, pod.spec.kind.rawValue]
            for metric in [Metric.run, .throttled, .wait] {
                for (phase, _) in phases { row.append(cell(metric, pod.name, phase)) }
            }
            table.rows.append(row)
        }
        var lines = ["", "Summary over \(repetitions) repetition\(repetitions == 1 ? "" : "s")"
            + (repetitions > 1 ? " (median, min–max)" : "")
            + ": RUN = CPU time it got, THROTTLED = stopped by its limit or the budget, WAIT = run-queue wait (the eBPF probe)"]
            + table.render()
        if let agent {
            let reasons = agent.decisionsByReason.sorted { $0.key.rawValue < $1.key.rawValue }
                .map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", ")
            lines.append("agent decisions (last MBCAS phase): \(agent.decisions) (\(reasons.isEmpty ? "none" : reasons))")
            for pod in agent.pods {
                guard let c = pod.latencyClass else { continue }
                lines.append("  \(pod.name): \(c)\(pod.classDeclared ? " (declared)" : " (learned: \(pod.evidence?.summary ?? "-"))"), "
                    + "weight \(pod.weightShares.map(String.init) ?? "-") shares, limit \(pod.limit)m")
            }
            for (what, l) in [("raise to cap", agent.guardrailLatency), ("pushed rounds (debounced)", agent.marketLatency)] {
                lines.append(l.count == 0 ? "\(what): no decision triggered by a kernel push"
                    : "kernel push → cgroup write, \(what): p50 \(formatDuration(l.p50)), p99 \(formatDuration(l.p99)), max \(formatDuration(l.max)) over \(l.count) decisions")
            }
        }
        return lines
    }
}
