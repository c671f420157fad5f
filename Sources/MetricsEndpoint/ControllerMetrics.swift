public import Prometheus
import Synchronization

/// The controller's Prometheus series. The controller counts in plain atomics (its tests read
/// them); ``update(_:)`` carries the totals over to the registry before each scrape:
///
/// - `mbcas_controller_reconciles_total`, `mbcas_controller_resizes_total` (accepted `pods/resize`
///   patches), `mbcas_controller_status_writes_total`, `mbcas_controller_events_total`,
///   `mbcas_controller_errors_total` (reconciles requeued with backoff) — counters
/// - `mbcas_controller_leader` (1 while this replica holds the Lease), `mbcas_controller_synced`
///   (1 while its caches hold the whole collections) — gauges
public final class ControllerMetrics: Sendable {
    /// Totals as the controller counts them.
    public struct Totals: Sendable {
        public var reconciles = 0, resizes = 0, statusWrites = 0, events = 0, errors = 0
        public var leading = false, synced = false

        public init(reconciles: Int, resizes: Int, statusWrites: Int, events: Int, errors: Int, leading: Bool, synced: Bool) {
            self.reconciles = reconciles
            self.resizes = resizes
            self.statusWrites = statusWrites
            self.events = events
            self.errors = errors
            self.leading = leading
            self.synced = synced
        }
    }

    private let counters: [(any KeyPath<Totals, Int> & Sendable, Counter)]
    private let leader: Gauge
    private let synced: Gauge
    private let reported = Mutex(Totals(reconciles: 0, resizes: 0, statusWrites: 0, events: 0, errors: 0, leading: false, synced: false))

    public init(registry: PrometheusCollectorRegistry) {
        func counter(_ name: String, _ help: String) -> Counter {
            registry.makeCounter(descriptor: MetricNameDescriptor(namespace: "mbcas", subsystem: "controller", metricName: name,
                                                                  unitName: "total", helpText: help))
        }
        counters = [
            (\.reconciles, counter("reconciles", "Reconcile passes over one PodAllocation.")),
            (\.resizes, counter("resizes", "pods/resize patches the API accepted.")),
            (\.statusWrites, counter("status_writes", "PodAllocation status writes the API accepted.")),
            (\.events, counter("events", "Events recorded on pods.")),
            (\.errors, counter("errors", "Reconciles that failed and were queued again with backoff.")),
        ]
        leader = registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "mbcas", subsystem: "controller", metricName: "leader",
                                                                     unitName: "", helpText: "1 while this replica holds the leader Lease."))
        synced = registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "mbcas", subsystem: "controller", metricName: "synced",
                                                                     unitName: "", helpText: "1 while the caches hold the whole collections."))
    }

    /// Brings the series up to `totals` (counters only ever grow by the difference).
    public func update(_ totals: Totals) {
        reported.withLock { last in
            for (path, counter) in counters where totals[keyPath: path] > last[keyPath: path] {
                counter.increment(by: Int64(totals[keyPath: path] - last[keyPath: path]))
            }
            last = totals
        }
        leader.set(to: totals.leading ? 1.0 : 0.0)
        synced.set(to: totals.synced ? 1.0 : 0.0)
    }
}
