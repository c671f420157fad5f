/// Simulated time: integer nanoseconds from the start of a run (0). Event times (CFS period
/// boundaries, policy wake-ups, pushes) are whole nanoseconds so that two events meant to coincide
/// do coincide; CPU work within an interval is a `Double` in CPU-nanoseconds.
public enum SimTime {
    /// One millisecond in nanoseconds.
    public static let millisecond = 1_000_000
    /// One second in nanoseconds.
    public static let second = 1_000_000_000

    /// `seconds` as whole nanoseconds, rounded to the nearest.
    public static func nanoseconds(seconds: Double) -> Int {
        Int((seconds * Double(second)).rounded())
    }

    /// `nanoseconds` in seconds.
    @inlinable public static func seconds(_ nanoseconds: Int) -> Double {
        Double(nanoseconds) / Double(second)
    }

    /// The monotonic time handed to the Market library for simulated time `t`: the run starts one
    /// second after the clock's origin, as in Market's own `NodeSimulation`.
    @inlinable public static func monotonic(_ t: Int) -> UInt64 {
        UInt64(1_000_000_000 + t)
    }
}
