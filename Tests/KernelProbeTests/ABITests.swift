import CKernelProbe
import Testing
@testable import KernelProbe

/// The ring-buffer record and map values are shared with the BPF program
/// through bpf/mbcas.h; C pins their sizes with _Static_assert, and this
/// pins what Swift imports, field by field.
@Suite("Kernel/user ABI")
struct ABITests {
    @Test("mbcas_event: 48 bytes, header first")
    func eventLayout() {
        #expect(MemoryLayout<mbcas_event>.size == 48)
        #expect(MemoryLayout<mbcas_event>.offset(of: \.kind) == 0)
        #expect(MemoryLayout<mbcas_event>.offset(of: \.size) == 2)
        #expect(MemoryLayout<mbcas_event>.offset(of: \.cpu) == 4)
        #expect(MemoryLayout<mbcas_event>.offset(of: \.ktime_ns) == 8)
        #expect(MemoryLayout<mbcas_event>.offset(of: \.stall_start_ns) == 16)
        #expect(MemoryLayout<mbcas_event>.offset(of: \.cgroup_id) == 24)
        #expect(MemoryLayout<mbcas_event>.offset(of: \.delta_ns) == 32)
        #expect(MemoryLayout<mbcas_event>.offset(of: \.pid) == 40)
    }

    @Test("map values: stats 64, cache slot 128, throttle mark 16, episode 16, counters 32, pod allocation 136 bytes")
    func mapValueLayouts() {
        #expect(MemoryLayout<mbcas_cgroup_stats>.size == 64)
        #expect(MemoryLayout<mbcas_cgroup_stats>.stride == 64)  // per-CPU values are 8-byte aligned slots
        #expect(MemoryLayout<mbcas_cgroup_stats>.offset(of: \.nr_switches) == 16)
        #expect(MemoryLayout<mbcas_cgroup_stats>.offset(of: \.bandwidth_seen) == 40)
        #expect(MemoryLayout<mbcas_cgroup_stats>.offset(of: \.throttled_ns) == 48)
        #expect(MemoryLayout<mbcas_cgroup_stats>.offset(of: \.nr_throttled) == 56)
        #expect(MemoryLayout<mbcas_cgroup_slot>.size == 128)
        #expect(MemoryLayout<mbcas_cgroup_slot>.stride == 128)  // read in one batch: CPUs x slots of 128 bytes
        #expect(MemoryLayout<mbcas_cgroup_slot>.offset(of: \.generation) == 8)
        #expect(MemoryLayout<mbcas_cgroup_slot>.offset(of: \.counted) == 12)
        #expect(MemoryLayout<mbcas_cgroup_slot>.offset(of: \.stats) == 16)
        // What a common switch touches (up to bandwidth_seen) is the slot's first cache line.
        #expect(MemoryLayout<mbcas_cgroup_slot>.offset(of: \.stats.bandwidth_seen)! + 8 <= 64)
        #expect(MemoryLayout<mbcas_cgroup_slot>.offset(of: \.cgroup_id) == 80)
        #expect(MemoryLayout<mbcas_throttle_mark>.size == 16)
        #expect(MemoryLayout<mbcas_open_episode>.size == 16)
        #expect(MemoryLayout<mbcas_counters>.size == 32)
        #expect(MemoryLayout<mbcas_pod_allocation>.size == 136)
        #expect(MemoryLayout<mbcas_pod_allocation>.offset(of: \.reason) == 40)
        #expect(MemoryLayout<mbcas_pod_allocation>.offset(of: \.name) == 56)
        #expect(MemoryLayout<mbcas_pod_allocation>.offset(of: \.weight_shares) == 88)
        #expect(MemoryLayout<mbcas_pod_allocation>.offset(of: \.class_score_e3) == 112)
        #expect(MemoryLayout<mbcas_pod_allocation>.offset(of: \.latency_class) == 120)
        #expect(MemoryLayout<mbcas_node_market>.size == 64)
    }

    @Test("strings in fixed C arrays: truncated, NUL-terminated, read back")
    func cStrings() {
        var record = mbcas_pod_allocation()
        copyCString("a-pod-name-much-longer-than-thirty-two-bytes", into: &record.name)
        #expect(stringFromCString(record.name) == "a-pod-name-much-longer-than-thi")  // 31 bytes + NUL
        copyCString("guardrail", into: &record.reason)
        #expect(stringFromCString(record.reason) == "guardrail")
    }

    @Test("event kinds agree with the C enum")
    func kinds() {
        #expect(StallEvent.Kind.throttleStart.rawValue == UInt16(MBCAS_EVENT_THROTTLE_START.rawValue))
        #expect(StallEvent.Kind.throttleEnd.rawValue == UInt16(MBCAS_EVENT_THROTTLE_END.rawValue))
        #expect(StallEvent.Kind.runQueueWait.rawValue == UInt16(MBCAS_EVENT_RUNQ_WAIT.rawValue))
    }

