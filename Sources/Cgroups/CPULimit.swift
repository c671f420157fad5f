internal import SystemPackage

/// A cgroup's CFS bandwidth limit: at most `quotaMicros` of CPU time per `periodMicros` of wall time,
/// summed over all CPUs (so 200000/100000 is two CPUs).
///
/// Files: v2 `cpu.max` (`max 100000` or `20000 100000`); v1 `cpu.cfs_quota_us` (`-1` = unlimited) and
/// `cpu.cfs_period_us`.
public struct CPULimit: Sendable, Hashable, CustomStringConvertible {
    /// CPU time allowed per period, in µs; nil means unlimited.
    public var quotaMicros: Int64?
    /// Length of the enforcement period, in µs.
    public var periodMicros: Int64

    /// The period the kubelet and the kernel use by default (100 ms).
    public static let defaultPeriodMicros: Int64 = 100_000
    /// Smallest quota the kernel accepts (1 ms); smaller writes fail with `EINVAL`.
    public static let minQuotaMicros: Int64 = 1_000
    /// Largest quota the kernel accepts (`MAX_BW`, 2^44 - 1 µs).
    public static let maxQuotaMicros: Int64 = (1 << 44) - 1
    /// Shortest period the kernel accepts (1 ms).
    public static let minPeriodMicros: Int64 = 1_000
    /// Longest period the kernel accepts (1 s).
    public static let maxPeriodMicros: Int64 = 1_000_000

    /// Creates a limit from a quota (nil = unlimited) and a period, both in µs.
    public init(quotaMicros: Int64?, periodMicros: Int64 = CPULimit.defaultPeriodMicros) {
        self.quotaMicros = quotaMicros
        self.periodMicros = periodMicros
    }

    /// Creates the limit for `millicores` thousandths of a CPU: quota = millicores × period / 1000,
    /// truncated, and raised to ``minQuotaMicros`` when smaller (as the kubelet does, since the kernel
    /// rejects smaller quotas). Values too large for the kernel are left for ``validate(path:)``.
    public init(millicores: Int64, periodMicros: Int64 = CPULimit.defaultPeriodMicros) {
        let (product, overflow) = millicores.multipliedReportingOverflow(by: periodMicros)
        let quota = overflow ? Int64.max : product / 1000
        self.init(quotaMicros: max(quota, Self.minQuotaMicros), periodMicros: periodMicros)
    }

    /// No limit, with the given period.
    public static func unlimited(periodMicros: Int64 = CPULimit.defaultPeriodMicros) -> CPULimit {
        CPULimit(quotaMicros: nil, periodMicros: periodMicros)
    }

    /// True when there is no quota.
    public var isUnlimited: Bool { quotaMicros == nil }

    /// The limit in thousandths of a CPU (quota / period × 1000, rounded to nearest); nil when
    /// unlimited or when the period is not positive.
    public var millicores: Int64? {
        guard let quota = quotaMicros, periodMicros > 0 else { return nil }
        let (scaled, overflow) = quota.multipliedReportingOverflow(by: 1000)
        if overflow { return Int64(exactly: (Double(quota) * 1000 / Double(periodMicros)).rounded()) }
        return (scaled + periodMicros / 2) / periodMicros
    }

    /// `cpu.max` syntax, e.g. `max 100000` or `20000 100000`.
    public var description: String { cpuMaxValue }

    /// The value written to v2 `cpu.max`: `max <period>` or `<quota> <period>`.
    public var cpuMaxValue: String {
        "\(quotaMicros.map(String.init) ?? "max") \(periodMicros)"
    }

    /// Checks the ranges the kernel enforces, so a bad value fails before any write.
    ///
    /// - Throws: `.invalidValue` naming `path` (when given) and the offending field.
    public func validate(path: String? = nil) throws(CgroupError) {
        let target = path.map { " for \($0)" } ?? ""
        guard (Self.minPeriodMicros...Self.maxPeriodMicros).contains(periodMicros) else {
            throw CgroupError(
                .invalidValue, "CPU period \(periodMicros) µs\(target) is outside \(Self.minPeriodMicros)...\(Self.maxPeriodMicros) µs",
                path: path)
        }
        if let quota = quotaMicros, !(Self.minQuotaMicros...Self.maxQuotaMicros).contains(quota) {
            throw CgroupError(
                .invalidValue, "CPU quota \(quota) µs\(target) is outside \(Self.minQuotaMicros)...\(Self.maxQuotaMicros) µs", path: path)
        }
    }

