#if canImport(Glibc)
import Glibc
#endif
import CKernelProbe
import Logging
import Synchronization
import SystemPackage

/// The loaded MBCAS probes: CO-RE programs on the scheduler's sched_switch
/// tracepoint that read the kernel's own per-task and per-group accounting
/// (run time, run-queue wait, CFS throttling) into per-cgroup totals, and
/// push stalls through a ring buffer.
///
/// Lifecycle, in this order: `load` (open, configure, load, pin), `attach`,
/// `makeConsumer` + `start`, read `maps.snapshot()` as often as wanted,
/// then `close` (detach; unpin unless asked to keep the pins).
public final class KernelProbe: Sendable {
    /// What the probe was loaded with.
    public let configuration: ProbeConfiguration
    /// The cumulative maps (the source of truth; events are hints).
    public let maps: CumulativeMaps
    /// The program set the kernel accepted (`.btf` or `.rawTracepoint`).
    public let attachMode: AttachMode
    /// Why `auto` loaded the raw_tp set (a kernel feature the tp_btf set needs is missing); nil
    /// when it loaded tp_btf or the set was asked for by name.
    public let fallbackReason: String?
    /// The maps the agent writes its decisions to (pinned next to the stats).
    public let agentState: AgentStateMaps
    /// Optional scheduler options the kernel lacks: what goes uncounted (logged at load).
    public let missingKernelFeatures: MissingKernelFeatures
    /// Where the programs keep per-task state (logged at load).
    public let perTaskState: PerTaskState
    private let handle: Mutex<Handle?>
    /// Map entries freed by ``watchOnly(_:)`` since load.
    private let freedCgroupState = Atomic<Int>(0)
    private let logger: Logger
    /// Held while loaded: no second probe over the same pinned maps.
    private let lock: Mutex<PinRootLock?>

    /// The libbpf skeleton. Unchecked: it is only touched under `handle`'s lock.
    private struct Handle: @unchecked Sendable { let pointer: OpaquePointer }

    /// Loads the embedded BPF object into the kernel and pins its maps under
    /// `configuration.pinRoot`. Maps already pinned there by an earlier run
    /// are reused, so totals continue across restarts.
    public static func load(_ configuration: ProbeConfiguration, logger: Logger) throws(ProbeError) -> KernelProbe {
        try configuration.validate()
        try Preflight.check(configuration)
        let missing = MissingKernelFeatures.ofRunningKernel()
        if missing.contains(.fairGroupScheduling) && configuration.attachMode != .baseline {
            throw ProbeError(.loadFailed, """
                the kernel lacks CONFIG_FAIR_GROUP_SCHED (no cfs_rq::tg in its BTF): \
                CPU time cannot be attributed to cgroups, so the probe has nothing to count
                """)
        }
        for consequence in missing.consequences { logger.warning("\(consequence)") }
        let lock = try PinRootLock(pinRoot: configuration.pinRoot)
        LibbpfLog.install(logger)
        let choice = ProgramSetChoice.resolve(configuration.attachMode,
                                              btfUnsupported: ProgramSetChoice.kernelLacksBTFTracepoints)
        if let reason = choice.fallbackReason {
            logger.warning("BTF-typed tracepoints unavailable: loading the raw_tp programs (each read goes through bpf_probe_read: costlier per context switch)",
                           metadata: ["reason": "\(reason)"])
        }

        var handle: OpaquePointer?
        LibbpfLog.beginCapture()
        let rc = configuration.pinRoot.withCString { pinRoot -> Int32 in
            let mode = switch choice.mode {
            case .automatic, .btf: MBCAS_ATTACH_BTF
            case .rawTracepoint: MBCAS_ATTACH_RAW
            case .baseline: MBCAS_ATTACH_BASELINE
            }
            var config = mbcas_probe_config(
                attach_mode: mode.rawValue,
                pin_root: pinRoot,
                ringbuf_bytes: configuration.ringBufferBytes,
                filter_cgroups: configuration.filterCgroups ? 1 : 0,
                wait_threshold_ns: configuration.waitThresholdNanos,
                wait_window_ns: configuration.waitWindowNanos,
                max_cgroups: configuration.maxCgroups,
                max_tasks: configuration.maxTasks,
                cache_slots: configuration.cacheSlots)
            return mbcas_probe_open_and_load(&config, &handle)
        }
        let libbpfOutput = LibbpfLog.endCapture()
        guard rc == 0, let handle else {
            throw loadError(rc, libbpfOutput: libbpfOutput, configuration: configuration)
        }
        let probe = KernelProbe(configuration: configuration, handle: handle, lock: lock, logger: logger,
                                fallbackReason: choice.fallbackReason, missingKernelFeatures: missing)
        let stale = try probe.maps.discardOpenEpisodes()  // not attached yet: nothing of ours is open
        if stale > 0 {
            logger.notice("discarded throttle episodes left open by a previous probe (it stopped mid-episode)",
                          metadata: ["episodes": "\(stale)", "pin_root": "\(configuration.pinRoot)"])
        }
        logger.info("probe loaded", metadata: [
            "programs": "\(probe.attachMode)",
            "per_task_state": "\(probe.perTaskState)",
            "pin_root": "\(configuration.pinRoot)",
            "ringbuf_bytes": "\(configuration.ringBufferBytes)",
            "max_cgroups": "\(configuration.maxCgroups)",
            "wait_threshold_ns": "\(configuration.waitThresholdNanos)",
        ])
        return probe
    }

