import KubernetesClient

/// Turns a pod-level CPU limit (what the agent decides: the pod cgroup's quota, which the kubelet
/// sets to the sum of the containers' limits) into per-container limits for a PodAllocation.
///
/// Every container keeps at least its request (requests ≤ limits must hold after a resize); the
/// rest of the pod's limit is shared in proportion to each container's current room above its
/// request (its share of the burst), or to its current limit when no container has room.
/// Rounding goes to the last container, so the limits sum to the pod's limit exactly.
enum ContainerSplit {
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
