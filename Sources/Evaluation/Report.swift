/// The results as text: a Markdown table, JSON, and the CSV time series the plot script reads.
public enum Report {
    // MARK: Markdown

    /// One table, a row per scenario and policy. "latency-pod SLO" is the SLO-violation seconds of
    /// the pods the scenario declares latency-sensitive (– when it declares none).
    public static func markdown(_ results: [ScenarioResult]) -> String {
        var out = "| scenario | policy | throttled (s) | SLO violation (s) | latency-pod SLO (s) | efficiency | Jain "
        out += "| limit changes | weight writes | reversals | reaction (s) |\n"
        out += "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n"
        for result in results {
            for run in result.runs {
                let m = run.metrics
                out += "| \(result.scenario.name) | \(m.policy) | \(FixedFormat.string(m.throttledSeconds, digits: 1)) "
                out += "| \(FixedFormat.string(m.sloViolationSeconds, digits: 0)) "
                out += "| \(m.latencySLOViolationSeconds.map { FixedFormat.string($0, digits: 0) } ?? "–") "
                out += "| \(FixedFormat.string(m.efficiency, digits: 3)) "
                out += "| \(m.jain.map { FixedFormat.string($0, digits: 3) } ?? "–") | \(m.changes) | \(m.weightWrites) | \(m.reversals) "
                out += "| \(m.reactionSeconds.map { FixedFormat.string($0, digits: 3) } ?? "–") |\n"
            }
        }
        return out
    }

    /// The sweep as a table, a row per knob, value and policy.
    public static func markdown(sweep points: [SweepPoint]) -> String {
        var out = "| parameter | value | policy | throttled (s) | SLO violation (s) | efficiency | changes | reversals |\n"
        out += "|---|--:|---|--:|--:|--:|--:|--:|\n"
        for p in points {
            out += "| \(p.parameter.rawValue) | \(number(p.value)) | \(p.policy) | \(FixedFormat.string(p.throttledSeconds, digits: 1)) "
            out += "| \(FixedFormat.string(p.sloViolationSeconds, digits: 0)) | \(FixedFormat.string(p.efficiency, digits: 3)) "
            out += "| \(p.changes) | \(p.reversals) |\n"
        }
        return out
    }

    /// What the MBCAS policies did and why, a row per scenario and MBCAS limits policy: market rounds
    /// (and how many found CPU scarce), the safety rules' cooldown holds and refusals of raises
    /// found ineffective (counted per pod and round), guardrail raises, and the throttles the
    /// guardrail turned down, by cause (no free headroom, raises found ineffective, the per-pod
    /// interval, the cap); then a row per MBCAS weights policy: planning rounds, weight writes,
    /// raises to the cap, and how many pods the class learner holds latency-sensitive at the end.
    public static func diagnosticsMarkdown(_ results: [ScenarioResult]) -> String {
        let columns = ["rounds", "rounds-scarce", "decision-cooldown-hold", "decision-ineffective", "guardrail-raises",
                       "guardrail-refused-no-headroom", "guardrail-refused-ineffective", "guardrail-refused-interval",
                       "guardrail-refused-at-cap"]
        var out = "| scenario | policy | rounds | scarce rounds | cooldown holds | raises refused as ineffective "
        out += "| guardrail raises | guardrail refused: no headroom | refused: ineffective | refused: interval | refused: at cap |\n"
        out += "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n"
        for result in results {
            for run in result.runs where !run.diagnostics.isEmpty && run.diagnostics["learned-latency-pods"] == nil {
                out += "| \(result.scenario.name) | \(run.metrics.policy) |"
                out += columns.map { " \(run.diagnostics[$0] ?? 0) |" }.joined() + "\n"
            }
        }
        out += "\n| scenario | policy | planning rounds | weight writes | raises to the cap | pods learned latency-sensitive |\n"
        out += "|---|---|--:|--:|--:|--:|\n"
        for result in results {
            for run in result.runs where run.diagnostics["learned-latency-pods"] != nil {
                out += "| \(result.scenario.name) | \(run.metrics.policy) |"
                out += ["rounds", "weight-writes", "cap-raises", "learned-latency-pods"].map { " \(run.diagnostics[$0] ?? 0) |" }.joined()
                out += "\n"
            }
        }
        return out
    }

