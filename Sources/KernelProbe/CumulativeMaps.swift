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
    private let episodesFD: Int32
    private let countersFD: Int32
    private let ownsDescriptors: Bool
    private let possibleCPUs: Int

    init(statsFD: Int32, episodesFD: Int32, countersFD: Int32, ownsDescriptors: Bool) {
        self.statsFD = statsFD
        self.episodesFD = episodesFD
        self.countersFD = countersFD
        self.ownsDescriptors = ownsDescriptors
        self.possibleCPUs = max(1, Int(libbpf_num_possible_cpus()))
    }

    deinit {
        if ownsDescriptors {
            for fd in [statsFD, episodesFD, countersFD] { Glibc.close(fd) }
        }
    }

    /// Opens the maps a running probe pinned under `pinRoot`.
    public static func openPinned(at pinRoot: String = ProbeConfiguration.defaultPinRoot) throws(ProbeError) -> CumulativeMaps {
        let fds = try openPinnedMaps(["cgroup_stats", "open_episodes", "counters"], at: pinRoot)
        return CumulativeMaps(statsFD: fds[0], episodesFD: fds[1], countersFD: fds[2], ownsDescriptors: true)
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
    /// dropped, not guessed: at most one CFS period per run queue, which the kernel counted while
    /// no probe watched.
    func discardOpenEpisodes() throws(ProbeError) -> Int {
        var discarded = 0
        for key in try hashMapKeys(episodesFD) {
            var k = key
            if bpf_map_delete_elem(episodesFD, &k) == 0 { discarded += 1 }
        }
        return discarded
    }

    /// Deletes the stats and open episodes of every cgroup not in `live`, returning how many
    /// entries went. For a probe that counts only watched cgroups: no other is counted again.
    func forget(cgroupsNotIn live: Set<UInt64>) throws(ProbeError) -> Int {
        var freed = 0
        for key in try hashMapKeys(statsFD) where !live.contains(key) {
            var k = key
            if bpf_map_delete_elem(statsFD, &k) == 0 { freed += 1 }
        }
        for key in try hashMapKeys(episodesFD) {
            var k = key
            var episode = mbcas_open_episode()
            guard bpf_map_lookup_elem(episodesFD, &k, &episode) == 0, !live.contains(episode.cgroup_id) else { continue }
            if bpf_map_delete_elem(episodesFD, &k) == 0 { freed += 1 }
        }
        return freed
    }

    private func readCgroupStats() throws(ProbeError) -> [UInt64: CgroupStallTotals] {
        var result: [UInt64: CgroupStallTotals] = [:]
        var values = [mbcas_cgroup_stats](repeating: mbcas_cgroup_stats(), count: possibleCPUs)
        for key in try hashMapKeys(statsFD) {
            var k = key
            let rc = values.withUnsafeMutableBytes { bpf_map_lookup_elem(statsFD, &k, $0.baseAddress) }
            if rc != 0 { continue }  // deleted between listing and lookup
            var t = CgroupStallTotals(cgroupID: key)
            for v in values {
                t.runNanos &+= v.run_ns
                t.waitNanos &+= v.wait_ns
                t.throttledNanos &+= v.throttled_ns
                t.throttleEpisodes &+= v.nr_throttled
                t.switches &+= v.nr_switches
                t.waitEvents &+= v.nr_wait_events
            }
            result[key] = t
        }
        return result
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
            throw ProbeError(.mapAccessFailed, "cannot read the counters map: \(Errno(rawValue: errno))")
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
