import Cgroups
import Foundation
import KernelProbe
import KubeAPIFixture
import KubernetesClient
import Logging
import MonotonicTime
import ProcessControl
import Synchronization
import TestSupport
import Testing

/// The whole Kubernetes path on this machine, as root: real BPF probes → `mbcas agent
/// --kubernetes` → PodAllocation over HTTP → `mbcas controller` → `pods/resize` → the kubelet
/// stand-in → the pod's real cgroup limit. The API server is the loopback test server, holding
/// each binary to the RBAC deploy/ grants its ServiceAccount; the cgroups are laid out as a
/// cgroupfs-driver kubelet lays them out.
@Suite("Kubernetes end to end", .serialized, .enabled(if: Privileged.canRun))
struct KubernetesEndToEndTests {
    /// One kernel-to-cgroup sample: the stall's kernel time and when the cgroup got the limit
    /// decided for it (both CLOCK_MONOTONIC).
    struct Sample {
        var stall: UInt64, written: UInt64, millicores: Int64
        /// Kernel stall → the agent's decision, from the PodAllocation's spec.
        var decisionMicroseconds: Int64
        var reason: String
        /// When `--direct-cgroup-raise` wrote the pod cgroup for this stall (CLOCK_MONOTONIC), if it did.
        var direct: UInt64?
    }

    /// Filled by the kubelet stand-in's task, read by the test.
    final class SampleLog: Sendable {
        private let samples = Mutex<[Sample]>([])
        func append(_ sample: Sample) { samples.withLock { $0.append(sample) } }
        var all: [Sample] { samples.withLock { $0 } }
    }

    /// How often the stand-in's pod sync found the pod cgroup's quota off what the kubelet actuated
    /// (a direct raise) and wrote it back.
    final class Counter: Sendable {
        private let value = Atomic<Int>(0)
        func increment() { value.add(1, ordering: .relaxed) }
        var count: Int { value.load(ordering: .relaxed) }
    }

    /// While set, the stand-in kubelet's actuation fails (`PodResizeInProgress`, reason `Error`,
    /// retried at every re-evaluation): a resize held from landing without being refused.
    final class Flag: Sendable {
        private let value = Atomic<Bool>(false)
        func set(_ on: Bool) { value.store(on, ordering: .relaxed) }
        var isSet: Bool { value.load(ordering: .relaxed) }
    }

    struct ActuationHeld: Error, CustomStringConvertible {
        var description: String { "the test holds the resize in progress" }
    }

    /// The node: a kubelet-shaped cgroup tree, pods in the API, the stand-in kubelet, binaries.
    final class Node: @unchecked Sendable {
        let root: TemporaryCgroup
        let server: FakeKubeAPIServer
        var serverNow: FakeKubeAPIServer
        let client: APIClient
        let kubelet: KubeletStandIn
        let podCgroups: [String: String]  // pod name → pod cgroup path
        let uids: [String: String]
        let samples = SampleLog()
        let syncRewrites = Counter()
        let actuationFails = Flag()
        /// The agent's and the controller's kubeconfigs: each its own ServiceAccount's token.
        let kubeconfig: String
        let controllerKubeconfig: String
        /// deploy/'s grants per ServiceAccount (`namespace/name`); nil: not enforced (no venv).
        let grants: [String: [RBACAuthorizer.Rule]]?
        let pinRoot = "/sys/fs/bpf/mbcas-e2e-\(UInt32.random(in: 0...UInt32.max))"
        var processes: [(String, Process, String)] = []

