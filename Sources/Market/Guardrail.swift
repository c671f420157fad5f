import QoS

/// Settings of the fast guardrail.
public struct GuardrailConfig: Sendable, Hashable {
    /// The raise per event as a fraction of the pod's limit. In (0, 1]; default 0.3 (30 %).
    public var stepFraction: Double
    /// The raise is never smaller than this many millicores (so tiny limits can grow). Default 10.
    public var minimumStep: Int
    /// At most one raise per pod per interval. Default 250 ms.
    public var interval: Duration
    /// CPU kept out of the market, in millicores. Limits together never exceed capacity − reserve
    /// through a guardrail raise. Use the market's reserve. Default 0.
    public var reserve: Int

    /// Creates a configuration.
    /// - Parameters:
    ///   - stepFraction: Raise per event as a fraction of the limit, in (0, 1].
    ///   - minimumStep: Smallest raise in millicores, ≥ 1.
    ///   - interval: Minimum time between two raises of one pod.
    ///   - reserve: Node reserve in millicores, ≥ 0.
    public init(stepFraction: Double = 0.3, minimumStep: Int = 10,
                interval: Duration = .milliseconds(250), reserve: Int = 0) {
        self.stepFraction = stepFraction
        self.minimumStep = minimumStep
        self.interval = interval
        self.reserve = reserve
    }
}

/// The fast guardrail: on each throttle event, lift the pod's limit by a bounded step from free
/// headroom, within microseconds, without waiting for the next market round.
///
/// Built for the ring-buffer thread: ``onThrottle(_:now:)`` is O(1), allocates nothing, takes no
/// lock and never suspends. It is a value type the caller owns: fixed-capacity per-pod slots,
/// indexed by ``PodSlot``, allocated once at ``init(slotCount:capacity:config:)``, and a running
/// sum of all tracked limits so that the headroom, capacity − reserve − Σ limits, is known in O(1).
/// Keep exactly one copy (a `var` owned by the ring-buffer thread): copying it and then mutating
/// would copy the slot array (copy-on-write).
///
/// A raise is min(step, cap − limit, capacity − reserve − limit, headroom), where
/// step = max(minimumStep, stepFraction × limit); nothing happens (nil) when that is not positive,
/// when the pod raised less than ``GuardrailConfig/interval`` ago, when its slot is untracked, when
/// it is Guaranteed-QoS (unmanaged) or when its raises are blocked as ineffective. The guardrail
/// only spends free headroom and never takes CPU from another pod: the next market round settles
/// the node.
public struct Guardrail: Sendable {
    private struct Slot {
        var limit = 0
        var cap = 0
        var lastRaise: UInt64 = 0
        var hasRaised = false
        var tracked = false
        var managed = false
        var blocked = false
    }

    /// The configuration in force.
    public let config: GuardrailConfig
    private let intervalNanos: UInt64
    private var slots: [Slot]
    /// The node's allocatable CPU in millicores.
    public private(set) var capacity: Int
    /// Σ of the limits of all tracked pods, in millicores, kept up to date in O(1).
    public private(set) var totalLimits: Int = 0

    /// Creates a guardrail with `slotCount` empty slots.
    /// - Parameters:
    ///   - slotCount: How many pods the node can hold (slots 0 ..< slotCount).
    ///   - capacity: The node's allocatable CPU in millicores.
    ///   - config: Step, interval, reserve.
    /// - Throws: ``MarketError`` (`invalidConfiguration`) naming the field out of range.
    public init(slotCount: Int, capacity: Int, config: GuardrailConfig = GuardrailConfig()) throws(MarketError) {
        guard slotCount >= 0 else { throw .configuration("slotCount", "slotCount must not be negative") }
        guard capacity >= 0 else { throw .configuration("capacity", "capacity must not be negative") }
        guard config.stepFraction > 0, config.stepFraction <= 1 else {
            throw .configuration("stepFraction", "stepFraction must be in (0, 1], got \(config.stepFraction)")
        }
        guard config.minimumStep >= 1 else { throw .configuration("minimumStep", "minimumStep must be at least 1") }
        guard config.reserve >= 0, config.reserve <= capacity else {
            throw .configuration("reserve", "reserve must be in [0, capacity]")
        }
        self.config = config
        self.intervalNanos = try config.interval.nanoseconds(field: "interval")
        self.capacity = capacity
        self.slots = Array(repeating: Slot(), count: slotCount)
    }

    /// The node's allocatable CPU changed: headroom counts from the new amount from now on (a
    /// smaller node may leave it negative, over-committed, until rounds lower limits).
    /// - Throws: ``MarketError`` when the reserve would no longer fit; nothing changes then.
    public mutating func setCapacity(_ capacity: Int) throws(MarketError) {
        guard capacity >= config.reserve else { throw .configuration("capacity", "capacity must be at least the reserve (\(config.reserve)), got \(capacity)") }
        self.capacity = capacity
    }

