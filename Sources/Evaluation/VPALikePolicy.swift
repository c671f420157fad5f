/// Settings of the VPA-like policy.
public struct VPALikeSettings: Sendable, Hashable {
    /// How often usage is sampled (each sample is the average over this interval: metrics-server's
    /// resolution). Default 10 s.
    public var sampleInterval: Int
    /// How far back samples count. Default 5 minutes (the real recommender keeps days, with decay).
    public var window: Int
    /// The percentile of the samples recommended. Default 0.9.
    public var percentile: Double
    /// The safety margin added to it. Default 0.15 (VPA's 15 %).
    public var margin: Double
    /// How often the recommendation is applied. Default 60 s.
    public var applyInterval: Int
    /// A change smaller than this fraction of the limit is not applied. Default 0.05.
    public var minimumChange: Double

    /// Creates settings; every parameter has the default documented on its property.
    public init(sampleInterval: Int = 10 * SimTime.second, window: Int = 300 * SimTime.second,
                percentile: Double = 0.9, margin: Double = 0.15, applyInterval: Int = 60 * SimTime.second,
                minimumChange: Double = 0.05) {
        self.sampleInterval = sampleInterval
        self.window = window
        self.percentile = percentile
        self.margin = margin
        self.applyInterval = applyInterval
        self.minimumChange = minimumChange
    }
}

/// The Vertical Pod Autoscaler's recipe applied to the limit: the 90th percentile of sampled usage
/// over a window, plus 15 %, applied every 60 s. Like the HPA-like policy it only sees usage, which
/// a throttled pod cannot push past its limit: it grows a starved pod by at most the margin per
/// application.
public struct VPALikePolicy: Policy {
    /// `vpa-like`.
    public let name = "vpa-like"
    /// The settings.
    public let settings: VPALikeSettings
    /// The next sample (an application falls on a sample).
    public private(set) var nextWake: Int? = 0
    private var nextApply: Int
    private let floors: [Int]
    private let caps: [Int]
    private var lastUsage: [Double]?
    private var lastSampleAt = 0
    private var samples: [[(time: Int, cpus: Double)]]

    /// Creates the policy for a scenario's pods.
    /// - Throws: ``EvaluationError/invalidSetting(_:)`` for settings out of range.
    public init(scenario: Scenario, settings: VPALikeSettings = VPALikeSettings()) throws(EvaluationError) {
        guard settings.sampleInterval > 0, settings.window > 0, settings.applyInterval > 0,
              settings.percentile > 0, settings.percentile <= 1, settings.margin >= 0, settings.minimumChange >= 0 else {
            throw .invalidSetting("VPA-like: intervals and window must be positive, percentile in (0, 1], margin and minimum change ≥ 0")
        }
        self.settings = settings
        nextApply = settings.applyInterval
        floors = scenario.pods.map(\.request)
        caps = scenario.pods.map(\.cap)
        samples = Array(repeating: [], count: scenario.pods.count)
    }

    /// Samples usage; applies the recommendation when an application is due.
    public mutating func wake(_ view: NodeView) throws(EvaluationError) -> [LimitChange] {
        let now = view.time
        let usage = view.pods.map(\.counters.usageNanos)
        if let lastUsage, now > lastSampleAt {
            for index in usage.indices {
                samples[index].append((now, (usage[index] - lastUsage[index]) / Double(now - lastSampleAt)))
                samples[index].removeAll { now - $0.time > settings.window }
            }
        }
        lastUsage = usage
        lastSampleAt = now
        var changes: [LimitChange] = []
        if now >= nextApply {
            while nextApply <= now { nextApply += settings.applyInterval }
            for (index, pod) in view.pods.enumerated() where !samples[index].isEmpty {
                let current = pod.limit ?? caps[index]
                let sorted = samples[index].map(\.cpus).sorted()
                let rank = Swift.max(0, Int((settings.percentile * Double(sorted.count)).rounded(.up)) - 1)
                let target = LimitRounding.millicores(sorted[rank] * (1 + settings.margin),
                                                      floor: floors[index], cap: caps[index])
                if target != current, Double(abs(target - current)) >= settings.minimumChange * Double(current) {
                    changes.append(LimitChange(pod: index, limit: target))
                }
            }
        }
        nextWake = Swift.min(now + settings.sampleInterval, nextApply)
        return changes
    }
}
