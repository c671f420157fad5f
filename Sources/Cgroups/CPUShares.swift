/// A cgroup's CFS weight file: v1 `cpu.shares` (2 ... 262144, default 1024) or v2 `cpu.weight`
/// (1 ... 10000, default 100). Values here are always in the v1 unit (shares); v2 files are
/// converted the way the container runtimes convert (weight = 1 + (shares − 2) × 9999 / 262142),
/// so a value read back from v2 can differ from the one written by that rounding.
public enum CPUShares {
    /// v1 file name.
    public static let sharesFileName = "cpu.shares"
    /// v2 file name.
    public static let weightFileName = "cpu.weight"

    /// The file that holds the weight for `version`.
    public static func fileName(_ version: CgroupVersion) -> String {
        version == .v1 ? sharesFileName : weightFileName
    }

    /// v2 `cpu.weight` for `shares` (the runtimes' conversion).
    public static func v2Weight(shares: Int) -> Int {
        let clamped = min(262_144, max(2, shares))
        return 1 + ((clamped - 2) * 9999) / 262_142
    }

    /// Shares for a v2 `cpu.weight` (the smallest shares that convert to it).
    public static func shares(v2Weight: Int) -> Int {
        let w = min(10_000, max(1, v2Weight))
        return 2 + ((w - 1) * 262_142 + 9998) / 9999
    }

    /// Reads the weight of the cgroup at `cgroupPath`, in shares.
    /// - Throws: ``CgroupError`` naming the file.
    public static func read(cgroupPath: String, version: CgroupVersion) throws(CgroupError) -> Int {
        let path = CgroupPath.join(cgroupPath, fileName(version))
        let text = try FileIO.read(path)
        let body = text.hasSuffix("\n") ? text.dropLast() : Substring(text)
        guard let value = Int(body), value > 0 else { throw .malformed(fileName(version), line: String(body), path: path) }
        return version == .v1 ? value : shares(v2Weight: value)
    }

    /// Writes `shares` (clamped to the kernel's range) to the cgroup at `cgroupPath`: one `write(2)`.
    /// - Throws: ``CgroupError`` naming the file and errno.
    public static func write(_ shares: Int, cgroupPath: String, version: CgroupVersion) throws(CgroupError) {
        let path = CgroupPath.join(cgroupPath, fileName(version))
        let value = version == .v1 ? min(262_144, max(2, shares)) : v2Weight(shares: shares)
        try FileIO.write(String(value), to: path)
    }
}
