extension KubeletStandIn {
    /// Registers the node as the kubelet does at start (`registerWithAPIServer`: create the
    /// Node, cluster-scoped) with `status.capacity` and `status.allocatable` cpu, or, if it
    /// exists, updates them through `/status`, as the kubelet's node status loop does when its
    /// reservations change. `allocatableCPU` is a quantity ("1930m", "2").
    @discardableResult
    public static func registerNode(store: ObjectStore, name: String, allocatableCPU: String,
                                    capacityCPU: String? = nil) throws(StatusError) -> JSON {
        let status: JSON = ["capacity": ["cpu": .string(capacityCPU ?? allocatableCPU), "pods": "110"],
                            "allocatable": ["cpu": .string(allocatableCPU), "pods": "110"]]
        var node = try? store.get(.nodes, namespace: "", name: name)
        if node == nil {
            node = try store.create(.nodes, namespace: "", object: [
                "metadata": ["name": .string(name), "labels": ["kubernetes.io/hostname": .string(name)]],
                "spec": [:],
            ])
        }
        guard var node else { throw StatusError.notFound(.nodes, name: name) }
        node["status"] = status
        return try store.update(.nodes, namespace: "", name: name, subresource: .status, object: node)
    }

    /// ``allocatable(cpuMillicores:store:nodeName:)`` with the capacity read from the Node's
    /// `status.allocatable.cpu` at each decision, so a test that changes it (``registerNode``)
    /// changes what the stand-in admits, as the kubelet's admission reads its current node.
    public static func allocatable(store: ObjectStore, nodeName: String) -> Policy {
        { resize in
            let node = try? store.get(.nodes, namespace: "", name: nodeName)
            let capacity = millicores(node?[path: ["status", "allocatable", "cpu"]]?.string)
            return allocatable(cpuMillicores: capacity, store: store, nodeName: nodeName)(resize)
        }
    }

    /// A policy that answers as the kubelet's own admission of a resize does (`canResizePod`,
    /// pkg/kubelet: the node's allocatable against the pod's requests), for cpu:
    /// - the pod's new requests above the node's allocatable → `Infeasible`,
    ///   `Node didn't have enough capacity: cpu, requested: 2500, capacity: 1930`;
    /// - above what the node's other pods leave of it (their allocated requests: what the
    ///   kubelet admitted, `status.containerStatuses[].allocatedResources`, else their spec) →
    ///   `Deferred`, `Node didn't have enough resource: cpu, requested: 1500, used: 1450, capacity: 1930`,
    ///   re-evaluated until room frees up;
    /// - otherwise `.accept`.
    /// Amounts are millicores; a missing request counts as its limit (API defaulting).
    public static func allocatable(cpuMillicores capacity: Int64, store: ObjectStore, nodeName: String) -> Policy {
        { resize in
            let requested = resize.containers.reduce(Int64(0)) { sum, container in
                sum + millicores(container.requests["cpu"] ?? container.limits["cpu"])
            }
            if requested > capacity {
                return .infeasible("Node didn't have enough capacity: cpu, requested: \(requested), capacity: \(capacity)")
            }
            let pods = (try? store.list(.pods, namespace: nil, options: ListOptions(labelSelector: LabelSelector(),
                                                                                   fieldSelector: FieldSelector())))?["items"]?.array ?? []
            let used = pods.reduce(Int64(0)) { sum, pod in
                guard pod[path: ["spec", "nodeName"]]?.string == nodeName, pod[path: ["metadata", "uid"]]?.string != resize.uid,
                      pod[path: ["status", "phase"]]?.string != "Succeeded", pod[path: ["status", "phase"]]?.string != "Failed"
                else { return sum }
                return sum + allocatedCPU(pod)
            }
            if used + requested > capacity {
                return .deferred("Node didn't have enough resource: cpu, requested: \(requested), used: \(used), capacity: \(capacity)")
            }
            return .accept
        }
    }

    /// The cpu the kubelet has admitted for a pod, millicores.
    static func allocatedCPU(_ pod: JSON) -> Int64 {
        let statuses = pod[path: ["status", "containerStatuses"]]?.array ?? []
        return (pod[path: ["spec", "containers"]]?.array ?? []).reduce(Int64(0)) { sum, container in
            let status = statuses.first { $0["name"] == container["name"] }
            let text = status?[path: ["allocatedResources", "cpu"]]?.string
                ?? container[path: ["resources", "requests", "cpu"]]?.string ?? container[path: ["resources", "limits", "cpu"]]?.string
            return sum + millicores(text)
        }
    }

    private static func millicores(_ text: String?) -> Int64 {
        text.flatMap(Quantity.init).map { Int64($0.millis.rounded()) } ?? 0
    }
}
