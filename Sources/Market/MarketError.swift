/// An error from the Market module: invalid input to the allocator, the demand model, the safety
/// rules or the guardrail, or a malformed JSON allocation problem.
///
/// Every error names what was wrong: the pod (by name, or `pods[i]` when it has no name yet) and
/// the field, so logs, the command line and a PodAllocation status can say exactly what to fix.
public struct MarketError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure. Raw values are stable strings, safe to log and match on.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// A number is NaN or infinite.
        case notFinite = "not-finite"
        /// A number is negative where only zero or more makes sense.
        case negative = "negative"
        /// A number is zero where a positive value is required (a window length, a limit).
        case notPositive = "not-positive"
        /// A pod's cap is below its floor.
        case capBelowFloor = "cap-below-floor"
        /// A pod's baseline (disagreement point) is above its cap.
        case baselineAboveCap = "baseline-above-cap"
        /// The node reserve is larger than the node's capacity.
        case reserveExceedsCapacity = "reserve-exceeds-capacity"
        /// Two pods share one name.
        case duplicateName = "duplicate-name"
        /// A pod has an empty name.
        case emptyName = "empty-name"
        /// A required field is missing from the JSON input.
        case missingField = "missing-field"
        /// A field has the wrong JSON type (for example a string where a number is expected).
        case wrongType = "wrong-type"
        /// The JSON input has a field this format does not define (often a typo).
        case unknownField = "unknown-field"
        /// The input is not valid JSON.
        case malformedJSON = "malformed-json"
        /// A configuration value is outside its allowed range.
        case invalidConfiguration = "invalid-configuration"
        /// A pod slot index is outside the range the structure was built for.
        case slotOutOfRange = "slot-out-of-range"
        /// A count of inputs does not match (for example bids vs. pods).
        case countMismatch = "count-mismatch"
    }

    /// What went wrong.
    public var code: Code
    /// The pod concerned, by name (or `pods[i]` when the name is unknown), if any.
    public var pod: String?
    /// The field concerned (`bid`, `floor`, `cap`, `baseline`, `capacity`, ...), if any.
    public var field: String?
    /// A sentence for people, naming the pod and the field.
    public var message: String

    /// Creates an error.
    /// - Parameters:
    ///   - code: What went wrong.
    ///   - pod: The pod concerned, if any.
    ///   - field: The field concerned, if any.
    ///   - message: A sentence for people; it should name the pod and field.
    public init(_ code: Code, pod: String? = nil, field: String? = nil, message: String) {
        self.code = code
        self.pod = pod
        self.field = field
        self.message = message
    }

    /// The message, prefixed with the pod and field when known: `pod "web", field "cap": ...`.
    public var description: String {
        var prefix = ""
        if let pod { prefix += "pod \"\(pod)\"" }
        if let field { prefix += (prefix.isEmpty ? "" : ", ") + "field \"\(field)\"" }
        return prefix.isEmpty ? message : "\(prefix): \(message)"
    }
}

extension MarketError {
    /// Checks that `value` is finite and not negative.
    static func checkNonNegative(_ value: Double, pod: String?, field: String) throws(MarketError) {
        guard value.isFinite else {
            throw MarketError(.notFinite, pod: pod, field: field, message: "\(field) must be a finite number, got \(value)")
        }
        guard value >= 0 else {
            throw MarketError(.negative, pod: pod, field: field, message: "\(field) must not be negative, got \(value)")
        }
    }

    /// Checks that `value` is finite and strictly positive.
    static func checkPositive(_ value: Double, pod: String?, field: String) throws(MarketError) {
        try checkNonNegative(value, pod: pod, field: field)
        guard value > 0 else {
            throw MarketError(.notPositive, pod: pod, field: field, message: "\(field) must be greater than zero")
        }
    }

    /// An invalid-configuration error for `field`.
    static func configuration(_ field: String, _ message: String) -> MarketError {
        MarketError(.invalidConfiguration, field: field, message: message)
    }
}