    // MARK: JSON

    /// `{"scenarios": [{"scenario", "policies": [{"policy", "throttled_s", "slo_violation_s",
    /// "latency_slo_violation_s", "efficiency", "jain", "changes", "weight_writes", "reversals",
    /// "reaction_s"}]}]}`, plus `"sweep": [...]` when there are sweep points. `jain`, `reaction_s`
    /// and `latency_slo_violation_s` are null when undefined (the last: no declared latency pod).
    public static func json(_ results: [ScenarioResult], sweep: [SweepPoint] = []) -> String {
        var out = "{\"scenarios\": ["
        for (index, result) in results.enumerated() {
            out += index == 0 ? "\n  " : ",\n  "
            out += "{\"scenario\": \(quoted(result.scenario.name)), \"policies\": ["
            for (position, run) in result.runs.enumerated() {
                let m = run.metrics
                out += position == 0 ? "\n    " : ",\n    "
                out += "{\"policy\": \(quoted(m.policy)), \"throttled_s\": \(json(m.throttledSeconds)), "
                out += "\"slo_violation_s\": \(json(m.sloViolationSeconds)), "
                out += "\"latency_slo_violation_s\": \(json(m.latencySLOViolationSeconds)), \"efficiency\": \(json(m.efficiency)), "
                out += "\"jain\": \(json(m.jain)), \"changes\": \(m.changes), \"weight_writes\": \(m.weightWrites), "
                out += "\"reversals\": \(m.reversals), "
                out += "\"reaction_s\": \(json(m.reactionSeconds))}"
            }
            out += "\n  ]}"
        }
        out += "\n]"
        if !sweep.isEmpty {
            out += ", \"sweep\": ["
            for (index, p) in sweep.enumerated() {
                out += index == 0 ? "\n  " : ",\n  "
                out += "{\"parameter\": \(quoted(p.parameter.rawValue)), \"value\": \(json(p.value)), "
                out += "\"policy\": \(quoted(p.policy)), \"throttled_s\": \(json(p.throttledSeconds)), "
                out += "\"slo_violation_s\": \(json(p.sloViolationSeconds)), \"efficiency\": \(json(p.efficiency)), "
                out += "\"changes\": \(p.changes), \"reversals\": \(p.reversals)}"
            }
            out += "\n]"
        }
        return out + "}\n"
    }

    // MARK: CSV

    /// The per-second series of every policy on one scenario:
    /// `policy,time_s,pod,demand_cpus,used_cpus,limit_cpus,throttled_s,latency_ms`.
    public static func seriesCSV(_ result: ScenarioResult) -> String {
        var out = "policy,time_s,pod,demand_cpus,used_cpus,limit_cpus,throttled_s,latency_ms\n"
        let names = result.scenario.pods.map(\.name)
        for run in result.runs {
            for s in run.series {
                out += "\(run.metrics.policy),\(s.second),\(names[s.pod]),\(FixedFormat.string(s.demand, digits: 4)),"
                out += "\(FixedFormat.string(s.used, digits: 4)),\(FixedFormat.string(s.limit, digits: 4)),"
                out += "\(FixedFormat.string(s.throttled, digits: 4)),\(FixedFormat.string(s.peakLatencyMs, digits: 2))\n"
            }
        }
        return out
    }

    /// The sweep as CSV: `parameter,value,policy,throttled_s,slo_violation_s,efficiency,changes,reversals`.
    public static func sweepCSV(_ points: [SweepPoint]) -> String {
        var out = "parameter,value,policy,throttled_s,slo_violation_s,efficiency,changes,reversals\n"
        for p in points {
            out += "\(p.parameter.rawValue),\(number(p.value)),\(p.policy),\(FixedFormat.string(p.throttledSeconds, digits: 4)),"
            out += "\(FixedFormat.string(p.sloViolationSeconds, digits: 0)),\(FixedFormat.string(p.efficiency, digits: 4)),"
            out += "\(p.changes),\(p.reversals)\n"
        }
        return out
    }

    // MARK: Helpers

    private static func json(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "null" }
        return FixedFormat.string(value, digits: 6)
    }

    private static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : "\(value)"
    }

    private static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
