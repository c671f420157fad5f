/// Accumulates one run's metrics from the node at period and second boundaries and from the limit
/// changes the simulator applies.
///
/// - Fairness: in each CFS period where the pods' demand (work offered in the period plus work
///   queued at its start, at most their threads) exceeds the node, the fair share is the weighted
///   max-min division of the node over those demands with the requests as weights (``CPUShare``),
///   and the period's index is Jain's over used / fair share; the run's is the mean over such periods.
/// - SLO: a pod violates its SLO in a second when the work it was offered in that second waited
///   longer than the threshold: the peak of its FIFO queueing delay (``QueueDelay``), booked to
///   the second the work arrived in.
/// - SLO of latency pods: the same, over the pods the scenario declares latency-sensitive.
/// - Oscillation: changes count limit writes that changed the value, weight writes the CFS weight
///   writes that did; reversals count changes of a limit or a weight in the opposite direction to
///   the same pod's previous change of that knob.
/// - Reaction: the first raise of the probe pod's limit or weight at or after the jump.
struct MetricsCollector {
    private let scenario: Scenario
    private let slo: Double
    private let recordsSeries: Bool
    private let weights: [Double]
    private let threads: [Double]
    private let period: Int

    private var periodStart: [(used: Double, offered: Double, backlog: Double)]
    private var secondStart: [(used: Double, offered: Double, allocated: Double, throttled: Double)]
    private var jainSum = 0.0
    private var contendedPeriods = 0
    private var sloSeconds = 0
    private var latencySLOSeconds = 0
    private let latencyPods: [Bool]
    private var changes = 0
    private var weightWrites = 0
    private var reversals = 0
    private var lastDirection: [Int]
    private var lastWeightDirection: [Int]
    private var reaction: Int?
    private var delays: [QueueDelay]
    private(set) var series: [SecondSample] = []

    init(scenario: Scenario, node: CFSNode, slo: Int, recordsSeries: Bool) {
        self.scenario = scenario
        self.slo = Double(slo)
        self.recordsSeries = recordsSeries
        weights = scenario.pods.map { Double($0.request) }
        threads = scenario.pods.map(\.threads)
        period = node.period
        periodStart = (0..<node.podCount).map { (node.counters(of: $0).usageNanos, node.ledger(of: $0).offeredNanos, node.backlog(of: $0)) }
        secondStart = (0..<node.podCount).map { _ in (0, 0, 0, 0) }
        lastDirection = Array(repeating: 0, count: node.podCount)
        lastWeightDirection = lastDirection
        let seconds = (scenario.duration + SimTime.second - 1) / SimTime.second
        delays = Array(repeating: QueueDelay(seconds: seconds), count: node.podCount)
        latencyPods = scenario.pods.map { $0.latencyClass == .latency }
        if recordsSeries { series.reserveCapacity(node.podCount * (scenario.duration / SimTime.second + 1)) }
    }

    /// Call after every step of the node: handles the period and second that just ended, if any.
    mutating func observe(_ node: inout CFSNode) {
        for pod in delays.indices {
            delays[pod].observe(time: node.time, offered: node.ledger(of: pod).offeredNanos,
                                used: node.counters(of: pod).usageNanos)
        }
        guard node.time % period == 0 else { return }
        closePeriod(node)
        if node.time % SimTime.second == 0 { closeSecond(node) }
    }

    /// Records a limit write that changed pod `pod`'s limit from `old` to `new` at `time`.
    mutating func recordChange(pod: Int, from old: Int?, to new: Int, at time: Int) {
        let oldValue = old ?? Int.max
        guard new != oldValue else { return }
        changes += 1
        noteMove(pod: pod, up: new > oldValue, at: time, last: \.lastDirection)
    }

    /// Records a weight write that changed pod `pod`'s weight from `old` to `new` at `time`.
    mutating func recordWeightChange(pod: Int, from old: Double, to new: Double, at time: Int) {
        guard new != old else { return }
        weightWrites += 1
        noteMove(pod: pod, up: new > old, at: time, last: \.lastWeightDirection)
    }

