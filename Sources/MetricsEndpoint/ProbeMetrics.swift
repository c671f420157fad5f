public import Prometheus
import Synchronization

/// The probe's own series: what it runs and how full its maps are, so that a map filling up
/// (cgroups going uncounted) or a fallback to the costlier raw_tp programs shows on a dashboard.
///
/// Series:
/// - `mbcas_probe_programs{set, fallback_reason}` (gauge, 1): the program set loaded, and why
///   `auto` fell back to raw_tp (empty when it did not)
/// - `mbcas_probe_map_entries{map}`, `mbcas_probe_map_capacity{map}` (gauges)
/// - `mbcas_probe_map_full_total` (counter): updates the kernel lost to a full map
/// - `mbcas_probe_events_pushed_total` (counter): ring-buffer records the kernel submitted
/// - `mbcas_probe_cgroups_freed_total` (counter): map entries freed for cgroups gone or unwatched
public final class ProbeMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let mapFull: KernelTotalCounter
    private let eventsPushed: KernelTotalCounter
    private let cgroupsFreed: KernelTotalCounter
    private let mapGauges = Mutex<[String: (entries: Gauge, capacity: Gauge)]>([:])

    /// Registers the series; `programSet` and `fallbackReason` are fixed for the probe's life.
    public init(registry: PrometheusCollectorRegistry, programSet: String, fallbackReason: String?) {
        self.registry = registry
        registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "mbcas", metricName: "probe_programs", unitName: "",
            helpText: "The BPF program set loaded (btf or raw), and why auto fell back to raw (empty if it did not)."),
            labels: [("set", programSet), ("fallback_reason", fallbackReason ?? "")]).set(Double(1))
        func counter(_ name: String, _ help: String) -> KernelTotalCounter {
            KernelTotalCounter(registry.makeCounter(descriptor: MetricNameDescriptor(
                namespace: "mbcas", metricName: name, unitName: "total", helpText: help)))
        }
        mapFull = counter("probe_map_full", "Map updates the probe lost because a map was full (cgroups or tasks went uncounted).")
        eventsPushed = counter("probe_events_pushed", "Stall events the probe submitted to the ring buffer.")
        cgroupsFreed = counter("probe_cgroups_freed", "Probe map entries freed for cgroups that went away or are no longer watched.")
    }

    /// Brings every series up to the probe's current state.
    /// - Parameters:
    ///   - maps: Each map's name, entries and capacity.
    ///   - mapFull: The kernel's cumulative map-full count.
    ///   - eventsPushed: The kernel's cumulative count of pushed events.
    ///   - cgroupEntriesFreed: Entries freed since the probe was loaded.
    public func update(maps: [(name: String, entries: Int, capacity: Int)], mapFull: UInt64, eventsPushed: UInt64,
                       cgroupEntriesFreed: Int) {
        for map in maps {
            let gauges = mapGauges.withLock { all in
                if let existing = all[map.name] { return existing }
                let labels = [("map", map.name)]
                let made = (entries: registry.makeGauge(descriptor: Self.entriesDescriptor, labels: labels),
                            capacity: registry.makeGauge(descriptor: Self.capacityDescriptor, labels: labels))
                all[map.name] = made
                return made
            }
            gauges.entries.set(Double(map.entries))
            gauges.capacity.set(Double(map.capacity))
        }
        self.mapFull.observe(total: mapFull)
        self.eventsPushed.observe(total: eventsPushed)
        cgroupsFreed.observe(total: UInt64(max(0, cgroupEntriesFreed)))
    }

    private static var entriesDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mbcas", metricName: "probe_map_entries", unitName: "",
                             helpText: "Entries in one of the probe's BPF maps.")
    }

    private static var capacityDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mbcas", metricName: "probe_map_capacity", unitName: "",
                             helpText: "Capacity (max_entries) of one of the probe's BPF maps.")
    }
}
