import Cgroups
import Foundation
import KernelProbe
import KubernetesClient
import Logging
import MonotonicTime
import NodeAgent
import Synchronization

/// Kubernetes mode's actuator: the agent's decisions become PodAllocations (one per pod, same
/// name, owner-referenced to the pod), which the controller applies through `pods/resize`.
///
/// `apply` runs on the ring-buffer thread, so it only records the decision (the latest one per
/// pod wins) and wakes the writer: no I/O, no waiting. ``run()`` writes off the hot path, at most
/// one write per pod per `minInterval`, with server-side apply (one idempotent request, no read,
/// no conflicts). While the API is unreachable nothing piles up: each pod holds one pending
/// decision, and when the API is back every pod's latest decision is written.
public final class PodAllocationWriter: Actuator {
    /// What `kubectl get podallocations -o yaml` shows as the spec's manager.
    public static let fieldManager = "mbcas-agent"
    /// Where the kernel time of the triggering stall goes (CLOCK_MONOTONIC ns; node-local).
    public static let stallAnnotation = "mbcas.io/stall-monotonic-ns"
    /// When `--direct-cgroup-raise` wrote the pod cgroup for that stall (CLOCK_MONOTONIC ns).
    public static let directRaiseAnnotation = "mbcas.io/direct-raise-monotonic-ns"
    /// Per pod, after a failed write (the API's Retry-After wins).
    private static let backoff = RetryPolicy(initialBackoff: .milliseconds(200), maxBackoff: .seconds(10))

    private struct State {
        var pending: [String: LimitChange] = [:]
        var desired: [String: Int] = [:]
        /// Pod → (cgroup path, limit) of the last decision written, to match the cluster's answer.
        var written: [String: (path: String, limit: Int)] = [:]
        var notBefore: [String: ContinuousClock.Instant] = [:]
        var failures: [String: Int] = [:]
        /// Pod → the stall of its last direct raise and when that wrote the pod cgroup.
        var directWrittenAt: [String: (stall: UInt64, at: UInt64)] = [:]
        /// Pods whose last decision the cluster refused since the last direct-raise pass.
        var refused: Set<String> = []
    }

    private let state = Mutex(State())
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private let client: APIClient
    private let pods: Informer<Pod>
    private let nodeName: String
    private let minInterval: Duration
    private let files: CgroupActuator
    private let logger: Logger
    private let written = Atomic<Int>(0)
    private let direct: DirectCgroupRaise?
    /// This node's PodAllocations (`fieldSelector=spec.nodeName=<node>`), for the controller's
    /// answers; ``KubernetesAgentService`` runs it and hands updates to ``observe(_:)``.
    public let allocations: Informer<PodAllocation>

