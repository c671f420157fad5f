import ArgumentParser
import Cgroups
import KernelProbe
import Logging
import Market
import MetricsEndpoint
import NodeAgent
import Prometheus
import ServiceLifecycle

/// `mbcas agent`: the node agent, standalone (no Kubernetes) by default.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run the node agent: kernel stall pushes → fast guardrail → market → CPU limits.",
        discussion: """
            Standalone mode (the default): every child cgroup of --cgroup-parent is one "pod". The \
            agent loads the eBPF probes, and on each pushed throttle event raises that pod's CPU \
            limit at once (the guardrail: +30 % from free headroom, at most every 250 ms); pushed \
            stalls trigger market rounds (at most every 100 ms) that re-divide the node by \
            proportional fairness; every 2 s it gives CPU back once cooldowns allow, adopts new or \
            removed cgroups and reconciles the limits with the cgroup files (cpu.max on v2, \
            cpu.cfs_quota_us on v1).

            Needs root (or CAP_BPF, CAP_PERFMON and write access to the cgroups). Stop it with \
            Ctrl-C or SIGTERM: limits stay at their last values, each within [floor, cap], and the \
            pinned maps stay so a restarted agent continues the same totals.

            Configuration file (JSON; every field optional; flags override):
              {"cgroup_parent": "/sys/fs/cgroup/cpu/mbcas-demo", "capacity_millicores": 2000,
               "reserve_millicores": 100,
               "defaults": {"floor": 100, "cap": 2000, "weight": 1, "qos": "Burstable"},
               "pods": {"bursty": {"floor": 100, "cap": 1800, "weight": 2}},
               "guardrail": {"step": 0.3, "interval_ms": 250},
               "market": {"debounce_ms": 100, "reclaim_interval_ms": 2000,
                          "cooldown_ms": 30000, "warmup_ms": 60000}}

            Example:
              sudo mbcas agent --cgroup-parent /sys/fs/cgroup/cpu/mbcas-demo --log-level info
            """
    )

    @Option(help: ArgumentHelp("JSON configuration file (see above).", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("The parent cgroup whose children are the managed pods (absolute path).", valueName: "path"))
    var cgroupParent: String?

    @Option(help: ArgumentHelp("CPU the market divides, millicores (default: online CPUs × 1000).", valueName: "millicores"))
    var capacity: Int?

    @Option(help: ArgumentHelp("CPU kept out of the market, millicores (default 100).", valueName: "millicores"))
    var reserve: Int?

    @Option(help: ArgumentHelp("Floor for pods not in the configuration file, millicores.", valueName: "millicores"))
    var defaultFloor: Int?

    @Option(help: ArgumentHelp("Cap for pods not in the configuration file, millicores.", valueName: "millicores"))
    var defaultCap: Int?

    @Option(help: "Where the maps are pinned in bpffs (mbcas top and bpftool read them there).")
    var pinRoot = ProbeConfiguration.defaultPinRoot

    @Flag(help: "Remove the pinned maps on exit (by default they stay, so a restart continues the totals).")
    var unpinOnExit = false

    @Flag(inversion: .prefixedNo, help: "Run the ring-buffer thread under SCHED_FIFO when permitted (CAP_SYS_NICE).")
    var realtime = true

    @Option(help: ArgumentHelp(
        "push: react to the kernel's pushes (the product). poll: the baseline it replaces: read cpu.stat every --poll-interval-ms and react only then.",
        valueName: "push|poll"))
    var mode: AgentMode = .push

    @Option(help: "Polling mode's interval, in milliseconds.")
    var pollIntervalMs = 1000

    @Option(help: ArgumentHelp("Serve /metrics (Prometheus), /healthz and /readyz on this address (off by default).",
                               valueName: "host:port"))
    var metricsAddress: String?

    @Option(help: "Program set: auto (tp_btf, else raw_tp), btf, raw.")
    var attachMode: AttachMode = .automatic

    @Option(help: "Log level (trace, debug, info, notice, warning, error).")
    var logLevel: Logger.Level = .info

    func run() async throws {
        let logger = makeStderrLogger(label: "mbcas.agent", level: logLevel)
        let configuration = try resolvedConfiguration()
        let hierarchy: CgroupHierarchy
        do { hierarchy = try CgroupHierarchy.discover(controller: "cpu") } catch {
            throw ValidationError("cannot find the cpu controller's cgroup hierarchy: \(error.message)")
        }
        let endpointAddress = try metricsAddress.map(parseAddress)
        let registry = PrometheusCollectorRegistry()
        let observer = endpointAddress.map { _ in
            MetricsObserver(metrics: AgentMetrics(registry: registry, decisionReasons: Reason.allCases.map(\.rawValue)))
        }
        let probe = try KernelProbe.load(
            ProbeConfiguration(attachMode: attachMode, pinRoot: pinRoot, filterCgroups: true), logger: logger)
        let agent: NodeAgent
        do {
            agent = try NodeAgent(configuration: configuration, probe: probe,
                                  actuator: CgroupActuator(version: hierarchy.version), hierarchy: hierarchy,
                                  logger: logger, observer: observer)
        } catch {
            probe.close(keepPins: true)
            throw ValidationError(error.message)
        }
        agent.refreshPods()
        try probe.attach()
        // In polling mode events are still consumed but decide nothing.
        let consumer = try probe.makeConsumer { [mode] event in if mode == .push { agent.handle(event) } }
        if try !consumer.start(realtimePriority: realtime ? 10 : nil), realtime {
            logger.warning("SCHED_FIFO refused (needs CAP_SYS_NICE): the ring-buffer thread runs as an ordinary thread; pushes may wait up to a scheduler tick")
        }
        logger.notice("agent running", metadata: [
            "cgroup_parent": "\(configuration.cgroupParent)", "pods": "\(agent.status().pods.map(\.name))",
            "capacity": "\(agent.status().capacityMillicores)m", "reserve": "\(configuration.reserveMillicores)m",
            "programs": "\(probe.attachMode)", "mode": "\(mode.rawValue)",
        ])
        var services: [any Service] = [
            AgentService(agent: agent, consumer: consumer, probe: probe, keepPins: !unpinOnExit,
                         pollInterval: mode == .poll ? .milliseconds(pollIntervalMs) : nil, logger: logger),
        ]
        if let endpointAddress {
            // Alive: the ring-buffer thread runs and market rounds keep happening (the slow pass runs
            // one every reclaim interval even on a quiet node). Ready: alive, and the pods adopted.
            let staleAfter = Double(configuration.market.reclaimIntervalMs) / 1000 * 5
            let health: @Sendable () -> HealthReport = {
                let ages = agent.ages
                let roundsFresh = (ages.round ?? 0) < staleAfter
                return HealthReport(healthy: consumer.isRunning && roundsFresh, checks: [
                    "ringbuf_consumer": consumer.isRunning ? "alive" : "stopped",
                    "last_round_age_seconds": ages.round.map { String(format: "%.1f", $0) } ?? "none yet",
                    "last_event_age_seconds": ages.event.map { String(format: "%.1f", $0) } ?? "none yet",
                ])
            }
            services.append(MetricsEndpoint(
                configuration: .init(host: endpointAddress.host, port: endpointAddress.port), registry: registry,
                liveness: health, readiness: health, logger: logger))
        }
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }

    func validate() throws {
        guard pollIntervalMs >= 10 else { throw ValidationError("--poll-interval-ms must be at least 10") }
    }

    /// "127.0.0.1:9464", "[::1]:9464", ":9464" (all addresses).
    func parseAddress(_ text: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65535).contains(port) else {
            throw ValidationError("--metrics-address must be host:port (e.g. 127.0.0.1:9464), got '\(text)'")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    /// The file's configuration with the flags applied on top, validated.
    func resolvedConfiguration() throws -> AgentConfiguration {
        var configuration: AgentConfiguration
        if let config {
            do { configuration = try AgentConfiguration.load(path: config) } catch { throw ValidationError(error.message) }
        } else {
            configuration = AgentConfiguration(cgroupParent: "")
        }
        if let cgroupParent { configuration.cgroupParent = cgroupParent }
        if let capacity { configuration.capacityMillicores = capacity }
        if let reserve { configuration.reserveMillicores = reserve }
        if let defaultFloor { configuration.defaults.floor = defaultFloor }
        if let defaultCap { configuration.defaults.cap = defaultCap }
        guard !configuration.cgroupParent.isEmpty else {
            throw ValidationError("no parent cgroup: give --cgroup-parent or cgroup_parent in --config")
        }
        do { try configuration.validate() } catch { throw ValidationError(error.message) }
        return configuration
    }
}

/// How the agent learns of stalls.
enum AgentMode: String, ExpressibleByArgument, CaseIterable {
    case push, poll
}
