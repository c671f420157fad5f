import KubernetesClient
import NodeAgent

/// Turns a pod-level CPU limit (what the agent decides: the pod cgroup's quota, which the kubelet
/// sets from the containers' limits, see ``PodCPU``) into per-container limits for a PodAllocation.
///
/// The part that resizes of the regular containers cannot move stays out: RuntimeClass overhead
/// and the native sidecars' limits (a PodAllocation names regular containers only). Every
/// container keeps at least its request (requests ≤ limits must hold after a resize); the rest is
/// shared in proportion to each container's current room above its request (its share of the
/// burst), or to its current limit when no container has room. Rounding goes to the last
/// container, so the limits sum to the share exactly.
enum ContainerSplit {
    static func split(podLimit: Int64, spec: PodSpec) -> [ContainerAllocation]? {
        guard let cpu = try? PodCPU(spec), cpu.limit != nil else { return nil }
        return split(podLimit: podLimit - cpu.overhead - cpu.sidecarLimits, containers: spec.containers)
    }

    static func split(podLimit: Int64, containers: [Container]) -> [ContainerAllocation]? {
        var entries: [(name: String, request: Int64, limit: Int64)] = []
        for container in containers {
            guard let limit = try? container.resources?.cpuLimit()?.millicores else { return nil }
            let request = ((try? container.resources?.cpuRequest()) ?? nil)?.millicores ?? limit
            entries.append((container.name, request, limit))
        }
        guard !entries.isEmpty else { return nil }
        let requests = entries.reduce(0) { $0 + $1.request }
        let spare = max(0, podLimit - requests)
        let rooms = entries.map { max(0, $0.limit - $0.request) }
        let weights = rooms.reduce(0, +) > 0 ? rooms : entries.map(\.limit)
        let totalWeight = max(1, weights.reduce(0, +))
        var result: [ContainerAllocation] = []
        var given: Int64 = 0
        for (index, entry) in entries.enumerated() {
            let share = index == entries.count - 1 ? spare - given : spare * weights[index] / totalWeight
            given += share
            result.append(ContainerAllocation(name: entry.name, cpuLimit: CPUQuantity(millicores: max(1, entry.request + share))))
        }
        return result
    }
}
