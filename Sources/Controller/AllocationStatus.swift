import Foundation
import KubernetesClient

/// What one reconcile concluded, before it becomes a `status`.
struct Outcome: Sendable, Hashable {
    var phase: PodAllocationStatus.Phase
    /// CamelCase, machine-readable: the `Applied` condition's reason.
    var reason: String
    var message: String
    /// What the kubelet reports running, when the pod says.
    var applied: [ContainerAllocation]?
}

/// Builds a PodAllocation's status from an ``Outcome``, keeping what has not changed exactly as
/// it was, so that a pass that learns nothing new produces an identical status and no write
/// (no write storms, no watch events that would bring the key back for nothing).
enum AllocationStatus {
    /// The condition type the controller owns.
    static let conditionType = "Applied"

    /// The status to store.
    /// - `observedGeneration`: the allocation generation this outcome is about;
    /// - the `Applied` condition: True only in phase Applied; `lastTransitionTime` moves only
    ///   when its status flips;
    /// - `lastAppliedTime`: when the pod was first seen running its current values in phase
    ///   Applied (the cooldown counts from it, so it survives a controller restart);
    /// - other conditions (someone else's) are kept.
    static func build(from outcome: Outcome, old: PodAllocationStatus?, generation: Int64?, now: Date) -> PodAllocationStatus {
        let conditionStatus = outcome.phase == .applied ? "True" : "False"
        let oldCondition = old?.conditions?.first { $0.type == conditionType }
        let transition = oldCondition?.status == conditionStatus ? oldCondition?.lastTransitionTime : nil
        let condition = Condition(type: conditionType, status: conditionStatus, reason: outcome.reason, message: outcome.message,
                                  lastTransitionTime: transition ?? Timestamp.time(now), observedGeneration: generation)
        var conditions = (old?.conditions ?? []).filter { $0.type != conditionType }
        conditions.append(condition)
        conditions.sort { $0.type < $1.type }

        var lastApplied = old?.lastAppliedTime
        if outcome.phase == .applied, lastApplied == nil || old?.appliedContainers != outcome.applied {
            lastApplied = Timestamp.time(now)
        }
        return PodAllocationStatus(phase: outcome.phase, observedGeneration: generation, message: outcome.message,
                                   appliedContainers: outcome.applied, lastAppliedTime: lastApplied, conditions: conditions)
    }

    /// The `Applied` condition's reason, if the status has one.
    static func reason(of status: PodAllocationStatus?) -> String? {
        status?.conditions?.first { $0.type == conditionType }?.reason
    }
}
