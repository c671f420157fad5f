#if canImport(Glibc)
import Glibc
#endif
import Cgroups
import KernelProbe
import Logging
import Market
import Synchronization

/// Logs, observers and the pinned allocation map.
extension NodeAgent {
    /// Logs an applied change and tells the observer. Runs on the
    /// ring-buffer thread for guardrail raises: nothing here is built unless
    /// it is logged, and the pinned map is updated by the next round instead.
    func applied(_ record: DecisionRecord, cgroupPath: String) {
        if logger.logLevel <= .info {
            var metadata: Logger.Metadata = [
                "pod": "\(record.pod)", "limit": "\(record.oldMillicores)m -> \(record.newMillicores)m",
                "reason": "\(record.reason.rawValue)",
            ]
            if let latency = record.latencyNanoseconds { metadata["push_to_write_us"] = "\(Double(latency) / 1000)" }
            logger.info("decision", metadata: metadata)
        }
        observer?.applied(record)
    }

    func publishAllocations() {
        let pods = state.withLock { s in s.table.pods.values.map { ($0, s.lastDecisions[$0.slot]) } }
        for (pod, record) in pods { publish(pod, record: record) }
    }

    func publish(_ pod: ManagedPod, record: DecisionRecord?) {
        try? probe.agentState.publish(cgroupID: pod.cgroupID, PodAllocationRecord(
            name: pod.name, limitMillicores: UInt64(max(0, pod.limit)), floorMillicores: UInt64(pod.settings.floor),
            capMillicores: UInt64(pod.settings.cap), updatedAt: record?.appliedAt ?? 0,
            lastLatencyNanoseconds: record?.latencyNanoseconds ?? 0, reason: record?.reason.rawValue ?? ""))
    }

    /// The agent at this moment.
}
