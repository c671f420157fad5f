import Foundation
import Cgroups

/// A uniquely named cgroup under the hierarchy holding the cpu controller (or `controller`),
/// removed (with its processes moved out) by `remove()`: the one temporary cgroup of the tests.
public struct TemporaryCgroup: Sendable {
    /// The hierarchy it lives in (v1 `cpu` here, v2 on most nodes).
    public let hierarchy: CgroupHierarchy
    /// Its directory.
    public let directory: CgroupDirectory
    /// Its path relative to the hierarchy's mount point: `/<prefix>-<random>`.
    public let relativePath: String
    /// With `accountingTwin` on a v1 node whose `cpuacct` is mounted apart from `cpu`: a twin at
    /// the same path there, since that is where the CPU time is accounted. Nil otherwise.
    public let accounting: CgroupDirectory?

    /// Creates `<mount>/<prefix>-<random>` under the live hierarchy of `controller`, or under
    /// `hierarchy` when given.
    /// - Throws: when not root (see ``Privileged/require()``), or the cgroup cannot be created.
    public init(prefix: String = "mbcas-test", controller: String = "cpu", in hierarchy: CgroupHierarchy? = nil,
                accountingTwin: Bool = false) throws {
        try Privileged.require()
        let found = try hierarchy ?? CgroupHierarchy.discover(controller: controller)
        self.hierarchy = found
        let name = "\(prefix)-\(UInt32.random(in: 0...UInt32.max))"
        relativePath = "/" + name
        directory = try CgroupDirectory(hierarchy: found, relativePath: "/").createChild(name)
        if accountingTwin, found.version == .v1, let cpuacct = try? CgroupHierarchy.discover(controller: "cpuacct"),
           cpuacct.mountPoint != found.mountPoint {
            accounting = try CgroupDirectory(hierarchy: cpuacct, relativePath: "/").createChild(name)
        } else {
            accounting = nil
        }
    }

    /// The cgroups a process must join besides ``directory`` (the accounting twin, if any).
    public var otherCgroups: [CgroupDirectory] { accounting.map { [$0] } ?? [] }

    /// CPU time used by its tasks so far, in ns (`cpu.stat` on v2, `cpuacct.usage` of the
    /// accounting twin or of itself on v1).
    public func usageNanos() throws -> UInt64 {
        switch hierarchy.version {
        case .v2:
            guard let usage = try cpuStat().usageNanos else {
                let file = directory.file("cpu.stat")
                throw CgroupError(.missingField, "\(file) has no usage_usec", path: file)
            }
            return usage
        case .v1:
            return try CPUUsage.readCPUAcctUsage(cgroupPath: (accounting ?? directory).path)
        }
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

    /// Kills nothing: move its processes to the parent, then rmdir; best effort, for `defer`.
    public func remove() {
        try? removeChecked()
    }

    /// ``remove()``, throwing when a cgroup stays (busy, or not removable).
    public func removeChecked() throws {
        try directory.remove()
        try accounting?.remove()
    }
}

/// See ``TemporaryCgroup/delegateCPU(to:)``: `+cpu` in the directory's `cgroup.subtree_control` on v2.
public func delegateCPU(to directory: CgroupDirectory, version: CgroupVersion) throws {
    guard version == .v2 else { return }
    try "+cpu".write(toFile: directory.path + "/cgroup.subtree_control", atomically: false, encoding: .utf8)
}
