import KernelProbe
import MetricsEndpoint
import NodeAgent
import Synchronization

/// Feeds what the agent does into its Prometheus series.
public final class MetricsObserver: AgentObserver {
    private let metrics: AgentMetrics
    private let classes: PodClassMetrics?
    /// Each pod's cumulative totals at the previous round: counters take increments.
    private let previous = Mutex<[String: PodReport]>([:])

    /// Creates an observer over `metrics` and, under weights actuation, `classes`.
    public init(metrics: AgentMetrics, classes: PodClassMetrics? = nil) {
        self.metrics = metrics
        self.classes = classes
    }

    public func observe(_ event: StallEvent) {
        switch event.kind {
        case .throttleStart: metrics.recordEvent(kind: .throttleStart)
        case .throttleEnd: metrics.recordEvent(kind: .throttleEnd)
        case .runQueueWait: metrics.recordEvent(kind: .runQueueWait)
        }
    }

    public func applied(_ decision: DecisionRecord) {
        // The latency histogram is the guardrail's push → write path; market
        // decisions wait for a debounced round and are only counted.
        metrics.recordDecision(reason: decision.reason.rawValue,
                               latencyNanos: decision.reason == .guardrail ? decision.latencyNanos : nil)
        metrics.setLimit(pod: decision.pod, millicores: decision.newMillicores)
    }

    public func roundFinished(_ report: RoundReport) {
        let gone: [String] = previous.withLock { last in
            for pod in report.pods {
                let known = last[pod.name]
                // First sight: no increments yet, and every reversal so far counts.
                let before = known ?? { var first = pod; first.directionChanges = 0; return first }()
                // Idle pods (most of them, on a busy node) cost no series update.
                if known == nil || pod.throttledNanos != before.throttledNanos || pod.waitNanos != before.waitNanos
                    || pod.runNanos != before.runNanos || pod.episodes != before.episodes {
                    // Saturating: a pod's totals shrink when a container cgroup of it goes away.
                    metrics.recordStall(pod: pod.name, throttledNanos: pod.throttledNanos.saturatingMinus(before.throttledNanos),
                                        waitNanos: pod.waitNanos.saturatingMinus(before.waitNanos),
                                        runNanos: pod.runNanos.saturatingMinus(before.runNanos),
                                        episodes: pod.episodes.saturatingMinus(before.episodes))
                }
                for _ in 0..<min(pod.directionChanges &- min(before.directionChanges, pod.directionChanges), 1000) {
                    classes?.recordReversal(pod: pod.name)
                }
                let classUnchanged = known.map {
                    $0.weightShares == pod.weightShares && $0.shareMillicores == pod.shareMillicores
                        && $0.latencyClass == pod.latencyClass && $0.classDeclared == pod.classDeclared
                        && $0.latencyScore == pod.latencyScore && $0.burstMicros == pod.burstMicros
                } ?? false
                if !classUnchanged, pod.latencyClass != nil || pod.weightShares != nil {
                    classes?.set(pod: pod.name, weightShares: pod.weightShares, shareMillicores: pod.shareMillicores,
                                 latencyClass: pod.latencyClass?.rawValue, declared: pod.classDeclared,
                                 score: pod.latencyScore, burstMicros: pod.burstMicros)
                }
            }
            let current = Set(report.pods.map(\.name))
            let gone = last.keys.filter { !current.contains($0) }
            last = Dictionary(uniqueKeysWithValues: report.pods.map { ($0.name, $0) })
            return gone
        }
        for pod in gone {
            metrics.forget(pod: pod)
            classes?.forget(pod: pod)
        }
        metrics.setShadowPrice(report.shadowPrice)
        metrics.observeRingBufferDrops(total: report.ringBufferDrops)
    }
}
