/// A cgroup's CFS burst: quota left unused in earlier periods, up to this much, may be spent on top
/// of the quota in a later one (kernel 5.14+). v1 `cpu.cfs_burst_us`, v2 `cpu.max.burst`, both µs.
/// The kernel refuses a burst above the quota (`EINVAL`), so raise it after the quota, lower it
/// before, and write it again whenever the quota changes.
public enum CPUBurst {
    /// v1 file name.
    public static let v1FileName = "cpu.cfs_burst_us"
    /// v2 file name.
    public static let v2FileName = "cpu.max.burst"

    /// The file that holds the burst for `version`.
    public static func fileName(_ version: CgroupVersion) -> String {
        version == .v1 ? v1FileName : v2FileName
    }

    /// Whether the cgroup at `cgroupPath` has the file (kernels before 5.14 do not).
    public static func isSupported(cgroupPath: String, version: CgroupVersion) -> Bool {
        (try? FileIO.read(CgroupPath.join(cgroupPath, fileName(version)))) != nil
    }

    /// Reads the burst, µs.
    /// - Throws: ``CgroupError`` naming the file (`ENOENT` when the kernel has no CFS burst).
    public static func read(cgroupPath: String, version: CgroupVersion) throws(CgroupError) -> Int64 {
        let path = CgroupPath.join(cgroupPath, fileName(version))
        let text = try FileIO.read(path)
        let body = text.hasSuffix("\n") ? text.dropLast() : Substring(text)
        guard let value = Int64(body), value >= 0 else { throw .malformed(fileName(version), line: String(body), path: path) }
        return value
    }

    /// Writes a burst of `micros` µs (one `write(2)`).
    /// - Throws: ``CgroupError`` naming the file and errno (`ENOENT`: no CFS burst in this kernel;
    ///   `EINVAL`: above the quota).
    public static func write(micros: Int64, cgroupPath: String, version: CgroupVersion) throws(CgroupError) {
        try FileIO.write(String(max(0, micros)), to: CgroupPath.join(cgroupPath, fileName(version)))
    }

    /// The burst MBCAS pairs with `limit` under a cap of `capMillicores`: as much banked quota as
    /// keeps one period's quota + burst within the cap, and at most one whole quota (the most the
    /// kernel allows); none when unlimited, and none for a pod whose limit is its cap (the cap is a
    /// promise to the neighbours: no period may exceed it). Without a cap: one whole quota.
    public static func micros(for limit: CPULimit, capMillicores: Int64? = nil) -> Int64 {
        guard let quota = limit.quotaMicros else { return 0 }
        guard let capMillicores else { return quota }
        let capQuota = CPULimit(millicores: capMillicores, periodMicros: limit.periodMicros).quotaMicros ?? quota
        return max(0, min(quota, capQuota - quota))
    }
}
