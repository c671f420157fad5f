/// Each pod's offered CPU load over time: the work that arrives per second, in CPUs, piecewise
/// constant over steps of ``resolution``. Work that cannot run at once is not lost: the node model
/// queues it (see ``CFSNode``).
public struct DemandTrace: Sendable, Hashable {
    /// The pods' names, in slot order.
    public let pods: [String]
    /// The length of one step, nanoseconds (> 0).
    public let resolution: Int
    /// Offered load per pod per step, CPUs (finite, ≥ 0); every pod has the same number of steps.
    public let cpus: [[Double]]

    /// Creates a trace.
    /// - Throws: ``EvaluationError/invalidTrace(_:)`` for no pods, a non-positive resolution, pods
    ///   with different numbers of steps, no steps, or a negative or non-finite value.
    public init(pods: [String], resolution: Int, cpus: [[Double]]) throws(EvaluationError) {
        guard !pods.isEmpty else { throw .invalidTrace("no pods") }
        guard pods.count == cpus.count else {
            throw .invalidTrace("\(pods.count) pod names for \(cpus.count) series")
        }
        guard resolution > 0 else { throw .invalidTrace("resolution must be positive, got \(resolution) ns") }
        let steps = cpus[0].count
        guard steps > 0 else { throw .invalidTrace("no steps") }
        for (name, series) in zip(pods, cpus) {
            guard series.count == steps else {
                throw .invalidTrace("pod \(name) has \(series.count) steps, the first pod \(steps)")
            }
            if let bad = series.first(where: { !$0.isFinite || $0 < 0 }) {
                throw .invalidTrace("pod \(name): demand must be a finite number ≥ 0, got \(bad)")
            }
        }
        self.pods = pods
        self.resolution = resolution
        self.cpus = cpus
    }

    /// The number of steps.
    public var steps: Int { cpus[0].count }

    /// The trace's length, nanoseconds.
    public var duration: Int { steps * resolution }

    /// The step holding time `t` (the last step from the end of the trace on).
    @inlinable public func step(at t: Int) -> Int {
        Swift.min(steps - 1, Swift.max(0, t / resolution))
    }

    /// When the step holding `t` ends (`Int.max` for the last step: its value holds on).
    @inlinable public func stepEnd(at t: Int) -> Int {
        let index = t / resolution
        return index >= steps - 1 ? Int.max : (index + 1) * resolution
    }

    /// Pod `pod`'s offered load at time `t`, CPUs.
    @inlinable public func demand(pod: Int, at t: Int) -> Double {
        cpus[pod][step(at: t)]
    }
}
