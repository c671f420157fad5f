#if canImport(Glibc)
import Glibc
#endif
import Cgroups
import Dispatch
import KernelProbe
import Logging
import NodeAgent
import Synchronization

/// The node agent run in-process the way `mbcas agent` runs it (standalone mode, the real
/// `CgroupActuator`, the ring-buffer thread under SCHED_FIFO, through the same ``AgentRuntime``),
/// with two changes so one run yields hundreds of reactions instead of a handful:
///
/// - the runtime runs the hot path only (no rounds), so every decision is the raise of the pod's
///   limit to its cap made on the ring-buffer thread at a pushed throttle start;
/// - after each raise, a restorer thread writes the pod's starting limit back and calls
///   `agent.refreshPods()`, so the agent re-adopts it from the file (its normal reconcile path)
///   and the next throttle start raises again instead of stopping at the cap.
final class PushAgent: Sendable {
    let runtime: AgentRuntime
    let agent: NodeAgent
    let recorder: PushRecorder
    /// Whether the ring-buffer thread got SCHED_FIFO (needs CAP_SYS_NICE).
    let realtime: Bool
    /// The pod's limit before each raise, millicores.
    let podMillicores: Int
    private let restorer: Mutex<BenchThread?>
    private let stopRequested = Atomic<Bool>(false)
    private let restores = Atomic<Int>(0)
    private let restoreFailures = Mutex<String?>(nil)
    /// CPU the agent spent in refreshPods() on the restorer thread, ns.
    private let refreshCPU = Atomic<UInt64>(0)

    /// Starts the agent over `probe` for the pod in `cgroups`.
    init(probe: KernelProbe, cgroups: PushCgroups, podMillicores: Int, expectedEpisodes: Int,
         logger: Logger) throws {
        let capacity = NodeAgentDefaults.capacityMillicores
        let reserve = 100
        let configuration = AgentConfiguration(
            cgroupParent: cgroups.parent.path, capacityMillicores: capacity, reserveMillicores: reserve,
            pods: [PushCgroups.podName: .init(floor: podMillicores, cap: capacity - reserve)],
            guardrail: .init(step: 0.3, intervalMs: 0))
        let recorder = PushRecorder(workCgroupID: try cgroupID(of: cgroups.work.path), expected: expectedEpisodes * 2 + 64)
        let runtime = try AgentRuntime(
            probe: probe, configuration: configuration, actuator: CgroupActuator(version: cgroups.hierarchy.version),
            hierarchy: cgroups.hierarchy, mode: .hotPathOnly, logger: logger, observer: recorder)
        let agent = runtime.agent
        self.runtime = runtime
        self.agent = agent
        self.recorder = recorder
        self.podMillicores = podMillicores
        self.restorer = Mutex(nil)
        self.realtime = runtime.realtime
        let podPath = cgroups.pod.path, version = cgroups.hierarchy.version
        let thread = try BenchThread(name: "push-restorer") { [self] in
            while !stopRequested.load(ordering: .relaxed) {
                guard recorder.raised.wait(timeout: .now() + .milliseconds(100)) == .success else { continue }
                do {
                    try CPULimit(millicores: Int64(podMillicores)).write(cgroupPath: podPath, version: version)
                } catch {
                    restoreFailures.withLock { $0 = "cannot restore \(podPath)'s limit: \(error)" }
                }
                let before = currentThreadCPUNanos()
                agent.refreshPods()
                refreshCPU.add(currentThreadCPUNanos() - before, ordering: .relaxed)
                restores.add(1, ordering: .relaxed)
            }
        }
        restorer.withLock { $0 = thread }
    }

    /// The ring-buffer thread's CPU time so far (ns): receipt, guardrail and cgroup writes.
    var ringBufferThreadCPU: UInt64? { threadID(named: "mbcas-ringbuf").flatMap { threadCPUNanos(tid: $0) } }
    /// CPU spent in the agent's refreshPods() re-adopting the restored limit, ns.
    var refreshPodsCPU: UInt64 { refreshCPU.load(ordering: .relaxed) }
    /// Restores done, and the last failure if any.
    var restoreSummary: (count: Int, failure: String?) { (restores.load(ordering: .relaxed), restoreFailures.withLock { $0 }) }

    /// Stops the restorer and the ring-buffer thread; the agent's limits stay as written.
    func stop() {
        stopRequested.store(true, ordering: .relaxed)
        restorer.withLock { $0 }?.join()
        runtime.stop()
    }
}

/// What the in-process agent assumes about the node.
enum NodeAgentDefaults {
    /// The node's CPU, millicores: what `mbcas agent` uses by default (online CPUs × 1000).
    static var capacityMillicores: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) * 1000 }
}
