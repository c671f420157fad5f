#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Who yields first under contention. Raw values are the spellings of the configuration field
/// `class` and the `mbcas.io/class` annotation.
public enum LatencyClass: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    /// A server: its tasks sleep, wake on requests and run briefly. Its demand is served first.
    case latency = "latency"
    /// Always runnable: takes what the latency-sensitive pods leave, never below its floor.
    case batch = "batch"

    /// The raw value.
    public var description: String { rawValue }
}

/// Settings of the class learner.
public struct ClassLearnerConfig: Sendable, Hashable {
    /// A window counts as "asleep" when the pod's demand fell below this fraction of its recent peak.
    /// Default 0.1.
    public var sleepFraction: Double
    /// Peaks smaller than this (millicores) are not evidence of anything: an idle pod is no server.
    /// Default 50.
    public var minimumPeak: Double
    /// A window whose mean run slice (run ÷ switches) is shorter than this, while the pod ran at least
    /// `minimumPeak`, counts as "brief": a task that runs briefly and blocks. Default 0.5 ms.
    public var briefSliceNanos: Double
    /// How fast the latency score rises with evidence (half-life). Default 2 s: one idle gap between
    /// two bursts is enough.
    public var riseHalfLife: Duration
    /// How fast it falls without evidence (half-life). Default 30 s: a server stays a server through
    /// its bursts.
    public var fallHalfLife: Duration
    /// Half-life of the recent peak of demand. Default 30 s.
    public var peakHalfLife: Duration
    /// The peak is taken over demand smoothed with this half-life, so that one window's spike does not
    /// hold a weight for half a minute (the probe books run-queue wait at switch-in, so a window can
    /// carry wait that began before it). Default 300 ms.
    public var peakSmoothing: Duration
    /// Score at or above which the pod is latency-sensitive. Default 0.25.
    public var latencyAbove: Double
    /// Score at or below which it is batch again (hysteresis: between the two the class stays). Default 0.1.
    public var batchBelow: Double

    /// Creates a configuration; every parameter has the default documented on its property.
    public init(sleepFraction: Double = 0.1, minimumPeak: Double = 50, briefSliceNanos: Double = 500_000,
                riseHalfLife: Duration = .seconds(2), fallHalfLife: Duration = .seconds(30),
                peakHalfLife: Duration = .seconds(30), peakSmoothing: Duration = .milliseconds(300),
                latencyAbove: Double = 0.25, batchBelow: Double = 0.1) {
        self.sleepFraction = sleepFraction
        self.minimumPeak = minimumPeak
        self.briefSliceNanos = briefSliceNanos
        self.riseHalfLife = riseHalfLife
        self.fallHalfLife = fallHalfLife
        self.peakHalfLife = peakHalfLife
        self.peakSmoothing = peakSmoothing
        self.latencyAbove = latencyAbove
        self.batchBelow = batchBelow
    }
}

/// One window of a pod's scheduler accounting, as the probe counts it.
public struct SchedulerWindow: Sendable, Hashable {
    /// Time on CPU, summed over its tasks.
    public var runNanos: UInt64
    /// Runnable but not running (run-queue wait), summed over its tasks.
    public var waitNanos: UInt64
    /// Throttled by CFS bandwidth, summed over run queues.
    public var throttledNanos: UInt64
    /// Times one of its tasks was switched in.
    public var switches: UInt64
    /// The window's length (> 0).
    public var windowNanos: UInt64

    /// Creates a window.
    public init(runNanos: UInt64, waitNanos: UInt64, throttledNanos: UInt64, switches: UInt64, windowNanos: UInt64) {
        self.runNanos = runNanos
        self.waitNanos = waitNanos
        self.throttledNanos = throttledNanos
        self.switches = switches
        self.windowNanos = windowNanos
    }

    /// What the pod's tasks asked for, millicores: running, waiting or throttled, i.e. the CPU it
    /// would have used unconstrained. A hog with two threads demands 2000 whatever share it gets,
    /// so the estimate does not feed back on the allocation.
    public var demandMillicores: Double {
        guard windowNanos > 0 else { return 0 }
        return (Double(runNanos) + Double(waitNanos) + Double(throttledNanos)) / Double(windowNanos) * 1000
    }

    /// CPU used, millicores.
    public var usedMillicores: Double {
        windowNanos > 0 ? Double(runNanos) / Double(windowNanos) * 1000 : 0
    }

    /// Mean run slice (run ÷ switch-ins), nanoseconds; nil without switches.
    public var meanSliceNanos: Double? { switches > 0 ? Double(runNanos) / Double(switches) : nil }
}

