import CoreMetrics
import InMemoryLogging
import Logging
import MetricsEndpoint
import Prometheus
import ServiceLifecycle
import Synchronization
import Testing

@Suite("MetricsEndpoint over HTTP", .timeLimit(.minutes(1)))
struct MetricsEndpointTests {
    @Test("GET /metrics serves the facade's series as Prometheus text")
    func metricsExposition() async throws {
        let registry = PrometheusCollectorRegistry()
        let metrics = AgentMetrics(registry: registry)
        metrics.recordStall(pod: "default/web", throttledNanos: 1_500_000_000, waitNanos: 0, runNanos: 0, episodes: 2)
        metrics.setLimit(pod: "default/web", millicores: 1200)
        metrics.recordDecision(reason: "guardrail", latencyNanos: 80_000)
        metrics.recordEvent(kind: .throttleStart)
        // A swift-metrics emitter routed into the same registry shows up on the same page.
        let factory = PrometheusMetricsFactory(registry: registry)
        FloatingPointCounter(label: "library_work_seconds_total", dimensions: [], factory: factory).increment(by: 0.5)

        let response = try await withRunningEndpoint(registry: registry) { _, port in
            try await RawHTTPConnection.get(port: port, "/metrics")
        }

        #expect(response.status == 200)
        #expect(response.header("content-type") == "text/plain; version=0.0.4; charset=utf-8")
        let text = Exposition(response.body)
        #expect(text.types["mbcas_pod_throttled_seconds_total"] == "counter")
        #expect(text[series: #"mbcas_pod_throttled_seconds_total{pod="default/web"}"#] == 1.5)
        #expect(text[series: #"mbcas_pod_throttle_episodes_total{pod="default/web"}"#] == 2)
        #expect(text.types["mbcas_pod_cpu_limit_millicores"] == "gauge")
        #expect(text[series: #"mbcas_pod_cpu_limit_millicores{pod="default/web"}"#] == 1200)
        #expect(text[series: #"mbcas_decisions_total{reason="guardrail"}"#] == 1)
        #expect(text.types["mbcas_push_latency_seconds"] == "histogram")
        #expect(text[series: #"mbcas_push_latency_seconds_bucket{le="0.0001"}"#] == 1)
        #expect(text[series: #"mbcas_events_total{kind="throttle-start"}"#] == 1)
        #expect(text[series: "mbcas_ringbuf_drops_total"] == 0)
        #expect(text[series: "mbcas_shadow_price"] == 0)
        #expect(text[series: "library_work_seconds_total"] == 0.5)
    }

    @Test("liveness and readiness answer from their own closures: 200 healthy, 503 not, same JSON")
    func healthProbes() async throws {
        let ready = Mutex(false)
        let (live, notReady, nowReady) = try await withRunningEndpoint(
            liveness: {
                HealthReport(healthy: true, checks: ["ringbuf_consumer": "alive", "last_event_age_seconds": "0.4"])
            },
            readiness: {
                let isReady = ready.withLock { $0 }
                return HealthReport(healthy: isReady, checks: ["probes": isReady ? "attached" : "loading"])
            }
        ) { _, port in
            let live = try await RawHTTPConnection.get(port: port, "/healthz")
            let notReady = try await RawHTTPConnection.get(port: port, "/readyz")
            ready.withLock { $0 = true }
            let nowReady = try await RawHTTPConnection.get(port: port, "/readyz")
            return (live, notReady, nowReady)
        }

        #expect(live.status == 200)
        #expect(live.header("content-type") == "application/json")
        #expect(live.body == #"{"checks":{"last_event_age_seconds":"0.4","ringbuf_consumer":"alive"},"healthy":true}"#)
        #expect(notReady.status == 503)
        #expect(notReady.body == #"{"checks":{"probes":"loading"},"healthy":false}"#)
        #expect(nowReady.status == 200)
        #expect(nowReady.body == #"{"checks":{"probes":"attached"},"healthy":true}"#)
    }

    @Test("unknown paths get 404, other methods 405, queries are ignored")
    func routing() async throws {
        try await withRunningEndpoint { _, port in
            let missing = try await RawHTTPConnection.get(port: port, "/metricsz")
            #expect(missing.status == 404)

            let withQuery = try await RawHTTPConnection.get(port: port, "/healthz?verbose=1")
            #expect(withQuery.status == 200)

            for method in ["POST", "PUT", "DELETE"] {
                let refused = try await RawHTTPConnection.with(port: port) { connection in
                    try await connection.send("\(method) /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n")
                    return try await connection.response()
                }
                #expect(refused.status == 405, "\(method)")
                #expect(refused.header("allow") == "GET", "\(method)")
            }
        }
    }

