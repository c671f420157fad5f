import Foundation
import KubernetesClient
import Logging
import Synchronization

/// What a reconcile asks of the queue afterwards.
enum ReconcileResult: Sendable, Hashable {
    /// Converged, or waiting for the cluster to change (an informer event brings the key back).
    case done
    /// Look again after this long (a cooldown that ends then).
    case requeue(after: Duration)
}

/// One PodAllocation, one pass: read the allocation and its pod (from the informer caches), work
/// out what the pod should run with, move it there through `pods/resize` if the rules allow,
/// and rebuild the allocation's status from what the pod then says.
///
/// Level-triggered and idempotent: the same cluster state gives the same status and no write,
/// whatever event brought the key here and however often. Every refusal becomes a phase with
/// a reason and a message, never an error, so nothing loops hot: the only errors are failed
/// API calls, which the queue retries with backoff. A 422 from `pods/resize` is final for that
/// generation of the allocation (`Failed`, not retried until the agent writes a new decision).
final class Reconciler: Sendable {
    private let client: APIClient
    private let configuration: ControllerConfiguration
    private let planner: ResizePlanner
    private let allocationCache: @Sendable (String) -> PodAllocation?
    private let podCache: @Sendable (String) -> Pod?
    private let gate: LeadershipGate
    private let stats: ControllerStats
    private let recorder: EventRecorder
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let allocationWrites = LocalWrites<PodAllocation>()
    private let podWrites = LocalWrites<Pod>()
    /// When this replica last resized each pod (allocation key → pod uid, the last resize, the
    /// last one that moved a limit): the cooldowns' precise starts. After a restart or a
    /// failover, `status.lastAppliedTime` stands in for both.
    private let lastResize = Mutex<[String: (uid: String, at: Date, limitsAt: Date?)]>([:])
    /// Resizes the API forbade (403, quota or LimitRange), per allocation key: how many in a row
    /// and when the next try may go out, so a pod over its quota is retried with a growing
    /// backoff, not on every watch event.
    private let forbidden = Mutex<[String: (refusals: Int, retryAt: Date)]>([:])

    init(client: APIClient, configuration: ControllerConfiguration, allocations: @escaping @Sendable (String) -> PodAllocation?,
         pods: @escaping @Sendable (String) -> Pod?, gate: LeadershipGate, stats: ControllerStats, logger: Logger,
         now: @escaping @Sendable () -> Date = { Date() }) {
        self.client = client
        self.configuration = configuration
        self.planner = ResizePlanner(configuration: configuration)
        self.allocationCache = allocations
        self.podCache = pods
        self.gate = gate
        self.stats = stats
        self.recorder = EventRecorder(client: client, component: configuration.component, instance: configuration.instance,
                                      logger: logger)
        self.logger = logger
        self.now = now
    }

