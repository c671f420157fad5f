import Foundation
@testable import KubeAPIFixture
import Testing

/// Strategic merge patch: the merge rules on their own, then through the API's subresources.
@Suite struct StrategicMergeTests {
    let pods = "/api/v1/namespaces/default/pods"
    let strategic = "application/strategic-merge-patch+json"

    static let twoContainers: JSON = [
        "metadata": ["name": "web", "labels": ["a": "1", "b": "2"]],
        "spec": [
            "containers": [
                ["name": "app", "image": "app:1",
                 "env": [["name": "A", "value": "1"], ["name": "B", "value": "2"]],
                 "ports": [["containerPort": 80], ["containerPort": 443]]],
                ["name": "sidecar", "image": "proxy:1"],
            ],
            "tolerations": [["key": "x", "operator": "Exists"]],
        ],
    ]

    @Test func listsWithAMergeKeyMergeByIt() throws {
        let patch: JSON = ["spec": ["containers": [
            ["name": "app", "env": [["name": "B", "value": "20"], ["name": "C", "value": "3"]], "ports": [["containerPort": 8080]]],
            ["name": "init-like", "image": "new:1"],
        ]]]
        let merged = try StrategicMerge.apply(patch, to: Self.twoContainers, type: .pods)
        let containers = merged[path: ["spec", "containers"]]?.array ?? []
        #expect(containers.compactMap { $0["name"]?.string } == ["app", "sidecar", "init-like"])
        #expect(containers[0]["image"] == "app:1")
        #expect(containers[0]["env"] == [["name": "A", "value": "1"], ["name": "B", "value": "20"], ["name": "C", "value": "3"]])
        #expect(containers[0]["ports"] == [["containerPort": 80], ["containerPort": 443], ["containerPort": 8080]])
        #expect(containers[1] == ["name": "sidecar", "image": "proxy:1"])
    }

    @Test func directivesAndNullsAndReplacedLists() throws {
        let patch: JSON = [
            "metadata": ["labels": ["a": nil, "c": "3"]],
            "spec": [
                "containers": [["name": "sidecar", "$patch": "delete"],
                               ["name": "app", "env": [["name": "A", "$patch": "delete"]]]],
                "tolerations": [["key": "y", "operator": "Exists"]],
            ],
        ]
        let merged = try StrategicMerge.apply(patch, to: Self.twoContainers, type: .pods)
        #expect(merged[path: ["metadata", "labels"]] == ["b": "2", "c": "3"])
        let containers = merged[path: ["spec", "containers"]]?.array ?? []
        #expect(containers.compactMap { $0["name"]?.string } == ["app"])
        #expect(containers.first?["env"] == [["name": "B", "value": "2"]])
        // tolerations have no merge key: the patch's list replaces the live one.
        #expect(merged[path: ["spec", "tolerations"]] == [["key": "y", "operator": "Exists"]])

        let replaceList: JSON = ["spec": ["containers": [["$patch": "replace"], ["name": "only", "image": "x"]]]]
        let replaced = try StrategicMerge.apply(replaceList, to: Self.twoContainers, type: .pods)
        #expect(replaced[path: ["spec", "containers"]] == [["name": "only", "image": "x"]])
        let replaceMap: JSON = ["metadata": ["labels": ["$patch": "replace", "z": "26"]]]
        #expect(try StrategicMerge.apply(replaceMap, to: Self.twoContainers, type: .pods)[path: ["metadata", "labels"]] == ["z": "26"])
        let deleteMap: JSON = ["metadata": ["labels": ["$patch": "delete"]]]
        #expect(try StrategicMerge.apply(deleteMap, to: Self.twoContainers, type: .pods)[path: ["metadata", "labels"]] == nil)
    }

    @Test func resizeMergesContainersByName() async throws {
        let server = try await FakeKubeAPIServer.start()
        let client = TestClient(base: server.baseURL)
        var twoContainers = pod("web")
        twoContainers[path: ["spec", "containers"]] = [
            ["name": "app", "image": "busybox", "resources": ["requests": ["cpu": "500m", "memory": "64Mi"], "limits": ["cpu": "1"]]],
            ["name": "sidecar", "image": "busybox", "resources": ["requests": ["cpu": "100m"]]],
        ]
        _ = try await client.send("POST", pods, body: twoContainers)
        // Only the named container is touched, and only the named quantity inside it.
        let resized = try await client.send("PATCH", "\(pods)/web/resize",
                                            body: ["spec": ["containers": [["name": "app", "resources": ["limits": ["cpu": "2"]]]]]],
                                            contentType: strategic)
        #expect(resized.code == 200, "\(resized.body)")
        let containers = resized.body[path: ["spec", "containers"]]?.array ?? []
        #expect(containers.first?["resources"] == ["requests": ["cpu": "500m", "memory": "64Mi"], "limits": ["cpu": "2"]])
        #expect(containers.last?["resources"] == ["requests": ["cpu": "100m"]])
        #expect(resized.body[path: ["metadata", "generation"]] == 2)

        // Dropping a container is not a resize: 422 from the resize rules, after the merge.
        let dropped = try await client.send("PATCH", "\(pods)/web/resize",
                                            body: ["spec": ["containers": [["name": "sidecar", "$patch": "delete"]]]],
                                            contentType: strategic)
        #expect(dropped.code == 422)
        let noKey = try await client.send("PATCH", "\(pods)/web/resize",
                                          body: ["spec": ["containers": [["resources": [:]]]]], contentType: strategic)
        #expect(noKey.code == 500)
        #expect(noKey.body["message"]?.string?.hasSuffix("does not contain declared merge key: name") == true)
        await server.shutdown()
    }

    @Test func statusConditionsMergeByType() async throws {
        let server = try await FakeKubeAPIServer.start()
        let client = TestClient(base: server.baseURL)
        _ = try await client.send("POST", pods, body: pod("web"))
        let ready: JSON = ["status": ["conditions": [["type": "Ready", "status": "True"]]]]
        _ = try await client.send("PATCH", "\(pods)/web/status", body: ready, contentType: strategic)
        let pending: JSON = ["status": ["conditions": [["type": "PodResizePending", "status": "True", "reason": "Deferred"]]]]
        let patched = try await client.send("PATCH", "\(pods)/web/status", body: pending, contentType: strategic)
        #expect(patched.code == 200)
        #expect(patched.body[path: ["status", "conditions"]]?.array?.compactMap { $0["type"]?.string } == ["Ready", "PodResizePending"])
        #expect(patched.body[path: ["status", "phase"]] == "Pending")
        await server.shutdown()
    }

    @Test func customResourcesAnswer415() async throws {
        let server = try await FakeKubeAPIServer.start()
        let client = TestClient(base: server.baseURL)
        let allocations = "/apis/mbcas.io/v1alpha1/namespaces/default/podallocations"
        _ = try await client.send("POST", allocations, body: ["apiVersion": "mbcas.io/v1alpha1", "kind": "PodAllocation",
                                                              "metadata": ["name": "a"], "spec": [:]])
        let refused = try await client.send("PATCH", "\(allocations)/a", body: ["spec": ["x": 1]], contentType: strategic)
        #expect(refused.code == 415)
        #expect(refused.body["reason"] == "UnsupportedMediaType")
        #expect(refused.body["message"]?.string?.contains("strategic-merge-patch") == false)
        await server.shutdown()
    }
}
