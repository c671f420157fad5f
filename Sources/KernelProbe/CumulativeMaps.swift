#if canImport(Glibc)
import Glibc
#endif
import CKernelProbe
import MonotonicTime
import SystemPackage

/// Reads the probe's cumulative maps: either those of a probe this process
/// loaded, or those a running agent pinned in bpffs (`mbcas top`).
public final class CumulativeMaps: Sendable {
    private let statsFD: Int32
    private let cacheFD: Int32
    private let episodesFD: Int32
    private let marksFD: Int32
    private let countersFD: Int32
    private let ownsDescriptors: Bool
    private let possibleCPUs: Int
    /// Slots in the cgroup cache: every CPU's.
    private let cacheEntries: Int

    init(statsFD: Int32, cacheFD: Int32, episodesFD: Int32, marksFD: Int32, countersFD: Int32, ownsDescriptors: Bool) {
        self.statsFD = statsFD
        self.cacheFD = cacheFD
        self.episodesFD = episodesFD
        self.marksFD = marksFD
        self.countersFD = countersFD
        self.ownsDescriptors = ownsDescriptors
        self.possibleCPUs = max(1, Int(libbpf_num_possible_cpus()))
        var info = bpf_map_info()
        var infoSize = UInt32(MemoryLayout<bpf_map_info>.size)
        self.cacheEntries = bpf_obj_get_info_by_fd(cacheFD, &info, &infoSize) == 0
            ? Int(info.max_entries) : Int(MBCAS_CACHE_SLOTS) * possibleCPUs
    }

    deinit {
        if ownsDescriptors {
            for fd in [statsFD, cacheFD, episodesFD, marksFD, countersFD] { Glibc.close(fd) }
        }
    }

    /// Opens the maps a running probe pinned under `pinRoot`.
    public static func openPinned(at pinRoot: String = ProbeConfiguration.defaultPinRoot) throws(ProbeError) -> CumulativeMaps {
        let fds = try openPinnedMaps(["cgroup_stats", "cgroup_cache", "open_episodes", "throttle_marks", "counters"],
                                     at: pinRoot)
        return CumulativeMaps(statsFD: fds[0], cacheFD: fds[1], episodesFD: fds[2], marksFD: fds[3], countersFD: fds[4],
                              ownsDescriptors: true)
    }

    /// Reads every cgroup's totals, episodes in progress and the counters.
    public func snapshot() throws(ProbeError) -> ProbeSnapshot {
        let now = monotonicNanos()
        var cgroups = try readCgroupStats()
        for (cgroupID, episode) in try readOpenEpisodes() where episode.start_ns < now {
            cgroups[cgroupID, default: CgroupStallTotals(cgroupID: cgroupID)].openThrottledNanos += now - episode.start_ns
        }
        return ProbeSnapshot(takenAt: now, cgroups: cgroups, counters: try readCounters())
    }

    /// Deletes every throttle episode still open in the map, returning how many there were.
    ///
    /// Only for a probe that is loaded but not yet attached, over pins it holds the lock of: an
    /// episode is closed by the task state of the programs that opened it, which died with the
    /// previous process (killed, or stopped mid-episode). Left behind, such an episode would read
    /// as ever-growing throttling, and block (EEXIST) every new episode on its run queue until
    /// one of them closed it with a duration spanning the time no probe ran. Its time so far is
    /// not lost: the group's throttle mark is kept, so the next episode to end claims everything
    /// the kernel counted since the last claim, including the time no probe ran.
    func discardOpenEpisodes() throws(ProbeError) -> Int {
        var discarded = 0
        for key in try hashMapKeys(episodesFD) {
            var k = key
            if bpf_map_delete_elem(episodesFD, &k) == 0 { discarded += 1 }
        }
        return discarded
    }

    /// Creates zeroed stats for the cgroups that have none (the others keep their totals). With
    /// the cgroup filter on, an entry is what makes the programs count a cgroup.
    func track(_ cgroupIDs: [UInt64]) throws(ProbeError) {
        var zeros = [mbcas_cgroup_stats](repeating: mbcas_cgroup_stats(), count: possibleCPUs)
        for id in cgroupIDs {
            var k = id
            let rc = zeros.withUnsafeMutableBytes { bpf_map_update_elem(statsFD, &k, $0.baseAddress, UInt64(BPF_NOEXIST)) }
            guard rc == 0 || errno == EEXIST else {
                throw ProbeError.call(.mapAccessFailed, "cannot count cgroup \(id) (cgroup_stats)", Errno(rawValue: errno))
            }
        }
    }

    /// Deletes the stats and throttle mark of one cgroup: with the cgroup filter on, it is no
    /// longer counted.
    func untrack(_ cgroupID: UInt64) {
        for fd in [statsFD, marksFD] {
            var k = cgroupID
            _ = bpf_map_delete_elem(fd, &k)
        }
    }

    /// Deletes the stats, throttle marks and open episodes of every cgroup not in `live`,
    /// returning how many entries went. For a probe that counts only watched cgroups: no other is
    /// counted again.
    func forget(cgroupsNotIn live: Set<UInt64>) throws(ProbeError) -> Int {
        var freed = 0
        for fd in [statsFD, marksFD] {
            for key in try hashMapKeys(fd) where !live.contains(key) {
                var k = key
                if bpf_map_delete_elem(fd, &k) == 0 { freed += 1 }
            }
        }
        for key in try hashMapKeys(episodesFD) {
            var k = key
            var episode = mbcas_open_episode()
            guard bpf_map_lookup_elem(episodesFD, &k, &episode) == 0, !live.contains(episode.cgroup_id) else { continue }
            if bpf_map_delete_elem(episodesFD, &k) == 0 { freed += 1 }
        }
        return freed
    }

