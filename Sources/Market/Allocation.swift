/// Which guarantees could not all be met in a round.
public enum Overcommit: String, Sendable, Hashable, CaseIterable {
    /// Floors and baselines fit; the market ran.
    case none = "none"
    /// The floors fit but floors and baselines together do not: every pod gets its floor plus the
    /// same fraction θ of (effective floor − floor), with θ chosen to use the whole budget.
    case baselines = "baselines"
    /// The floors alone exceed the budget: every floor is scaled down by budget / Σ floors.
    case floors = "floors"
}

/// The outcome of one market round.
public struct Allocation: Sendable, Hashable {
    /// CPU per pod in millicores, in the problem's pod order.
    public var millicores: [Double]
    /// The shadow price λ of CPU on the node, in bid units per millicore.
    ///
    /// 0 when CPU is not scarce (every pod with a positive bid is at its cap); `+infinity` when no
    /// finite price clears the market (over-committed rounds, or floors and baselines that use the
    /// whole budget). When several prices clear the market, the smallest is reported: the value of
    /// one more millicore.
    public var shadowPrice: Double
    /// Which guarantees were over-committed, if any.
    public var overcommit: Overcommit

    /// Creates an allocation.
    /// - Parameters:
    ///   - millicores: CPU per pod, in problem order.
    ///   - shadowPrice: The price λ.
    ///   - overcommit: Which guarantees were over-committed.
    public init(millicores: [Double], shadowPrice: Double, overcommit: Overcommit) {
        self.millicores = millicores
        self.shadowPrice = shadowPrice
        self.overcommit = overcommit
    }

    /// True when the floors (or floors and baselines) did not fit in the budget.
    @inlinable public var overcommitted: Bool { overcommit != .none }

    /// True when CPU is scarce: the price is positive.
    @inlinable public var isScarce: Bool { shadowPrice > 0 }

    /// Σ xᵢ in millicores.
    public var total: Double { millicores.reduce(0, +) }
}
