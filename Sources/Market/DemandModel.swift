#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One accounting window of one pod, as the kernel reports it.
public struct DemandSample: Sendable, Hashable {
    /// Nanoseconds the pod's cgroup spent throttled by its CPU limit in the window.
    public var throttledNanos: UInt64
    /// Nanoseconds the pod's threads waited on a run queue in the window (summed over threads).
    public var waitNanos: UInt64
    /// Nanoseconds of CPU the pod used in the window (summed over CPUs).
    public var runNanos: UInt64
    /// The pod's CPU limit during the window, in millicores (> 0).
    public var limitMillicores: Double
    /// The window's length in nanoseconds (> 0).
    public var windowNanos: UInt64

    /// Creates a sample.
    /// - Parameters:
    ///   - throttledNanos: Throttled time in the window.
    ///   - waitNanos: Run-queue wait in the window.
    ///   - runNanos: CPU time used in the window.
    ///   - limitMillicores: The limit in force, in millicores.
    ///   - windowNanos: The window's length.
    public init(throttledNanos: UInt64, waitNanos: UInt64, runNanos: UInt64,
                limitMillicores: Double, windowNanos: UInt64) {
        self.throttledNanos = throttledNanos
        self.waitNanos = waitNanos
        self.runNanos = runNanos
        self.limitMillicores = limitMillicores
        self.windowNanos = windowNanos
    }

    /// Stall ratio of this window alone: the share of the CPU time the pod
    /// asked for that its limit denied, throttled / (run + throttled), in [0, 1].
    ///
    /// Run-queue wait is not part of it: wait is contention for the CPUs
    /// themselves, which a larger limit cannot cure, so it must neither raise
    /// the pod's bid nor make a raise look ineffective. (An earlier version
    /// counted (throttled + wait) / window; the simulator showed it inflating
    /// every busy pod's need to its cap: wait is summed over threads.)
    public var stallRatio: Double {
        let asked = Double(runNanos) + Double(throttledNanos)
        return asked > 0 ? Double(throttledNanos) / asked : 0
    }

    /// CPU the limit denied in this window, in millicores: throttled / window · 1000.
    /// Throttled time is summed over the CPUs' run queues, so a pod throttled on
    /// two CPUs at once is denied two CPUs' worth.
    public var deniedMillicores: Double { Double(throttledNanos) / Double(windowNanos) * 1000 }

    /// Usage ratio of this window alone: min(1, run / (limit/1000 · window)).
    public var usageRatio: Double {
        Swift.min(1, Double(runNanos) / (limitMillicores / 1000 * Double(windowNanos)))
    }

    /// CPU used in this window, in millicores: run / window · 1000.
    public var usedMillicores: Double { Double(runNanos) / Double(windowNanos) * 1000 }
}

/// Settings of the demand model.
public struct DemandConfig: Sendable, Hashable {
    /// Half-life of the exponential moving average: after one half-life a step in the input has
    /// moved the smoothed value half-way. Default 3 s.
    public var halfLife: Duration
    /// Hysteresis deadband on the published demand, relative: it only moves when the smoothed demand
    /// D differs from the published P by more than deadband × max(P, 0.05). In [0, 1). Default 0.05.
    public var deadband: Double
    /// Whether a median of the last three windows filters the raw ratios before the average, so
    /// that one outlier window, however large, changes nothing. Costs one window of delay. Default true.
    public var rejectsOutliers: Bool

    /// Creates a configuration.
    /// - Parameters:
    ///   - halfLife: EMA half-life (> 0).
    ///   - deadband: Hysteresis deadband in [0, 1).
    ///   - rejectsOutliers: Median-of-three prefilter on or off.
    public init(halfLife: Duration = .seconds(3), deadband: Double = 0.05,
                rejectsOutliers: Bool = true) {
        self.halfLife = halfLife
        self.deadband = deadband
        self.rejectsOutliers = rejectsOutliers
    }
}

/// The demand model's view of a pod after a window.
public struct DemandEstimate: Sendable, Hashable {
    /// Smoothed stall ratio in [0, 1].
    public var stall: Double
    /// Smoothed usage ratio in [0, 1].
    public var usage: Double
    /// Smoothed CPU use in millicores.
    public var usedMillicores: Double
    /// Estimated need in millicores from the smoothed signals: use + denied, at most the cap.
    public var needMillicores: Double
    /// The published demand in [0, 1]: need as a fraction of the cap, moved only beyond the deadband.
    public var demand: Double
    /// The bid for the market: weight × demand × cap (see ``DemandModel``).
    public var bid: Double
    /// Whether the published demand moved in this window.
    public var demandChanged: Bool
    /// Stall ratio of the latest window alone (unsmoothed), for the ineffective-scaling check.
    public var windowStall: Double
    /// CPU use of the latest window alone (unsmoothed), in millicores.
    public var windowUsedMillicores: Double
}

