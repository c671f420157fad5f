/// MBCAS's decision for one pod (`mbcas.io/v1alpha1`, deploy/crd/podallocation.yaml): written
/// by the node agent (spec), applied by the controller (status). Same name and namespace as the
/// pod, owner-referenced to it.
public struct PodAllocation: KubernetesResource, Hashable {
    public static let group = "mbcas.io"
    public static let version = "v1alpha1"
    public static let kind = "PodAllocation"
    public static let plural = "podallocations"

    public var apiVersion: String? = PodAllocation.apiVersion
    public var kind: String? = PodAllocation.kind
    public var metadata: ObjectMeta
    public var spec: PodAllocationSpec
    public var status: PodAllocationStatus?

    public init(metadata: ObjectMeta, spec: PodAllocationSpec, status: PodAllocationStatus? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// One container's CPU in a decision.
public struct ContainerAllocation: Codable, Sendable, Hashable {
    public var name: String
    public var cpuRequest: CPUQuantity?
    public var cpuLimit: CPUQuantity

    public init(name: String, cpuRequest: CPUQuantity? = nil, cpuLimit: CPUQuantity) {
        self.name = name
        self.cpuRequest = cpuRequest
        self.cpuLimit = cpuLimit
    }
}

public struct PodAllocationSpec: Codable, Sendable, Hashable {
    public var podName: String
    public var podUID: String
    public var nodeName: String?
    public var containers: [ContainerAllocation]
    /// Why (a Market `Reason` raw value: guardrail, contention, headroom, reclaim, ...).
    public var reason: String?
    /// The shadow price of CPU in the round that decided it; absent when no finite price clears
    /// the market (an over-committed node: see ``overcommit``).
    public var shadowPrice: Double?
    /// Which guarantees the node could not meet in that round: "none", "baselines" (floors fit,
    /// floors plus baselines do not) or "floors" (the pods' requests alone exceed the budget).
    public var overcommit: String?
    /// The pod's CPU request as its owner set it, before MBCAS moved it (weights actuation): the
    /// floor its request never goes below, kept here so that an agent restarted after moving the
    /// request still knows it.
    public var cpuFloor: CPUQuantity?
    /// Kernel stall → decision, microseconds (0 for periodic work).
    public var decisionLatencyMicroseconds: Int64?
    /// When the agent decided (RFC 3339).
    public var decisionTime: String?

    public init(podName: String, podUID: String, nodeName: String? = nil, containers: [ContainerAllocation],
                reason: String? = nil, shadowPrice: Double? = nil, overcommit: String? = nil, cpuFloor: CPUQuantity? = nil,
                decisionLatencyMicroseconds: Int64? = nil, decisionTime: String? = nil) {
        self.podName = podName
        self.podUID = podUID
        self.nodeName = nodeName
        self.containers = containers
        self.reason = reason
        // JSON has no infinity: a non-finite price is left out rather than failing the write.
        self.shadowPrice = shadowPrice.flatMap { $0.isFinite ? $0 : nil }
        self.overcommit = overcommit
        self.cpuFloor = cpuFloor
        self.decisionLatencyMicroseconds = decisionLatencyMicroseconds
        self.decisionTime = decisionTime
    }
}

public struct PodAllocationStatus: Codable, Sendable, Hashable {
    public enum Phase: String, Codable, Sendable, CaseIterable {
        /// Seen, not yet applied.
        case pending = "Pending"
        /// The pod runs with the desired resources.
        case applied = "Applied"
        /// The kubelet deferred the resize (not enough room on the node now).
        case deferred = "Deferred"
        /// The kubelet can never do it (more than the node has).
        case infeasible = "Infeasible"
        /// Deliberately not applied (Guaranteed QoS, QoS would change, restart policy, pod replaced);
        /// the message says why. A cooldown shows as `Pending` with reason Cooldown.
        case skipped = "Skipped"
        /// The API refused it (422); the message is the API's.
        case failed = "Failed"
    }

    public var phase: Phase?
    public var observedGeneration: Int64?
    public var message: String?
    public var appliedContainers: [ContainerAllocation]?
    public var lastAppliedTime: String?
    public var conditions: [Condition]?

    public init(phase: Phase? = nil, observedGeneration: Int64? = nil, message: String? = nil,
                appliedContainers: [ContainerAllocation]? = nil, lastAppliedTime: String? = nil,
                conditions: [Condition]? = nil) {
        self.phase = phase
        self.observedGeneration = observedGeneration
        self.message = message
        self.appliedContainers = appliedContainers
        self.lastAppliedTime = lastAppliedTime
        self.conditions = conditions
    }
}