    /// How many slots there are.
    public var slotCount: Int { slots.count }

    /// Free CPU: capacity − reserve − Σ limits (negative when limits are over-committed).
    @inlinable public var headroom: Int { capacity - config.reserve - totalLimits }

    /// The limit of `slot`, or nil if the slot is untracked or out of range.
    public func limit(of slot: PodSlot) -> Int? {
        guard slots.indices.contains(slot.rawValue), slots[slot.rawValue].tracked else { return nil }
        return slots[slot.rawValue].limit
    }

    /// Starts tracking a pod (or updates it if tracked).
    /// - Parameters:
    ///   - slot: The pod's slot.
    ///   - limit: Its current limit in millicores.
    ///   - cap: Its cap in millicores.
    ///   - qos: Its QoS class; Guaranteed pods are tracked (their limit counts) but never raised.
    /// - Throws: ``MarketError`` for a slot out of range or negative numbers.
    public mutating func track(_ slot: PodSlot, limit: Int, cap: Int, qos: QoSClass = .burstable) throws(MarketError) {
        let index = try checked(slot)
        guard limit >= 0, cap >= 0 else {
            throw MarketError(.negative, pod: slot.description, field: limit < 0 ? "limit" : "cap",
                              message: "limit and cap must not be negative")
        }
        if slots[index].tracked { totalLimits -= slots[index].limit }
        slots[index].limit = limit
        slots[index].cap = cap
        slots[index].tracked = true
        slots[index].managed = qos != .guaranteed
        totalLimits += limit
    }

    /// Stops tracking a pod (it left the node); its limit leaves the running sum.
    public mutating func untrack(_ slot: PodSlot) {
        guard slots.indices.contains(slot.rawValue), slots[slot.rawValue].tracked else { return }
        totalLimits -= slots[slot.rawValue].limit
        slots[slot.rawValue] = Slot()
    }

    /// Records a limit applied by someone else (a market decision) so the running sum stays right.
    /// O(1). Ignored for untracked slots.
    public mutating func setLimit(_ slot: PodSlot, to limit: Int) {
        guard slots.indices.contains(slot.rawValue), slots[slot.rawValue].tracked else { return }
        totalLimits += limit - slots[slot.rawValue].limit
        slots[slot.rawValue].limit = limit
    }

    /// Records an applied decision (``setLimit(_:to:)`` with its new limit).
    public mutating func apply(_ decision: Decision) {
        setLimit(decision.pod, to: decision.newLimit)
    }

    /// Blocks or unblocks raises of a pod (mirror ``SafetyRules/raisesBlocked(_:now:)``). O(1).
    public mutating func setRaisesBlocked(_ slot: PodSlot, _ blocked: Bool) {
        guard slots.indices.contains(slot.rawValue) else { return }
        slots[slot.rawValue].blocked = blocked
    }

    /// Handles one throttle event of `slot` at monotonic time `now` (nanoseconds).
    ///
    /// O(1), no allocation, no lock, no suspension. Updates the pod's limit and the running sum
    /// when it raises; the caller hands the returned decision to the actuator.
    /// - Returns: The raise (reason ``Reason/guardrail``, `limitedBy` set when the step was cut by
    ///   the cap or the headroom), or nil when nothing is to be done.
    @inlinable
    public mutating func onThrottle(_ slot: PodSlot, now: UInt64) -> Decision? {
        raise(slot.rawValue, now: now)
    }

    @usableFromInline
    mutating func raise(_ index: Int, now: UInt64) -> Decision? {
        guard index >= 0, index < slots.count else { return nil }
        let slot = slots[index]
        guard slot.tracked, slot.managed, !slot.blocked else { return nil }
        if slot.hasRaised, !now.hasElapsed(intervalNanos, since: slot.lastRaise) { return nil }
        let budget = capacity - config.reserve
        let ceiling = Swift.min(slot.cap, budget)
        let room = Swift.min(ceiling - slot.limit, budget - totalLimits)
        guard room > 0 else { return nil }
        let step = Swift.max(config.minimumStep, Int(Double(slot.limit) * config.stepFraction))
        let raise = Swift.min(step, room)
        let limitedBy: Constraint? = raise == step ? nil : (ceiling - slot.limit == raise ? .cap : .nodeReserve)
        // In-place element updates: no copy while the caller holds the only reference.
        slots[index].limit = slot.limit + raise
        slots[index].lastRaise = now
        slots[index].hasRaised = true
        totalLimits += raise
        return Decision(pod: PodSlot(index), oldLimit: slot.limit, newLimit: slot.limit + raise,
                        reason: .guardrail, limitedBy: limitedBy)
    }

    private func checked(_ slot: PodSlot) throws(MarketError) -> Int {
        guard slots.indices.contains(slot.rawValue) else {
            throw MarketError(.slotOutOfRange, pod: slot.description, field: "slot",
                              message: "slot \(slot.rawValue) is outside 0..<\(slots.count)")
        }
        return slot.rawValue
    }
}
