import Foundation
import ProcessControl
import TestSupport
import Testing

/// `mbcas allocate` run as a user runs it: a file in, a table or JSON out.
@Suite("mbcas allocate")
struct AllocateCommandTests {
    func mbcas() throws -> String {
        try #require(builtProduct("mbcas"), "the mbcas executable was not built next to the tests")
    }

    func write(_ json: String) throws -> String {
        let path = NSTemporaryDirectory() + "mbcas-allocate-\(UUID().uuidString).json"
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("--json: pods in input order, capacity minus reserve shared, floors and caps respected")
    func json() throws {
        let path = try write("""
            {"capacity": 3000, "reserve": 200, "pods": [
              {"name": "z-first", "bid": 1, "floor": 100, "cap": 3000},
              {"name": "a-second", "bid": 3, "floor": 100, "cap": 3000},
              {"name": "capped", "bid": 5, "floor": 100, "cap": 300}]}
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try runCommand(try mbcas(), ["allocate", "--json", path])
        #expect(result.status == 0, "\(result.stderr)")
        struct Output: Decodable {
            struct Pod: Decodable { let name: String; let millicores: Double }
            let allocations: [Pod]
            let shadow_price: Double?
            let overcommitted: Bool
        }
        let output = try JSONDecoder().decode(Output.self, from: Data(result.stdout.utf8))
        #expect(output.allocations.map(\.name) == ["z-first", "a-second", "capped"])
        let x = output.allocations.map(\.millicores)
        #expect(abs(x.reduce(0, +) - 2800) < 0.01)          // all of capacity − reserve, no more
        #expect(abs(x[2] - 300) < 0.01)                      // held at its cap
        #expect(abs(x[1] / x[0] - 3) < 1e-6)                 // the rest in proportion to the bids 3 : 1
        #expect(output.overcommitted == false)
        #expect((output.shadow_price ?? 0) > 0)
    }

    @Test("invalid input: the error names the pod and the field, exit status 1")
    func invalid() throws {
        let path = try write(#"{"capacity": 1000, "pods": [{"name": "web", "bid": -1, "floor": 0, "cap": 100}]}"#)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try runCommand(try mbcas(), ["allocate", path])
        #expect(result.status == 1)
        #expect(result.stderr.contains("web") && result.stderr.contains("bid"), "stderr: \(result.stderr)")
    }
}