    // MARK: - Parsing

    /// Parses v2 `cpu.max`: `max <period>` or `<quota> <period>`, optionally newline-terminated.
    public static func parseCPUMax(_ text: String, path: String? = nil) throws(CgroupError) -> CPULimit {
        let body = text.hasSuffix("\n") ? text.dropLast() : Substring(text)
        let fields = body.split(separator: " ", omittingEmptySubsequences: false)
        guard fields.count == 2, let period = Int64(fields[1]), period > 0 else {
            throw .malformed("cpu.max", line: String(body), path: path)
        }
        if fields[0] == "max" { return CPULimit(quotaMicros: nil, periodMicros: period) }
        guard let quota = Int64(fields[0]), quota > 0 else {
            throw .malformed("cpu.max quota", line: String(body), path: path)
        }
        return CPULimit(quotaMicros: quota, periodMicros: period)
    }

    /// Parses v1 `cpu.cfs_quota_us` (`-1` or any negative = unlimited) and `cpu.cfs_period_us`.
    public static func parseV1(
        quota quotaText: String, period periodText: String,
        quotaPath: String? = nil, periodPath: String? = nil
    ) throws(CgroupError) -> CPULimit {
        let quota = try parseInteger(quotaText, what: "cpu.cfs_quota_us", path: quotaPath)
        let period = try parseInteger(periodText, what: "cpu.cfs_period_us", path: periodPath)
        guard quota != 0 else { throw .malformed("cpu.cfs_quota_us (zero)", line: quotaText, path: quotaPath) }
        guard period > 0 else { throw .malformed("cpu.cfs_period_us", line: periodText, path: periodPath) }
        return CPULimit(quotaMicros: quota < 0 ? nil : quota, periodMicros: period)
    }

    private static func parseInteger(_ text: String, what: String, path: String?) throws(CgroupError) -> Int64 {
        let body = text.hasSuffix("\n") ? text.dropLast() : Substring(text)
        guard let value = Int64(body) else { throw .malformed(what, line: String(body), path: path) }
        return value
    }

    // MARK: - Files

    /// v2 file name.
    public static let cpuMaxFileName = "cpu.max"
    /// v1 quota file name.
    public static let cfsQuotaFileName = "cpu.cfs_quota_us"
    /// v1 period file name.
    public static let cfsPeriodFileName = "cpu.cfs_period_us"

    /// Reads the limit of the cgroup directory at `cgroupPath`.
    public static func read(cgroupPath: String, version: CgroupVersion) throws(CgroupError) -> CPULimit {
        switch version {
        case .v2:
            let path = CgroupPath.join(cgroupPath, cpuMaxFileName)
            return try parseCPUMax(FileIO.read(path), path: path)
        case .v1:
            let quotaPath = CgroupPath.join(cgroupPath, cfsQuotaFileName)
            let periodPath = CgroupPath.join(cgroupPath, cfsPeriodFileName)
            return try parseV1(
                quota: FileIO.read(quotaPath), period: FileIO.read(periodPath),
                quotaPath: quotaPath, periodPath: periodPath)
        }
    }