    /// Reconciles the PodAllocation `key` (`namespace/name`).
    /// - Throws: ``KubernetesError`` for a failed API call (the queue retries the key with
    ///   backoff), ``NotLeading`` when the Lease was lost (the key is dropped with the queue).
    func reconcile(_ key: String) async throws -> ReconcileResult {
        stats.countReconcile()
        guard let allocation = allocationWrites.resolve(key, cached: allocationCache(key)) else {
            forget(key)
            return .done
        }
        guard allocation.metadata.deletionTimestamp == nil else { return .done }
        let generation = allocation.metadata.generation
        if allocation.status?.phase == .failed, allocation.status?.observedGeneration == generation,
           AllocationStatus.reason(of: allocation.status) == "ResizeFailed" {
            return .done  // the API found this decision invalid; wait for the agent's next one
        }
        if let retryAt = forbidden.withLock({ $0[key]?.retryAt }), retryAt > now() {
            return .requeue(after: Self.duration(retryAt.timeIntervalSince(now())))
        }
        let namespace = allocation.metadata.namespace ?? ""
        let podName = allocation.spec.podName.isEmpty ? allocation.metadata.name : allocation.spec.podName
        let podKey = "\(namespace)/\(podName)"
        // Pod gone: nothing to do; the allocation is garbage-collected with it (owner reference).
        guard let pod = podWrites.resolve(podKey, cached: podCache(podKey)) else {
            podWrites.forget(podKey)
            return .done
        }
        guard pod.metadata.deletionTimestamp == nil else { return .done }
        if podName != allocation.metadata.name {
            try await settle(allocation, pod: pod, Outcome(
                phase: .skipped, reason: "PodNameMismatch",
                message: "spec.podName is \(podName) but a PodAllocation must be named after its pod (\(allocation.metadata.name))"))
            return .done
        }

        switch planner.plan(allocation: allocation, pod: pod) {
        case .refuse(let refusal):
            try await settle(allocation, pod: pod, Outcome(phase: refusal.phase, reason: refusal.reason, message: refusal.message,
                                                           applied: applied(pod, allocation)))
            return .done
        case .converge(let targets) where targets.contains(where: \.changesSpec):
            // Two cooldowns: one for limits (a stale or flapping limit throttles: the thrash to
            // avoid), a short one for any resize (requests are weights, re-divided by the kernel
            // at once; it only bounds how often the kubelet is asked). A request change does not
            // wait for the limits' cooldown: it goes ahead alone, the limit follows when due.
            let cooldowns = cooldownEnds(key: key, pod: pod, allocation: allocation)
            let anyWait = Self.remaining(until: cooldowns.any, now: now())
            let limitWait = Self.movesLimits(targets) ? Self.remaining(until: cooldowns.limits, now: now()) : nil
            if anyWait == nil, let limitWait, let requestsOnly = requestsOnly(allocation, pod: pod) {
                // Back when the limit is due (or sooner, if the API forbade the request and set a backoff).
                if case .requeue(let after) = try await resize(allocation, pod: pod, targets: requestsOnly, key: key) {
                    return .requeue(after: min(after, limitWait))
                }
                return .requeue(after: limitWait)
            }
            if let wait = [limitWait, anyWait].compactMap({ $0 }).max() {
                let (resumeAt, cooldown) = limitWait == wait ? (cooldowns.limits, configuration.cooldown)
                    : (cooldowns.any, configuration.requestCooldown)
                try await settle(allocation, pod: pod, Outcome(
                    phase: .pending, reason: "Cooldown",
                    message: "next resize at \(Timestamp.time((resumeAt ?? now()).addingTimeInterval(0.999))), once the "
                        + "\(Self.text(cooldown)) cooldown since the last one\(limitWait == wait ? " that moved a limit" : "") "
                        + "has passed: \(Self.describe(targets))",
                    applied: applied(pod, allocation)))
                return .requeue(after: wait)
            }
            return try await resize(allocation, pod: pod, targets: targets, key: key)
        case .converge(let targets):
            let resizedAt = lastResize.withLock { $0[key].flatMap { $0.uid == pod.metadata.uid ? $0.at : nil } }
            let progress = ResizeProgress.of(pod, targets: targets, resizedAt: resizedAt)
            try await settle(allocation, pod: pod, outcome(for: progress, targets: targets,
                                                           pod: pod, allocation: allocation))
            return .done
        }
    }

    // MARK: - Resizing

    private func resize(_ allocation: PodAllocation, pod: Pod, targets: [ContainerTarget], key: String) async throws -> ReconcileResult {
        let namespace = pod.metadata.namespace ?? ""
        try gate.check()
        let resized: Pod
        switch try await patchResize(pod, targets: targets) {
        case .resized(let pod):
            resized = pod
        case .forbidden(let error):
            // A ResourceQuota or LimitRange said no: not final (quota frees up), so it is tried
            // again after a per-pod backoff; shown as Failed with the server's words meanwhile.
            let message = Self.apiMessage(error)
            let wait = forbidden.withLock { entries -> Duration in
                let refusals = (entries[key]?.refusals ?? 0) + 1
                let base = Self.seconds(configuration.forbiddenBackoff) * pow(2, Double(min(refusals - 1, 20)))
                let wait = Self.duration(min(base, max(300, Self.seconds(configuration.forbiddenBackoff))))  // at most 5 min
                entries[key] = (refusals, now().addingTimeInterval(Self.seconds(wait)))
                return wait
            }
            logger.warning("the API forbade the resize", metadata: ["podallocation": "\(key)", "error": "\(message)",
                                                                   "retryIn": "\(Self.text(wait))"])
            try await settle(allocation, pod: pod, Outcome(phase: .failed, reason: "Forbidden",
                                                           message: "\(message) (tried again in \(Self.text(wait)))",
                                                           applied: applied(pod, allocation)))
            return .requeue(after: wait)
        case .refused(let error):
            let message = Self.apiMessage(error)
            logger.warning("the API refused the resize", metadata: ["podallocation": "\(key)", "error": "\(message)"])
            try await settle(allocation, pod: pod, Outcome(phase: .failed, reason: "ResizeFailed", message: message,
                                                           applied: applied(pod, allocation)))
            return .done
        case .gone:
            return .done  // the pod went away meanwhile
        }
        stats.countResize()
        forbidden.withLock { $0[key] = nil }
        podWrites.record(resized, replacing: pod)
        if let uid = pod.metadata.uid {
            let at = now(), movedLimits = Self.movesLimits(targets)
            let inherited = Self.lastApplied(allocation)
            lastResize.withLock { entries in
                let earlier = entries[key].flatMap { $0.uid == uid ? $0.limitsAt : nil } ?? inherited
                entries[key] = (uid, at, movedLimits ? at : earlier)
            }
        }
        let change = Self.describe(targets, reason: allocation.spec.reason, maxStepUp: configuration.maxStepUp,
                                   maxStepDown: configuration.maxStepDown)
        logger.info("resized", metadata: ["pod": "\(namespace)/\(pod.metadata.name)", "change": "\(change)"])
        if await recorder.record(.normal, reason: "Resized", message: change, on: pod, now: now()) { stats.countEvent() }
        try await settle(allocation, pod: resized, Outcome(
            phase: .pending, reason: "ResizeRequested",
            message: "asked for \(Self.describe(targets)); waiting for the kubelet", applied: applied(resized, allocation)))
        return .done
    }

