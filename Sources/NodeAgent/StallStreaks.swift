/// Tells a pushed stall that is news from one that repeats a streak.
///
/// News is a cgroup's first stall after `repeatGapNanos` without one: a server starting a burst, a
/// pod that starts to throttle. It asks for a round at once. A batch pod throttled every CFS period
/// pushes ten times a second with nothing new to say; its repeats ride the slower repeat cadence.
/// Owned by the ring-buffer thread.
///
/// The last push per cgroup sits in a direct-mapped table (one slot per hashed cgroup id, no
/// probing, no allocation): it is on the hot path of every pushed event, where a `Dictionary`'s
/// SipHash and update cost 25–30 ns (`mbcas-bench agent`). Two cgroups sharing a slot only forget
/// each other: forgetting one only makes its next stall news (one round asked sooner).
struct StallStreaks: Sendable {
    /// A cgroup silent for this long starts a new streak.
    let repeatGapNanos: UInt64
    /// Slots in the table (a power of two).
    static let capacity = 8192
    private static let indexShift = UInt64(64 - Self.capacity.trailingZeroBitCount)
    private var cgroupIDs: [UInt64]
    private var lastPush: [UInt64]

    init(repeatGapNanos: UInt64) {
        self.repeatGapNanos = repeatGapNanos
        cgroupIDs = Array(repeating: 0, count: Self.capacity)  // cgroup id 0 is never a cgroup's
        lastPush = Array(repeating: 0, count: Self.capacity)
    }

    /// Notes a stall of `cgroupID` at `at` (CLOCK_MONOTONIC ns); true when it starts a streak.
    mutating func isNews(cgroupID: UInt64, at: UInt64) -> Bool {
        // Fibonacci hashing: the id's high product bits pick the slot (ids are sequential kernfs ids).
        let slot = Int(truncatingIfNeeded: (cgroupID &* 0x9E37_79B9_7F4A_7C15) >> Self.indexShift)
        let known = cgroupIDs[slot] == cgroupID
        let previous = lastPush[slot]
        cgroupIDs[slot] = cgroupID
        lastPush[slot] = at
        return !known || at.saturatingMinus(previous) >= repeatGapNanos
    }

    /// Whether a repeat should still ask for a round: the last round is `repeatGapNanos` old.
    func repeatIsDue(at: UInt64, lastRoundAt: UInt64) -> Bool {
        at.saturatingMinus(lastRoundAt) >= repeatGapNanos
    }
}
