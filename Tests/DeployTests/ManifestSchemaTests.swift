import Foundation
import Testing

/// Every object `kubectl kustomize deploy/` renders, against the Kubernetes JSON schemas of the
/// oldest supported release (1.33, pods/resize) and the newest kubernetes-validate ships, in
/// strict mode (unknown fields refused); PodAllocations against the CRD's own schema.
@Suite(.enabled(if: DeployCheck.canRun, "no .venv/bin/python or kubectl (make deps creates the venv)"))
struct ManifestSchemaTests {
    @Test("deploy/ validates against the 1.33 and newest strict schemas")
    func renderedManifestsValidate() throws {
        let result = try DeployCheck.run(["schemas"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let summary = try #require(result.stdout.split(separator: "\n").first { $0.hasPrefix("ok schemas:") })
        #expect(summary.contains("1.33 and 1.37"), "\(summary)")
        for kind in ["CustomResourceDefinition", "DaemonSet", "Deployment", "ClusterRole", "ClusterRoleBinding",
                     "Role", "RoleBinding", "ServiceAccount", "Namespace"] {
            #expect(summary.contains(kind), "\(kind) missing from what was validated: \(summary)")
        }
    }

    @Test("a broken manifest is rejected", arguments: [
        Mutation(description: "a string where an integer belongs", kind: "Deployment", name: "mbcas-controller",
                 old: "replicas: 2", new: "replicas: two", expected: "spec.replicas: 'two' is not of type 'integer'"),
        Mutation(description: "a misspelt field (strict mode)", kind: "DaemonSet", name: "mbcas-agent",
                 old: "hostNetwork: false", new: "hostNetwork: false\n      hostNetwrk: true",
                 expected: "'hostNetwrk' was unexpected"),
        Mutation(description: "an API version that does not exist", kind: "DaemonSet", name: "mbcas-agent",
                 old: "apiVersion: apps/v1", new: "apiVersion: apps/v2", expected: "Couldn't find schema for kind DaemonSet"),
        Mutation(description: "a printer column naming no field of the CRD", kind: "CustomResourceDefinition",
                 name: "podallocations.mbcas.io", old: "jsonPath: .status.phase", new: "jsonPath: .status.stage",
                 expected: "printer column Phase: .status.stage is not in the schema"),
        Mutation(description: "a CRD schema node without a type (not structural)", kind: "CustomResourceDefinition",
                 name: "podallocations.mbcas.io", old: "              nodeName:\n                type: string\n",
                 new: "              nodeName:\n                description: untyped\n",
                 expected: "v1alpha1.spec.nodeName: no type"),
    ])
    func brokenManifestRejected(mutation: Mutation) throws {
        let file = try DeployCheck.temporaryFile(try mutation.apply(to: DeployCheck.render()))
        let result = try DeployCheck.run(["schemas", "--input", file])
        #expect(result.status == 1, "accepted: \(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains(mutation.expected), "\(result.stdout)\(result.stderr)")
    }

    @Test("a PodAllocation in the set is validated against its CRD, not skipped")
    func customObjectsCheckedAgainstTheirCRD() throws {
        let sample = try String(contentsOf: DeployCheck.repository.appendingPathComponent("deploy/crd/sample-podallocation.yaml"),
                                encoding: .utf8)
        let rendered = try DeployCheck.render()
        let good = try DeployCheck.run(["schemas", "--input", try DeployCheck.temporaryFile(rendered + "---\n" + sample)])
        #expect(good.status == 0, "\(good.stdout)\(good.stderr)")
        #expect(good.stdout.contains("PodAllocation"), "\(good.stdout)")
        let broken = sample.replacingOccurrences(of: "phase: Applied", with: "phase: Done")
        #expect(broken != sample)
        let bad = try DeployCheck.run(["schemas", "--input", try DeployCheck.temporaryFile(rendered + "---\n" + broken)])
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("against its CRD: status.phase: 'Done' is not one of"), "\(bad.stdout)")
    }
}
