import KernelProbe
import Logging
import ServiceLifecycle

/// The agent as a long-running service: the ring-buffer consumer thread
/// (started by the caller) feeds `NodeAgent.handle`; this runs the market
/// rounds and the slow pass until graceful shutdown (SIGTERM/SIGINT), then
/// stops the consumer and detaches the probe.
///
/// On shutdown the limits stay as they are: every one was written whole
/// and lies within its pod's [floor, cap], so the last value is a safe
/// one. The pinned maps are kept (unless asked otherwise), so a restarted
/// agent continues the same totals.
public struct AgentService: Service {
    private let agent: NodeAgent
    private let consumer: RingBufferConsumer
    private let probe: KernelProbe
    private let keepPins: Bool
    private let pollInterval: Duration?
    private let logger: Logger

    /// Creates the service. With `pollInterval` the agent runs in polling
    /// mode (the baseline): no market round or raise is triggered by a push.
    public init(agent: NodeAgent, consumer: RingBufferConsumer, probe: KernelProbe, keepPins: Bool,
                pollInterval: Duration? = nil, logger: Logger) {
        self.pollInterval = pollInterval
        self.agent = agent
        self.consumer = consumer
        self.probe = probe
        self.keepPins = keepPins
        self.logger = logger
    }

    public func run() async throws {
        let agent = self.agent
        let pollInterval = self.pollInterval
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                if let pollInterval {
                    group.addTask { await agent.runPolling(interval: pollInterval) }
                } else {
                    group.addTask { await agent.runMarketRounds() }
                }
                group.addTask { await agent.runReclaimPass() }
            }
        }
        agent.finish()
        consumer.stop()
        probe.close(keepPins: keepPins)
        let status = agent.status()
        logger.notice("agent stopped; limits left at their last values, each within its pod's [floor, cap]", metadata: [
            "decisions": "\(status.decisions)", "rounds": "\(status.rounds)",
            "pins": "\(keepPins ? "kept under \(probe.configuration.pinRoot)" : "removed")",
        ])
    }
}
