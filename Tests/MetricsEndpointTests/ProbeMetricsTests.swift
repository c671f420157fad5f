import MetricsEndpoint
import Prometheus
import Testing

@Suite("ProbeMetrics exposition")
struct ProbeMetricsTests {
    let registry = PrometheusCollectorRegistry()

    @Test("program set, map fill levels and the kernel's cumulative counters")
    func series() {
        let metrics = ProbeMetrics(registry: registry, programSet: "raw", fallbackReason: "no task-local storage")
        metrics.update(maps: [("cgroup_stats", 10, 16384), ("watched_cgroups", 4, 16384)], mapFull: 0,
                       eventsPushed: 100, cgroupEntriesFreed: 0)
        metrics.update(maps: [("cgroup_stats", 16384, 16384), ("watched_cgroups", 3, 16384)], mapFull: 7,
                       eventsPushed: 250, cgroupEntriesFreed: 2)
        let text = Exposition(registry.emitToString())
        #expect(text[series: #"mbcas_probe_programs{set="raw",fallback_reason="no task-local storage"}"#] == 1)
        #expect(text[series: #"mbcas_probe_map_entries{map="cgroup_stats"}"#] == 16384)
        #expect(text[series: #"mbcas_probe_map_entries{map="watched_cgroups"}"#] == 3)
        #expect(text[series: #"mbcas_probe_map_capacity{map="cgroup_stats"}"#] == 16384)
        #expect(text[series: "mbcas_probe_map_full_total"] == 7)
        #expect(text[series: "mbcas_probe_events_pushed_total"] == 250)
        #expect(text[series: "mbcas_probe_cgroups_freed_total"] == 2)
        #expect(text.types["mbcas_probe_map_full_total"] == "counter")
        #expect(text.types["mbcas_probe_map_entries"] == "gauge")
    }
}
