import Foundation

/// The API's two time formats: `Time` (RFC 3339, seconds) and `MicroTime` (microseconds, leases).
public enum Timestamp {
    /// `2026-11-22T23:04:05Z`.
    public static func time(_ date: Date = Date()) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt))
    }

    /// `2026-11-22T23:04:05.123456Z`.
    public static func microTime(_ date: Date = Date()) -> String {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        let micros = Int(((date.timeIntervalSince1970 - seconds) * 1_000_000).rounded(.down))
        return time(Date(timeIntervalSince1970: seconds)).dropLast() + String(format: ".%06dZ", micros)
    }

    /// Parses either format (fractional seconds optional); nil if neither.
    public static func parse(_ text: String) -> Date? {
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt).parse(text) { return date }
        return try? Date.ISO8601FormatStyle(timeZone: .gmt).parse(text)
    }
}
