/// The admission plugins that look at `pods/resize` (KEP-1287, 1.33+), on the namespace's
/// ResourceQuotas and LimitRanges as stored. Both answer 403 Forbidden, never 422, with the
/// upstream message, so a client cannot mistake them for validation:
/// - LimitRanger (`plugin/pkg/admission/limitranger`): for each `LimitRange` item of type
///   `Container`, a container's cpu limit above `max` → `maximum cpu usage per Container is 1,
///   but limit is 2`; below `min` → `minimum cpu usage per Container is 100m, but limit is 50m`;
///   for type `Pod`, the same on the pod's sum (`... per Pod is ...`);
/// - ResourceQuota (`plugin/pkg/admission/resourcequota`): the namespace's usage with the pod
///   resized must stay within each quota's `spec.hard` for `limits.cpu`, `requests.cpu` and
///   `cpu` (= requests.cpu) → `exceeded quota: compute, requested: limits.cpu=500m, used:
///   limits.cpu=1500m, limited: limits.cpu=1800m`. Usage is counted from the live pods (what
///   the quota controller keeps in `status.used`); only an increase is checked, as upstream.
enum ResizeAdmission {
    static func check(old: JSON, new: JSON, name: String, namespace: String, quotas: [JSON], limitRanges: [JSON],
                      pods: [JSON]) throws(StatusError) {
        for range in limitRanges {
            for item in range[path: ["spec", "limits"]]?.array ?? [] {
                let type = item["type"]?.string ?? ""
                let bounds = [("maximum", item[path: ["max", "cpu"]]), ("minimum", item[path: ["min", "cpu"]])]
                var subjects: [Double] = []
                if type == "Container" {
                    subjects = containers(of: new).compactMap { $0[path: ["resources", "limits", "cpu"]].flatMap(Quantity.init)?.millis }
                } else if type == "Pod" {
                    subjects = [cpu(of: new, "limits")]
                } else {
                    continue
                }
                for (word, bound) in bounds {
                    guard let limitText = bound?.string, let limit = Quantity(limitText)?.millis else { continue }
                    for value in subjects where word == "maximum" ? value > limit : value < limit {
                        throw forbidden(name, "\(word) cpu usage per \(type) is \(limitText), but limit is \(format(value))")
                    }
                }
            }
        }
        let others = pods.filter { $0[path: ["metadata", "name"]]?.string != name }
        for quota in quotas {
            let quotaName = quota[path: ["metadata", "name"]]?.string ?? ""
            for (resource, hardText) in quota[path: ["spec", "hard"]]?.object ?? [:] {
                let section: String
                switch resource {
                case "limits.cpu": section = "limits"
                case "requests.cpu", "cpu": section = "requests"
                default: continue
                }
                guard let hardString = hardText.string, let hard = Quantity(hardString)?.millis else { continue }
                let before = cpu(of: old, section), after = cpu(of: new, section)
                guard after > before else { continue }
                let used = others.reduce(before) { $0 + cpu(of: $1, section) }
                if used + (after - before) > hard {
                    throw forbidden(name, "exceeded quota: \(quotaName), requested: \(resource)=\(format(after - before)), "
                                    + "used: \(resource)=\(format(used)), limited: \(resource)=\(hardString)")
                }
            }
        }
    }

    private static func forbidden(_ name: String, _ message: String) -> StatusError {
        StatusError(code: 403, reason: "Forbidden", message: "pods \"\(name)\" is forbidden: \(message)",
                    details: ["name": .string(name), "kind": "pods"])
    }

    private static func containers(of pod: JSON) -> [JSON] { pod[path: ["spec", "containers"]]?.array ?? [] }

    /// Σ of the containers' cpu in `section`, millicores (a missing request defaults to the limit).
    private static func cpu(of pod: JSON, _ section: String) -> Double {
        containers(of: pod).reduce(0) { sum, container in
            let value = container[path: ["resources", section, "cpu"]]
                ?? (section == "requests" ? container[path: ["resources", "limits", "cpu"]] : nil)
            return sum + (value.flatMap(Quantity.init)?.millis ?? 0)
        }
    }

    /// As Kubernetes prints a cpu quantity: whole cores, else millicores.
    private static func format(_ millis: Double) -> String {
        let rounded = Int64(millis.rounded())
        return rounded % 1000 == 0 ? String(rounded / 1000) : "\(rounded)m"
    }
}
