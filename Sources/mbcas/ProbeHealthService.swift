import KernelProbe
import Logging
import MetricsEndpoint
import ServiceLifecycle

/// Reads the probe's health every few seconds: into /metrics when served, and into the log
/// when a map fills (from then on, cgroups or tasks go uncounted).
struct ProbeHealthService: Service {
    let probe: KernelProbe
    let metrics: ProbeMetrics?
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown { await poll() }
    }

    private func poll() async {
        var lastMapFull: UInt64?
        while !Task.isCancelled {
            if let health = try? probe.health() {
                metrics?.update(maps: health.maps.map { ($0.map.rawValue, $0.entries, $0.capacity) },
                                mapFull: health.counters.mapFull, eventsPushed: health.counters.eventsPushed,
                                cgroupEntriesFreed: health.cgroupEntriesFreed)
                if let last = lastMapFull, health.counters.mapFull > last {
                    logger.warning("a probe map is full: updates were lost (raise --max-cgroups)", metadata: [
                        "lost": "\(health.counters.mapFull - last)",
                        "maps": "\(health.maps.map { "\($0.map.rawValue) \($0.entries)/\($0.capacity)" })",
                    ])
                }
                lastMapFull = health.counters.mapFull
            }
            try? await Task.sleep(for: interval)
        }
    }
}
