import Cgroups
import Logging
import Market
import Synchronization

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
    /// The pod's cap, millicores: the CFS burst set with the limit keeps quota + burst within it
    /// (nil: no cap known, the burst is one quota).
    public var capMillicores: Int?
    /// Which guarantees that round could not meet (nil: not a market decision). With an
    /// over-commit the price is `+infinity`, which JSON cannot carry: this says it explicitly.
    public var overcommit: Overcommit?

    /// Creates a change.
    public init(pod: String, cgroupPath: String, oldMillicores: Int, newMillicores: Int, reason: Reason,
                stallTimestamp: UInt64 = 0, shadowPrice: Double? = nil, overcommit: Overcommit? = nil,
                capMillicores: Int? = nil) {
        self.pod = pod
        self.cgroupPath = cgroupPath
        self.oldMillicores = oldMillicores
        self.newMillicores = newMillicores
        self.reason = reason
        self.stallTimestamp = stallTimestamp
        self.shadowPrice = shadowPrice
        self.overcommit = overcommit
        self.capMillicores = capMillicores
    }
}

/// One CFS weight change (weights actuation): the market's share of the node under contention
/// for one pod, and the weight the kubelet's conversion gives it.
public struct WeightChange: Sendable, Hashable {
    /// The pod's name (its cgroup's name in standalone mode).
    public var pod: String
    /// The pod's cgroup directory (absolute).
    public var cgroupPath: String
    /// The weight to set, cpu.shares (`CPUWeight(millicores: shareMillicores)`).
    public var shares: Int
    /// The market's share, millicores: in Kubernetes mode the pod's CPU request.
    public var shareMillicores: Double
    /// The pod's floor, millicores (its request as its owner set it).
    public var floorMillicores: Int
    /// Kernel time (CLOCK_MONOTONIC ns) of the stall behind the round; 0 for periodic work.
    public var stallTimestamp: UInt64
    /// The round's shadow price and which guarantees it could not meet.
    public var shadowPrice: Double?
    public var overcommit: Overcommit?

    /// Creates a change.
    public init(pod: String, cgroupPath: String, shares: Int, shareMillicores: Double, floorMillicores: Int,
                stallTimestamp: UInt64 = 0, shadowPrice: Double? = nil, overcommit: Overcommit? = nil) {
        self.pod = pod
        self.cgroupPath = cgroupPath
        self.shares = shares
        self.shareMillicores = shareMillicores
        self.floorMillicores = floorMillicores
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
    /// Sets whatever goes with a limit that was adopted rather than written (the CFS burst).
    func adopted(cgroupPath: String, millicores: Int, capMillicores: Int)
    /// Whether the CFS burst goes with each limit (nil: bursts not managed or not known yet).
    var setsBurst: Bool? { get }
    /// Applies one weight change (weights actuation): the cgroup's `cpu.shares` / `cpu.weight`
    /// standalone; the pod's CPU request (from which the kubelet derives the weight) in Kubernetes mode.
    func applyWeight(_ change: WeightChange, version: CgroupVersion) throws(AgentError)
    /// The weight in force now, cpu.shares, when the actuator knows it better than the agent's
    /// own book (nil: keep the book; standalone, where the agent's writes are the truth).
    func currentWeight(cgroupPath: String, version: CgroupVersion) -> Int?
    /// Whether the node budget (capacity − reserve) is the managed parent's quota, written by the
    /// agent (standalone). In Kubernetes mode the kubelet owns the cgroup tree: the budget is
    /// kept by Σ requests ≤ allocatable − reserve instead.
    var setsNodeBudget: Bool { get }
}

extension Actuator {
    public func adopted(cgroupPath: String, millicores: Int, capMillicores: Int) {}
    public var setsBurst: Bool? { nil }
    public func applyWeight(_ change: WeightChange, version: CgroupVersion) throws(AgentError) {
        do { try CPUShares.write(change.shares, cgroupPath: change.cgroupPath, version: version) } catch {
            throw AgentError(.actuationFailed, "cannot set \(change.pod)'s CPU weight to \(change.shares) shares: \(error.message)")
        }
    }
    public func currentWeight(cgroupPath: String, version: CgroupVersion) -> Int? { nil }
    public var setsNodeBudget: Bool { true }
}

/// The embedded default: writes `cpu.max` (v2) or `cpu.cfs_quota_us` /
/// `cpu.cfs_period_us` (v1) of the pod's cgroup, one write(2) each, so a
/// limit is never half-written; then, with a ``BurstWriter``, the CFS burst
/// that goes with the new quota.
public struct CgroupActuator: Actuator {
    /// The hierarchy holding the cpu controller.
    public let version: CgroupVersion
    /// The CFS period to use for new limits.
    public let periodMicros: Int64
    /// Re-asserts the CFS burst after every quota write (nil: bursts left alone).
    public let burst: BurstWriter?

