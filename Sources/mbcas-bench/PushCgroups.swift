#if canImport(Glibc)
import Glibc
#endif
import Cgroups
import Foundation

/// The benchmark's cgroups, named after this process so a later run can tell leftovers of a
/// killed run (whose pid is gone) from a run still going:
///
/// ```
/// <cpu hierarchy>/mbcas-bench-push-<pid>/          the agent's cgroup parent (no limit)
///                                 └ bursty/        the pod: the agent reads and writes its limit
///                                   └ work/        the workload, under a fixed quota (97 ms period)
/// <cgroup2 mount>/mbcas-bench-push-<pid>/          (v1 nodes only) the same processes in the
///                                                  unified tree, for a per-cgroup cpu.pressure
/// ```
///
/// Why the quota sits one level below the pod: the guardrail's write to the pod's limit must
/// not touch the throttling the pollers are timing. Writing a cgroup's own quota refills its
/// runtime and unthrottles it at once (`tg_set_cfs_bandwidth`), so the kernel would never count
/// that episode in `nr_throttled` (counted only when the period timer finds it still throttled)
/// and the pollers would have nothing to see. One level up, the raise is the same write by the
/// same code path, and every episode runs its course for all methods alike. The agent maps
/// `work` to the pod as it maps a kubelet pod's container cgroups.
struct PushCgroups {
    /// The hierarchy holding the cpu controller.
    let hierarchy: CgroupHierarchy
    /// The agent's cgroup parent.
    let parent: CgroupDirectory
    /// The pod the agent manages.
    let pod: CgroupDirectory
    /// Where the workload runs, under the fixed quota.
    let work: CgroupDirectory
    /// The workload's cgroup in the unified (v2) tree on a v1 node, for its cpu.pressure; nil when
    /// the cpu hierarchy is itself v2 (work has its own cpu.pressure) or no cgroup2 is mounted.
    let unifiedTwin: CgroupDirectory?

    /// The pod's name, as the agent knows it.
    static let podName = "bursty"
    static let prefix = "mbcas-bench-push-"

    /// Creates the cgroups (after removing leftovers of killed runs) and sets the limits.
    /// - Throws: ``BenchError`` naming the path that failed.
    init(podMillicores: Int, workMillicores: Int, workPeriodMicros: Int64) throws(BenchError) {
        do {
            hierarchy = try CgroupHierarchy.discover(controller: "cpu")
        } catch {
            throw BenchError("no cgroup hierarchy with the cpu controller: \(error.message)")
        }
        let root = CgroupDirectory(hierarchy: hierarchy, relativePath: "/")
        let unifiedRoot = hierarchy.version == .v1 ? Self.unifiedMountPoint().map { CgroupDirectory(path: $0) } : nil
        for base in [root] + (unifiedRoot.map { [$0] } ?? []) { Self.removeLeftovers(under: base) }
        let name = Self.prefix + String(getpid())
        do {
            parent = try root.createChild(name)
            pod = try parent.createChild(Self.podName)
            work = try pod.createChild("work")
            // Parent limit first: on v1 a child's quota may not exceed its parent's.
            try CPULimit(millicores: Int64(podMillicores)).write(cgroupPath: pod.path, version: hierarchy.version)
            try CPULimit(millicores: Int64(workMillicores), periodMicros: workPeriodMicros)
                .write(cgroupPath: work.path, version: hierarchy.version)
            unifiedTwin = try unifiedRoot?.createChild(name)
        } catch {
            let partial = CgroupDirectory(hierarchy: hierarchy, relativePath: "/" + name)
            try? partial.remove()
            throw BenchError("cannot set up the benchmark's cgroups under \(root.path): \(error.message)")
        }
    }

    /// The `cpu.pressure` file closest to the workload, and whether it is the workload's own.
    var pressureFile: (path: String, perCgroup: Bool) {
        if hierarchy.version == .v2 { return (work.file("cpu.pressure"), true) }
        if let twin = unifiedTwin, FileManager.default.fileExists(atPath: twin.file("cpu.pressure")) {
            return (twin.file("cpu.pressure"), true)
        }
        return ("/proc/pressure/cpu", false)
    }

    /// Removes everything this run created (processes are moved out first). Safe to call twice.
    func remove() {
        try? parent.remove()
        try? unifiedTwin?.remove()
    }

    /// Removes `mbcas-bench-push-<pid>` cgroups whose process no longer exists.
    private static func removeLeftovers(under base: CgroupDirectory) {
        for name in (try? base.children()) ?? [] where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count)), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? base.child(name).remove()
        }
    }

    /// Where cgroup2 is mounted beside the v1 hierarchies (e.g. /sys/fs/cgroup/unified), if it is.
    private static func unifiedMountPoint() -> String? {
        (try? MountInfo.read())?.first { $0.fsType == "cgroup2" }?.mountPoint
    }
}
