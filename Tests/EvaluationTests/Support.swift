@testable import Evaluation

/// A trace of constant loads (CPUs), one per pod, for `seconds`, in 100 ms steps.
func constantTrace(_ loads: [Double], seconds: Int, resolution: Int = 100 * SimTime.millisecond) throws -> DemandTrace {
    let steps = seconds * SimTime.second / resolution
    return try DemandTrace(pods: loads.indices.map { "p\($0)" }, resolution: resolution,
                           cpus: loads.map { Array(repeating: $0, count: steps) })
}

/// A node of `capacity` millicores running `trace`, pods given as (threads, limit), weight 1.
func node(_ trace: DemandTrace, capacity: Int = 4000, pods: [(threads: Double, limit: Int?)],
          weights: [Double]? = nil) throws -> CFSNode {
    try CFSNode(capacity: capacity,
                pods: pods.enumerated().map { CFSPodConfig(weight: weights?[$0.offset] ?? 1, threads: $0.element.threads,
                                                           limit: $0.element.limit) },
                trace: trace)
}

/// A scenario over `trace` with equal pods (250 m request, 4-CPU cap, 4 threads).
func scenario(_ trace: DemandTrace, capacity: Int = 4000, reserve: Int = 100, initialLimit: Int = 1000,
              threads: Double = 4, probe: ReactionProbe? = nil) throws -> Scenario {
    try Scenario(name: "test", capacity: capacity, reserve: reserve,
                 pods: trace.pods.map { PodSpec(name: $0, cap: capacity, initialLimit: initialLimit, threads: threads) },
                 trace: trace, duration: trace.duration, probe: probe)
}

/// Pod 0 steps from `before` to `after` CPUs at `at` seconds; the others hold `others`; no noise.
func stepTrace(before: Double = 0.3, after: Double = 2.0, at: Int, seconds: Int, others: [Double] = [0.3, 0.3, 0.3]) throws -> DemandTrace {
    let resolution = 100 * SimTime.millisecond
    let steps = seconds * 10
    let first = (0..<steps).map { $0 < at * 10 ? before : after }
    return try DemandTrace(pods: (0...others.count).map { "p\($0)" }, resolution: resolution,
                           cpus: [first] + others.map { Array(repeating: $0, count: steps) })
}

/// Sets the given limits at the given times (nanoseconds), in order.
struct ScriptedPolicy: Policy {
    let name = "scripted"
    var script: [(time: Int, change: LimitChange)]
    var nextWake: Int? { script.first?.time }

    mutating func wake(_ view: NodeView) throws(EvaluationError) -> [LimitChange] {
        var changes: [LimitChange] = []
        while let first = script.first, first.time <= view.time {
            changes.append(first.change)
            script.removeFirst()
        }
        return changes
    }
}

/// Wraps a policy and records every change it orders with the time, and the largest sum of limits
/// that any of its orders produced.
struct RecordingPolicy<Inner: Policy>: Policy {
    var inner: Inner
    var changes: [(time: Int, change: LimitChange)] = []
    var largestTotal = 0

    init(_ inner: Inner) { self.inner = inner }

    var name: String { inner.name }
    var pushLatency: Int? { inner.pushLatency }
    var nextWake: Int? { inner.nextWake }
    var diagnostics: [String: Int] { inner.diagnostics }

    mutating func wake(_ view: NodeView) throws(EvaluationError) -> [LimitChange] {
        record(try inner.wake(view), view)
    }

    mutating func push(_ signal: NodeSignal, view: NodeView) throws(EvaluationError) -> [LimitChange] {
        record(try inner.push(signal, view: view), view)
    }

    private mutating func record(_ ordered: [LimitChange], _ view: NodeView) -> [LimitChange] {
        var limits = view.pods.map { $0.limit ?? 0 }
        for change in ordered {
            changes.append((view.time, change))
            limits[change.pod] = change.limit
        }
        if !ordered.isEmpty { largestTotal = max(largestTotal, limits.reduce(0, +)) }
        return ordered
    }
}

/// Runs a policy wrapped in a recorder; returns the result and the record.
func runRecording<P: Policy>(_ scenario: Scenario, _ policy: P,
                             options: SimulationOptions = SimulationOptions(recordsSeries: false)) throws -> (RunResult, RecordingPolicy<P>) {
    var recorder = RecordingPolicy(policy)
    let result = try Simulator.run(scenario, policy: &recorder, options: options)
    return (result, recorder)
}
