import Foundation
import Testing

/// deploy/crd/sample-podallocation.yaml against the CRD's openAPIV3Schema (with unknown fields
/// refused, as kubectl's strict field validation does), and broken copies of it rejected.
@Suite(.enabled(if: DeployCheck.canRun, "no .venv/bin/python or kubectl (make deps creates the venv)"))
struct PodAllocationSampleTests {
    static let samplePath = DeployCheck.repository.appendingPathComponent("deploy/crd/sample-podallocation.yaml").path

    @Test("the sample validates against the CRD")
    func sampleValidates() throws {
        let result = try DeployCheck.run(["crd-sample", Self.samplePath])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("ok crd-sample: 1 sample file(s) valid"), "\(result.stdout)")
    }

    @Test("the checker is not lenient: the valid sample fails --expect-invalid")
    func validSampleIsNotInvalid() throws {
        let result = try DeployCheck.run(["crd-sample", "--expect-invalid", Self.samplePath])
        #expect(result.status == 1)
        #expect(result.stdout.contains("accepted, but it is meant to be invalid"), "\(result.stdout)")
    }

    @Test("broken samples are rejected", arguments: [
        ("sub-millicore quantity", "cpuLimit: 1300m", "cpuLimit: 1.5m", "spec.containers.0.cpuLimit: '1.5m' does not match"),
        ("not a quantity", "cpuLimit: 1300m", "cpuLimit: abc", "spec.containers.0.cpuLimit: 'abc' does not match"),
        ("negative quantity", "cpuLimit: 1300m", "cpuLimit: \"-1\"", "spec.containers.0.cpuLimit: '-1' does not match"),
        ("unknown phase", "phase: Applied", "phase: Done", "status.phase: 'Done' is not one of"),
        ("sub-millicore floor", "cpuFloor: 350m", "cpuFloor: 0.5m", "spec.cpuFloor: '0.5m' does not match"),
        ("sub-millicore request", "cpuRequest: 250m\n      cpuLimit: 1300m\n    - name: log", "cpuRequest: 2.5m\n      cpuLimit: 1300m\n    - name: log",
         "spec.containers.0.cpuRequest: '2.5m' does not match"),
        ("unknown reason", "reason: guardrail", "reason: whim", "spec.reason: 'whim' is not one of"),
        ("missing podUID", "  podUID: 3f1c2a9e-5b7d-4e21-9a0c-8d6e4f2b1a07\n", "", "spec: 'podUID' is a required property"),
        ("missing cpuLimit", "      cpuLimit: \"1\"\n  reason", "  reason", "'cpuLimit' is a required property"),
        ("no containers", "  containers:\n    - name: web\n      cpuRequest: 250m\n      cpuLimit: 1300m\n    - name: log-shipper\n      cpuLimit: \"1\"\n",
         "  containers: []\n", "spec.containers: [] should be non-empty"),
        ("negative shadow price", "shadowPrice: 0.42", "shadowPrice: -1", "spec.shadowPrice: -1 is less than the minimum of 0"),
        ("not a timestamp", "decisionTime: \"2025-06-01T12:00:00.123456Z\"", "decisionTime: yesterday", "spec.decisionTime: 'yesterday' is not a 'date-time'"),
        ("misspelt field", "shadowPrice: 0.42", "shadowPrice: 0.42\n  shadowPrise: 1", "'shadowPrise' was unexpected"),
        ("two entries for one container", "    - name: log-shipper\n      cpuLimit: \"1\"\n  reason",
         "    - name: web\n      cpuLimit: \"1\"\n  reason", "spec.containers: duplicate entry web"),
    ])
    func brokenSampleRejected(description: String, old: String, new: String, expected: String) throws {
        let sample = try String(contentsOfFile: Self.samplePath, encoding: .utf8)
        let range = try #require(sample.range(of: old), "\(description): \(old.debugDescription) not in the sample")
        let file = try DeployCheck.temporaryFile(sample.replacingCharacters(in: range, with: new), name: "broken.yaml")
        let result = try DeployCheck.run(["crd-sample", file])
        #expect(result.status == 1, "\(description) accepted: \(result.stdout)")
        #expect(result.stdout.contains(expected), "\(description): \(result.stdout)")
    }
}
