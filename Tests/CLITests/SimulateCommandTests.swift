import Foundation
import ProcessControl
import TestSupport
import Testing

/// `mbcas simulate` run as a user runs it: JSON out, classes declared on the command line.
@Suite("mbcas simulate")
struct SimulateCommandTests {
    func mbcas() throws -> String {
        try #require(builtProduct("mbcas"), "the mbcas executable was not built next to the tests")
    }

    @Test("--class declares a pod's class: hand weights and class hints then run, and the latency pods' SLO is reported")
    func declaredClass() throws {
        let result = try runCommand(try mbcas(), ["simulate", "--scenario", "bursty", "--duration", "10", "--json",
                                                  "--class", "pod-0=latency", "--class", "pod-1=batch"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let scenario = try #require((object["scenarios"] as? [[String: Any]])?.first)
        let policies = try #require(scenario["policies"] as? [[String: Any]])
        #expect(policies.map { $0["policy"] as? String } == ["static", "static-burst", "koordinator-like", "hpa-like", "vpa-like", "poll-1s", "push", "fair-share",
                                                             "fair-share-hand", "poll-weights-1s", "push-weights",
                                                             "push-weights-hints"])
        #expect(policies.allSatisfy { $0["latency_slo_violation_s"] is NSNumber })
    }

    @Test("--class naming no pod of any trace, or no class: exit status 1 with the reason")
    func badClass() throws {
        let unknown = try runCommand(try mbcas(), ["simulate", "--scenario", "step", "--duration", "5", "--class", "web=latency"])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("\"web\"") && unknown.stderr.contains("pod-0"))
        let malformed = try runCommand(try mbcas(), ["simulate", "--duration", "5", "--class", "pod-0=fast"])
        #expect(malformed.status != 0)
        #expect(malformed.stderr.contains("POD=latency or POD=batch"))
    }
}
