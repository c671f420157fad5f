/// Time in the Market module is injected: callers pass `now` as monotonic nanoseconds (for example
/// `clock_gettime(CLOCK_MONOTONIC)`), and nothing here reads a clock. Configuration uses `Duration`.
extension Duration {
    /// The duration in whole nanoseconds, or nil if it is negative or does not fit in a UInt64.
    var wholeNanos: UInt64? {
        let (seconds, attoseconds) = components
        guard seconds >= 0, attoseconds >= 0 else { return nil }
        let (high, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return nil }
        let (total, overflow2) = high.addingReportingOverflow(UInt64(attoseconds / 1_000_000_000))
        return overflow2 ? nil : total
    }

    /// The duration in nanoseconds, or an invalid-configuration error naming `field`.
    func nanoseconds(field: String) throws(MarketError) -> UInt64 {
        guard let ns = wholeNanos else {
            throw .configuration(field, "\(field) must be a non-negative duration, got \(self)")
        }
        return ns
    }
}

extension UInt64 {
    /// Whether at least `interval` nanoseconds have passed from `since` to `self` (monotonic time;
    /// a `self` earlier than `since` counts as no time passed).
    @inlinable func hasElapsed(_ interval: UInt64, since: UInt64) -> Bool {
        self >= since && self - since >= interval
    }
}
