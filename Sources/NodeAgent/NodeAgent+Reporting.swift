#if canImport(Glibc)
import Glibc
#endif
import Cgroups
import KernelProbe
import Logging
import Market
import MonotonicTime
import Synchronization

/// Logs, observers and the pinned allocation map.
extension NodeAgent {
    /// Logs an applied change and tells the observer. Runs on the
    /// ring-buffer thread for guardrail raises: nothing here is built unless
    /// it is logged, and the pinned map is updated by the next round instead.
    func applied(_ record: DecisionRecord, cgroupPath: String) {
        if logger.logLevel <= .info {
            var metadata: Logger.Metadata = ["pod": "\(record.pod)", "reason": "\(record.reason.rawValue)"]
            switch record.knob {
            case .limit: metadata["limit"] = "\(record.oldMillicores)m -> \(record.newMillicores)m"
            case .weight: metadata["weight"] = "\(record.oldMillicores) -> \(record.newMillicores) shares"
            }
            if let latencyClass = record.latencyClass { metadata["class"] = "\(latencyClass)" }
            if let evidence = record.evidence { metadata["evidence"] = "\(evidence)" }
            if let latency = record.latencyNanos { metadata["push_to_write_us"] = "\(Double(latency) / 1000)" }
            logger.info("decision", metadata: metadata)
        }
        observer?.applied(record)
    }

    /// The node's market as `mbcas top` and bpftool see it, from the state after a round at `at`.
    func marketRecord(_ s: AgentState, at: UInt64) -> NodeMarketRecord {
        NodeMarketRecord(
            capacityMillicores: UInt64(capacity), reserveMillicores: UInt64(configuration.reserveMillicores),
            allocatedMillicores: UInt64(max(0, s.allocatedMillicores)), shadowPrice: s.shadowPrice,
            rounds: s.rounds, decisions: UInt64(s.decisionsByReason.values.reduce(0, +)),
            updatedAt: at, agentPID: UInt64(getpid()))
    }

    /// What every round ends with, whichever actuation: the pinned maps, the health clock, the observer.
    func finishRound(_ report: RoundReport, market: NodeMarketRecord) {
        publishAllocations()
        lastRoundAt.store(monotonicNanos(), ordering: .relaxed)
        try? probe.agentState.publish(market)
        var report = report
        report.shadowPrice = market.shadowPrice
        observer?.roundFinished(report)
    }

    func publishAllocations() {
        let now = monotonicNanos()
        let records = state.withLock { s in
            s.table.pods.values.map { pod in (pod.cgroupID, allocationRecord(pod, state: s, now: now)) }
        }
        for (cgroupID, record) in records { try? probe.agentState.publish(cgroupID: cgroupID, record) }
    }

    /// What `mbcas top` and bpftool see of one pod.
    func allocationRecord(_ pod: ManagedPod, state s: AgentState, now: UInt64) -> PodAllocationRecord {
        let last = s.lastDecisions[pod.slot]
        var record = PodAllocationRecord(
            name: pod.name, limitMillicores: UInt64(max(0, pod.limit)), floorMillicores: UInt64(pod.settings.floor),
            capMillicores: UInt64(pod.settings.cap), updatedAt: last?.appliedAt ?? 0,
            lastLatencyNanos: last?.latencyNanos ?? 0, reason: last?.reason.rawValue ?? "")
        record.directionChanges = UInt32(clamping: s.reversalsLastMinute(pod.slot, now: now))
        if let plan = s.plans[pod.slot] {
            record.weightShares = UInt64(max(0, pod.weight ?? 0))
            record.shareMillicores = UInt64(max(0, plan.shareMillicores.rounded()))
            record.latencyScore = plan.evidence.score
            record.latencyClass = plan.latencyClass.rawValue + (plan.declared ? "*" : "")
            if actuator.setsBurst == true {
                record.burstMicros = UInt64(CPUBurst.micros(for: CPULimit(millicores: Int64(pod.limit)),
                                                            capMillicores: Int64(effectiveCap(pod.settings))))
            }
        }
        return record
    }

    /// The agent at this moment.
}
