import CKernelProbe

/// One stall pushed by the kernel through the ring buffer.
public struct StallEvent: Sendable, Equatable {
    /// What the event reports.
    public enum Kind: UInt16, Sendable, CustomStringConvertible {
        /// A throttle episode began (the cgroup's CFS quota ran out on a CPU).
        case throttleStart = 1
        /// A throttle episode ended; `deltaNanos` is what the kernel's cpu.stat counted
        /// as throttled time for the group since its previous end event.
        case throttleEnd = 2
        /// Run-queue wait crossed the threshold within the window.
        case runQueueWait = 3

        /// The name used in logs and JSON output.
        public var description: String {
            switch self {
            case .throttleStart: "throttle-start"
            case .throttleEnd: "throttle-end"
            case .runQueueWait: "runq-wait"
            }
        }
    }

    /// What the event reports.
    public var kind: Kind
    /// The CPU the stall was seen on.
    public var cpu: UInt32
    /// When the probe emitted the event (CLOCK_MONOTONIC ns).
    public var kernelTimestamp: UInt64
    /// When the stall began (CLOCK_MONOTONIC ns). A throttle end's is its start's, or 0 for
    /// throttling whose start no switch-out showed (a run queue throttled as a task was enqueued).
    public var stallStart: UInt64
    /// The cgroup id (directory inode) of the stalled task's cpu cgroup; 0 is a root autogroup.
    public var cgroupID: UInt64
    /// Throttle end: the kernel's throttled time since the group's previous claim (cpu.stat's
    /// growth, all its CPUs); run-queue wait: wait in the window; else 0.
    public var deltaNanos: UInt64
    /// The thread that revealed the stall.
    public var pid: UInt32
    /// When user space received it (CLOCK_MONOTONIC ns).
    public var receivedAt: UInt64

    /// Kernel emission to user-space receipt: the push latency.
    public var latencyNanos: UInt64 {
        receivedAt > kernelTimestamp ? receivedAt - kernelTimestamp : 0
    }

    /// Creates an event (for tests and replay).
    public init(kind: Kind, cpu: UInt32 = 0, kernelTimestamp: UInt64, stallStart: UInt64,
                cgroupID: UInt64, deltaNanos: UInt64 = 0, pid: UInt32 = 0, receivedAt: UInt64) {
        self.kind = kind
        self.cpu = cpu
        self.kernelTimestamp = kernelTimestamp
        self.stallStart = stallStart
        self.cgroupID = cgroupID
        self.deltaNanos = deltaNanos
        self.pid = pid
        self.receivedAt = receivedAt
    }

    /// Decodes one ring-buffer record; nil for a record too short or of an
    /// unknown kind (a newer probe), which the consumer counts and skips.
    init?(record: UnsafeRawPointer, size: Int, receivedAt: UInt64) {
        guard size >= MemoryLayout<mbcas_event>.size else { return nil }
        let raw = record.loadUnaligned(as: mbcas_event.self)
        guard let kind = Kind(rawValue: raw.kind) else { return nil }
        self.init(kind: kind, cpu: raw.cpu, kernelTimestamp: raw.ktime_ns, stallStart: raw.stall_start_ns,
                  cgroupID: raw.cgroup_id, deltaNanos: raw.delta_ns, pid: raw.pid,
                  receivedAt: receivedAt)
    }
}
