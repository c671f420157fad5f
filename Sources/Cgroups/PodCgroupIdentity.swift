public import QoS

/// The container runtime, as far as the cgroup name tells it.
public enum ContainerRuntime: String, Sendable, Hashable, CaseIterable {
    /// containerd's CRI plugin (`cri-containerd-<id>.scope`).
    case containerd
    /// CRI-O (`crio-<id>.scope`, or `crio-<id>` with cgroupfs).
    case crio
    /// Docker through dockershim or cri-dockerd (`docker-<id>.scope`).
    case docker
}

/// How the kubelet names cgroups.
public enum CgroupDriver: String, Sendable, Hashable, CaseIterable {
    /// systemd slices and scopes: `kubepods.slice/kubepods-burstable.slice/...`.
    case systemd
    /// Plain directories: `/kubepods/burstable/pod<uid>/<id>`.
    case cgroupfs
}

/// Which pod (and container) a kubelet-managed cgroup belongs to.
public struct PodCgroupIdentity: Sendable, Hashable {
    /// The pod's UID in its API form: lowercase 8-4-4-4-12 (systemd's `_` turned back into `-`), or
    /// the 32 hex digits the kubelet derives for a static pod without a UID in its manifest.
    public var podUID: String
    /// The pod's QoS class.
    public var qos: QoSClass
    /// The container id (64 lowercase hex), or nil for the pod-level cgroup.
    public var containerID: String?
    /// The runtime named by the container cgroup, or nil when the path does not tell (pod level, or a
    /// bare id under cgroupfs, which containerd and Docker both use).
    public var runtime: ContainerRuntime?
    /// The kubelet's cgroup driver, as seen from the naming.
    public var driver: CgroupDriver
    /// The parsed path cut after the pod component: the cgroup holding the pod's limit.
    public var podCgroupPath: String
    /// The parsed path cut after the container component, or nil for the pod-level cgroup. Differs from
    /// the parsed path when the container created cgroups of its own below it.
    public var containerCgroupPath: String?

    /// Creates an identity from its fields.
    public init(
        podUID: String, qos: QoSClass, containerID: String? = nil, runtime: ContainerRuntime? = nil,
        driver: CgroupDriver, podCgroupPath: String, containerCgroupPath: String? = nil
    ) {
        self.podUID = podUID
        self.qos = qos
        self.containerID = containerID
        self.runtime = runtime
        self.driver = driver
        self.podCgroupPath = podCgroupPath
        self.containerCgroupPath = containerCgroupPath
    }

    /// Parses a kubelet cgroup path; see ``KubeletPath/parse(_:)``.
    public init(cgroupPath: String) throws(KubeletPathError) {
        self = try KubeletPath.parse(cgroupPath)
    }
}
