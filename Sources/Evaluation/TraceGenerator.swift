#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Market

/// A generated trace and the moment (if any) a pod's demand first jumps beyond its limit, from
/// which the reaction time is measured.
public struct GeneratedTrace: Sendable, Hashable {
    /// The trace.
    public var trace: DemandTrace
    /// The jump the reaction time is measured from (step and spike traces), or nil.
    public var probe: ReactionProbe?
    /// Each pod's declared class (nil: none; only the web-batch trace declares them).
    public var classes: [LatencyClass?]
}

/// Makes the ``TraceKind`` traces from a seed: same kind, pod count, duration and seed, same trace.
/// Draws come from Market's ``SplitMix64``, pod after pod, step after step.
public enum TraceGenerator {
    /// Steady levels of the pods that are not stepping or spiking, CPUs (cycled for more pods).
    static let steadyLevels = [0.6, 0.5, 0.4, 0.3]

    /// Generates a trace.
    /// - Parameters:
    ///   - kind: Which trace.
    ///   - pods: How many pods (≥ 1); they are named `pod-0`, `pod-1`, ….
    ///   - duration: Length in nanoseconds (rounded up to whole steps, ≥ one step).
    ///   - seed: The seed.
    /// - Throws: ``EvaluationError/invalidSetting(_:)`` for no pods or a non-positive duration.
    public static func generate(_ kind: TraceKind, pods: Int, duration: Int, seed: UInt64) throws(EvaluationError) -> GeneratedTrace {
        guard pods >= 1 else { throw .invalidSetting("pods must be at least 1, got \(pods)") }
        guard duration > 0 else { throw .invalidSetting("duration must be positive") }
        let resolution = kind.resolution
        let steps = (duration + resolution - 1) / resolution
        var random = SplitMix64(seed: seed ^ salt(kind))
        var cpus: [[Double]] = []
        var classes: [LatencyClass?] = []
        var probe: ReactionProbe?
        let stepSeconds = SimTime.seconds(resolution)
        for pod in 0..<pods {
            var series = [Double](repeating: 0, count: steps)
            let steady = steadyLevels[(pod + steadyLevels.count - 1) % steadyLevels.count]
            switch kind {
            case .step:
                let at = steps / 5
                for step in 0..<steps { series[step] = pod == 0 ? (step < at ? 0.4 : 2.0) : steady }
                if pod == 0 { probe = ReactionProbe(pod: 0, time: at * resolution) }
            case .spike:
                let spiking = pods > 1 ? 1 : 0
                let length = Int((15.0 / stepSeconds).rounded())
                let starts = [0.25, 0.55, 0.8].map { Int(Double(steps) * $0) }
                for step in 0..<steps {
                    let inSpike = starts.contains { step >= $0 && step < $0 + length }
                    series[step] = pod == spiking ? (inSpike ? 2.5 : 0.5) : steady
                }
                if pod == spiking { probe = ReactionProbe(pod: spiking, time: starts[0] * resolution) }
            case .seasonal:
                let period = 90.0 + 30.0 * Double(pod)
                let phase = 2 * Double.pi * Double(pod) / Double(pods)
                for step in 0..<steps {
                    let t = Double(step) * stepSeconds
                    series[step] = 0.75 + 0.5 * sin(2 * Double.pi * t / period + phase)
                }
            case .bursty:
                for step in 0..<steps { series[step] = 0.3 }
                var t = exponential(&random, mean: 2.5)
                while true {
                    let start = Int(t / stepSeconds)
                    guard start < steps else { break }
                    let length = 2 + Int(random.unit() * 39) // 2…40 steps: 20…400 ms
                    let level = 1.5 + 1.5 * random.unit()
                    for step in start..<Swift.min(steps, start + length) { series[step] = Swift.max(series[step], level) }
                    t += Double(length) * stepSeconds + exponential(&random, mean: 2.5)
                }
            case .webBatch:
                let cycle = Int((4.0 / stepSeconds).rounded())
                for step in 0..<steps {
                    series[step] = pod == 0 ? (step % cycle < cycle / 2 ? 2.0 : 0.05) : 0.8
                }
                classes.append(pod == 0 ? .latency : .batch)
            }
            for step in 0..<steps { series[step] = Swift.max(0, series[step] * (1 + 0.1 * random.symmetric())) }
            cpus.append(series)
        }
        let names = (0..<pods).map { "pod-\($0)" }
        if classes.count != pods { classes = Array(repeating: nil, count: pods) }
        return GeneratedTrace(trace: try DemandTrace(pods: names, resolution: resolution, cpus: cpus), probe: probe,
                              classes: classes)
    }

    /// An exponential draw with the given mean (seconds).
    private static func exponential(_ random: inout SplitMix64, mean: Double) -> Double {
        -mean * log(1 - random.unit())
    }

    /// Separates the kinds' random streams for one seed.
    private static func salt(_ kind: TraceKind) -> UInt64 {
        switch kind {
        case .step: 0x5354_4550
        case .spike: 0x5350_494B
        case .seasonal: 0x5345_4153
        case .bursty: 0x4255_5253
        case .webBatch: 0x5745_4242
        }
    }
}