        /// `kubeletSync`: the stand-in also plays the kubelet's pod sync and the runtime, writing
        /// the pod and container cgroups from the actuated limits on every pass (what races a
        /// direct raise on a real node).
        /// `guaranteed`: pods created with requests = limits (Guaranteed QoS, under kubepods/).
        /// `allocatableMillicores`: the Node's allocatable cpu (default: the online CPUs), and the
        /// stand-in answers resizes as the kubelet's admission does for it (Deferred /
        /// Infeasible), instead of accepting all.
        init(pods names: [String], guaranteed: Set<String> = [], annotations: [String: [String: String]] = [:],
             kubeletSync: Bool = false, allocatableMillicores: Int64? = nil) async throws {
            root = try TemporaryCgroup(prefix: "mbcas-e2e")
            server = try await FakeKubeAPIServer.start()
            serverNow = server
            client = APIClient(configuration: ClusterConfiguration(server: server.baseURL), logger: Logger(label: "e2e"))
            let version = root.hierarchy.version
            var cgroups: [String: String] = [:], uids: [String: String] = [:], containers: [String: String] = [:]
            for name in names {
                let isGuaranteed = guaranteed.contains(name)
                var metadata = ObjectMeta(name: name, namespace: "shop")
                metadata.annotations = annotations[name]
                let pod = try await client.resources(Pod.self, namespace: "shop").create(Pod(
                    metadata: metadata,
                    spec: PodSpec(nodeName: "node-e2e", containers: [Container(name: "app", image: "busybox", resources: ResourceRequirements(
                        requests: ["cpu": isGuaranteed ? "200m" : "100m", "memory": isGuaranteed ? "128Mi" : "64Mi"],
                        limits: ["cpu": "200m", "memory": "128Mi"]))])))
                let uid = try #require(pod.metadata.uid)
                // cgroupfs driver: <root>/kubepods/burstable/pod<uid>/<container id> (Guaranteed: kubepods/pod<uid>);
                // the kubelet sets the pod's limit and, from its requests, its weight.
                var directory = root.directory
                for component in ["kubepods"] + (isGuaranteed ? [] : ["burstable"]) + ["pod\(uid)"] {
                    directory = CgroupDirectory(path: directory.path + "/" + component)
                    if !directory.exists { _ = try CgroupDirectory(path: String(directory.path.dropLast(component.count + 1))).createChild(component) }
                }
                let containerID = String(repeating: "c\(names.firstIndex(of: name)!)", count: 32)
                _ = try directory.createChild(containerID)
                containers[name] = containerID
                try CPULimit(millicores: 200).write(cgroupPath: directory.path, version: version)
                try CPULimit(millicores: 200).write(cgroupPath: directory.path + "/" + containerID, version: version)
                for path in [directory.path, directory.path + "/" + containerID] {
                    try CPUShares.write(Self.kubeletShares(isGuaranteed ? 200 : 100), cgroupPath: path, version: version)
                }
                cgroups[name] = directory.path
                uids[uid] = name
            }
            podCgroups = cgroups
            self.uids = uids
            let samples = self.samples, rewrites = syncRewrites, store = server.store, byUID = uids, cgroupsByName = cgroups
            let failing = actuationFails
            let containerIDs = containers
            // The kubelet's pod sync and the runtime: cgroups rewritten from what the kubelet actuated.
            let sync: KubeletStandIn.Sync? = !kubeletSync ? nil : { @Sendable pod in
                guard let name = pod[path: ["metadata", "name"]]?.string, let path = cgroupsByName[name],
                      let text = pod[path: ["status", "containerStatuses"]]?.array?.first?[path: ["resources", "limits", "cpu"]]?.string,
                      let limit = try? CPUQuantity(parsing: text).millicores else { return }
                if (try? CPULimit.read(cgroupPath: path, version: version).millicores) != limit { rewrites.increment() }
                try? Node.writeQuota(limit, pod: path, container: path + "/" + containerIDs[name]!, version: version)
                // And the weight from the actuated request.
                if let text = pod[path: ["status", "containerStatuses"]]?.array?.first?[path: ["resources", "requests", "cpu"]]?.string,
                   let request = try? CPUQuantity(parsing: text).millicores {
                    for cgroup in [path, path + "/" + containerIDs[name]!] {
                        try? CPUShares.write(Node.kubeletShares(request), cgroupPath: cgroup, version: version)
                    }
                }
            }
            // The kubelet registers its Node; the agent reads the capacity it divides from it.
            let online = Int64(ProcessInfo.processInfo.activeProcessorCount) * 1000
            try KubeletStandIn.registerNode(store: store, name: "node-e2e", allocatableCPU: "\(allocatableMillicores ?? online)m")
            var policy: KubeletStandIn.Policy = { _ in .accept }
            if allocatableMillicores != nil {
                policy = KubeletStandIn.allocatable(store: store, nodeName: "node-e2e")
            }
            kubelet = KubeletStandIn(store: server.store, nodeName: "node-e2e", policy: policy, sync: sync, actuate: { resize in
                if failing.isSet { throw ActuationHeld() }
                // The kubelet's actuation: the pod cgroup's quota is the sum of its containers' limits.
                let total = try resize.containers.reduce(Int64(0)) { sum, container in
                    sum + (try CPUQuantity(parsing: container.limits["cpu"] ?? "0").millicores)
                }
                guard let name = byUID[resize.uid], let path = cgroupsByName[name] else { return }
                // With the runtime's UpdateContainerResources: the container's own quota.
                try Node.writeQuota(total, pod: path, container: path + "/" + containerIDs[name]!, version: version)
                let written = monotonicNanos()
                // The weight, from the requests (the kubelet's pod cgroup, the runtime's container cgroup).
                let requests = try resize.containers.reduce(Int64(0)) { (sum: Int64, container: ContainerResources) throws -> Int64 in
                    let text: String = container.requests["cpu"] ?? container.limits["cpu"] ?? "0"
                    return sum + (try CPUQuantity(parsing: text).millicores)
                }
                for cgroup in [path, path + "/" + containerIDs[name]!] {
                    try CPUShares.write(Node.kubeletShares(requests), cgroupPath: cgroup, version: version)
                }
                // Pair the write with the decision it carries out (the agent may have decided again since).
                if let allocation = try? store.get(.podAllocations, namespace: resize.namespace, name: resize.name),
                   let stall = allocation[path: ["metadata", "annotations", PodAllocationWriterAnnotation.stall]]?.string.flatMap(UInt64.init),
                   stall > 0 {
                    samples.append(Sample(stall: stall, written: written, millicores: total,
                                          decisionMicroseconds: allocation[path: ["spec", "decisionLatencyMicroseconds"]]?.int ?? 0,
                                          reason: allocation[path: ["spec", "reason"]]?.string ?? "?",
                                          direct: allocation[path: ["metadata", "annotations", PodAllocationWriterAnnotation.direct]]?
                                              .string.flatMap(UInt64.init).flatMap { $0 == 0 ? nil : $0 }))
                }
            })
            for name in names { try kubelet.markRunning(namespace: "shop", name: name, containerIDs: ["app": containers[name]!]) }
            // Each binary runs as its ServiceAccount, with exactly the grants deploy/ ships.
            grants = try Self.shippedGrants()
            kubeconfig = try Self.kubeconfig(server: server.baseURL, token: "e2e-agent")
            controllerKubeconfig = try Self.kubeconfig(server: server.baseURL, token: "e2e-controller")
            restrict(server)
        }

