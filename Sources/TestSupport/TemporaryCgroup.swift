import Foundation
import Cgroups

/// A uniquely named cgroup under the hierarchy holding the cpu controller,
/// removed (with its processes moved out) by `remove()`.
public struct TemporaryCgroup: Sendable {
    /// The hierarchy it lives in (v1 `cpu` here, v2 on most nodes).
    public let hierarchy: CgroupHierarchy
    /// Its directory.
    public let directory: CgroupDirectory

    /// Creates `<mount>/<prefix>-<random>`.
    public init(prefix: String = "mbcas-test") throws {
        hierarchy = try CgroupHierarchy.discover(controller: "cpu")
        let name = "\(prefix)-\(UInt32.random(in: 0...UInt32.max))"
        directory = try CgroupDirectory(hierarchy: hierarchy, relativePath: "/").createChild(name)
    }

    /// The absolute path of its directory.
    public var path: String { directory.path }

    /// Its kernel id: what the BPF probe reports.
    public func id() throws -> UInt64 { try cgroupID(of: path) }

    /// Sets the CFS quota as a fraction of one CPU (0.2 = 20 ms per 100 ms).
    public func limit(cpus: Double) throws {
        try CPULimit(quotaMicros: Int64(cpus * 100_000), periodMicros: 100_000)
            .write(cgroupPath: path, version: hierarchy.version)
    }

    /// The kernel's own `cpu.stat` for it.
    public func cpuStat() throws -> CPUStat {
        try CPUStat.read(cgroupPath: path, version: hierarchy.version)
    }

    /// On cgroup v2, enables the cpu controller for the children of `directory` (this cgroup by
    /// default), as the kubelet does down its tree: without it a child has no `cpu.max` and its
    /// tasks count in the parent's cpu cgroup. A cgroup that does this can hold no process itself.
    /// No-op on v1, where every cgroup of the hierarchy has the controller.
    public func delegateCPU(to directory: CgroupDirectory? = nil) throws {
        try TestSupport.delegateCPU(to: directory ?? self.directory, version: hierarchy.version)
    }

    /// Kills nothing: move its processes to the parent, then rmdir.
    public func remove() {
        try? directory.remove()
    }
}

/// See ``TemporaryCgroup/delegateCPU(to:)``: `+cpu` in the directory's `cgroup.subtree_control` on v2.
public func delegateCPU(to directory: CgroupDirectory, version: CgroupVersion) throws {
    guard version == .v2 else { return }
    try "+cpu".write(toFile: directory.path + "/cgroup.subtree_control", atomically: false, encoding: .utf8)
}
