public import QoS

/// How the API server computes a pod's QoS class.
extension QoSClass {
    /// The class the API server recorded (`status.qosClass`), or the one its spec implies when
    /// the status does not say (a pod just created).
    public static func of(_ pod: Pod) -> QoSClass {
        if let recorded = pod.status?.qosClass.flatMap(QoSClass.init(rawValue:)) { return recorded }
        return of(containers: allContainers(of: pod))
    }

    /// What the API server's QoS computation counts: the regular containers and every init
    /// container (native sidecars included).
    public static func allContainers(of pod: Pod) -> [Container] {
        pod.spec.containers + (pod.spec.initContainers ?? [])
    }

    /// The class these containers imply, computed as the API server does (`GetPodQOS`): only cpu
    /// and memory count, zero amounts count as absent, a missing request defaults to its limit
    /// (API defaulting). BestEffort: nothing requested or limited. Guaranteed: every container
    /// limits both cpu and memory, and the pod's requests equal its limits. Otherwise Burstable.
    public static func of(containers: [Container]) -> QoSClass {
        var requests: [String: Int64] = [:]
        var limits: [String: Int64] = [:]
        var guaranteed = !containers.isEmpty
        var unparsable = false
        for container in containers {
            let containerLimits = container.resources?.limits ?? [:]
            var containerRequests = container.resources?.requests ?? [:]
            for (name, value) in containerLimits where containerRequests[name] == nil { containerRequests[name] = value }
            var limited: Set<String> = []
            for name in ["cpu", "memory"] {
                if let text = containerRequests[name] {
                    guard let amount = ResourceAmount.milliUnits(text) else { unparsable = true; continue }
                    if amount > 0 { requests[name, default: 0] += amount }
                }
                if let text = containerLimits[name] {
                    guard let amount = ResourceAmount.milliUnits(text) else { unparsable = true; continue }
                    if amount > 0 {
                        limits[name, default: 0] += amount
                        limited.insert(name)
                    }
                }
            }
            if limited.count < 2 { guaranteed = false }
        }
        if requests.isEmpty && limits.isEmpty && !unparsable { return .bestEffort }
        if guaranteed, !unparsable, requests.count == limits.count,
           requests.allSatisfy({ name, amount in limits[name] == amount }) {
            return .guaranteed
        }
        return .burstable
    }
}

/// Resource amounts compared as the API server compares them (`"1"` is `"1000m"`, `"1Gi"` is
/// `"1024Mi"`), for cpu and memory alike.
public enum ResourceAmount {
    /// The amount in thousandths of a unit, or nil for text that is not a quantity.
    public static func milliUnits(_ text: String) -> Int64? {
        // CPUQuantity parses every Kubernetes quantity form (decimal and binary suffixes,
        // exponents); a memory amount is just a large number of "millicores".
        try? CPUQuantity(parsing: text).millicores
    }

    /// Whether two optional quantities are the same amount (both absent counts as equal).
    public static func same(_ lhs: String?, _ rhs: String?) -> Bool {
        switch (lhs, rhs) {
        case (nil, nil): return true
        case (let left?, let right?):
            guard let l = milliUnits(left), let r = milliUnits(right) else { return left == right }
            return l == r
        default: return false
        }
    }
}
