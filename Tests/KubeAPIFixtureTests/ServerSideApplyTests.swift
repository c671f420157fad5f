import Foundation
import KubeAPIFixture
import Testing

/// Server-side apply as the fixture models it: create or merge, a managedFields entry per
/// manager, fieldManager required.
@Suite struct ServerSideApplyTests {
    let pods = "/api/v1/namespaces/default/pods"
    let allocations = "/apis/mbcas.io/v1alpha1/namespaces/default/podallocations"
    let apply = "application/apply-patch+yaml"

    @Test func applyCreatesThenMergesAndRecordsManagers() async throws {
        let server = try await FakeKubeAPIServer.start()
        let client = TestClient(base: server.baseURL)
        let created = try await client.send("PATCH", "\(pods)/web?fieldManager=mbcas", body: pod("web", labels: ["a": "1"]),
                                            contentType: apply)
        #expect(created.code == 201)
        #expect(created.body[path: ["status", "phase"]] == "Pending")
        let entries = created.body[path: ["metadata", "managedFields"]]?.array ?? []
        #expect(entries.count == 1)
        #expect(entries.first?["manager"] == "mbcas")
        #expect(entries.first?["operation"] == "Apply")
        #expect(entries.first?["apiVersion"] == "v1")
        #expect(entries.first?["fieldsType"] == "FieldsV1")
        #expect(entries.first?["time"]?.string?.isEmpty == false)

        let labelled: JSON = ["apiVersion": "v1", "kind": "Pod", "metadata": ["name": "web", "labels": ["b": "2"]]]
        let updated = try await client.send("PATCH", "\(pods)/web?fieldManager=other&force=true", body: labelled, contentType: apply)
        #expect(updated.code == 200)
        #expect(updated.body[path: ["metadata", "labels"]] == ["a": "1", "b": "2"])
        #expect(updated.body[path: ["spec", "containers"]] == created.body[path: ["spec", "containers"]])
        #expect(updated.body[path: ["metadata", "managedFields"]]?.array?.compactMap { $0["manager"]?.string } == ["mbcas", "other"])

        // The same configuration again changes nothing, not even the revision.
        let again = try await client.send("PATCH", "\(pods)/web?fieldManager=other", body: labelled, contentType: apply)
        #expect(again.code == 200)
        #expect(again.body[path: ["metadata", "resourceVersion"]] == updated.body[path: ["metadata", "resourceVersion"]])
        await server.shutdown()
    }

    @Test func fieldManagerIsRequiredAndForceOnlyForApply() async throws {
        let server = try await FakeKubeAPIServer.start()
        let client = TestClient(base: server.baseURL)
        let missing = try await client.send("PATCH", "\(pods)/web", body: pod("web"), contentType: apply)
        #expect(missing.code == 422)
        #expect(missing.body["reason"] == "Invalid")
        #expect(missing.body[path: ["details", "kind"]] == "PatchOptions")
        #expect(missing.body[path: ["details", "causes"]]?.array?.first?["field"] == "fieldManager")
        #expect(missing.body["message"]?.string?.contains("fieldManager") == true)
        #expect(throws: StatusError.self) { try server.store.get(.pods, namespace: "default", name: "web") }

        _ = try await client.send("POST", pods, body: pod("web"))
        let forcedMerge = try await client.send("PATCH", "\(pods)/web?force=true", body: ["metadata": [:]],
                                                contentType: "application/merge-patch+json")
        #expect(forcedMerge.code == 422)
        #expect(forcedMerge.body[path: ["details", "causes"]]?.array?.first?["field"] == "force")
        await server.shutdown()
    }

    @Test func customResourcesApplyWithMergeRules() async throws {
        let server = try await FakeKubeAPIServer.start()
        let client = TestClient(base: server.baseURL)
        let allocation: JSON = ["apiVersion": "mbcas.io/v1alpha1", "kind": "PodAllocation", "metadata": ["name": "web"],
                                "spec": ["containers": [["name": "app", "cpuLimit": "500m"]], "reason": "guardrail"]]
        #expect(try await client.send("PATCH", "\(allocations)/web?fieldManager=mbcas-agent", body: allocation,
                                      contentType: apply).code == 201)
        var next = allocation
        next[path: ["spec", "containers"]] = [["name": "app", "cpuLimit": "700m"]]
        next[path: ["spec", "reason"]] = nil
        let updated = try await client.send("PATCH", "\(allocations)/web?fieldManager=mbcas-agent", body: next, contentType: apply)
        #expect(updated.code == 200)
        #expect(updated.body[path: ["spec", "containers"]] == [["name": "app", "cpuLimit": "700m"]])
        // Not modelled: a field the manager stops applying stays (no field ownership).
        #expect(updated.body[path: ["spec", "reason"]] == "guardrail")
        #expect(updated.body[path: ["metadata", "generation"]] == 2)

        let status = try await client.send("PATCH", "\(allocations)/web/status?fieldManager=mbcas-controller",
                                           body: ["apiVersion": "mbcas.io/v1alpha1", "kind": "PodAllocation",
                                                  "metadata": ["name": "web"], "status": ["phase": "Applied"]],
                                           contentType: apply)
        #expect(status.code == 200)
        #expect(status.body[path: ["status", "phase"]] == "Applied")
        #expect(status.body[path: ["metadata", "managedFields"]]?.array?.last?["subresource"] == "status")
        await server.shutdown()
    }

    @Test func nonJSONBodiesAreAFixtureLimit() async throws {
        let server = try await FakeKubeAPIServer.start()
        let yaml = Data("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n".utf8)
        let refused = try await TestClient(base: server.baseURL).send("PATCH", "\(pods)/web?fieldManager=m", bytes: yaml,
                                                                      contentType: apply)
        #expect(refused.code == 415)
        #expect(refused.body["message"]?.string?.contains("as JSON only") == true)
        await server.shutdown()
    }
}
