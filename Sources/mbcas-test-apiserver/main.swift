// The loopback test API server on its own, for `kubectl --server` and manual exploration
// (`make test-apiserver PORT=8080`). Test support: not part of the shipped `mbcas` binary.
import ArgumentParser
import Foundation
import KubeAPIFixture
import Logging
import ProcessControl

struct TestAPIServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mbcas-test-apiserver",
        abstract: "The loopback Kubernetes API server MBCAS's tests run against, on its own.",
        discussion: """
            Plain HTTP, no authentication, state in memory only: everything is lost when it \
            exits. Meant for 127.0.0.1; it is not a Kubernetes cluster.

            SERVED
              v1: pods (with the status and resize subresources), events, nodes (cluster-scoped)
              mbcas.io/v1alpha1: podallocations (with status)
              coordination.k8s.io/v1: leases
              discovery: /version, /api, /apis (no /openapi: see kubectl below)
            with the real API's rules: resourceVersion (one global counter), 201/404/409/410/422 \
            with Status bodies, list limit/continue, label and field selectors, watch \
            (resourceVersion, timeoutSeconds, allowWatchBookmarks), JSON patch, merge patch, \
            strategic merge patch (pods, events, leases; 415 for podallocations, as for any \
            custom resource), server-side apply (JSON bodies; fieldManager required; no \
            field-ownership conflicts), in-place resize validation (QoS class unchanged, valid \
            quantities), owner-reference garbage collection.

            KUBECTL
              kubectl --server http://127.0.0.1:8080 get pods
              kubectl --server http://127.0.0.1:8080 create --validate=false -f pod.yaml
              kubectl -s http://127.0.0.1:8080 patch pod web --subresource resize -p \\
              '{"spec":{"containers":[{"name":"c","resources":{"limits":{"cpu":"2"}}}]}}'
            `create` and `apply` need --validate=false: kubectl's default validation downloads \
            /openapi, which is not served ("failed to download openapi").

            KUBELET
            With --kubelet-node NAME a kubelet stand-in registers Node NAME (status.allocatable.cpu \
            from --node-allocatable-cpu) and runs the pods bound to it (spec.nodeName): it marks \
            them Running and accepts every resize, writing PodResizeInProgress, then \
            status.containerStatuses[].resources.

            OUTPUT
            "listening on http://HOST:PORT" on stdout once the port is bound (scripts wait for \
            it); one line per request (method, URI, status code) on stderr. SIGINT or SIGTERM \
            closes every connection and exits with status 0.
            """
    )

    @Option(help: "The TCP port to listen on (0: any free port, printed on the \"listening on\" line).")
    var port: Int = 8080

    @Option(help: "The address to listen on.")
    var host: String = "127.0.0.1"

    @Option(name: .customLong("kubelet-node"), help: ArgumentHelp("Run a kubelet stand-in for the pods bound to this node: they start Running and every resize is accepted.", valueName: "name"))
    var kubeletNode: String?

    @Option(name: .customLong("node-allocatable-cpu"), help: ArgumentHelp("The cpu the stand-in's Node reports allocatable (a quantity).", valueName: "quantity"))
    var nodeAllocatableCPU = "2"

    func run() async throws {
        let signals = StopSignals()
        let logger = Logger(label: "mbcas-test-apiserver") { StreamLogHandler.standardError(label: $0) }
        let server: FakeKubeAPIServer
        do {
            server = try await FakeKubeAPIServer.start(configuration: .init(requestLogLevel: .info), host: host, port: port,
                                                       logger: logger)
        } catch {
            throw ValidationError(error.description)
        }
        var kubeletLogger = Logger(label: "kubelet-stand-in") { StreamLogHandler.standardError(label: $0) }
        kubeletLogger.logLevel = .debug
        if let kubeletNode {
            do { try KubeletStandIn.registerNode(store: server.store, name: kubeletNode, allocatableCPU: nodeAllocatableCPU) } catch {
                await server.shutdown()
                throw ValidationError("cannot register Node \(kubeletNode): \(error.message)")
            }
        }
        let kubelet = kubeletNode.map {
            KubeletStandIn(store: server.store, nodeName: $0, startsPendingPods: true, logger: kubeletLogger)
        }
        // Unbuffered, so a script reading a pipe sees it at once.
        FileHandle.standardOutput.write(Data("listening on \(server.baseURL)\n".utf8))
        let signal = await signals.wait()
        logger.info("signal \(signal): shutting down")
        await kubelet?.stop()
        await server.shutdown()
    }
}

/// Called from a function: at top level, `TestAPIServer.main()` resolves to ParsableCommand's
/// synchronous overload, which does not run an async `run()`.
func runCommand() async {
    await TestAPIServer.main()
}

await runCommand()
