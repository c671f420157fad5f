import MetricsEndpoint
import Prometheus
import Testing

@Suite("AgentMetrics exposition")
struct AgentMetricsTests {
    let registry = PrometheusCollectorRegistry()

    private func exposition() -> Exposition { Exposition(registry.emitToString()) }

    @Test("stall deltas become per-pod second and episode counters")
    func stallCounters() {
        let metrics = AgentMetrics(registry: registry)
        metrics.recordStall(pod: "default/web", throttledNanos: 1_500_000_000, waitNanos: 250_000_000,
                            runNanos: 2_000_000_000, episodes: 3)
        metrics.recordStall(pod: "default/web", throttledNanos: 500_000_000, waitNanos: 0,
                            runNanos: 1_000_000_000, episodes: 1)
        metrics.recordStall(pod: "batch/job", throttledNanos: 0, waitNanos: 125_000_000, runNanos: 0, episodes: 0)

        let text = exposition()
        #expect(text[series: #"mbcas_pod_throttled_seconds_total{pod="default/web"}"#] == 2.0)
        #expect(text[series: #"mbcas_pod_runq_wait_seconds_total{pod="default/web"}"#] == 0.25)
        #expect(text[series: #"mbcas_pod_run_seconds_total{pod="default/web"}"#] == 3.0)
        #expect(text[series: #"mbcas_pod_throttle_episodes_total{pod="default/web"}"#] == 4)
        // A pod's four counters appear together, at 0 where nothing was added yet.
        #expect(text[series: #"mbcas_pod_throttled_seconds_total{pod="batch/job"}"#] == 0)
        #expect(text[series: #"mbcas_pod_runq_wait_seconds_total{pod="batch/job"}"#] == 0.125)
        for family in ["mbcas_pod_throttled_seconds_total", "mbcas_pod_runq_wait_seconds_total",
                       "mbcas_pod_run_seconds_total", "mbcas_pod_throttle_episodes_total"] {
            #expect(text.types[family] == "counter", "\(family)")
            #expect(text.helps[family]?.isEmpty == false, "\(family)")
        }
    }

    @Test("the limit gauge appears only once a limit is set, and follows it down")
    func limitGauge() {
        let metrics = AgentMetrics(registry: registry)
        metrics.recordStall(pod: "default/web", throttledNanos: 1, waitNanos: 0, runNanos: 0, episodes: 0)
        #expect(!exposition().hasSeries(startingWith: "mbcas_pod_cpu_limit_millicores"))

        metrics.setLimit(pod: "default/web", millicores: 1300)
        metrics.setLimit(pod: "default/web", millicores: 900)
        metrics.setLimit(pod: "default/api", millicores: 250)
        let text = exposition()
        #expect(text.types["mbcas_pod_cpu_limit_millicores"] == "gauge")
        #expect(text[series: #"mbcas_pod_cpu_limit_millicores{pod="default/web"}"#] == 900)
        #expect(text[series: #"mbcas_pod_cpu_limit_millicores{pod="default/api"}"#] == 250)
    }

    @Test("decisions count by reason; only those with a cgroup write feed the latency histogram")
    func decisionsAndLatency() {
        let metrics = AgentMetrics(registry: registry, decisionReasons: ["contention", "reclaim"])
        metrics.recordDecision(reason: "guardrail", latencyNanos: 30_000)       // 30 µs
        metrics.recordDecision(reason: "guardrail", latencyNanos: 2_000_000)    // 2 ms
        metrics.recordDecision(reason: "contention", latencyNanos: 400_000_000) // 0.4 s
        metrics.recordDecision(reason: "warmup-hold", latencyNanos: nil)

        let text = exposition()
        #expect(text.types["mbcas_decisions_total"] == "counter")
        #expect(text[series: #"mbcas_decisions_total{reason="guardrail"}"#] == 2)
        #expect(text[series: #"mbcas_decisions_total{reason="contention"}"#] == 1)
        #expect(text[series: #"mbcas_decisions_total{reason="warmup-hold"}"#] == 1)
        // Pre-registered and never used: present at 0 so rate() has a series.
        #expect(text[series: #"mbcas_decisions_total{reason="reclaim"}"#] == 0)

        #expect(text.types["mbcas_push_latency_seconds"] == "histogram")
        #expect(text[series: "mbcas_push_latency_seconds_count"] == 3)
        #expect(abs((text[series: "mbcas_push_latency_seconds_sum"] ?? 0) - 0.40203) < 1e-12)
        // Cumulative buckets: 30 µs is above 2.5e-05 and within 5e-05.
        #expect(text[series: #"mbcas_push_latency_seconds_bucket{le="1e-05"}"#] == 0)
        #expect(text[series: #"mbcas_push_latency_seconds_bucket{le="2.5e-05"}"#] == 0)
        #expect(text[series: #"mbcas_push_latency_seconds_bucket{le="5e-05"}"#] == 1)
        #expect(text[series: #"mbcas_push_latency_seconds_bucket{le="0.0025"}"#] == 2)
        #expect(text[series: #"mbcas_push_latency_seconds_bucket{le="0.1"}"#] == 2)
        #expect(text[series: #"mbcas_push_latency_seconds_bucket{le="1.0"}"#] == 3)
        #expect(text[series: #"mbcas_push_latency_seconds_bucket{le="+Inf"}"#] == 3)
        let buckets = text.samples.keys.filter { $0.hasPrefix("mbcas_push_latency_seconds_bucket") }
        #expect(buckets.count == AgentMetrics.pushLatencyBuckets.count + 1)
    }

