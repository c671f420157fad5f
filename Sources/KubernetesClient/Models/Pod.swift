/// A pod: the fields MBCAS reads (node, containers' resources and resize policy, QoS, resize
/// conditions, the resources the kubelet actuated). Pods are only ever patched, never PUT, so
/// fields this model leaves out are never lost.
public struct Pod: KubernetesResource, Hashable {
    public static let group = ""
    public static let version = "v1"
    public static let kind = "Pod"
    public static let plural = "pods"

    public var apiVersion: String? = Pod.apiVersion
    public var kind: String? = Pod.kind
    public var metadata: ObjectMeta
    public var spec: PodSpec
    public var status: PodStatus?

    /// Creates a pod (tests and fixtures).
    public init(metadata: ObjectMeta, spec: PodSpec, status: PodStatus? = nil) {
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// The annotation the kubelet puts on the mirror pod of a static pod (one it runs from a file).
    public static let mirrorAnnotation = "kubernetes.io/config.mirror"

    /// Why the API server refuses every in-place resize of this pod, if it does: a static pod's
    /// mirror (`ValidatePodResize`: "static pods cannot be resized"), or a pod with pod-level
    /// resources (`spec.resources`), whose cgroup the kubelet sizes from that budget.
    public var neverResizable: (reason: String, message: String)? {
        if metadata.annotations?[Self.mirrorAnnotation] != nil {
            return ("StaticPod", "the pod is the mirror of a static pod (annotation \(Self.mirrorAnnotation)), and static pods "
                    + "cannot be resized in place")
        }
        if let resources = spec.resources, !(resources.limits ?? [:]).isEmpty || !(resources.requests ?? [:]).isEmpty {
            return ("PodLevelResources", "the pod sets pod-level resources (spec.resources), which size its cgroup instead of "
                    + "its containers' limits and cannot be resized in place")
        }
        return nil
    }

    /// The condition of `type`, if present.
    public func condition(_ type: String) -> Condition? {
        status?.conditions?.first { $0.type == type }
    }
}

public struct PodSpec: Codable, Sendable, Hashable {
    public var nodeName: String?
    public var containers: [Container]
    /// Init containers; those with `restartPolicy: Always` are native sidecars (GA in 1.33),
    /// which run beside the regular containers and count toward the pod's resources.
    public var initContainers: [Container]?
    /// Pod-level resources (`PodLevelResources`, beta and on by default in 1.34): a budget for
    /// the whole pod, which sizes the pod cgroup instead of the containers' sum.
    public var resources: ResourceRequirements?
    /// RuntimeClass overhead (set by the RuntimeClass admission plugin), added to the pod cgroup.
    public var overhead: [String: String]?

    public init(nodeName: String? = nil, containers: [Container], initContainers: [Container]? = nil,
                resources: ResourceRequirements? = nil, overhead: [String: String]? = nil) {
        self.nodeName = nodeName
        self.containers = containers
        self.initContainers = initContainers
        self.resources = resources
        self.overhead = overhead
    }
}

public struct Container: Codable, Sendable, Hashable {
    public var name: String
    public var image: String?
    public var resources: ResourceRequirements?
    public var resizePolicy: [ContainerResizePolicy]?
    /// Init containers only: `Always` makes it a restartable init container (a native sidecar).
    public var restartPolicy: String?

    public init(name: String, image: String? = nil, resources: ResourceRequirements? = nil,
                resizePolicy: [ContainerResizePolicy]? = nil, restartPolicy: String? = nil) {
        self.name = name
        self.image = image
        self.resources = resources
        self.resizePolicy = resizePolicy
        self.restartPolicy = restartPolicy
    }

    /// An init container that keeps running beside the regular ones (a native sidecar).
    public var isSidecar: Bool { restartPolicy == "Always" }

    /// Whether changing CPU in place restarts the container (`RestartContainer`).
    public var cpuResizeRestartsContainer: Bool {
        resizePolicy?.first { $0.resourceName == "cpu" }?.restartPolicy == "RestartContainer"
    }
}

/// Requests and limits; values are quantity strings ("250m", "128Mi").
public struct ResourceRequirements: Codable, Sendable, Hashable {
    public var requests: [String: String]?
    public var limits: [String: String]?

    public init(requests: [String: String]? = nil, limits: [String: String]? = nil) {
        self.requests = requests
        self.limits = limits
    }

    /// The CPU request, parsed; nil when absent.
    public func cpuRequest() throws(QuantityError) -> CPUQuantity? {
        try requests?["cpu"].map { text throws(QuantityError) in try CPUQuantity(parsing: text) }
    }

    /// The CPU limit, parsed; nil when absent.
    public func cpuLimit() throws(QuantityError) -> CPUQuantity? {
        try limits?["cpu"].map { text throws(QuantityError) in try CPUQuantity(parsing: text) }
    }
}

public struct ContainerResizePolicy: Codable, Sendable, Hashable {
    /// "cpu" or "memory".
    public var resourceName: String
    /// "NotRequired" or "RestartContainer".
    public var restartPolicy: String

    public init(resourceName: String, restartPolicy: String) {
        self.resourceName = resourceName
        self.restartPolicy = restartPolicy
    }
}

public struct PodStatus: Codable, Sendable, Hashable {
    public var phase: String?
    /// "Guaranteed", "Burstable" or "BestEffort".
    public var qosClass: String?
    public var conditions: [Condition]?
    public var containerStatuses: [ContainerStatus]?
    public var observedGeneration: Int64?

    public init(phase: String? = nil, qosClass: String? = nil, conditions: [Condition]? = nil,
                containerStatuses: [ContainerStatus]? = nil, observedGeneration: Int64? = nil) {
        self.phase = phase
        self.qosClass = qosClass
        self.conditions = conditions
        self.containerStatuses = containerStatuses
        self.observedGeneration = observedGeneration
    }
}

public struct ContainerStatus: Codable, Sendable, Hashable {
    public var name: String
    /// `<runtime>://<id>` (e.g. `containerd://4f1c…`): the id names the container's cgroup.
    public var containerID: String?
    public var ready: Bool?
    /// What the kubelet actuated (in-place resize).
    public var resources: ResourceRequirements?
    /// What the node allocated (requests).
    public var allocatedResources: [String: String]?

    public init(name: String, containerID: String? = nil, ready: Bool? = nil, resources: ResourceRequirements? = nil,
                allocatedResources: [String: String]? = nil) {
        self.name = name
        self.containerID = containerID
        self.ready = ready
        self.resources = resources
        self.allocatedResources = allocatedResources
    }
}

extension Pod {
    /// The in-place resize conditions (Kubernetes 1.33+).
    public enum ResizeCondition {
        public static let pending = "PodResizePending"
        public static let inProgress = "PodResizeInProgress"
    }
}
