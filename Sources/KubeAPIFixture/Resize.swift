/// A pod's QoS class, as the API server derives it (`ComputePodQOS`, pkg/apis/core/helper/qos).
enum QoS: String, Sendable {
    case guaranteed = "Guaranteed", burstable = "Burstable", bestEffort = "BestEffort"

    /// `GetPodQOS`: the class recorded at creation (`status.qosClass`), else the spec's.
    static func recorded(_ pod: JSON) -> QoS {
        pod[path: ["status", "qosClass"]]?.string.flatMap(QoS.init(rawValue:)) ?? of(pod)
    }

    /// `ComputePodQOS`: over the init containers and the containers, only cpu and memory count,
    /// and only amounts above zero. BestEffort: nothing requested or limited. Guaranteed: every
    /// container limits both cpu and memory, and the pod's requests (a missing request is its
    /// limit, as API defaulting makes it) equal its limits. Otherwise Burstable.
    static func of(_ pod: JSON) -> QoS {
        let containers = (pod[path: ["spec", "initContainers"]]?.array ?? []) + (pod[path: ["spec", "containers"]]?.array ?? [])
        var requests: [String: Double] = [:], limits: [String: Double] = [:]
        var guaranteed = !containers.isEmpty
        for container in containers {
            let containerLimits = container[path: ["resources", "limits"]]?.object ?? [:]
            let containerRequests = container[path: ["resources", "requests"]]?.object ?? [:]
            var limited = 0
            for resource in ["cpu", "memory"] {
                let limit = containerLimits[resource].flatMap(Quantity.init)?.millis ?? 0
                let request = containerRequests[resource].flatMap(Quantity.init)?.millis ?? limit
                if request > 0 { requests[resource, default: 0] += request }
                if limit > 0 {
                    limits[resource, default: 0] += limit
                    limited += 1
                }
            }
            if limited < 2 { guaranteed = false }
        }
        if requests.isEmpty && limits.isEmpty { return .bestEffort }
        return guaranteed && requests == limits ? .guaranteed : .burstable
    }
}

/// A resource quantity, normalised enough to compare (`1` == `1000m`, `1Gi` == `1024Mi`).
struct Quantity: Equatable {
    /// The value in milli-units.
    var millis: Double

    init?(_ json: JSON) {
        switch json {
        case .string(let text): self.init(text)
        case .int(let value): self.init(millis: Double(value) * 1000)
        case .double(let value): self.init(millis: value * 1000)
        default: return nil
        }
    }

    init(millis: Double) {
        self.millis = millis
    }