    private init(configuration: ProbeConfiguration, handle: OpaquePointer, lock: PinRootLock, logger: Logger,
                 fallbackReason: String?, missingKernelFeatures: MissingKernelFeatures) {
        self.configuration = configuration
        self.missingKernelFeatures = missingKernelFeatures
        self.fallbackReason = fallbackReason
        self.lock = Mutex(lock)
        self.handle = Mutex(Handle(pointer: handle))
        self.attachMode = switch UInt32(mbcas_probe_attach_mode(handle)) {
        case MBCAS_ATTACH_RAW.rawValue: .rawTracepoint
        case MBCAS_ATTACH_BASELINE.rawValue: .baseline
        default: .btf
        }
        // The task-local storage map exists only where the programs use it.
        self.perTaskState = mbcas_probe_map_fd(handle, MBCAS_MAP_TASK_STORAGE) >= 0 ? .taskLocalStorage : .pidHash
        self.logger = logger
        self.maps = CumulativeMaps(
            statsFD: mbcas_probe_map_fd(handle, MBCAS_MAP_CGROUP_STATS),
            cacheFD: mbcas_probe_map_fd(handle, MBCAS_MAP_CGROUP_CACHE),
            episodesFD: mbcas_probe_map_fd(handle, MBCAS_MAP_OPEN_EPISODES),
            marksFD: mbcas_probe_map_fd(handle, MBCAS_MAP_THROTTLE_MARKS),
            countersFD: mbcas_probe_map_fd(handle, MBCAS_MAP_COUNTERS),
            ownsDescriptors: false)
        self.agentState = AgentStateMaps(
            allocationsFD: mbcas_probe_map_fd(handle, MBCAS_MAP_POD_ALLOCATIONS),
            marketFD: mbcas_probe_map_fd(handle, MBCAS_MAP_NODE_MARKET),
            ownsDescriptors: false)
    }

    deinit { close(keepPins: true) }

    /// Attaches every program; from now on the kernel counts and pushes.
    public func attach() throws(ProbeError) {
        let rc = try withHandle { h in mbcas_probe_attach(h) }
        guard rc == 0 else {
            throw ProbeError.call(.attachFailed, "cannot attach the probes to the sched_* raw tracepoints", Errno(rawValue: -rc))
        }
        logger.info("probe attached", metadata: ["tracepoints": "sched_switch, sched_migrate_task, sched_process_exit, cgroup_mkdir, cgroup_rmdir"])
    }

    /// Creates the consumer of pushed events; call `start()` on it.
    public func makeConsumer(handler: @escaping @Sendable (StallEvent) -> Void) throws(ProbeError) -> RingBufferConsumer {
        let fd = try withHandle { h in mbcas_probe_map_fd(h, MBCAS_MAP_EVENTS) }
        return try RingBufferConsumer(mapFD: fd, pollTimeoutMilliseconds: configuration.pollTimeoutMilliseconds,
                                      handler: handler)
    }

