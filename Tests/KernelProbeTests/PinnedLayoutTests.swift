import CKernelProbe
import Foundation
import Logging
import TestSupport
import Testing
@testable import KernelProbe

/// Maps pinned by another version of the probe: libbpf reuses a pin whose
/// type and sizes match, so a struct whose fields moved would be counted
/// into field by wrong field. The probe compares the pinned map's BTF with
/// its own and refuses, naming the map and what to do.
@Suite("Pinned maps of another layout")
struct PinnedLayoutTests {
    /// `cgroup_stats` as the probe laid it out before its cache slots were reordered: same type,
    /// key and value sizes, different field order.
    static let olderStatsFields = ["run_ns", "wait_ns", "throttled_ns", "nr_throttled", "nr_switches",
                                   "window_start_ns", "window_wait_ns", "bandwidth_seen"]

    @Test("a pinned cgroup_stats whose fields are in another order is refused, not reused",
          .enabled(if: Privileged.canRun))
    func refusesPinnedStatsOfAnotherLayout() throws {
        try Privileged.require()
        let pinRoot = "/sys/fs/bpf/mbcas-test-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: pinRoot, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: pinRoot) }
        try pinStatsMap(fields: Self.olderStatsFields, at: pinRoot + "/cgroup_stats")

        let error = #expect(throws: ProbeError.self) {
            let probe = try KernelProbe.load(ProbeConfiguration(attachMode: .btf, pinRoot: pinRoot),
                                             logger: Logger(label: "test.pins"))
            probe.close(keepPins: false)
        }
        #expect(error?.code == .loadFailed)
        #expect(error?.message.contains("belong to a different probe version") == true, "\(String(describing: error))")
        #expect(error?.message.contains("'cgroup_stats'") == true, "\(String(describing: error))")
        // Nothing was reused or changed: the old pin is still there, as it was.
        #expect(FileManager.default.fileExists(atPath: pinRoot + "/cgroup_stats"))
        #expect(!FileManager.default.fileExists(atPath: pinRoot + "/cgroup_cache"))
    }

    @Test("pins of this probe's own layout are reused (totals continue)", .enabled(if: Privileged.canRun))
    func reusesPinsOfItsOwnLayout() throws {
        try Privileged.require()
        let pinRoot = "/sys/fs/bpf/mbcas-test-\(UInt32.random(in: 0...UInt32.max))"
        let configuration = ProbeConfiguration(attachMode: .btf, pinRoot: pinRoot)
        let first = try KernelProbe.load(configuration, logger: Logger(label: "test.pins"))
        first.close(keepPins: true)
        let second = try KernelProbe.load(configuration, logger: Logger(label: "test.pins"))
        second.close(keepPins: false)
    }

    /// A per-CPU hash named and sized as the probe's `cgroup_stats`, with BTF for its value laid
    /// out with `fields` (u64 each, in that order), pinned at `path`.
    private func pinStatsMap(fields: [String], at path: String) throws {
        let btf = try #require(btf__new_empty())
        defer { btf__free(btf) }
        let u64 = btf__add_int(btf, "unsigned long long", 8, 0)
        let stats = btf__add_struct(btf, "mbcas_cgroup_stats", UInt32(fields.count * 8))
        for (index, field) in fields.enumerated() {
            #expect(btf__add_field(btf, field, u64, UInt32(index * 64), 0) == 0)
        }
        #expect(btf__load_into_kernel(btf) == 0)
        var options = bpf_map_create_opts()
        options.sz = MemoryLayout<bpf_map_create_opts>.size
        options.btf_fd = UInt32(btf__fd(btf))
        options.btf_key_type_id = UInt32(u64)
        options.btf_value_type_id = UInt32(stats)
        let fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_HASH, "cgroup_stats", 8, UInt32(fields.count * 8),
                                UInt32(MBCAS_MAX_CGROUPS), &options)
        try #require(fd >= 0, "bpf_map_create: \(String(cString: strerror(errno)))")
        defer { close(fd) }
        try #require(bpf_obj_pin(fd, path) == 0, "bpf_obj_pin \(path): \(String(cString: strerror(errno)))")
    }
}