    /// Accepts decimal numbers with an optional suffix: `m`, `k`, `M`, `G`, `T`, `Ki`, `Mi`,
    /// `Gi`, `Ti`. Rejects signs, exponents and everything else.
    init?(_ text: String) {
        let suffixes: [(String, Double)] = [("Ki", 1024), ("Mi", 1_048_576), ("Gi", 1_073_741_824), ("Ti", 1_099_511_627_776),
                                            ("m", 0.001), ("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12)]
        var number = Substring(text)
        var scale = 1.0
        for (suffix, factor) in suffixes where text.hasSuffix(suffix) {
            number = number.dropLast(suffix.count)
            scale = factor
            break
        }
        let digits = number.split(separator: ".", omittingEmptySubsequences: false)
        guard !number.isEmpty, digits.count <= 2, digits.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let value = Double(number) else { return nil }
        self.init(millis: value * scale * 1000)
    }
}

/// The rules of the `pods/resize` subresource (in-place pod resize), as the API server's
/// `ValidatePodResize` (pkg/apis/core/validation) enforces them: only
/// `spec.containers[*].resources` may change, quantities must parse, requests stay within
/// limits, no request or limit is removed, and the pod's QoS class may not change (so a
/// Guaranteed pod keeps requests = limits, and a Burstable pod may not reach them everywhere).
///
/// Modelled: validation (422 Invalid with `details.causes[].field`) and the spec update (with
/// `metadata.generation` bumped), whatever the patch type (strategic merge, kubectl's default,
/// merges containers by name). The kubelet's side (`PodResizePending` / `PodResizeInProgress`
/// conditions, `status.containerStatuses[*].resources`) is ``KubeletStandIn``'s.
enum Resize {
    static func apply(old: JSON, proposed: JSON, name: String) throws(StatusError) -> JSON {
        try refuseUnresizable(old, name: name)
        var causes: [StatusError.Cause] = []
        let oldContainers = old[path: ["spec", "containers"]]?.array ?? []
        let newContainers = proposed[path: ["spec", "containers"]]?.array ?? []
        if strippingResources(old) != strippingResources(proposed) || oldContainers.count != newContainers.count {
            causes.append(.init(field: "spec", message: "Forbidden: only cpu and memory resources for containers are mutable in pod resize",
                                reason: "FieldValueForbidden"))
        }
        for (index, container) in newContainers.enumerated() {
            for section in ["requests", "limits"] {
                for (resource, value) in container[path: ["resources", section]]?.object ?? [:] where Quantity(value) == nil {
                    causes.append(.init(field: "spec.containers[\(index)].resources.\(section).\(resource)",
                                        message: "Invalid value: \(String(decoding: value.encoded(), as: UTF8.self)): must be a valid quantity"))
                }
            }
        }
        if causes.isEmpty {
            causes += requestsWithinLimits(newContainers)
            causes += nothingRemoved(old: oldContainers, new: newContainers)
            // Upstream: `qos.GetPodQOS(oldPod) != qos.ComputePodQOS(newPod)` →
            // field.Invalid(spec, newPod.Status.QOSClass, ...): the recorded class is the value shown.
            let before = QoS.recorded(old), after = QoS.of(proposed)
            if before != after {
                causes.append(.init(field: "spec",
                                    message: "Invalid value: \"\(before.rawValue)\": Pod QOS Class may not change as a result of resizing"))
            }
        }
        guard causes.isEmpty else { throw StatusError.invalid(.pods, name: name, causes: causes) }
        var new = old
        new[path: ["spec", "containers"]] = proposed[path: ["spec", "containers"]]
        return new
    }

    /// `ValidateResourceRequirements`, which `ValidatePodResize` runs on the new pod through
    /// `validatePodMetadataAndSpec`: a request above its limit →
    /// `spec.containers[0].resources.requests: Invalid value: "600m": must be less than or equal to cpu limit of 500m`.
    static func requestsWithinLimits(_ containers: [JSON]) -> [StatusError.Cause] {
        var causes: [StatusError.Cause] = []
        for (index, container) in containers.enumerated() {
            let limits = container[path: ["resources", "limits"]]?.object ?? [:]
            for (resource, value) in (container[path: ["resources", "requests"]]?.object ?? [:]).sorted(by: { $0.key < $1.key }) {
                guard let limitValue = limits[resource], let request = Quantity(value), let limit = Quantity(limitValue),
                      request.millis > limit.millis else { continue }
                causes.append(.init(field: "spec.containers[\(index)].resources.requests",
                                    message: "Invalid value: \"\(value.string ?? "")\": must be less than or equal to \(resource) limit of \(limitValue.string ?? "")"))
            }
        }
        return causes
    }

    /// `validateContainerResize`: a resize may change requests and limits, never remove one →
    /// `spec.containers[0].resources.requests: Forbidden: resource requests cannot be removed`.
    static func nothingRemoved(old: [JSON], new: [JSON]) -> [StatusError.Cause] {
        var causes: [StatusError.Cause] = []
        for (index, container) in new.enumerated() where old.indices.contains(index) {
            for section in ["requests", "limits"] {
                let before = Set((old[index][path: ["resources", section]]?.object ?? [:]).keys)
                let after = Set((container[path: ["resources", section]]?.object ?? [:]).keys)
                if !before.isSubset(of: after) {
                    causes.append(.init(field: "spec.containers[\(index)].resources.\(section)",
                                        message: "Forbidden: resource \(section) cannot be removed", reason: "FieldValueForbidden"))
                }
            }
        }
        return causes
    }

    /// Pods no resize can ever change, refused before anything else is looked at:
    /// - a static pod's mirror: upstream `ValidatePodResize` returns
    ///   `field.Forbidden(field.NewPath(""), "static pods cannot be resized")` when the old pod has
    ///   the `kubernetes.io/config.mirror` annotation;
    /// - a pod with pod-level resources (`spec.resources`, PodLevelResources, beta in 1.34): the
    ///   1.34/1.35 API server refuses to resize it while `InPlacePodLevelResourcesVerticalScaling`
    ///   is off (its default there), since the kubelet sizes the pod cgroup from that budget.
    static func refuseUnresizable(_ pod: JSON, name: String) throws(StatusError) {
        if pod[path: ["metadata", "annotations", "kubernetes.io/config.mirror"]] != nil {
            throw StatusError.invalid(.pods, name: name, causes: [
                .init(field: "", message: "Forbidden: static pods cannot be resized", reason: "FieldValueForbidden"),
            ])
        }
        if let resources = pod[path: ["spec", "resources"]]?.object, !resources.isEmpty {
            throw StatusError.invalid(.pods, name: name, causes: [
                .init(field: "spec.resources", message: "Forbidden: pods with pod-level resources cannot be resized in place",
                      reason: "FieldValueForbidden"),
            ])
        }
    }

    /// The pod's spec with every container's `resources` removed: what resize must not change.
    static func strippingResources(_ pod: JSON) -> JSON? {
        guard var spec = pod["spec"] else { return nil }
        if let containers = spec["containers"]?.array {
            spec["containers"] = .array(containers.map { container in
                var container = container
                container["resources"] = nil
                return container
            })
        }
        return spec
    }

    /// A PUT/PATCH of the pod itself may not touch container resources (that is what
    /// `pods/resize` is for); the real server's spec immutability is broader, this is the part
    /// MBCAS depends on.
    static func checkMainUpdate(old: JSON, new: JSON, name: String) throws(StatusError) {
        let oldContainers = old[path: ["spec", "containers"]]?.array ?? []
        let newContainers = new[path: ["spec", "containers"]]?.array ?? []
        for (index, container) in newContainers.enumerated()
        where oldContainers.indices.contains(index) && oldContainers[index]["resources"] != container["resources"] {
            throw StatusError.invalid(.pods, name: name, causes: [
                .init(field: "spec.containers[\(index)].resources",
                      message: "Forbidden: pod updates may not change container resources; use the resize subresource",
                      reason: "FieldValueForbidden"),
            ])
        }
    }
}
