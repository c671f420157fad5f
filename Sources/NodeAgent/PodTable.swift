import Cgroups
import Market

/// A managed pod: a child cgroup of the agent's parent (standalone) or a Kubernetes pod's cgroup.
public struct ManagedPod: Sendable, Hashable {
    /// Its slot (index in the guardrail and the market).
    public var slot: PodSlot
    /// The child cgroup's name.
    public var name: String
    /// Its directory (absolute).
    public var cgroupPath: String
    /// Its cgroup id (directory inode).
    public var cgroupID: UInt64
    /// Bounds and standing from the configuration.
    public var settings: AgentConfiguration.PodSettings
    /// The limit in force, millicores.
    public var limit: Int
    /// The CFS weight in force, in cpu.shares (nil: not read yet).
    public var weight: Int?
}

/// The pods the agent manages, and which kernel cgroup ids belong to each
/// (the pod's own cgroup and every cgroup below it: containers, their
/// children). The hot path looks ids up here; the slow pass refreshes it.
struct PodTable: Sendable {
    /// Slots are fixed-capacity: the guardrail's state is preallocated.
    static let capacity = 1024

    private(set) var pods: [PodSlot: ManagedPod] = [:]
    /// Slots in name order, kept on add/remove: every round walks the pods in this order.
    private var slotsByName: [PodSlot] = []
    private var slotsByCgroupID: [UInt64: PodSlot] = [:]
    private var freeSlots: [PodSlot] = (0..<PodTable.capacity).reversed().map { PodSlot($0) }

    /// The pod a kernel cgroup id belongs to. O(1), no allocation.
    func slot(forCgroupID id: UInt64) -> PodSlot? { slotsByCgroupID[id] }

    func pod(_ slot: PodSlot) -> ManagedPod? { pods[slot] }

    var sortedPods: [ManagedPod] { slotsByName.compactMap { pods[$0] } }

    /// Every cgroup id that belongs to a pod (for the probe's watch list).
    var cgroupIDs: [UInt64] { Array(slotsByCgroupID.keys) }

    /// Adds a pod; nil when all slots are taken.
    mutating func add(name: String, cgroupPath: String, cgroupID: UInt64,
                      settings: AgentConfiguration.PodSettings, limit: Int) -> ManagedPod? {
        guard let slot = freeSlots.popLast() else { return nil }
        let pod = ManagedPod(slot: slot, name: name, cgroupPath: cgroupPath, cgroupID: cgroupID,
                             settings: settings, limit: limit)
        pods[slot] = pod
        slotsByCgroupID[cgroupID] = slot
        let position = slotsByName.firstIndex { pods[$0].map { $0.name > name } ?? false } ?? slotsByName.endIndex
        slotsByName.insert(slot, at: position)
        return pod
    }

    /// Removes a pod and its cgroup ids.
    mutating func remove(_ slot: PodSlot) {
        guard pods.removeValue(forKey: slot) != nil else { return }
        slotsByName.removeAll { $0 == slot }
        slotsByCgroupID = slotsByCgroupID.filter { $0.value != slot }
        freeSlots.append(slot)
    }

    mutating func setLimit(_ slot: PodSlot, _ limit: Int) {
        pods[slot]?.limit = limit
    }

    mutating func setWeight(_ slot: PodSlot, _ shares: Int) {
        pods[slot]?.weight = shares
    }

    /// Maps every cgroup id of `index` to the pod whose cgroup holds it (the pod's own
    /// directory or any below it: containers and their children).
    mutating func mapDescendants(_ index: CgroupIndex, relativePath: (String) -> String?) {
        var slotsByPath: [String: PodSlot] = [:]
        for pod in pods.values {
            if let path = relativePath(pod.cgroupPath) { slotsByPath[path] = pod.slot }
        }
        var mapping: [UInt64: PodSlot] = [:]
        for (id, path) in index.pathsByID {
            // Walk up from the cgroup to the first ancestor that is a pod (paths are a few levels deep).
            var candidate = Substring(path)
            while !candidate.isEmpty {
                if let slot = slotsByPath[String(candidate)] {
                    mapping[id] = slot
                    break
                }
                guard let slash = candidate.lastIndex(of: "/"), slash != candidate.startIndex else { break }
                candidate = candidate[..<slash]
            }
        }
        for pod in pods.values { mapping[pod.cgroupID] = pod.slot }
        slotsByCgroupID = mapping
    }
}