    /// Adds cgroups to watch (with `filterCgroups`; otherwise everything is watched). With the
    /// filter, the programs count a cgroup when it has a `cgroup_stats` entry: one is made here.
    public func watch(cgroupIDs: some Sequence<UInt64>) throws(ProbeError) {
        let ids = Array(cgroupIDs)
        if configuration.filterCgroups {
            try maps.track(ids)
            try invalidateCgroupCache()  // slots that cached "not counted" for them are checked again
        }
        let fd = try withHandle { h in mbcas_probe_map_fd(h, MBCAS_MAP_WATCHED_CGROUPS) }
        for id in ids {
            var key = id
            var one: UInt8 = 1
            guard bpf_map_update_elem(fd, &key, &one, UInt64(BPF_ANY)) == 0 else {
                throw ProbeError.call(.mapAccessFailed, "cannot watch cgroup \(id)", Errno(rawValue: errno))
            }
        }
    }

    /// Watches exactly `cgroupIDs` from now on, and frees what the probe
    /// keeps for every other cgroup: its watch entry and, with
    /// `filterCgroups`, its stats, throttle mark and open episodes (an unwatched cgroup is
    /// never counted again; most are gone). Called with the live set
    /// after each scan of the cgroups, this keeps the maps from filling as
    /// pods churn. The kernel's BPF_MAP_TYPE_CGRP_STORAGE would free them
    /// with the cgroup, but only from 6.2 on.
    @discardableResult
    public func watchOnly(_ cgroupIDs: Set<UInt64>) throws(ProbeError) -> Int {
        try watch(cgroupIDs: cgroupIDs)
        let fd = try withHandle { h in mbcas_probe_map_fd(h, MBCAS_MAP_WATCHED_CGROUPS) }
        var freed = 0
        for id in try hashMapKeys(fd) where !cgroupIDs.contains(id) {
            var key = id
            if bpf_map_delete_elem(fd, &key) == 0 { freed += 1 }
        }
        if configuration.filterCgroups {
            freed += try maps.forget(cgroupsNotIn: cgroupIDs)
            try invalidateCgroupCache()
        }
        freedCgroupState.add(freed, ordering: .relaxed)
        return freed
    }

    /// Stops watching a cgroup (it was removed, or is no longer managed).
    public func unwatch(cgroupID: UInt64) {
        guard let fd = try? withHandle({ h in mbcas_probe_map_fd(h, MBCAS_MAP_WATCHED_CGROUPS) }) else { return }
        var key = cgroupID
        _ = bpf_map_delete_elem(fd, &key)
        if configuration.filterCgroups {
            maps.untrack(cgroupID)
            try? invalidateCgroupCache()
        }
    }

    /// Makes the programs check every cgroup cache slot again before using it (which cgroups
    /// are counted changed), so a slot never counts for a cgroup that is not, or misses one that is.
    private func invalidateCgroupCache() throws(ProbeError) {
        try withHandle { h in mbcas_probe_invalidate_cache(h) }
    }

    /// The kernel's accounting of each program's cost (zero unless a
    /// `BPFStatisticsSession` is alive).
    public func programStats() -> [ProgramRunStats] {
        (try? withHandle { h in
            (0..<mbcas_probe_program_count(h)).compactMap { i -> ProgramRunStats? in
                let name = mbcas_probe_program_name(h, i).map { String(cString: $0) } ?? "program\(i)"
                return programRunStats(fd: mbcas_probe_program_fd(h, i), name: name)
            }
        }) ?? []
    }

