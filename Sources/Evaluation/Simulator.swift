import Market

/// Settings of a run that are not the scenario's nor the policy's.
public struct SimulationOptions: Sendable, Hashable {
    /// The latency SLO: a pod violates it in a second whose work waited longer than this in its
    /// queue (``QueueDelay``), nanoseconds. Default 100 ms.
    public var slo: Int
    /// The CFS period, nanoseconds. Default 100 ms.
    public var period: Int
    /// Whether to keep the per-second time series. Default true.
    public var recordsSeries: Bool

    /// Creates options; every parameter has the default documented on its property.
    public init(slo: Int = 100 * SimTime.millisecond, period: Int = CFSNode.defaultPeriod, recordsSeries: Bool = true) {
        self.slo = slo
        self.period = period
        self.recordsSeries = recordsSeries
    }
}

/// One policy's run on one scenario.
public struct RunResult: Sendable, Hashable {
    /// The metrics.
    public var metrics: PolicyMetrics
    /// The per-second, per-pod series (empty unless recorded).
    public var series: [SecondSample]
    /// The policy's ``Policy/diagnostics`` at the end of the run.
    public var diagnostics: [String: Int]

    /// Creates a result.
    public init(metrics: PolicyMetrics, series: [SecondSample], diagnostics: [String: Int] = [:]) {
        self.metrics = metrics
        self.series = series
        self.diagnostics = diagnostics
    }
}

/// Replays a scenario through the CFS model under one policy.
///
/// The loop: find the next moment something outside the node happens (the policy's wake-up, a
/// push reaching the policy, the end), let the node run up to it event by event, queue the signals
/// the node pushed (delivered `pushLatency` later, if the policy listens), then deliver the pushes
/// that are due and wake the policy if it is due, writing the limits they return (with the burst
/// its setup pairs with them) and the weights it then wants. At one instant, period refill comes
/// first, then pushes, then the wake-up. Everything is deterministic. The node is laid out as the
/// policy's ``NodeSetup`` says: the whole node or the budget on the parent, initial limits or
/// none; weights start at the kubelet's, from the requests.
public enum Simulator {
    /// Runs `policy` on `scenario`.
    /// - Throws: ``EvaluationError`` from the scenario, the policy or the market; or when a policy
    ///   does not move its wake-up forward.
    public static func run(_ scenario: Scenario, policy: some Policy,
                           options: SimulationOptions = SimulationOptions()) throws(EvaluationError) -> RunResult {
        var policy = policy
        return try run(scenario, policy: &policy, options: options)
    }

    /// Runs `policy` on `scenario`, leaving the policy as the run left it (to inspect its state).
    /// - Throws: as ``run(_:policy:options:)``.
    public static func run<P: Policy>(_ scenario: Scenario, policy: inout P,
                                      options: SimulationOptions = SimulationOptions()) throws(EvaluationError) -> RunResult {
        guard options.slo >= 0 else { throw .invalidSetting("the SLO must not be negative") }
        let setup = policy.setup
        let budget = setup.budgetOnParent ? scenario.capacity - scenario.reserve : scenario.capacity
        let caps = scenario.pods.map { Swift.min($0.cap, budget) }
        var node = try CFSNode(
            capacity: budget,
            pods: scenario.pods.indices.map { index in
                let pod = scenario.pods[index]
                let limit = setup.initialLimits ? pod.initialLimit : nil
                return CFSPodConfig(weight: Double(CPUWeight(millicores: Double(pod.request)).shares), threads: pod.threads,
                                    limit: limit, burst: setup.burst(limit: limit, cap: caps[index]))
            },
            trace: scenario.trace, period: options.period)
        var collector = MetricsCollector(scenario: scenario, node: node, slo: options.slo, recordsSeries: options.recordsSeries)
        let latency = policy.pushLatency
        var pushes: [(due: Int, signal: NodeSignal)] = []
        var nextPush = 0
        let end = scenario.duration

        func apply(_ changes: [LimitChange]) throws(EvaluationError) {
            for change in changes {
                let old = node.limit(of: change.pod)
                guard change.limit != old else { continue }
                node.setLimit(change.pod, to: change.limit, burst: setup.burst(limit: change.limit, cap: caps[change.pod]))
                collector.recordChange(pod: change.pod, from: old, to: change.limit, at: node.time)
            }
            guard let weights = policy.weights else { return }
            guard weights.count == node.podCount, weights.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw .invalidSetting("policy \(policy.name) asked for \(weights.count) weights (need \(node.podCount), each > 0)")
            }
            for (pod, weight) in weights.enumerated() where weight != node.weight(of: pod) {
                collector.recordWeightChange(pod: pod, from: node.weight(of: pod), to: weight, at: node.time)
                node.setWeight(pod, to: weight)
            }
        }

        try apply([])

        while true {
            // Everything due now: pushes, then the policy's wake-up.
            while nextPush < pushes.count, pushes[nextPush].due <= node.time {
                let signal = pushes[nextPush].signal
                nextPush += 1
                try apply(try policy.push(signal, view: NodeView(node)))
            }
            if nextPush > 256, nextPush * 2 > pushes.count {
                pushes.removeFirst(nextPush)
                nextPush = 0
            }
            if let wake = policy.nextWake, wake <= node.time {
                try apply(try policy.wake(NodeView(node)))
                if let again = policy.nextWake, again <= node.time {
                    throw .invalidSetting("policy \(policy.name) did not move its wake-up past \(node.time) ns")
                }
            }
            guard node.time < end else { break }

            var horizon = end
            if let wake = policy.nextWake { horizon = Swift.min(horizon, wake) }
            if nextPush < pushes.count { horizon = Swift.min(horizon, pushes[nextPush].due) }
            let signals = node.advance(until: horizon)
            if let latency {
                for signal in signals { pushes.append((signal.time + latency, signal)) }
            }
            collector.observe(&node)
        }
        return RunResult(metrics: collector.finish(node, policy: policy.name), series: collector.series,
                         diagnostics: policy.diagnostics)
    }
}