    @Test("ring-buffer drops follow the kernel's cumulative count, restarts included")
    func ringBufferDrops() {
        let metrics = AgentMetrics(registry: registry)
        #expect(exposition()[series: "mbcas_ringbuf_drops_total"] == 0)
        metrics.observeRingBufferDrops(total: 5)
        metrics.observeRingBufferDrops(total: 8)
        metrics.observeRingBufferDrops(total: 8)
        #expect(exposition()[series: "mbcas_ringbuf_drops_total"] == 8)
        // The probe was reloaded: its count restarted at 0 and is now 2, all new drops.
        metrics.observeRingBufferDrops(total: 2)
        metrics.observeRingBufferDrops(total: 3)
        let text = exposition()
        #expect(text[series: "mbcas_ringbuf_drops_total"] == 11)
        #expect(text.types["mbcas_ringbuf_drops_total"] == "counter")
    }

    @Test("shadow price and event kinds")
    func shadowPriceAndEvents() {
        let metrics = AgentMetrics(registry: registry)
        var text = exposition()
        #expect(text[series: "mbcas_shadow_price"] == 0)
        #expect(text.types["mbcas_shadow_price"] == "gauge")
        // Every kind exists from the start.
        for kind in AgentMetrics.EventKind.allCases {
            #expect(text[series: "mbcas_events_total{kind=\"\(kind.rawValue)\"}"] == 0)
        }

        metrics.setShadowPrice(0.75)
        metrics.recordEvent(kind: .throttleStart)
        metrics.recordEvent(kind: .throttleStart)
        metrics.recordEvent(kind: .throttleEnd)
        metrics.recordEvent(kind: .runQueueWait)
        text = exposition()
        #expect(text[series: "mbcas_shadow_price"] == 0.75)
        #expect(text.types["mbcas_events_total"] == "counter")
        #expect(text[series: #"mbcas_events_total{kind="throttle-start"}"#] == 2)
        #expect(text[series: #"mbcas_events_total{kind="throttle-end"}"#] == 1)
        #expect(text[series: #"mbcas_events_total{kind="runq-wait"}"#] == 1)

        #expect(text[series: "mbcas_overcommitted"] == 0)
        metrics.setShadowPrice(.infinity)  // the floors did not fit: over-committed, said explicitly
        #expect(exposition()[series: "mbcas_overcommitted"] == 1)
        metrics.setShadowPrice(0)
        #expect(exposition()[series: "mbcas_shadow_price"] == 0)
        #expect(exposition()[series: "mbcas_overcommitted"] == 0)
    }

    @Test("forget removes every series of the pod and only of that pod")
    func forgetPod() {
        let metrics = AgentMetrics(registry: registry)
        for pod in ["default/web", "default/api"] {
            metrics.recordStall(pod: pod, throttledNanos: 1_000_000_000, waitNanos: 1, runNanos: 1, episodes: 1)
            metrics.setLimit(pod: pod, millicores: 500)
        }
        metrics.forget(pod: "default/web")
        metrics.forget(pod: "never/seen")

        var text = exposition()
        #expect(!text.samples.keys.contains { $0.contains(#"pod="default/web""#) })
        #expect(text[series: #"mbcas_pod_throttled_seconds_total{pod="default/api"}"#] == 1)
        #expect(text[series: #"mbcas_pod_cpu_limit_millicores{pod="default/api"}"#] == 500)

        // A pod that comes back starts from 0.
        metrics.recordStall(pod: "default/web", throttledNanos: 250_000_000, waitNanos: 0, runNanos: 0, episodes: 0)
        text = exposition()
        #expect(text[series: #"mbcas_pod_throttled_seconds_total{pod="default/web"}"#] == 0.25)
        #expect(text[series: #"mbcas_pod_throttle_episodes_total{pod="default/web"}"#] == 0)
    }

    @Test("concurrent callers lose no update")
    func concurrentUpdates() async {
        let metrics = AgentMetrics(registry: registry)
        let tasks = 8
        let perTask = 2_000
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    for i in 0..<perTask {
                        metrics.recordEvent(kind: .throttleEnd)
                        // Two pods shared by all tasks, so the cache sees concurrent first uses.
                        metrics.recordStall(pod: "pod-\(i % 2)", throttledNanos: 1_000_000, waitNanos: 0,
                                            runNanos: 0, episodes: 1)
                        metrics.recordDecision(reason: task % 2 == 0 ? "guardrail" : "contention",
                                               latencyNanos: 50_000)
                    }
                }
            }
        }
        let text = exposition()
        let total = Double(tasks * perTask)
        #expect(text[series: #"mbcas_events_total{kind="throttle-end"}"#] == total)
        let episodes = (0..<2).compactMap { text[series: "mbcas_pod_throttle_episodes_total{pod=\"pod-\($0)\"}"] }
        #expect(episodes == [total / 2, total / 2])
        let throttled = (0..<2).compactMap { text[series: "mbcas_pod_throttled_seconds_total{pod=\"pod-\($0)\"}"] }
        #expect(throttled.count == 2)
        for seconds in throttled { #expect(abs(seconds - total / 2 * 0.001) < 1e-9) }
        #expect(text[series: #"mbcas_decisions_total{reason="guardrail"}"#] == total / 2)
        #expect(text[series: "mbcas_push_latency_seconds_count"] == total)
    }
}
