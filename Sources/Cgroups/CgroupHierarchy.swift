/// The cgroup interface a hierarchy speaks; file names and units differ between the two.
public enum CgroupVersion: String, Sendable, Hashable {
    /// Legacy per-controller hierarchies (`cpu.cfs_quota_us`, `cpu.stat` with `throttled_time` in ns).
    case v1
    /// The unified hierarchy (`cpu.max`, `cpu.stat` with `throttled_usec` in µs).
    case v2
}

/// Where a controller's hierarchy is mounted and which interface it speaks.
public struct CgroupHierarchy: Sendable, Hashable {
    /// The interface of this hierarchy.
    public var version: CgroupVersion
    /// Absolute mount point, e.g. `/sys/fs/cgroup/cpu,cpuacct` or `/sys/fs/cgroup`.
    public var mountPoint: String

    /// Creates a hierarchy description.
    public init(version: CgroupVersion, mountPoint: String) {
        self.version = version
        self.mountPoint = mountPoint
    }

    /// The absolute path of a cgroup given relative to the mount point (`/` is the root cgroup).
    public func absolutePath(of relativePath: String) -> String {
        CgroupPath.absolute(mountPoint: mountPoint, relative: relativePath)
    }

    /// Finds the hierarchy of `controller` in parsed mountinfo.
    ///
    /// A v1 mount qualifies when `controller` is one of its super options (exact match, so `cpu` does
    /// not match `cpuset` or `cpuacct`). A cgroup2 mount qualifies when `controllersFile(mountPoint)`,
    /// the content of its `cgroup.controllers`, lists `controller`; the parser stays pure because the
    /// caller supplies that lookup. A controller is bound to at most one hierarchy, so the first match
    /// wins; among bind mounts of that hierarchy one whose root is `/` is preferred.
    ///
    /// - Throws: `CgroupErrorCode.controllerNotMounted`, naming the mounts that were examined.
    public static func discover(
        controller: String = "cpu",
        in entries: [MountInfoEntry],
        controllersFile: (String) -> String?
    ) throws(CgroupError) -> CgroupHierarchy {
        let v1 = entries.filter { $0.fsType == "cgroup" && $0.superOptions.contains(controller) }
        if let best = v1.first(where: { $0.root == "/" }) ?? v1.first {
            return CgroupHierarchy(version: .v1, mountPoint: best.mountPoint)
        }
        let v2Mounts = entries.filter { $0.fsType == "cgroup2" }
        let v2 = v2Mounts.filter { entry in
            guard let listed = controllersFile(entry.mountPoint) else { return false }
            return listed.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
                .contains(Substring(controller))
        }
        if let best = v2.first(where: { $0.root == "/" }) ?? v2.first {
            return CgroupHierarchy(version: .v2, mountPoint: best.mountPoint)
        }
        let v1Seen = entries.filter { $0.fsType == "cgroup" }
            .map { "\($0.mountPoint) (\($0.superOptions.joined(separator: ",")))" }
        let v2Seen = v2Mounts.map(\.mountPoint)
        throw CgroupError(
            .controllerNotMounted,
            "no cgroup hierarchy has the '\(controller)' controller: "
                + "no cgroup v1 mount lists '\(controller)' in its super options "
                + "(v1 mounts: \(v1Seen.isEmpty ? "none" : v1Seen.joined(separator: ", "))) "
                + "and no cgroup2 mount lists it in cgroup.controllers "
                + "(cgroup2 mounts: \(v2Seen.isEmpty ? "none" : v2Seen.joined(separator: ", ")))")
    }

    /// Parses mountinfo text and finds the hierarchy of `controller`; see
    /// ``discover(controller:in:controllersFile:)``.
    public static func discover(
        controller: String = "cpu",
        mountInfo: String,
        controllersFile: (String) -> String?
    ) throws(CgroupError) -> CgroupHierarchy {
        try discover(
            controller: controller, in: MountInfo.parse(mountInfo), controllersFile: controllersFile)
    }

    /// Finds the live hierarchy of `controller` from `/proc/self/mountinfo` and the cgroup2 mounts'
    /// `cgroup.controllers` files.
    public static func discover(controller: String = "cpu") throws(CgroupError) -> CgroupHierarchy {
        try discover(controller: controller, in: MountInfo.read()) { mountPoint in
            try? FileIO.read(CgroupPath.join(mountPoint, "cgroup.controllers"))
        }
    }
}
