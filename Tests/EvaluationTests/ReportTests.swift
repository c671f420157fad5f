import Foundation
import Testing
@testable import Evaluation

@Suite("Reports: Markdown, JSON, files")
struct ReportTests {
    static func results() throws -> [ScenarioResult] {
        let scenarios = [try Scenario.generated(.step, duration: 30 * SimTime.second, seed: 4, initialLimit: 700),
                         try Scenario.generated(.seasonal, duration: 10 * SimTime.second, seed: 4)]
        return try Evaluation.run(scenarios: scenarios)
    }

    @Test("JSON: scenarios → policies with the documented keys, names and nulls")
    func json() throws {
        let results = try Self.results()
        let text = Report.json(results)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["scenarios"])
        let scenarios = try #require(object["scenarios"] as? [[String: Any]])
        #expect(scenarios.map { $0["scenario"] as? String } == ["step", "seasonal"])
        let keys: Set = ["policy", "throttled_s", "slo_violation_s", "latency_slo_violation_s", "efficiency", "jain", "changes",
                         "weight_writes", "reversals", "reaction_s"]
        for scenario in scenarios {
            let policies = try #require(scenario["policies"] as? [[String: Any]])
            // Hand weights and class hints need declared classes, which these traces do not carry.
            #expect(policies.map { $0["policy"] as? String } == ["static", "static-burst", "koordinator-like", "hpa-like",
                                                                 "vpa-like", "poll-1s", "push", "fair-share", "poll-weights-1s",
                                                                 "push-weights"])
            for policy in policies {
                #expect(Set(policy.keys) == keys)
                #expect(policy["throttled_s"] is NSNumber && policy["changes"] is NSNumber && policy["weight_writes"] is NSNumber)
                #expect(policy["latency_slo_violation_s"] is NSNull)
            }
        }
        // Seasonal has no reaction probe: null; the static policy never reacts: null.
        let seasonal = try #require(scenarios[1]["policies"] as? [[String: Any]])
        #expect(seasonal.allSatisfy { $0["reaction_s"] is NSNull })
        let step = try #require(scenarios[0]["policies"] as? [[String: Any]])
        #expect(step[0]["reaction_s"] is NSNull)
        #expect(step[6]["policy"] as? String == "push" && step[6]["reaction_s"] is NSNumber)
    }

    @Test("JSON with a sweep adds its points; Markdown has a row per scenario and policy")
    func sweepAndMarkdown() throws {
        let scenario = try Scenario.generated(.bursty, duration: 5 * SimTime.second, seed: 1)
        let points = try Sweep.run(scenarios: [scenario], parameters: [.deadband])
        #expect(points.count == SweepParameter.deadband.values.count * 2)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(Report.json([], sweep: points).utf8)) as? [String: Any])
        #expect((object["sweep"] as? [Any])?.count == points.count)
        let table = Report.markdown(try Self.results())
        #expect(table.split(separator: "\n").count == 2 + 2 * 10)
        #expect(table.contains("| step | push |"))
        #expect(table.contains("| step | push-weights |"))
    }

    @Test("files: summary, series and traces, and the traces read back")
    func files() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mbcas-sim-\(getpid())-\(UInt64.random(in: 0...UInt64.max))").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let results = try Self.results()
        let written = try ResultFiles.write(EvaluationResult(scenarios: results), to: directory)
        let names = Set(written.map { ($0 as NSString).lastPathComponent })
        #expect(names == ["summary.json", "summary.md", "timeseries-step.csv", "trace-step.csv",
                          "timeseries-seasonal.csv", "trace-seasonal.csv"])
        let series = try String(contentsOfFile: directory + "/timeseries-step.csv", encoding: .utf8)
        #expect(series.hasPrefix("policy,time_s,pod,demand_cpus,used_cpus,limit_cpus,throttled_s,latency_ms\n"))
        #expect(series.split(separator: "\n").count == 1 + 10 * 30 * 4)
        let trace = try TraceCSV.parse(try String(contentsOfFile: directory + "/trace-step.csv", encoding: .utf8))
        #expect(trace.pods == results[0].scenario.trace.pods)
        #expect(trace.steps == results[0].scenario.trace.steps)
    }

    @Test("scenario names become safe file names")
    func fileNames() {
        #expect(ResultFiles.fileName("my trace/v2") == "my_trace_v2")
        #expect(ResultFiles.fileName("step") == "step")
    }
}
