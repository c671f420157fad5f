import Foundation
import KubeAPIFixture
import ProcessControl
import TestSupport
import Testing

/// The agent's and controller's Kubernetes flags: a wrong combination or a missing setting is a
/// clear error naming the flag, before anything is loaded.
@Suite("Kubernetes flags")
struct KubernetesFlagsTests {
    func mbcas(_ arguments: [String], environment: [String: String] = [:]) throws -> CommandResult {
        let binary = try requireBuiltProduct("mbcas")
        // env -i: no NODE_NAME, KUBECONFIG or KUBERNETES_SERVICE_HOST from the caller.
        let variables = ["HOME=/nonexistent", "PATH=/usr/bin:/bin"] + environment.map { "\($0.key)=\($0.value)" }
        return try runCommand("/usr/bin/env", ["-i"] + variables + [binary] + arguments, timeout: 20)
    }

    @Test("Kubernetes-only flags without --kubernetes, and --cgroup-parent with it, are refused by name")
    func wrongMode() throws {
        let result = try mbcas(["agent", "--node-name", "n1"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--node-name is for Kubernetes mode: add --kubernetes"), "\(result.stderr)")
        let both = try mbcas(["agent", "--kubernetes", "--cgroup-parent", "/sys/fs/cgroup/cpu/x"])
        #expect(both.status != 0)
        #expect(both.stderr.contains("--cgroup-parent is for standalone mode"), "\(both.stderr)")
        let direct = try mbcas(["agent", "--direct-cgroup-raise"])
        #expect(direct.status != 0)
        #expect(direct.stderr.contains("--direct-cgroup-raise is for Kubernetes mode"), "\(direct.stderr)")
        let actuation = try mbcas(["agent", "--actuation", "weights"])
        #expect(actuation.status != 0)
        #expect(actuation.stderr.contains("--actuation is for Kubernetes mode"), "\(actuation.stderr)")
        let unknown = try mbcas(["agent", "--kubernetes", "--actuation", "shares"])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("shares"), "\(unknown.stderr)")
    }

    @Test("no node name, no kubeconfig: the errors say what to give")
    func missingSettings() throws {
        let noNode = try mbcas(["agent", "--kubernetes"])
        #expect(noNode.status != 0)
        #expect(noNode.stderr.contains("--node-name, or NODE_NAME"), "\(noNode.stderr)")
        let noConfig = try mbcas(["agent", "--kubernetes"], environment: ["NODE_NAME": "n1"])
        #expect(noConfig.status != 0)
        #expect(noConfig.stderr.contains("cannot configure Kubernetes API access") && noConfig.stderr.contains("/nonexistent/.kube/config"),
                "\(noConfig.stderr)")
        let controller = try mbcas(["controller"])
        #expect(controller.status != 0)
        #expect(controller.stderr.contains("--kubeconfig"), "\(controller.stderr)")
    }

    @Test("without --capacity the agent reads its Node; one it may not read is an error naming the RBAC verb and resource")
    func nodeReadNeedsRBAC() async throws {
        let server = try await FakeKubeAPIServer.start()
        try KubeletStandIn.registerNode(store: server.store, name: "n1", allocatableCPU: "2")
        // The shipped grants without `get` on nodes.
        server.authorization.restrict(token: "agent-token", user: "system:serviceaccount:mbcas-system:mbcas-agent", to: [
            .init(apiGroups: [""], resources: ["pods"], verbs: ["list", "watch"]),
            .init(apiGroups: [""], resources: ["nodes"], verbs: ["watch"]),
        ])
        let kubeconfig = NSTemporaryDirectory() + "mbcas-flags-\(UUID().uuidString).kubeconfig"
        try """
            apiVersion: v1
            kind: Config
            clusters: [{name: c, cluster: {server: "\(server.baseURL)"}}]
            users: [{name: agent, user: {token: agent-token}}]
            contexts: [{name: c, context: {cluster: c, user: agent}}]
            current-context: c
            """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: kubeconfig) }
        let result = try mbcas(["agent", "--kubernetes", "--node-name", "n1", "--kubeconfig", kubeconfig])
        await server.shutdown()
        #expect(result.status != 0)
        #expect(result.stderr.contains("lacks RBAC verb \"get\" on resource \"nodes\""), "\(result.stderr)")
        #expect(result.stderr.contains("--capacity"), "\(result.stderr)")
    }
}
