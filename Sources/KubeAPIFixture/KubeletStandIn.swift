public import Logging
import Synchronization

/// Plays the kubelet of one node against an ``ObjectStore`` (directly, no HTTP), for in-place
/// pod resize: no real kubelet can run on the test machines, yet the controller under test
/// follows the pod's resize conditions and `status.containerStatuses[].resources`.
///
/// It watches the pods bound to its node. Whenever a started pod's desired container resources
/// (`spec.containers[].resources`) differ, as quantities, from what it last actuated
/// (`status.containerStatuses[].resources`), it asks ``policy``:
/// - `.accept`: writes `PodResizeInProgress`, awaits the `actuate` closure (the end-to-end test
///   writes a real cgroup's CPU limit there), then records the new resources (see
///   ``KubeletStatus``). If `actuate` throws, `PodResizeInProgress` gets reason `Error` and the
///   error's description, and the resize is retried at the next re-evaluation, as the kubelet
///   retries a failed actuation;
/// - `.deferred(message)` / `.infeasible(message)`: writes `PodResizePending` with reason
///   `Deferred` / `Infeasible`.
///
/// Deferred resizes are re-evaluated every `reevaluationInterval`, at once when ``policy``
/// changes, and on ``retry()``. Infeasible ones wait for a new spec generation. Every status
/// write goes through the store's `/status` rules, so revisions advance and watches see it.
///
/// Pods start with status `Pending` and no container statuses; the stand-in only resizes started
/// pods. ``markRunning(namespace:name:)`` starts one; `startsPendingPods` starts every pod
/// bound to the node as it appears.
///
/// Call ``stop()`` when done: the stand-in keeps running (and itself alive) until then.
public final class KubeletStandIn: Sendable {
    /// Decides a resize; called off the store's lock, from the stand-in's task.
    public typealias Policy = @Sendable (PodResize) -> ResizeDecision
    /// Makes a resize real (e.g. writes a cgroup limit). Throwing fails the attempt.
    public typealias Actuator = @Sendable (PodResize) async throws -> Void
    /// The kubelet's pod sync (and the runtime's container update it drives): called on every
    /// pass for each started pod of the node, with the pod as stored, so a test can rewrite the
    /// pod and container cgroups from the resources the kubelet actuated
    /// (`status.containerStatuses[].resources`), as `SyncPod` → `UpdatePodCgroup` /
    /// `UpdateContainerResources` do whatever wrote them meanwhile.
    public typealias Sync = @Sendable (JSON) async -> Void

    /// The node whose pods this kubelet runs (`spec.nodeName`).
    public let nodeName: String
    private let store: ObjectStore
    private let actuate: Actuator
    private let startsPendingPods: Bool
    private let conditionsCarryGeneration: Bool
    private let sync: Sync?
    private let logger: Logger
    private let currentPolicy: Mutex<Policy>
    private let triggers: AsyncStream<Void>.Continuation
    private let watchID: Mutex<Int?>
    private let tasks = Mutex<[Task<Void, Never>]>([])
    /// Pod uid → the generation last found Infeasible (for the 1.33 mode, whose conditions do not say).
    private let infeasibleGeneration = Mutex<[String: Int64]>([:])

    /// Starts watching the store's pods on `nodeName`, with nothing to actuate: the resize is
    /// reported done as soon as the policy accepts it.
    public convenience init(store: ObjectStore, nodeName: String, policy: @escaping Policy = { _ in .accept },
                            reevaluationInterval: Duration = .milliseconds(250), startsPendingPods: Bool = false,
                            conditionsCarryGeneration: Bool = true, logger: Logger = Logger(label: "kubelet-stand-in")) {
        self.init(store: store, nodeName: nodeName, policy: policy, reevaluationInterval: reevaluationInterval,
                  startsPendingPods: startsPendingPods, conditionsCarryGeneration: conditionsCarryGeneration, logger: logger) { _ in }
    }

