/// A core `v1` Node, cluster-scoped: the fields MBCAS reads (what the kubelet reports the node
/// can give pods).
public struct Node: KubernetesResource, Hashable {
    public static let group = ""
    public static let version = "v1"
    public static let kind = "Node"
    public static let plural = "nodes"
    public static let namespaced = false

    public var apiVersion: String? = Node.apiVersion
    public var kind: String? = Node.kind
    public var metadata: ObjectMeta
    public var status: NodeStatus?

    public init(metadata: ObjectMeta, status: NodeStatus? = nil) {
        self.metadata = metadata
        self.status = status
    }

    /// `status.allocatable.cpu`: what the scheduler and the kubelet's admission let pods request
    /// in total (capacity less kube-reserved, system-reserved and the eviction threshold).
    /// nil when the kubelet has not reported it yet.
    /// - Throws: ``QuantityError`` for a value that is not a quantity.
    public func allocatableCPU() throws(QuantityError) -> CPUQuantity? {
        try status?.allocatable?["cpu"].map { text throws(QuantityError) in try CPUQuantity(parsing: text) }
    }
}

public struct NodeStatus: Codable, Sendable, Hashable {
    /// Resource name → quantity, e.g. `cpu: "3920m"`.
    public var capacity: [String: String]?
    public var allocatable: [String: String]?

    public init(capacity: [String: String]? = nil, allocatable: [String: String]? = nil) {
        self.capacity = capacity
        self.allocatable = allocatable
    }
}
