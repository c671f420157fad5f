public import Logging
public import NIOCore
internal import NIOHTTP1
internal import NIOPosix
public import Prometheus
public import ServiceLifecycle
import Synchronization

/// The agent's opt-in HTTP endpoint: Prometheus metrics and the two Kubernetes probes.
///
/// | request | answer |
/// | --- | --- |
/// | `GET /metrics` | 200, the registry's text exposition (`text/plain; version=0.0.4`) |
/// | `GET /healthz` | 200 or 503 from the liveness closure, JSON body (``HealthReport``) |
/// | `GET /readyz` | 200 or 503 from the readiness closure, JSON body |
/// | another path | 404 |
/// | another method, any path | 405 with `Allow: GET` |
///
/// Run it in the agent's `ServiceGroup`. On graceful shutdown or task cancellation the listening
/// socket closes, open connections are drained (closed at once on cancellation) and ``run()``
/// returns. A failure to bind throws an ``EndpointError`` naming the address and the errno.
///
/// The closures and the registry's rendering run on a NIO event loop: the health closures must
/// return at once (read an atomic, a timestamp), never block or wait on the agent.
///
/// Libraries that speak swift-metrics can report into the same exposition: bootstrap
/// `MetricsSystem` with `PrometheusMetricsFactory(registry:)` over the registry passed here.
public final class MetricsEndpoint: Service, Sendable {
    /// Where to listen, and the bounds a client cannot exceed.
    public struct Configuration: Sendable, Hashable {
        /// The address to listen on. Loopback by default: exposing metrics beyond the node is a
        /// deployment decision (a pod IP or `0.0.0.0`), not a default.
        public var host: String
        /// The TCP port; 0 lets the kernel choose one, then read by ``MetricsEndpoint/boundPort()``.
        public var port: Int
        /// The largest request body tolerated, in bytes. No route reads a body; a larger one gets
        /// a 413 and the connection is closed.
        public var maxRequestBodyBytes: Int
        /// How long a connection may go without progress before it is closed: the timer restarts
        /// when the connection opens, when a request head arrives and when a response is written,
        /// so idle keep-alive connections, dribbled requests and unread responses are all bounded.
        public var requestTimeout: Duration
        /// How many connections may be open at once; more are closed on accept.
        public var maxConnections: Int

        /// Creates a configuration.
        /// - Parameters:
        ///   - host: The address to listen on. Default `127.0.0.1`.
        ///   - port: The TCP port, 0 for any. Default 9464.
        ///   - maxRequestBodyBytes: The largest request body tolerated. Default 1 KiB.
        ///   - requestTimeout: How long a connection may go without progress. Default 5 s.
        ///   - maxConnections: How many connections may be open at once. Default 16.
        public init(
            host: String = "127.0.0.1",
            port: Int = 9464,
            maxRequestBodyBytes: Int = 1024,
            requestTimeout: Duration = .seconds(5),
            maxConnections: Int = 16
        ) {
            self.host = host
            self.port = port
            self.maxRequestBodyBytes = maxRequestBodyBytes
            self.requestTimeout = requestTimeout
            self.maxConnections = maxConnections
        }
    }

    private enum Phase {
        case notStarted
        case binding
        case bound(port: Int)
        case failed(EndpointError)
    }

    private struct Lifecycle {
        var phase = Phase.notStarted
        var nextWaiterID = 0
        var portWaiters: [Int: CheckedContinuation<Int, any Error>] = [:]
    }

    /// Headers beyond these sizes get a 400: no scraper or probe sends more than a few hundred
    /// bytes, and NIO's defaults (80 KiB, 65,534 fields) are sized for general servers.
    private static let decoderLimits: NIOHTTPDecoderLimitConfiguration = {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = 8 * 1024
        limits.maxHeaderListSize = 16 * 1024
        limits.maxHeaderFieldCount = 64
        return limits
    }()

    private let configuration: Configuration
    private let routes: Routes
    private let logger: Logger
    private let eventLoopGroup: any EventLoopGroup
    private let connections: ConnectionTracker
    private let lifecycle = Mutex(Lifecycle())

    /// Creates the endpoint; nothing listens until ``run()``.
    /// - Parameters:
    ///   - configuration: Where to listen and the per-client bounds.
    ///   - registry: The registry `/metrics` renders.
    ///   - liveness: Answers `/healthz`: is the agent alive, or should the kubelet restart it.
    ///   - readiness: Answers `/readyz`: is the agent doing its work (probes attached, consuming
    ///     events).
    ///   - logger: Where to log; the endpoint adds its address as metadata.
    ///   - eventLoopGroup: The event loops to serve on; `nil` uses NIO's shared singleton group.
    public init(
        configuration: Configuration = Configuration(),
        registry: PrometheusCollectorRegistry,
        liveness: @escaping @Sendable () -> HealthReport,
        readiness: @escaping @Sendable () -> HealthReport,
        logger: Logger,
        eventLoopGroup: (any EventLoopGroup)? = nil
    ) {
        self.configuration = configuration
        self.routes = Routes(registry: registry, liveness: liveness, readiness: readiness)
        var logger = logger
        logger[metadataKey: "metrics_endpoint"] = "\(EndpointError.formatAddress(host: configuration.host, port: configuration.port))"
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton
        self.connections = ConnectionTracker(maxConnections: configuration.maxConnections)
    }

