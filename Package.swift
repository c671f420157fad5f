// swift-tools-version: 6.0
//
// MBCAS: moves CPU between co-located containers the moment the kernel says
// one is starving. One module per part of the architecture:
//
//   MonotonicTime CLOCK_MONOTONIC in ns (the clock the BPF programs stamp events with)
//   ProcessControl  stop signals as an event (commands outside a ServiceGroup), running a command
//   ServiceErrors ServiceError<Code>: one error shape (code, message, path, errno) for the probe, the agent, the controller
//   CKernelProbe  C: libbpf, the kernel/user ABI (bpf/mbcas.h), the embedded BPF skeleton
//   KernelProbe   loads the probes, consumes the ring buffer, reads the cumulative maps
//   QoS           a pod's Kubernetes QoS class (one enum for kubelet paths, the API and the market)
//   Cgroups       cgroup v1/v2 files, cgroup ids, kubelet path parsing
//   Market        allocator (exact water-filling), demand model, safety rules, guardrail
//   Evaluation    trace-driven simulator: CFS model, five policies, metrics (`mbcas simulate`)
//   Workloads     CPU workloads (bursty, steady, hog, idle) run inside cgroups
//   MetricsEndpoint  the opt-in /metrics, /healthz, /readyz listener (NIO) and the agent's series
//   NodeAgent     wires them: pushes → guardrail → market rounds → actuator (cgroup files)
//   NodeAgentKubernetes  the agent's Kubernetes mode: informer inventory, PodAllocation writer
//   NodeAgentMetrics     the agent's observer that feeds MetricsEndpoint's series
//   KubernetesClient  the API over libcurl: kubeconfig/in-cluster, typed resources, watch, retries
//   Controller    applies PodAllocations through pods/resize (`mbcas controller`)
//   mbcas         the command-line tool (probe, allocate, ...)
//   mbcas-bench   benchmarks: figures with a same-run baseline, never pass/fail
//
// The BPF object is compiled ahead of time by `make bpf`, which writes the
// skeleton to Sources/CKernelProbe/generated/ before `swift build` runs.
import PackageDescription

