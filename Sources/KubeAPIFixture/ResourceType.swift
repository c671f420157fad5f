/// A kind of object the fixture serves: where it lives in the URL space and which rules apply.
public struct ResourceType: Sendable, Hashable {
    /// The API group; empty for the core group.
    public var group: String
    public var version: String
    /// The URL name, e.g. `pods`.
    public var plural: String
    public var singular: String
    public var kind: String
    public var shortNames: [String]
    public var namespaced: Bool
    /// Has a `status` subresource: main-resource writes ignore `status`, `/status` writes
    /// change only `status`.
    public var hasStatus: Bool
    /// Served from a CustomResourceDefinition rather than compiled into the server: no
    /// strategic merge (no Go struct tags), JSON merge rules for server-side apply.
    public var isCustomResource = false

    /// `apiVersion` of objects of this type.
    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    /// `plural.group` as the real server names resources in messages (`pods` for core).
    public var qualifiedPlural: String { group.isEmpty ? plural : "\(plural).\(group)" }
    /// Compiled into the real API server (the opposite of ``isCustomResource``).
    public var isBuiltIn: Bool { !isCustomResource }

    public static let pods = ResourceType(group: "", version: "v1", plural: "pods", singular: "pod", kind: "Pod",
                                          shortNames: ["po"], namespaced: true, hasStatus: true)
    public static let podAllocations = ResourceType(group: "mbcas.io", version: "v1alpha1", plural: "podallocations",
                                                    singular: "podallocation", kind: "PodAllocation",
                                                    shortNames: ["pa"], namespaced: true, hasStatus: true,
                                                    isCustomResource: true)
    public static let leases = ResourceType(group: "coordination.k8s.io", version: "v1", plural: "leases",
                                            singular: "lease", kind: "Lease", shortNames: [],
                                            namespaced: true, hasStatus: false)
    /// Core `v1` events: what controllers record on pods (`kubectl describe` shows them).
    public static let events = ResourceType(group: "", version: "v1", plural: "events", singular: "event", kind: "Event",
                                            shortNames: ["ev"], namespaced: true, hasStatus: false)

    /// Namespace quotas; the admission of `pods/resize` checks them (``ResizeAdmission``).
    public static let resourceQuotas = ResourceType(group: "", version: "v1", plural: "resourcequotas", singular: "resourcequota",
                                                    kind: "ResourceQuota", shortNames: ["quota"], namespaced: true, hasStatus: true)
    /// Per-container and per-pod bounds; the admission of `pods/resize` checks them too.
    public static let limitRanges = ResourceType(group: "", version: "v1", plural: "limitranges", singular: "limitrange",
                                                 kind: "LimitRange", shortNames: ["limits"], namespaced: true, hasStatus: false)

    /// Cluster-scoped: `/api/v1/nodes/{name}`, no namespace. The kubelet registers its node and
    /// reports `status.allocatable` (``KubeletStandIn/registerNode(store:name:allocatableCPU:)``).
    public static let nodes = ResourceType(group: "", version: "v1", plural: "nodes", singular: "node", kind: "Node",
                                           shortNames: ["no"], namespaced: false, hasStatus: true)

    /// Every type served.
    public static let all: [ResourceType] = [.pods, .events, .nodes, .podAllocations, .leases, .resourceQuotas, .limitRanges]

    static func find(group: String, version: String, plural: String) -> ResourceType? {
        all.first { $0.group == group && $0.version == version && $0.plural == plural }
    }
}
