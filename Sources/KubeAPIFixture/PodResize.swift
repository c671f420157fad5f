/// What ``KubeletStandIn`` does with a resize, as a test decides it.
public enum ResizeDecision: Sendable, Equatable {
    /// Actuate now: `PodResizeInProgress`, then the new resources in the pod's status.
    case accept
    /// Not now (the node lacks room): `PodResizePending` with reason `Deferred` and this
    /// message; asked again on every re-evaluation.
    case deferred(String)
    /// Never on this node: `PodResizePending` with reason `Infeasible` and this message; asked
    /// again only when the pod's spec changes (a new `metadata.generation`).
    case infeasible(String)
}

/// One container's resources, quantities as text (`"250m"`, `"64Mi"`), as in the pod spec.
public struct ContainerResources: Sendable, Equatable {
    public var name: String
    public var requests: [String: String]
    public var limits: [String: String]

    public init(name: String, requests: [String: String] = [:], limits: [String: String] = [:]) {
        self.name = name
        self.requests = requests
        self.limits = limits
    }

    /// The `resources` of a container (or of a container status), or nothing requested.
    init(name: String, resources: JSON?) {
        self.init(name: name, requests: Self.quantities(resources?["requests"]), limits: Self.quantities(resources?["limits"]))
    }

    /// As `{"requests": ..., "limits": ...}`, empty sections left out.
    var json: JSON {
        var resources: JSON = [:]
        if !requests.isEmpty { resources["requests"] = .object(requests.mapValues { .string($0) }) }
        if !limits.isEmpty { resources["limits"] = .object(limits.mapValues { .string($0) }) }
        return resources
    }

    /// Equal as quantities (`"1"` is `"1000m"`), the way the kubelet compares what it was asked
    /// for with what it runs.
    func sameQuantities(as other: ContainerResources) -> Bool {
        Self.same(requests, other.requests) && Self.same(limits, other.limits)
    }

    private static func same(_ lhs: [String: String], _ rhs: [String: String]) -> Bool {
        lhs.keys.sorted() == rhs.keys.sorted() && lhs.allSatisfy { key, value in
            guard let other = rhs[key] else { return false }
            guard let left = Quantity(value), let right = Quantity(other) else { return value == other }
            return left == right
        }
    }

    private static func quantities(_ section: JSON?) -> [String: String] {
        (section?.object ?? [:]).compactMapValues { value in
            switch value {
            case .string(let text): text
            case .int(let number): String(number)
            case .double(let number): String(number)
            default: nil
            }
        }
    }
}

/// A resize the kubelet stand-in has to act on: the pod and every container's desired resources.
public struct PodResize: Sendable, Equatable {
    public var namespace: String
    public var name: String
    public var uid: String
    /// The pod's `metadata.generation` these resources belong to.
    public var generation: Int64
    /// Every container of `spec.containers`, with its desired resources.
    public var containers: [ContainerResources]

    /// The resize a running pod asks for, or `nil` when every container with a status already
    /// runs with its desired resources (or the pod has no container statuses: not started).
    init?(pod: JSON) {
        let statuses = pod[path: ["status", "containerStatuses"]]?.array ?? []
        guard !statuses.isEmpty else { return nil }
        let desired = (pod[path: ["spec", "containers"]]?.array ?? []).map {
            ContainerResources(name: $0["name"]?.string ?? "", resources: $0["resources"])
        }
        let pending = desired.contains { container in
            guard let status = statuses.first(where: { $0["name"]?.string == container.name }) else { return false }
            return !container.sameQuantities(as: ContainerResources(name: container.name, resources: status["resources"]))
        }
        guard pending else { return nil }
        namespace = pod[path: ["metadata", "namespace"]]?.string ?? ""
        name = pod[path: ["metadata", "name"]]?.string ?? ""
        uid = pod[path: ["metadata", "uid"]]?.string ?? ""
        generation = pod[path: ["metadata", "generation"]]?.int ?? 0
        containers = desired
    }
}