    @Test("a keep-alive connection serves several requests in turn, pipelined too")
    func keepAlive() async throws {
        try await withRunningEndpoint { _, port in
            try await RawHTTPConnection.with(port: port) { connection in
                try await connection.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                #expect(try await connection.response().status == 200)
                try await connection.send(
                    "GET /nothing HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                )
                #expect(try await connection.response().status == 404)
                #expect(try await connection.response().status == 200)
            }
        }
    }

    @Test("bodies over the limit get 413 and the connection closes", arguments: [false, true])
    func oversizedBody(chunked: Bool) async throws {
        try await withRunningEndpoint(configuration: loopbackConfiguration(maxRequestBodyBytes: 64)) { _, port in
            try await RawHTTPConnection.with(port: port) { connection in
                let body = String(repeating: "x", count: 100)
                if chunked {
                    // No announced length: the server must count what arrives.
                    try await connection.send(
                        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                            + "64\r\n\(body)\r\n"
                    )
                } else {
                    try await connection.send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n")
                }
                let response = try await connection.response()
                #expect(response.status == 413)
                #expect(response.header("connection") == "close")
                #expect(await connection.readUntilClosed().isEmpty)
            }
            // Under the limit is fine.
            let small = try await RawHTTPConnection.with(port: port) { connection in
                try await connection.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n0123456789")
                return try await connection.response()
            }
            #expect(small.status == 200)
        }
    }

    @Test("idle and slow connections are closed after the request timeout")
    func requestTimeout() async throws {
        let timeout = Duration.milliseconds(300)
        try await withRunningEndpoint(configuration: loopbackConfiguration(requestTimeout: timeout)) { _, port in
            let clock = ContinuousClock()
            // Says nothing at all.
            let idle = try await RawHTTPConnection.with(port: port) { connection in
                let start = clock.now
                let received = await connection.readUntilClosed()
                return (received, clock.now - start)
            }
            #expect(idle.0.isEmpty)
            #expect(idle.1 >= timeout * 0.9)
            #expect(idle.1 < .seconds(10))

            // Starts a request and never finishes it.
            let slow = try await RawHTTPConnection.with(port: port) { connection in
                try await connection.send("GET /metrics HTTP/1.1\r\nHost: 127.0.")
                let start = clock.now
                let received = await connection.readUntilClosed()
                return (received, clock.now - start)
            }
            #expect(slow.0.isEmpty)
            #expect(slow.1 < .seconds(10))

            // Served once, then idle on keep-alive: closed too.
            let keptAlive = try await RawHTTPConnection.with(port: port) { connection in
                try await connection.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                let status = try await connection.response().status
                return (status, await connection.readUntilClosed())
            }
            #expect(keptAlive.0 == 200)
            #expect(keptAlive.1.isEmpty)
        }
    }

    @Test("connections beyond the cap are closed on accept; admitted ones keep working")
    func connectionCap() async throws {
        try await withRunningEndpoint(configuration: loopbackConfiguration(maxConnections: 1)) { _, port in
            try await RawHTTPConnection.with(port: port) { first in
                try await first.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                #expect(try await first.response().status == 200)

                let refused = try await RawHTTPConnection.with(port: port) { second in
                    await second.readUntilClosed()
                }
                #expect(refused.isEmpty)

                try await first.send("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                #expect(try await first.response().status == 200)
            }
        }
    }

    @Test("graceful shutdown closes the listener and idle connections, and run() returns")
    func gracefulShutdown() async throws {
        // A timeout far beyond the test's patience: only shutdown can close the idle connection.
        let endpoint = MetricsEndpoint(
            configuration: loopbackConfiguration(requestTimeout: .seconds(120)),
            registry: PrometheusCollectorRegistry(),
            liveness: { HealthReport(healthy: true) },
            readiness: { HealthReport(healthy: true) },
            logger: quietLogger
        )
        let group = ServiceGroup(services: [endpoint], gracefulShutdownSignals: [], cancellationSignals: [], logger: quietLogger)
        let running = Task { try await group.run() }
        let port = try await endpoint.boundPort()

        try await RawHTTPConnection.with(port: port) { connection in
            try await connection.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(try await connection.response().status == 200)

            await group.triggerGracefulShutdown()
            #expect(await connection.readUntilClosed().isEmpty)
        }
        try await running.value
        #expect(await !isListening(port: port))
        // The port stays readable after the service stopped.
        #expect(try await endpoint.boundPort() == port)
    }

    @Test("graceful shutdown lets a request in flight finish before closing")
    func gracefulShutdownMidRequest() async throws {
        let endpoint = MetricsEndpoint(
            configuration: loopbackConfiguration(requestTimeout: .seconds(120)),
            registry: PrometheusCollectorRegistry(),
            liveness: { HealthReport(healthy: true) },
            readiness: { HealthReport(healthy: true) },
            logger: quietLogger
        )
        let group = ServiceGroup(services: [endpoint], gracefulShutdownSignals: [], cancellationSignals: [], logger: quietLogger)
        let running = Task { try await group.run() }
        let port = try await endpoint.boundPort()

        try await RawHTTPConnection.with(port: port) { connection in
            // One complete request, then the head of a second and half its body, in one write: once
            // the first response is back, the server has accepted the connection and decoded the
            // second head, so the second request is in flight when shutdown begins.
            try await connection.send(
                "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                    + "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\n\r\nab"
            )
            #expect(try await connection.response().status == 200)
            await group.triggerGracefulShutdown()
            // The listener closes before connections are asked to finish.
            while await isListening(port: port) { try await Task.sleep(for: .milliseconds(5)) }
            try await connection.send("cd")
            let response = try await connection.response()
            #expect(response.status == 200)
            #expect(await connection.readUntilClosed().isEmpty)
        }
        try await running.value
    }

    @Test("cancelling the task closes connections at once and run() returns")
    func cancellation() async throws {
        let endpoint = MetricsEndpoint(
            configuration: loopbackConfiguration(requestTimeout: .seconds(120)),
            registry: PrometheusCollectorRegistry(),
            liveness: { HealthReport(healthy: true) },
            readiness: { HealthReport(healthy: true) },
            logger: quietLogger
        )
        let running = Task { try await endpoint.run() }
        let port = try await endpoint.boundPort()

        try await RawHTTPConnection.with(port: port) { connection in
            // Half a request: graceful draining would wait for the rest; cancellation must not.
            try await connection.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\n\r\nab")
            running.cancel()
            #expect(await connection.readUntilClosed().isEmpty)
        }
        try await running.value
        #expect(await !isListening(port: port))
    }

    @Test("a port already in use throws EndpointError naming the address and errno")
    func addressInUse() async throws {
        try await withRunningEndpoint { _, port in
            let second = MetricsEndpoint(
                configuration: MetricsEndpoint.Configuration(host: "127.0.0.1", port: port),
                registry: PrometheusCollectorRegistry(),
                liveness: { HealthReport(healthy: true) },
                readiness: { HealthReport(healthy: true) },
                logger: quietLogger
            )
            let error = await #expect(throws: EndpointError.self) { try await second.run() }
            #expect(error?.code == .addressInUse)
            #expect(error?.address == "127.0.0.1:\(port)")
            #expect(error?.errno == 98)
            #expect(error?.message.contains("127.0.0.1:\(port)") == true)
            #expect(error?.message.contains("Address already in use") == true)
            // Whoever waits for the port learns the same failure.
            let waited = await #expect(throws: EndpointError.self) { try await second.boundPort() }
            let sameFailure = waited != nil && waited == error
            #expect(sameFailure)
            // The first endpoint is unaffected.
            let first = try await RawHTTPConnection.get(port: port, "/healthz")
            #expect(first.status == 200)
        }
    }

    @Test("run() on an endpoint that already ran throws alreadyStarted")
    func runTwice() async throws {
        let endpoint = try await withRunningEndpoint { endpoint, _ in endpoint }
        let error = await #expect(throws: EndpointError.self) { try await endpoint.run() }
        #expect(error?.code == .alreadyStarted)
    }

    @Test("logs go to the caller's logger, with the endpoint's address")
    func usesCallersLogger() async throws {
        let handler = InMemoryLogHandler()
        let logger = Logger(label: "agent") { _ in handler }
        let port = try await withRunningEndpoint(logger: logger) { _, port in port }

        let listening = handler.entries.first { $0.message == "metrics endpoint listening" }
        #expect(listening?.metadata["port"] == "\(port)")
        #expect(listening?.metadata["metrics_endpoint"] == "127.0.0.1:0")
        #expect(handler.entries.contains { $0.message == "metrics endpoint stopped" })
    }
}