        static func kubeconfig(server: String, token: String) throws -> String {
            let path = NSTemporaryDirectory() + "mbcas-e2e-\(UUID().uuidString).kubeconfig"
            try """
                apiVersion: v1
                kind: Config
                clusters: [{name: e2e, cluster: {server: "\(server)"}}]
                users: [{name: e2e, user: {token: \(token)}}]
                contexts: [{name: e2e, context: {cluster: e2e, user: e2e, namespace: shop}}]
                current-context: e2e
                """.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        /// Each ServiceAccount's grants in deploy/ (`scripts/check-deploy grants`), as RBAC rules;
        /// nil (unrestricted) without the venv, except where privileged tests are required.
        static func shippedGrants() throws -> [String: [RBACAuthorizer.Rule]]? {
            guard ProjectPaths.hasVenv else {
                if Privileged.isRequired { throw KubernetesError(.configuration, "\(ProjectPaths.venvPython) is missing: run make deps") }
                return nil
            }
            let result = try runCommand(ProjectPaths.venvPython,
                                        [ProjectPaths.repository.appendingPathComponent("scripts/check-deploy").path, "grants"])
            guard result.status == 0, case .object(let accounts) = try JSON.parse(Data(result.stdout.utf8)) else {
                throw KubernetesError(.configuration, "scripts/check-deploy grants failed: \(result.stderr)")
            }
            return accounts.mapValues { grants in
                (grants.array ?? []).map { grant in
                    let scope = grant["scope"]?.string ?? "cluster"
                    return RBACAuthorizer.Rule(apiGroups: [grant["apiGroup"]?.string ?? ""], resources: [grant["resource"]?.string ?? ""],
                                               verbs: (grant["verbs"]?.array ?? []).compactMap(\.string),
                                               namespace: scope == "cluster" ? nil : scope)
                }
            }
        }

        /// Puts the shipped grants on the binaries' tokens (again after a restart: RBAC is the server's, not the store's).
        func restrict(_ server: FakeKubeAPIServer) {
            guard let grants else { return }
            for (account, token) in [("mbcas-agent", "e2e-agent"), ("mbcas-controller", "e2e-controller")] {
                server.authorization.restrict(token: token, user: "system:serviceaccount:mbcas-system:\(account)",
                                              to: grants["mbcas-system/\(account)"] ?? [])
            }
        }

        /// The first container's cpu request and limit in the spec, and the request the kubelet reports actuated.
        static func request(_ pod: Pod?) -> Int64? { pod.flatMap { try? $0.spec.containers[0].resources?.cpuRequest()?.millicores } }
        static func limit(_ pod: Pod?) -> Int64? { pod.flatMap { try? $0.spec.containers[0].resources?.cpuLimit()?.millicores } }
        static func actuatedRequest(_ pod: Pod?) -> Int64? {
            pod?.status?.containerStatuses?.first.flatMap { try? $0.resources?.cpuRequest()?.millicores }
        }

        /// A CPU burner in the pod's (first) container cgroup.
        func burn(_ pod: String) throws -> Burner {
            let container = try #require(try CgroupDirectory(path: podCgroups[pod]!).children().first)
            return try Burner(cgroupPath: podCgroups[pod]! + "/" + container)
        }

        /// A pod's quota as the kubelet and the runtime write it: the pod cgroup first when raising,
        /// the container's first when lowering (cgroup v1 refuses a child's quota above its parent's).
        static func writeQuota(_ millicores: Int64, pod: String, container: String, version: CgroupVersion) throws {
            let raising = (try CPULimit.read(cgroupPath: pod, version: version).millicores ?? .max) < millicores
            for path in raising ? [pod, container] : [container, pod] {
                try CPULimit(millicores: millicores).write(cgroupPath: path, version: version)
            }
        }

        /// The kubelet's `MilliCPUToShares`: millicores × 1024 / 1000, integer division, at least 2.
        static func kubeletShares(_ millicores: Int64) -> Int { max(2, Int(millicores * 1024 / 1000)) }

        func cgroupShares(_ pod: String) throws -> Int {
            try CPUShares.read(cgroupPath: podCgroups[pod]!, version: root.hierarchy.version)
        }

        func start(_ label: String, _ arguments: [String]) throws {
            let mbcas = try requireBuiltProduct("mbcas")
            let log = NSTemporaryDirectory() + "mbcas-e2e-\(label)-\(UUID().uuidString).log"
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: mbcas)
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            try process.run()
            processes.append((label, process, log))
        }

