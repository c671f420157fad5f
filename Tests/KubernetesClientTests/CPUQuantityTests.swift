import Foundation
import KubernetesClient
import Testing

@Suite("CPU quantities, as Kubernetes writes them")
struct CPUQuantityTests {
    @Test("parsing", arguments: [
        ("250m", 250), ("1", 1000), ("1.5", 1500), ("2000m", 2000), ("0.5", 500), ("0", 0), ("0m", 0),
        ("+2", 2000), ("100m", 100), ("1k", 1_000_000), ("1e3", 1_000_000), ("1E-3", 1), ("12e-1", 1200),
        ("0.0001", 1),   // finer than a millicore: rounded up, as the API server does
        ("1.0005", 1001), ("1Ki", 1_024_000), ("0.5Ki", 512_000), ("-0", 0), (".5", 500), ("5.", 5000),
    ] as [(String, Int64)])
    func parses(text: String, millicores: Int64) throws {
        #expect(try CPUQuantity(parsing: text).millicores == millicores)
    }

    @Test("printing is canonical: whole cores plain, the rest in millicores", arguments: [
        (250, "250m"), (1000, "1"), (1500, "1500m"), (2000, "2"), (0, "0"), (1, "1m"),
    ] as [(Int64, String)])
    func prints(millicores: Int64, text: String) throws {
        #expect(CPUQuantity(millicores: millicores).description == text)
        #expect(try CPUQuantity(parsing: text).millicores == millicores)  // round trip
    }

    @Test("malformed or negative values are rejected, naming the value", arguments: [
        "", "m", "abc", "1.2.3", "-1", "-250m", "1x", "1mi", "1 m", "250 m", "1e", "1e99", "99999999999999999999",
    ])
    func rejects(text: String) {
        #expect { try CPUQuantity(parsing: text) } throws: { error in
            (error as? QuantityError)?.value == text && "\(error)".contains("'\(text)'")
        }
    }

    @Test("JSON: strings or numbers in, canonical strings out")
    func codable() throws {
        struct Resources: Codable, Equatable { var cpu: CPUQuantity }
        let decoded = try JSONDecoder().decode([Resources].self, from: Data(#"[{"cpu": "2000m"}, {"cpu": 0.25}, {"cpu": "1.5"}]"#.utf8))
        #expect(decoded.map(\.cpu.millicores) == [2000, 250, 1500])
        let encoded = String(decoding: try JSONEncoder().encode(decoded), as: UTF8.self)
        #expect(encoded == #"[{"cpu":"2"},{"cpu":"250m"},{"cpu":"1500m"}]"#)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Resources.self, from: Data(#"{"cpu": "-1"}"#.utf8)) }
    }
}
