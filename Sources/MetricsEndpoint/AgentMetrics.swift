public import Prometheus
import Synchronization

/// The agent's series, typed: what it records and nothing else, with names, labels and units
/// fixed here so that a dashboard never meets a misspelt series.
///
/// Built directly on a ``PrometheusCollectorRegistry`` rather than the swift-metrics API: the
/// registry gives each family its `# HELP` line, explicit histogram buckets, and per-label-set
/// unregistering for ``forget(pod:)``, all of which the swift-metrics factory mapping loses.
///
/// Safe from any thread. The calls the ring-buffer thread makes (``recordEvent(kind:)``,
/// ``recordStall(pod:throttledNanos:waitNanos:runNanos:episodes:)``,
/// ``recordDecision(reason:latencyNanos:)``) cost one lock-protected dictionary lookup at most,
/// then atomic updates: metric objects are created once per pod or reason and cached, never
/// looked up by formatted name on the hot path.
///
/// Series:
/// - `mbcas_pod_throttled_seconds_total{pod}`, `mbcas_pod_runq_wait_seconds_total{pod}`,
///   `mbcas_pod_run_seconds_total{pod}`, `mbcas_pod_throttle_episodes_total{pod}` (counters)
/// - `mbcas_pod_cpu_limit_millicores{pod}` (gauge, present once set)
/// - `mbcas_decisions_total{reason}` (counter)
/// - `mbcas_push_latency_seconds` (histogram, 10 µs … 1 s)
/// - `mbcas_ringbuf_drops_total` (counter)
/// - `mbcas_shadow_price` (gauge)
/// - `mbcas_events_total{kind}` (counter)
public final class AgentMetrics: Sendable {
    /// A kernel event's kind, as the `kind` label spells it.
    public enum EventKind: String, Sendable, Hashable, CaseIterable {
        /// A throttle episode began.
        case throttleStart = "throttle-start"
        /// A throttle episode ended.
        case throttleEnd = "throttle-end"
        /// Run-queue wait crossed its threshold.
        case runQueueWait = "runq-wait"
    }

    /// The push-latency buckets, in seconds: 10 µs to 1 s, dense where the probe's kernel-to-
    /// cgroup-write latency is expected (tens of µs to a few ms).
    public static let pushLatencyBuckets: [Double] = [
        1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 0.1, 1,
    ]

    /// One pod's series. The limit gauge is made on the first ``setLimit(pod:millicores:)``:
    /// a limit of 0 exposed before the agent knows it would read as a real limit.
    private struct PodSeries: Sendable {
        let throttled: Counter
        let runQueueWait: Counter
        let run: Counter
        let episodes: Counter
        var limit: Gauge?
    }

    private let registry: PrometheusCollectorRegistry
    private let pods = Mutex<[String: PodSeries]>([:])
    private let decisions = Mutex<[String: Counter]>([:])
    /// One counter per event kind, made up front, so recording an event takes no lock.
    private let throttleStartEvents: Counter
    private let throttleEndEvents: Counter
    private let runQueueWaitEvents: Counter
    private let pushLatency: ValueHistogram
    private let ringBufferDrops: KernelTotalCounter
    private let shadowPrice: Gauge
    private let overcommitted: Gauge

