public import Logging
public import NIOCore
internal import MetricsEndpoint
internal import NIOHTTP1
internal import NIOPosix
import Synchronization

/// Why the fixture could not start.
public struct FakeKubeAPIServerError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// A loopback Kubernetes API server for tests: plain HTTP on 127.0.0.1, an in-memory store with
/// the real API's write, list and watch rules for pods, events, nodes (cluster-scoped), `mbcas.io/v1alpha1`
/// podallocations and `coordination.k8s.io/v1` leases, and enough discovery for `kubectl`.
///
/// ```swift
/// let server = try await FakeKubeAPIServer.start()
/// defer { Task { await server.shutdown() } }
/// // point a client at server.baseURL
/// ```
///
/// To play an API server that is killed and restarted with its data (etcd) intact, shut it down
/// and start another on the same port with the same store:
/// `FakeKubeAPIServer.start(store: old.store, port: old.port)`.
///
/// What it models and what it does not is documented on ``ObjectStore`` (pagination, GC),
/// ``Resize`` (pods/resize), ``PatchType``, ``StrategicMerge`` and ``ServerSideApply``;
/// ``KubeletStandIn`` plays the node's kubelet.
public final class FakeKubeAPIServer: Sendable {
    /// Options for tests.
    public struct Configuration: Sendable {
        /// How many events the history keeps; a watch or paginated list from an older
        /// revision gets 410 Expired. Small values make that reachable in tests. Ignored when
        /// ``FakeKubeAPIServer/start(configuration:store:host:port:logger:eventLoopGroup:)`` is
        /// given a store.
        public var historyCapacity: Int
        /// How often a watch with `allowWatchBookmarks=true` gets a BOOKMARK.
        public var bookmarkInterval: Duration
        /// The level of the one log line per request (method, URI, status code): `.trace` keeps
        /// tests quiet, the standalone server uses `.info`.
        public var requestLogLevel: Logger.Level

        public init(historyCapacity: Int = 1000, bookmarkInterval: Duration = .seconds(1), requestLogLevel: Logger.Level = .trace) {
            self.historyCapacity = historyCapacity
            self.bookmarkInterval = bookmarkInterval
            self.requestLogLevel = requestLogLevel
        }
    }

    /// The store behind the API, for seeding and checking state directly.
    public let store: ObjectStore
    /// Failures to inject into the next requests of a path.
    public let faults: FaultInjector
    /// Bearer tokens to demand (off until a test sets some).
    public let authentication: TokenAuthenticator
    /// RBAC: what a token may do (unrestricted until a test restricts it).
    public let authorization: RBACAuthorizer
    /// The address listened on.
    public let host: String
    /// The bound TCP port.
    public let port: Int
    private let channel: any Channel
    private let connections: ConnectionTracker

    /// TCP connections accepted so far: how many a client opened (keep-alive reuses one).
    public var acceptedConnections: Int { connections.admittedCount }

    /// The base URL, `http://<host>:<port>`.
    public var baseURL: String { "http://\(Self.authority(host: host, port: port))" }

    private init(store: ObjectStore, faults: FaultInjector, authentication: TokenAuthenticator, authorization: RBACAuthorizer,
                 host: String, port: Int, channel: any Channel, connections: ConnectionTracker) {
        self.authentication = authentication
        self.authorization = authorization
        self.store = store
        self.faults = faults
        self.host = host
        self.port = port
        self.channel = channel
        self.connections = connections
    }

    /// Binds `host:port` and starts serving.
    ///
    /// - Parameters:
    ///   - store: The data to serve; a new empty store when `nil`. Pass a stopped server's store
    ///     to restart it with its objects, revisions and history.
    ///   - host: The address to listen on; loopback by default.
    ///   - port: The port; 0 lets the kernel choose. `SO_REUSEADDR` is set, so the port of a
    ///     server just shut down can be bound again at once.
    public static func start(
        configuration: Configuration = Configuration(),
        store: ObjectStore? = nil,
        host: String = "127.0.0.1",
        port: Int = 0,
        logger: Logger = Logger(label: "kube-api-fixture"),
        eventLoopGroup: (any EventLoopGroup)? = nil
    ) async throws(FakeKubeAPIServerError) -> FakeKubeAPIServer {
        let store = store ?? ObjectStore(historyCapacity: configuration.historyCapacity)
        let faults = FaultInjector()
        let authentication = TokenAuthenticator()
        let authorization = RBACAuthorizer()
        let connections = ConnectionTracker()
        let boundPort = Mutex(0)
        let router = Router(store: store, faults: faults, authentication: authentication, authorization: authorization,
                            serverAddress: { authority(host: host, port: boundPort.withLock { $0 }) })
        let interval = TimeAmount(configuration.bookmarkInterval)
        let logLevel = configuration.requestLogLevel
        let bootstrap = ServerBootstrap(group: eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // One accepted during shutdown is cut at once, as by a killed server.
                    guard connections.admit(channel) else { throw ConnectionTracker.Refused() }
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.configureHTTPServerPipeline()
                    try pipeline.addHandler(APIHTTPHandler(router: router, store: store, bookmarkInterval: interval,
                                                           logger: logger, requestLogLevel: logLevel))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: host, port: port).get()
        } catch {
            throw FakeKubeAPIServerError(description: "cannot listen on \(authority(host: host, port: port)): \(error)")
        }
        let bound = channel.localAddress?.port ?? port
        boundPort.withLock { $0 = bound }
        return FakeKubeAPIServer(store: store, faults: faults, authentication: authentication, authorization: authorization,
                                 host: host, port: bound, channel: channel, connections: connections)
    }

    /// Stops listening and closes every open connection, watch streams included, as a killed
    /// API server would. The store is untouched, for a restart.
    public func shutdown() async {
        try? await channel.close()
        connections.closeAll()
        await connections.waitUntilDrained()
    }

    private static func authority(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
