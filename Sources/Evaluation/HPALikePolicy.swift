/// Settings of the HPA-like policy (the Horizontal Pod Autoscaler's rules applied to a limit).
public struct HPALikeSettings: Sendable, Hashable {
    /// How often it acts (HPA's `--horizontal-pod-autoscaler-sync-period`). Default 15 s.
    public var syncPeriod: Int
    /// The usage / limit it aims for. Default 0.7.
    public var targetUtilization: Double
    /// No change while |utilization / target − 1| is within this (HPA's tolerance). Default 0.1.
    public var tolerance: Double
    /// A cut applies the highest recommendation of this long (HPA's scale-down stabilisation
    /// window); raises apply at once. Default 300 s.
    public var downscaleStabilization: Int

    /// Creates settings; every parameter has the default documented on its property.
    public init(syncPeriod: Int = 15 * SimTime.second, targetUtilization: Double = 0.7, tolerance: Double = 0.1,
                downscaleStabilization: Int = 300 * SimTime.second) {
        self.syncPeriod = syncPeriod
        self.targetUtilization = targetUtilization
        self.tolerance = tolerance
        self.downscaleStabilization = downscaleStabilization
    }
}

/// The vertical equivalent of the HPA: every sync period, set each limit to average usage /
/// target utilisation, when utilisation is off target by more than the tolerance.
///
/// It sees metrics as the HPA does, late: the usage it acts on is the average over the sync period
/// that ended at its previous sync, read from the counters it sampled then (metrics-server's
/// scrape), so at time t it knows the usage of [t − 30 s, t − 15 s]. Usage is what the pod ran,
/// never more than its limit: a throttled pod shows at most 100 % utilisation, so a limit can grow
/// by at most 1 / target (×1.43) per sync.
public struct HPALikePolicy: Policy {
    /// `hpa-like`.
    public let name = "hpa-like"
    /// The settings.
    public let settings: HPALikeSettings
    /// The next sync.
    public private(set) var nextWake: Int? = 0
    private let floors: [Int]
    private let caps: [Int]
    private var previous: [Double]?  // usage counters at the previous sync
    private var older: [Double]?     // … and at the one before
    private var history: [(time: Int, limits: [Int])] = []

    /// Creates the policy for a scenario's pods.
    /// - Throws: ``EvaluationError/invalidSetting(_:)`` for settings out of range.
    public init(scenario: Scenario, settings: HPALikeSettings = HPALikeSettings()) throws(EvaluationError) {
        guard settings.syncPeriod > 0, settings.targetUtilization > 0, settings.tolerance >= 0,
              settings.downscaleStabilization >= 0 else {
            throw .invalidSetting("HPA-like: sync period and target must be positive, tolerance and window ≥ 0")
        }
        self.settings = settings
        floors = scenario.pods.map(\.request)
        caps = scenario.pods.map(\.cap)
    }

    /// One sync.
    public mutating func wake(_ view: NodeView) throws(EvaluationError) -> [LimitChange] {
        let now = view.time
        nextWake = now + settings.syncPeriod
        let usage = view.pods.map(\.counters.usageNanos)
        defer {
            older = previous
            previous = usage
        }
        guard let older, let previous else { return [] }
        var recommended: [Int] = []
        for (index, pod) in view.pods.enumerated() {
            let current = pod.limit ?? caps[index]
            let used = (previous[index] - older[index]) / Double(settings.syncPeriod) // CPUs
            let ratio = used / (Double(current) / 1000) / settings.targetUtilization
            recommended.append(abs(ratio - 1) <= settings.tolerance
                ? current
                : LimitRounding.millicores(used / settings.targetUtilization, floor: floors[index], cap: caps[index]))
        }
        history.append((now, recommended))
        history.removeAll { now - $0.time > settings.downscaleStabilization }
        var changes: [LimitChange] = []
        for (index, pod) in view.pods.enumerated() {
            let current = pod.limit ?? caps[index]
            var target = recommended[index]
            if target < current {
                target = history.map { $0.limits[index] }.max() ?? target
                target = Swift.min(target, current)
            }
            if target != current { changes.append(LimitChange(pod: index, limit: target)) }
        }
        return changes
    }
}