    /// Starts watching the store's pods on `nodeName`. `conditionsCarryGeneration` false plays a
    /// 1.33 kubelet, whose resize conditions carry no `observedGeneration`.
    ///
    /// `actuate` has no default (the initializer without it is the no-op one) so that a trailing
    /// closure is always the actuator, never the policy:
    /// `KubeletStandIn(store: store, nodeName: "n") { resize in ... }`.
    public init(store: ObjectStore, nodeName: String, policy: @escaping Policy = { _ in .accept },
                reevaluationInterval: Duration = .milliseconds(250), startsPendingPods: Bool = false,
                conditionsCarryGeneration: Bool = true, sync: Sync? = nil, logger: Logger = Logger(label: "kubelet-stand-in"),
                actuate: @escaping Actuator) {
        self.conditionsCarryGeneration = conditionsCarryGeneration
        self.sync = sync
        self.store = store
        self.nodeName = nodeName
        self.actuate = actuate
        self.startsPendingPods = startsPendingPods
        self.logger = logger
        currentPolicy = Mutex(policy)
        // Triggers coalesce: one pass looks at every pod, so one pending pass is enough.
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        triggers = continuation
        watchID = Mutex(try? store.watch(.pods, namespace: nil, resourceVersion: nil, labels: LabelSelector(),
                                         fields: FieldSelector(), sink: { _ in continuation.yield() }))
        let loop = Task { [self] in
            for await _ in stream { await reconcile() }
        }
        let ticker = Task {
            while (try? await Task.sleep(for: reevaluationInterval)) != nil { continuation.yield() }
        }
        tasks.withLock { $0 = [loop, ticker] }
    }

    /// What to do with resizes; setting it re-evaluates pending resizes at once.
    public var policy: Policy {
        get { currentPolicy.withLock { $0 } }
        set {
            currentPolicy.withLock { $0 = newValue }
            retry()
        }
    }

    /// Re-evaluates every pod of the node now (e.g. after freeing room for a Deferred resize).
    public func retry() {
        triggers.yield()
    }

    /// Starts a pod as the kubelet would report it (see ``KubeletStatus/markRunning(_:)``),
    /// through `/status`.
    /// - Throws: 404 if the pod does not exist, 400 if it is bound to another node.
    @discardableResult
    public func markRunning(namespace: String, name: String, containerIDs: [String: String] = [:]) throws(StatusError) -> JSON {
        let node = nodeName
        return try store.modify(.pods, namespace: namespace, name: name, subresource: .status) { pod throws(StatusError) in
            let bound = pod[path: ["spec", "nodeName"]]?.string ?? ""
            guard bound == node else {
                throw StatusError.badRequest("pod \(namespace)/\(name) is bound to node \"\(bound)\", not to this kubelet's node \"\(node)\"")
            }
            var running = pod
            KubeletStatus.markRunning(&running, containerIDs: containerIDs)
            return running
        }
    }

    /// Stops watching and re-evaluating; waits for a resize in progress to finish.
    public func stop() async {
        if let id = watchID.withLock({ $0 }) { store.unwatch(id) }
        triggers.finish()
        let running = tasks.withLock { $0 }
        running.last?.cancel()
        for task in running { await task.value }
    }

    // MARK: - Reconciling

    private func reconcile() async {
        let pods = (try? store.list(.pods, namespace: nil, options: ListOptions(labelSelector: LabelSelector(), fieldSelector: FieldSelector())))?["items"]?.array ?? []
        for pod in pods where pod[path: ["spec", "nodeName"]]?.string == nodeName {
            await reconcile(pod)
            if let sync, pod[path: ["status", "containerStatuses"]] != nil { await sync(pod) }
        }
    }

