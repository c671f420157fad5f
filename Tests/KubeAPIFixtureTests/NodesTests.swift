import Foundation
import KubeAPIFixture
import Testing

/// Nodes: a cluster-scoped type, served at the real API's paths with its 404 shapes, and RBAC
/// refusals in the real authorizer's words.
@Suite struct NodesTests {
    @Test("nodes live at /api/v1/nodes/{name}: no namespace, 404 for a namespaced path, the real NotFound body")
    func clusterScopedPaths() async throws {
        let server = try await FakeKubeAPIServer.start()
        let client = TestClient(base: server.baseURL)
        // A namespace in the body is cleared, as rest.BeforeCreate does for cluster-scoped objects.
        let created = try await client.send("POST", "/api/v1/nodes", body: ["metadata": ["name": "n1", "namespace": "default"]])
        #expect(created.code == 201)
        #expect(created.body[path: ["metadata", "namespace"]] == nil)
        #expect(created.body["kind"] == "Node")
        try KubeletStandIn.registerNode(store: server.store, name: "n1", allocatableCPU: "1930m", capacityCPU: "2")

        let fetched = try await client.send("GET", "/api/v1/nodes/n1")
        #expect(fetched.code == 200)
        #expect(fetched.body[path: ["status", "allocatable", "cpu"]] == "1930m")
        #expect(fetched.body[path: ["status", "capacity", "cpu"]] == "2")
        let listed = try await client.send("GET", "/api/v1/nodes")
        #expect(listed.body["kind"] == "NodeList" && listed.body["items"]?.array?.count == 1)

        let missing = try await client.send("GET", "/api/v1/nodes/n2")
        #expect(missing.code == 404)
        #expect(missing.body == ["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure",
                                 "message": "nodes \"n2\" not found", "reason": "NotFound",
                                 "details": ["name": "n2", "kind": "nodes"], "code": 404])
        // There is no such path for a cluster-scoped type: the generic "could not find" 404.
        let namespaced = try await client.send("GET", "/api/v1/namespaces/default/nodes/n1")
        #expect(namespaced.code == 404)
        #expect(namespaced.body["message"] == "the server could not find the requested resource")
        // metadata.namespace is no selectable field of a cluster-scoped type; metadata.name is.
        let badField = try await client.send("GET", "/api/v1/nodes?fieldSelector=metadata.namespace%3Dx")
        #expect(badField.code == 400)
        let byName = try await client.send("GET", "/api/v1/nodes?fieldSelector=metadata.name%3Dn1")
        #expect(byName.body["items"]?.array?.count == 1)
        // Discovery says so (kubectl decides paths from it).
        let discovery = try await client.send("GET", "/api/v1")
        let entry = discovery.body["resources"]?.array?.first { $0["name"] == "nodes" }
        #expect(entry?["namespaced"] == false)
        await server.shutdown()
    }

    @Test("a watch of one node by fieldSelector metadata.name sees its status change")
    func watchOneNode() async throws {
        let server = try await FakeKubeAPIServer.start()
        let client = TestClient(base: server.baseURL)
        let node = try KubeletStandIn.registerNode(store: server.store, name: "n1", allocatableCPU: "2")
        try KubeletStandIn.registerNode(store: server.store, name: "other", allocatableCPU: "8")
        let version = node[path: ["metadata", "resourceVersion"]]?.string ?? ""
        try KubeletStandIn.registerNode(store: server.store, name: "n1", allocatableCPU: "1500m")
        let events = try await client.watch("/api/v1/nodes?watch=true&timeoutSeconds=1&fieldSelector=metadata.name%3Dn1&resourceVersion=\(version)")
        #expect(events.map { $0["type"] } == ["MODIFIED"])
        #expect(events.first?[path: ["object", "status", "allocatable", "cpu"]] == "1500m")
        await server.shutdown()
    }

    @Test("RBAC: a restricted token gets the real 403 for what its rules do not grant, naming user, verb, resource, group and scope")
    func rbacRefusals() async throws {
        let server = try await FakeKubeAPIServer.start()
        try KubeletStandIn.registerNode(store: server.store, name: "n1", allocatableCPU: "2")
        let user = "system:serviceaccount:mbcas-system:mbcas-agent"
        server.authorization.restrict(token: "agent", user: user, to: [
            .init(apiGroups: [""], resources: ["nodes"], verbs: ["watch"]),
            .init(apiGroups: ["mbcas.io"], resources: ["podallocations"], verbs: ["create"]),
        ])
        let agent = TestClient(base: server.baseURL, token: "agent")
        let get = try await agent.send("GET", "/api/v1/nodes/n1")
        #expect(get.code == 403)
        #expect(get.body == ["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Failure",
                             "message": .string("nodes \"n1\" is forbidden: User \"\(user)\" cannot get resource \"nodes\" in API group \"\" at the cluster scope"),
                             "reason": "Forbidden", "details": ["name": "n1", "kind": "nodes"], "code": 403])
        let list = try await agent.send("GET", "/api/v1/nodes")
        #expect(list.body["message"] == .string("nodes is forbidden: User \"\(user)\" cannot list resource \"nodes\" in API group \"\" at the cluster scope"))
        // Granted: the watch goes through.
        let watch = try await agent.watch("/api/v1/nodes?watch=true&timeoutSeconds=1&fieldSelector=metadata.name%3Dn1")
        #expect(watch.first?["type"] == "ADDED")
        // Namespaced and subresource refusals say the namespace and the subresource.
        let pods = try await agent.send("GET", "/api/v1/namespaces/shop/pods")
        #expect(pods.body["message"] == .string("pods is forbidden: User \"\(user)\" cannot list resource \"pods\" in API group \"\" in the namespace \"shop\""))
        let status = try await agent.send("PATCH", "/apis/mbcas.io/v1alpha1/namespaces/shop/podallocations/web/status",
                                          body: ["status": [:]], contentType: "application/merge-patch+json")
        #expect(status.code == 403)
        #expect(status.body["message"] == .string("podallocations.mbcas.io \"web\" is forbidden: User \"\(user)\" cannot patch resource \"podallocations/status\" in API group \"mbcas.io\" in the namespace \"shop\""))
        #expect(status.body["details"] == ["name": "web", "group": "mbcas.io", "kind": "podallocations"])
        // A namespaced grant (Role + RoleBinding) allows its namespace only.
        server.authorization.restrict(token: "agent", user: user, to: [
            .init(apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get"], namespace: "mbcas-system"),
        ])
        #expect(try await agent.send("GET", "/apis/coordination.k8s.io/v1/namespaces/mbcas-system/leases/x").code == 404)
        let elsewhere = try await agent.send("GET", "/apis/coordination.k8s.io/v1/namespaces/default/leases/x")
        #expect(elsewhere.code == 403)
        #expect(elsewhere.body["message"] == .string("leases.coordination.k8s.io \"x\" is forbidden: User \"\(user)\" cannot get resource \"leases\" in API group \"coordination.k8s.io\" in the namespace \"default\""))
        // Other tokens, and none, are not restricted.
        #expect(try await TestClient(base: server.baseURL).send("GET", "/api/v1/nodes/n1").code == 200)
        await server.shutdown()
    }
}