    /// The port the endpoint listens on, once it does: waits for ``run()`` to bind.
    ///
    /// With `port: 0` in the configuration this is how a caller (a test) learns the kernel's
    /// choice. It stays available after ``run()`` returns.
    /// - Throws: The ``EndpointError`` that ``run()`` threw if binding failed;
    ///   `CancellationError` if the waiting task is cancelled first.
    public func boundPort() async throws -> Int {
        let id = lifecycle.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, any Error>) in
                let answer: Result<Int, any Error>? = lifecycle.withLock { state in
                    switch state.phase {
                    case .bound(let port):
                        return .success(port)
                    case .failed(let error):
                        return .failure(error)
                    case .notStarted, .binding:
                        // Checked under the lock that onCancel also takes: a cancellation either
                        // happened already (seen here) or will find the waiter registered.
                        if Task.isCancelled { return .failure(CancellationError()) }
                        state.portWaiters[id] = continuation
                        return nil
                    }
                }
                if let answer { continuation.resume(with: answer) }
            }
        } onCancel: {
            let waiter = lifecycle.withLock { $0.portWaiters.removeValue(forKey: id) }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Listens and serves until graceful shutdown or cancellation, then drains connections and
    /// returns.
    /// - Throws: ``EndpointError`` if the address cannot be bound, or if `run()` was called
    ///   before on this instance.
    public func run() async throws {
        let address = EndpointError.formatAddress(host: configuration.host, port: configuration.port)
        let mayStart = lifecycle.withLock { state in
            guard case .notStarted = state.phase else { return false }
            state.phase = .binding
            return true
        }
        guard mayStart else {
            throw EndpointError(
                code: .alreadyStarted,
                message: "metrics endpoint on \(address) was already started; create a new one",
                address: address
            )
        }

        let serverChannel: any Channel
        do {
            serverChannel = try await bind(address: address)
        } catch {
            settle(.failed(error))
            throw error
        }
        let port = serverChannel.localAddress?.port ?? configuration.port
        settle(.bound(port: port))
        logger.info("metrics endpoint listening", metadata: ["port": "\(port)"])

        // The handler runs at most once, on whichever of shutdown or cancellation comes first,
        // or at once if one already has.
        try? await withTaskCancellationOrGracefulShutdownHandler {
            try await serverChannel.closeFuture.get()
        } onCancelOrGracefulShutdown: {
            serverChannel.close(promise: nil)
        }

        // No new connections now; let open ones finish their response, unless the task is
        // cancelled, which closes them at once.
        connections.quiesce()
        await withTaskCancellationHandler {
            await connections.waitUntilDrained()
        } onCancel: {
            connections.closeAll()
        }
        logger.info("metrics endpoint stopped")
    }

    private func settle(_ phase: Phase) {
        let waiters = lifecycle.withLock { state in
            state.phase = phase
            defer { state.portWaiters = [:] }
            return Array(state.portWaiters.values)
        }
        for waiter in waiters {
            switch phase {
            case .bound(let port): waiter.resume(returning: port)
            case .failed(let error): waiter.resume(throwing: error)
            case .notStarted, .binding: preconditionFailure("settled to an unsettled phase")
            }
        }
    }

    private func bind(address: String) async throws(EndpointError) -> any Channel {
        let routes = self.routes
        let logger = self.logger
        let connections = self.connections
        let limits = HTTPHandler.Limits(
            maxBodyBytes: configuration.maxRequestBodyBytes,
            timeout: TimeAmount(configuration.requestTimeout)
        )
        let bootstrap = ServerBootstrap(group: eventLoopGroup)
            .serverChannelOption(.backlog, value: 64)
            // Lets a restarted agent listen again while its old connections sit in TIME_WAIT.
            // On Linux it does not let two live listeners share a port: EADDRINUSE still comes.
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard connections.admit(channel) else {
                        logger.debug("metrics endpoint: refusing a connection (at the connection cap, or shutting down)")
                        throw ConnectionTracker.Refused()
                    }
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.configureHTTPServerPipeline(
                        withEncoderConfiguration: HTTPResponseEncoder.Configuration(),
                        withDecoderLimitConfiguration: Self.decoderLimits
                    )
                    try pipeline.addHandler(HTTPHandler(routes: routes, limits: limits, logger: logger))
                }
            }
        do {
            return try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        } catch let error as IOError {
            throw EndpointError.bind(address: address, errno: error.errnoCode)
        } catch let error as SocketAddressError {
            throw EndpointError(
                code: .invalidAddress,
                message: "cannot listen on \(address): not an address of this machine (\(error))",
                address: address
            )
        } catch {
            throw EndpointError(
                code: .bindFailed,
                message: "cannot listen on \(address): \(error)",
                address: address
            )
        }
    }
}

/// Thrown from the child initializer to make NIO close a connection over the cap.
