/// Fast, locale-free fixed-point formatting for the CSV, Markdown and JSON writers.
enum FixedFormat {
    /// `value` with exactly `digits` decimals (0...9), rounded half away from zero; "nan" and
    /// "inf" are spelled out (callers that cannot take them check first).
    static func string(_ value: Double, digits: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e15 else { return "\(value)" }
        let whole = Int64(scaled)
        let unit = Int64(scale)
        var text = String(whole / unit)
        if digits > 0 {
            let fraction = String(whole % unit)
            text += "." + String(repeating: "0", count: digits - fraction.count) + fraction
        }
        return value < 0 && whole != 0 ? "-" + text : text
    }
}
