#if canImport(Glibc)
import Glibc
#endif
import Cgroups

/// A cgroup `<cpu hierarchy>/<prefix>-<pid>` for one benchmark run, removed (its processes moved
/// out first) by ``remove()``.
struct BenchCgroup {
    /// The hierarchy holding the cpu controller.
    let hierarchy: CgroupHierarchy
    /// Its directory.
    let directory: CgroupDirectory

    /// Creates it, with no limit.
    /// - Throws: ``BenchError`` naming the hierarchy or the path that failed.
    init(prefix: String) throws(BenchError) {
        do {
            hierarchy = try CgroupHierarchy.discover(controller: "cpu")
            directory = try CgroupDirectory(hierarchy: hierarchy, relativePath: "/").createChild("\(prefix)-\(getpid())")
        } catch {
            throw BenchError("cannot create the benchmark's cgroup \(prefix)-\(getpid()): \(error)")
        }
    }

    /// Its absolute path.
    var path: String { directory.path }

    /// Best effort: a leftover is named after the run's pid.
    func remove() { try? directory.remove() }
}
