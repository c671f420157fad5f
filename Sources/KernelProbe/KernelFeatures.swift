import CKernelProbe

/// Scheduler options whose fields the probe reads, that the running kernel lacks. The programs
/// test each field at load time (CO-RE `bpf_core_field_exists`) and do without the optional ones;
/// this says what is then not counted.
public struct MissingKernelFeatures: OptionSet, Sendable, Equatable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// `CONFIG_FAIR_GROUP_SCHED` (`cfs_rq::tg`): without it no CPU time can be told apart by cgroup.
    public static let fairGroupScheduling = MissingKernelFeatures(rawValue: Int32(MBCAS_MISSING_FAIR_GROUP_SCHED.rawValue))
    /// `CONFIG_CFS_BANDWIDTH` (`task_group::cfs_bandwidth`): no CPU quotas, so no throttling.
    public static let cfsBandwidth = MissingKernelFeatures(rawValue: Int32(MBCAS_MISSING_CFS_BANDWIDTH.rawValue))
    /// `CONFIG_SCHED_INFO` (`task_struct::sched_info`): no run-queue wait.
    public static let schedInfo = MissingKernelFeatures(rawValue: Int32(MBCAS_MISSING_SCHED_INFO.rawValue))

    /// What the running kernel's BTF lacks (empty when it has no BTF: the load reports that).
    static func ofRunningKernel() -> MissingKernelFeatures {
        MissingKernelFeatures(rawValue: mbcas_kernel_missing_features())
    }

    /// One sentence per missing optional option: what the probe does not count without it.
    public var consequences: [String] {
        var lines: [String] = []
        if contains(.cfsBandwidth) {
            lines.append("the kernel lacks CONFIG_CFS_BANDWIDTH (no task_group::cfs_bandwidth): no CPU quotas, so no throttling is counted or pushed")
        }
        if contains(.schedInfo) {
            lines.append("the kernel lacks CONFIG_SCHED_INFO (no task_struct::sched_info): run-queue wait is not counted")
        }
        return lines
    }
}
