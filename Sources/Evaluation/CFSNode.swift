/// One pod as the CFS model runs it.
public struct CFSPodConfig: Sendable, Hashable {
    /// Its CFS weight under node contention (the kubelet derives cpu.weight from the request).
    public var weight: Double
    /// The most CPUs it can run on at once (its runnable threads).
    public var threads: Double
    /// Its CPU limit at the start, millicores; nil for no limit (cpu.max "max").
    public var limit: Int?
    /// Its mean run slice, nanoseconds: CPU time between two switch-ins (schedstat's `pcount`),
    /// which the class learner reads. Default ``CFSNode/defaultSlice``.
    public var slice: Double
    /// Its CFS burst at the start, millicores (`cpu.cfs_burst_us` as a rate; 0: none).
    public var burst: Int

    /// Creates a pod.
    public init(weight: Double, threads: Double, limit: Int?, slice: Double = CFSNode.defaultSlice, burst: Int = 0) {
        self.weight = weight
        self.threads = threads
        self.limit = limit
        self.slice = slice
        self.burst = burst
    }
}

/// A node under CFS bandwidth control, simulated event by event with exact times.
///
/// **Bandwidth control.** Each pod with a limit L (millicores) gets a quota of L/1000 × period
/// CPU-nanoseconds per period (100 ms, the kernel's default `cpu.cfs_period_us`). It runs while
/// quota is left; the moment the quota is used up it is throttled for the rest of the period
/// (`nr_throttled` + 1, `throttled_usec` grows by the remaining wall time). At each period boundary
/// the quota is refilled. Writing a new limit (as an agent writes `cpu.max`) refills the quota to
/// the new value at once and unthrottles the pod, as the kernel's `tg_set_cfs_bandwidth` does;
/// the period boundaries stay where they are. **CFS burst** (5.14+): a refill adds one quota to
/// what is left, up to quota + burst, so quota a pod left unused in earlier periods is banked
/// (`__refill_cfs_bandwidth_runtime`); with no burst every refill is exactly one quota.
///
/// **Demand and queueing.** Work arrives at the trace's offered load a(t) (CPUs). A pod with
/// nothing queued wants to run min(a, threads) CPUs; once work is queued (its backlog, in
/// CPU-nanoseconds) it wants all its threads. Work it cannot run (throttled, or short of CPUs)
/// joins the backlog, which drains when it can run faster than work arrives: unmet CPU is delayed,
/// not lost. ``latency(of:)`` estimates the wait of work arriving now as backlog / min(limit,
/// threads), the rate the limit allows; the metrics use the exact FIFO delay instead
/// (``QueueDelay``), which also counts the node's contention.
///
/// **Node.** When the pods together want more than the node's CPUs, the node is divided by
/// weighted max-min fairness (``CPUShare``): water-filling by weight, each pod capped by what it
/// wants, what one leaves going to the others; the part of a pod's want it does not get is
/// run-queue wait (summed over threads). Weights can be rewritten at any time (``setWeight(_:to:)``,
/// as an agent writes `cpu.shares` / `cpu.weight`); the next event divides by them.
///
/// **A node budget on the parent.** `capacity` is what the pods may use together: the node's CPUs,
/// or, when the budget (capacity − reserve) is the managed parent's quota, that budget, modelled
/// as a fluid limit on the sum of the pods' rates. The kernel instead lets the parent run on every
/// CPU until its quota for the period is gone and then throttles the whole group; the fluid model
/// smooths that sub-period pattern out (with a 3.9-CPU budget on 4 CPUs, at most 2.5 ms per
/// period). The children's own quotas (their caps) still throttle per period as above.
///
/// **Switches.** Each pod runs in slices of its configured mean length, so its switch-in count
/// grows by CPU used / slice: the evidence the class learner takes for "runs briefly and blocks".
///
/// **Stepping.** Between two events every rate is constant, so the model jumps from event to
/// event: period boundaries, trace steps, a pod's quota running out (at remaining quota / rate,
/// rounded up to the nanosecond), a pod's backlog emptying, and whatever the caller passes as
/// the horizon (policy wake-ups, pushes). No time step is involved: the throttled time of a
/// period is exact to the nanosecond.
public struct CFSNode: Sendable {
    /// The kernel's default CFS period, 100 ms.
    public static let defaultPeriod = 100 * SimTime.millisecond
    /// The default mean run slice, 3 ms: what a busy task gets between preemptions under contention
    /// (measured here for both a saturated nginx and a stress-ng hog; docs/decisions.md).
    public static let defaultSlice = 3.0 * Double(SimTime.millisecond)

    private struct Pod {
        var weight: Double
        var threads: Double
        var limit: Int?
        var slice: Double
        var burst: Int
        var runtime: Double        // quota left in this period, CPU-ns (infinite without a limit)
        var throttled = false
        var backlog = 0.0          // queued work, CPU-ns
        var counters = PodCounters()
        var ledger = PodLedger()
        var periodWait = 0.0       // run-queue wait in this period, thread-ns
        var waitSignalled = false  // a waiting signal went out this period
    }

