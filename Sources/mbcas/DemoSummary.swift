import Foundation
import NodeAgent
import Workloads

/// The demo's closing comparison, as text or as one JSON object.
struct DemoSummary {
    let agentMode: AgentMode
    let pods: [DemoPod]
    let staticPhase: DemoNode.PhaseResult
    let mbcasPhase: DemoNode.PhaseResult

    /// `mbcas demo --json`.
    struct JSON: Encodable {
        struct Pod: Encodable {
            var name: String
            var workload: String
            var static_throttled_ns: UInt64
            var mbcas_throttled_ns: UInt64
            var static_wait_ns: UInt64
            var mbcas_wait_ns: UInt64
            var static_run_ns: UInt64
            var mbcas_run_ns: UInt64
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
        var pods: [Pod]
        var decisions: Int
        var decisions_by_reason: [String: Int]
        /// Kernel push → cgroup write of the guardrail's raises.
        var latency_ns: Latency
        /// Kernel push → cgroup write of market decisions from pushed rounds (debounced).
        var market_latency_ns: Latency
    }

    func json() throws -> String {
        let agent = mbcasPhase.agent
        let value = JSON(
            agent_mode: agentMode.rawValue,
            pods: pods.map { pod in
                JSON.Pod(name: pod.name, workload: pod.spec.kind.rawValue,
                         static_throttled_ns: staticPhase.throttledNanos[pod.name] ?? 0,
                         mbcas_throttled_ns: mbcasPhase.throttledNanos[pod.name] ?? 0,
                         static_wait_ns: staticPhase.waitNanos[pod.name] ?? 0,
                         mbcas_wait_ns: mbcasPhase.waitNanos[pod.name] ?? 0,
                         static_run_ns: staticPhase.runNanos[pod.name] ?? 0,
                         mbcas_run_ns: mbcasPhase.runNanos[pod.name] ?? 0)
            },
            decisions: agent?.decisions ?? 0,
            decisions_by_reason: Dictionary(uniqueKeysWithValues: (agent?.decisionsByReason ?? [:]).map { ($0.key.rawValue, $0.value) }),
            latency_ns: JSON.Latency(agent?.guardrailLatency), market_latency_ns: JSON.Latency(agent?.marketLatency))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    func text() -> [String] {
        func seconds(_ ns: UInt64?) -> String { String(format: "%.2fs", Double(ns ?? 0) / 1e9) }
        func change(_ before: UInt64?, _ after: UInt64?) -> String {
            let b = Double(before ?? 0), a = Double(after ?? 0)
            guard b > 0 else { return a > 0 ? "new" : "-" }
            return String(format: "%+.0f%%", (a - b) / b * 100)
        }
        var table = TextTable(header: ["POD", "WORKLOAD", "THROTTLED static", "THROTTLED mbcas", "CHANGE",
                                       "WAIT static", "WAIT mbcas", "RUN static", "RUN mbcas"])
        for pod in pods {
            let n = pod.name
            table.rows.append([
                n, pod.spec.kind.rawValue,
                seconds(staticPhase.throttledNanos[n]), seconds(mbcasPhase.throttledNanos[n]),
                change(staticPhase.throttledNanos[n], mbcasPhase.throttledNanos[n]),
                seconds(staticPhase.waitNanos[n]), seconds(mbcasPhase.waitNanos[n]),
                seconds(staticPhase.runNanos[n]), seconds(mbcasPhase.runNanos[n]),
            ])
        }
        var lines = ["", "Summary (throttled: the kernel's cpu.stat; wait and run: the eBPF probe)"] + table.render()
        if let agent = mbcasPhase.agent {
            let reasons = agent.decisionsByReason.sorted { $0.key.rawValue < $1.key.rawValue }
                .map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", ")
            lines.append("agent decisions: \(agent.decisions) (\(reasons.isEmpty ? "none" : reasons))")
            for (what, l) in [("guardrail", agent.guardrailLatency), ("market rounds (debounced)", agent.marketLatency)] {
                lines.append(l.count == 0 ? "\(what): no decision triggered by a kernel push"
                    : "kernel push → cgroup write, \(what): p50 \(formatDuration(l.p50)), p99 \(formatDuration(l.p99)), max \(formatDuration(l.max)) over \(l.count) decisions")
            }
        }
        return lines
    }
}
