import Foundation
import KubernetesClient
import Logging
import ServiceLifecycle
import Synchronization

/// `mbcas controller` as a ServiceLifecycle `Service`: leader election around the
/// ``Controller``. On graceful shutdown (SIGTERM from a rollout) the workers stop, the caches
/// go, and the Lease is handed back so the standby replica takes over at once.
///
/// Without a leader election configuration the controller simply runs (one replica, tests).
public final class ControllerService: Service, Sendable {
    /// What the controller did (counters, leading, synced).
    public let stats: ControllerStats
    /// The elector, when leader election is on.
    public let elector: LeaderElector?
    private let controller: Controller
    private let configuration: ControllerConfiguration
    private let logger: Logger
    private let onLeadershipChange: (@Sendable (Bool) -> Void)?
    private let running = Atomic<Bool>(false)

    /// Creates the service.
    /// - Parameters:
    ///   - leaderElection: The Lease to hold before acting; nil to act at once.
    ///   - onLeadershipChange: Hears each start (true) and end (false) of leadership; the end
    ///     after the workers have stopped.
    public init(client: APIClient, configuration: ControllerConfiguration, leaderElection: LeaderElectionConfiguration?,
                stats: ControllerStats = ControllerStats(), logger: Logger,
                onLeadershipChange: (@Sendable (Bool) -> Void)? = nil, now: @escaping @Sendable () -> Date = { Date() }) {
        var configuration = configuration
        if configuration.instance.isEmpty, let identity = leaderElection?.identity { configuration.instance = identity }
        self.configuration = configuration
        self.stats = stats
        self.logger = logger
        self.onLeadershipChange = onLeadershipChange
        self.controller = Controller(client: client, configuration: configuration, stats: stats, logger: logger, now: now)
        self.elector = leaderElection.map { LeaderElector(client: client, configuration: $0, logger: logger) }
    }

    /// Runs until graceful shutdown or cancellation.
    /// - Throws: ``ControllerError`` for an invalid configuration.
    public func run() async throws {
        try configuration.validate()
        try elector?.configuration.validate()
        running.store(true, ordering: .releasing)
        defer { running.store(false, ordering: .releasing) }
        let controller = controller, stats = stats, onChange = onLeadershipChange, elector = elector
        await cancelWhenGracefulShutdown {
            if let elector {
                await elector.run(onChange: { leading in
                    stats.setLeading(leading)
                    onChange?(leading)
                }, whileLeading: { gate in
                    await controller.run(gate: gate)
                })
            } else {
                stats.setLeading(true)
                onChange?(true)
                await controller.run(gate: .alwaysOpen())
                stats.setLeading(false)
                onChange?(false)
            }
        }
        logger.notice("controller stopped")
    }

    /// Liveness: the service runs. The API server being away is not a reason to restart it.
    public var liveness: (healthy: Bool, checks: [String: String]) {
        let alive = running.load(ordering: .acquiring)
        return (alive, ["controller": alive ? "running" : "stopped"])
    }

    /// Readiness: leading with full caches, or standing by with the Lease readable (able to
    /// take over).
    public var readiness: (healthy: Bool, checks: [String: String]) {
        var checks = liveness.checks
        let leading = stats.leading
        checks["leading"] = leading ? "true" : "false"
        checks["caches_synced"] = stats.synced ? "true" : "false"
        var ready = liveness.healthy
        if leading {
            ready = ready && stats.synced
        } else if let elector {
            let since = elector.timeSinceContact
            checks["lease_holder"] = elector.observedHolder ?? "unknown"
            checks["lease_contact_age_seconds"] = since.map { String(format: "%.1f", LeaderElector.seconds($0)) } ?? "never"
            ready = ready && since.map { $0 < elector.configuration.leaseDuration * 2 } == true
        }
        return (ready, checks)
    }
}

extension LeaderElector {
    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