    private enum PatchAnswer {
        case resized(Pod)
        /// 422: the API server's validation said no; retrying the same patch cannot help.
        case refused(KubernetesError)
        /// 403 from admission (ResourceQuota, LimitRanger): may pass later.
        case forbidden(KubernetesError)
        case gone
    }

    /// PATCH `pods/resize`.
    private func patchResize(_ pod: Pod, targets: [ContainerTarget]) async throws(KubernetesError) -> PatchAnswer {
        do {
            return .resized(try await client.resources(Pod.self, namespace: pod.metadata.namespace)
                .patch(pod.metadata.name, .strategicMerge, ResizePatch(targets), subresource: "resize"))
        } catch {
            if error.isInvalid { return .refused(error) }
            if error.httpStatus == 403 { return .forbidden(error) }
            if error.isNotFound { return .gone }
            throw error
        }
    }

    /// The phase the kubelet's progress on targets already in the spec means.
    private func outcome(for progress: ResizeProgress, targets: [ContainerTarget], pod: Pod, allocation: PodAllocation) -> Outcome {
        let values = Self.describe(targets)
        let stepping = targets.contains(where: \.clamped)
            ? " (a step toward \(targets.map { "\($0.name) \($0.desiredLimit)" }.joined(separator: ", ")); the maximum step allows no more per resize)"
            : ""
        let applied = applied(pod, allocation)
        switch progress {
        case .applied where stepping.isEmpty:
            return Outcome(phase: .applied, reason: "Applied", message: "the pod runs with \(values)", applied: applied)
        case .applied:
            return Outcome(phase: .pending, reason: "Stepping", message: "the pod runs with \(values)\(stepping)", applied: applied)
        case .inProgress(let detail):
            return Outcome(phase: .pending, reason: "InProgress",
                           message: "the kubelet is resizing the pod to \(values)\(Self.suffix(detail))\(stepping)", applied: applied)
        case .deferred(let detail):
            return Outcome(phase: .deferred, reason: "Deferred",
                           message: "the kubelet deferred the resize to \(values)\(Self.suffix(detail))\(stepping)", applied: applied)
        case .infeasible(let detail):
            return Outcome(phase: .infeasible, reason: "Infeasible",
                           message: "the kubelet cannot resize the pod to \(values) on this node\(Self.suffix(detail))", applied: applied)
        case .waiting:
            return Outcome(phase: .pending, reason: "WaitingForKubelet",
                           message: "the pod's spec has \(values); the kubelet has not reported it yet\(stepping)", applied: applied)
        }
    }

    /// When the pod's cooldowns end: the limits' (`cooldown` after the last resize that moved a
    /// limit) and any resize's (`requestCooldown` after the last one, or after
    /// `status.lastAppliedTime` if later: another replica may have resized since). Without this
    /// replica's own record (a restart, a failover), the limits' counts from
    /// `status.lastAppliedTime` too; with it, not (that time also moves on requests-only resizes).
    private func cooldownEnds(key: String, pod: Pod, allocation: PodAllocation) -> (limits: Date?, any: Date?) {
        let own = lastResize.withLock { entries in entries[key].flatMap { $0.uid == pod.metadata.uid ? $0 : nil } }
        let fallback = Self.lastApplied(allocation)
        let limitsAt = own.map { $0.limitsAt } ?? fallback
        let anyAt = [own?.at, fallback].compactMap { $0 }.max()
        func end(_ start: Date?, _ cooldown: Duration) -> Date? {
            cooldown > .zero ? start.map { $0.addingTimeInterval(Self.seconds(cooldown)) } : nil
        }
        return (end(limitsAt, configuration.cooldown), end(anyAt, configuration.requestCooldown))
    }

