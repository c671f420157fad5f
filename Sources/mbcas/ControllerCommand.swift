import ArgumentParser
import Controller
import Foundation
import KubernetesClient
import Logging
import MetricsEndpoint
import Prometheus
import ServiceLifecycle

/// `mbcas controller`: applies the agents' PodAllocations to pods through in-place resize.
struct ControllerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controller",
        abstract: "Apply PodAllocations to pods through in-place resize (Kubernetes 1.33+), leader-elected.",
        discussion: """
            The node agents (mbcas agent --kubernetes) write one PodAllocation (mbcas.io/v1alpha1) \
            per pod: the CPU limit (and optionally request) each container should have. This \
            controller watches PodAllocations and pods in every namespace and moves each pod to \
            its allocation through the pods/resize subresource, then records the outcome in the \
            PodAllocation's status and as Events on the pod (kubectl describe pod).

            RULES
              - Guaranteed pods are never touched; BestEffort pods never get a limit (either \
            would change the QoS class, which cannot change in place).
              - Requests stay at or below limits; the controller never changes a QoS class on its \
            own account (a request the agent asks for is checked by the API server: 422).
              - Containers whose cpu resizePolicy is RestartContainer are left alone unless \
            --allow-restarts.
              - At most one resize that moves a limit per pod per --cooldown-seconds, and at most \
            one resize of any kind per --request-cooldown-seconds: a change of requests alone \
            (weights, which throttle nothing) does not wait for the limits' cooldown, and goes \
            ahead on its own while a limit change in the same decision waits. One resize moves a limit at most \
            ×--max-step-up or ×--max-step-down from what the kubelet actuated (larger changes \
            are made in steps).
              - Reconcile is level-triggered: every pass rebuilds the status from the pod, so a \
            restart or failover loses nothing. Failed API calls retry with backoff; a periodic \
            resync (--resync-seconds) looks at every PodAllocation again.

            PHASES (kubectl get podallocations)
              Pending     not there yet: resize requested, in progress, or waiting for the cooldown
              Applied     the kubelet reports the pod running with the allocation
              Deferred    the kubelet deferred the resize (PodResizePending/Deferred: no room now)
              Infeasible  the kubelet cannot do it on this node (PodResizePending/Infeasible)
              Skipped     deliberately not applied (QoS class, restart policy, recreated pod); the \
            message says why
              Failed      the API refused the resize (422); the message is the API's. Not retried \
            until the agent writes a new decision (a new generation).
            The Applied condition carries a reason (Cooldown, ResizeRequested, InProgress, \
            WaitingForKubelet, Stepping, GuaranteedQoS, RestartRequired, ResizeFailed, ...).

            LEADER ELECTION
            Run two replicas: one holds the Lease (--namespace/--lease-name) and acts; the other \
            takes over when the Lease is not renewed for its duration (15 s), or at once when \
            the leader shuts down gracefully (SIGTERM). Each replica needs a unique --identity.

            RBAC (deploy/rbac/controller.yaml)
              pods: list, watch (cluster-wide); pods/resize: patch
              podallocations.mbcas.io: list, watch; podallocations/status: patch
              events: create, patch
              leases.coordination.k8s.io in --namespace: create; get, update on --lease-name
            A missing permission or CRD stops the controller at startup with the fix named.

            CONFIGURATION
            In a pod: the service account (KUBERNETES_SERVICE_HOST, the mounted token and CA). \
            Outside: --kubeconfig, else $KUBECONFIG, else ~/.kube/config.

            Example (outside a cluster):
              mbcas controller --kubeconfig ~/.kube/config --namespace mbcas-system \\
                --metrics-address 127.0.0.1:9465 --log-level info
            """
    )

    @Option(help: ArgumentHelp("kubeconfig file (default: in-cluster service account, else $KUBECONFIG, else ~/.kube/config).",
                               valueName: "path"))
    var kubeconfig: String?

    @Option(help: ArgumentHelp("Namespace of the leader election Lease (default: $POD_NAMESPACE, else the configuration's namespace, else mbcas-system).",
                               valueName: "namespace"))
    var namespace: String?

    @Option(help: ArgumentHelp("Name of the leader election Lease.", valueName: "name"))
    var leaseName = "mbcas-controller"

    @Option(help: ArgumentHelp("This replica's Lease identity, unique per replica (default: $POD_NAME, else <hostname>_<pid>).",
                               valueName: "name"))
    var identity: String?

    @Option(help: ArgumentHelp("Lease duration: a standby takes over after the Lease has not been renewed this long.",
                               valueName: "seconds"))
    var leaseDurationSeconds = 15

    @Option(help: ArgumentHelp("Least time between two resizes of one pod that move a CPU limit.", valueName: "seconds"))
    var cooldownSeconds: Double = 10

    @Option(help: ArgumentHelp("Least time between any two resizes of one pod (requests-only ones are paced by this alone).",
                               valueName: "seconds"))
    var requestCooldownSeconds: Double = 1

    @Option(help: ArgumentHelp("Largest factor one resize may raise a CPU limit by (≥ 1).", valueName: "factor"))
    var maxStepUp: Double = 2

    @Option(help: ArgumentHelp("Smallest factor one resize may lower a CPU limit to (0 < factor ≤ 1).", valueName: "factor"))
    var maxStepDown: Double = 0.5

    @Flag(help: "Also resize containers whose cpu resizePolicy is RestartContainer (the resize restarts them).")
    var allowRestarts = false

    @Option(help: ArgumentHelp("How often every PodAllocation is looked at again, whatever the watches say.", valueName: "seconds"))
    var resyncSeconds: Double = 60

    @Option(help: "How many PodAllocations are reconciled at once.")
    var workers = 2

    @Option(help: ArgumentHelp("Serve /metrics (mbcas_controller_* series), /healthz and /readyz on this address (off by default).",
                               valueName: "host:port"))
    var metricsAddress: String?

    @Option(help: "Log level (trace, debug, info, notice, warning, error).")
    var logLevel: Logger.Level = .info

    func validate() throws {
        guard cooldownSeconds >= 0, cooldownSeconds.isFinite else { throw ValidationError("--cooldown-seconds must not be negative") }
        guard requestCooldownSeconds >= 0, requestCooldownSeconds.isFinite else {
            throw ValidationError("--request-cooldown-seconds must not be negative")
        }
        guard resyncSeconds > 0, resyncSeconds.isFinite else { throw ValidationError("--resync-seconds must be positive") }
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1") }
        guard maxStepUp >= 1, maxStepUp.isFinite else { throw ValidationError("--max-step-up must be at least 1, got \(maxStepUp)") }
        guard maxStepDown > 0, maxStepDown <= 1 else { throw ValidationError("--max-step-down must be in (0, 1], got \(maxStepDown)") }
        guard leaseDurationSeconds >= 3 else { throw ValidationError("--lease-duration-seconds must be at least 3") }
        if let metricsAddress { _ = try parseListenAddress(metricsAddress) }
    }

    func run() async throws {
        let logger = makeStderrLogger(label: "mbcas.controller", level: logLevel)
        let environment = ProcessInfo.processInfo.environment
        let cluster: ClusterConfiguration
        do { cluster = try ClusterConfiguration.resolve(kubeconfig: kubeconfig) } catch {
            throw ControllerError(.configuration, "no Kubernetes configuration: \(error.message) "
                                  + "(give --kubeconfig, set KUBECONFIG, or run in a pod with a service account)")
        }
        let leaseNamespace = namespace ?? environment["POD_NAMESPACE"].flatMap { $0.isEmpty ? nil : $0 }
            ?? cluster.namespace.flatMap { $0.isEmpty ? nil : $0 } ?? "mbcas-system"
        let identity = identity ?? environment["POD_NAME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "\(ProcessInfo.processInfo.hostName)_\(ProcessInfo.processInfo.processIdentifier)"
        // Requests shorter than the renew deadline, so a hung call cannot outlive leadership by much.
        let client = APIClient(configuration: cluster, requestTimeout: .seconds(max(2, leaseDurationSeconds / 3)),
                               userAgent: "mbcas-controller", logger: logger)
        let configuration = ControllerConfiguration(
            cooldown: .milliseconds(Int64(cooldownSeconds * 1000)), requestCooldown: .milliseconds(Int64(requestCooldownSeconds * 1000)),
            maxStepUp: maxStepUp, maxStepDown: maxStepDown,
            allowRestarts: allowRestarts, resyncInterval: .milliseconds(Int64(resyncSeconds * 1000)), workers: workers,
            instance: identity)
        let election = LeaderElectionConfiguration(identity: identity, leaseName: leaseName, namespace: leaseNamespace,
                                                   leaseDuration: .seconds(leaseDurationSeconds))
        do {
            try configuration.validate()
            try election.validate()
        } catch {
            throw ValidationError(error.message)
        }
        logger.info("checking access", metadata: ["server": "\(cluster.server)", "config": "\(cluster.origin)"])
        try await Preflight.check(client: client, leaseNamespace: leaseNamespace, leaseName: leaseName)

        let service = ControllerService(client: client, configuration: configuration, leaderElection: election, logger: logger)
        logger.notice("controller starting", metadata: [
            "server": "\(cluster.server)", "config": "\(cluster.origin)", "lease": "\(leaseNamespace)/\(leaseName)",
            "identity": "\(identity)", "cooldown_s": "\(cooldownSeconds)", "request_cooldown_s": "\(requestCooldownSeconds)", "max_step": "×\(maxStepUp)/×\(maxStepDown)",
            "allow_restarts": "\(allowRestarts)", "workers": "\(workers)",
        ])
        var services: [any Service] = [service]
        if let metricsAddress {
            let address = try parseListenAddress(metricsAddress)
            let registry = PrometheusCollectorRegistry()
            services.append(ControllerMetricsUpdater(metrics: ControllerMetrics(registry: registry), stats: service.stats))
            services.append(MetricsEndpoint(
                configuration: .init(host: address.host, port: address.port), registry: registry,
                liveness: { let report = service.liveness; return HealthReport(healthy: report.healthy, checks: report.checks) },
                readiness: { let report = service.readiness; return HealthReport(healthy: report.healthy, checks: report.checks) },
                logger: logger))
        }
        let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
    }
}

/// Copies the controller's counters to its Prometheus series once a second (scrapes are 15 s+ apart).
struct ControllerMetricsUpdater: Service {
    let metrics: ControllerMetrics
    let stats: ControllerStats

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                metrics.update(.init(reconciles: stats.reconciles, resizes: stats.resizes, statusWrites: stats.statusWrites,
                                     events: stats.events, errors: stats.errors, leading: stats.leading, synced: stats.synced))
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}
