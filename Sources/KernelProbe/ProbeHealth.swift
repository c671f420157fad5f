import CKernelProbe

/// What `/metrics` says about the probe itself: which programs run, how
/// full each map is, and the counters of updates and pushes it lost.
public struct ProbeHealth: Sendable, Equatable {
    /// A map whose fill level is worth watching (the others have one entry).
    public enum Map: String, Sendable, CaseIterable {
        case cgroupStats = "cgroup_stats"
        case watchedCgroups = "watched_cgroups"
        case openEpisodes = "open_episodes"
        case throttleMarks = "throttle_marks"
        case podAllocations = "pod_allocations"
        /// The per-task hash (raw_tp, and tp_btf on kernels before 6.4; entries go when the task
        /// exits). One entry, unused, where tp_btf keeps per-task state in task-local storage.
        case taskStates = "task_states"

        var cMap: mbcas_probe_map {
            switch self {
            case .cgroupStats: MBCAS_MAP_CGROUP_STATS
            case .watchedCgroups: MBCAS_MAP_WATCHED_CGROUPS
            case .openEpisodes: MBCAS_MAP_OPEN_EPISODES
            case .throttleMarks: MBCAS_MAP_THROTTLE_MARKS
            case .podAllocations: MBCAS_MAP_POD_ALLOCATIONS
            case .taskStates: MBCAS_MAP_TASK_STATES
            }
        }

        var keySize: Int { self == .taskStates ? 4 : 8 }
    }

    /// One map's entries against its capacity.
    public struct MapUsage: Sendable, Equatable {
        public var map: Map
        public var entries: Int
        public var capacity: Int
    }

    static let countedMaps = Map.allCases

    /// The program set loaded.
    public var programSet: AttachMode
    /// Why `auto` fell back to raw_tp; nil when it did not.
    public var fallbackReason: String?
    /// Pushes, ring-buffer drops, map-full losses (cumulative over the pinned maps' life).
    public var counters: ProbeCounters
    /// The maps this program set created.
    public var maps: [MapUsage]
    /// Entries freed for cgroups no longer watched, since load.
    public var cgroupEntriesFreed: Int
}