    /// A reversal if the move goes against the pod's previous one of the same knob; the reaction
    /// time if it is the probe pod's first raise after the jump.
    private mutating func noteMove(pod: Int, up: Bool, at time: Int, last: WritableKeyPath<Self, [Int]>) {
        let direction = up ? 1 : -1
        if self[keyPath: last][pod] != 0, direction != self[keyPath: last][pod] { reversals += 1 }
        self[keyPath: last][pod] = direction
        if reaction == nil, let probe = scenario.probe, probe.pod == pod, up, time >= probe.time {
            reaction = time - probe.time
        }
    }

    /// The run's metrics (and the series' latencies, known once the work is done).
    mutating func finish(_ node: CFSNode, policy: String) -> PolicyMetrics {
        for pod in delays.indices {
            delays[pod].finish(at: node.time)
            for peak in delays[pod].peaks where peak > slo {
                sloSeconds += 1
                if latencyPods[pod] { latencySLOSeconds += 1 }
            }
        }
        for index in series.indices {
            let sample = series[index]
            series[index].peakLatencyMs = delays[sample.pod].peaks[Swift.min(sample.second, delays[sample.pod].peaks.count - 1)] / 1e6
        }
        var throttled = 0.0
        var used = 0.0
        var allocated = 0.0
        for pod in 0..<node.podCount {
            throttled += node.counters(of: pod).throttledNanos
            used += node.counters(of: pod).usageNanos
            allocated += node.ledger(of: pod).allocatedNanos
        }
        return PolicyMetrics(
            policy: policy, throttledSeconds: throttled / 1e9, sloViolationSeconds: Double(sloSeconds),
            efficiency: allocated > 0 ? used / allocated : 0,
            jain: contendedPeriods > 0 ? jainSum / Double(contendedPeriods) : nil,
            changes: changes, reversals: reversals, reactionSeconds: reaction.map { SimTime.seconds($0) },
            usedCPUSeconds: used / 1e9, allocatedCPUSeconds: allocated / 1e9, contendedPeriods: contendedPeriods,
            weightWrites: weightWrites,
            latencySLOViolationSeconds: latencyPods.contains(true) ? Double(latencySLOSeconds) : nil)
    }

    private mutating func closePeriod(_ node: CFSNode) {
        let length = Double(period)
        var demands: [Double] = []
        var used: [Double] = []
        demands.reserveCapacity(node.podCount)
        used.reserveCapacity(node.podCount)
        var total = 0.0
        for pod in 0..<node.podCount {
            let start = periodStart[pod]
            let usage = node.counters(of: pod).usageNanos
            let offered = node.ledger(of: pod).offeredNanos
            let demand = Swift.min(threads[pod], (offered - start.offered + start.backlog) / length)
            demands.append(demand)
            used.append((usage - start.used) / length)
            total += demand
            periodStart[pod] = (usage, offered, node.backlog(of: pod))
        }
        let capacity = node.capacity
        guard total > capacity * (1 + 1e-9) else { return }
        let fair = CPUShare.divide(wants: demands, weights: weights, capacity: capacity)
        var ratios: [Double] = []
        for pod in fair.indices where fair[pod] > 1e-9 { ratios.append(used[pod] / fair[pod]) }
        guard !ratios.isEmpty else { return }
        jainSum += jainIndex(ratios)
        contendedPeriods += 1
    }

    private mutating func closeSecond(_ node: CFSNode) {
        let second = node.time / SimTime.second - 1
        for pod in 0..<node.podCount {
            let counters = node.counters(of: pod)
            let ledger = node.ledger(of: pod)
            let start = secondStart[pod]
            if recordsSeries {
                series.append(SecondSample(
                    second: second, pod: pod, demand: (ledger.offeredNanos - start.offered) / 1e9,
                    used: (counters.usageNanos - start.used) / 1e9, limit: (ledger.allocatedNanos - start.allocated) / 1e9,
                    throttled: (counters.throttledNanos - start.throttled) / 1e9, peakLatencyMs: 0))
            }
            secondStart[pod] = (counters.usageNanos, ledger.offeredNanos, ledger.allocatedNanos, counters.throttledNanos)
        }
    }
}
