public import Prometheus
import Synchronization

/// The series of weights actuation: what the market set and why, per pod.
///
/// - `mbcas_pod_cpu_weight_shares{pod}`: the CFS weight in force (cpu.shares units)
/// - `mbcas_pod_share_millicores{pod}`: the pod's share of the node under full contention
/// - `mbcas_pod_latency_class{pod,class,source}`: 1 for the class in force (`latency`/`batch`),
///   `source` = `declared` or `learned`; the series of a former class is removed
/// - `mbcas_pod_latency_score{pod}`: the class learner's evidence, in [0, 1]
/// - `mbcas_pod_cpu_burst_microseconds{pod}`: the CFS burst that goes with its limit
/// - `mbcas_pod_direction_changes_total{pod}`: moves that reversed the previous one (oscillation)
public final class PodClassMetrics: Sendable {
    private struct Series: Sendable {
        let weight: Gauge
        let share: Gauge
        let score: Gauge
        let burst: Gauge
        let reversals: Counter
        var classGauge: Gauge?
        var classLabels: (String, String)?
    }

    private let registry: PrometheusCollectorRegistry
    private let pods = Mutex<[String: Series]>([:])

    /// Creates the series on `registry` (they appear per pod on first use).
    public init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    /// One pod's state after a round.
    public func set(pod: String, weightShares: Int?, shareMillicores: Double?, latencyClass: String?, declared: Bool,
                    score: Double?, burstMicros: Int64?) {
        let (series, stale): (Series, Gauge?) = pods.withLock { pods in
            var series = pods[pod] ?? makeSeries(pod)
            var stale: Gauge?
            let labels = latencyClass.map { ($0, declared ? "declared" : "learned") }
            if series.classLabels.map({ $0 != labels! }) ?? (labels != nil) {
                stale = series.classGauge
                series.classGauge = labels.map {
                    registry.makeGauge(descriptor: Self.classDescriptor,
                                       labels: [("pod", pod), ("class", $0.0), ("source", $0.1)])
                }
                series.classLabels = labels
            }
            pods[pod] = series
            return (series, stale)
        }
        if let stale { registry.unregisterGauge(stale) }
        if let weightShares { series.weight.set(Double(weightShares)) }
        if let shareMillicores { series.share.set(shareMillicores) }
        if let score { series.score.set(score) }
        if let burstMicros { series.burst.set(Double(burstMicros)) }
        series.classGauge?.set(1.0)
    }

    /// Counts a move that reversed the pod's previous one.
    public func recordReversal(pod: String) {
        let series = pods.withLock { pods in
            let series = pods[pod] ?? makeSeries(pod)
            pods[pod] = series
            return series
        }
        series.reversals.increment()
    }

    /// Removes a pod's series.
    public func forget(pod: String) {
        guard let series = pods.withLock({ $0.removeValue(forKey: pod) }) else { return }
        for gauge in [series.weight, series.share, series.score, series.burst] + (series.classGauge.map { [$0] } ?? []) {
            registry.unregisterGauge(gauge)
        }
        registry.unregisterCounter(series.reversals)
    }

    private func makeSeries(_ pod: String) -> Series {
        let labels = [("pod", pod)]
        func gauge(_ name: String, _ unit: String, _ help: String) -> Gauge {
            registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "mbcas", metricName: name, unitName: unit,
                                                                helpText: help), labels: labels)
        }
        return Series(
            weight: gauge("pod_cpu_weight", "shares", "The pod's CFS weight as last written by MBCAS, in cpu.shares units."),
            share: gauge("pod_share", "millicores", "The pod's share of the node budget under full contention."),
            score: gauge("pod_latency", "score", "The class learner's evidence that the pod is latency-sensitive, 0 to 1."),
            burst: gauge("pod_cpu_burst", "microseconds", "The CFS burst set with the pod's limit."),
            reversals: registry.makeCounter(
                descriptor: MetricNameDescriptor(namespace: "mbcas", metricName: "pod_direction_changes", unitName: "total",
                                                 helpText: "Weight or limit moves that reversed the pod's previous move."),
                labels: labels),
            classGauge: nil, classLabels: nil)
    }

    private static var classDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(namespace: "mbcas", metricName: "pod_latency_class",
                             helpText: "1 for the pod's latency class in force (latency or batch), declared or learned.")
    }
}
