/// A CPU amount as Kubernetes writes it ("250m", "1", "1.5", "2000m"),
/// held exactly as millicores: parsed and printed the way the API server
/// does, so a value read back compares equal to the one written.
///
/// Parsing follows `resource.Quantity`: an optional sign, a decimal number,
/// then a decimal-SI suffix (`m`, none, `k`, `M`, `G`, `T`, `P`, `E`), a
/// binary-SI suffix (`Ki` … `Ei`) or an exponent (`e3`, `E-2`). CPU cannot be
/// negative. Precision finer than a millicore is rounded up, as the API
/// server does. Printing is canonical: whole cores without a suffix ("2"),
/// anything else in millicores ("1500m").
public struct CPUQuantity: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The amount in millicores (1000 = one CPU).
    public let millicores: Int64

    /// An amount of `millicores` (must not be negative).
    public init(millicores: Int64) {
        precondition(millicores >= 0, "CPU cannot be negative")
        self.millicores = millicores
    }

    /// Parses a Kubernetes quantity string.
    /// - Throws: ``QuantityError`` naming the value and what is wrong with it.
    public init(parsing text: String) throws(QuantityError) {
        millicores = try Self.parse(text)
    }

    /// The canonical form: "2" for whole cores, "250m" otherwise.
    public var description: String {
        millicores % 1000 == 0 ? "\(millicores / 1000)" : "\(millicores)m"
    }

    public static func < (lhs: CPUQuantity, rhs: CPUQuantity) -> Bool { lhs.millicores < rhs.millicores }

    private static let decimalSuffixes: [String: Int] = ["m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18]
    private static let binarySuffixes: [String: Int] = ["Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60]

    private static func parse(_ text: String) throws(QuantityError) -> Int64 {
        func fail(_ why: String) -> QuantityError { QuantityError(value: text, reason: why) }
        var rest = Substring(text)
        guard !rest.isEmpty else { throw fail("empty") }
        var negative = false
        if let sign = rest.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            rest = rest.dropFirst()
        }
        // The number: digits with at most one decimal point, at least one digit.
        let number = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        rest = rest.dropFirst(number.count)
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, number.contains(where: \.isNumber) else {
            throw fail("expected a number such as 250m, 1 or 1.5")
        }
        let integerDigits = String(parts[0]), fractionDigits = parts.count == 2 ? String(parts[1]) : ""

        // The suffix: decimal SI, binary SI, or an exponent.
        var exponent10 = 0
        var multiplier: Int64 = 1   // for binary suffixes
        let suffix = String(rest)
        if let e = decimalSuffixes[suffix] {
            exponent10 = e
        } else if let p = binarySuffixes[suffix] {
            multiplier = Int64(1) << p
        } else if let first = suffix.first, first == "e" || first == "E", let e = Int(suffix.dropFirst()), abs(e) <= 30 {
            exponent10 = e
        } else {
            throw fail("unknown suffix '\(suffix)' (use m, k, M, G, T, P, E, Ki…Ei or an exponent such as e3)")
        }
        if negative && (integerDigits.contains { $0 != "0" } || fractionDigits.contains { $0 != "0" }) {
            throw fail("CPU cannot be negative")
        }

        // millicores = digits × 10^(exponent10 + 3 − fraction digits) × multiplier, rounded up.
        let digits = (integerDigits + fractionDigits).drop { $0 == "0" }
        guard !digits.isEmpty else { return 0 }
        guard digits.count <= 18 else { throw fail("too many digits") }
        var value = Int64(digits)!  // only ASCII digits, at most 18: fits
        var scale = exponent10 + 3 - fractionDigits.count
        if scale < 0 {
            // Finer than a millicore: divide, rounding up (as the API server does).
            var divisor: Int64 = 1
            while scale < 0 {
                if divisor > Int64.max / 10 { return multiplier > 1 ? try scaled(1, multiplier, fail) : 1 }
                divisor *= 10
                scale += 1
            }
            let product = value.multipliedReportingOverflow(by: multiplier)
            guard !product.overflow else { throw fail("too large") }
            let (q, r) = product.partialValue.quotientAndRemainder(dividingBy: divisor)
            return q + (r > 0 ? 1 : 0)
        }
        while scale > 0 {
            let next = value.multipliedReportingOverflow(by: 10)
            guard !next.overflow else { throw fail("too large") }
            value = next.partialValue
            scale -= 1
        }
        return try scaled(value, multiplier, fail)
    }

    private static func scaled(_ value: Int64, _ multiplier: Int64, _ fail: (String) -> QuantityError) throws(QuantityError) -> Int64 {
        let product = value.multipliedReportingOverflow(by: multiplier)
        guard !product.overflow else { throw fail("too large") }
        return product.partialValue
    }
}

extension CPUQuantity: Codable {
    /// Decodes a quantity string, or a plain JSON number of cores (the API accepts both).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            do { self = try CPUQuantity(parsing: text) } catch {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
            }
        } else {
            let cores = try container.decode(Double.self)
            guard cores.isFinite, cores >= 0 else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "invalid CPU quantity \(cores)")
            }
            self.init(millicores: Int64((cores * 1000).rounded(.up)))
        }
    }

    /// Encodes the canonical string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A quantity that is not a valid CPU amount.
public struct QuantityError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The text as given.
    public let value: String
    /// What is wrong with it.
    public let reason: String

    public var description: String { "invalid CPU quantity '\(value)': \(reason)" }
}
