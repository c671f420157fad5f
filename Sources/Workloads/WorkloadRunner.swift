internal import Glibc
internal import MonotonicTime
internal import Synchronization

/// Runs a ``WorkloadSpec`` in the current process: `threads` native threads each follow the kind's
/// ``WorkloadPattern`` on a shared wall-clock timeline, until the duration elapses or a stop arrives.
///
/// This is what `mbcas workload` calls; the process it runs in is the one a cgroup accounts, so the
/// demo starts it as a child in the pod's cgroup (``WorkloadProcess``).
///
/// A stop (``stop()``, a latched signal, the parent's exit) reaches spinning threads within a
/// microsecond and sleeping ones within ``SpinLoop/sleepChunkNanos``.
public final class WorkloadRunner: Sendable {
    /// The spec being run.
    public let spec: WorkloadSpec

    private let stopFlag = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    /// Where spin results are published so the optimiser must compute them.
    private let sink = Atomic<UInt64>(0)
    private let firstThreadPhases = Atomic<Int>(0)

    /// How often the coordinating thread checks for signals, the parent and the deadline, in ns.
    private static let pollNanos: UInt64 = 20_000_000

    /// Prepares a run of `spec`.
    ///
    /// - Throws: `.invalidSpec` when the spec is out of range.
    public init(spec: WorkloadSpec) throws(WorkloadError) {
        try spec.validate()
        self.spec = spec
    }

    /// Asks a running (or not yet started) run to end; safe from any thread.
    public func stop() { stopFlag.store(true, ordering: .relaxed) }

    /// True once ``stop()`` was called or the run ended.
    public var isStopping: Bool { stopFlag.load(ordering: .relaxed) }

    /// Runs the workload on new threads and blocks the calling thread until it ends. Call once.
    ///
    /// - Parameters:
    ///   - stopSignals: signals that end the run; their handlers are replaced for the duration of the
    ///     run and restored afterwards. Handlers are process-wide, so at most one run at a time may
    ///     pass signals; leave empty when embedding (tests, libraries).
    ///   - parentPID: when given, the run ends as soon as `getppid()` differs from it, so a workload
    ///     never outlives the process that started it, even one killed by SIGKILL.
    /// - Throws: `.startFailed` when a thread cannot be created (the threads already started are
    ///   stopped and joined first).
    public func run(stopSignals: [Int32] = [], parentPID: Int32? = nil) throws(WorkloadError) -> WorkloadReport {
        precondition(!started.exchange(true, ordering: .relaxed), "WorkloadRunner.run called twice")
        let previousHandlers = SignalLatch.install(stopSignals)
        defer { SignalLatch.restore(previousHandlers) }

        let cpuStart = Self.processCPUNanos()
        let start = monotonicNanos()
        let end = spec.durationSeconds.map { start &+ Self.nanos(seconds: $0) } ?? .max

        var threads: [NativeThread] = []
        for index in 0..<spec.threads {
            do {
                threads.append(try NativeThread(name: "wl-\(spec.kind.rawValue)-\(index)") { [self] in
                    work(index: index, start: start, end: end)
                })
            } catch {
                stop()
                for thread in threads { thread.join() }
                throw error
            }
        }

        let reason = waitForEnd(deadline: end, stopSignals: stopSignals, parentPID: parentPID)
        stop()
        for thread in threads { thread.join() }
        let elapsed = monotonicNanos() - start
        return WorkloadReport(
            spec: spec, stopReason: reason,
            elapsedSeconds: Double(elapsed) / 1e9,
            cpuSeconds: Double(Self.processCPUNanos() - cpuStart) / 1e9,
            phases: firstThreadPhases.load(ordering: .relaxed))
    }

    /// Convenience for the command line: runs `spec` until its duration, SIGTERM or SIGINT.
    public static func run(_ spec: WorkloadSpec, parentPID: Int32? = nil) throws(WorkloadError) -> WorkloadReport {
        try WorkloadRunner(spec: spec).run(stopSignals: [SIGTERM, SIGINT], parentPID: parentPID)
    }

    /// Seconds as ns, saturating instead of overflowing for absurd values.
    private static func nanos(seconds: Double) -> UInt64 {
        let nanos = seconds * 1e9
        return nanos >= Double(UInt64.max) ? .max : UInt64(max(nanos, 0))
    }

    /// The coordinating thread's loop: polls every ``pollNanos`` for the reasons to end.
    private func waitForEnd(deadline: UInt64, stopSignals: [Int32], parentPID: Int32?) -> WorkloadStopReason {
        while true {
            if stopFlag.load(ordering: .relaxed) { return .requested }
            if !stopSignals.isEmpty, let signal = SignalLatch.received { return .signal(signal) }
            if let parentPID, getppid() != parentPID { return .parentExited }
            let now = monotonicNanos()
            if now >= deadline { return .duration }
            // A signal interrupts this sleep, so SIGTERM is seen at once, not after the poll interval.
            sleepUntil(monotonic: min(deadline, now + Self.pollNanos))
        }
    }

    /// One thread's life: the pattern's phases laid end to end from `start`, cut off at `end`.
    private func work(index: Int, start: UInt64, end: UInt64) {
        var pattern = WorkloadPattern(kind: spec.kind, seed: spec.seed)
        var phaseStart = start
        var phases = 0
        // Each thread mixes its own index in, so threads do not compute identical values.
        var value = spec.seed ^ UInt64(index)
        while !stopFlag.load(ordering: .relaxed) && phaseStart < end {
            guard let phase = pattern.next() else { break }
            phases += 1
            if index == 0 { firstThreadPhases.store(phases, ordering: .relaxed) }
            let busyEnd = min(phaseStart &+ phase.busyNanos, end)
            let phaseEnd = min(phaseStart &+ phase.lengthNanos, end)
            if phase.busyNanos > 0 {
                value = SpinLoop.spin(until: busyEnd, seed: value, stop: stopFlag)
            }
            SpinLoop.sleep(until: phaseEnd, stop: stopFlag)
            phaseStart = phaseEnd
        }
        sink.wrappingAdd(value, ordering: .relaxed)
    }

    /// CPU time of the whole process so far, in ns.
    private static func processCPUNanos() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
