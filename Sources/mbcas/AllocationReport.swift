import Foundation
import Market

/// The printable result of a round: the JSON answer of `mbcas allocate --json` and its table.
///
/// JSON form (pods in input order, numbers as JSON numbers):
///
///     {"allocations": [{"name": "web", "millicores": 750}, ...],
///      "shadow_price": 0.004, "overcommitted": false}
///
/// `shadow_price` is `null` when no finite price clears the market (λ = +∞, see
/// ``Allocation/shadowPrice``).
public struct AllocationReport: Sendable, Hashable, Codable {
    /// One pod's allocation.
    public struct Entry: Sendable, Hashable, Codable {
        /// The pod's name.
        public var name: String
        /// Its CPU in millicores.
        public var millicores: Double

        /// Creates an entry.
        /// - Parameters:
        ///   - name: The pod's name.
        ///   - millicores: Its CPU in millicores.
        public init(name: String, millicores: Double) {
            self.name = name
            self.millicores = millicores
        }
    }

    /// Per-pod allocations in input order.
    public var allocations: [Entry]
    /// The shadow price λ, or nil when it is infinite.
    public var shadowPrice: Double?
    /// Whether the floors (or floors and baselines) did not fit.
    public var overcommitted: Bool

    enum CodingKeys: String, CodingKey {
        case allocations
        case shadowPrice = "shadow_price"
        case overcommitted
    }

    /// Builds the report of `allocation`, which must come from solving `problem`.
    /// - Parameters:
    ///   - problem: The problem solved (for the pod names).
    ///   - allocation: Its solution.
    public init(problem: AllocationProblem, allocation: Allocation) {
        allocations = zip(problem.pods, allocation.millicores).map { Entry(name: $0.name, millicores: $1) }
        shadowPrice = allocation.shadowPrice.isFinite ? allocation.shadowPrice : nil
        overcommitted = allocation.overcommitted
    }

    /// Decodes a report (`shadow_price` may be null).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        allocations = try container.decode([Entry].self, forKey: .allocations)
        shadowPrice = try container.decodeIfPresent(Double.self, forKey: .shadowPrice)
        overcommitted = try container.decode(Bool.self, forKey: .overcommitted)
    }

    /// Encodes the report; `shadow_price` is written as null when infinite, never omitted.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(allocations, forKey: .allocations)
        if let shadowPrice {
            try container.encode(shadowPrice, forKey: .shadowPrice)
        } else {
            try container.encodeNil(forKey: .shadowPrice)
        }
        try container.encode(overcommitted, forKey: .overcommitted)
    }

    /// The report as pretty-printed JSON text with sorted keys.
    public func json() -> String {
        // Every number here is finite (nil stands for an infinite price), so encoding cannot fail.
        (try? CLIJSON.document(self)) ?? "{}"
    }

    /// A readable, aligned table of the round: one line per pod with its inputs and allocation,
    /// then the shadow price and whether the round is over-committed.
    /// - Parameters:
    ///   - problem: The problem solved.
    ///   - allocation: Its solution.
    /// - Returns: The table, lines separated by newlines, ending with a newline.
    public static func table(problem: AllocationProblem, allocation: Allocation) -> String {
        let header = ["POD", "BID", "FLOOR", "CAP", "BASELINE", "MILLICORES"]
        var rows = [header]
        for (pod, x) in zip(problem.pods, allocation.millicores) {
            rows.append([pod.name, compact(pod.bid), compact(pod.floor), compact(pod.cap),
                         compact(pod.baseline), fixed(x, decimals: 1)])
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        var out = ""
        for row in rows {
            var line = ""
            for (column, cell) in row.enumerated() {
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                if column == 0 {
                    line += cell + pad
                } else {
                    line += "  " + pad + cell
                }
            }
            out += line + "\n"
        }
        let total = allocation.millicores.reduce(0, +)
        out += "allocated: \(fixed(total, decimals: 1)) of \(compact(problem.budget)) millicores"
        out += " (capacity \(compact(problem.capacity)), reserve \(compact(problem.reserve)))\n"
        let price = allocation.shadowPrice
        if price == 0 {
            out += "shadow price: 0 (CPU is not scarce)\n"
        } else if price.isFinite {
            out += "shadow price: \(price) per millicore (CPU is scarce)\n"
        } else {
            out += "shadow price: infinite (no finite price clears the market)\n"
        }
        switch allocation.overcommit {
        case .none: out += "overcommitted: no\n"
        case .floors: out += "overcommitted: yes (floors exceed the budget; floors scaled down proportionally)\n"
        case .baselines: out += "overcommitted: yes (floors plus baselines exceed the budget; baselines scaled down)\n"
        }
        return out
    }

    /// An integral value without decimals, any other value in its shortest exact form.
    static func compact(_ value: Double) -> String {
        if value.isFinite, value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// `value` rounded half away from zero to `decimals` places, written without exponent.
    static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite, abs(value) < 1e15 else { return "\(value)" }
        var scale: Int64 = 1
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int64((value * Double(scale)).rounded())
        let sign = scaled < 0 ? "-" : ""
        let magnitude = scaled.magnitude
        let whole = magnitude / UInt64(scale)
        guard decimals > 0 else { return sign + String(whole) }
        let fraction = String(magnitude % UInt64(scale))
        return sign + String(whole) + "." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }
}
