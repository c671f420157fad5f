import ArgumentParser
import Cgroups
import KernelProbe
import Synchronization

/// Turns the cgroup ids the probe reports into paths (relative to the
/// hierarchy holding the cpu controller) and pod UIDs, for people.
/// A cgroup created after start-up is found by re-walking the tree once.
final class CgroupNames: Sendable {
    private let index: Mutex<CgroupIndex?>

    init() {
        let hierarchy = try? CgroupHierarchy.discover(controller: "cpu")
        index = Mutex(hierarchy.flatMap { try? CgroupIndex(hierarchy: $0) })
    }

    /// The cgroup's path, "/" for the root; nil when unknown (removed already).
    func path(of id: UInt64) -> String? {
        if id == 0 { return "/ (autogroup)" }  // tasks of the root cgroup in a session autogroup
        return index.withLock { index -> String? in
            if let path = index?.path(forID: id) { return path }
            try? index?.rebuild()
            return index?.path(forID: id)
        }
    }

    /// The Kubernetes pod UID, when the path is a kubelet-managed cgroup.
    func podUID(of id: UInt64) -> String? {
        guard let path = path(of: id) else { return nil }
        return (try? PodCgroupIdentity(cgroupPath: path))?.podUID
    }
}

/// Which cgroups `--cgroup` selects (everything when none is given).
struct CgroupFilter: Sendable {
    let ids: Set<UInt64>

    init(paths: [String]) throws {
        ids = Set(try paths.map { path in
            do throws(CgroupError) { return try cgroupID(of: path) } catch {
                throw ValidationError("--cgroup \(path): \(error.message)")
            }
        })
    }

    func includes(_ id: UInt64) -> Bool { ids.isEmpty || ids.contains(id) }
}
