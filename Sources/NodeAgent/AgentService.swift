import KernelProbe
import Logging
import ServiceLifecycle

/// The agent as a long-running service (see ``AgentRuntime/service(keepPins:logger:)``): runs the
/// runtime's loops until graceful shutdown (SIGTERM/SIGINT), then stops the ring-buffer thread and
/// closes the probe.
///
/// On shutdown weights and limits stay as they are: every limit was written whole and lies within
/// its pod's [floor, cap], so the last value is a safe one. The pinned maps are kept (unless asked
/// otherwise), so a restarted agent continues the same totals.
public struct AgentService: Service {
    private let runtime: AgentRuntime
    private let keepPins: Bool
    private let logger: Logger

    init(runtime: AgentRuntime, keepPins: Bool, logger: Logger) {
        self.runtime = runtime
        self.keepPins = keepPins
        self.logger = logger
    }

    public func run() async throws {
        let runtime = self.runtime
        await cancelWhenGracefulShutdown { await runtime.run() }
        runtime.stop()
        runtime.probe.close(keepPins: keepPins)
        let status = runtime.agent.status()
        logger.notice("agent stopped; weights and limits left at their last values, each limit within its pod's [floor, cap]", metadata: [
            "decisions": "\(status.decisions)", "rounds": "\(status.rounds)",
            "pins": "\(keepPins ? "kept under \(runtime.probe.configuration.pinRoot)" : "removed")",
        ])
    }
}