    /// The decision's request changes alone, each limit left where the spec has it: what may go
    /// ahead while a limit change waits for its cooldown. Nil when there are none, or when the
    /// rules (QoS, restarts) would not allow them on their own.
    private func requestsOnly(_ allocation: PodAllocation, pod: Pod) -> [ContainerTarget]? {
        var held = allocation
        for index in held.spec.containers.indices {
            let name = held.spec.containers[index].name
            guard held.spec.containers[index].cpuRequest != nil,
                  let container = pod.spec.containers.first(where: { $0.name == name }),
                  let current = try? container.resources?.cpuLimit() else { return nil }
            held.spec.containers[index].cpuLimit = current
        }
        guard case .converge(let targets) = planner.plan(allocation: held, pod: pod),
              targets.contains(where: \.changesSpec), !Self.movesLimits(targets) else { return nil }
        return targets
    }

    private static func movesLimits(_ targets: [ContainerTarget]) -> Bool {
        targets.contains { $0.changesSpec && $0.limit != $0.currentLimit }
    }

    private static func lastApplied(_ allocation: PodAllocation) -> Date? {
        allocation.status?.lastAppliedTime.flatMap(Timestamp.parse)
    }

    /// How long until `end`, as a requeue delay (rounded up, plus a little); nil if it has passed.
    private static func remaining(until end: Date?, now: Date) -> Duration? {
        guard let wait = end?.timeIntervalSince(now), wait > 0 else { return nil }
        return .milliseconds(Int64((wait * 1000).rounded(.up)) + 5)
    }

    // MARK: - Status and events

    /// Writes the status `outcome` implies, if it differs from the stored one, and records a
    /// Warning Event when it newly refuses the allocation.
    private func settle(_ allocation: PodAllocation, pod: Pod, _ outcome: Outcome) async throws {
        let old = allocation.status
        let generation = allocation.metadata.generation
        let status = AllocationStatus.build(from: outcome, old: old, generation: generation, now: now())
        guard status != old else { return }
        try gate.check()
        var updated = allocation
        updated.status = status
        guard let written = try await writeStatus(updated) else { return }  // deleted meanwhile
        allocationWrites.record(written, replacing: allocation)
        stats.countStatusWrite()
        let changed = old?.phase != status.phase || AllocationStatus.reason(of: old) != outcome.reason
            || old?.observedGeneration != generation
        if changed {
            logger.debug("podallocation status", metadata: [
                "podallocation": "\(allocation.key)", "phase": "\(outcome.phase.rawValue)", "reason": "\(outcome.reason)",
                "message": "\(outcome.message)",
            ])
        }
        if changed, let warning = outcome.reason == "Forbidden" ? "ResizeForbidden" : Self.warningReason(outcome.phase) {
            if await recorder.record(.warning, reason: warning, message: outcome.message, on: pod, now: now()) { stats.countEvent() }
        } else if changed, outcome.phase == .deferred {
            // Normal, not Warning: the kubelet retries a deferred resize by itself as room frees up
            // (the kubelet's own event for it, ResizeDeferred, is Normal too). The message carries its words.
            if await recorder.record(.normal, reason: "ResizeDeferred", message: outcome.message, on: pod, now: now()) { stats.countEvent() }
        }
    }

