import KubeAPIFixture
import KubernetesClient
import Logging

/// A client for a fresh loopback API server (fast retries so fault tests stay short).
func makeClient(_ server: FakeKubeAPIServer, retry: RetryPolicy = RetryPolicy(initialBackoff: .milliseconds(20), maxBackoff: .milliseconds(200))) -> APIClient {
    APIClient(configuration: ClusterConfiguration(server: server.baseURL), retry: retry, requestTimeout: .seconds(10),
              logger: Logger(label: "test"))
}

/// A Burstable pod with one container `app` (requests 250m, limits `limit`) on `node`.
func burstablePod(_ name: String, namespace: String = "default", node: String = "node-a", limit: String = "500m",
                  labels: [String: String]? = nil) -> Pod {
    Pod(metadata: ObjectMeta(name: name, namespace: namespace, labels: labels),
        spec: PodSpec(nodeName: node, containers: [
            Container(name: "app", image: "busybox",
                      resources: ResourceRequirements(requests: ["cpu": "250m", "memory": "64Mi"], limits: ["cpu": limit, "memory": "64Mi"])),
        ]))
}