    /// Creates an actuator for cgroups of `version`.
    public init(version: CgroupVersion, periodMicros: Int64 = CPULimit.defaultPeriodMicros, burst: BurstWriter? = nil) {
        self.version = version
        self.periodMicros = periodMicros
        self.burst = burst
    }

    public func apply(_ change: LimitChange) throws(AgentError) {
        let limit = CPULimit(millicores: Int64(change.newMillicores), periodMicros: periodMicros)
        // The kernel refuses a quota below the cgroup's burst (EINVAL): lowering, the burst goes first.
        let lowering = change.newMillicores < change.oldMillicores
        if lowering { burst?.reassert(limit, capMillicores: change.capMillicores, cgroupPath: change.cgroupPath, version: version) }
        do {
            try limit.write(cgroupPath: change.cgroupPath, version: version)
        } catch {
            throw AgentError(.actuationFailed, "cannot set \(change.pod)'s CPU limit to \(change.newMillicores)m: \(error.message)",
                             errno: error.errno)
        }
        if !lowering { burst?.reassert(limit, capMillicores: change.capMillicores, cgroupPath: change.cgroupPath, version: version) }
    }

    public var setsBurst: Bool? { burst?.isSupported }

    public func adopted(cgroupPath: String, millicores: Int, capMillicores: Int) {
        burst?.reassert(CPULimit(millicores: Int64(millicores), periodMicros: periodMicros), capMillicores: capMillicores,
                        cgroupPath: cgroupPath, version: version)
    }

    public func currentLimit(cgroupPath: String) throws(AgentError) -> Int? {
        do {
            return try CPULimit.read(cgroupPath: cgroupPath, version: version).millicores.map { Int($0) }
        } catch {
            throw AgentError(.actuationFailed, "cannot read the CPU limit of \(cgroupPath): \(error.message)", errno: error.errno)
        }
    }
}

/// The kernel's CFS burst as a second actuator: quota a pod left unused in earlier periods, up to one
/// whole quota, absorbs a sub-period burst in the kernel at no latency, while the agent moves limits.
/// Written after every quota write (the kernel refuses a burst above the quota). On kernels without it
/// (before 5.14) the missing file is named once in the log, and nothing else changes.
public final class BurstWriter: Sendable {
    private let logger: Logger
    /// nil: not known yet; true: the kernel has CFS burst; false: it does not.
    private let supported = Mutex<Bool?>(nil)

    /// Creates a writer that logs through `logger`.
    public init(logger: Logger) { self.logger = logger }

    /// Whether the kernel has CFS burst (nil until the first write was tried).
    public var isSupported: Bool? { supported.withLock { $0 } }

    /// Sets the burst that goes with `limit` under `capMillicores` (``CPUBurst/micros(for:capMillicores:)``)
    /// on the cgroup at `cgroupPath`.
    public func reassert(_ limit: CPULimit, capMillicores: Int?, cgroupPath: String, version: CgroupVersion) {
        guard supported.withLock({ $0 }) != false else { return }
        do {
            try CPUBurst.write(micros: CPUBurst.micros(for: limit, capMillicores: capMillicores.map(Int64.init)),
                               cgroupPath: cgroupPath, version: version)
            supported.withLock { $0 = true }
        } catch where error.errno == .noSuchFileOrDirectory {
            let first = supported.withLock { state -> Bool in
                defer { state = false }
                return state == nil
            }
            if first {
                logger.warning("this kernel has no CFS burst: limits are moved without it", metadata: [
                    "missing_file": "\(cgroupPath)/\(CPUBurst.fileName(version))",
                    "needs": "Linux 5.14 or later",
                ])
            }
        } catch {
            logger.warning("cannot set the CFS burst", metadata: ["cgroup": "\(cgroupPath)", "error": "\(error.message)"])
        }
    }
}
