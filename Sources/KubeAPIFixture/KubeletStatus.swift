/// The pod status edits a kubelet makes, on the pod's JSON; ``KubeletStandIn`` writes the result
/// through `/status`.
///
/// Resize conditions are those of Kubernetes 1.33+ (KEP-1287), with these fields:
/// - `type`: `PodResizePending` or `PodResizeInProgress`;
/// - `status`: always `"True"` (a condition that no longer holds is removed, not set to False);
/// - `reason`: `Deferred` or `Infeasible` for `PodResizePending`; for `PodResizeInProgress`
///   absent while actuating and `Error` when actuation failed;
/// - `message`: the policy's (pending) or the actuation error's description; absent otherwise;
/// - `lastProbeTime`: `null`, as the kubelet leaves it;
/// - `lastTransitionTime`: when the condition appeared; kept while it stays (a new reason or
///   message does not move it, so re-evaluating an unchanged Deferred resize writes nothing);
/// - `observedGeneration`: the pod's `metadata.generation` the condition is about (1.34+); a
///   stand-in playing 1.33 leaves it out and sets `lastProbeTime` instead.
enum KubeletStatus {
    static let resizePending = "PodResizePending"
    static let resizeInProgress = "PodResizeInProgress"

    /// Sets (adds or updates) a condition with status "True". A nil `generation` writes it as
    /// the 1.33 kubelet does (`updatedPodResizeCondition` before KEP-5067's observedGeneration):
    /// no `observedGeneration`, and `lastProbeTime` set to now on every update.
    static func setCondition(_ type: String, reason: String?, message: String?, generation: Int64?, in pod: inout JSON) {
        var conditions = pod[path: ["status", "conditions"]]?.array ?? []
        let index = conditions.firstIndex { $0["type"]?.string == type }
        let now = JSON.string(ObjectStore.timestamp())
        var condition: JSON = ["type": .string(type), "status": "True", "lastProbeTime": generation == nil ? now : .null,
                               "lastTransitionTime": now]
        if let generation { condition["observedGeneration"] = .int(generation) }
        if let reason, !reason.isEmpty { condition["reason"] = .string(reason) }
        if let message, !message.isEmpty { condition["message"] = .string(message) }
        if let index {
            if conditions[index]["status"] == "True" { condition["lastTransitionTime"] = conditions[index]["lastTransitionTime"] }
            conditions[index] = condition
        } else {
            conditions.append(condition)
        }
        pod[path: ["status", "conditions"]] = .array(conditions)
    }

    static func removeConditions(_ types: [String], from pod: inout JSON) {
        guard let conditions = pod[path: ["status", "conditions"]]?.array else { return }
        pod[path: ["status", "conditions"]] = .array(conditions.filter { !types.contains($0["type"]?.string ?? "") })
    }

    static func condition(_ type: String, of pod: JSON) -> JSON? {
        pod[path: ["status", "conditions"]]?.array?.first { $0["type"]?.string == type }
    }

    /// Records a finished resize: each container's `resources` (requests and limits) and
    /// `allocatedResources` (requests), `status.observedGeneration`, resize conditions removed.
    static func recordActuated(_ resize: PodResize, in pod: inout JSON) {
        let statuses = pod[path: ["status", "containerStatuses"]]?.array ?? []
        pod[path: ["status", "containerStatuses"]] = .array(statuses.map { status in
            guard let container = resize.containers.first(where: { $0.name == status["name"]?.string }) else { return status }
            var status = status
            status["resources"] = container.json
            status["allocatedResources"] = container.requests.isEmpty ? nil : .object(container.requests.mapValues { .string($0) })
            return status
        })
        pod[path: ["status", "observedGeneration"]] = .int(resize.generation)
        removeConditions([resizePending, resizeInProgress], from: &pod)
    }

    /// A started pod: phase Running, the usual True conditions, one ready container status per
    /// container running with the resources of its spec, and the QoS class of the spec.
    static func markRunning(_ pod: inout JSON, containerIDs: [String: String] = [:]) {
        let now = JSON.string(ObjectStore.timestamp())
        let uid = pod[path: ["metadata", "uid"]]?.string ?? ""
        var status = pod["status"] ?? [:]
        status["phase"] = "Running"
        status["qosClass"] = .string(QoS.of(pod).rawValue)
        status["startTime"] = now
        status["observedGeneration"] = pod[path: ["metadata", "generation"]]
        status["conditions"] = .array(["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"].map {
            ["type": .string($0), "status": "True", "lastProbeTime": .null, "lastTransitionTime": now]
        })
        status["containerStatuses"] = .array((pod[path: ["spec", "containers"]]?.array ?? []).map { container in
            let name = container["name"]?.string ?? ""
            let resources = ContainerResources(name: name, resources: container["resources"])
            var entry: JSON = [
                "name": .string(name), "image": container["image"] ?? "", "imageID": "",
                "containerID": .string("containerd://\(containerIDs[name] ?? "\(uid)-\(name)")"), "ready": true, "started": true, "restartCount": 0,
                "state": ["running": ["startedAt": now]], "resources": resources.json,
            ]
            if !resources.requests.isEmpty { entry["allocatedResources"] = .object(resources.requests.mapValues { .string($0) }) }
            return entry
        })
        pod["status"] = status
    }
}
