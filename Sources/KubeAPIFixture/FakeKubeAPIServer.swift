public import Logging
public import NIOCore
internal import NIOHTTP1
internal import NIOPosix
import Synchronization

/// Why the fixture could not start.
public struct FakeKubeAPIServerError: Error, Sendable, CustomStringConvertible {
    public var description: String
}

/// A loopback Kubernetes API server for tests: plain HTTP on 127.0.0.1, an in-memory store with
/// the real API's write, list and watch rules for pods, `mbcas.io/v1alpha1` podallocations and
/// `coordination.k8s.io/v1` leases, and enough discovery for `kubectl`.
///
/// ```swift
/// let server = try await FakeKubeAPIServer.start()
/// defer { Task { await server.shutdown() } }
/// // point a client at "http://127.0.0.1:\(server.port)"
/// ```
///
/// What it models and what it does not is documented on ``ObjectStore`` (pagination, GC),
/// ``Resize`` (pods/resize) and ``PatchType`` (no strategic merge / apply).
public final class FakeKubeAPIServer: Sendable {
    /// Options for tests.
    public struct Configuration: Sendable {
        /// How many events the history keeps; a watch or paginated list from an older
        /// revision gets 410 Expired. Small values make that reachable in tests.
        public var historyCapacity: Int
        /// How often a watch with `allowWatchBookmarks=true` gets a BOOKMARK.
        public var bookmarkInterval: Duration

        public init(historyCapacity: Int = 1000, bookmarkInterval: Duration = .seconds(1)) {
            self.historyCapacity = historyCapacity
            self.bookmarkInterval = bookmarkInterval
        }
    }

    /// The store behind the API, for seeding and checking state directly.
    public let store: ObjectStore
    /// Failures to inject into the next requests of a path.
    public let faults: FaultInjector
    /// The bound TCP port on 127.0.0.1.
    public let port: Int
    private let channel: any Channel

    /// The base URL, `http://127.0.0.1:<port>`.
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    private init(store: ObjectStore, faults: FaultInjector, port: Int, channel: any Channel) {
        self.store = store
        self.faults = faults
        self.port = port
        self.channel = channel
    }

    /// Binds 127.0.0.1 on a kernel-chosen port and starts serving.
    public static func start(
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "kube-api-fixture"),
        eventLoopGroup: (any EventLoopGroup)? = nil
    ) async throws(FakeKubeAPIServerError) -> FakeKubeAPIServer {
        let store = ObjectStore(historyCapacity: configuration.historyCapacity)
        let faults = FaultInjector()
        let boundPort = Mutex(0)
        let router = Router(store: store, faults: faults, serverAddress: { "127.0.0.1:\(boundPort.withLock { $0 })" })
        let interval = TimeAmount(configuration.bookmarkInterval)
        let bootstrap = ServerBootstrap(group: eventLoopGroup ?? MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.configureHTTPServerPipeline()
                    try pipeline.addHandler(APIHTTPHandler(router: router, store: store, bookmarkInterval: interval, logger: logger))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: "127.0.0.1", port: 0).get()
        } catch {
            throw FakeKubeAPIServerError(description: "cannot listen on 127.0.0.1: \(error)")
        }
        let port = channel.localAddress?.port ?? 0
        boundPort.withLock { $0 = port }
        return FakeKubeAPIServer(store: store, faults: faults, port: port, channel: channel)
    }

    /// Stops listening. Open connections (watches) end when their client goes or their timeout
    /// fires; tests use short `timeoutSeconds`.
    public func shutdown() async {
        try? await channel.close()
    }
}
