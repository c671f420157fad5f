/// Why a run ended.
public enum WorkloadStopReason: Sendable, Hashable, CustomStringConvertible {
    /// The spec's duration elapsed.
    case duration
    /// ``WorkloadRunner/stop()`` was called.
    case requested
    /// A stop signal (SIGTERM, SIGINT) arrived.
    case signal(Int32)
    /// The process named as parent is no longer the parent: whoever started the workload is gone.
    case parentExited

    /// Words for logs: `duration`, `requested`, `signal 15`, `parent exited`.
    public var description: String {
        switch self {
        case .duration: "duration"
        case .requested: "requested"
        case .signal(let number): "signal \(number)"
        case .parentExited: "parent exited"
        }
    }
}

/// What a finished run did.
public struct WorkloadReport: Sendable, Hashable, CustomStringConvertible {
    /// The spec that ran.
    public var spec: WorkloadSpec
    /// Why it ended.
    public var stopReason: WorkloadStopReason
    /// Wall-clock time from start to the last thread's end, in seconds.
    public var elapsedSeconds: Double
    /// CPU time the whole process used meanwhile (all threads, user and system), in seconds.
    public var cpuSeconds: Double
    /// Phases (bursts, slices...) the first thread started.
    public var phases: Int

    /// Creates a report from its fields.
    public init(spec: WorkloadSpec, stopReason: WorkloadStopReason, elapsedSeconds: Double, cpuSeconds: Double, phases: Int) {
        self.spec = spec
        self.stopReason = stopReason
        self.elapsedSeconds = elapsedSeconds
        self.cpuSeconds = cpuSeconds
        self.phases = phases
    }

    /// One line, e.g. `bursty: 2 threads, 10.00 s, CPU 8.12 s (0.81 CPUs), 11 phases, stopped by duration`.
    public var description: String {
        // Under 10 ms the ratio is start-up noise, not the workload's rate.
        let cpus = elapsedSeconds >= 0.01 ? cpuSeconds / elapsedSeconds : 0
        return "\(spec.kind): \(spec.threads) thread\(spec.threads == 1 ? "" : "s"), "
            + "\(Self.format(elapsedSeconds)) s, CPU \(Self.format(cpuSeconds)) s (\(Self.format(cpus)) CPUs), "
            + "\(phases) phase\(phases == 1 ? "" : "s"), stopped by \(stopReason)"
    }

    /// Two decimals without Foundation.
    private static func format(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = abs(hundredths % 100)
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
