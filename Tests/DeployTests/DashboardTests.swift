import Foundation
import Testing

/// deploy/grafana/mbcas-agent.json queries only series the agent exposes, grouped only by labels
/// they carry (the list in Sources/MetricsEndpoint/AgentMetrics.swift), and shows the five the
/// issue asks for: push latency, stall per pod, decisions by reason, shadow price, drops.
@Suite(.enabled(if: DeployCheck.canRun, "no .venv/bin/python or kubectl (make deps creates the venv)"))
struct DashboardTests {
    static let dashboard = DeployCheck.repository.appendingPathComponent("deploy/grafana/mbcas-agent.json").path

    @Test("every query names an exposed series and label")
    func queriesMatchTheAgent() throws {
        let result = try DeployCheck.run(["dashboard", Self.dashboard])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("ok dashboard: 8 panels"), "\(result.stdout)")
    }

    @Test("the checker catches", arguments: [
        ("a misspelt series", "mbcas_shadow_price{", "mbcas_shadowprice{", "mbcas_shadowprice is not a series of the agent"),
        ("a label the series lacks", "sum by (reason) (rate(mbcas_decisions_total", "sum by (pod) (rate(mbcas_decisions_total",
         "groups by 'pod', which mbcas_decisions_total does not have"),
        ("a missing panel", "increase(mbcas_ringbuf_drops_total", "increase(mbcas_events_total", "no panel shows mbcas_ringbuf_drops_total"),
    ])
    func checkerCatches(description: String, old: String, new: String, expected: String) throws {
        let text = try String(contentsOfFile: Self.dashboard, encoding: .utf8)
        #expect(text.contains(old), "\(description): \(old) not in the dashboard")
        let file = try DeployCheck.temporaryFile(text.replacingOccurrences(of: old, with: new), name: "dashboard.json")
        let result = try DeployCheck.run(["dashboard", file])
        #expect(result.status == 1, "\(description) accepted: \(result.stdout)")
        #expect(result.stdout.contains(expected), "\(description): \(result.stdout)")
    }
}