    private func reconcile(_ pod: JSON) async {
        let namespace = pod[path: ["metadata", "namespace"]]?.string ?? ""
        let name = pod[path: ["metadata", "name"]]?.string ?? ""
        let uid = pod[path: ["metadata", "uid"]]?.string ?? ""
        if startsPendingPods, pod[path: ["status", "containerStatuses"]] == nil, pod[path: ["status", "phase"]] == "Pending" {
            _ = try? markRunning(namespace: namespace, name: name)
            return
        }
        guard let resize = PodResize(pod: pod) else {
            // Nothing to do (e.g. the spec went back to what runs): no resize condition holds.
            writeStatus(namespace: namespace, name: name, uid: uid) {
                KubeletStatus.removeConditions([KubeletStatus.resizePending, KubeletStatus.resizeInProgress], from: &$0)
            }
            return
        }
        let pending = KubeletStatus.condition(KubeletStatus.resizePending, of: pod)
        if pending?["reason"] == "Infeasible", pending?["observedGeneration"]?.int == resize.generation { return }
        if !conditionsCarryGeneration, pending?["reason"] == "Infeasible", infeasibleGeneration.withLock({ $0[uid] }) == resize.generation {
            return  // 1.33: the kubelet remembers it itself, the condition does not say
        }
        switch policy(resize) {
        case .deferred(let message):
            markPending(resize, reason: "Deferred", message: message)
        case .infeasible(let message):
            infeasibleGeneration.withLock { $0[uid] = resize.generation }
            markPending(resize, reason: "Infeasible", message: message)
        case .accept:
            await actuate(resize, retrying: KubeletStatus.condition(KubeletStatus.resizeInProgress, of: pod) != nil)
        }
    }

    private func markPending(_ resize: PodResize, reason: String, message: String) {
        writeStatus(namespace: resize.namespace, name: resize.name, uid: resize.uid) { pod in
            KubeletStatus.removeConditions([KubeletStatus.resizeInProgress], from: &pod)
            KubeletStatus.setCondition(KubeletStatus.resizePending, reason: reason, message: message,
                                       generation: conditionsCarryGeneration ? resize.generation : nil, in: &pod)
        }
    }

    /// `retrying`: the pod already shows `PodResizeInProgress` (an earlier attempt failed), which
    /// stays as it is until this attempt ends.
    private func actuate(_ resize: PodResize, retrying: Bool) async {
        let (namespace, name, uid) = (resize.namespace, resize.name, resize.uid)
        if !retrying {
            writeStatus(namespace: namespace, name: name, uid: uid) { pod in
                KubeletStatus.removeConditions([KubeletStatus.resizePending], from: &pod)
                KubeletStatus.setCondition(KubeletStatus.resizeInProgress, reason: nil, message: nil,
                                           generation: conditionsCarryGeneration ? resize.generation : nil, in: &pod)
            }
        }
        do {
            try await actuate(resize)
        } catch {
            logger.debug("resize failed", metadata: ["pod": "\(namespace)/\(name)", "error": "\(error)"])
            writeStatus(namespace: namespace, name: name, uid: uid) { pod in
                KubeletStatus.setCondition(KubeletStatus.resizeInProgress, reason: "Error", message: "\(error)",
                                           generation: conditionsCarryGeneration ? resize.generation : nil, in: &pod)
            }
            return
        }
        logger.debug("resized", metadata: ["pod": "\(namespace)/\(name)", "generation": "\(resize.generation)",
                                           "containers": "\(resize.containers.map { "\($0.name): \($0.requests) \($0.limits)" })"])
        writeStatus(namespace: namespace, name: name, uid: uid) { KubeletStatus.recordActuated(resize, in: &$0) }
    }

    /// Edits the pod's status through `/status`, unless the pod is gone or was replaced by
    /// another of the same name (a different uid).
    private func writeStatus(namespace: String, name: String, uid: String, _ edit: (inout JSON) -> Void) {
        do throws(StatusError) {
            _ = try store.modify(.pods, namespace: namespace, name: name, subresource: .status) { pod throws(StatusError) in
                guard pod[path: ["metadata", "uid"]]?.string == uid else { throw StatusError.notFound(.pods, name: name) }
                var edited = pod
                edit(&edited)
                return edited
            }
        } catch {
            logger.debug("status not written", metadata: ["pod": "\(namespace)/\(name)", "error": "\(error.message)"])
        }
    }
}
