#if canImport(Glibc)
import Glibc
#endif
import CKernelProbe
import SystemPackage

/// What the agent decided for one pod, as kept in the pinned
/// `pod_allocations` map (for `mbcas top` and bpftool).
public struct PodAllocationRecord: Sendable, Equatable {
    /// The pod's name.
    public var name: String
    /// Its limit now, millicores.
    public var limitMillicores: UInt64
    /// Its floor, millicores.
    public var floorMillicores: UInt64
    /// Its cap, millicores.
    public var capMillicores: UInt64
    /// When the limit last changed (CLOCK_MONOTONIC ns).
    public var updatedAt: UInt64
    /// Kernel stall → cgroup write, of the last pushed decision (ns; 0 if none).
    public var lastLatencyNanos: UInt64
    /// Why the limit last changed.
    public var reason: String
    /// Weights actuation: the CFS weight (cpu.shares), the share under contention (millicores), the
    /// CFS burst (µs), the latency score in [0, 1], direction changes in the last minute, and the
    /// class (`latency`, `batch`; `*` appended when declared). Zero / empty under limits actuation.
    public var weightShares: UInt64 = 0
    public var shareMillicores: UInt64 = 0
    public var burstMicros: UInt64 = 0
    public var latencyScore: Double = 0
    public var directionChanges: UInt32 = 0
    public var latencyClass: String = ""

    /// Creates a record.
    public init(name: String, limitMillicores: UInt64, floorMillicores: UInt64, capMillicores: UInt64,
                updatedAt: UInt64, lastLatencyNanos: UInt64, reason: String) {
        self.name = name
        self.limitMillicores = limitMillicores
        self.floorMillicores = floorMillicores
        self.capMillicores = capMillicores
        self.updatedAt = updatedAt
        self.lastLatencyNanos = lastLatencyNanos
        self.reason = reason
    }
}

/// The node's market as the agent last left it (the pinned `node_market` map).
public struct NodeMarketRecord: Sendable, Equatable {
    /// Allocatable CPU, millicores.
    public var capacityMillicores: UInt64
    /// CPU kept out of the market, millicores.
    public var reserveMillicores: UInt64
    /// Σ of the pods' limits, millicores.
    public var allocatedMillicores: UInt64
    /// The last round's shadow price of CPU (0 when CPU is not scarce).
    public var shadowPrice: Double
    /// Market rounds run.
    public var rounds: UInt64
    /// Limit changes applied.
    public var decisions: UInt64
    /// When the last round ran (CLOCK_MONOTONIC ns).
    public var updatedAt: UInt64
    /// The agent's process id.
    public var agentPID: UInt64

    /// Creates a record.
    public init(capacityMillicores: UInt64, reserveMillicores: UInt64, allocatedMillicores: UInt64,
                shadowPrice: Double, rounds: UInt64, decisions: UInt64, updatedAt: UInt64, agentPID: UInt64) {
        self.capacityMillicores = capacityMillicores
        self.reserveMillicores = reserveMillicores
        self.allocatedMillicores = allocatedMillicores
        self.shadowPrice = shadowPrice
        self.rounds = rounds
        self.decisions = decisions
        self.updatedAt = updatedAt
        self.agentPID = agentPID
    }
}

/// The two maps the agent writes from user space: its decisions, next to
/// what the kernel counted, for anyone with bpftool.
public final class AgentStateMaps: Sendable {
    private let allocationsFD: Int32
    private let marketFD: Int32
    private let ownsDescriptors: Bool

    init(allocationsFD: Int32, marketFD: Int32, ownsDescriptors: Bool) {
        self.allocationsFD = allocationsFD
        self.marketFD = marketFD
        self.ownsDescriptors = ownsDescriptors
    }

    deinit {
        if ownsDescriptors { Glibc.close(allocationsFD); Glibc.close(marketFD) }
    }

    /// Opens the maps a running agent pinned under `pinRoot`.
    public static func openPinned(at pinRoot: String = ProbeConfiguration.defaultPinRoot) throws(ProbeError) -> AgentStateMaps {
        let fds = try openPinnedMaps(["pod_allocations", "node_market"], at: pinRoot)
        return AgentStateMaps(allocationsFD: fds[0], marketFD: fds[1], ownsDescriptors: true)
    }

    /// Records a pod's allocation.
    public func publish(cgroupID: UInt64, _ record: PodAllocationRecord) throws(ProbeError) {
        var key = cgroupID
        var value = mbcas_pod_allocation()
        value.limit_millicores = record.limitMillicores
        value.floor_millicores = record.floorMillicores
        value.cap_millicores = record.capMillicores
        value.updated_ns = record.updatedAt
        value.last_latency_ns = record.lastLatencyNanos
        copyCString(record.reason, into: &value.reason)
        copyCString(record.name, into: &value.name)
        value.weight_shares = record.weightShares
        value.share_millicores = record.shareMillicores
        value.burst_us = record.burstMicros
        value.class_score_e3 = UInt32(max(0, min(1000, (record.latencyScore * 1000).rounded())))
        value.direction_changes = record.directionChanges
        copyCString(record.latencyClass, into: &value.latency_class)
        guard bpf_map_update_elem(allocationsFD, &key, &value, UInt64(BPF_ANY)) == 0 else {
            throw ProbeError.call(.mapAccessFailed, "cannot write pod_allocations", Errno(rawValue: errno))
        }
    }

    /// Forgets a pod that is no longer managed.
    public func remove(cgroupID: UInt64) {
        var key = cgroupID
        _ = bpf_map_delete_elem(allocationsFD, &key)
    }

