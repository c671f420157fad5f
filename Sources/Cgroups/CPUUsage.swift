/// Cumulative CPU time of a cgroup on cgroup v1, from the `cpuacct` controller.
///
/// On v2 the same number is `usage_usec` in `cpu.stat` (``CPUStat/usageNanos``). On v1 it lives in
/// the `cpuacct` hierarchy, which may be mounted together with `cpu` (`/sys/fs/cgroup/cpu,cpuacct`)
/// or on its own (find it with `CgroupHierarchy.discover(controller: "cpuacct")`).
public enum CPUUsage {
    /// The v1 file holding total CPU time in ns.
    public static let cpuacctUsageFileName = "cpuacct.usage"

    /// Parses `cpuacct.usage`: one unsigned integer (ns), optionally followed by a newline.
    public static func parseCPUAcctUsage(_ text: String, path: String? = nil) throws(CgroupError) -> UInt64 {
        var body = Substring(text)
        if body.last == "\n" { body = body.dropLast() }
        guard let value = UInt64(body) else {
            throw .malformed("cpuacct.usage", line: String(body), path: path)
        }
        return value
    }

    /// Reads `<cgroupPath>/cpuacct.usage` (a cgroup of the v1 `cpuacct` hierarchy), in ns.
    public static func readCPUAcctUsage(cgroupPath: String) throws(CgroupError) -> UInt64 {
        let path = CgroupPath.join(cgroupPath, cpuacctUsageFileName)
        return try parseCPUAcctUsage(FileIO.read(path), path: path)
    }
}
