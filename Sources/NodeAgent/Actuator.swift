import Cgroups
import Market

/// One limit change for an actuator to carry out.
public struct LimitChange: Sendable, Hashable {
    /// The pod's name (its cgroup's name in standalone mode).
    public var pod: String
    /// The pod's cgroup directory (absolute).
    public var cgroupPath: String
    /// The limit before, millicores.
    public var oldMillicores: Int
    /// The limit to apply, millicores.
    public var newMillicores: Int
    /// Why.
    public var reason: Reason
    /// Kernel time (CLOCK_MONOTONIC ns) of the stall that triggered it; 0 for periodic work.
    public var stallTimestamp: UInt64
    /// The shadow price of CPU in the market round that decided it (nil: not a market decision).
    public var shadowPrice: Double?
    /// Which guarantees that round could not meet (nil: not a market decision). With an
    /// over-commit the price is `+infinity`, which JSON cannot carry: this says it explicitly.
    public var overcommit: Overcommit?

    /// Creates a change.
    public init(pod: String, cgroupPath: String, oldMillicores: Int, newMillicores: Int, reason: Reason,
                stallTimestamp: UInt64 = 0, shadowPrice: Double? = nil, overcommit: Overcommit? = nil) {
        self.pod = pod
        self.cgroupPath = cgroupPath
        self.oldMillicores = oldMillicores
        self.newMillicores = newMillicores
        self.reason = reason
        self.stallTimestamp = stallTimestamp
        self.shadowPrice = shadowPrice
        self.overcommit = overcommit
    }
}

/// Applies CPU limits. Standalone mode writes the cgroup files; Kubernetes
/// mode hands them to ``PodAllocationWriter``, which writes PodAllocations.
/// `apply` runs on the ring-buffer thread for guardrail raises: it must be
/// quick and must not block on anything but the write itself.
public protocol Actuator: Sendable {
    /// Applies one change. Throws with the path and errno when it cannot.
    func apply(_ change: LimitChange) throws(AgentError)
    /// The limit in force now, millicores (nil when unlimited).
    func currentLimit(cgroupPath: String) throws(AgentError) -> Int?
}

/// The embedded default: writes `cpu.max` (v2) or `cpu.cfs_quota_us` /
/// `cpu.cfs_period_us` (v1) of the pod's cgroup, one write(2) each, so a
/// limit is never half-written.
public struct CgroupActuator: Actuator {
    /// The hierarchy holding the cpu controller.
    public let version: CgroupVersion
    /// The CFS period to use for new limits.
    public let periodMicros: Int64

    /// Creates an actuator for cgroups of `version`.
    public init(version: CgroupVersion, periodMicros: Int64 = CPULimit.defaultPeriodMicros) {
        self.version = version
        self.periodMicros = periodMicros
    }

    public func apply(_ change: LimitChange) throws(AgentError) {
        do {
            try CPULimit(millicores: Int64(change.newMillicores), periodMicros: periodMicros)
                .write(cgroupPath: change.cgroupPath, version: version)
        } catch {
            throw AgentError(.actuationFailed, "cannot set \(change.pod)'s CPU limit to \(change.newMillicores)m: \(error.message)")
        }
    }

    public func currentLimit(cgroupPath: String) throws(AgentError) -> Int? {
        do {
            return try CPULimit.read(cgroupPath: cgroupPath, version: version).millicores.map { Int($0) }
        } catch {
            throw AgentError(.actuationFailed, "cannot read the CPU limit of \(cgroupPath): \(error.message)")
        }
    }
}
