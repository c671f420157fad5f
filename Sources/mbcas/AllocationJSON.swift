import Foundation
import Market

// The JSON form of an allocation problem, as read by `mbcas allocate`:
//
//     {"capacity": 4000, "reserve": 200,
//      "pods": [{"name": "web", "bid": 3, "floor": 250, "cap": 2000, "baseline": 0}, ...]}
//
// `reserve` and `baseline` are optional (default 0). Unknown fields are rejected, so that a typo
// (`"cpa"`) is an error rather than a silent default. Every error is a `MarketError` naming the pod
// and the field.

/// A coding key for any field name, used to detect unknown fields.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { self.stringValue = "\(intValue)"; self.intValue = intValue }
    init(_ name: String) { self.stringValue = name }
}

/// Reads one field of a JSON object, turning every decoding failure into a ``MarketError``.
struct StrictObject {
    let container: KeyedDecodingContainer<AnyCodingKey>
    let pod: String?

    init(_ decoder: any Decoder, pod: String?, what: String) throws(MarketError) {
        self.pod = pod
        do {
            container = try decoder.container(keyedBy: AnyCodingKey.self)
        } catch {
            throw MarketError(.wrongType, pod: pod, field: nil, message: "\(what) must be a JSON object")
        }
    }

    func rejectUnknown(_ known: Set<String>) throws(MarketError) {
        for key in container.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) where !known.contains(key.stringValue) {
            throw MarketError(.unknownField, pod: pod, field: key.stringValue,
                              message: "unknown field; expected one of \(known.sorted().joined(separator: ", "))")
        }
    }

    func decode<T: Decodable>(_ type: T.Type, _ field: String, kind: String) throws(MarketError) -> T? {
        let key = AnyCodingKey(field)
        guard container.contains(key) else { return nil }
        do {
            return try container.decode(T.self, forKey: key)
        } catch let error as MarketError {
            throw error
        } catch DecodingError.valueNotFound {
            throw MarketError(.wrongType, pod: pod, field: field, message: "must be \(kind), not null")
        } catch DecodingError.typeMismatch {
            throw MarketError(.wrongType, pod: pod, field: field, message: "must be \(kind)")
        } catch {
            throw MarketError(.notFinite, pod: pod, field: field, message: "must be \(kind) that fits a double")
        }
    }

    func required<T: Decodable>(_ type: T.Type, _ field: String, kind: String) throws(MarketError) -> T {
        guard let value = try decode(type, field, kind: kind) else {
            throw MarketError(.missingField, pod: pod, field: field, message: "missing required field")
        }
        return value
    }
}

extension MarketPod: Codable {
    private static let fields: Set<String> = ["name", "bid", "floor", "cap", "baseline"]

    /// Decodes a pod strictly: `name`, `bid`, `floor` and `cap` are required, `baseline` defaults
    /// to 0, unknown fields are rejected. Errors are ``MarketError``s naming the pod (its name, or
    /// `pods[i]` before the name is known) and the field.
    public init(from decoder: any Decoder) throws {
        var label = decoder.codingPath.last?.intValue.map { "pods[\($0)]" }
        let object = try StrictObject(decoder, pod: label, what: "a pod")
        let name = try object.required(String.self, "name", kind: "a string")
        if !name.isEmpty { label = name }
        let fields = StrictObject(copying: object, pod: label)
        try fields.rejectUnknown(Self.fields)
        self.init(name: name,
                  bid: try fields.required(Double.self, "bid", kind: "a number"),
                  floor: try fields.required(Double.self, "floor", kind: "a number (millicores)"),
                  cap: try fields.required(Double.self, "cap", kind: "a number (millicores)"),
                  baseline: try fields.decode(Double.self, "baseline", kind: "a number (millicores)") ?? 0)
    }

    /// Encodes all five fields.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyCodingKey.self)
        try container.encode(name, forKey: AnyCodingKey("name"))
        try container.encode(bid, forKey: AnyCodingKey("bid"))
        try container.encode(floor, forKey: AnyCodingKey("floor"))
        try container.encode(cap, forKey: AnyCodingKey("cap"))
        try container.encode(baseline, forKey: AnyCodingKey("baseline"))
    }
}

extension StrictObject {
    init(copying other: StrictObject, pod: String?) {
        self.container = other.container
        self.pod = pod
    }
}

extension AllocationProblem: Codable {
    private static let fields: Set<String> = ["capacity", "reserve", "pods"]

    /// Decodes a problem strictly: `capacity` and `pods` are required, `reserve` defaults to 0,
    /// unknown fields are rejected. Numbers are not validated here; see ``decode(json:)``.
    public init(from decoder: any Decoder) throws {
        let object = try StrictObject(decoder, pod: nil, what: "the problem")
        try object.rejectUnknown(Self.fields)
        self.init(capacity: try object.required(Double.self, "capacity", kind: "a number (millicores)"),
                  reserve: try object.decode(Double.self, "reserve", kind: "a number (millicores)") ?? 0,
                  pods: try object.required([MarketPod].self, "pods", kind: "an array of pods"))
    }

    /// Encodes `capacity`, `reserve` and `pods`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: AnyCodingKey.self)
        try container.encode(capacity, forKey: AnyCodingKey("capacity"))
        try container.encode(reserve, forKey: AnyCodingKey("reserve"))
        try container.encode(pods, forKey: AnyCodingKey("pods"))
    }

    /// Decodes and fully validates a problem from JSON bytes.
    ///
    /// Checks the JSON shape, the numbers (``validate()``) and the names (``validateNames()``).
    /// - Parameter json: UTF-8 JSON text.
    /// - Returns: A problem ready for ``WaterFilling/solve(_:)``.
    /// - Throws: ``MarketError`` naming the pod and field at fault.
    public static func decode<Bytes: Sequence>(json: Bytes) throws(MarketError) -> AllocationProblem
        where Bytes.Element == UInt8 {
        let problem: AllocationProblem
        do {
            problem = try JSONDecoder().decode(AllocationProblem.self, from: Data(json))
        } catch let error as MarketError {
            throw error
        } catch {
            throw MarketError(.malformedJSON, message: "input is not valid JSON: \(Self.describe(error))")
        }
        try problem.validate()
        try problem.validateNames()
        return problem
    }

    /// Decodes and validates a problem from a JSON string. See ``decode(json:)``.
    public static func decode(jsonString: String) throws(MarketError) -> AllocationProblem {
        try decode(json: Array(jsonString.utf8))
    }

    private static func describe(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            let underlying = context.underlyingError.map { " (\($0))" } ?? ""
            return context.debugDescription + underlying
        }
        return String(describing: error)
    }
}
