import Foundation
import KubeAPIFixture
import Testing

/// The fixture's API rules, checked over loopback HTTP.
@Suite struct HTTPSemanticsTests {
    let pods = "/api/v1/namespaces/default/pods"
    let allocations = "/apis/mbcas.io/v1alpha1/namespaces/default/podallocations"

    @Test func createGetAndStaleUpdateConflict() async throws {
        let server = try await FakeKubeAPIServer.start()
        let client = TestClient(base: server.baseURL)
        let created = try await client.send("POST", pods, body: pod("web"))
        #expect(created.code == 201)
        #expect(created.body[path: ["metadata", "generation"]] == 1)
        #expect(created.body[path: ["metadata", "uid"]]?.string?.isEmpty == false)
        #expect(created.body[path: ["status", "phase"]] == "Pending")
        let again = try await client.send("POST", pods, body: pod("web"))
        #expect(again.code == 409)
        #expect(again.body["reason"] == "AlreadyExists")

        let fetched = try await client.send("GET", "\(pods)/web")
        #expect(fetched.body == created.body)

        var first = fetched.body
        first[path: ["metadata", "labels"]] = ["tier": "a"]
        let updated = try await client.send("PUT", "\(pods)/web", body: first)
        #expect(updated.code == 200)
        #expect(updated.body[path: ["metadata", "resourceVersion"]] != created.body[path: ["metadata", "resourceVersion"]])
        // Same stale resourceVersion again: the real server's optimistic concurrency answer.
        first[path: ["metadata", "labels"]] = ["tier": "b"]
        let stale = try await client.send("PUT", "\(pods)/web", body: first)
        #expect(stale.code == 409)
        #expect(stale.body["reason"] == "Conflict")
        #expect(stale.body["kind"] == "Status")
        let missing = try await client.send("PUT", "\(pods)/nope", body: pod("nope"))
        #expect(missing.code == 404)
        #expect(missing.body["reason"] == "NotFound")
        await server.shutdown()
    }

    @Test func mergeAndJSONPatch() async throws {
        let server = try await FakeKubeAPIServer.start()
        let client = TestClient(base: server.baseURL)
        _ = try await client.send("POST", pods, body: pod("web", labels: ["a": "1", "b": "2"]))
        let merged = try await client.send("PATCH", "\(pods)/web", body: ["metadata": ["labels": ["a": nil, "c": "3"]]],
                                           contentType: "application/merge-patch+json")
        #expect(merged.code == 200)
        #expect(merged.body[path: ["metadata", "labels"]] == ["b": "2", "c": "3"])

        let jsonPatch: JSON = [
            ["op": "test", "path": "/metadata/labels/b", "value": "2"],
            ["op": "replace", "path": "/metadata/labels/b", "value": "20"],
            ["op": "add", "path": "/metadata/annotations", "value": ["x~y/z": "1"]],
            ["op": "remove", "path": "/metadata/labels/c"],
        ]
        let patched = try await client.send("PATCH", "\(pods)/web", body: jsonPatch, contentType: "application/json-patch+json")
        #expect(patched.code == 200)
        #expect(patched.body[path: ["metadata", "labels"]] == ["b": "20"])
        #expect(patched.body[path: ["metadata", "annotations", "x~y/z"]] == "1")

        let failedTest = try await client.send("PATCH", "\(pods)/web", body: [["op": "test", "path": "/metadata/labels/b", "value": "2"]],
                                               contentType: "application/json-patch+json")
        #expect(failedTest.code == 422)
        let notAPatch = try await client.send("PATCH", "\(pods)/web", body: ["metadata": [:]], contentType: "application/json")
        #expect(notAPatch.code == 415)
        #expect(notAPatch.body["reason"] == "UnsupportedMediaType")
        await server.shutdown()
    }

