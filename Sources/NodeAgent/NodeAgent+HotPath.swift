#if canImport(Glibc)
import Glibc
#endif
import Cgroups
import KernelProbe
import Logging
import Market
import MonotonicTime
import Synchronization

/// The ring-buffer thread's work: one pushed event at a time, inline.
extension NodeAgent {
    /// Handles one pushed event, inline on the ring-buffer thread.
    public func handle(_ event: StallEvent) {
        lastEventAt.store(event.receivedAt, ordering: .relaxed)
        observer?.observe(event)
        switch event.kind {
        case .throttleStart:
            onThrottle(cgroupID: event.cgroupID, stallTimestamp: event.stallStart)
            requestRound(stallTimestamp: event.stallStart)
        case .runQueueWait:
            requestRound(stallTimestamp: event.stallStart)
        case .throttleEnd:
            break
        }
    }

    /// A pod throttled: under weights actuation its limit goes to its cap if the limit is what holds
    /// it back; under limits actuation the guardrail raises it by a step from free headroom.
    func onThrottle(cgroupID: UInt64, stallTimestamp: UInt64?) {
        switch configuration.actuation {
        case .weights: raiseToCap(cgroupID: cgroupID, stallTimestamp: stallTimestamp)
        case .limits: guardrail(cgroupID: cgroupID, stallTimestamp: stallTimestamp)
        }
    }

    /// Runs the guardrail for the pod owning `cgroupID` and writes a raise at
    /// once. `stallTimestamp` (kernel time of the stall) is nil when the
    /// stall was found by polling, which cannot tell when it began.
    func guardrail(cgroupID: UInt64, stallTimestamp: UInt64?) {
        let now = monotonicNanos()
        let raise: (slot: PodSlot, change: LimitChange)? = state.withLock { s in
            guard let slot = s.table.slot(forCgroupID: cgroupID),
                  let decision = s.guardrail.onThrottle(slot, now: now),
                  let pod = s.table.pod(slot) else { return nil }
            return (slot, LimitChange(pod: pod.name, cgroupPath: pod.cgroupPath, oldMillicores: decision.oldLimit,
                                      newMillicores: decision.newLimit, reason: .guardrail,
                                      stallTimestamp: stallTimestamp ?? 0, capMillicores: pod.settings.cap))
        }
        guard let raise else { return }
        do {
            try actuator.apply(raise.change)
        } catch {
            state.withLock { $0.guardrail.setLimit(raise.slot, to: raise.change.oldMillicores) }
            logger.error("guardrail raise not applied", metadata: ["pod": "\(raise.change.pod)", "error": "\(error)"])
            return
        }
        let appliedAt = monotonicNanos()
        let record = DecisionRecord(pod: raise.change.pod, reason: .guardrail, oldMillicores: raise.change.oldMillicores,
                                    newMillicores: raise.change.newMillicores, appliedAt: appliedAt,
                                    latencyNanos: stallTimestamp.map { appliedAt &- $0 })
        state.withLock { $0.record(record, slot: raise.slot) }
        applied(record, cgroupPath: raise.change.cgroupPath)
    }

    /// Asks for a market round; only the first request of a round wakes the loop.
    func requestRound(stallTimestamp: UInt64) {
        guard !roundRequested.exchange(true, ordering: .acquiringAndReleasing) else { return }
        roundStallTimestamp.store(stallTimestamp, ordering: .relaxed)
        roundContinuation.yield()
    }
}