    /// Writes this limit to the cgroup directory at `cgroupPath`.
    ///
    /// v2: one `write(2)` of ``cpuMaxValue`` to `cpu.max`, atomic for quota and period together.
    ///
    /// v1: quota and period are two files, and the kernel checks every write against the hierarchy:
    /// a cgroup's quota/period ratio may not exceed that of its nearest limited ancestor, nor fall below
    /// that of a limited descendant (`EINVAL`). So callers must raise a parent before its children and
    /// lower children before their parent. When only one of the two values changes, only that file is
    /// written. When both change, the intermediate state (new quota with old period, or old quota with
    /// new period) must itself be valid: the order whose intermediate ratio lies between the old and new
    /// ratios is tried first (otherwise the lower one, safe under a limited parent); if the kernel
    /// rejects it, the first file is restored and the other order is tried.
    ///
    /// Each file write is a single `write(2)`, retried on `EINTR`.
    ///
    /// - Throws: `.invalidValue` before writing anything when out of the kernel's ranges; otherwise
    ///   `.systemCall` naming the file and errno (`EACCES`, `ENOENT`, `EROFS`, `EINVAL`...).
    public func write(cgroupPath: String, version: CgroupVersion) throws(CgroupError) {
        switch version {
        case .v2:
            let path = CgroupPath.join(cgroupPath, Self.cpuMaxFileName)
            try validate(path: path)
            try FileIO.write(cpuMaxValue, to: path)
        case .v1:
            try writeV1(cgroupPath: cgroupPath)
        }
    }

    private var cfsQuotaValue: String { quotaMicros.map(String.init) ?? "-1" }

    /// One v1 file write: the value to set and the one to restore if the second write fails.
    private struct Step {
        var path: String
        var value: String
        var previous: String
    }

    private func writeV1(cgroupPath: String) throws(CgroupError) {
        let quotaPath = CgroupPath.join(cgroupPath, Self.cfsQuotaFileName)
        let periodPath = CgroupPath.join(cgroupPath, Self.cfsPeriodFileName)
        try validate(path: cgroupPath)
        let current = try Self.read(cgroupPath: cgroupPath, version: .v1)
        if current.periodMicros == periodMicros {
            try Self.writeExplained(cfsQuotaValue, to: quotaPath)
            return
        }
        if current.quotaMicros == quotaMicros {
            try Self.writeExplained(String(periodMicros), to: periodPath)
            return
        }

        // Both change. Pick the order whose intermediate state is most likely valid.
        let quotaStep = Step(path: quotaPath, value: cfsQuotaValue, previous: current.cfsQuotaValue)
        let periodStep = Step(path: periodPath, value: String(periodMicros), previous: String(current.periodMicros))
        let oldRatio = Self.ratio(current.quotaMicros, current.periodMicros)
        let newRatio = Self.ratio(quotaMicros, periodMicros)
        let between = min(oldRatio, newRatio)...max(oldRatio, newRatio)
        let quotaFirst = Self.ratio(quotaMicros, current.periodMicros)
        let periodFirst = Self.ratio(current.quotaMicros, periodMicros)
        let preferQuotaFirst = between.contains(quotaFirst) != between.contains(periodFirst)
            ? between.contains(quotaFirst) : quotaFirst <= periodFirst
        let orders = preferQuotaFirst ? [[quotaStep, periodStep], [periodStep, quotaStep]]
            : [[periodStep, quotaStep], [quotaStep, periodStep]]

        var rejection: CgroupError?
        for order in orders {
            do {
                try FileIO.write(order[0].value, to: order[0].path)
            } catch {
                guard error.errno == .invalidArgument else { throw error }
                rejection = error
                continue
            }
            do {
                try FileIO.write(order[1].value, to: order[1].path)
                return
            } catch {
                // Put the first file back so the other order starts from the original state.
                try? FileIO.write(order[0].previous, to: order[0].path)
                guard error.errno == .invalidArgument else { throw error }
                rejection = error
            }
        }
        if let rejection { throw Self.explainV1(rejection) }
    }

    /// Quota over period; unlimited is infinite.
    private static func ratio(_ quota: Int64?, _ period: Int64) -> Double {
        guard let quota else { return .infinity }
        return Double(quota) / Double(period)
    }

    /// One write whose `EINVAL` gets the v1 hierarchy explanation.
    private static func writeExplained(_ value: String, to path: String) throws(CgroupError) {
        do { try FileIO.write(value, to: path) } catch { throw explainV1(error) }
    }

    /// Adds the v1 hierarchy rule to an `EINVAL`, the usual cause once ranges were validated.
    private static func explainV1(_ error: CgroupError) -> CgroupError {
        guard error.errno == .invalidArgument else { return error }
        var explained = error
        explained.message += " (cgroup v1: a quota/period ratio may not exceed the nearest limited"
            + " ancestor's nor fall below a limited child's; raise parents first, lower children first)"
        return explained
    }
}
