import Cgroups

/// A pod as an inventory reports it: a name, the cgroup holding its CPU limit, its bounds.
public struct PodCandidate: Sendable, Hashable {
    /// The child cgroup's name (standalone) or `namespace/name` (Kubernetes).
    public var name: String
    /// The pod-level cgroup directory (absolute).
    public var cgroupPath: String
    /// Floor, cap, weight, QoS.
    public var settings: AgentConfiguration.PodSettings

    public init(name: String, cgroupPath: String, settings: AgentConfiguration.PodSettings) {
        self.name = name
        self.cgroupPath = cgroupPath
        self.settings = settings
    }
}

/// Which pods the agent manages: the seam between standalone mode (child cgroups of a parent)
/// and Kubernetes mode (the API's pods on this node, found in the kubelet's cgroup tree).
/// Called by the slow pass, never on the ring-buffer thread.
public protocol PodInventory: Sendable {
    /// The pods to manage now. `index` maps every cgroup under the agent's cgroup parent.
    func pods(index: CgroupIndex, hierarchy: CgroupHierarchy) throws(AgentError) -> [PodCandidate]
    /// CPU requested by the node's pods that are not managed, millicores, as of the last ``pods(index:hierarchy:)``:
    /// it is not the agent's to divide (Kubernetes mode: Σ requests ≤ allocatable counts every pod).
    var othersRequestMillicores: Int { get }
}

extension PodInventory {
    public var othersRequestMillicores: Int { 0 }
}

/// Standalone mode: every child cgroup of `cgroup_parent` is a pod, with the configuration's
/// settings for its name.
public struct CgroupChildrenInventory: PodInventory {
    let configuration: AgentConfiguration

    public init(configuration: AgentConfiguration) {
        self.configuration = configuration
    }

    public func pods(index: CgroupIndex, hierarchy: CgroupHierarchy) throws(AgentError) -> [PodCandidate] {
        let parent = CgroupDirectory(path: configuration.cgroupParent)
        let names: [String]
        do { names = try parent.children() } catch {
            throw AgentError(.invalidCgroupParent, "cannot list the managed cgroups under \(configuration.cgroupParent): \(error.message)")
        }
        return names.map { PodCandidate(name: $0, cgroupPath: parent.child($0).path, settings: configuration.settings(forPod: $0)) }
    }
}
