import KubernetesClient

/// How far the kubelet has got with the resources in a pod's spec, read from the pod itself:
/// the controller never remembers what it asked for, it rebuilds the answer from the cluster
/// on every pass (level-triggered), so a restarted or newly elected controller reaches the
/// same phase.
enum ResizeProgress: Sendable, Hashable {
    /// Every container runs with its target (`status.containerStatuses[].resources`).
    case applied
    /// `PodResizeInProgress`: the kubelet is actuating (the message is an actuation error, if any).
    case inProgress(message: String?)
    /// `PodResizePending` / `Deferred`: the node lacks room now; the kubelet retries.
    case deferred(message: String?)
    /// `PodResizePending` / `Infeasible`: this node can never do it.
    case infeasible(message: String?)
    /// The spec has the targets; the kubelet has not said anything about them yet.
    case waiting

    /// Reads the pod. Actuated resources equal to the targets win over any condition (the
    /// kubelet removes its conditions when it is done, but a stale one must not hold the phase
    /// back); a condition about an older generation of the pod is ignored.
    static func of(_ pod: Pod, targets: [ContainerTarget]) -> ResizeProgress {
        if actuated(pod, equals: targets) { return .applied }
        let generation = pod.metadata.generation
        func current(_ type: String) -> Condition? {
            guard let condition = pod.condition(type), condition.status == "True" else { return nil }
            if let observed = condition.observedGeneration, let generation, observed < generation { return nil }
            return condition
        }
        if let pending = current(Pod.ResizeCondition.pending) {
            switch pending.reason {
            case "Infeasible": return .infeasible(message: pending.message)
            default: return .deferred(message: pending.message)
            }
        }
        if let inProgress = current(Pod.ResizeCondition.inProgress) { return .inProgress(message: inProgress.message) }
        return .waiting
    }

    /// Whether every target container reports running with the target limit and request.
    static func actuated(_ pod: Pod, equals targets: [ContainerTarget]) -> Bool {
        targets.allSatisfy { target in
            guard let status = pod.status?.containerStatuses?.first(where: { $0.name == target.name }),
                  let resources = status.resources else { return false }
            guard ResourceAmount.same(resources.limits?["cpu"], target.limit.description) else { return false }
            guard let request = target.resultingRequest else { return true }
            return ResourceAmount.same(resources.requests?["cpu"], request.description)
        }
    }

    /// What the kubelet reports each allocated container running with (for `appliedContainers`):
    /// containers without a reported cpu limit are left out; nil when none has one.
    static func appliedContainers(of pod: Pod, names: [String]) -> [ContainerAllocation]? {
        let applied = names.compactMap { name -> ContainerAllocation? in
            guard let resources = pod.status?.containerStatuses?.first(where: { $0.name == name })?.resources,
                  let limit = try? resources.cpuLimit() else { return nil }
            return ContainerAllocation(name: name, cpuRequest: (try? resources.cpuRequest()) ?? nil, cpuLimit: limit)
        }
        return applied.isEmpty ? nil : applied
    }
}
