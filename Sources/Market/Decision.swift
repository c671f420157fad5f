/// A small integer naming a pod on this node: its slot in the agent's pod table.
///
/// The guardrail indexes fixed-capacity arrays by it, and the safety rules and decisions use it so
/// that both speak of pods the same way without strings on the hot path.
public struct PodSlot: RawRepresentable, Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The slot index, 0 ..< slot count.
    public var rawValue: Int

    /// Creates a slot from its index.
    /// - Parameter rawValue: The index, ≥ 0.
    @inlinable public init(rawValue: Int) { self.rawValue = rawValue }

    /// Creates a slot from its index.
    /// - Parameter index: The index, ≥ 0.
    @inlinable public init(_ index: Int) { self.rawValue = index }

    /// Orders slots by index.
    @inlinable public static func < (lhs: PodSlot, rhs: PodSlot) -> Bool { lhs.rawValue < rhs.rawValue }

    /// `slot N`.
    public var description: String { "slot \(rawValue)" }
}

/// Why a pod's limit was (or was not) changed. Raw values are stable strings for logs, metrics
/// and the PodAllocation status.
public enum Reason: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    /// No change worth acting on: the target is within the minimum change of the current limit.
    case steady = "steady"
    /// The market moved the pod while CPU is scarce (shadow price > 0), up or down.
    case contention = "contention"
    /// Raised towards its cap from idle CPU (CPU is not scarce).
    case headroom = "headroom"
    /// Lowered to give back CPU no one bid for (CPU is not scarce).
    case reclaim = "reclaim"
    /// Raised by the fast guardrail on a throttle event.
    case guardrail = "guardrail"
    /// A shrink held back: the pod is still warming up.
    case warmupHold = "warmup-hold"
    /// A shrink held back: the pod was raised too recently (cooldown before any shrink).
    case cooldownHold = "cooldown-hold"
    /// A raise refused: earlier raises brought neither less stall nor more use.
    case ineffective = "ineffective"
    /// Left alone: Guaranteed-QoS pods are never touched.
    case guaranteedQoS = "guaranteed-qos"
    /// Raised to its floor (request), bypassing step limits and cooldowns.
    case floor = "floor"
    /// Lowered to its cap, bypassing step limits and cooldowns.
    case cap = "cap"
    /// A CFS weight set from the market's division of the node (weights actuation).
    case weight = "weight"

    /// The raw value.
    public var description: String { rawValue }
}

/// What cut a change short of its target. Raw values are stable strings.
public enum Constraint: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    /// The maximum step per round (up or down), or the guardrail's bounded step.
    case maxStep = "max-step"
    /// The node's capacity minus its reserve (no free headroom left).
    case nodeReserve = "node-reserve"
    /// The pod's cap.
    case cap = "cap"

    /// The raw value.
    public var description: String { rawValue }
}

/// One decision about one pod's CPU limit, with its reason.
public struct Decision: Sendable, Hashable, CustomStringConvertible {
    /// The pod.
    public var pod: PodSlot
    /// The limit before, in millicores.
    public var oldLimit: Int
    /// The limit to apply, in millicores (equal to `oldLimit` for holds and steady pods).
    public var newLimit: Int
    /// Why.
    public var reason: Reason
    /// What cut the change short of its target, if anything.
    public var limitedBy: Constraint?

    /// Creates a decision.
    /// - Parameters:
    ///   - pod: The pod.
    ///   - oldLimit: The limit before, in millicores.
    ///   - newLimit: The limit to apply, in millicores.
    ///   - reason: Why.
    ///   - limitedBy: What cut the change short, if anything.
    @inlinable
    public init(pod: PodSlot, oldLimit: Int, newLimit: Int, reason: Reason, limitedBy: Constraint? = nil) {
        self.pod = pod
        self.oldLimit = oldLimit
        self.newLimit = newLimit
        self.reason = reason
        self.limitedBy = limitedBy
    }

    /// Whether the limit changes: the actuator only needs these.
    @inlinable public var changesLimit: Bool { newLimit != oldLimit }

    /// newLimit − oldLimit, in millicores.
    @inlinable public var delta: Int { newLimit - oldLimit }

    /// `slot 3: 1000m -> 1300m (guardrail, limited by cap)`.
    public var description: String {
        let limited = limitedBy.map { ", limited by \($0)" } ?? ""
        return "\(pod): \(oldLimit)m -> \(newLimit)m (\(reason)\(limited))"
    }
}
