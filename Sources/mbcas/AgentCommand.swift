import ArgumentParser
import Cgroups
import Foundation
import KernelProbe
import KubernetesClient
import Logging
import Market
import MetricsEndpoint
import NodeAgent
import NodeAgentKubernetes
import NodeAgentMetrics
import Prometheus
import ServiceLifecycle

/// `mbcas agent`: the node agent, standalone (no Kubernetes) by default.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run the node agent: kernel stall pushes → market → CFS weights, caps and bursts.",
        discussion: """
            Standalone mode (the default): every child cgroup of --cgroup-parent is one "pod". The \
            node budget (capacity − reserve) becomes the parent's own CPU limit, so the pods \
            together never use more. The kernel's fair scheduler divides that budget at every \
            scheduling decision in proportion to CFS weights (cpu.shares on v1, cpu.weight on v2), \
            and gives CPU one pod leaves idle to the others; the agent sets the weights. Pushed \
            stalls trigger market rounds (at most every 100 ms, and every 2 s regardless) that learn \
            each pod's class from the scheduler (a server sleeps between requests; a batch job \
            stays runnable) unless "class" declares it, serve latency-sensitive demand first, let \
            batch share the rest by weight × floor, never below a floor, and write a weight only \
            when it moves by 10 % or more. A pod's limit is its cap: one found below it stays until \
            the pod throttles at it, and the pushed throttle raises it to the cap at once; the CFS \
            burst (cpu.cfs_burst_us / cpu.max.burst) is set to one quota after every limit write.

            Needs root (or CAP_BPF, CAP_PERFMON and write access to the cgroups). Stop it with \
            Ctrl-C or SIGTERM: weights and limits stay at their last values, each limit within \
            [floor, cap], and the pinned maps stay so a restarted agent continues the same totals. \
            "actuation": "limits" in the configuration brings back the older model (the market \
            moves limits; a guardrail raises them +30 % per push from free headroom).

            Kubernetes mode (--kubernetes, as the DaemonSet runs it): the pods are the API's pods \
            bound to --node-name (LIST+WATCH), found under --cgroup-root by their UID (kubelet \
            cgroup names, systemd or cgroupfs driver). Only pods whose containers all have a CPU \
            limit are managed; Guaranteed pods are watched but never changed. Floor = the pod's \
            CPU requests; cap = annotation mbcas.io/cpu-cap, else the larger of --default-cap and \
            the pod's own limits; weight = annotation mbcas.io/weight. Decisions are not written \
            to cgroups (the kubelet owns them there) but as PodAllocations (mbcas.io/v1alpha1, one \
            per pod, server-side apply, at most one write per pod per --write-interval-ms, latest \
            decision wins), which `mbcas controller` applies through pods/resize. The capacity the \
            market divides is the Node's status.allocatable.cpu, read at start and followed (watch) \
            as it changes; --capacity (or capacity_millicores) replaces it. Needs RBAC: list/watch \
            pods; create/patch/list/watch podallocations; get/watch nodes (not with --capacity). \
            API access: in-cluster service account, or --kubeconfig.

            Configuration file (JSON; every field optional; flags override):
              {"cgroup_parent": "/sys/fs/cgroup/cpu/mbcas-demo", "capacity_millicores": 2000,
               "reserve_millicores": 100, "actuation": "weights",
               "defaults": {"floor": 100, "cap": 2000, "weight": 1, "qos": "Burstable"},
               "pods": {"web": {"floor": 200, "cap": 1800, "class": "latency"},
                        "etl": {"floor": 200, "weight": 2, "class": "batch"}},
               "guardrail": {"step": 0.3, "interval_ms": 250},
               "market": {"debounce_ms": 100, "repeat_debounce_ms": 500, "reclaim_interval_ms": 2000,
                          "cooldown_ms": 30000, "warmup_ms": 60000}}

            Examples:
              sudo mbcas agent --cgroup-parent /sys/fs/cgroup/cpu/mbcas-demo --log-level info
              mbcas agent --kubernetes --node-name "$NODE_NAME" --metrics-address 0.0.0.0:9464
            """
    )

    @Option(help: ArgumentHelp("JSON configuration file (see above).", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("The parent cgroup whose children are the managed pods (absolute path).", valueName: "path"))
    var cgroupParent: String?

    @Option(help: ArgumentHelp("CPU the market divides, millicores (default: online CPUs × 1000; in Kubernetes mode the Node's "
                               + "status.allocatable.cpu, followed as it changes).", valueName: "millicores"))
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

    @Option(help: ArgumentHelp("Entries of each per-cgroup BPF map: the most cgroups counted at once (default 16384).",
                               valueName: "n"))
    var maxCgroups = ProbeConfiguration.defaultMaxCgroups

    @Option(help: "Log level (trace, debug, info, notice, warning, error).")
    var logLevel: Logger.Level = .info

    @Flag(help: "Kubernetes mode: manage this node's pods, write decisions as PodAllocations.")
    var kubernetes = false

    @Option(help: ArgumentHelp("Kubernetes mode: kubeconfig to use (default: in-cluster service account, else $KUBECONFIG or ~/.kube/config).",
                               valueName: "file"))
    var kubeconfig: String?

    @Option(help: ArgumentHelp("Kubernetes mode: this node's name (default: $NODE_NAME).", valueName: "name"))
    var nodeName: String?

    @Option(help: ArgumentHelp("Kubernetes mode: where to look for the kubelet's pod cgroups (default: the cpu controller's mount point).",
                               valueName: "path"))
    var cgroupRoot: String?

    @Option(help: ArgumentHelp("Kubernetes mode: at most one PodAllocation write per pod per this many milliseconds.",
                               valueName: "ms"))
    var writeIntervalMs = 500

    @Flag(help: ArgumentHelp("Kubernetes mode: also write a guardrail raise straight into the pod's cgroups (pod level, "
                             + "then its containers), held until the resize lands through the API and re-asserted if the "
                             + "kubelet rewrites it first (off by default; the cgroup mount must then be writable)."))
    var directCgroupRaise = false

    @Option(help: ArgumentHelp("Kubernetes mode: what decisions move: weights (each pod's CPU request, from which the kubelet "
                               + "derives its CFS weight, with limits as caps) or limits (the older model) (default: limits).",
                               valueName: "weights|limits"))
    var actuation: AgentConfiguration.Actuation?

    func run() async throws {
        let logger = makeStderrLogger(label: "mbcas.agent", level: logLevel)
        let hierarchy: CgroupHierarchy
        do { hierarchy = try CgroupHierarchy.discover(controller: "cpu") } catch {
            throw ValidationError("cannot find the cpu controller's cgroup hierarchy: \(error.message)")
        }
        var configuration = try resolvedConfiguration(hierarchy: hierarchy)
        let cluster = try kubernetes ? KubernetesSide(command: self, configuration: configuration, hierarchy: hierarchy,
                                                      logger: logger) : nil
        // Kubernetes: what the market divides is the node's allocatable cpu, unless given by hand.
        var allocatable: KubernetesAgentService.AllocatableSource?
        if let cluster, configuration.capacityMillicores == nil {
            let node = NodeAllocatable(client: cluster.client, nodeName: cluster.inventory.nodeName, logger: logger)
            do {
                let (millicores, version) = try await node.readWaiting()
                allocatable = .init(node: node, millicores: millicores, resourceVersion: version)
            } catch {
                throw ValidationError(error.description)
            }
            configuration.capacityMillicores = allocatable?.millicores
            do { try configuration.validate() } catch {
                throw ValidationError("\(error.message) (the capacity is Node \(node.nodeName)'s status.allocatable.cpu)")
            }
        }
        let endpointAddress = try metricsAddress.map(parseListenAddress)
        let registry = PrometheusCollectorRegistry()
        let observer = endpointAddress.map { _ in
            MetricsObserver(metrics: AgentMetrics(registry: registry, decisionReasons: Reason.allCases.map(\.rawValue)),
                            classes: PodClassMetrics(registry: registry))
        }
        let probe = try KernelProbe.load(
            ProbeConfiguration(attachMode: attachMode, pinRoot: pinRoot, filterCgroups: true, maxCgroups: maxCgroups),
            logger: logger)
        let runtime: AgentRuntime
        do {
            try probe.attach()
            runtime = try AgentRuntime(
                probe: probe, configuration: configuration,
                actuator: cluster?.writer ?? CgroupActuator(version: hierarchy.version, burst: BurstWriter(logger: logger)),
                hierarchy: hierarchy, inventory: cluster?.inventory,
                mode: mode == .push ? .push : .poll(.milliseconds(pollIntervalMs)),
                adoptPods: cluster == nil,  // Kubernetes mode adopts once the pods are listed
                realtimePriority: realtime ? 10 : nil, logger: logger, observer: observer)
        } catch let error as AgentError {
            probe.close(keepPins: true)
            throw ValidationError(error.message)
        } catch {
            probe.close(keepPins: true)
            throw error
        }
        let agent = runtime.agent, consumer = runtime.consumer
        if !runtime.realtime, realtime {
            logger.warning("SCHED_FIFO refused (needs CAP_SYS_NICE): the ring-buffer thread runs as an ordinary thread; pushes may wait up to a scheduler tick")
        }
        logger.notice("agent running", metadata: [
            "cgroup_parent": "\(configuration.cgroupParent)", "pods": "\(agent.status().pods.map(\.name))",
            "capacity": "\(agent.status().capacityMillicores)m\(allocatable.map { " (Node \($0.node.nodeName)'s allocatable cpu, followed)" } ?? "")",
            "reserve": "\(configuration.reserveMillicores)m",
            "programs": "\(probe.attachMode)", "mode": "\(mode.rawValue)", "actuation": "\(configuration.actuation.rawValue)",
            "kubernetes": "\(cluster.map { "node \($0.inventory.nodeName), API \($0.client.configuration.server) (\($0.client.configuration.origin))" } ?? "off")",
        ])
        var services: [any Service] = [runtime.service(keepPins: !unpinOnExit, logger: logger)]
        let probeMetrics = endpointAddress.map { _ in
            ProbeMetrics(registry: registry, programSet: probe.attachMode.rawValue, fallbackReason: probe.fallbackReason)
        }
        services.append(ProbeHealthService(probe: probe, metrics: probeMetrics, interval: .seconds(5), logger: logger))
        if let cluster {
            services.append(KubernetesAgentService(agent: agent, inventory: cluster.inventory, writer: cluster.writer,
                                                   allocatable: allocatable, logger: logger))
        }
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
            // Ready: alive and, in Kubernetes mode, the node's pods listed and the API reachable now
            // (liveness leaves the API out: restarting the agent would not bring the API back).
            let readiness: @Sendable () -> HealthReport = {
                var report = health()
                if let cluster {
                    let informer = cluster.inventory.informer
                    report.checks["pods_listed"] = informer.hasSynced ? "yes" : "not yet (API unreachable or forbidden?)"
                    report.checks["api_reachable"] = informer.isConnected ? "yes" : "no (the pod watch is failing; see the log)"
                    report.checks["podallocation_writes_pending"] = "\(cluster.writer.pendingCount)"
                    report.healthy = report.healthy && informer.hasSynced && informer.isConnected
                }
                return report
            }
            services.append(MetricsEndpoint(
                configuration: .init(host: endpointAddress.host, port: endpointAddress.port), registry: registry,
                liveness: health, readiness: readiness, logger: logger))
        }
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }

    func validate() throws {
        guard pollIntervalMs >= 10 else { throw ValidationError("--poll-interval-ms must be at least 10") }
        guard writeIntervalMs >= 0 else { throw ValidationError("--write-interval-ms must not be negative") }
        if !kubernetes {
            for (flag, value) in [("--kubeconfig", kubeconfig), ("--node-name", nodeName), ("--cgroup-root", cgroupRoot)] where value != nil {
                throw ValidationError("\(flag) is for Kubernetes mode: add --kubernetes")
            }
            if directCgroupRaise { throw ValidationError("--direct-cgroup-raise is for Kubernetes mode: add --kubernetes") }
            if actuation != nil {
                throw ValidationError("--actuation is for Kubernetes mode; standalone, set \"actuation\" in --config")
            }
        } else if cgroupParent != nil {
            throw ValidationError("--cgroup-parent is for standalone mode; in Kubernetes mode use --cgroup-root (where the kubelet's pod cgroups are)")
        }
    }

    /// The file's configuration with the flags applied on top, validated. In Kubernetes mode the
    /// managed subtree is --cgroup-root (default: the whole cpu hierarchy).
    func resolvedConfiguration(hierarchy: CgroupHierarchy) throws -> AgentConfiguration {
        var configuration: AgentConfiguration
        if let config {
            do { configuration = try AgentConfiguration.load(path: config) } catch { throw ValidationError(error.message) }
        } else {
            configuration = AgentConfiguration(cgroupParent: "")
        }
        if let cgroupParent { configuration.cgroupParent = cgroupParent }
        if kubernetes {
            configuration.cgroupParent = cgroupRoot ?? hierarchy.mountPoint
            // The kubelet owns the pods' weights (from requests) and the kubepods tree: weights are moved
            // through the requests in the PodAllocations (--actuation weights); limits by default.
            configuration.actuation = actuation ?? .limits
        }
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

/// Kubernetes mode's parts: the API client, the node's pods, the PodAllocation writer.
struct KubernetesSide {
    let client: APIClient
    let inventory: KubernetesPodInventory
    let writer: PodAllocationWriter

    init(command: AgentCommand, configuration: AgentConfiguration, hierarchy: CgroupHierarchy, logger: Logger) throws {
        guard let node = command.nodeName ?? ProcessInfo.processInfo.environment["NODE_NAME"], !node.isEmpty else {
            throw ValidationError("Kubernetes mode needs this node's name: --node-name, or NODE_NAME from the downward API (spec.nodeName)")
        }
        let cluster: ClusterConfiguration
        do { cluster = try ClusterConfiguration.resolve(kubeconfig: command.kubeconfig) } catch {
            throw ValidationError("cannot configure Kubernetes API access: \(error.message)")
        }
        client = APIClient(configuration: cluster, retry: RetryPolicy(maxAttempts: 3), requestTimeout: .seconds(10),
                           userAgent: "mbcas-agent/\(node)", logger: logger)
        inventory = KubernetesPodInventory(client: client, nodeName: node, defaults: configuration.defaults, logger: logger)
        writer = PodAllocationWriter(client: client, pods: inventory.informer, nodeName: node,
                                     files: CgroupActuator(version: hierarchy.version),
                                     minInterval: .milliseconds(command.writeIntervalMs),
                                     directCgroupRaise: command.directCgroupRaise, logger: logger)
        inventory.recordFloors(from: writer.allocations)
    }
}

/// How the agent learns of stalls.
enum AgentMode: String, ExpressibleByArgument, CaseIterable {
    case push, poll
}

extension AgentConfiguration.Actuation: ExpressibleByArgument {}
