internal import Glibc
internal import SystemPackage

/// A cgroup directory to create, fill with processes, and remove: what tests, the demo and the
/// standalone agent use to manage their own child cgroups.
///
/// Works the same on v1 and v2 (`cgroup.procs` exists in both). Note the v2 "no internal processes"
/// rule: a non-root v2 cgroup that enables controllers for its children (`cgroup.subtree_control`)
/// cannot hold processes itself, so moving a process into it fails with `EBUSY`.
public struct CgroupDirectory: Sendable, Hashable {
    /// Absolute path of the directory.
    public let path: String

    /// Refers to the cgroup at an absolute path (nothing is created).
    public init(path: String) {
        self.path = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    }

    /// Refers to the cgroup at `relativePath` in `hierarchy` (nothing is created).
    public init(hierarchy: CgroupHierarchy, relativePath: String) {
        self.init(path: hierarchy.absolutePath(of: relativePath))
    }

    /// The last path component.
    public var name: String { path.split(separator: "/").last.map(String.init) ?? "/" }

    /// The parent directory, or nil for `/`.
    public var parent: CgroupDirectory? {
        path == "/" ? nil : CgroupDirectory(path: CgroupPath.parent(of: path))
    }

    /// The child named `name` (nothing is created).
    public func child(_ name: String) -> CgroupDirectory {
        CgroupDirectory(path: CgroupPath.join(path, name))
    }

    /// True when the directory exists now.
    public var exists: Bool { (try? FileIO.inode(path)) != nil }

    /// The file `name` inside this cgroup.
    public func file(_ name: String) -> String { CgroupPath.join(path, name) }

    /// Creates this directory (the kernel populates the controller files); an existing one is fine.
    ///
    /// - Throws: `.systemCall` naming the path (`ENOENT` when the parent is missing, `EACCES`...).
    public func create() throws(CgroupError) {
        let result = FileIO.retryOnEINTR { mkdir(path, 0o755) }
        if result != 0 && FileIO.lastErrno != .fileExists {
            throw .systemCall("mkdir", path: path, errno: FileIO.lastErrno)
        }
    }

    /// Creates (if needed) and returns the child named `name`.
    ///
    /// - Throws: `.invalidValue` when `name` is empty, `.`/`..`, or contains `/`.
    @discardableResult
    public func createChild(_ name: String) throws(CgroupError) -> CgroupDirectory {
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/") else {
            throw CgroupError(.invalidValue, "invalid cgroup name \"\(name)\" under \(path)", path: path)
        }
        let child = child(name)
        try child.create()
        return child
    }

    /// Moves process `pid` (all its threads) into this cgroup by writing `cgroup.procs`.
    ///
    /// - Throws: `.systemCall` naming `cgroup.procs` (`ESRCH` when the process is gone).
    public func movePID(_ pid: Int32) throws(CgroupError) {
        try FileIO.write(String(pid), to: file("cgroup.procs"))
    }

    /// The process ids in this cgroup (`cgroup.procs`), sorted and without duplicates (the kernel
    /// guarantees neither).
    public func pids() throws(CgroupError) -> [Int32] {
        let procsPath = file("cgroup.procs")
        let text = try FileIO.read(procsPath)
        var pids = Set<Int32>()
        for line in text.split(separator: "\n") {
            guard let pid = Int32(line) else { throw .malformed("cgroup.procs line", line: String(line), path: procsPath) }
            pids.insert(pid)
        }
        return pids.sorted()
    }

    /// Names of the child cgroups, sorted.
    public func children() throws(CgroupError) -> [String] {
        try FileIO.listDirectory(path, directoriesOnly: true)
    }

    /// Removes this cgroup and, with `recursive`, its descendants (deepest first).
    ///
    /// `rmdir` fails with `EBUSY` while a cgroup holds tasks or children, so each cgroup's remaining
    /// processes are first moved to `destination` (default: this cgroup's parent), then `rmdir` is
    /// retried while `EBUSY`, since an exiting task or a process forked during the move can keep it busy
    /// briefly. Removing a cgroup that does not exist succeeds: the goal state is reached.
    ///
    /// - Parameters:
    ///   - destination: where processes go; on v2 choose a cgroup that may hold processes.
    ///   - recursive: remove child cgroups first; without it a cgroup with children ends `.busy`.
    ///   - attempts: how many times to try `rmdir` before giving up.
    ///   - retryInterval: pause between attempts.
    /// - Throws: `.busy` when still busy after all attempts, `.invalidValue` for `/` without a
    ///   destination, `.systemCall` for other failures.
    public func remove(
        movingProcessesTo destination: CgroupDirectory? = nil,
        recursive: Bool = true,
        attempts: Int = 100,
        retryInterval: Duration = .milliseconds(10)
    ) throws(CgroupError) {
        guard let target = destination ?? parent else {
            throw CgroupError(.invalidValue, "refusing to remove \(path): no parent to move its processes to", path: path)
        }
        if recursive {
            let names: [String]
            do {
                names = try children()
            } catch where error.errno == .noSuchFileOrDirectory {
                return
            }
            for name in names {
                try child(name).remove(
                    movingProcessesTo: target, recursive: true, attempts: attempts, retryInterval: retryInterval)
            }
        }
        var lastErrno = Errno.resourceBusy
        for attempt in 0..<max(attempts, 1) {
            if attempt > 0 { Self.sleep(retryInterval) }
            do {
                try moveAllProcesses(to: target)
            } catch where error.errno == .noSuchFileOrDirectory {
                return
            }
            if FileIO.retryOnEINTR({ rmdir(path) }) == 0 { return }
            lastErrno = FileIO.lastErrno
            switch lastErrno {
            case .noSuchFileOrDirectory: return
            case .resourceBusy: continue
            default: throw .systemCall("rmdir", path: path, errno: lastErrno)
            }
        }
        let remaining = (try? pids()).map { " (pids still inside: \($0))" } ?? ""
        throw CgroupError(
            .busy, "rmdir \(path): still busy after \(max(attempts, 1)) attempts\(remaining)", path: path, errno: lastErrno)
    }

    /// Moves every process listed in `cgroup.procs` to `target`; processes that exit meanwhile are
    /// skipped.
    private func moveAllProcesses(to target: CgroupDirectory) throws(CgroupError) {
        for pid in try pids() {
            do {
                try target.movePID(pid)
            } catch where error.errno == .noSuchProcess {
                continue
            }
        }
    }

    private static func sleep(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        // nanosleep reports the time left when a signal interrupts it; keep sleeping.
        while nanosleep(&request, &remaining) == -1 && Glibc.errno == EINTR { request = remaining }
    }
}
