import Cgroups
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import KernelProbe
import TestSupport
import Testing

/// Pods come and go; the probe's per-cgroup state must go with them, or the
/// maps fill (and every new cgroup's updates are lost) on a node with churn.
@Suite("Probe state follows the cgroups", .serialized, .enabled(if: Privileged.canRun))
struct ProbeStateCleanupTests {
    @Test("removed pods' and containers' cgroups leave the stats map and the watch list")
    func churn() async throws {
        let mbcas = try #require(builtProduct("mbcas"), "the mbcas executable was not built next to the tests")
        let parent = try TemporaryCgroup(prefix: "mbcas-churn-test")
        defer { parent.remove() }
        try parent.delegateCPU()
        let pods = try (0..<4).map { try parent.directory.createChild("pod\($0)") }
        for pod in pods { try parent.delegateCPU(to: pod) }  // containers get their own cpu cgroup (v2)
        let containers = try pods.map { try $0.createChild("container") }
        let agentRun = try AgentRun(mbcas: mbcas, parent: parent.path, floor: 100, cap: 1000)
        defer { agentRun.cleanUp() }
        let port = Int.random(in: 20_000...60_000)
        let agent = try agentRun.start(["--metrics-address", "127.0.0.1:\(port)"])
        defer { if agent.isRunning { agent.terminate(); agent.waitUntilExit() } }
        try agentRun.waitUntilAttached()
        try await Task.sleep(for: .milliseconds(500))  // the pods adopted, their cgroups watched

        // A task in each container: each container gets a stats entry.
        for container in containers {
            let burner = try Burner(cgroupPath: container.path)
            try await Task.sleep(for: .milliseconds(200))
            burner.stop()
        }
        let ids = try containers.map { try cgroupID(of: $0.path) }
        let maps = try CumulativeMaps.openPinned(at: agentRun.pinRoot)
        #expect(Set(ids).isSubset(of: try maps.snapshot().cgroups.keys), "a container's task was never counted")

        // Three pods go away, containers first (as the kubelet removes them).
        for i in 1..<4 {
            try containers[i].remove()
            try pods[i].remove()
        }
        var left: Set<UInt64> = []
        for _ in 0..<50 {
            left = Set(ids[1...]).intersection(try maps.snapshot().cgroups.keys)
            if left.isEmpty { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(left.isEmpty, "the stats of \(left.count) removed cgroups are still in the map")
        #expect(try maps.snapshot().cgroups[ids[0]] != nil, "the remaining pod's container lost its stats")

        // /metrics tells how full the maps are: one pod and its container are watched.
        let metrics = await scrape(port: port)
        #expect(metrics.contains("mbcas_probe_map_entries{map=\"watched_cgroups\"} 2"), "\(metrics)")
        #expect(metrics.contains("mbcas_probe_map_capacity{map=\"cgroup_stats\"} 16384"))
        #expect(metrics.contains("mbcas_probe_map_full_total 0"))
        #expect(metrics.contains("mbcas_probe_programs{set=\"btf\",fallback_reason=\"\"} 1"))
        let freed = metrics.split(separator: "\n").first { $0.hasPrefix("mbcas_probe_cgroups_freed_total ") }
        #expect(freed.flatMap { Int($0.split(separator: " ")[1]) }.map { $0 >= 6 } == true,
                "6 cgroups went away: \(freed.map(String.init) ?? "no mbcas_probe_cgroups_freed_total")")
    }

    /// GET /metrics (waits for the probe series: they are refreshed every few seconds).
    func scrape(port: Int) async -> String {
        var text = ""
        for _ in 0..<60 {
            let url = URL(string: "http://127.0.0.1:\(port)/metrics")!
            text = (try? await URLSession.shared.data(from: url)).map { String(decoding: $0.0, as: UTF8.self) } ?? ""
            if text.contains("mbcas_probe_cgroups_freed_total") && !text.contains("mbcas_probe_cgroups_freed_total 0\n") {
                return text
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
        return text
    }
}
