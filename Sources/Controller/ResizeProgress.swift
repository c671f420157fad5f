import Foundation
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
    /// back). A condition about an older generation of the pod is ignored; on 1.33, whose
    /// conditions carry no `observedGeneration`, one the kubelet last probed before `resizedAt`
    /// (when this controller sent the targets, if it knows) is about an older target and is
    /// ignored too (timestamps have whole seconds: the same second counts as current, and the
    /// kubelet's next write corrects a misreading). With no resize condition holding, resources
    /// close to the targets (``close(_:_:)``) are Applied: the kubelet and the kernel round
    /// quotas, and NRI plugins may adjust them.
    static func of(_ pod: Pod, targets: [ContainerTarget], resizedAt: Date? = nil) -> ResizeProgress {
        if actuated(pod, equals: targets) { return .applied }
        let generation = pod.metadata.generation
        func current(_ type: String) -> Condition? {
            guard let condition = pod.condition(type), condition.status == "True" else { return nil }
            if let observed = condition.observedGeneration {
                if let generation, observed < generation { return nil }
            } else if let resizedAt {
                let probed = (condition.lastProbeTime ?? condition.lastTransitionTime).flatMap(Timestamp.parse)
                if let probed, probed < resizedAt.addingTimeInterval(-1) { return nil }
            }
            return condition
        }
        if let pending = current(Pod.ResizeCondition.pending) {
            switch pending.reason {
            case "Infeasible": return .infeasible(message: pending.message)
            default: return .deferred(message: pending.message)
            }
        }
        if let inProgress = current(Pod.ResizeCondition.inProgress) { return .inProgress(message: inProgress.message) }
        let holding = [Pod.ResizeCondition.pending, Pod.ResizeCondition.inProgress].contains { pod.condition($0)?.status == "True" }
        if !holding, actuated(pod, equals: targets, close: true) { return .applied }
        return .waiting
    }

    /// Whether two cpu amounts are the same for a resize's purposes: within 10m (the kernel's
    /// smallest quota, 1 ms per 100 ms period) or 1%, whichever is larger.
    static func close(_ lhs: CPUQuantity, _ rhs: CPUQuantity) -> Bool {
        abs(lhs.millicores - rhs.millicores) <= max(10, max(lhs.millicores, rhs.millicores) / 100)
    }

    /// Whether every target container reports running with the target limit and request
    /// (exactly, or with `close`, within ``close(_:_:)``).
    static func actuated(_ pod: Pod, equals targets: [ContainerTarget], close: Bool = false) -> Bool {
        func same(_ reported: String?, _ target: CPUQuantity) -> Bool {
            guard let reported else { return false }
            guard close else { return ResourceAmount.same(reported, target.description) }
            return (try? CPUQuantity(parsing: reported)).map { Self.close($0, target) } ?? false
        }
        return targets.allSatisfy { target in
            guard let status = pod.status?.containerStatuses?.first(where: { $0.name == target.name }),
                  let resources = status.resources else { return false }
            guard same(resources.limits?["cpu"], target.limit) else { return false }
            guard let request = target.resultingRequest else { return true }
            return same(resources.requests?["cpu"], request)
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
