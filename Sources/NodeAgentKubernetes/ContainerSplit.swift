import KubernetesClient
import NodeAgent
import QoS

/// Turns a pod-level CPU decision into per-container values for a PodAllocation: the limit (what
/// the agent decides as the pod cgroup's quota, which the kubelet sets from the containers'
/// limits, see ``PodCPU``) and, under weights actuation, the request (the pod's weight: the
/// kubelet derives `cpu.shares` / `cpu.weight` from it).
///
/// The part that resizes of the regular containers cannot move stays out: RuntimeClass overhead
/// and the native sidecars' requests and limits (a PodAllocation names regular containers only).
/// Requests are shared in proportion to the containers' current requests. Every container keeps
/// at least its request as its limit (requests ≤ limits must hold after a resize); the rest is
/// shared in proportion to each container's current room above its request (its share of the
/// burst), or to its current limit when no container has room. Rounding goes to the last
/// container, so the values sum to the pod's exactly.
enum ContainerSplit {
    static func split(podLimit: Int64, podRequest: Int64? = nil, spec: PodSpec) -> [ContainerAllocation]? {
        guard let cpu = try? PodCPU(spec), cpu.limit != nil else { return nil }
        var requests: [Int64]?
        if let podRequest {
            // What the regular containers' requests do not make of the pod's: sidecars, overhead.
            let regular = spec.containers.reduce(Int64(0)) { sum, container in
                sum + ((try? container.resources?.cpuRequest()?.millicores) ?? nil ?? ((try? container.resources?.cpuLimit()?.millicores) ?? nil) ?? 0)
            }
            requests = splitRequests(podRequest - (cpu.request - regular), containers: spec.containers)
        }
        guard var split = split(podLimit: podLimit - cpu.overhead - cpu.sidecarLimits, containers: spec.containers,
                                requests: requests) else { return nil }
        if requests != nil { keepQoS(&split, spec: spec) }
        return split
    }

    /// `requests`: the containers' new requests (in `containers` order); nil keeps their requests
    /// and sends none.
    static func split(podLimit: Int64, containers: [Container], requests: [Int64]? = nil) -> [ContainerAllocation]? {
        var entries: [(name: String, request: Int64, limit: Int64)] = []
        for container in containers {
            guard let limit = try? container.resources?.cpuLimit()?.millicores else { return nil }
            let request = ((try? container.resources?.cpuRequest()) ?? nil)?.millicores ?? limit
            entries.append((container.name, request, limit))
        }
        guard !entries.isEmpty else { return nil }
        let requestSum = entries.reduce(0) { $0 + $1.request }
        let spare = max(0, podLimit - requestSum)
        let rooms = entries.map { max(0, $0.limit - $0.request) }
        let weights = rooms.reduce(0, +) > 0 ? rooms : entries.map(\.limit)
        let totalWeight = max(1, weights.reduce(0, +))
        var result: [ContainerAllocation] = []
        var given: Int64 = 0
        for (index, entry) in entries.enumerated() {
            let share = index == entries.count - 1 ? spare - given : spare * weights[index] / totalWeight
            given += share
            let limit = max(1, entry.request + share)
            // A new request is at most the new limit: a weight above the limit buys nothing, and
            // requests ≤ limits must hold.
            let request = requests.map { CPUQuantity(millicores: max(1, min($0[index], limit))) }
            result.append(ContainerAllocation(name: entry.name, cpuRequest: request, cpuLimit: CPUQuantity(millicores: limit)))
        }
        return result
    }

    /// `total` millicores over the containers, in proportion to their current requests (equally
    /// when none has one), at least 1m each; the last takes the rounding.
    static func splitRequests(_ total: Int64, containers: [Container]) -> [Int64] {
        let current = containers.map { container in
            ((try? container.resources?.cpuRequest()?.millicores) ?? nil) ?? ((try? container.resources?.cpuLimit()?.millicores) ?? nil) ?? 0
        }
        let weights = current.reduce(0, +) > 0 ? current : current.map { _ in 1 }
        let sum = weights.reduce(0, +)
        let total = max(Int64(containers.count), total)
        var given: Int64 = 0
        return weights.indices.map { index in
            let share = index == weights.count - 1 ? total - given : max(1, total * weights[index] / sum)
            given += share
            return max(1, share)
        }
    }

    /// A resize may not change the pod's QoS class (the API server refuses it, 422). A Burstable
    /// pod whose every container limits cpu and memory with memory request = limit becomes
    /// Guaranteed when its cpu requests reach its limits: one container's request then stays 1m
    /// below its limit (a weight 1m smaller, which no one can measure).
    static func keepQoS(_ split: inout [ContainerAllocation], spec: PodSpec) {
        let others = spec.initContainers ?? []
        let before = QoSClass.of(containers: spec.containers + others)
        func applied() -> [Container] {
            spec.containers.map { container in
                guard let allocation = split.first(where: { $0.name == container.name }) else { return container }
                var container = container
                var resources = container.resources ?? ResourceRequirements()
                resources.limits = (resources.limits ?? [:]).merging(["cpu": allocation.cpuLimit.description]) { $1 }
                if let request = allocation.cpuRequest {
                    resources.requests = (resources.requests ?? [:]).merging(["cpu": request.description]) { $1 }
                }
                container.resources = resources
                return container
            }
        }
        guard before != .guaranteed, QoSClass.of(containers: applied() + others) == .guaranteed,
              let index = split.indices.filter({ split[$0].cpuLimit.millicores > 1 }).max(by: { split[$0].cpuLimit < split[$1].cpuLimit })
        else { return }
        split[index].cpuRequest = CPUQuantity(millicores: split[index].cpuLimit.millicores - 1)
    }
}
