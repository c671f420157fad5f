import Dispatch
import KernelProbe
import Market
import NodeAgent
import Synchronization

/// Watches the in-process agent: every pushed throttle start of the workload's cgroup (push
/// detection: the event's own kernel timestamp and receipt time), every throttle end (when each
/// episode ended, for matching the baselines), and every guardrail raise the
/// agent wrote (push reaction: the agent's own kernel-timestamp → cgroup-write latency).
///
/// Runs on the ring-buffer thread, inside `NodeAgent.handle`: it only appends to arrays
/// reserved up front, and wakes the restorer with a semaphore.
final class PushRecorder: AgentObserver {
    /// The cgroup whose episodes count (the workload's).
    let workCgroupID: UInt64
    private let starts = Mutex<[StallEvent]>([])
    private let ends = Mutex<[StallEvent]>([])
    private let reactions = Mutex<[UInt64]>([])
    private let otherDecisions = Atomic<Int>(0)
    /// Signalled once per guardrail raise, for the restorer.
    let raised = DispatchSemaphore(value: 0)

    /// A recorder for episodes of `workCgroupID`; `expected` sizes the arrays so recording does not
    /// reallocate during the run.
    init(workCgroupID: UInt64, expected: Int) {
        self.workCgroupID = workCgroupID
        starts.withLock { $0.reserveCapacity(expected) }
        ends.withLock { $0.reserveCapacity(expected) }
        reactions.withLock { $0.reserveCapacity(expected) }
    }

    func observe(_ event: StallEvent) {
        guard event.cgroupID == workCgroupID else { return }
        switch event.kind {
        case .throttleStart: starts.withLock { $0.append(event) }
        case .throttleEnd: ends.withLock { $0.append(event) }
        case .runQueueWait: break
        }
    }

    func applied(_ decision: DecisionRecord) {
        guard decision.reason == .guardrail, let latency = decision.latencyNanos else {
            otherDecisions.add(1, ordering: .relaxed)
            return
        }
        reactions.withLock { $0.append(latency) }
        raised.signal()
    }

    func roundFinished(_ report: RoundReport) {}

    /// Pushed throttle starts of the workload so far.
    var throttleStarts: [StallEvent] { starts.withLock { $0 } }
    /// Pushed throttle ends of the workload so far (batched by the probe: for the matching only).
    var throttleEnds: [StallEvent] { ends.withLock { $0 } }
    /// How many so far (cheap: for the progress line and the stop condition).
    var episodeCount: Int { starts.withLock { $0.count } }
    /// Guardrail push → write latencies, ns.
    var reactionLatencies: [UInt64] { reactions.withLock { $0 } }
    /// Decisions that were not guardrail raises (there should be none: market loops are off).
    var nonGuardrailDecisions: Int { otherDecisions.load(ordering: .relaxed) }
}