    @Test("a record decodes field by field; short or unknown records are refused")
    func decoding() {
        var raw = mbcas_event()
        raw.kind = UInt16(MBCAS_EVENT_THROTTLE_END.rawValue)
        raw.size = 48
        raw.cpu = 1
        raw.ktime_ns = 5_000
        raw.stall_start_ns = 1_000
        raw.cgroup_id = 77
        raw.delta_ns = 4_000
        raw.pid = 42
        let event = withUnsafeBytes(of: raw) { StallEvent(record: $0.baseAddress!, size: $0.count, receivedAt: 5_600) }
        #expect(event == StallEvent(kind: .throttleEnd, cpu: 1, kernelTimestamp: 5_000, stallStart: 1_000,
                                    cgroupID: 77, deltaNanos: 4_000, pid: 42, receivedAt: 5_600))
        #expect(event?.latencyNanos == 600)

        let short = withUnsafeBytes(of: raw) { StallEvent(record: $0.baseAddress!, size: 40, receivedAt: 0) }
        #expect(short == nil)
        raw.kind = 99
        let unknown = withUnsafeBytes(of: raw) { StallEvent(record: $0.baseAddress!, size: $0.count, receivedAt: 0) }
        #expect(unknown == nil)
    }
}

@Suite("Totals and configuration")
struct TotalsTests {
    @Test("since() is the kernel's growth: episodes still open at either reading are left to the reading after they end")
    func sinceLeavesOpenEpisodes() {
        var earlier = CgroupStallTotals(cgroupID: 1)
        earlier.throttledNanos = 1_000
        earlier.openThrottledNanos = 300   // an episode 300 ns in, by the probe's clock
        earlier.throttleEpisodes = 3
        var later = CgroupStallTotals(cgroupID: 1)
        later.throttledNanos = 1_800       // the kernel counted 800 ns when it ended
        later.openThrottledNanos = 50      // and a new one is 50 ns in
        later.throttleEpisodes = 4
        let d = later.since(earlier)
        #expect(d.throttledNanos == 800)
        #expect(d.throttleEpisodes == 1)
        #expect(later.throttledIncludingOpenNanos == 1_850)
    }

    @Test("since() reads a later total below the earlier one (the entry was freed in between) as zero")
    func sinceAfterFreedEntry() {
        var earlier = CgroupStallTotals(cgroupID: 1)
        earlier.throttledNanos = 1_000
        earlier.waitNanos = 500
        var later = CgroupStallTotals(cgroupID: 1)
        later.throttledNanos = 100
        later.waitNanos = 700
        let d = later.since(earlier)
        #expect(d.throttledNanos == 0)
        #expect(d.waitNanos == 200)
    }

    @Test("invalid configuration names the field", arguments: [
        (ProbeConfiguration(ringBufferBytes: 5000), "ringBufferBytes"),
        (ProbeConfiguration(ringBufferBytes: 2048), "ringBufferBytes"),
        (ProbeConfiguration(waitWindowNanos: 0), "waitWindowNanos"),
        (ProbeConfiguration(pinRoot: "relative/path"), "pinRoot"),
        (ProbeConfiguration(pollTimeoutMilliseconds: 0), "pollTimeoutMilliseconds"),
    ])
    func invalidConfiguration(configuration: ProbeConfiguration, field: String) {
        #expect {
            try configuration.validate()
        } throws: { error in
            (error as? ProbeError)?.code == .invalidConfiguration && "\(error)".contains(field)
        }
    }

    @Test("privilege check: CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON; the message names what is missing")
    func privilegeCheck() throws {
        let bpf: UInt64 = 1 << 39, perfmon: UInt64 = 1 << 38, sysAdmin: UInt64 = 1 << 21
        try Preflight.checkPrivilege(effectiveCapabilities: sysAdmin, uid: 0)
        try Preflight.checkPrivilege(effectiveCapabilities: bpf | perfmon, uid: 1000)
        #expect { try Preflight.checkPrivilege(effectiveCapabilities: bpf, uid: 1000) } throws: { error in
            let message = "\(error)"
            return (error as? ProbeError)?.code == .notPrivileged && message.contains("CAP_PERFMON")
                && !message.contains("lacks CAP_BPF")
        }
        #expect { try Preflight.checkPrivilege(effectiveCapabilities: 0, uid: 1000) } throws: { error in
            "\(error)".contains("CAP_BPF and CAP_PERFMON")
        }
    }

    @Test("a verifier rejection names the verifier's own reason: the log's last line before its statistics")
    func verifierReasonIsTheLastLogLine() {
        // The tail of a real rejection on this kernel (a CO-RE read through a local struct's field).
        let output = """
            libbpf: prog 'raw_sched_switch': BPF program load failed: Invalid argument
            libbpf: prog 'raw_sched_switch': -- BEGIN PROG LOAD LOG --
            0: R1=ctx() R10=fp0
            67: <invalid CO-RE relocation>
            failed to resolve CO-RE relocation <byte_off> [94] struct task_view.tg (0:5 @ offset 40)
            processed 68 insns (limit 1000000) max_states_per_insn 0 total_states 3 peak_states 3 mark_read 0
            -- END PROG LOAD LOG --
            libbpf: failed to load object 'mbcas_bpf'
            """
        #expect(verifierReason(output) == "failed to resolve CO-RE relocation <byte_off> [94] struct task_view.tg (0:5 @ offset 40)")
        #expect(verifierReason("libbpf: failed to load object 'mbcas_bpf'") == nil)
    }
}