    /// The node's CPUs.
    public let capacity: Double
    /// The CFS period, nanoseconds.
    public let period: Int
    /// Run-queue wait within one period after which a ``NodeSignal/waiting(pod:at:)`` is pushed
    /// (the probe's `wait_threshold_ns`), nanoseconds summed over threads.
    public let waitThreshold: Double
    /// The offered load.
    public let trace: DemandTrace
    /// Now, nanoseconds from the start.
    public private(set) var time = 0

    private var pods: [Pod]
    private var arrivals: [Double]
    private var wants: [Double]
    private var rates: [Double]
    private var weights: [Double]
    private var order: [Int]

    /// Creates a node at time 0 with every quota full and nothing queued.
    /// - Parameters:
    ///   - capacity: The node's CPU, millicores (> 0).
    ///   - pods: The pods, in the trace's column order.
    ///   - trace: Their offered load.
    ///   - period: The CFS period (default 100 ms).
    ///   - waitThreshold: Wait within a period that pushes a waiting signal (default 5 ms, as the probe).
    /// - Throws: ``EvaluationError/invalidSetting(_:)`` for a mismatch or a value out of range.
    public init(capacity: Int, pods: [CFSPodConfig], trace: DemandTrace,
                period: Int = CFSNode.defaultPeriod, waitThreshold: Int = 5 * SimTime.millisecond) throws(EvaluationError) {
        guard capacity > 0 else { throw .invalidSetting("capacity must be positive") }
        guard period > 0 else { throw .invalidSetting("period must be positive") }
        guard waitThreshold > 0 else { throw .invalidSetting("the wait threshold must be positive") }
        guard pods.count == trace.pods.count else {
            throw .invalidSetting("\(pods.count) pods for a trace of \(trace.pods.count)")
        }
        for pod in pods {
            guard pod.weight > 0, pod.weight.isFinite, pod.threads > 0, pod.threads.isFinite,
                  pod.slice > 0, pod.slice.isFinite else {
                throw .invalidSetting("pod weights, threads and slices must be positive")
            }
            if let limit = pod.limit, limit < 1 { throw .invalidSetting("limits must be at least 1 millicore") }
            guard pod.burst >= 0 else { throw .invalidSetting("bursts must not be negative") }
        }
        self.capacity = Double(capacity) / 1000
        self.period = period
        self.waitThreshold = Double(waitThreshold)
        self.trace = trace
        self.pods = pods.map { Pod(weight: $0.weight, threads: $0.threads, limit: $0.limit, slice: $0.slice, burst: $0.burst, runtime: 0) }
        arrivals = Array(repeating: 0, count: pods.count)
        wants = arrivals
        rates = arrivals
        weights = pods.map(\.weight)
        order = Array(repeating: 0, count: pods.count)
        for index in self.pods.indices { refill(index) }
    }

    // MARK: Reading

    /// How many pods.
    public var podCount: Int { pods.count }

    /// Pod `pod`'s limit, millicores (nil: none).
    public func limit(of pod: Int) -> Int? { pods[pod].limit }

    /// Pod `pod`'s CFS weight now.
    public func weight(of pod: Int) -> Double { weights[pod] }

    /// Pod `pod`'s kernel counters.
    public func counters(of pod: Int) -> PodCounters { pods[pod].counters }

    /// Pod `pod`'s simulator-only ledger.
    public func ledger(of pod: Int) -> PodLedger { pods[pod].ledger }

    /// Pod `pod`'s queued work, CPU-nanoseconds.
    public func backlog(of pod: Int) -> Double { pods[pod].backlog }

    /// Whether pod `pod` is throttled now.
    public func isThrottled(_ pod: Int) -> Bool { pods[pod].throttled }

    /// Pod `pod`'s quota left in this period, CPU-nanoseconds (infinite without a limit).
    public func runtimeLeft(of pod: Int) -> Double { pods[pod].runtime }

    /// An estimate of the wait of work arriving at pod `pod` now, nanoseconds: backlog / min(limit,
    /// threads), ignoring the node's contention.
    public func latency(of pod: Int) -> Double { Self.latency(pods[pod]) }

    // MARK: Acting

    /// Sets pod `pod`'s limit now (nil removes it) and its burst (millicores): its quota is
    /// refilled for the new limit and it is unthrottled, as when `cpu.max` is written.
    public mutating func setLimit(_ pod: Int, to limit: Int?, burst: Int = 0) {
        pods[pod].limit = limit.map { Swift.max(1, $0) }
        pods[pod].burst = Swift.max(0, burst)
        refill(pod)
    }

