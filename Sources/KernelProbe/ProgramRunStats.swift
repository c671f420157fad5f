#if canImport(Glibc)
import Glibc
#endif
import CKernelProbe
import SystemPackage

/// The kernel's own run-time accounting of one BPF program
/// (kept while BPF statistics are enabled).
public struct ProgramRunStats: Sendable, Equatable {
    /// The program's name, e.g. `on_sched_switch`.
    public var name: String
    /// Total time spent in the program.
    public var runTimeNanos: UInt64
    /// Times it ran.
    public var runCount: UInt64

    /// Creates a record (e.g. the difference of two readings).
    public init(name: String, runTimeNanos: UInt64, runCount: UInt64) {
        self.name = name
        self.runTimeNanos = runTimeNanos
        self.runCount = runCount
    }

    /// Mean cost of one invocation, in nanoseconds.
    public var nanosecondsPerRun: Double {
        runCount == 0 ? 0 : Double(runTimeNanos) / Double(runCount)
    }
}

/// Keeps the kernel's BPF run-time statistics on for as long as it lives
/// (BPF_ENABLE_STATS: no sysctl left behind if the process dies).
public final class BPFStatisticsSession: Sendable {
    private let fd: Int32

    /// Turns statistics on. Needs CAP_SYS_ADMIN.
    public init() throws(ProbeError) {
        let fd = bpf_enable_stats(BPF_STATS_RUN_TIME)
        guard fd >= 0 else {
            throw ProbeError.call(.notPrivileged, "cannot enable BPF run-time statistics", Errno(rawValue: -fd), hint: "needs CAP_SYS_ADMIN")
        }
        self.fd = fd
    }

    deinit { Glibc.close(fd) }
}

func programRunStats(fd: Int32, name: String) -> ProgramRunStats? {
    var info = bpf_prog_info()
    var length = UInt32(MemoryLayout<bpf_prog_info>.size)
    guard bpf_obj_get_info_by_fd(fd, &info, &length) == 0 else { return nil }
    return ProgramRunStats(name: name, runTimeNanos: info.run_time_ns, runCount: info.run_cnt)
}