        func startAgentAndController(agentArguments: [String] = []) throws {
            try start("agent", ["agent", "--kubernetes", "--kubeconfig", kubeconfig, "--node-name", "node-e2e",
                                "--cgroup-root", root.path, "--pin-root", pinRoot, "--default-cap", "1500",
                                "--write-interval-ms", "100", "--log-level", "info"] + agentArguments)
            try start("controller", ["controller", "--kubeconfig", controllerKubeconfig, "--namespace", "mbcas-system",
                                     "--identity", "e2e", "--cooldown-seconds", "0", "--request-cooldown-seconds", "0",
                                     "--log-level", "info"])
        }

        /// One binary's whole log so far.
        func log(_ label: String) -> String {
            processes.filter { $0.0 == label }.map { (try? String(contentsOfFile: $0.2, encoding: .utf8)) ?? "" }.joined()
        }

        /// The logs, for a failure message.
        var logs: String {
            processes.map { label, _, log in
                "--- \(label) ---\n" + ((try? String(contentsOfFile: log, encoding: .utf8))?.suffix(3000) ?? "")
            }.joined(separator: "\n")
        }

        func cgroupLimit(_ pod: String) throws -> Int64? {
            try CPULimit.read(cgroupPath: podCgroups[pod]!, version: root.hierarchy.version).millicores
        }