    /// Sets pod `pod`'s CFS weight now (> 0; as when `cpu.shares` is written): the CPUs are
    /// divided by it from the next event on. Quotas and queues are untouched.
    public mutating func setWeight(_ pod: Int, to weight: Double) {
        precondition(weight > 0 && weight.isFinite, "a CFS weight must be a positive number")
        pods[pod].weight = weight
        weights[pod] = weight
    }

    /// Advances to the next event, at most to `horizon`, and returns what the kernel would push
    /// in that interval (in time order). Does nothing when `horizon` is not after ``time``.
    public mutating func advance(until horizon: Int) -> [NodeSignal] {
        guard horizon > time else { return [] }
        let periodEnd = (time / period + 1) * period
        let step = trace.step(at: time)
        var end = Swift.min(horizon, periodEnd, trace.stepEnd(at: time))

        for index in pods.indices {
            let arrival = trace.cpus[index][step]
            arrivals[index] = arrival
            let pod = pods[index]
            wants[index] = pod.throttled ? 0 : (pod.backlog > 0 ? pod.threads : Swift.min(arrival, pod.threads))
        }
        CPUShare.divide(wants: wants, weights: weights, capacity: capacity, into: &rates, order: &order)
        for index in pods.indices {
            let pod = pods[index]
            let rate = rates[index]
            guard rate > 0 else { continue }
            if pod.limit != nil { end = Swift.min(end, time + Self.ceilNanos(pod.runtime / rate)) }
            let arrival = arrivals[index]
            if pod.backlog > 0, rate > arrival { end = Swift.min(end, time + Self.ceilNanos(pod.backlog / (rate - arrival))) }
        }
        for index in pods.indices where !pods[index].waitSignalled && wants[index] > rates[index] {
            // The moment this period's wait crosses the probe's threshold.
            let left = waitThreshold - pods[index].periodWait
            end = Swift.min(end, time + Self.ceilNanos(left / (wants[index] - rates[index])))
        }

        let dt = Double(end - time)
        var signals: [NodeSignal] = []
        for index in pods.indices {
            var pod = pods[index]
            let arrival = arrivals[index]
            let rate = rates[index]
            if pod.throttled {
                pod.counters.throttledNanos += dt
            } else if wants[index] > rate {
                let wait = (wants[index] - rate) * dt
                pod.counters.waitNanos += wait
                pod.periodWait += wait
                if !pod.waitSignalled, pod.periodWait >= waitThreshold * (1 - 1e-9) {
                    pod.waitSignalled = true
                    signals.append(.waiting(pod: index, at: end))
                }
            }
            let work = pod.backlog + arrival * dt
            let used = Swift.min(rate * dt, work, pod.runtime)
            pod.backlog = work - used
            if pod.backlog < 1e-6 { pod.backlog = 0 }
            pod.counters.usageNanos += used
            pod.counters.switches += used / pod.slice
            pod.ledger.offeredNanos += arrival * dt
            let granted = pod.limit.map { Swift.min(Double($0) / 1000, capacity) } ?? capacity
            pod.ledger.allocatedNanos += granted * dt
            if pod.limit != nil, !pod.throttled {
                pod.runtime = Swift.max(0, pod.runtime - used)
                // Out of quota with work still wanting to run, before the period's refill: throttled.
                if pod.runtime <= 1e-6, end < periodEnd, arrival > 0 || pod.backlog > 0 {
                    pod.runtime = 0
                    pod.throttled = true
                    pod.counters.throttleCount += 1
                    signals.append(.throttled(pod: index, at: end))
                }
            }
            pods[index] = pod
        }
        time = end
        if time == periodEnd {
            for index in pods.indices {
                refill(index)
                pods[index].periodWait = 0
                pods[index].waitSignalled = false
            }
        }
        return signals
    }

    /// Advances to `horizon` through every event, returning every signal (for tests and tools).
    public mutating func run(until horizon: Int) -> [NodeSignal] {
        var signals: [NodeSignal] = []
        while time < horizon { signals += advance(until: horizon) }
        return signals
    }

    // MARK: Internals

    private mutating func refill(_ index: Int) {
        if let limit = pods[index].limit {
            let quota = Double(limit) / 1000 * Double(period)
            let banked = pods[index].runtime.isFinite ? pods[index].runtime : 0
            pods[index].runtime = Swift.min(banked + quota, quota + Double(pods[index].burst) / 1000 * Double(period))
        } else {
            pods[index].runtime = .infinity
        }
        pods[index].throttled = false
    }

    private static func latency(_ pod: Pod) -> Double {
        guard pod.backlog > 0 else { return 0 }
        let service = pod.limit.map { Swift.min(Double($0) / 1000, pod.threads) } ?? pod.threads
        return pod.backlog / service
    }

    /// `nanoseconds` rounded up to a whole nanosecond, at least 1 (so time always moves).
    private static func ceilNanos(_ nanoseconds: Double) -> Int {
        guard nanoseconds < 1e15 else { return 1 << 50 }
        return Swift.max(1, Int(nanoseconds.rounded(.up)))
    }
}