/// Why the learner holds its class: the evidence, for `mbcas top`, `/metrics` and the decision log.
public struct ClassEvidence: Sendable, Hashable {
    /// The latency score in [0, 1]: a time-weighted average of windows that looked like a server's.
    public var score: Double
    /// The recent peak of demand, millicores.
    public var peakMillicores: Double
    /// The latest window's demand, millicores.
    public var demandMillicores: Double
    /// The latest window's mean run slice, nanoseconds (nil: no switch-in).
    public var meanSliceNanos: Double?
    /// Whether the latest window was a server's: asleep after a burst, or brief slices.
    public var serverLike: Bool

    /// `score 0.42, peak 1530m, slice 0.21 ms`.
    public var summary: String {
        let slice = meanSliceNanos.map { "\(Double(Int($0 / 1000)) / 1000) ms" } ?? "-"
        return "score \(Double(Int(score * 100)) / 100), peak \(Int(peakMillicores))m, slice \(slice)"
    }
}

/// Learns a pod's latency class from the scheduler, without a label.
///
/// A server's tasks sleep, wake on requests and run briefly; a batch job's tasks stay runnable.
/// Each window is server-like when the pod, having been busy (recent peak ≥ `minimumPeak`), is now
/// asleep (demand < `sleepFraction` × peak), or when its tasks run in brief slices (mean slice <
/// `briefSliceNanos`) and so block on their own. Slices alone cannot tell: a saturated server is
/// preempted like a hog (both ~2–3 ms slices seen here under contention), but it goes quiet when
/// its requests stop, and a hog never does.
///
/// The score is a time-weighted average of that evidence that rises fast (one idle gap makes a
/// server) and falls slowly (a long burst does not unmake it); the class changes only when the
/// score leaves the hysteresis band [`batchBelow`, `latencyAbove`]. A new pod starts as batch.
/// Value type, no clock: windows carry their length.
public struct ClassLearner: Sendable {
    /// The configuration in force.
    public let config: ClassLearnerConfig
    private let riseNanos: Double
    private let fallNanos: Double
    private let peakNanos: Double
    private let smoothingNanos: Double
    private var smoothedDemand = 0.0
    /// The class now.
    public private(set) var learned: LatencyClass = .batch
    /// The evidence behind it.
    public private(set) var evidence = ClassEvidence(score: 0, peakMillicores: 0, demandMillicores: 0,
                                                     meanSliceNanos: nil, serverLike: false)

    /// Creates a learner.
    /// - Throws: ``MarketError`` naming a bad field.
    public init(config: ClassLearnerConfig = ClassLearnerConfig()) throws(MarketError) {
        guard config.latencyAbove > config.batchBelow, config.batchBelow >= 0, config.latencyAbove <= 1 else {
            throw .configuration("latencyAbove", "need 0 ≤ batchBelow < latencyAbove ≤ 1")
        }
        guard config.sleepFraction > 0, config.sleepFraction < 1 else {
            throw .configuration("sleepFraction", "sleepFraction must be in (0, 1)")
        }
        self.config = config
        riseNanos = Double(try config.riseHalfLife.nanoseconds(field: "riseHalfLife"))
        fallNanos = Double(try config.fallHalfLife.nanoseconds(field: "fallHalfLife"))
        peakNanos = Double(try config.peakHalfLife.nanoseconds(field: "peakHalfLife"))
        smoothingNanos = Double(try config.peakSmoothing.nanoseconds(field: "peakSmoothing"))
        guard riseNanos > 0, fallNanos > 0, peakNanos > 0, smoothingNanos > 0 else {
            throw .configuration("riseHalfLife", "half-lives must be positive")
        }
    }

    /// Takes one window in; returns the class after it.
    @discardableResult
    public mutating func observe(_ window: SchedulerWindow) -> LatencyClass {
        guard window.windowNanos > 0 else { return learned }
        let length = Double(window.windowNanos)
        let demand = window.demandMillicores
        smoothedDemand += (1 - decay(length, halfLife: smoothingNanos)) * (demand - smoothedDemand)
        let peak = Swift.max(smoothedDemand, evidence.peakMillicores * decay(length, halfLife: peakNanos))
        let busyBefore = peak >= config.minimumPeak
        let asleep = busyBefore && demand < config.sleepFraction * peak
        let slice = window.meanSliceNanos
        let brief = window.usedMillicores >= config.minimumPeak && (slice ?? .infinity) < config.briefSliceNanos
        let serverLike = asleep || brief
        var score = evidence.score
        if serverLike {
            score = 1 - (1 - score) * decay(length, halfLife: riseNanos)
        } else if busyBefore {
            // Only a busy pod is evidence against: an idle pod that never ran says nothing.
            score *= decay(length, halfLife: fallNanos)
        }
        evidence = ClassEvidence(score: score, peakMillicores: peak, demandMillicores: demand,
                                 meanSliceNanos: slice, serverLike: serverLike)
        if score >= config.latencyAbove {
            learned = .latency
        } else if score <= config.batchBelow {
            learned = .batch
        }
        return learned
    }

    private func decay(_ length: Double, halfLife: Double) -> Double {
        exp2(-length / halfLife)
    }
}