    /// How full the maps are, the probe's health counters and its program set (for /metrics).
    public func health() throws(ProbeError) -> ProbeHealth {
        let snapshotCounters = try maps.snapshot().counters
        let capacities = try withHandle { h in
            ProbeHealth.countedMaps.map { ($0, mbcas_probe_map_capacity(h, $0.cMap)) }
        }
        var maps: [ProbeHealth.MapUsage] = []
        for (map, capacity) in capacities where capacity > 0 {
            let fd = try withHandle { h in mbcas_probe_map_fd(h, map.cMap) }
            maps.append(ProbeHealth.MapUsage(map: map, entries: try hashMapKeys(fd, keySize: map.keySize).count,
                                             capacity: Int(capacity)))
        }
        return ProbeHealth(programSet: attachMode, fallbackReason: fallbackReason, counters: snapshotCounters,
                           maps: maps, cgroupEntriesFreed: freedCgroupState.load(ordering: .relaxed))
    }

    /// Detaches the programs and frees the kernel objects. With `keepPins`
    /// the cumulative maps stay in bpffs (a restarted agent continues from
    /// them); otherwise they are removed. Safe to call twice.
    public func close(keepPins: Bool) {
        let taken = handle.withLock { h -> Handle? in
            defer { h = nil }
            return h
        }
        guard let h = taken?.pointer else { return }
        if !keepPins {
            mbcas_probe_unpin(h)
            rmdir(configuration.pinRoot)  // only succeeds when empty: other files are not ours
        }
        mbcas_probe_destroy(h)
        lock.withLock { $0 = nil }  // released once the programs are gone
        logger.info("probe detached", metadata: ["pins": "\(keepPins ? "kept" : "removed")"])
    }

    private func withHandle<T: Sendable>(_ body: (OpaquePointer) -> T) throws(ProbeError) -> T {
        let result: T? = handle.withLock { h in h.map { body($0.pointer) } }
        guard let result else { throw ProbeError(.loadFailed, "the probe was closed") }
        return result
    }

    private static func loadError(_ rc: Int32, libbpfOutput: String, configuration: ProbeConfiguration) -> ProbeError {
        let err = Errno(rawValue: -rc)
        if libbpfOutput.contains("-- BEGIN PROG LOAD LOG --") {
            let path = "/tmp/mbcas-verifier-\(getpid()).log"
            let saved = (try? writeFile(path, libbpfOutput)) != nil
            let reason = verifierReason(libbpfOutput).map { " It said: \"\($0)\"." } ?? ""
            return ProbeError(.verifierRejected, """
                the kernel's BPF verifier rejected the probe (\(err)); \
                \(saved ? "its log is in \(path)" : "the log could not be saved to \(path)").\(reason) \
                This kernel may lack a feature the probe needs (BTF with sched_task_group, raw tracepoints, ring buffers: Linux 5.8+).
                """, path: saved ? path : nil, errno: err)
        }
        if err == .permissionDenied || err == .notPermitted {
            return ProbeError(.notPrivileged, "the kernel refused to load the probe (\(err)): run as root or with CAP_BPF and CAP_PERFMON", errno: err)
        }
        let lastLines = libbpfOutput.split(separator: "\n").suffix(3).joined(separator: " | ")
        if libbpfOutput.contains("couldn't reuse pinned map") {
            return ProbeError(.loadFailed, """
                maps pinned under \(configuration.pinRoot) belong to a different probe version: \
                stop the other agent or remove them (`rm -r \(configuration.pinRoot)`). libbpf said: \(lastLines)
                """, errno: err)
        }
        return ProbeError(.loadFailed, "cannot load the probe: \(err). libbpf said: \(lastLines)", errno: err)
    }
}

/// The verifier's own reason: the last line of the first program log before its closing
/// statistics ("processed N insns", "stack depth", "verification time").
func verifierReason(_ libbpfOutput: String) -> String? {
    let lines = libbpfOutput.split(separator: "\n")
    guard let end = lines.firstIndex(where: { $0.hasPrefix("-- END PROG LOAD LOG --") }) else { return nil }
    let statistics = ["processed ", "verification time", "stack depth", "max_states_per_insn"]
    return lines[..<end].reversed()
        .first { line in !statistics.contains { line.hasPrefix($0) } }
        .map(String.init)
}

func writeFile(_ path: String, _ text: String) throws {
    let fd = try FileDescriptor.open(path, .writeOnly, options: [.create, .truncate], permissions: [.ownerReadWrite])
    defer { try? fd.close() }
    _ = try fd.writeAll(text.utf8)
}
