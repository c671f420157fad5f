/// One step of a workload thread: spin for ``busyNanos``, then sleep for ``idleNanos``.
///
/// Phases are laid end to end on the wall clock from the run's start, so a thread that falls behind
/// (throttled, preempted) skips the work it missed instead of catching up: the CPU a pod is denied
/// shows as throttling and lower usage, never as a later extra burst.
public struct WorkloadPhase: Sendable, Hashable {
    /// Wall-clock time to spin, in ns.
    public var busyNanos: UInt64
    /// Wall-clock time to sleep after spinning, in ns.
    public var idleNanos: UInt64

    /// Creates a phase from its two lengths in ns.
    public init(busyNanos: UInt64, idleNanos: UInt64) {
        self.busyNanos = busyNanos
        self.idleNanos = idleNanos
    }

    /// The phase's total length, in ns.
    public var lengthNanos: UInt64 { busyNanos + idleNanos }

    /// The busy fraction of the phase (0 for an empty phase).
    public var dutyCycle: Double { lengthNanos == 0 ? 0 : Double(busyNanos) / Double(lengthNanos) }
}
