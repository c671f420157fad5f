import KubernetesClient
import QoS

/// What one container should run with after this resize, next to what it has now.
struct ContainerTarget: Sendable, Hashable {
    var name: String
    /// The container's spec now.
    var currentLimit: CPUQuantity?
    var currentRequest: CPUQuantity?
    /// What this resize asks for: the limit always; the request only when it must change
    /// (nil: leave the request as it is).
    var limit: CPUQuantity
    var request: CPUQuantity?
    /// What the agent asked for; differs from ``limit`` while the maximum step holds it back.
    var desiredLimit: CPUQuantity
    /// Whether the maximum step cut this resize short of ``desiredLimit``.
    var clamped: Bool { limit != desiredLimit }

    /// Whether the spec has to change.
    var changesSpec: Bool {
        limit != currentLimit || (request.map { $0 != currentRequest } ?? false)
    }

    /// The request the container has once this resize is done.
    var resultingRequest: CPUQuantity? { request ?? currentRequest }
}

/// A deliberate "no": the phase, a machine-readable reason, and a message saying why.
struct Refusal: Sendable, Hashable {
    var phase: PodAllocationStatus.Phase
    var reason: String
    var message: String
}

/// The outcome of planning: refuse the allocation, or move the pod toward these targets.
enum ResizePlan: Sendable, Hashable {
    case refuse(Refusal)
    case converge([ContainerTarget])
}

/// The rules of an in-place resize, as a pure function of the allocation, the pod and the
/// configuration: no I/O and no clock (the cooldown is the reconciler's), so each rule is
/// testable on its own.
///
/// The controller refuses locally what it knows it must never do: touch a Guaranteed pod, give
/// a BestEffort pod a limit, restart a container, act on a recreated pod, or change a QoS class
/// through an adjustment of its *own* (lowering a request to fit under a lowered limit, adding a
/// limit). A request the agent asked for explicitly is sent as asked: the API server's
/// validation is the authority on it, and its refusal (422) is recorded verbatim as `Failed`.
struct ResizePlanner: Sendable {
    var configuration: ControllerConfiguration

