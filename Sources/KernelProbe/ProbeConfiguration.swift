import CKernelProbe

/// Which programs attach: the same logic, two ways of reading kernel memory.
public enum AttachMode: String, Sendable, CaseIterable, CustomStringConvertible {
    /// BTF-typed tracepoints when the kernel has what they need, else raw ones
    /// (decided before loading: see ``ProgramSetChoice``).
    case automatic = "auto"
    /// `tp_btf`: direct loads through the kernel's typed pointers (cheapest).
    case btf
    /// `raw_tp`: every read through bpf_probe_read (works without tp_btf).
    case rawTracepoint = "raw"
    /// Benchmarks only: an empty program on `sched_switch` (nothing is counted).
    case baseline

    public var description: String { rawValue }
}

/// What the probe is told at load time.
public struct ProbeConfiguration: Sendable, Equatable {
    /// Which program set to load.
    public var attachMode: AttachMode
    /// The bpffs directory the cumulative maps are pinned in, so `bpftool`
    /// and `mbcas top` can read them while the probe runs.
    public var pinRoot: String
    /// Ring-buffer size in bytes: a power of two, at least one page (4096).
    public var ringBufferBytes: UInt32
    /// Push a run-queue-wait event when a cgroup has waited this long on one
    /// CPU within `waitWindowNanos`.
    public var waitThresholdNanos: UInt64
    /// The window run-queue wait is summed over before it is compared.
    public var waitWindowNanos: UInt64
    /// Count only the cgroups passed to `KernelProbe.watch(cgroupIDs:)`
    /// (cheaper on busy nodes); otherwise every cgroup.
    public var filterCgroups: Bool
    /// Entries of each per-cgroup map (stats, watch list, open episodes, pod allocations): the
    /// most cgroups counted at once. Past it, new cgroups go uncounted and `mapFull` grows.
    public var maxCgroups: UInt32
    /// Entries of the per-task hash (the raw_tp set, and tp_btf on kernels before 6.4, where task-local
    /// storage is not used): the live tasks of counted cgroups that have run.
    public var maxTasks: UInt32
    /// Slots per CPU of the cgroup cache, where a context switch finds its cgroup's stats without
    /// hashing (a power of two, at most 4096; 128 bytes each, on every CPU). A cgroup whose slot
    /// another holds is counted in `cgroup_stats` instead: slower, not less exact. Few slots only
    /// serve tests of that path.
    public var cacheSlots: UInt32
    /// How long the consumer thread sleeps in epoll before it reads batched
    /// (non-waking) events anyway: the bound on their delivery delay.
    public var pollTimeoutMilliseconds: Int32

    /// The per-cgroup maps' default capacity.
    public static let defaultMaxCgroups = UInt32(MBCAS_MAX_CGROUPS)

    /// The production pin root.
    public static let defaultPinRoot = "/sys/fs/bpf/mbcas"

    /// Creates a configuration; the defaults suit a node agent.
    public init(
        attachMode: AttachMode = .automatic,
        pinRoot: String = ProbeConfiguration.defaultPinRoot,
        ringBufferBytes: UInt32 = 256 * 1024,
        waitThresholdNanos: UInt64 = 5_000_000,
        waitWindowNanos: UInt64 = 100_000_000,
        filterCgroups: Bool = false,
        pollTimeoutMilliseconds: Int32 = 20,
        maxCgroups: UInt32 = ProbeConfiguration.defaultMaxCgroups,
        maxTasks: UInt32 = UInt32(MBCAS_MAX_TASKS),
        cacheSlots: UInt32 = UInt32(MBCAS_CACHE_SLOTS)
    ) {
        self.cacheSlots = cacheSlots
        self.maxCgroups = maxCgroups
        self.maxTasks = maxTasks
        self.attachMode = attachMode
        self.pinRoot = pinRoot
        self.ringBufferBytes = ringBufferBytes
        self.waitThresholdNanos = waitThresholdNanos
        self.waitWindowNanos = waitWindowNanos
        self.filterCgroups = filterCgroups
        self.pollTimeoutMilliseconds = pollTimeoutMilliseconds
    }

    /// Checks each field, naming the first bad one.
    public func validate() throws(ProbeError) {
        let bytes = ringBufferBytes
        guard bytes >= 4096, bytes & (bytes - 1) == 0 else {
            throw ProbeError(.invalidConfiguration,
                             "ringBufferBytes must be a power of two of at least 4096, got \(bytes)")
        }
        guard waitWindowNanos > 0 else {
            throw ProbeError(.invalidConfiguration, "waitWindowNanos must be positive")
        }
        guard pollTimeoutMilliseconds > 0 else {
            throw ProbeError(.invalidConfiguration, "pollTimeoutMilliseconds must be positive")
        }
        guard maxCgroups > 0, maxTasks > 0 else {
            throw ProbeError(.invalidConfiguration, "maxCgroups and maxTasks must be positive, got \(maxCgroups) and \(maxTasks)")
        }
        guard cacheSlots > 0, cacheSlots <= 4096, cacheSlots & (cacheSlots - 1) == 0 else {
            throw ProbeError(.invalidConfiguration, "cacheSlots must be a power of two up to 4096, got \(cacheSlots)")
        }
        guard pinRoot.hasPrefix("/"), pinRoot.count > 1 else {
            throw ProbeError(.invalidConfiguration, "pinRoot must be an absolute path, got '\(pinRoot)'")
        }
    }
}