        /// Whether the pod's limit agrees everywhere: the agent's last decision (its pinned map) =
        /// the PodAllocation = what the kubelet actuated (the pod's status) = the pod cgroup; and
        /// the values, for a failure message.
        func limitConverged(_ name: String) async -> (Bool, String) {
            let agent = ((try? AgentStateMaps.openPinned(at: pinRoot).allocations()) ?? [:]).values
                .first { $0.name == "shop/\(name)" }.map { Int64($0.limitMillicores) }
            let desired = (try? await client.resources(PodAllocation.self, namespace: "shop").get(name))?
                .spec.containers.reduce(Int64(0)) { $0 + $1.cpuLimit.millicores }
            let pod = try? await client.resources(Pod.self, namespace: "shop").get(name)
            let actuated = pod?.status?.containerStatuses?.first.flatMap { try? $0.resources?.cpuLimit()?.millicores }
            let cgroup = (try? cgroupLimit(name)) ?? nil
            let text = "agent \(agent.map(String.init) ?? "-") allocation \(desired.map(String.init) ?? "-") "
                + "status \(actuated.map(String.init) ?? "-") cgroup \(cgroup.map(String.init) ?? "-")"
            return (agent != nil && desired == agent && actuated == agent && cgroup == agent, text)
        }

        /// Waits (up to `timeout`) until ``limitConverged(_:)``; the last values seen.
        func limitConverges(_ name: String, timeout: Duration = .seconds(30)) async -> (Bool, String) {
            var last = ""
            let converged = await eventually(timeout: timeout) {
                let (agree, text) = await limitConverged(name)
                last = text
                return agree
            }
            return (converged, last)
        }

        /// What the agent and controller wrote, checked against deploy/crd's schema as a real API
        /// server would (the test server stores custom resources without validating them).
        func checkPodAllocationsAgainstCRD() throws -> CommandResult? {
            let python = ProjectPaths.venvPython
            guard ProjectPaths.hasVenv else {
                if Privileged.isRequired { throw KubernetesError(.configuration, "\(python) is missing: run make deps") }
                return nil
            }
            var files: [String] = []
            for name in podCgroups.keys.sorted() {
                guard let object = try? server.store.get(.podAllocations, namespace: "shop", name: name) else { continue }
                let file = NSTemporaryDirectory() + "mbcas-e2e-podallocation-\(UUID().uuidString).json"
                try object.encoded().write(to: URL(fileURLWithPath: file))
                files.append(file)
            }
            defer { for file in files { try? FileManager.default.removeItem(atPath: file) } }
            guard !files.isEmpty else { return nil }
            return try runCommand(python, [ProjectPaths.repository.appendingPathComponent("scripts/check-deploy").path, "crd-sample"] + files)
        }

        /// Stops the binaries (SIGTERM) and returns their exit statuses.
        func stop() -> [String: Int32] {
            var statuses: [String: Int32] = [:]
            for (label, process, _) in processes {
                if process.isRunning { process.terminate() }
                process.waitUntilExit()
                statuses[label] = process.terminationStatus
            }
            return statuses
        }

        func tearDown() async {
            _ = stop()
            await kubelet.stop()
            await serverNow.shutdown()
            root.remove()  // moves leftover tasks out, removes the tree
            try? FileManager.default.removeItem(atPath: pinRoot)
            try? FileManager.default.removeItem(atPath: kubeconfig)
            try? FileManager.default.removeItem(atPath: controllerKubeconfig)
            // MBCAS_E2E_KEEP_LOGS=<dir>: the binaries' whole logs are kept there (<label>-<pid>.log).
            let keep = ProcessInfo.processInfo.environment["MBCAS_E2E_KEEP_LOGS"]
            for (label, process, log) in processes {
                if let keep { try? FileManager.default.copyItem(atPath: log, toPath: "\(keep)/\(label)-\(process.processIdentifier).log") }
                try? FileManager.default.removeItem(atPath: log)
            }
        }
    }