    /// Records the node's market state.
    public func publish(_ record: NodeMarketRecord) throws(ProbeError) {
        var key: UInt32 = 0
        var value = mbcas_node_market(
            capacity_millicores: record.capacityMillicores, reserve_millicores: record.reserveMillicores,
            allocated_millicores: record.allocatedMillicores,
            shadow_price_e9: Self.shadowPriceE9(record.shadowPrice),
            rounds: record.rounds, decisions: record.decisions, updated_ns: record.updatedAt,
            agent_pid: record.agentPID)
        guard bpf_map_update_elem(marketFD, &key, &value, UInt64(BPF_ANY)) == 0 else {
            throw ProbeError.call(.mapAccessFailed, "cannot write node_market", Errno(rawValue: errno))
        }
    }

    /// The price as the map stores it, x1e9. The market's price has no upper bound (1/t), so
    /// the conversion saturates: anything at or past UInt64.max / 1e9 (about 1.8e10), and
    /// infinity, store UInt64.max, which reads back as infinity; negative prices and NaN
    /// (no price) store 0, "not scarce". A plain UInt64(_:) would trap on all of these.
    static func shadowPriceE9(_ price: Double) -> UInt64 {
        guard price > 0 else { return 0 }  // also NaN
        let scaled = price * 1e9
        return scaled >= 18_446_744_073_709_551_615 ? .max : UInt64(scaled)
    }

    /// The stored price back as a Double (UInt64.max is infinity).
    static func shadowPrice(e9 stored: UInt64) -> Double {
        stored == .max ? .infinity : Double(stored) / 1e9
    }

    /// Every pod's allocation, by pod cgroup id.
    public func allocations() throws(ProbeError) -> [UInt64: PodAllocationRecord] {
        var result: [UInt64: PodAllocationRecord] = [:]
        for key in try hashMapKeys(allocationsFD) {
            var k = key
            var v = mbcas_pod_allocation()
            guard bpf_map_lookup_elem(allocationsFD, &k, &v) == 0 else { continue }
            var record = PodAllocationRecord(
                name: stringFromCString(v.name), limitMillicores: v.limit_millicores,
                floorMillicores: v.floor_millicores, capMillicores: v.cap_millicores, updatedAt: v.updated_ns,
                lastLatencyNanos: v.last_latency_ns, reason: stringFromCString(v.reason))
            record.weightShares = v.weight_shares
            record.shareMillicores = v.share_millicores
            record.burstMicros = v.burst_us
            record.latencyScore = Double(v.class_score_e3) / 1000
            record.directionChanges = v.direction_changes
            record.latencyClass = stringFromCString(v.latency_class)
            result[key] = record
        }
        return result
    }

    /// The node's market state; nil before the agent's first round.
    public func market() throws(ProbeError) -> NodeMarketRecord? {
        var key: UInt32 = 0
        var v = mbcas_node_market()
        guard bpf_map_lookup_elem(marketFD, &key, &v) == 0 else {
            throw ProbeError.call(.mapAccessFailed, "cannot read node_market", Errno(rawValue: errno))
        }
        guard v.updated_ns != 0 else { return nil }
        return NodeMarketRecord(
            capacityMillicores: v.capacity_millicores, reserveMillicores: v.reserve_millicores,
            allocatedMillicores: v.allocated_millicores,
            shadowPrice: Self.shadowPrice(e9: v.shadow_price_e9),
            rounds: v.rounds, decisions: v.decisions, updatedAt: v.updated_ns, agentPID: v.agent_pid)
    }
}

/// Opens pinned maps by name, all or none, with errors that say what to do.
func openPinnedMaps(_ names: [String], at pinRoot: String) throws(ProbeError) -> [Int32] {
    var fds: [Int32] = []
    for name in names {
        let path = "\(pinRoot)/\(name)"
        let fd = bpf_obj_get(path)
        if fd < 0 {
            let err = Errno(rawValue: errno)
            fds.forEach { Glibc.close($0) }
            if err == .noSuchFileOrDirectory {
                throw ProbeError(.notRunning, "no MBCAS maps at \(path): is `mbcas agent` running (with the same --pin-root)?")
            }
            throw ProbeError.call(.mapAccessFailed, "cannot open pinned map \(path)", err, hint: "reading pinned maps needs root or CAP_BPF")
        }
        fds.append(fd)
    }
    return fds
}

/// Lists a hash map's keys (8 bytes, or 4 with `keySize: 4`), as UInt64.
func hashMapKeys(_ fd: Int32, keySize: Int = 8) throws(ProbeError) -> [UInt64] {
    var keys: [UInt64] = []
    var next: UInt64 = 0  // a 4-byte key fills the low half (little-endian hosts, as BPF runs on)
    var rc = bpf_map_get_next_key(fd, nil, &next)
    while rc == 0 {
        keys.append(keySize == 4 ? next & 0xffff_ffff : next)
        var previous = next
        rc = bpf_map_get_next_key(fd, &previous, &next)
    }
    let err = Errno(rawValue: errno)
    guard err == .noSuchFileOrDirectory else {
        throw ProbeError.call(.mapAccessFailed, "cannot list map keys", err)
    }
    return keys
}

/// Copies a string into a fixed C char array, truncated, always NUL-terminated.
func copyCString<T>(_ string: String, into field: inout T) {
    withUnsafeMutableBytes(of: &field) { buffer in
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        let bytes = Array(string.utf8.prefix(buffer.count - 1))
        buffer.copyBytes(from: bytes)
    }
}

/// Reads a NUL-terminated string out of a fixed C char array.
func stringFromCString<T>(_ field: T) -> String {
    withUnsafeBytes(of: field) { buffer in
        String(decoding: buffer.prefix(while: { $0 != 0 }), as: UTF8.self)
    }
}
