/// Tells a pushed stall that is news from one that repeats a streak.
///
/// News is a cgroup's first stall after `repeatGapNanos` without one: a server starting a burst, a
/// pod that starts to throttle. It asks for a round at once. A batch pod throttled every CFS period
/// pushes ten times a second with nothing new to say; its repeats ride the slower repeat cadence.
/// Owned by the ring-buffer thread.
struct StallStreaks: Sendable {
    /// A cgroup silent for this long starts a new streak.
    let repeatGapNanos: UInt64
    /// Bound on remembered cgroups: forgetting one only makes its next stall news.
    static let capacity = 8192
    private var lastPush: [UInt64: UInt64] = [:]

    init(repeatGapNanos: UInt64) { self.repeatGapNanos = repeatGapNanos }

    /// Notes a stall of `cgroupID` at `at` (CLOCK_MONOTONIC ns); true when it starts a streak.
    mutating func isNews(cgroupID: UInt64, at: UInt64) -> Bool {
        if lastPush.count >= Self.capacity { lastPush.removeAll(keepingCapacity: true) }
        guard let previous = lastPush.updateValue(at, forKey: cgroupID) else { return true }
        return at.saturatingMinus(previous) >= repeatGapNanos
    }

    /// Whether a repeat should still ask for a round: the last round is `repeatGapNanos` old.
    func repeatIsDue(at: UInt64, lastRoundAt: UInt64) -> Bool {
        at.saturatingMinus(lastRoundAt) >= repeatGapNanos
    }
}