    func plan(allocation: PodAllocation, pod: Pod) -> ResizePlan {
        let spec = allocation.spec
        func skip(_ reason: String, _ message: String) -> ResizePlan {
            .refuse(Refusal(phase: .skipped, reason: reason, message: message))
        }
        if !spec.podUID.isEmpty, let uid = pod.metadata.uid, uid != spec.podUID {
            return skip("PodRecreated", "the pod was recreated (uid \(uid); the allocation is for uid \(spec.podUID)): "
                        + "waiting for the agent's decision for the new pod")
        }
        // Trust: only the agent of the pod's own node decides for it. An agent's credentials can
        // write any PodAllocation (RBAC cannot scope to a node), so one node's agent must not be
        // able to resize pods elsewhere through the controller.
        guard let node = spec.nodeName, !node.isEmpty, node == pod.spec.nodeName else {
            return skip("NodeMismatch", "the allocation comes from node \(spec.nodeName.map { "\"\($0)\"" } ?? "(none)"), "
                        + "but the pod runs on \(pod.spec.nodeName.map { "\"\($0)\"" } ?? "no node"): only the agent of the pod's "
                        + "own node may decide its CPU")
        }
        if let phase = pod.status?.phase, phase == "Succeeded" || phase == "Failed" {
            return skip("PodTerminated", "the pod has terminated (phase \(phase)): nothing to resize")
        }
        // What the API server always refuses (422) is skipped before it is asked, so such a pod
        // does not loop through Failed and a new Warning Event on every decision.
        if let never = pod.neverResizable { return skip(never.reason, never.message) }
        switch QoSClass.of(pod) {
        case .guaranteed:
            return skip("GuaranteedQoS", "the pod has Guaranteed QoS (its requests equal its limits): MBCAS never resizes it, "
                        + "since any other limit would change its QoS class")
        case .bestEffort:
            return skip("BestEffortQoS", "the pod has BestEffort QoS (no requests or limits): a CPU limit would make it "
                        + "Burstable, and a QoS class cannot change in place")
        case .burstable:
            break
        }
        guard !spec.containers.isEmpty else { return skip("NoContainers", "the allocation names no containers") }

        var targets: [ContainerTarget] = []
        for allocated in spec.containers {
            guard let container = pod.spec.containers.first(where: { $0.name == allocated.name }) else {
                let names = pod.spec.containers.map(\.name).joined(separator: ", ")
                return skip("UnknownContainer", "the pod has no container \(allocated.name) (it has: \(names))")
            }
            let currentLimit: CPUQuantity?, currentRequest: CPUQuantity?
            do {
                currentLimit = try container.resources?.cpuLimit()
                currentRequest = try container.resources?.cpuRequest()
            } catch {
                return skip("InvalidQuantity", "container \(container.name): \(error.description)")
            }
            let actuated = Self.actuatedLimit(of: container.name, in: pod)
            let limit = step(toward: allocated.cpuLimit, from: actuated ?? currentLimit)
            var request: CPUQuantity?
            if let asked = allocated.cpuRequest {
                request = min(asked, limit)
            } else if let currentRequest, currentRequest > limit {
                request = limit  // requests may not exceed limits
            }
            targets.append(ContainerTarget(name: container.name, currentLimit: currentLimit, currentRequest: currentRequest,
                                           limit: limit, request: request, desiredLimit: allocated.cpuLimit))
        }

        // The agent's requests are its weights; one the controller clamped to a limit held back by
        // the maximum step must not make a Burstable pod Guaranteed (a QoS class cannot change in
        // place): it stays 1m below that limit. (A request asked as it is goes to the API server.)
        let sidecars = pod.spec.initContainers ?? []
        if QoSClass.of(pod) == .burstable,
           QoSClass.of(containers: Self.containers(pod.spec.containers, with: targets, explicitRequests: true) + sidecars) == .guaranteed,
           let index = targets.indices.filter({ index in
               let asked = spec.containers.first { $0.name == targets[index].name }?.cpuRequest
               return asked.map { $0 > targets[index].limit } == true && targets[index].limit.millicores > 1  // the controller's own clamp
           }).max(by: { targets[$0].limit < targets[$1].limit }) {
            targets[index].request = CPUQuantity(millicores: targets[index].limit.millicores - 1)
        }

        if !configuration.allowRestarts,
           let target = targets.first(where: { target in
               target.changesSpec && pod.spec.containers.contains { $0.name == target.name && $0.cpuResizeRestartsContainer }
           }) {
            return skip("RestartRequired", "container \(target.name) has cpu resizePolicy RestartContainer: resizing it "
                        + "would restart it (run the controller with --allow-restarts to allow that)")
        }

        // Only the adjustments the controller makes on its own are checked here (see above).
        let initContainers = pod.spec.initContainers ?? []  // sidecars and init containers count too
        let before = QoSClass.of(containers: pod.spec.containers + initContainers)
        let own = Self.containers(pod.spec.containers, with: targets, explicitRequests: false)
        let after = QoSClass.of(containers: own + initContainers)
        if before != after {
            let causes = targets.compactMap { target -> String? in
                if target.currentLimit == nil { return "a cpu limit of \(target.limit) on container \(target.name)" }
                if let current = target.currentRequest, current > target.limit {
                    return "container \(target.name)'s cpu request lowered from \(current) to its new limit \(target.limit)"
                }
                return nil
            }
            let cause = causes.isEmpty ? "this resize" : causes.joined(separator: " and ")
            return skip("QoSWouldChange", "\(cause) would change the pod's QoS class from \(before.rawValue) to "
                        + "\(after.rawValue), and a QoS class cannot change in place")
        }
        return .converge(targets)
    }

    /// The limit one resize may reach from `base` toward `desired`: at most ×maxStepUp, at
    /// least ×maxStepDown. No base (no limit yet): the desired value.
    func step(toward desired: CPUQuantity, from base: CPUQuantity?) -> CPUQuantity {
        guard let base, base.millicores > 0 else { return desired }
        let current = Double(base.millicores)
        let upper = max(base.millicores, Int64((current * configuration.maxStepUp).rounded(.down)))
        let lower = min(base.millicores, max(1, Int64((current * configuration.maxStepDown).rounded(.up))))
        return CPUQuantity(millicores: min(max(desired.millicores, lower), upper))
    }

    /// The cpu limit the kubelet reports the container running with, if it says.
    static func actuatedLimit(of container: String, in pod: Pod) -> CPUQuantity? {
        let status = pod.status?.containerStatuses?.first { $0.name == container }
        return try? status?.resources?.cpuLimit()
    }

    /// The pod's containers with the targets' cpu values written in; with `explicitRequests`
    /// false, an agent-requested value is replaced by what the controller alone would set.
    static func containers(_ containers: [Container], with targets: [ContainerTarget], explicitRequests: Bool) -> [Container] {
        containers.map { container in
            guard let target = targets.first(where: { $0.name == container.name }) else { return container }
            var container = container
            var resources = container.resources ?? ResourceRequirements()
            resources.limits = (resources.limits ?? [:]).merging(["cpu": target.limit.description]) { $1 }
            var request = explicitRequests ? target.request : nil
            if !explicitRequests, let current = target.currentRequest, current > target.limit { request = target.limit }
            if let request {
                resources.requests = (resources.requests ?? [:]).merging(["cpu": request.description]) { $1 }
            }
            container.resources = resources
            return container
        }
    }
}