/// Turns a pod's per-window kernel accounting into a normalised demand and a bid. One per pod;
/// a value type the caller owns. No clock reads: the window length comes with each sample.
///
/// For each window:
/// 1. raw signals: stall s = throttled / (run + throttled), usage u = min(1, run / (limit·window))
///    with the limit in cores, use r = run / window · 1000 and denied d = throttled / window · 1000
///    in millicores (run-queue wait is left out: a limit cannot cure it, see ``DemandSample/stallRatio``);
/// 2. outlier filter (``DemandConfig/rejectsOutliers``): each of s, u, r, d is replaced by the median
///    of its last three windows (the older value while only two exist), so one noisy window,
///    however far off, changes nothing;
/// 3. smoothing: an EMA with α = 1 − 2^(−window / halfLife), so windows of any length weigh by
///    time; the first window initialises it;
/// 4. need: n = r̄ + d̄ millicores, what it ran plus what its limit denied it. A single thread
///    throttled 80 % of the time under a 200 m limit uses 200 m, is denied 800 m and needs 1000 m;
///    a pod that is not throttled needs what it uses;
/// 5. demand: D = min(1, n / cap) in [0, 1], the share of its ceiling the pod would use if free;
/// 6. hysteresis: the published demand P moves to D only when |D − P| > deadband × max(P, 0.05);
/// 7. bid: w = weight × P × cap, i.e. the weighted need in millicores. A pod that uses its whole
///    limit and stalls bids more than one that only uses it (its need exceeds its limit); an idle
///    pod bids about nothing.
///
/// Why the need and not the current limit: a bid proportional to the limit feeds back (a starved
/// pod's bid shrinks with its limit and it cannot bid its way back). A bid that estimates need
/// does not depend on the limit the market set, so shares settle in proportion to weighted need.
public struct DemandModel: Sendable {
    /// The configuration in force.
    public let config: DemandConfig
    private let halfLifeNanos: Double
    private var history: (Raw, Raw) = (Raw(), Raw()) // the two windows before the latest
    private var windows = 0
    private var smoothed = Raw()
    private var published = 0.0
    /// The latest estimate, nil before the first window.
    public private(set) var estimate: DemandEstimate?

    /// The raw signals of one window.
    private struct Raw {
        var stall = 0.0
        var usage = 0.0
        var used = 0.0
        var denied = 0.0
    }

    /// Creates a model.
    /// - Parameter config: Half-life, deadband, outlier filter.
    /// - Throws: ``MarketError`` with code `invalidConfiguration` naming the field.
    public init(config: DemandConfig = DemandConfig()) throws(MarketError) {
        let ns = try config.halfLife.nanoseconds(field: "halfLife")
        guard ns > 0 else { throw .configuration("halfLife", "halfLife must be positive") }
        guard config.deadband >= 0, config.deadband < 1 else {
            throw .configuration("deadband", "deadband must be in [0, 1), got \(config.deadband)")
        }
        self.config = config
        self.halfLifeNanos = Double(ns)
    }

    /// Feeds one window and returns the updated estimate.
    /// - Parameters:
    ///   - sample: The window's accounting.
    ///   - cap: The pod's cap (ceiling) in millicores, > 0: the demand is need / cap.
    ///   - weight: The pod's weight (≥ 0, finite), e.g. from an annotation. Default 1.
    /// - Returns: The estimate after this window.
    /// - Throws: ``MarketError`` for a zero window, a non-positive or non-finite limit or cap, or a
    ///   bad weight; the model's state is unchanged then.
    public mutating func observe(_ sample: DemandSample, cap: Double, weight: Double = 1) throws(MarketError) -> DemandEstimate {
        try MarketError.checkPositive(sample.limitMillicores, pod: nil, field: "limitMillicores")
        try MarketError.checkPositive(cap, pod: nil, field: "cap")
        try MarketError.checkPositive(Double(sample.windowNanos), pod: nil, field: "windowNanos")
        try MarketError.checkNonNegative(weight, pod: nil, field: "weight")

        let raw = Raw(stall: sample.stallRatio, usage: sample.usageRatio, used: sample.usedMillicores,
                      denied: sample.deniedMillicores)
        let filtered: Raw
        if config.rejectsOutliers {
            switch windows {
            case 0: filtered = raw
            case 1: filtered = history.1
            default:
                filtered = Raw(stall: Self.median(history.0.stall, history.1.stall, raw.stall),
                               usage: Self.median(history.0.usage, history.1.usage, raw.usage),
                               used: Self.median(history.0.used, history.1.used, raw.used),
                               denied: Self.median(history.0.denied, history.1.denied, raw.denied))
            }
        } else {
            filtered = raw
        }
        history = (history.1, raw)

        if windows == 0 {
            smoothed = filtered
        } else {
            let alpha = 1 - exp2(-Double(sample.windowNanos) / halfLifeNanos)
            smoothed.stall += alpha * (filtered.stall - smoothed.stall)
            smoothed.usage += alpha * (filtered.usage - smoothed.usage)
            smoothed.used += alpha * (filtered.used - smoothed.used)
            smoothed.denied += alpha * (filtered.denied - smoothed.denied)
        }
        windows += 1

        let need = Swift.min(cap, smoothed.used + smoothed.denied)
        let demand = Swift.min(1, Swift.max(0, need / cap))
        let changed = windows == 1 || abs(demand - published) > config.deadband * Swift.max(published, 0.05)
        if changed { published = demand }

        let result = DemandEstimate(
            stall: smoothed.stall, usage: smoothed.usage, usedMillicores: smoothed.used, needMillicores: need,
            demand: published, bid: weight * published * cap,
            demandChanged: changed, windowStall: raw.stall, windowUsedMillicores: raw.used)
        estimate = result
        return result
    }

    private static func median(_ a: Double, _ b: Double, _ c: Double) -> Double {
        Swift.max(Swift.min(a, b), Swift.min(Swift.max(a, b), c))
    }
}
