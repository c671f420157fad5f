/// A pod's QoS class, as the API server derives it from container resources.
enum QoS: String, Sendable {
    case guaranteed = "Guaranteed", burstable = "Burstable", bestEffort = "BestEffort"

    /// Guaranteed: every container has cpu and memory limits, and requests (defaulting to the
    /// limits) equal them. BestEffort: no container asks for anything. Otherwise Burstable.
    static func of(_ pod: JSON) -> QoS {
        let containers = pod[path: ["spec", "containers"]]?.array ?? []
        var anything = false
        var guaranteed = !containers.isEmpty
        for container in containers {
            let limits = container[path: ["resources", "limits"]]?.object ?? [:]
            let requests = container[path: ["resources", "requests"]]?.object ?? [:]
            if !limits.isEmpty || !requests.isEmpty { anything = true }
            for resource in ["cpu", "memory"] {
                guard let limit = limits[resource].flatMap(Quantity.init) else {
                    guaranteed = false
                    continue
                }
                let request = requests[resource].flatMap(Quantity.init) ?? limit
                if request != limit { guaranteed = false }
            }
        }
        if !anything { return .bestEffort }
        return guaranteed ? .guaranteed : .burstable
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

/// The rules of the `pods/resize` subresource (in-place pod resize), as far as the API server
/// enforces them: only `spec.containers[*].resources` may change, quantities must parse, and
/// the pod's QoS class may not change.
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
            let before = QoS.of(old), after = QoS.of(proposed)
            if before != after {
                let index = newContainers.indices.first { oldContainers.indices.contains($0) && oldContainers[$0]["resources"] != newContainers[$0]["resources"] } ?? 0
                causes.append(.init(field: "spec.containers[\(index)].resources",
                                    message: "Invalid value: \"\(after.rawValue)\": Pod QOS Class may not change as a result of resizing (was \(before.rawValue))"))
            }
        }
        guard causes.isEmpty else { throw StatusError.invalid(.pods, name: name, causes: causes) }
        var new = old
        new[path: ["spec", "containers"]] = proposed[path: ["spec", "containers"]]
        return new
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
