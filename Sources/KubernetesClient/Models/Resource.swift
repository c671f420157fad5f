/// A kind of API object the client reads and writes: where it lives in the URL space.
public protocol KubernetesResource: Codable, Sendable {
    /// The API group; empty for the core group.
    static var group: String { get }
    static var version: String { get }
    static var kind: String { get }
    /// The URL name, e.g. `pods`.
    static var plural: String { get }
    /// Whether objects live in a namespace (pods) or in the cluster (nodes).
    static var namespaced: Bool { get }

    var metadata: ObjectMeta { get set }
}

extension KubernetesResource {
    /// Most types are namespaced; a cluster-scoped one says so.
    public static var namespaced: Bool { true }

    /// `v1` or `group/version`.
    public static var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }

    /// `/api/v1` or `/apis/group/version`.
    static var apiPath: String { group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)" }

    /// `namespace/name`: the key caches and work queues use.
    public var key: String { "\(metadata.namespace ?? "")/\(metadata.name)" }
}

/// Standard object metadata (the fields MBCAS reads or sets).
public struct ObjectMeta: Codable, Sendable, Hashable {
    public var name: String
    public var namespace: String?
    public var uid: String?
    public var resourceVersion: String?
    public var generation: Int64?
    public var creationTimestamp: String?
    public var deletionTimestamp: String?
    public var labels: [String: String]?
    public var annotations: [String: String]?
    public var ownerReferences: [OwnerReference]?

    /// Creates metadata for a new object.
    public init(name: String, namespace: String? = nil, labels: [String: String]? = nil,
                ownerReferences: [OwnerReference]? = nil) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.ownerReferences = ownerReferences
    }
}

/// Points at an object's owner; the garbage collector deletes the object with it.
public struct OwnerReference: Codable, Sendable, Hashable {
    public var apiVersion: String
    public var kind: String
    public var name: String
    public var uid: String
    public var controller: Bool?
    public var blockOwnerDeletion: Bool?

    /// Creates a reference.
    public init(apiVersion: String, kind: String, name: String, uid: String, controller: Bool? = nil,
                blockOwnerDeletion: Bool? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.name = name
        self.uid = uid
        self.controller = controller
        self.blockOwnerDeletion = blockOwnerDeletion
    }
}

/// A LIST response.
public struct ObjectList<Item: KubernetesResource>: Codable, Sendable {
    public struct ListMeta: Codable, Sendable {
        public var resourceVersion: String?
        /// The token for the next page; empty or absent on the last.
        public var `continue`: String?
    }

    public var metadata: ListMeta
    public var items: [Item]
}

/// A condition in the API's standard shape (pods, PodAllocations).
public struct Condition: Codable, Sendable, Hashable {
    public var type: String
    /// "True", "False" or "Unknown".
    public var status: String
    public var reason: String?
    public var message: String?
    public var lastTransitionTime: String?
    /// When the condition was last checked (pods; the 1.33 kubelet sets it on every update of
    /// a resize condition, which then carries no `observedGeneration`).
    public var lastProbeTime: String?
    public var observedGeneration: Int64?

    /// Creates a condition.
    public init(type: String, status: String, reason: String? = nil, message: String? = nil,
                lastTransitionTime: String? = nil, lastProbeTime: String? = nil, observedGeneration: Int64? = nil) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
        self.lastTransitionTime = lastTransitionTime
        self.lastProbeTime = lastProbeTime
        self.observedGeneration = observedGeneration
    }
}
