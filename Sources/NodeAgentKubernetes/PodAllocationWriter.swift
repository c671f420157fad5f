import Cgroups
import Foundation
import KernelProbe
import KubernetesClient
import Logging
import Market
import MonotonicTime
import NodeAgent
import Synchronization

/// Kubernetes mode's actuator: the agent's decisions become PodAllocations (one per pod, same
/// name, owner-referenced to the pod), which the controller applies through `pods/resize`.
/// Under weights actuation a pod's decision has two parts, merged into one PodAllocation: the
/// request (the market's share: the kubelet derives the pod's CFS weight from it, and Σ requests
/// ≤ allocatable is the market's Σ xᵢ ≤ C) and the limit (the cap).
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
        var pendingWeights: [String: WeightChange] = [:]
        /// Cgroup path → the pod limit / pod request the agent decided last.
        var desired: [String: Int] = [:]
        var desiredRequests: [String: Int] = [:]
        /// Pod → its floor (its owner's request), written into the spec with every decision.
        var floors: [String: Int] = [:]
        /// Pod → (cgroup path, limit, request) of the last decision written, to match the cluster's answer.
        var written: [String: (path: String, limit: Int?, request: Int?)] = [:]
        var notBefore: [String: ContinuousClock.Instant] = [:]
        var failures: [String: Int] = [:]
        /// Pod → the stall of its last direct raise and when that wrote the pod cgroup.
        var directWrittenAt: [String: (stall: UInt64, at: UInt64)] = [:]
        /// Pods whose last decision the cluster refused (or the kubelet deferred) since the last direct-raise pass.
        var refused: Set<String> = []
        /// Pod → the PodAllocation generation last seen Deferred (logged once each).
        var deferred: [String: Int64?] = [:]
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
        direct = directCgroupRaise ? DirectCgroupRaise(version: files.version, logger: logger) : nil
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
    ///
    /// Deferred (the kubelet found no room on the node now, and retries as room frees up) keeps
    /// the intent, which the kubelet will carry out; meanwhile the pod runs with what the kubelet
    /// admitted before, so a direct raise held for it is given back to the kubelet's values (the
    /// agent does not run a pod above what the kubelet's admission allows), and it is logged once
    /// with the kubelet's words and the request the pod runs with.
    @discardableResult
    public func observe(_ allocation: PodAllocation) -> Bool {
        guard let status = allocation.status, let phase = status.phase, [.failed, .infeasible, .skipped, .deferred].contains(phase),
              status.observedGeneration == allocation.metadata.generation, let namespace = allocation.metadata.namespace else {
            return false
        }
        let pod = "\(namespace)/\(allocation.metadata.name)"
        if phase == .deferred {
            noteDeferred(pod, generation: allocation.metadata.generation, message: status.message)
            return false
        }
        let forgotten = state.withLock { s -> Bool in
            guard let last = s.written[pod], s.desired[last.path] == last.limit, s.desiredRequests[last.path] == last.request else {
                return false
            }
            s.desired[last.path] = nil
            s.desiredRequests[last.path] = nil
            s.written[pod] = nil
            return true
        }
        if forgotten { state.withLock { _ = $0.refused.insert(pod) } }
        if forgotten {
            logger.notice("the cluster refused a decision; the pod keeps its limit and request", metadata: [
                "pod": "\(pod)", "phase": "\(phase.rawValue)", "why": "\(status.message ?? "")",
            ])
        }
        return forgotten
    }

    /// Logs a deferred decision once per generation and releases a direct raise held for the pod.
    private func noteDeferred(_ pod: String, generation: Int64?, message: String?) {
        let first = state.withLock { s -> Bool in
            guard s.deferred[pod] != generation else { return false }
            s.deferred[pod] = generation
            s.refused.insert(pod)  // a direct raise goes back to what the kubelet admitted
            return true
        }
        guard first else { return }
        let object = pods.object(pod)
        let runsWith = object.flatMap { pod in
            pod.status?.containerStatuses?.compactMap { (try? $0.resources?.cpuRequest()) ?? nil }.map(\.description).joined(separator: "+")
        }
        logger.notice("the kubelet deferred the pod's resize: it runs with its old request until room frees up (the kubelet retries)", metadata: [
            "pod": "\(pod)", "runs_with_request": "\(runsWith.flatMap { $0.isEmpty ? nil : $0 } ?? "unknown")", "why": "\(message ?? "")",
        ])
    }

    /// PodAllocations written so far (for status and tests).
    public var writes: Int { written.load(ordering: .relaxed) }

    public func apply(_ change: LimitChange) throws(AgentError) {
        // The fast path: a pushed guardrail raise reaches the cgroups now (a few write(2)s, as in
        // standalone mode), the PodAllocation follows.
        var writtenAt: UInt64?
        if let direct, let pod = pods.object(change.pod) {
            if change.reason == .guardrail, change.newMillicores > change.oldMillicores {
                writtenAt = direct.raise(pod: change.pod, object: pod, podCgroupPath: change.cgroupPath, millicores: change.newMillicores)
                logDirectRaise(change.pod, "limit", "\(change.newMillicores)m", stall: change.stallTimestamp, writtenAt: writtenAt)
            } else if change.newMillicores < change.oldMillicores {
                direct.lower(pod: change.pod, object: pod, millicores: change.newMillicores)
            }
        }
        state.withLock { s in
            s.pending[change.pod] = change
            s.desired[change.cgroupPath] = change.newMillicores
            if let writtenAt { s.directWrittenAt[change.pod] = (change.stallTimestamp, writtenAt) }
        }
        wake.yield()
    }

    /// Records a weight decision (no I/O, as ``apply(_:)``): the pod's request becomes the market's
    /// share, never below its floor (the kubelet gives it the weight `CPUWeight(millicores:)` of
    /// that request).
    /// With `--direct-cgroup-raise`, a raise decided for a pushed stall also reaches the cgroups' weights now.
    public func applyWeight(_ change: WeightChange, version: CgroupVersion) throws(AgentError) {
        let request = Self.request(for: change)
        var writtenAt: UInt64?
        if let direct, let pod = pods.object(change.pod) {
            let current = state.withLock { $0.desiredRequests[change.cgroupPath] } ?? ((try? PodCPU(pod.spec).request).map(Int.init) ?? .max)
            if change.stallTimestamp != 0, request > current {
                writtenAt = direct.raiseWeight(pod: change.pod, object: pod, podCgroupPath: change.cgroupPath, podRequest: Int64(request))
                logDirectRaise(change.pod, "request", "\(request)m", stall: change.stallTimestamp, writtenAt: writtenAt)
            } else if request < current {
                direct.lowerWeight(pod: change.pod, object: pod, podRequest: Int64(request))
            }
        }
        state.withLock { s in
            s.pendingWeights[change.pod] = change
            s.desiredRequests[change.cgroupPath] = request
            s.floors[change.pod] = change.floorMillicores
            if let writtenAt { s.directWrittenAt[change.pod] = (change.stallTimestamp, writtenAt) }
        }
        wake.yield()
    }

    /// One line per direct raise (info), with the kernel stall → pod cgroup time the agent measured.
    private func logDirectRaise(_ pod: String, _ knob: String, _ value: String, stall: UInt64, writtenAt: UInt64?) {
        guard let writtenAt, stall != 0 else { return }  // the message and metadata are built only at info
        logger.info("direct raise", metadata: [
            "pod": "\(pod)", "\(knob)": "\(value)", "stall_to_cgroup_us": "\(Double(writtenAt &- stall) / 1000)",
        ])
    }

    /// The pod request a weight decision asks for, millicores: the share rounded down (Σ requests
    /// stays within the budget), never below the floor.
    static func request(for change: WeightChange) -> Int {
        max(change.floorMillicores, Int(change.shareMillicores.rounded(.down)))
    }

    /// The weight the kubelet gives the pod: from the request the agent decided last, else from
    /// the pod's own request (the pod found by the UID in its cgroup path), else what the pod
    /// cgroup holds (on cgroup v2 `cpu.weight` converts back to shares only roughly, which would
    /// make every pod look moved by more than the deadband).
    public func currentWeight(cgroupPath: String, version: CgroupVersion) -> Int? {
        if let request = state.withLock({ $0.desiredRequests[cgroupPath] }) { return CPUWeight(millicores: Double(request)).shares }
        if case .success(let identity) = KubeletPath.parseResult(cgroupPath),
           let pod = pods.objects.first(where: { $0.metadata.uid == identity.podUID }), let cpu = try? PodCPU(pod.spec) {
            return CPUWeight(millicores: Double(cpu.request)).shares
        }
        return try? CPUShares.read(cgroupPath: cgroupPath, version: version)
    }

    /// The kubelet owns the cgroup tree; the budget is kept by the requests.
    public var setsNodeBudget: Bool { false }

    /// The request the agent decided last for this cgroup, millicores (tests, status).
    public func desiredRequest(cgroupPath: String) -> Int? { state.withLock { $0.desiredRequests[cgroupPath] } }

    /// One pass over the direct raises held (``DirectCgroupRaise/reassert(now:landed:refused:)``):
    /// released once the pod's status reports the limits (quota) or requests (weight) that reach
    /// them, written back when the cluster refused the decision, re-asserted (boundedly) when the
    /// kubelet rewrote them.
    func reassertDirectRaises() {
        guard let direct else { return }
        let refused = state.withLock { s in
            defer { s.refused = [] }
            return s.refused
        }
        direct.reassert(landed: { key, hold in
            guard let pod = pods.object(key) else { return true }  // gone: nothing to hold
            return Self.actuated(hold.knob, of: pod).map { $0 + 10 >= hold.decided } ?? true
        }, refused: { refused.contains($0) })
    }

    /// What the kubelet reports it actuated for the pod, in the pod cgroup's terms (millicores):
    /// the pod limit (quota) or the pod request (weight), with the parts the regular containers'
    /// resources are not (native sidecars, RuntimeClass overhead) as in its spec; nil when the
    /// pod's CPU does not parse.
    static func actuated(_ knob: CgroupKnob, of pod: Pod) -> Int64? {
        guard let cpu = try? PodCPU(pod.spec) else { return nil }
        var fixed: Int64, actuated: Int64 = 0
        switch knob {
        case .quota: fixed = cpu.sidecarLimits + cpu.overhead
        case .weight: fixed = cpu.request
        }
        for container in pod.spec.containers {
            let status = pod.status?.containerStatuses?.first { $0.name == container.name }
            switch knob {
            case .quota:
                actuated += (((try? status?.resources?.cpuLimit()) ?? nil)?.millicores ?? 0)
            case .weight:
                let spec = ((try? container.resources?.cpuRequest()) ?? nil) ?? ((try? container.resources?.cpuLimit()) ?? nil)
                fixed -= spec?.millicores ?? 0
                actuated += (((try? status?.resources?.cpuRequest()) ?? nil)?.millicores ?? 0)
            }
        }
        return actuated + fixed
    }

    /// Direct raises held now, limits and weights (tests, status).
    public var directRaisesHeld: Int { direct?.held.count ?? 0 }

    /// The limit the agent last decided for this cgroup (the truth it acts on, even before the
    /// controller and kubelet have carried it out); otherwise what the cgroup file says.
    public func currentLimit(cgroupPath: String) throws(AgentError) -> Int? {
        if let desired = state.withLock({ $0.desired[cgroupPath] }) { return desired }
        return try files.currentLimit(cgroupPath: cgroupPath)
    }

    /// Decisions not written yet (pods with one).
    public var pendingCount: Int { state.withLock { Set($0.pending.keys).union($0.pendingWeights.keys).count } }

    /// Writes pending decisions until cancelled.
    public func run() async {
        var iterator = wakeups.makeAsyncIterator()
        while !Task.isCancelled {
            let (due, nextDue) = takeDue()
            for decision in due { await write(decision) }
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

    /// One pod's decision to write: a limit, a request, or both.
    struct Due: Sendable {
        var pod: String
        var limit: LimitChange?
        var weight: WeightChange?
        /// Whether it lowers the pod's request: written first, so that the room it frees on the
        /// node is there when the raises reach the kubelet (which defers a raise that does not fit).
        var lowersRequest = false
    }

    /// Removes and returns the decisions whose pod may be written now; and when the next one may.
    private func takeDue() -> ([Due], ContinuousClock.Instant?) {
        let now = ContinuousClock.now
        return state.withLock { s in
            var due: [Due] = []
            var next: ContinuousClock.Instant?
            for pod in Set(s.pending.keys).union(s.pendingWeights.keys) {
                let at = s.notBefore[pod] ?? now
                if at <= now {
                    let weight = s.pendingWeights.removeValue(forKey: pod)
                    let lowers = weight.map { change in
                        s.written[pod]?.request.map { Self.request(for: change) < $0 } ?? false
                    } ?? false
                    due.append(Due(pod: pod, limit: s.pending.removeValue(forKey: pod), weight: weight, lowersRequest: lowers))
                } else {
                    next = min(next ?? at, at)
                }
            }
            return (due.sorted { ($0.lowersRequest ? 0 : 1, $0.pod) < ($1.lowersRequest ? 0 : 1, $1.pod) }, next)
        }
    }

    private func write(_ decision: Due) async {
        let key = decision.pod
        guard let cgroupPath = decision.limit?.cgroupPath ?? decision.weight?.cgroupPath else { return }
        guard let pod = pods.object(key), let uid = pod.metadata.uid, let namespace = pod.metadata.namespace,
              let cpu = try? PodCPU(pod.spec), let ownLimit = cpu.limit else {
            logger.debug("decision for a pod no longer known or without a CPU limit; dropped", metadata: ["pod": "\(key)"])
            return
        }
        // Both parts of the pod's decision: what this one changes, and the agent's standing intent for the other.
        let (limit, request, floor) = state.withLock { s in
            (s.desired[cgroupPath] ?? Int(ownLimit), s.desiredRequests[cgroupPath], s.floors[key])
        }
        let podLimit = decision.limit?.newMillicores ?? limit
        guard let containers = ContainerSplit.split(podLimit: Int64(podLimit), podRequest: request.map(Int64.init), spec: pod.spec) else {
            logger.warning("pod has a container without a CPU limit (its cgroup is unlimited); not written", metadata: ["pod": "\(key)"])
            return
        }
        let stall = max(decision.limit?.stallTimestamp ?? 0, decision.weight?.stallTimestamp ?? 0)
        let reason = decision.limit?.reason ?? .weight
        let latency = stall == 0 ? 0 : Int64(monotonicNanos() &- stall) / 1000
        var metadata = ObjectMeta(name: pod.metadata.name, namespace: namespace, ownerReferences: [
            OwnerReference(apiVersion: "v1", kind: "Pod", name: pod.metadata.name, uid: uid, controller: true, blockOwnerDeletion: false),
        ])
        metadata.labels = ["app.kubernetes.io/managed-by": "mbcas"]
        metadata.annotations = stall == 0 ? nil : [Self.stallAnnotation: String(stall)]
        // Only when the decision written is the one the direct raise carried out (a later one
        // won); "0" otherwise, so an earlier raise's time never stays beside a later stall.
        let direct = state.withLock { $0.directWrittenAt.removeValue(forKey: key) }
        if self.direct != nil, stall != 0 {
            metadata.annotations?[Self.directRaiseAnnotation] = direct.flatMap { $0.stall == stall ? String($0.at) : nil } ?? "0"
        }
        let price = decision.limit?.shadowPrice ?? decision.weight?.shadowPrice
        let allocation = PodAllocation(metadata: metadata, spec: PodAllocationSpec(
            podName: pod.metadata.name, podUID: uid, nodeName: nodeName, containers: containers,
            reason: reason.rawValue, shadowPrice: price.map { max(0, $0) },
            overcommit: (decision.limit?.overcommit ?? decision.weight?.overcommit)?.rawValue,
            cpuFloor: floor.map { CPUQuantity(millicores: Int64($0)) },
            decisionLatencyMicroseconds: max(0, latency), decisionTime: Timestamp.microTime()))
        let started = ContinuousClock.now
        do throws(KubernetesError) {
            _ = try await client.resources(PodAllocation.self, namespace: namespace)
                .patch(pod.metadata.name, .apply(fieldManager: Self.fieldManager, force: true), allocation)
            written.add(1, ordering: .relaxed)
            state.withLock { s in
                s.written[key] = (cgroupPath, s.desired[cgroupPath], s.desiredRequests[cgroupPath])
                s.notBefore[key] = started + minInterval
                s.failures[key] = nil
            }
            logger.debug("PodAllocation written", metadata: [
                "pod": "\(key)", "limit": "\(podLimit)m", "request": "\(request.map { "\($0)m" } ?? "unchanged")", "reason": "\(reason)",
            ])
        } catch {
            let failures = state.withLock { s in
                // Keep it unless a newer decision arrived meanwhile (the latest wins).
                if s.pending[key] == nil, let limit = decision.limit { s.pending[key] = limit }
                if s.pendingWeights[key] == nil, let weight = decision.weight { s.pendingWeights[key] = weight }
                let count = (s.failures[key] ?? 0) + 1
                s.failures[key] = count
                let backoff = Self.backoff.delay(afterAttempt: count, retryAfter: error.retryAfter)
                s.notBefore[key] = ContinuousClock.now + max(backoff, .milliseconds(50))
                return count
            }
            if error.isRetryable {
                logger.warning("cannot write PodAllocation; will retry with the latest decision", metadata: [
                    "pod": "\(key)", "attempt": "\(failures)", "error": "\(error.message)",
                ])
            } else {
                state.withLock { s in
                    if let limit = decision.limit, s.pending[key] == limit { s.pending[key] = nil }
                    if let weight = decision.weight, s.pendingWeights[key] == weight { s.pendingWeights[key] = nil }
                }
                logger.error("PodAllocation refused by the API; decision dropped", metadata: [
                    "pod": "\(key)", "error": "\(error.message)",
                ])
            }
        }
    }

    /// Forgets pods the agent no longer manages.
    public func retain(pods names: Set<String>, cgroupPaths: Set<String>) {
        state.withLock { s in
            s.pending = s.pending.filter { names.contains($0.key) }
            s.pendingWeights = s.pendingWeights.filter { names.contains($0.key) }
            s.desired = s.desired.filter { cgroupPaths.contains($0.key) }
            s.desiredRequests = s.desiredRequests.filter { cgroupPaths.contains($0.key) }
            s.floors = s.floors.filter { names.contains($0.key) }
            s.notBefore = s.notBefore.filter { names.contains($0.key) }
            s.failures = s.failures.filter { names.contains($0.key) }
            s.written = s.written.filter { names.contains($0.key) }
            s.deferred = s.deferred.filter { names.contains($0.key) }
        }
    }
}
