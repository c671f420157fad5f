/// A cgroup's `cpu.stat`, normalised across v1 and v2 to nanoseconds.
///
/// v1 reports times in ns (`throttled_time`, `burst_time`, `wait_sum`); v2 in µs (`usage_usec`,
/// `throttled_usec`, `burst_usec`). Counters are cumulative since the cgroup was created: take deltas.
public struct CPUStat: Sendable, Hashable {
    /// CFS bandwidth periods that had runnable tasks (`nr_periods`).
    public var nrPeriods: UInt64
    /// Periods in which the cgroup ran out of quota (`nr_throttled`).
    public var nrThrottled: UInt64
    /// Total time the cgroup's runqueues spent throttled, in ns (v1 `throttled_time`, v2
    /// `throttled_usec` × 1000).
    public var throttledNanos: UInt64
    /// CPU time consumed, in ns (v2 `usage_usec` × 1000); nil on v1, where it lives in `cpuacct.usage`
    /// (see ``CPUUsage``).
    public var usageNanos: UInt64?
    /// User-mode CPU time in ns (v2 `user_usec` × 1000); nil on v1.
    public var userNanos: UInt64?
    /// Kernel-mode CPU time in ns (v2 `system_usec` × 1000); nil on v1.
    public var systemNanos: UInt64?
    /// Periods in which burst was used (`nr_bursts`); nil on kernels before 5.14.
    public var nrBursts: UInt64?
    /// Total burst time used, in ns (v1 `burst_time`, v2 `burst_usec` × 1000); nil before 5.14.
    public var burstNanos: UInt64?
    /// v1 only, with schedstats enabled: run-queue wait of the group's scheduling entities, in ns
    /// (`wait_sum`); nil otherwise.
    public var waitSumNanos: UInt64?

    /// Creates a value; fields not given are absent (nil) or zero.
    public init(
        nrPeriods: UInt64 = 0, nrThrottled: UInt64 = 0, throttledNanos: UInt64 = 0,
        usageNanos: UInt64? = nil, userNanos: UInt64? = nil, systemNanos: UInt64? = nil,
        nrBursts: UInt64? = nil, burstNanos: UInt64? = nil, waitSumNanos: UInt64? = nil
    ) {
        self.nrPeriods = nrPeriods
        self.nrThrottled = nrThrottled
        self.throttledNanos = throttledNanos
        self.usageNanos = usageNanos
        self.userNanos = userNanos
        self.systemNanos = systemNanos
        self.nrBursts = nrBursts
        self.burstNanos = burstNanos
        self.waitSumNanos = waitSumNanos
    }

    /// The file name, the same in both versions.
    public static let fileName = "cpu.stat"

    /// Parses `cpu.stat` text of the given version.
    ///
    /// Each line must be `<key> <unsigned integer>`; unknown keys are ignored (kernels add keys, e.g.
    /// `core_sched.force_idle_usec`, `nr_bursts`), but a line that is not of that shape, or a key seen
    /// twice, is rejected with its line number. v1 requires `nr_periods`, `nr_throttled` and
    /// `throttled_time`. v2 requires `usage_usec`, `user_usec` and `system_usec`; its three throttling
    /// keys must be all present or all absent: the root cgroup (and kernels without
    /// `CONFIG_CFS_BANDWIDTH`) omit them, which is read as zero since no quota can apply there.
    ///
    /// - Parameter path: named in errors; pass the file's path when the text came from one.
    public static func parse(_ text: String, version: CgroupVersion, path: String? = nil) throws(CgroupError) -> CPUStat {
        var values: [Substring: UInt64] = [:]
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty { continue }
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count == 2, !fields[0].isEmpty, let value = UInt64(fields[1]) else {
                throw .malformed("cpu.stat line", line: String(line), lineNumber: index + 1, path: path)
            }
            guard values.updateValue(value, forKey: fields[0]) == nil else {
                throw .malformed("cpu.stat line (duplicate key)", line: String(line), lineNumber: index + 1, path: path)
            }
        }
        let file = path ?? "cpu.stat"
        func required(_ key: Substring) throws(CgroupError) -> UInt64 {
            guard let value = values[key] else {
                throw CgroupError(.missingField, "\(file): missing key '\(key)' (\(version) cpu.stat)", path: path)
            }
            return value
        }
        func nanos(_ key: Substring, _ micros: UInt64?) throws(CgroupError) -> UInt64? {
            guard let micros else { return nil }
            let (result, overflow) = micros.multipliedReportingOverflow(by: 1000)
            if overflow {
                throw .malformed("cpu.stat value (µs to ns overflows)", line: "\(key) \(micros)", path: path)
            }
            return result
        }

        switch version {
        case .v1:
            return CPUStat(
                nrPeriods: try required("nr_periods"),
                nrThrottled: try required("nr_throttled"),
                throttledNanos: try required("throttled_time"),
                nrBursts: values["nr_bursts"],
                burstNanos: values["burst_time"],
                waitSumNanos: values["wait_sum"])
        case .v2:
            let usage = try nanos("usage_usec", required("usage_usec"))
            let user = try nanos("user_usec", required("user_usec"))
            let system = try nanos("system_usec", required("system_usec"))
            let throttleKeys: [Substring] = ["nr_periods", "nr_throttled", "throttled_usec"]
            let present = throttleKeys.filter { values[$0] != nil }
            if !present.isEmpty && present.count != throttleKeys.count {
                let missing = throttleKeys.filter { values[$0] == nil }.joined(separator: ", ")
                throw CgroupError(
                    .missingField, "\(file): has \(present.joined(separator: ", ")) but lacks \(missing) (v2 cpu.stat)", path: path)
            }
            return CPUStat(
                nrPeriods: values["nr_periods"] ?? 0,
                nrThrottled: values["nr_throttled"] ?? 0,
                throttledNanos: try nanos("throttled_usec", values["throttled_usec"]) ?? 0,
                usageNanos: usage,
                userNanos: user,
                systemNanos: system,
                nrBursts: values["nr_bursts"],
                burstNanos: try nanos("burst_usec", values["burst_usec"]))
        }
    }

    /// Reads and parses `<cgroupPath>/cpu.stat`.
    public static func read(cgroupPath: String, version: CgroupVersion) throws(CgroupError) -> CPUStat {
        let path = CgroupPath.join(cgroupPath, fileName)
        return try parse(FileIO.read(path), version: version, path: path)
    }
}
