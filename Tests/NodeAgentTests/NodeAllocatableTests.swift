import Foundation
import KubeAPIFixture
import KubernetesClient
import Logging
import NodeAgentKubernetes
import Synchronization
import TestSupport
import Testing

/// The node's allocatable cpu, what the Kubernetes agent's market divides: read from its Node
/// (cluster-scoped), followed as the kubelet re-reports it, and a refusal that names the grant.
@Suite("Kubernetes mode: the node's allocatable cpu")
struct NodeAllocatableTests {
    static func client(_ server: FakeKubeAPIServer, token: String? = nil) -> APIClient {
        APIClient(configuration: ClusterConfiguration(server: server.baseURL, token: token.map { TokenSource(token: $0) }),
                  retry: RetryPolicy(maxAttempts: 1), requestTimeout: .seconds(5), logger: Logger(label: "test"))
    }

    @Test("read: status.allocatable.cpu in millicores; a change by the kubelet reaches the follower")
    func readAndFollow() async throws {
        let server = try await FakeKubeAPIServer.start()
        try KubeletStandIn.registerNode(store: server.store, name: "node-a", allocatableCPU: "3920m", capacityCPU: "4")
        let node = NodeAllocatable(client: Self.client(server), nodeName: "node-a", logger: Logger(label: "test"))
        let (millicores, version) = try await node.read()
        #expect(millicores == 3920)
        let seen = Mutex<[Int]>([])
        let follower = Task { await node.follow(from: millicores, resourceVersion: version) { value in seen.withLock { $0.append(value) } } }
        // Another node's change and a status write that leaves allocatable alone are not news.
        try KubeletStandIn.registerNode(store: server.store, name: "node-b", allocatableCPU: "1")
        try KubeletStandIn.registerNode(store: server.store, name: "node-a", allocatableCPU: "3920m", capacityCPU: "8")
        try KubeletStandIn.registerNode(store: server.store, name: "node-a", allocatableCPU: "1930m", capacityCPU: "2")
        let followed = await eventually(timeout: .seconds(10)) { seen.withLock { $0 } == [1930] }
        follower.cancel()
        #expect(followed, "seen \(seen.withLock { $0 })")
        await server.shutdown()
    }

    @Test("a 403 names the missing RBAC verb and resource; a 404 names the node; no allocatable says to give --capacity")
    func refusalsNameTheFix() async throws {
        let server = try await FakeKubeAPIServer.start()
        try KubeletStandIn.registerNode(store: server.store, name: "node-a", allocatableCPU: "2")
        server.authorization.restrict(token: "agent", user: "system:serviceaccount:mbcas-system:mbcas-agent", to: [
            .init(apiGroups: [""], resources: ["nodes"], verbs: ["watch"]),
        ])
        let forbidden = NodeAllocatable(client: Self.client(server, token: "agent"), nodeName: "node-a", logger: Logger(label: "test"))
        await #expect {
            _ = try await forbidden.read()
        } throws: { error in
            let text = "\(error)"
            return text.contains("lacks RBAC verb \"get\" on resource \"nodes\"") && text.contains("--capacity")
                && text.contains("cannot get resource \"nodes\" in API group \"\" at the cluster scope")
        }
        let missing = NodeAllocatable(client: Self.client(server), nodeName: "node-x", logger: Logger(label: "test"))
        await #expect {
            _ = try await missing.read()
        } throws: { "\($0)".contains("no Node named \"node-x\"") }
        _ = try server.store.create(.nodes, namespace: "", object: ["metadata": ["name": "bare"]])
        let bare = NodeAllocatable(client: Self.client(server), nodeName: "bare", logger: Logger(label: "test"))
        await #expect {
            _ = try await bare.read()
        } throws: { "\($0)".contains("reports no status.allocatable.cpu") }
        await server.shutdown()
    }

    @Test("at start, an API that answers 503 is waited for (boundedly); a 403 is not")
    func startWaitsForTheAPI() async throws {
        let server = try await FakeKubeAPIServer.start()
        try KubeletStandIn.registerNode(store: server.store, name: "node-a", allocatableCPU: "2")
        server.faults.inject(.serviceUnavailable, path: "/api/v1/nodes/node-a", count: 3)
        let node = NodeAllocatable(client: Self.client(server), nodeName: "node-a", logger: Logger(label: "test"))
        let backoff = RetryPolicy(initialBackoff: .milliseconds(10), maxBackoff: .milliseconds(20))
        #expect(try await node.readWaiting(backoff: backoff).millicores == 2000)
        server.faults.inject(.serviceUnavailable, path: "/api/v1/nodes/node-a", count: 1000)
        await #expect(throws: NodeAllocatableError.self) { _ = try await node.readWaiting(patience: .milliseconds(200), backoff: backoff) }
        server.authorization.restrict(token: "agent", user: "agent", to: [])
        let forbidden = NodeAllocatable(client: Self.client(server, token: "agent"), nodeName: "node-a", logger: Logger(label: "test"))
        server.faults.inject(.serviceUnavailable, path: "/api/v1/nodes/node-a", count: 0)  // clears the faults left
        await #expect {
            _ = try await forbidden.readWaiting(backoff: backoff)
        } throws: { error in
            // Not retryable: thrown at the first answer, naming the grant.
            guard let error = error as? NodeAllocatableError else { return false }
            return !error.isRetryable && error.description.contains("lacks RBAC verb \"get\" on resource \"nodes\"")
        }
        await server.shutdown()
    }
}
