/// Why a cgroup path is not a kubelet pod or container cgroup.
public struct KubeletPathError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The reason, to switch on.
    public enum Code: Sendable, Hashable {
        /// No `kubepods` (cgroupfs) or `kubepods.slice` / `<parent>-kubepods.slice` (systemd) component.
        case notKubepods
        /// The path stops above any pod: the kubepods root or a QoS-class cgroup.
        case notPodCgroup
        /// The component under kubepods is neither `burstable`, `besteffort` nor a pod.
        case unknownQoSClass
        /// A component does not have the shape expected at its level (wrong prefix, a pod slice whose
        /// QoS word disagrees with its parent, a non-scope under a systemd pod slice...).
        case unexpectedComponent
        /// The pod UID is neither RFC 4122 lowercase (8-4-4-4-12 hex) nor a static pod's 32 hex digits.
        case invalidPodUID
        /// The container id is not 64 lowercase hex digits.
        case invalidContainerID
        /// A `crio-conmon-<id>` cgroup: CRI-O's per-container monitor process, not the workload.
        case runtimeMonitor
    }

    /// The reason.
    public var code: Code
    /// The path that was parsed.
    public var path: String
    /// The offending component, when one is to blame.
    public var component: String?
    /// A human-readable explanation naming the path and component.
    public var message: String

    /// Creates an error.
    public init(code: Code, path: String, component: String? = nil, message: String) {
        self.code = code
        self.path = path
        self.component = component
        self.message = message
    }

    /// The message, prefixed with the code, for logs.
    public var description: String { "KubeletPathError.\(code): \(message)" }
}
