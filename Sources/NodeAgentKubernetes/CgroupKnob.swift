import Cgroups

/// A cgroup setting a direct raise moves (``DirectCgroupRaise``): the CFS quota (the pod's cap,
/// which the kubelet sets from the containers' limits) or the CFS weight (`cpu.shares` /
/// `cpu.weight`, which the kubelet derives from the requests).
enum CgroupKnob: Sendable, Hashable {
    case quota, weight

    /// A knob's value as read or written: exact (the quota with its period, unlimited included),
    /// so that giving a raise back writes what was there.
    enum Value: Sendable, Hashable {
        case limit(CPULimit)
        case shares(Int)

        /// The value in the decision's unit: millicores (unlimited: `Int64.max`) or shares.
        var amount: Int64 {
            switch self {
            case .limit(let limit): limit.millicores ?? .max
            case .shares(let shares): Int64(shares)
            }
        }
    }

    func read(_ cgroupPath: String, version: CgroupVersion) throws(CgroupError) -> Value {
        switch self {
        case .quota: .limit(try CPULimit.read(cgroupPath: cgroupPath, version: version))
        case .weight: .shares(try CPUShares.read(cgroupPath: cgroupPath, version: version))
        }
    }

    /// One write: `cpu.max` (v2) or the quota file (v1: the period is the kubelet's, unchanged),
    /// or `cpu.shares` / `cpu.weight`.
    func write(_ value: Value, to cgroupPath: String, version: CgroupVersion) throws(CgroupError) {
        switch value {
        case .limit(let limit): try limit.write(cgroupPath: cgroupPath, version: version)
        case .shares(let shares): try CPUShares.write(shares, cgroupPath: cgroupPath, version: version)
        }
    }

    /// Whether `current` still holds the raise to `target` (else the kubelet or the runtime
    /// rewrote it). cgroup v2 reads a weight back through the shares → weight conversion: within
    /// 2 % is the value written.
    func holds(_ current: Value, _ target: Value) -> Bool {
        switch self {
        case .quota: current.amount >= target.amount
        case .weight: Double(current.amount) >= Double(target.amount) * 0.98
        }
    }
}