let package = Package(
    name: "mbcas",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "mbcas", targets: ["mbcas"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
    ],
    targets: [
        .target(
            name: "CKernelProbe",
            cSettings: [
                .headerSearchPath("generated"),
                .unsafeFlags(["-Wall", "-Werror"]),
            ],
            linkerSettings: [
                .linkedLibrary("bpf"),
                .linkedLibrary("elf"),
                .linkedLibrary("z"),
            ]
        ),
        // CLOCK_MONOTONIC in nanoseconds, and sleeping until a point on it: the one clock reading.
        .target(name: "MonotonicTime"),
        // SIGINT/SIGTERM as an event the commands outside a ServiceGroup wait for; running a command.
        .target(name: "ProcessControl"),
        .target(
            name: "KernelProbe",
            dependencies: [
                "CKernelProbe", "MonotonicTime", "ServiceErrors",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // A pod's Kubernetes QoS class: the one enum for kubelet paths, the API, the controller, the market.
        .target(name: "QoS"),
        // The error of a long-running service (agent, controller): a code, a message, the errno.
        .target(
            name: "ServiceErrors",
            dependencies: [.product(name: "SystemPackage", package: "swift-system")]
        ),
        .target(
            name: "Cgroups",
            dependencies: ["QoS", "ServiceErrors", .product(name: "SystemPackage", package: "swift-system")]
        ),
        // Pure Swift, no I/O: the allocator, demand model, safety rules and guardrail.
        .target(name: "Market", dependencies: ["QoS"]),
        // The trace-driven evaluation: a CFS bandwidth model and five policies (`mbcas simulate`).
        .target(
            name: "Evaluation",
            dependencies: ["Market"]
        ),
        // libcurl with typed setopt shims (the variadic C calls Swift cannot make).
        .target(
            name: "CCurl",
            linkerSettings: [.linkedLibrary("curl")]
        ),
        // Kubernetes API access over libcurl: config (kubeconfig, in-cluster), typed resources,
        // get/list/watch/create/update/patch with retries, informers.
        .target(
            name: "KubernetesClient",
            dependencies: [
                "CCurl", "QoS",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // `mbcas controller`: applies PodAllocations through pods/resize, leader-elected.
        .target(
            name: "Controller",
            dependencies: [
                "KubernetesClient", "QoS", "ServiceErrors",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // CPU workloads run inside cgroups, for the demo and the end-to-end tests.
        .target(
            name: "Workloads",
            dependencies: ["Cgroups", "Market", "MonotonicTime", "ServiceErrors",  // Market: its seeded SplitMix64
                           .product(name: "SystemPackage", package: "swift-system")]
        ),
        // The opt-in HTTP endpoint: /metrics (Prometheus), /healthz, /readyz; and the agent's series.
        .target(
            name: "MetricsEndpoint",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The node agent: probe pushes → guardrail → market → actuator (cgroup files).
        .target(
            name: "NodeAgent",
            dependencies: [
                "KernelProbe", "Cgroups", "Market", "MonotonicTime", "QoS", "ServiceErrors",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The agent's Kubernetes mode: pods by informer, decisions as PodAllocations (libcurl, Yams).
        .target(
            name: "NodeAgentKubernetes",
            dependencies: [
                "NodeAgent", "KernelProbe", "Cgroups", "Market", "MonotonicTime", "KubernetesClient", "QoS",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The agent's Prometheus series fed from its observer (NIO, swift-prometheus).
        .target(
            name: "NodeAgentMetrics",
            dependencies: ["NodeAgent", "KernelProbe", "MetricsEndpoint"]
        ),
        .executableTarget(
            name: "mbcas",
            dependencies: [
                "KernelProbe",
                "Cgroups",
                "Market",
                "NodeAgent",
                "NodeAgentKubernetes",
                "NodeAgentMetrics",
                "Workloads",
                "MetricsEndpoint",
                "Evaluation",
                "KubernetesClient",
                "Controller",
                "ProcessControl",
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Benchmarks: print median, p99 and a same-run baseline; never assert timings.
        .executableTarget(
            name: "mbcas-bench",
            dependencies: [
                "KernelProbe", "Cgroups", "Market", "MonotonicTime", "NodeAgent", "ProcessControl", "Workloads",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Test fixture: a loopback Kubernetes API server (in-memory store, watch, discovery).
        .target(
            name: "KubeAPIFixture",
            dependencies: [
                "MetricsEndpoint",  // its ConnectionTracker: the one connection tracking of both NIO servers
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The loopback API server on its own, for `kubectl --server` (`make test-apiserver`).
        // Test support: not part of the shipped `mbcas` binary.
        .executableTarget(
            name: "mbcas-test-apiserver",
            dependencies: [
                "KubeAPIFixture", "ProcessControl",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Shared by the test targets only: the privileged-test gate, CPU burners, temporary cgroups.
        .target(
            name: "TestSupport",
            dependencies: ["Cgroups", "KernelProbe"]
        ),
        .testTarget(
            name: "MarketTests",
            dependencies: ["Market", "QoS", .product(name: "PropertyBased", package: "swift-property-based")]
        ),
        .testTarget(
            name: "CgroupsTests",
            dependencies: ["Cgroups", "QoS", "TestSupport", "Market"]  // Market: its seeded SplitMix64 for the fuzz test
        ),
        .testTarget(
            name: "KernelProbeTests",
            dependencies: ["KernelProbe", "CKernelProbe", "Cgroups", "TestSupport",
                           .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "MetricsEndpointTests",
            dependencies: [
                "MetricsEndpoint",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "KubernetesClientTests",
            dependencies: ["KubernetesClient", "KubeAPIFixture", "TestSupport"]
        ),
        .testTarget(
            name: "ControllerTests",
            dependencies: ["Controller", "KubernetesClient", "KubeAPIFixture", "QoS", "TestSupport",
                           .product(name: "Logging", package: "swift-log")]
        ),
        // The manifests under deploy/, checked offline (schemas, RBAC, capabilities, Dockerfile).
        .testTarget(
            name: "DeployTests",
            dependencies: ["ProcessControl", "TestSupport"]
        ),
        .testTarget(
            name: "EvaluationTests",
            dependencies: ["Evaluation", "Market"]
        ),
        .testTarget(
            name: "WorkloadsTests",
            dependencies: ["Workloads", "Cgroups", "Market", "ProcessControl", "TestSupport", "mbcas"]
        ),
        .testTarget(
            name: "NodeAgentTests",
            dependencies: ["NodeAgent", "NodeAgentKubernetes", "KernelProbe", "Cgroups", "Market", "QoS", "TestSupport", "KubernetesClient", "KubeAPIFixture",
                           .product(name: "Logging", package: "swift-log"),
                           .product(name: "InMemoryLogging", package: "swift-log")]
        ),
        .testTarget(
            name: "KubeAPIFixtureTests",
            dependencies: [
                "KubeAPIFixture", "ProcessControl", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The official Python client's fidelity script, run by a test with .venv/bin/python.
            exclude: ["python"]
        ),
        // Runs the built `mbcas` binary the way a user does.
        .testTarget(
            name: "CLITests",
            dependencies: ["TestSupport", "mbcas", "mbcas-bench", "mbcas-test-apiserver", "Cgroups", "KernelProbe", "MonotonicTime", "ProcessControl",
                           "KubeAPIFixture", "KubernetesClient", "Market"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
