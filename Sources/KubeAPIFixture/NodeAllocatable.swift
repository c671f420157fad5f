extension KubeletStandIn {
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