    @Test("a throttled pod's limit is lifted through PodAllocation → controller → pods/resize → kubelet → cgroup; latency reported")
    func throttledPodIsResized() async throws {
        let node = try await Node(pods: ["web"])
        do {
            try node.startAgentAndController()
            let burner = try Burner(cgroupPath: try #require(try CgroupDirectory(path: node.podCgroups["web"]!).children().first
                .map { node.podCgroups["web"]! + "/" + $0 }))
            defer { burner.stop() }
            let lifted = await eventually(timeout: .seconds(40)) {
                (try? node.cgroupLimit("web")).flatMap { $0 }.map { $0 >= 400 } == true && node.samples.all.count >= 3
            }
            #expect(lifted, "the web pod's cgroup limit was not lifted through the API path:\n\(node.logs)")

            let pod = try await node.client.resources(Pod.self, namespace: "shop").get("web")
            let allocation = try await node.client.resources(PodAllocation.self, namespace: "shop").get("web")
            #expect(allocation.spec.podUID == pod.metadata.uid)
            #expect(allocation.metadata.ownerReferences?.first?.uid == pod.metadata.uid)
            #expect(allocation.status?.phase != nil, "the controller never wrote a status:\n\(node.logs)")
            #expect(try pod.spec.containers[0].resources?.cpuLimit().map { $0.millicores } ?? 0 > 200)
            let schema = try node.checkPodAllocationsAgainstCRD()
            #expect(schema?.status == 0, "a PodAllocation as written does not fit deploy/crd's schema:\n\(schema?.stdout ?? "")\(schema?.stderr ?? "")")
            let events = try await node.client.resources(Event.self, namespace: "shop").listAll().items
            #expect(events.contains { $0.involvedObject.name == "web" && $0.reason == "Resized" }, "no Resized event:\n\(node.logs)")

            // The binaries ran with deploy/'s grants alone: nothing was forbidden, and more would have been.
            #expect(!node.log("agent").contains("forbidden") && !node.log("controller").contains("forbidden"), "\(node.logs)")
            if node.grants != nil {
                let asAgent = APIClient(configuration: ClusterConfiguration(server: node.serverNow.baseURL, token: TokenSource(token: "e2e-agent")),
                                        retry: .none, logger: Logger(label: "e2e"))
                do {
                    _ = try await asAgent.resources(Pod.self, namespace: "shop").get("web")
                    Issue.record("the agent's token could GET a pod: RBAC was not enforced")
                } catch {
                    #expect(error.httpStatus == 403 && error.message.contains("cannot get resource \"pods\""), "\(error)")
                }
            }

            // The report: kernel → cgroup, split at the agent's decision (the guardrail decides within
            // the push; market rounds are debounced) and the API path after it.
            let samples = node.samples.all
            #expect(samples.allSatisfy { $0.written > $0.stall })
            for sample in samples {
                let total = Double(sample.written &- sample.stall) / 1e6
                let decision = Double(sample.decisionMicroseconds) / 1e3
                print("kernel stall → cgroup \(String(format: "%.1f", total)) ms = decision \(String(format: "%.2f", decision)) ms "
                      + "(\(sample.reason)) + API path \(String(format: "%.1f", total - decision)) ms, limit \(sample.millicores)m")
            }
            burner.stop()
            let statuses = node.stop()
            #expect(statuses == ["agent": 0, "controller": 0], "exit statuses \(statuses):\n\(node.logs)")
        } catch {
            Issue.record("\(error)\n\(node.logs)")
        }
        await node.tearDown()
    }

    @Test("an over-committed node (requests exceed the budget): decisions still reach the API, the over-commit said in the spec")
    func overcommittedNode() async throws {
        // Two pods requesting 100m each on a node whose market has 150m: the floors do not fit,
        // the shadow price is +infinity, and every decision must still become a PodAllocation.
        let node = try await Node(pods: ["a", "b"])
        do {
            // No warm-up or shrink cooldown, so the market's first rounds may already lower limits.
            let config = NSTemporaryDirectory() + "mbcas-e2e-\(UUID().uuidString).json"
            try #"{"cgroup_parent": "/", "market": {"warmup_ms": 0, "cooldown_ms": 0}}"#.write(toFile: config, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: config) }
            try node.startAgentAndController(agentArguments: ["--capacity", "150", "--reserve", "0", "--config", config])
            // Load in both pods: their stalls make the market run (and find it cannot meet the floors).
            var burners: [Burner] = []
            defer { for burner in burners { burner.stop() } }
            for name in ["a", "b"] {
                let container = try #require(try CgroupDirectory(path: node.podCgroups[name]!).children().first)
                burners.append(try Burner(cgroupPath: node.podCgroups[name]! + "/" + container))
            }
            let allocations = node.client.resources(PodAllocation.self, namespace: "shop")
            var seen: PodAllocationSpec?
            let written = await eventually(timeout: .seconds(40)) {
                seen = (try? await allocations.get("a"))?.spec
                return seen?.overcommit == "floors"
            }
            #expect(written, "no PodAllocation says the node is over-committed (last: \(String(describing: seen))):\n\(node.logs)")
            let allocation = try await allocations.get("a")
            #expect(allocation.spec.shadowPrice == nil)
            // Lowered toward the scaled floors (75m), in safe steps, never below the container's request.
            let limit = try #require(allocation.spec.containers.first?.cpuLimit.millicores)
            #expect(limit >= 100 && limit < 200, "limit \(limit)m")
            #expect(!node.logs.contains("decision dropped"), "a decision was lost:\n\(node.logs)")
            let schema = try node.checkPodAllocationsAgainstCRD()
            #expect(schema?.status == 0, "a PodAllocation as written does not fit deploy/crd's schema:\n\(schema?.stdout ?? "")\(schema?.stderr ?? "")")
            let statuses = node.stop()
            #expect(statuses == ["agent": 0, "controller": 0], "exit statuses \(statuses):\n\(node.logs)")
        } catch {
            Issue.record("\(error)\n\(node.logs)")
        }
        await node.tearDown()
    }

    @Test("--direct-cgroup-raise: kernel stall → pod cgroup without the API round trip, raced by the kubelet's pod sync; the API path converges to the same value")
    func directCgroupRaise() async throws {
        let node = try await Node(pods: ["web"], kubeletSync: true)
        do {
            try node.startAgentAndController(agentArguments: ["--direct-cgroup-raise"])
            let burner = try Burner(cgroupPath: node.podCgroups["web"]! + "/" + (try #require(try CgroupDirectory(path: node.podCgroups["web"]!).children().first)))
            defer { burner.stop() }
            let raised = await eventually(timeout: .seconds(40)) {
                // At least one raise went straight to the cgroup (market rounds may raise the pod past the
                // guardrail's next push, so a second direct raise is not guaranteed), and the limit grew.
                node.samples.all.contains { $0.direct != nil } && ((try? node.cgroupLimit("web")) ?? nil).map { $0 >= 400 } == true
            }
            #expect(raised, "no direct raises recorded:\n\(node.logs)")
            burner.stop()
            let direct = node.samples.all.compactMap { sample in sample.direct.map { Double($0 &- sample.stall) / 1e6 } }.sorted()
            let api = node.samples.all.map { Double($0.written &- $0.stall) / 1e6 }.sorted()
            #expect(node.samples.all.allSatisfy { ($0.direct ?? .max) > $0.stall },
                    "\(node.samples.all.map { "stall \($0.stall) direct \($0.direct.map(String.init) ?? "-") written \($0.written) \($0.reason)" })")
            print(String(format: "kernel stall → pod cgroup, direct raise: n=%d median %.3f ms p99 %.3f ms; through the API: n=%d median %.1f ms p99 %.1f ms",
                         direct.count, percentile(direct, 0.5), percentile(direct, 0.99), api.count, percentile(api, 0.5), percentile(api, 0.99)))

            // Converged: the agent's last decision = PodAllocation = actuated = cgroup.
            let (converged, last) = await node.limitConverges("web")
            #expect(converged, "not converged: \(last)\n\(node.logs)")
            let statuses = node.stop()
            #expect(statuses == ["agent": 0, "controller": 0], "exit statuses \(statuses):\n\(node.logs)")
        } catch {
            Issue.record("\(error)\n\(node.logs)")
        }
        await node.tearDown()
    }

    @Test("the API server killed and restarted mid-run: afterwards each pod's PodAllocation, spec and cgroup equal the agent's last decision")
    func apiServerRestart() async throws {
        let node = try await Node(pods: ["busy", "calm"])
        do {
            try node.startAgentAndController()
            let container = try #require(try CgroupDirectory(path: node.podCgroups["busy"]!).children().first)
            let burner = try Burner(cgroupPath: node.podCgroups["busy"]! + "/" + container)
            defer { burner.stop() }
            #expect(await eventually(timeout: .seconds(30)) { (try? node.cgroupLimit("busy")).flatMap { $0 }.map { $0 > 200 } == true },
                    "no resize before the outage:\n\(node.logs)")

            // Kill the API server (every connection dropped), keep the load on, bring it back with its state.
            let port = node.server.port
            await node.server.shutdown()
            try await Task.sleep(for: .seconds(3))
            node.serverNow = try await FakeKubeAPIServer.start(store: node.server.store, port: port)
            node.restrict(node.serverNow)
            try await Task.sleep(for: .seconds(2))
            burner.stop()

            // Converged: for each pod, the agent's last decision (its pinned map) = PodAllocation =
            // pod spec = what the kubelet actuated = the cgroup.
            let maps = try AgentStateMaps.openPinned(at: node.pinRoot)
            var last = ""
            let converged = await eventually(timeout: .seconds(40)) {
                let decided = (try? maps.allocations()) ?? [:]
                var agree = true
                last = ""
                for name in ["busy", "calm"] {
                    let agent = decided.values.first { $0.name == "shop/\(name)" }.map { Int64($0.limitMillicores) }
                    let allocation = try? await node.client.resources(PodAllocation.self, namespace: "shop").get(name)
                    let desired = allocation?.spec.containers.reduce(Int64(0)) { $0 + $1.cpuLimit.millicores }
                    let pod = try? await node.client.resources(Pod.self, namespace: "shop").get(name)
                    let spec = pod.flatMap { try? $0.spec.containers[0].resources?.cpuLimit()?.millicores }
                    let actuated = pod?.status?.containerStatuses?.first.flatMap { try? $0.resources?.cpuLimit()?.millicores }
                    let cgroup = (try? node.cgroupLimit(name)) ?? nil
                    last += "\(name): agent \(agent.map(String.init) ?? "-") allocation \(desired.map(String.init) ?? "-") spec \(spec.map(String.init) ?? "-") status \(actuated.map(String.init) ?? "-") cgroup \(cgroup.map(String.init) ?? "-")\n"
                    // A pod the agent never changed needs no PodAllocation; its cgroup keeps the kubelet's value.
                    let expected = agent ?? 200
                    agree = agree && (desired ?? 200) == expected && spec == expected && actuated == expected && cgroup == expected
                }
                return agree
            }
            #expect(converged, "not converged after the restart:\n\(last)\n\(node.logs)")
            let schema = try node.checkPodAllocationsAgainstCRD()
            #expect(schema?.status == 0, "a PodAllocation as written does not fit deploy/crd's schema:\n\(schema?.stdout ?? "")\(schema?.stderr ?? "")")
            let statuses = node.stop()
            #expect(statuses == ["agent": 0, "controller": 0], "a component crashed or failed to stop cleanly: \(statuses)\n\(node.logs)")
        } catch {
            Issue.record("\(error)\n\(node.logs)")
        }
        await node.tearDown()
    }
}

/// The `p` quantile of sorted `values` (nearest rank); NaN when empty.
func percentile(_ values: [Double], _ p: Double) -> Double {
    values.isEmpty ? .nan : values[min(values.count - 1, max(0, Int((Double(values.count) * p).rounded(.up)) - 1))]
}

/// The annotation the agent's PodAllocation writer puts the stall's kernel time in.
enum PodAllocationWriterAnnotation {
    static let stall = "mbcas.io/stall-monotonic-ns"
    static let direct = "mbcas.io/direct-raise-monotonic-ns"
}
