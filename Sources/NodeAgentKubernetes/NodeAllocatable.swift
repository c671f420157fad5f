import KubernetesClient
import Logging

/// Why the node's allocatable CPU could not be read: says which RBAC grant or setting is missing.
public struct NodeAllocatableError: Error, Sendable, CustomStringConvertible {
    public let description: String
    /// The API was unreachable or overloaded (transport, 429, 5xx): trying again may help; a
    /// refusal (403), a wrong name (404) or a node without allocatable will not.
    public var isRetryable = false
}

/// This node's allocatable CPU, from its Node object (`status.allocatable.cpu`, cluster-scoped):
/// what the kubelet lets pods request in total, so what the market may divide. Read once at
/// start (GET), then followed with a watch of that one node (`fieldSelector metadata.name`),
/// resumed from the last resourceVersion and re-read by GET after a 410 or a failure. RBAC:
/// `get` and `watch` on `nodes` (group ""), cluster-wide; a `--capacity` given by hand replaces
/// all of it (then the node is never read).
public struct NodeAllocatable: Sendable {
    let nodes: ResourceClient<Node>
    public let nodeName: String
    let logger: Logger

    public init(client: APIClient, nodeName: String, logger: Logger) {
        self.nodes = client.resources(Node.self)
        self.nodeName = nodeName
        self.logger = logger
    }

    /// GETs the node: its allocatable cpu (millicores) and the resourceVersion to watch from.
    /// - Throws: ``NodeAllocatableError`` naming the missing RBAC verb, a wrong node name, or
    ///   a node that reports no allocatable cpu.
    public func read() async throws(NodeAllocatableError) -> (millicores: Int, resourceVersion: String) {
        let node: Node
        do {
            node = try await nodes.get(nodeName)
        } catch {
            throw NodeAllocatableError(description: Self.explain(error, verb: "get", nodeName: nodeName), isRetryable: error.isRetryable)
        }
        let millicores = try Self.millicores(of: node)
        return (millicores, node.metadata.resourceVersion ?? "")
    }

    /// ``read()``, tried again with backoff while the API is unreachable or overloaded, for at
    /// most `patience` (the agent starts with the API, e.g. after a node reboot); a refusal is
    /// thrown at once.
    public func readWaiting(patience: Duration = .seconds(60), backoff: RetryPolicy = RetryPolicy(
        initialBackoff: .milliseconds(500), maxBackoff: .seconds(10))) async throws(NodeAllocatableError) -> (millicores: Int, resourceVersion: String) {
        let deadline = ContinuousClock.now + patience
        var attempt = 1
        while true {
            do {
                return try await read()
            } catch where error.isRetryable && ContinuousClock.now < deadline && !Task.isCancelled {
                logger.warning("cannot read this node's allocatable cpu yet; retrying", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
                try? await Task.sleep(for: backoff.delay(afterAttempt: attempt, retryAfter: nil))
                attempt += 1
            }
        }
    }

    /// Follows the node until the task is cancelled, calling `changed` with each allocatable cpu
    /// that differs from the last one seen (starting from `millicores` at `resourceVersion`).
    /// Failures are logged (naming a missing grant) and retried with backoff; the last value
    /// stays in force meanwhile.
    public func follow(from millicores: Int, resourceVersion: String, backoff: RetryPolicy = RetryPolicy(
        initialBackoff: .milliseconds(500), maxBackoff: .seconds(30)), _ changed: @Sendable (Int) async -> Void) async {
        var current = millicores, version = resourceVersion, failures = 0
        let options = ListOptions(fieldSelector: "metadata.name=\(nodeName)")
        while !Task.isCancelled {
            do {
                if version.isEmpty {
                    let (fresh, freshVersion) = try await read()
                    version = freshVersion
                    if fresh != current {
                        current = fresh
                        await changed(fresh)
                    }
                }
                for try await event in nodes.watch(options, resourceVersion: version) {
                    failures = 0
                    if let next = event.resourceVersion { version = next }
                    let node: Node
                    switch event {
                    case .added(let object), .modified(let object): node = object  // ADDED: the node was re-created
                    case .deleted, .bookmark: continue
                    }
                    let fresh = try Self.millicores(of: node)
                    if fresh != current {
                        current = fresh
                        await changed(fresh)
                    }
                }
            } catch let error as KubernetesError where error.isExpired {
                version = ""  // history compacted: read the node again
                continue
            } catch {
                failures += 1
                let message = (error as? KubernetesError).map { Self.explain($0, verb: "watch", nodeName: nodeName) } ?? "\(error)"
                logger.warning("cannot follow this node's allocatable cpu; retrying (the market keeps dividing \(current)m)",
                               metadata: ["error": "\(message)", "attempt": "\(failures)"])
                version = ""
                try? await Task.sleep(for: backoff.delay(afterAttempt: failures, retryAfter: (error as? KubernetesError)?.retryAfter))
            }
        }
    }

    static func millicores(of node: Node) throws(NodeAllocatableError) -> Int {
        let name = node.metadata.name
        let cpu: CPUQuantity?
        do { cpu = try node.allocatableCPU() } catch {
            throw NodeAllocatableError(description: "Node \(name): status.allocatable.cpu is not a quantity: \(error)")
        }
        guard let cpu, cpu.millicores > 0 else {
            throw NodeAllocatableError(description: "Node \(name) reports no status.allocatable.cpu (has its kubelet registered it?); "
                                       + "give the agent --capacity (millicores) to run without it")
        }
        return Int(cpu.millicores)
    }

    /// The API's refusal in words that say what to fix: the RBAC grant for 403, the node name for 404.
    static func explain(_ error: KubernetesError, verb: String, nodeName: String) -> String {
        if error.httpStatus == 403 {
            return "cannot read this node's allocatable cpu: the agent's service account lacks RBAC verb \"\(verb)\" on "
                + "resource \"nodes\" (API group \"\", cluster-wide), which deploy/rbac/agent.yaml grants; or give "
                + "--capacity (millicores) instead (\(error.message))"
        }
        if error.isNotFound {
            return "cannot read this node's allocatable cpu: no Node named \"\(nodeName)\" (is --node-name / NODE_NAME "
                + "spec.nodeName of the agent's pod?) (\(error.message))"
        }
        return "cannot read Node \(nodeName)'s allocatable cpu: \(error.message)"
    }
}