    /// PATCH `podallocations/status` with one JSON Patch operation, `add /status` (which replaces
    /// a status that exists): no `resourceVersion` precondition, so a spec the agent wrote in the
    /// meantime does not make it 409 (a PUT would, as the real server checks the precondition
    /// against the whole object), and the whole status is replaced, so fields that went away
    /// go (a merge patch would keep them unless sent as null). Nil when the allocation is gone.
    private func writeStatus(_ allocation: PodAllocation) async throws(KubernetesError) -> PodAllocation? {
        do {
            let status = try client.encode(allocation.status)
            let body = Array(#"[{"op":"add","path":"/status","value":"#.utf8) + status + Array("}]".utf8)
            return try await client.resources(PodAllocation.self, namespace: allocation.metadata.namespace)
                .patch(allocation.metadata.name, .json, body: body, subresource: "status")
        } catch {
            if error.isNotFound { return nil }
            throw error
        }
    }

    /// The Warning Event reason of a refusing phase; nil for the others.
    static func warningReason(_ phase: PodAllocationStatus.Phase) -> String? {
        switch phase {
        case .skipped: "Skipped"
        case .infeasible: "Infeasible"
        case .failed: "ResizeFailed"
        case .pending, .applied, .deferred: nil
        }
    }

    private func applied(_ pod: Pod, _ allocation: PodAllocation) -> [ContainerAllocation]? {
        ResizeProgress.appliedContainers(of: pod, names: allocation.spec.containers.map(\.name))
    }

    private func forget(_ key: String) {
        allocationWrites.forget(key)
        lastResize.withLock { $0[key] = nil }
        forbidden.withLock { $0[key] = nil }
    }

    // MARK: - Text

    /// The Status message the API server sent, without the client's "METHOD url: code reason:" prefix.
    static func apiMessage(_ error: KubernetesError) -> String {
        if let code = error.httpStatus {
            let marker = "\(code) \(error.reason ?? ""): "
            if let range = error.message.range(of: marker) { return String(error.message[range.upperBound...]) }
        }
        return error.message
    }

    /// "cpu limit 750m for app, cpu limit 1 (request 500m) for sidecar".
    static func describe(_ targets: [ContainerTarget]) -> String {
        targets.map { target in
            "cpu limit \(target.limit)" + (target.resultingRequest.map { " (request \($0))" } ?? "") + " for \(target.name)"
        }.joined(separator: ", ")
    }

    /// The Resized Event's message: "cpu limit 500m → 750m for container app (guardrail)"; a step
    /// the maximum step cut short says where it is going: "(guardrail; step toward 3, at most ×2
    /// per resize)".
    static func describe(_ targets: [ContainerTarget], reason: String?, maxStepUp: Double, maxStepDown: Double) -> String {
        let changed = targets.filter(\.changesSpec)
        let changes = changed.map { target in
            var parts: [String] = []
            if target.limit != target.currentLimit { parts.append("cpu limit \(target.currentLimit.map(\.description) ?? "none") → \(target.limit)") }
            if let request = target.request, request != target.currentRequest {
                parts.append("\(parts.isEmpty ? "cpu " : "")request \(target.currentRequest.map(\.description) ?? "none") → \(request)")
            }
            return parts.joined(separator: ", ") + " for container \(target.name)"
        }
        let steps = changed.filter(\.clamped).map { target in
            let factor = target.desiredLimit > target.limit ? maxStepUp : maxStepDown
            let note = "step toward \(target.desiredLimit), at most ×\(Self.text(factor)) per resize"
            return changed.count > 1 ? "\(target.name): \(note)" : note
        }
        let why = reason.flatMap { $0.isEmpty ? nil : $0 } ?? "no reason given"
        return changes.joined(separator: "; ") + " (" + ([why] + steps).joined(separator: "; ") + ")"
    }

    private static func suffix(_ detail: String?) -> String {
        detail.flatMap { $0.isEmpty ? nil : ": \($0)" } ?? ""
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static func duration(_ seconds: Double) -> Duration { .milliseconds(Int64((max(0, seconds) * 1000).rounded(.up))) }

    static func text(_ duration: Duration) -> String { "\(text(seconds(duration)))s" }

    static func text(_ value: Double) -> String {
        value == value.rounded() ? String(Int64(value)) : String(format: "%g", value)
    }
}

/// The `pods/resize` body: a strategic merge patch that names each changed container (merged
/// by name, so the other containers and the other resources stay as they are) with its new cpu
/// limit and, when it changes, request.
struct ResizePatch: Encodable, Sendable {
    struct Resources: Encodable, Sendable {
        var limits: [String: String]
        var requests: [String: String]?
    }

    struct ContainerPatch: Encodable, Sendable {
        var name: String
        var resources: Resources
    }

    struct Spec: Encodable, Sendable {
        var containers: [ContainerPatch]
    }

    var spec: Spec

    init(_ targets: [ContainerTarget]) {
        spec = Spec(containers: targets.filter(\.changesSpec).map { target in
            let request = target.request.flatMap { $0 != target.currentRequest ? ["cpu": $0.description] : nil }
            return ContainerPatch(name: target.name, resources: Resources(limits: ["cpu": target.limit.description], requests: request))
        })
    }
}