    /// Creates the facade and registers its pod-independent series.
    /// - Parameters:
    ///   - registry: Where the series live; the endpoint renders the same registry.
    ///   - decisionReasons: Reasons to expose at 0 from the start (e.g. every `Reason` raw
    ///     value), so that `rate()` sees a series before the first decision of each kind. Others
    ///     appear on first use.
    public init(registry: PrometheusCollectorRegistry, decisionReasons: [String] = []) {
        self.registry = registry
        func events(_ kind: EventKind) -> Counter {
            registry.makeCounter(descriptor: Self.eventsDescriptor, labels: [("kind", kind.rawValue)])
        }
        self.throttleStartEvents = events(.throttleStart)
        self.throttleEndEvents = events(.throttleEnd)
        self.runQueueWaitEvents = events(.runQueueWait)
        self.pushLatency = registry.makeValueHistogram(
            descriptor: MetricNameDescriptor(
                namespace: "mbcas", metricName: "push_latency", unitName: "seconds",
                helpText: "Time from the kernel reporting a stall to the cgroup write of the decision it caused."
            ),
            buckets: Self.pushLatencyBuckets
        )
        self.ringBufferDrops = KernelTotalCounter(registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "mbcas", metricName: "ringbuf_drops", unitName: "total",
                helpText: "Stall events the kernel could not push because the ring buffer was full."
            )
        ))
        self.shadowPrice = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "mbcas", metricName: "shadow_price", unitName: "",
                helpText: "CPU's shadow price in the last market round; 0 when CPU is not scarce, +Inf when over-committed."
            )
        )
        self.overcommitted = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "mbcas", metricName: "overcommitted", unitName: "",
                helpText: "1 when the last market round could not meet every pod's guarantees (no finite shadow price), else 0."
            )
        )
        for reason in decisionReasons {
            _ = decisionCounter(reason)
        }
    }

    /// Adds a pod's stall time since the last call (deltas, not totals).
    /// - Parameters:
    ///   - pod: The pod's label value (`namespace/name`).
    ///   - throttledNanos: CFS-throttled time, in nanoseconds.
    ///   - waitNanos: Run-queue wait, in nanoseconds.
    ///   - runNanos: On-CPU time, in nanoseconds.
    ///   - episodes: Throttle episodes begun.
    public func recordStall(pod: String, throttledNanos: UInt64, waitNanos: UInt64, runNanos: UInt64, episodes: UInt64) {
        let series = podSeries(pod)
        if throttledNanos > 0 { series.throttled.increment(by: Self.seconds(throttledNanos)) }
        if waitNanos > 0 { series.runQueueWait.increment(by: Self.seconds(waitNanos)) }
        if runNanos > 0 { series.run.increment(by: Self.seconds(runNanos)) }
        if episodes > 0 { series.episodes.increment(by: Int64(clamping: episodes)) }
    }

    /// Sets a pod's CPU limit as last written to its cgroup. A pod's four counters appear (at 0)
    /// with its first mention by any method; the limit gauge only once a limit is set.
    /// - Parameters:
    ///   - pod: The pod's label value.
    ///   - millicores: The limit, in millicores.
    public func setLimit(pod: String, millicores: Int) {
        let gauge = pods.withLock { pods -> Gauge in
            var series = pods[pod] ?? makePodSeries(pod)
            let gauge = series.limit ?? registry.makeGauge(descriptor: Self.limitDescriptor, labels: [("pod", pod)])
            series.limit = gauge
            pods[pod] = series
            return gauge
        }
        gauge.set(Double(millicores))
    }

    /// Counts a decision and, when it led to a cgroup write, that write's latency.
    /// - Parameters:
    ///   - reason: Why the limit changed or not (`contention`, `guardrail`, `reclaim`,
    ///     `warmup-hold`, `ineffective`, ...). Keep the set small: each value is a series.
    ///   - latencyNanos: Kernel stall to cgroup write, in nanoseconds; `nil` for decisions that
    ///     wrote nothing (holds), which must not pull the histogram towards 0.
    public func recordDecision(reason: String, latencyNanos: UInt64?) {
        decisionCounter(reason).increment()
        if let latencyNanos {
            pushLatency.record(Self.seconds(latencyNanos))
        }
    }

    /// Sets CPU's shadow price from the last market round.
    /// - Parameter price: The price; 0 when CPU is not scarce, `+infinity` when no finite price
    ///   clears the market (over-committed), which also sets `mbcas_overcommitted` to 1.
    public func setShadowPrice(_ price: Double) {
        shadowPrice.set(price)
        overcommitted.set(Int64(price.isInfinite ? 1 : 0))
    }

    /// Brings `mbcas_ringbuf_drops_total` up to the kernel's cumulative drop count.
    ///
    /// The counter grows by the difference from the last total seen. A total below the last one
    /// means the kernel's count restarted (the probe was reloaded): all of it is new drops, as
    /// Prometheus treats a counter reset.
    /// - Parameter total: The kernel's cumulative count.
    public func observeRingBufferDrops(total: UInt64) {
        ringBufferDrops.observe(total: total)
    }

    /// Counts one kernel event. Lock-free: one atomic increment.
    /// - Parameter kind: The event's kind.
    public func recordEvent(kind: EventKind) {
        let counter = switch kind {
        case .throttleStart: throttleStartEvents
        case .throttleEnd: throttleEndEvents
        case .runQueueWait: runQueueWaitEvents
        }
        counter.increment()
    }

    /// Removes a pod's series, for when the pod leaves the node, so the exposition does not grow
    /// with every pod ever seen. A later call naming the pod starts its counters from 0 again:
    /// call this after the pod's last record, since a record racing with it re-creates the series.
    /// - Parameter pod: The pod's label value.
    public func forget(pod: String) {
        guard let series = pods.withLock({ $0.removeValue(forKey: pod) }) else { return }
        registry.unregisterCounter(series.throttled)
        registry.unregisterCounter(series.runQueueWait)
        registry.unregisterCounter(series.run)
        registry.unregisterCounter(series.episodes)
        if let limit = series.limit { registry.unregisterGauge(limit) }
    }

    // MARK: - Cached metric objects

    private func podSeries(_ pod: String) -> PodSeries {
        pods.withLock { pods in
            if let series = pods[pod] { return series }
            let series = makePodSeries(pod)
            pods[pod] = series
            return series
        }
    }

    private func makePodSeries(_ pod: String) -> PodSeries {
        let labels = [("pod", pod)]
        return PodSeries(
            throttled: registry.makeCounter(descriptor: Self.throttledDescriptor, labels: labels),
            runQueueWait: registry.makeCounter(descriptor: Self.runQueueWaitDescriptor, labels: labels),
            run: registry.makeCounter(descriptor: Self.runDescriptor, labels: labels),
            episodes: registry.makeCounter(descriptor: Self.episodesDescriptor, labels: labels),
            limit: nil
        )
    }

    private func decisionCounter(_ reason: String) -> Counter {
        decisions.withLock { counters in
            if let counter = counters[reason] { return counter }
            let counter = registry.makeCounter(descriptor: Self.decisionsDescriptor, labels: [("reason", reason)])
            counters[reason] = counter
            return counter
        }
    }

    private static func seconds(_ nanoseconds: UInt64) -> Double {
        Double(nanoseconds) / 1e9
    }

    // MARK: - Names and help texts
    // Computed, not stored: MetricNameDescriptor is not Sendable. They are read only when a
    // series is first made.

    private static var throttledDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mbcas", metricName: "pod_throttled_seconds", unitName: "total",
                             helpText: "Time the pod's cgroup spent CFS-throttled.")
    }

    private static var runQueueWaitDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mbcas", metricName: "pod_runq_wait_seconds", unitName: "total",
                             helpText: "Time the pod's runnable tasks waited in a run queue.")
    }

    private static var runDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mbcas", metricName: "pod_run_seconds", unitName: "total",
                             helpText: "Time the pod's tasks ran on a CPU.")
    }

    private static var episodesDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mbcas", metricName: "pod_throttle_episodes", unitName: "total",
                             helpText: "Throttle episodes of the pod's cgroup.")
    }

    private static var limitDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mbcas", metricName: "pod_cpu_limit", unitName: "millicores",
                             helpText: "The pod's CPU limit as last written by MBCAS.")
    }

    private static var decisionsDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mbcas", metricName: "decisions", unitName: "total",
                             helpText: "Decisions about pod CPU limits, by reason.")
    }

    private static var eventsDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mbcas", metricName: "events", unitName: "total",
                             helpText: "Stall events received from the kernel, by kind.")
    }
}