    /// Each counted cgroup's totals: its `cgroup_stats` entry plus its slots in the cgroup cache, on
    /// every CPU (see `struct mbcas_cgroup_slot`), where most switches count.
    private func readCgroupStats() throws(ProbeError) -> [UInt64: CgroupStallTotals] {
        var result = try readCgroupStatsEntries()
        for slot in try readCacheSlots() where slot.counted != 0 {
            guard var totals = result[slot.cgroup_id] else { continue }  // not counted (any more)
            Self.add(slot.stats, to: &totals)
            result[slot.cgroup_id] = totals
        }
        return result
    }

    /// Every slot of the cgroup cache, on every CPU, in one `BPF_MAP_LOOKUP_BATCH` (arrays have it
    /// on every kernel the probe loads on, 5.8+).
    private func readCacheSlots() throws(ProbeError) -> [mbcas_cgroup_slot] {
        var values = [mbcas_cgroup_slot](repeating: mbcas_cgroup_slot(), count: cacheEntries)
        var keys = [UInt32](repeating: 0, count: cacheEntries)
        var count = UInt32(cacheEntries)
        var outBatch: UInt32 = 0
        let rc = keys.withUnsafeMutableBytes { k in
            values.withUnsafeMutableBytes { v in
                bpf_map_lookup_batch(cacheFD, nil, &outBatch, k.baseAddress, v.baseAddress, &count, nil)
            }
        }
        // ENOENT: the batch reached the end of the map (all of it, here).
        guard rc == 0 || errno == ENOENT else {
            throw ProbeError.call(.mapAccessFailed, "cannot read the cgroup cache", Errno(rawValue: errno))
        }
        return Array(values[..<Int(count)])
    }

    /// The whole stats map in a few `BPF_MAP_LOOKUP_BATCH` calls instead of two syscalls per cgroup
    /// (the agent reads it every 100 ms; with 150 watched pods a per-key walk was most of its CPU).
    /// Hash maps have batch operations on every kernel the probe loads on (5.6+; it needs 5.8+).
    private func readCgroupStatsEntries() throws(ProbeError) -> [UInt64: CgroupStallTotals] {
        let chunk = 256
        var keys = [UInt64](repeating: 0, count: chunk)
        // A per-CPU map's values come as possible CPUs × the value size rounded to 8 bytes (64 here).
        var values = [mbcas_cgroup_stats](repeating: mbcas_cgroup_stats(), count: chunk * possibleCPUs)
        var result: [UInt64: CgroupStallTotals] = [:]
        var inBatch: UInt64 = 0, outBatch: UInt64 = 0
        var first = true
        while true {
            var count = UInt32(chunk)
            let rc = keys.withUnsafeMutableBytes { k in
                values.withUnsafeMutableBytes { v in
                    first ? bpf_map_lookup_batch(statsFD, nil, &outBatch, k.baseAddress, v.baseAddress, &count, nil)
                          : bpf_map_lookup_batch(statsFD, &inBatch, &outBatch, k.baseAddress, v.baseAddress, &count, nil)
                }
            }
            let err = Errno(rawValue: errno)
            for i in 0..<Int(min(count, UInt32(chunk))) {
                result[keys[i]] = Self.totals(keys[i], values[(i * possibleCPUs)..<((i + 1) * possibleCPUs)])
            }
            if rc != 0 {
                if err == .noSuchFileOrDirectory { return result }  // the end of the map
                throw ProbeError.call(.mapAccessFailed, "cannot read the stats map in batches", err)
            }
            inBatch = outBatch
            first = false
        }
    }

    private static func totals(_ cgroupID: UInt64, _ perCPU: ArraySlice<mbcas_cgroup_stats>) -> CgroupStallTotals {
        var t = CgroupStallTotals(cgroupID: cgroupID)
        for v in perCPU { add(v, to: &t) }
        return t
    }

    private static func add(_ v: mbcas_cgroup_stats, to t: inout CgroupStallTotals) {
        t.runNanos &+= v.run_ns
        t.waitNanos &+= v.wait_ns
        t.throttledNanos &+= v.throttled_ns
        t.throttleEpisodes &+= v.nr_throttled
        t.switches &+= v.nr_switches
    }

    private func readOpenEpisodes() throws(ProbeError) -> [(UInt64, mbcas_open_episode)] {
        var result: [(UInt64, mbcas_open_episode)] = []
        for key in try hashMapKeys(episodesFD) {
            var k = key
            var value = mbcas_open_episode()
            if bpf_map_lookup_elem(episodesFD, &k, &value) == 0 {
                result.append((value.cgroup_id, value))
            }
        }
        return result
    }

    private func readCounters() throws(ProbeError) -> ProbeCounters {
        var key: UInt32 = 0
        var values = [mbcas_counters](repeating: mbcas_counters(), count: possibleCPUs)
        let rc = values.withUnsafeMutableBytes { bpf_map_lookup_elem(countersFD, &key, $0.baseAddress) }
        guard rc == 0 else {
            throw ProbeError.call(.mapAccessFailed, "cannot read the counters map", Errno(rawValue: errno))
        }
        var c = ProbeCounters()
        for v in values {
            c.eventsPushed &+= v.events_pushed
            c.ringBufferDrops &+= v.ringbuf_drops
            c.mapFull &+= v.map_full
        }
        return c
    }
}