    @Test func listPaginationAndSelectors() async throws {
        let server = try await FakeKubeAPIServer.start()
        let client = TestClient(base: server.baseURL)
        for index in 0..<5 {
            _ = try await client.send("POST", pods, body: pod("p\(index)", node: index % 2 == 0 ? "node-a" : "node-b",
                                                              labels: ["app": index < 3 ? "x" : "y"]))
        }
        var names: [String] = []
        var token: String?
        var listRV: JSON?
        repeat {
            let query = "?limit=2" + (token.map { "&continue=\($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" } ?? "")
            let page = try await client.send("GET", "/api/v1/pods" + query)
            #expect(page.code == 200)
            #expect((page.body["items"]?.array?.count ?? 0) <= 2)
            names += page.body["items"]?.array?.compactMap { $0[path: ["metadata", "name"]]?.string } ?? []
            if let listRV { #expect(page.body[path: ["metadata", "resourceVersion"]] == listRV) }
            listRV = page.body[path: ["metadata", "resourceVersion"]]
            token = page.body[path: ["metadata", "continue"]]?.string
        } while token != nil
        #expect(names == ["p0", "p1", "p2", "p3", "p4"])

        let onNodeB = try await client.send("GET", "\(pods)?fieldSelector=spec.nodeName%3Dnode-b")
        #expect(onNodeB.body["items"]?.array?.compactMap { $0[path: ["metadata", "name"]]?.string } == ["p1", "p3"])
        let labelled = try await client.send("GET", "\(pods)?labelSelector=app%3Dy")
        #expect(labelled.body["items"]?.array?.count == 2)
        let badField = try await client.send("GET", "\(pods)?fieldSelector=spec.schedulerName%3Dx")
        #expect(badField.code == 400)
        await server.shutdown()
    }

    @Test func watchFromRevisionSeesLaterChanges() async throws {
        let server = try await FakeKubeAPIServer.start()
        let client = TestClient(base: server.baseURL)
        let created = try await client.send("POST", pods, body: pod("web"))
        let rv = created.body[path: ["metadata", "resourceVersion"]]!.string!
        // A change before the watch opens (replayed from history) and one after (live).
        _ = try await client.send("PATCH", "\(pods)/web", body: ["metadata": ["labels": ["v": "1"]]],
                                  contentType: "application/merge-patch+json")
        async let events = client.watch("\(pods)?watch=true&resourceVersion=\(rv)&timeoutSeconds=2")
        try await Task.sleep(for: .milliseconds(500))
        _ = try await client.send("DELETE", "\(pods)/web")
        let seen = try await events
        #expect(seen.map { $0["type"] } == ["MODIFIED", "DELETED"])
        #expect(seen.first?[path: ["object", "metadata", "labels", "v"]] == "1")
        await server.shutdown()
    }

    @Test func watchWithExpiredRevisionGets410ErrorEvent() async throws {
        let server = try await FakeKubeAPIServer.start(configuration: .init(historyCapacity: 2))
        let client = TestClient(base: server.baseURL)
        for index in 0..<4 { _ = try await client.send("POST", pods, body: pod("p\(index)")) }
        let events = try await client.watch("\(pods)?watch=1&resourceVersion=1&timeoutSeconds=5")
        #expect(events.count == 1)
        #expect(events.first?["type"] == "ERROR")
        #expect(events.first?[path: ["object", "code"]] == 410)
        #expect(events.first?[path: ["object", "reason"]] == "Expired")
        let list = try await client.send("GET", "\(pods)?limit=1&resourceVersion=1")
        #expect(list.code == 410)
        await server.shutdown()
    }

    @Test func bookmarksCarryTheCurrentRevision() async throws {
        let server = try await FakeKubeAPIServer.start(configuration: .init(bookmarkInterval: .milliseconds(200)))
        let client = TestClient(base: server.baseURL)
        _ = try await client.send("POST", pods, body: pod("web"))
        let events = try await client.watch("\(pods)?watch=true&resourceVersion=1&allowWatchBookmarks=true&timeoutSeconds=1")
        let bookmarks = events.filter { $0["type"] == "BOOKMARK" }
        #expect(!bookmarks.isEmpty)
        #expect(bookmarks.allSatisfy { $0[path: ["object", "metadata", "resourceVersion"]] == "1" })
        await server.shutdown()
    }

    @Test func statusSubresourceAndGeneration() async throws {
        let server = try await FakeKubeAPIServer.start()
        let client = TestClient(base: server.baseURL)
        let allocation: JSON = ["apiVersion": "mbcas.io/v1alpha1", "kind": "PodAllocation",
                                "metadata": ["name": "a"], "spec": ["cpuMillicores": 500], "status": ["applied": true]]
        let created = try await client.send("POST", allocations, body: allocation)
        #expect(created.code == 201)
        #expect(created.body["status"] == nil)

        let statusWrite = try await client.send("PATCH", "\(allocations)/a/status",
                                                body: ["spec": ["cpuMillicores": 900], "status": ["applied": true]],
                                                contentType: "application/merge-patch+json")
        #expect(statusWrite.body[path: ["status", "applied"]] == true)
        #expect(statusWrite.body[path: ["spec", "cpuMillicores"]] == 500)
        #expect(statusWrite.body[path: ["metadata", "generation"]] == 1)

        let specWrite = try await client.send("PATCH", "\(allocations)/a",
                                              body: ["spec": ["cpuMillicores": 700], "status": ["applied": false]],
                                              contentType: "application/merge-patch+json")
        #expect(specWrite.body[path: ["spec", "cpuMillicores"]] == 700)
        #expect(specWrite.body[path: ["status", "applied"]] == true)
        #expect(specWrite.body[path: ["metadata", "generation"]] == 2)

        let labelOnly = try await client.send("PATCH", "\(allocations)/a", body: ["metadata": ["labels": ["k": "v"]]],
                                              contentType: "application/merge-patch+json")
        #expect(labelOnly.body[path: ["metadata", "generation"]] == 2)
        await server.shutdown()
    }

    @Test func resizeValidatesAndNamesTheField() async throws {
        let server = try await FakeKubeAPIServer.start()
        let client = TestClient(base: server.baseURL)
        _ = try await client.send("POST", pods, body: pod("g", guaranteed: true))
        let resources = "/spec/containers/0/resources"
        let badCPU = try await client.send("PATCH", "\(pods)/g/resize",
                                           body: [["op": "replace", "path": "\(resources)/requests/cpu", "value": "lots"]],
                                           contentType: "application/json-patch+json")
        #expect(badCPU.code == 422)
        #expect(badCPU.body[path: ["details", "causes"]]?.array?.first?["field"] == "spec.containers[0].resources.requests.cpu")

        let qosChange = try await client.send("PATCH", "\(pods)/g/resize",
                                              body: [["op": "replace", "path": "\(resources)/requests/cpu", "value": "250m"]],
                                              contentType: "application/json-patch+json")
        #expect(qosChange.code == 422)
        #expect(qosChange.body["reason"] == "Invalid")
        #expect(qosChange.body[path: ["details", "causes"]]?.array?.first?["field"] == "spec")  // upstream's field.Invalid(spec, ...)

        let ok = try await client.send("PATCH", "\(pods)/g/resize",
                                       body: ["spec": ["containers": [["name": "app", "image": "busybox", "resources": [
                                           "requests": ["cpu": "2", "memory": "64Mi"], "limits": ["cpu": "2", "memory": "64Mi"]]]]]],
                                       contentType: "application/merge-patch+json")
        #expect(ok.code == 200)
        #expect(ok.body[path: ["spec", "containers"]]?.array?.first?[path: ["resources", "limits", "cpu"]] == "2")
        #expect(ok.body[path: ["metadata", "generation"]] == 2)

        let imageViaResize = try await client.send("PATCH", "\(pods)/g/resize",
                                                   body: [["op": "replace", "path": "/spec/containers/0/image", "value": "nginx"]],
                                                   contentType: "application/json-patch+json")
        #expect(imageViaResize.code == 422)
        let resourcesViaMain = try await client.send("PATCH", "\(pods)/g",
                                                     body: [["op": "replace", "path": "\(resources)/limits/cpu", "value": "3"]],
                                                     contentType: "application/json-patch+json")
        #expect(resourcesViaMain.code == 422)
        await server.shutdown()
    }

    /// The rest of `ValidatePodResize` that moving requests (the weights) meets: requests within
    /// limits (on create too), nothing removed, and a Burstable pod that would reach requests =
    /// limits everywhere becomes Guaranteed, which is a QoS change.
    @Test func resizeKeepsRequestsWithinLimitsAndTheQoSClass() async throws {
        let server = try await FakeKubeAPIServer.start()
        let client = TestClient(base: server.baseURL)
        var burstable = pod("b", cpu: "250m")
        burstable[path: ["spec", "containers"]] = [["name": "app", "image": "busybox", "resources": [
            "requests": ["cpu": "250m", "memory": "64Mi"], "limits": ["cpu": "500m", "memory": "64Mi"]]]]
        #expect(try await client.send("POST", pods, body: burstable).code == 201)
        let resources = "/spec/containers/0/resources"
        func resize(_ operations: JSON) async throws -> (code: Int, field: String?, message: String?) {
            let answer = try await client.send("PATCH", "\(pods)/b/resize", body: operations, contentType: "application/json-patch+json")
            let cause = answer.body[path: ["details", "causes"]]?.array?.first
            return (answer.code, cause?["field"]?.string, cause?["message"]?.string)
        }
        let above = try await resize([["op": "replace", "path": "\(resources)/requests/cpu", "value": "600m"]])
        #expect(above.code == 422)
        #expect(above.field == "spec.containers[0].resources.requests")
        #expect(above.message == "Invalid value: \"600m\": must be less than or equal to cpu limit of 500m")
        let removed = try await resize([["op": "remove", "path": "\(resources)/requests/cpu"]])
        #expect(removed.code == 422 && removed.message == "Forbidden: resource requests cannot be removed")
        let guaranteed = try await resize([["op": "replace", "path": "\(resources)/requests/cpu", "value": "500m"]])
        #expect(guaranteed.code == 422 && guaranteed.field == "spec")
        #expect(guaranteed.message == "Invalid value: \"Burstable\": Pod QOS Class may not change as a result of resizing")
        let weight = try await resize([["op": "replace", "path": "\(resources)/requests/cpu", "value": "499m"]])
        #expect(weight.code == 200)

        var invalid = pod("x")
        invalid[path: ["spec", "containers"]] = [["name": "app", "resources": ["requests": ["cpu": "2"], "limits": ["cpu": "1"]]]]
        #expect(try await client.send("POST", pods, body: invalid).code == 422)
        await server.shutdown()
    }

    @Test func deletingAPodCollectsOwnedAllocations() async throws {
        let server = try await FakeKubeAPIServer.start()
        let client = TestClient(base: server.baseURL)
        let created = try await client.send("POST", pods, body: pod("web"))
        let uid = created.body[path: ["metadata", "uid"]]!
        let owned: JSON = ["apiVersion": "mbcas.io/v1alpha1", "kind": "PodAllocation",
                           "metadata": ["name": "web", "ownerReferences": [["apiVersion": "v1", "kind": "Pod", "name": "web", "uid": uid]]],
                           "spec": [:]]
        let unowned: JSON = ["apiVersion": "mbcas.io/v1alpha1", "kind": "PodAllocation", "metadata": ["name": "other"], "spec": [:]]
        _ = try await client.send("POST", allocations, body: owned)
        _ = try await client.send("POST", allocations, body: unowned)
        let deleted = try await client.send("DELETE", "\(pods)/web")
        #expect(deleted.code == 200)
        #expect(deleted.body[path: ["metadata", "name"]] == "web")
        #expect(try await client.send("GET", "\(allocations)/web").code == 404)
        #expect(try await client.send("GET", "\(allocations)/other").code == 200)
        #expect(try await client.send("DELETE", "\(pods)/web").code == 404)
        await server.shutdown()
    }

    @Test func injectedFaultsAnswerThenClear() async throws {
        let server = try await FakeKubeAPIServer.start()
        let client = TestClient(base: server.baseURL)
        server.faults.inject(.tooManyRequests(retryAfterSeconds: 1), path: pods, count: 2)
        let first = try await client.send("GET", pods)
        #expect(first.code == 429)
        #expect(first.headers["Retry-After"] as? String == "1")
        #expect(try await client.send("GET", pods).code == 429)
        #expect(try await client.send("GET", pods).code == 200)
        server.faults.inject(.serviceUnavailable, path: pods)
        #expect(try await client.send("GET", pods).code == 503)
        await server.shutdown()
    }

    @Test func discoveryAndUnknownPaths() async throws {
        let server = try await FakeKubeAPIServer.start()
        let client = TestClient(base: server.baseURL)
        let core = try await client.send("GET", "/api/v1")
        let names = core.body["resources"]?.array?.compactMap { $0["name"]?.string } ?? []
        #expect(names.contains("pods") && names.contains("pods/status") && names.contains("pods/resize"))
        let groups = try await client.send("GET", "/apis")
        #expect(groups.body["groups"]?.array?.compactMap { $0["name"]?.string } == ["mbcas.io", "coordination.k8s.io"])
        #expect(try await client.send("GET", "/openapi/v2").code == 404)
        #expect(try await client.send("POST", "/api/v1/pods", body: pod("x")).code == 405)
        await server.shutdown()
    }
}