    /// Creates a writer. `pods` resolves a decision's pod (`namespace/name`) to its object;
    /// `files` reads limits the agent has not decided yet (what the kubelet set).
    /// `directCgroupRaise`: also write guardrail raises straight into the pod's cgroups, held
    /// until the resize lands (see ``DirectCgroupRaise``).
    public init(client: APIClient, pods: Informer<Pod>, nodeName: String, files: CgroupActuator,
                minInterval: Duration = .milliseconds(500), directCgroupRaise: Bool = false, logger: Logger) {
        direct = directCgroupRaise ? DirectCgroupRaise(version: files.version) : nil
        self.client = client
        self.pods = pods
        self.nodeName = nodeName
        self.files = files
        self.minInterval = minInterval
        self.logger = logger
        allocations = Informer(client.resources(PodAllocation.self), options: ListOptions(fieldSelector: "spec.nodeName=\(nodeName)"),
                               logger: logger)
        (wakeups, wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Takes the controller's answer to a decision. When the cluster refused the last decision
    /// written for the pod (Failed: a 403 from a quota or LimitRange, a 422; Infeasible;
    /// Skipped), the pod keeps running with its old limit: the agent's intent for it is dropped,
    /// so ``currentLimit(cgroupPath:)`` reads the cgroup again and the agent's accounts follow
    /// what the pod really runs with. Returns true when that happened (the caller refreshes the
    /// agent's pods).
    @discardableResult
    public func observe(_ allocation: PodAllocation) -> Bool {
        guard let status = allocation.status, let phase = status.phase, [.failed, .infeasible, .skipped].contains(phase),
              status.observedGeneration == allocation.metadata.generation, let namespace = allocation.metadata.namespace else {
            return false
        }
        let pod = "\(namespace)/\(allocation.metadata.name)"
        let forgotten = state.withLock { s -> Bool in
            guard let last = s.written[pod], s.desired[last.path] == last.limit else { return false }
            s.desired[last.path] = nil
            s.written[pod] = nil
            return true
        }
        if forgotten { state.withLock { _ = $0.refused.insert(pod) } }
        if forgotten {
            logger.notice("the cluster refused a decision; the pod keeps its limit", metadata: [
                "pod": "\(pod)", "phase": "\(phase.rawValue)", "why": "\(status.message ?? "")",
            ])
        }
        return forgotten
    }

    /// PodAllocations written so far (for status and tests).
    public var writes: Int { written.load(ordering: .relaxed) }

    public func apply(_ change: LimitChange) throws(AgentError) {
        // The fast path: a pushed guardrail raise reaches the cgroups now (a few write(2)s, as in
        // standalone mode), the PodAllocation follows.
        var writtenAt: UInt64?
        if let direct, change.reason == .guardrail, change.newMillicores > change.oldMillicores, let pod = pods.object(change.pod) {
            writtenAt = direct.raise(pod: change.pod, object: pod, podCgroupPath: change.cgroupPath, millicores: change.newMillicores)
        }
        state.withLock { s in
            s.pending[change.pod] = change
            s.desired[change.cgroupPath] = change.newMillicores
            if let writtenAt { s.directWrittenAt[change.pod] = (change.stallTimestamp, writtenAt) }
        }
        wake.yield()
    }

    /// One pass over the direct raises held (``DirectCgroupRaise/reassert(now:landed:refused:)``):
    /// released once the pod's status reports limits that reach them, written back when the
    /// cluster refused the decision, re-asserted (boundedly) when the kubelet rewrote them.
    func reassertDirectRaises() {
        guard let direct else { return }
        let refused = state.withLock { s in
            defer { s.refused = [] }
            return s.refused
        }
        direct.reassert(landed: { key, hold in
            guard let pod = pods.object(key), let cpu = try? PodCPU(pod.spec) else { return true }  // gone: nothing to hold
            let actuated = pod.spec.containers.reduce(Int64(0)) { sum, container in
                let status = pod.status?.containerStatuses?.first { $0.name == container.name }
                return sum + (((try? status?.resources?.cpuLimit()) ?? nil)?.millicores ?? 0)
            }
            return actuated + cpu.sidecarLimits + cpu.overhead + 10 >= hold.podMillicores
        }, refused: { refused.contains($0) })
    }

    /// Direct raises held now (tests, status).
    public var directRaisesHeld: Int { direct?.held.count ?? 0 }

    /// The limit the agent last decided for this cgroup (the truth it acts on, even before the
    /// controller and kubelet have carried it out); otherwise what the cgroup file says.
    public func currentLimit(cgroupPath: String) throws(AgentError) -> Int? {
        if let desired = state.withLock({ $0.desired[cgroupPath] }) { return desired }
        return try files.currentLimit(cgroupPath: cgroupPath)
    }

    /// Decisions not written yet.
    public var pendingCount: Int { state.withLock { $0.pending.count } }

    /// Writes pending decisions until cancelled.
    public func run() async {
        var iterator = wakeups.makeAsyncIterator()
        while !Task.isCancelled {
            let (due, nextDue) = takeDue()
            for change in due { await write(change) }
            if !due.isEmpty { continue }
            if let nextDue {
                // Something waits for its rate limit or backoff: sleep until then (or a new decision).
                let sleeper = Task { try? await Task.sleep(until: nextDue); wake.yield() }
                _ = await iterator.next()
                sleeper.cancel()
            } else if await iterator.next() == nil {
                return
            }
        }
    }

    /// Removes and returns the decisions whose pod may be written now; and when the next one may.
    private func takeDue() -> ([LimitChange], ContinuousClock.Instant?) {
        let now = ContinuousClock.now
        return state.withLock { s in
            var due: [LimitChange] = []
            var next: ContinuousClock.Instant?
            for (pod, change) in s.pending {
                let at = s.notBefore[pod] ?? now
                if at <= now {
                    due.append(change)
                    s.pending[pod] = nil
                } else {
                    next = min(next ?? at, at)
                }
            }
            return (due.sorted { $0.pod < $1.pod }, next)
        }
    }

    private func write(_ change: LimitChange) async {
        guard let pod = pods.object(change.pod), let uid = pod.metadata.uid, let namespace = pod.metadata.namespace else {
            logger.debug("decision for a pod no longer known; dropped", metadata: ["pod": "\(change.pod)"])
            return
        }
        guard let containers = ContainerSplit.split(podLimit: Int64(change.newMillicores), spec: pod.spec) else {
            logger.warning("pod has a container without a CPU limit (its cgroup is unlimited); not written", metadata: ["pod": "\(change.pod)"])
            return
        }
        let latency = change.stallTimestamp == 0 ? 0 : Int64(monotonicNanos() &- change.stallTimestamp) / 1000
        var metadata = ObjectMeta(name: pod.metadata.name, namespace: namespace, ownerReferences: [
            OwnerReference(apiVersion: "v1", kind: "Pod", name: pod.metadata.name, uid: uid, controller: true, blockOwnerDeletion: false),
        ])
        metadata.labels = ["app.kubernetes.io/managed-by": "mbcas"]
        metadata.annotations = change.stallTimestamp == 0 ? nil : [Self.stallAnnotation: String(change.stallTimestamp)]
        // Only when the decision written is the one the direct raise carried out (a later one
        // won); "0" otherwise, so an earlier raise's time never stays beside a later stall.
        let direct = state.withLock { $0.directWrittenAt.removeValue(forKey: change.pod) }
        if self.direct != nil, change.stallTimestamp != 0 {
            metadata.annotations?[Self.directRaiseAnnotation] = direct.flatMap { $0.stall == change.stallTimestamp ? String($0.at) : nil } ?? "0"
        }
        let allocation = PodAllocation(metadata: metadata, spec: PodAllocationSpec(
            podName: pod.metadata.name, podUID: uid, nodeName: nodeName, containers: containers,
            reason: change.reason.rawValue, shadowPrice: change.shadowPrice.map { max(0, $0) },
            overcommit: change.overcommit?.rawValue,
            decisionLatencyMicroseconds: max(0, latency), decisionTime: Timestamp.microTime()))
        let started = ContinuousClock.now
        do throws(KubernetesError) {
            _ = try await client.resources(PodAllocation.self, namespace: namespace)
                .patch(pod.metadata.name, .apply(fieldManager: Self.fieldManager, force: true), allocation)
            written.add(1, ordering: .relaxed)
            state.withLock { s in
                s.written[change.pod] = (change.cgroupPath, change.newMillicores)
                s.notBefore[change.pod] = started + minInterval
                s.failures[change.pod] = nil
            }
            logger.debug("PodAllocation written", metadata: [
                "pod": "\(change.pod)", "limit": "\(change.newMillicores)m", "reason": "\(change.reason)",
            ])
        } catch {
            let failures = state.withLock { s in
                // Keep it unless a newer decision arrived meanwhile (the latest wins).
                if s.pending[change.pod] == nil { s.pending[change.pod] = change }
                let count = (s.failures[change.pod] ?? 0) + 1
                s.failures[change.pod] = count
                let backoff = Self.backoff.delay(afterAttempt: count, retryAfter: error.retryAfter)
                s.notBefore[change.pod] = ContinuousClock.now + max(backoff, .milliseconds(50))
                return count
            }
            if error.isRetryable {
                logger.warning("cannot write PodAllocation; will retry with the latest decision", metadata: [
                    "pod": "\(change.pod)", "attempt": "\(failures)", "error": "\(error.message)",
                ])
            } else {
                state.withLock { s in if s.pending[change.pod] == change { s.pending[change.pod] = nil } }
                logger.error("PodAllocation refused by the API; decision dropped", metadata: [
                    "pod": "\(change.pod)", "error": "\(error.message)",
                ])
            }
        }
    }

    /// Forgets pods the agent no longer manages.
    public func retain(pods names: Set<String>, cgroupPaths: Set<String>) {
        state.withLock { s in
            s.pending = s.pending.filter { names.contains($0.key) }
            s.desired = s.desired.filter { cgroupPaths.contains($0.key) }
            s.notBefore = s.notBefore.filter { names.contains($0.key) }
            s.failures = s.failures.filter { names.contains($0.key) }
            s.written = s.written.filter { names.contains($0.key) }
        }
    }
}
