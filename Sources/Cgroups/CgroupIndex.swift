internal import Glibc
internal import SystemPackage

/// A two-way map between cgroup ids (directory inode numbers, see ``cgroupID(of:)``) and cgroup paths
/// relative to a hierarchy's mount point (`/` for the root cgroup).
///
/// Built by walking the directory tree. Cgroups come and go while the walk runs, so a directory that
/// vanishes (`ENOENT`) is skipped rather than failing the walk; only the directory the caller asked
/// for must exist when building. Keep it fresh by re-walking one subtree when a cgroup is created
/// (``refresh(subtree:)``), or dropping one when it is removed (``remove(subtree:)``); ids are inode
/// numbers, which the kernel may reuse, so a re-walk replaces any stale mapping for a reused id.
public struct CgroupIndex: Sendable {
    /// Absolute path of the hierarchy's mount point; all paths in the index are relative to it.
    public let mountPoint: String
    /// The subtree this index covers (canonical relative path, `/` for the whole hierarchy).
    public let scope: String
    /// Relative path of every indexed cgroup, by id.
    public private(set) var pathsByID: [UInt64: String] = [:]
    /// Id of every indexed cgroup, by relative path.
    public private(set) var idsByPath: [String: UInt64] = [:]

    /// Walks `subtree` (relative to `mountPoint`, default the whole hierarchy) and indexes every cgroup
    /// in it.
    ///
    /// - Throws: `CgroupError` when `subtree` itself cannot be read; vanished descendants are skipped.
    public init(mountPoint: String, subtree: String = "/") throws(CgroupError) {
        self.mountPoint = mountPoint
        self.scope = CgroupPath.normalize(subtree)
        try rebuild()
    }

    /// Walks `subtree` of `hierarchy`; see ``init(mountPoint:subtree:)``.
    public init(hierarchy: CgroupHierarchy, subtree: String = "/") throws(CgroupError) {
        try self.init(mountPoint: hierarchy.mountPoint, subtree: subtree)
    }

    /// Number of indexed cgroups.
    public var count: Int { pathsByID.count }

    /// The relative path of the cgroup with `id`, or nil when it is not indexed.
    public func path(forID id: UInt64) -> String? { pathsByID[id] }

    /// The absolute path of the cgroup with `id`, or nil when it is not indexed.
    public func absolutePath(forID id: UInt64) -> String? {
        pathsByID[id].map { CgroupPath.absolute(mountPoint: mountPoint, relative: $0) }
    }

    /// The id of the cgroup at `relativePath` (any spelling: `a/b`, `/a/b/`), or nil when not indexed.
    public func id(forPath relativePath: String) -> UInt64? { idsByPath[CgroupPath.normalize(relativePath)] }

    /// Discards everything and walks the whole scope again.
    ///
    /// - Throws: `CgroupError` when the scope's root cannot be read.
    public mutating func rebuild() throws(CgroupError) {
        try rebuild(willVisit: nil)
    }

    /// Re-walks one subtree (relative path), replacing what the index held for it. If the subtree has
    /// vanished its entries are simply removed; no error is thrown for `ENOENT`.
    public mutating func refresh(subtree: String) throws(CgroupError) {
        try refresh(subtree: subtree, willVisit: nil)
    }

    /// Drops a subtree (relative path) from the index without touching the filesystem, e.g. on rmdir.
    public mutating func remove(subtree: String) {
        let root = CgroupPath.normalize(subtree)
        for (path, id) in idsByPath where CgroupPath.isWithin(path, root) {
            idsByPath[path] = nil
            pathsByID[id] = nil
        }
    }

    // MARK: - Walking

    /// `rebuild()` with a hook called with each absolute directory path just before it is examined,
    /// so tests can make directories vanish mid-walk.
    mutating func rebuild(willVisit: ((String) -> Void)?) throws(CgroupError) {
        pathsByID = [:]
        idsByPath = [:]
        let found = try Self.walk(
            mountPoint: mountPoint, subtree: scope, rootMustExist: true, willVisit: willVisit)
        for (id, path) in found { insert(id: id, path: path) }
    }

    /// `refresh(subtree:)` with the test hook of ``rebuild(willVisit:)``.
    mutating func refresh(subtree: String, willVisit: ((String) -> Void)?) throws(CgroupError) {
        let requested = CgroupPath.normalize(subtree)
        // Walk only what lies inside the scope: the subtree itself, or the whole scope when the
        // subtree contains it; a subtree outside the scope is not this index's business.
        let root: String
        if CgroupPath.isWithin(requested, scope) {
            root = requested
        } else if CgroupPath.isWithin(scope, requested) {
            root = scope
        } else {
            return
        }
        remove(subtree: root)
        let found = try Self.walk(
            mountPoint: mountPoint, subtree: root, rootMustExist: false, willVisit: willVisit)
        for (id, path) in found { insert(id: id, path: path) }
    }

    private mutating func insert(id: UInt64, path: String) {
        // A reused inode number means the old cgroup is gone: drop its stale path.
        if let old = pathsByID[id], old != path { idsByPath[old] = nil }
        if let oldID = idsByPath[path], oldID != id { pathsByID[oldID] = nil }
        pathsByID[id] = path
        idsByPath[path] = id
    }

    /// Depth-first walk, iterative so deep trees cannot overflow the stack. Does not follow symlinks
    /// or cross into other filesystems mounted inside the tree.
    private static func walk(
        mountPoint: String, subtree: String, rootMustExist: Bool, willVisit: ((String) -> Void)?
    ) throws(CgroupError) -> [(UInt64, String)] {
        var found: [(UInt64, String)] = []
        var pending: [String] = [subtree]
        var device: dev_t?
        while let relative = pending.popLast() {
            let absolute = CgroupPath.absolute(mountPoint: mountPoint, relative: relative)
            willVisit?(absolute)
            let isRoot = device == nil
            var info = stat()
            // The root may be reached through a symlink (cpu -> cpu,cpuacct); children are not followed.
            let statResult = FileIO.retryOnEINTR { isRoot ? stat(absolute, &info) : lstat(absolute, &info) }
            if statResult != 0 {
                let errno = FileIO.lastErrno
                if errno == .noSuchFileOrDirectory && !(isRoot && rootMustExist) { continue }
                throw .systemCall("stat", path: absolute, errno: errno)
            }
            guard (info.st_mode & S_IFMT) == S_IFDIR else {
                if isRoot && rootMustExist {
                    throw .systemCall("open directory", path: absolute, errno: .notDirectory)
                }
                continue
            }
            if isRoot { device = info.st_dev } else if info.st_dev != device { continue }
            let children: [String]
            do {
                children = try FileIO.listDirectory(absolute, directoriesOnly: true)
            } catch where error.errno == .noSuchFileOrDirectory && !(isRoot && rootMustExist) {
                continue  // removed between stat and listing
            }
            found.append((UInt64(info.st_ino), relative))
            for name in children.reversed() {
                pending.append(relative == "/" ? "/" + name : relative + "/" + name)
            }
        }
        return found
    }
}
