import Logging
import MetricsEndpoint
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle

/// A logger that drops everything, for tests that do not look at logs.
let quietLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

/// The endpoint on 127.0.0.1 with a kernel-chosen port.
func loopbackConfiguration(
    maxRequestBodyBytes: Int = 1024,
    requestTimeout: Duration = .seconds(5),
    maxConnections: Int = 16
) -> MetricsEndpoint.Configuration {
    MetricsEndpoint.Configuration(
        host: "127.0.0.1",
        port: 0,
        maxRequestBodyBytes: maxRequestBodyBytes,
        requestTimeout: requestTimeout,
        maxConnections: maxConnections
    )
}

/// Runs `body` against an endpoint running in a `ServiceGroup`, as the agent runs it, then shuts
/// the group down gracefully and waits for it to finish.
func withRunningEndpoint<T>(
    configuration: MetricsEndpoint.Configuration = loopbackConfiguration(),
    registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
    liveness: @escaping @Sendable () -> HealthReport = { HealthReport(healthy: true) },
    readiness: @escaping @Sendable () -> HealthReport = { HealthReport(healthy: true) },
    logger: Logger = quietLogger,
    _ body: (_ endpoint: MetricsEndpoint, _ port: Int) async throws -> T
) async throws -> T {
    let endpoint = MetricsEndpoint(
        configuration: configuration,
        registry: registry,
        liveness: liveness,
        readiness: readiness,
        logger: logger
    )
    let group = ServiceGroup(services: [endpoint], gracefulShutdownSignals: [], cancellationSignals: [], logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            let port = try await endpoint.boundPort()
            let result = try await body(endpoint, port)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            tasks.cancelAll()
            throw error
        }
    }
}

/// Whether anything accepts TCP connections on 127.0.0.1:`port`.
func isListening(port: Int) async -> Bool {
    do {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port).get()
        try? await channel.close()
        return true
    } catch {
        return false
    }
}
