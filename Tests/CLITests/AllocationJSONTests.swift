import Foundation
import Market
import Testing
@testable import mbcas

@Suite("Allocation problem JSON (mbcas allocate)")
struct AllocationJSONTests {
    func failure(_ json: String) -> MarketError? {
        do {
            _ = try AllocationProblem.decode(jsonString: json)
            return nil
        } catch {
            return error
        }
    }

    @Test("decodes a problem; reserve and baseline default to 0")
    func decodes() throws {
        let problem = try AllocationProblem.decode(jsonString: """
            {"capacity": 4000, "pods": [
              {"name": "web", "bid": 3, "floor": 250, "cap": 2000},
              {"name": "batch", "bid": 1.5, "floor": 100, "cap": 4000, "baseline": 50}]}
            """)
        #expect(problem.capacity == 4000)
        #expect(problem.reserve == 0)
        #expect(problem.pods == [
            MarketPod(name: "web", bid: 3, floor: 250, cap: 2000, baseline: 0),
            MarketPod(name: "batch", bid: 1.5, floor: 100, cap: 4000, baseline: 50),
        ])
    }

    @Test("round trip: encoding then decoding gives the same problem")
    func roundTrip() throws {
        let problem = AllocationProblem(capacity: 1234.5, reserve: 100, pods: [
            MarketPod(name: "a", bid: 0.25, floor: 1, cap: 99.5, baseline: 2),
        ])
        let data = try JSONEncoder().encode(problem)
        #expect(try AllocationProblem.decode(json: data) == problem)
    }

    @Test("errors name the pod and the field", arguments: [
        (#"{"capacity": 1000, "pods": [{"name": "web", "bid": 1, "floor": 0}]}"#, MarketError.Code.missingField, "web", "cap"),
        (#"{"capacity": 1000, "pods": [{"name": "web", "bid": "high", "floor": 0, "cap": 9}]}"#, .wrongType, "web", "bid"),
        (#"{"capacity": 1000, "pods": [{"name": "web", "bid": 1, "floor": 0, "cpa": 9}]}"#, .unknownField, "web", "cpa"),
        (#"{"capacity": 1000, "pods": [{"name": "web", "bid": 1, "floor": 0, "cap": null}]}"#, .wrongType, "web", "cap"),
        (#"{"capacity": 1000, "pods": [{"bid": 1, "floor": 0, "cap": 9}]}"#, .missingField, "pods[0]", "name"),
        (#"{"capacity": 1000, "pods": [{"name": "a", "bid": 1, "floor": 0, "cap": 9}, {"name": "b", "bid": -1, "floor": 0, "cap": 9}]}"#, .negative, "b", "bid"),
        (#"{"capacity": 1000, "pods": [{"name": "web", "bid": 1, "floor": 500, "cap": 100}]}"#, .capBelowFloor, "web", "cap"),
        (#"{"capacity": 1000, "pods": [{"name": "web", "bid": 1, "floor": 0, "cap": 100, "baseline": 200}]}"#, .baselineAboveCap, "web", "baseline"),
        (#"{"capacity": 1000, "pods": [{"name": "web", "bid": 1, "floor": 0, "cap": 1e999}]}"#, .notFinite, "web", "cap"),
        (#"{"capacity": 1000, "pods": [{"name": "web", "bid": 1, "floor": 0, "cap": 9}, {"name": "web", "bid": 1, "floor": 0, "cap": 9}]}"#, .duplicateName, "web", "name"),
    ])
    func podErrors(json: String, code: MarketError.Code, pod: String, field: String) {
        let error = failure(json)
        #expect(error?.code == code)
        #expect(error?.pod == pod)
        #expect(error?.field == field)
        #expect(error?.description.contains(pod) == true)
        #expect(error?.description.contains(field) == true)
    }

    @Test("problem-level errors name the field")
    func problemErrors() {
        #expect(failure(#"{"pods": []}"#)?.field == "capacity")
        #expect(failure(#"{"capacity": 10}"#)?.field == "pods")
        #expect(failure(#"{"capacity": -10, "pods": []}"#)?.code == .negative)
        #expect(failure(#"{"capacity": 10, "reserve": 20, "pods": []}"#)?.code == .reserveExceedsCapacity)
        #expect(failure(#"{"capacity": 10, "pods": [], "extra": 1}"#)?.code == .unknownField)
        #expect(failure(#"{"capacity": 10, "pods": {}}"#)?.code == .wrongType)
        #expect(failure("not json")?.code == .malformedJSON)
        #expect(failure("[1, 2]")?.code == .wrongType)
    }

    @Test("the report encodes allocations in input order, the price and the flag as JSON values")
    func reportEncoding() throws {
        let problem = AllocationProblem(capacity: 1000, pods: [
            MarketPod(name: "z", bid: 3, floor: 0, cap: 1000),
            MarketPod(name: "a", bid: 1, floor: 0, cap: 1000),
        ])
        let allocation = try WaterFilling.solve(problem)
        let report = AllocationReport(problem: problem, allocation: allocation)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        let entries = try #require(object["allocations"] as? [[String: Any]])
        #expect(entries.map { $0["name"] as? String } == ["z", "a"])
        #expect((entries[0]["millicores"] as? NSNumber)?.doubleValue == allocation.millicores[0])
        #expect((object["shadow_price"] as? NSNumber)?.doubleValue == allocation.shadowPrice)
        #expect((object["overcommitted"] as? Bool) == false)
        #expect(try JSONDecoder().decode(AllocationReport.self, from: Data(report.json().utf8)) == report)
    }

    @Test("an infinite price is written as null, never omitted")
    func infinitePrice() throws {
        let problem = AllocationProblem(capacity: 100, pods: [MarketPod(name: "a", bid: 1, floor: 200, cap: 300)])
        let report = AllocationReport(problem: problem, allocation: try WaterFilling.solve(problem))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        #expect(object["shadow_price"] is NSNull)
        #expect((object["overcommitted"] as? Bool) == true)
    }

    @Test("the table has one aligned line per pod, the price and the over-commit flag")
    func table() throws {
        let problem = AllocationProblem(capacity: 1000, pods: [
            MarketPod(name: "frontend", bid: 3, floor: 0, cap: 1000),
            MarketPod(name: "db", bid: 1, floor: 0, cap: 1000),
        ])
        let allocation = try WaterFilling.solve(problem)
        let lines = AllocationReport.table(problem: problem, allocation: allocation).split(separator: "\n")
        #expect(lines[0].hasPrefix("POD"))
        #expect(lines[1].hasPrefix("frontend") && lines[1].hasSuffix(AllocationReport.fixed(allocation.millicores[0], decimals: 1)))
        #expect(lines[2].hasPrefix("db") && lines[2].hasSuffix(AllocationReport.fixed(allocation.millicores[1], decimals: 1)))
        #expect(Set(lines[0...2].map(\.count)).count == 1) // aligned columns
        #expect(lines.contains { $0.hasPrefix("shadow price: \(allocation.shadowPrice)") })
        #expect(lines.contains("overcommitted: no"))
    }

    @Test("fixed-point formatting rounds half away from zero")
    func fixedFormatting() {
        #expect(AllocationReport.fixed(749.96, decimals: 1) == "750.0")
        #expect(AllocationReport.fixed(0.04, decimals: 1) == "0.0")
        #expect(AllocationReport.fixed(-1.25, decimals: 1) == "-1.3")
        #expect(AllocationReport.fixed(12.5, decimals: 0) == "13")
        #expect(AllocationReport.compact(250) == "250")
        #expect(AllocationReport.compact(0.5) == "0.5")
    }
}
