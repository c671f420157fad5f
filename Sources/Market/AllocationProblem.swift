/// One pod's place in a market round: what it bids and the bounds its allocation must respect.
///
/// All CPU quantities are millicores (1000 = one core). Pure value type: no I/O, no Foundation.
public struct MarketPod: Sendable, Hashable {
    /// The pod's name, used only to report results and errors.
    public var name: String
    /// The pod's bid wᵢ ≥ 0 (its budget in the Fisher market; usually ``DemandEstimate/bid``).
    /// A zero bid means the pod wants nothing beyond its floor.
    public var bid: Double
    /// The floor lᵢ ≥ 0: the least CPU the pod may get (its request). Floors are never starved
    /// unless the floors of all pods together exceed the budget (see ``Overcommit/floors``).
    public var floor: Double
    /// The cap uᵢ ≥ lᵢ: the most CPU the pod may get (its ceiling: declared maximum, node size).
    public var cap: Double
    /// The disagreement point dᵢ ≥ 0 of the Nash bargaining problem (0 gives plain proportional
    /// fairness, the Fisher market). It must not exceed the cap. A baseline above the floor acts as a
    /// floor: nobody is offered less than its disagreement point (see ``effectiveFloor``).
    public var baseline: Double

    /// Creates a pod entry.
    /// - Parameters:
    ///   - name: Name used in results and errors.
    ///   - bid: The bid wᵢ ≥ 0.
    ///   - floor: The floor lᵢ ≥ 0 in millicores.
    ///   - cap: The cap uᵢ ≥ lᵢ in millicores.
    ///   - baseline: The disagreement point dᵢ, 0 ≤ dᵢ ≤ uᵢ, in millicores (default 0).
    public init(name: String, bid: Double, floor: Double, cap: Double, baseline: Double = 0) {
        self.name = name
        self.bid = bid
        self.floor = floor
        self.cap = cap
        self.baseline = baseline
    }

    /// The effective lower bound mᵢ = max(lᵢ, dᵢ).
    ///
    /// The objective term wᵢ·log(xᵢ − dᵢ) is only defined for xᵢ > dᵢ, so a positive-bid pod can never
    /// sit below its baseline; the allocator treats the baseline as a second floor for every pod
    /// (individual rationality of the Nash bargaining solution). Floors are honoured before
    /// baselines when the two cannot both be met (see ``Overcommit``).
    @inlinable public var effectiveFloor: Double { Swift.max(floor, baseline) }
}

/// The allocation problem of one market round:
/// maximise Σ wᵢ·log(xᵢ − dᵢ) subject to Σ xᵢ ≤ capacity − reserve and max(lᵢ, dᵢ) ≤ xᵢ ≤ uᵢ.
public struct AllocationProblem: Sendable, Hashable {
    /// The node's allocatable CPU C in millicores.
    public var capacity: Double
    /// CPU kept back from the market (system daemons, the agent itself), in millicores; ≤ capacity.
    public var reserve: Double
    /// The pods taking part in the round. Results come back in this order.
    public var pods: [MarketPod]

    /// Creates a problem.
    /// - Parameters:
    ///   - capacity: The node's allocatable CPU in millicores.
    ///   - reserve: CPU kept out of the market, in millicores (default 0).
    ///   - pods: The pods taking part.
    public init(capacity: Double, reserve: Double = 0, pods: [MarketPod]) {
        self.capacity = capacity
        self.reserve = reserve
        self.pods = pods
    }

    /// The CPU the market divides: capacity − reserve.
    @inlinable public var budget: Double { capacity - reserve }

    /// The label used for pod `index` in errors: its name, or `pods[index]` when the name is empty.
    public func label(ofPod index: Int) -> String {
        let name = pods[index].name
        return name.isEmpty ? "pods[\(index)]" : name
    }

    /// Checks the numbers of the problem; the solvers call this on every round.
    ///
    /// Rejects (never propagates) NaN, infinite and negative values, a reserve above the capacity,
    /// a cap below its floor and a baseline above its cap. Each error names the pod and the field.
    /// O(n), no allocation on success.
    public func validate() throws(MarketError) {
        try MarketError.checkNonNegative(capacity, pod: nil, field: "capacity")
        try MarketError.checkNonNegative(reserve, pod: nil, field: "reserve")
        guard reserve <= capacity else {
            throw MarketError(.reserveExceedsCapacity, field: "reserve",
                              message: "reserve \(reserve) exceeds capacity \(capacity)")
        }
        for index in pods.indices {
            let pod = pods[index]
            // Fast path: all finite, non-negative and ordered.
            if pod.bid.isFinite, pod.floor.isFinite, pod.cap.isFinite, pod.baseline.isFinite,
               pod.bid >= 0, pod.floor >= 0, pod.baseline >= 0, pod.floor <= pod.cap, pod.baseline <= pod.cap {
                continue
            }
            let label = label(ofPod: index)
            try MarketError.checkNonNegative(pod.bid, pod: label, field: "bid")
            try MarketError.checkNonNegative(pod.floor, pod: label, field: "floor")
            try MarketError.checkNonNegative(pod.cap, pod: label, field: "cap")
            try MarketError.checkNonNegative(pod.baseline, pod: label, field: "baseline")
            if pod.cap < pod.floor {
                throw MarketError(.capBelowFloor, pod: label, field: "cap",
                                  message: "cap \(pod.cap) is below floor \(pod.floor)")
            }
            throw MarketError(.baselineAboveCap, pod: label, field: "baseline",
                              message: "baseline \(pod.baseline) is above cap \(pod.cap)")
        }
    }

    /// Checks that every pod has a non-empty name and that no two pods share one.
    ///
    /// Separate from ``validate()`` because names matter for reporting, not for the solver, and
    /// hashing every name each round would cost more than solving. The JSON decoder calls both.
    public func validateNames() throws(MarketError) {
        var seen: [String: Int] = [:]
        seen.reserveCapacity(pods.count)
        for (index, pod) in pods.enumerated() {
            guard !pod.name.isEmpty else {
                throw MarketError(.emptyName, pod: "pods[\(index)]", field: "name", message: "name must not be empty")
            }
            if let first = seen.updateValue(index, forKey: pod.name) {
                throw MarketError(.duplicateName, pod: pod.name, field: "name",
                                  message: "name is used by pods[\(first)] and pods[\(index)]")
            }
        }
    }
}
