/// Path helpers shared by the hierarchy, the index and the directory manager.
///
/// Cgroup paths relative to a mount point are kept in one canonical form, `/` or `/a/b` (no trailing
/// slash, no empty or `.` components), so that the index's keys compare equal however a caller
/// spelled them.
enum CgroupPath {
    /// The canonical relative form of `path`: leading `/`, no trailing `/`, no empty or `.` parts.
    static func normalize(_ path: String) -> String {
        let parts = path.split(separator: "/").filter { $0 != "." }
        return "/" + parts.joined(separator: "/")
    }

    /// The absolute path of the cgroup at `relative` under `mountPoint` (`mountPoint` itself for `/`).
    static func absolute(mountPoint: String, relative: String) -> String {
        let relative = normalize(relative)
        if relative == "/" { return mountPoint }
        return mountPoint.hasSuffix("/") ? mountPoint + relative.dropFirst() : mountPoint + relative
    }

    /// `base` and `name` joined by exactly one `/`.
    static func join(_ base: String, _ name: String) -> String {
        if base.hasSuffix("/") { return base + name }
        return base + "/" + name
    }

    /// The parent of an absolute or canonical relative path (`/` for `/a` and for `/`).
    static func parent(of path: String) -> String {
        var parts = path.split(separator: "/")
        if parts.isEmpty { return "/" }
        parts.removeLast()
        return "/" + parts.joined(separator: "/")
    }

    /// True when `path` is `ancestor` itself or lies below it (both canonical relative paths).
    static func isWithin(_ path: String, _ ancestor: String) -> Bool {
        if ancestor == "/" || path == ancestor { return true }
        return path.hasPrefix(ancestor + "/")
    }
}
