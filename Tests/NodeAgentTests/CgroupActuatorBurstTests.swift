import Cgroups
import Logging
import Market
import NodeAgent
import TestSupport
import Testing

/// The standalone actuator with the CFS burst on a real cgroup: the kernel refuses a quota below
/// the cgroup's burst (EINVAL), so a lowering must move the burst first.
@Suite("CgroupActuator and the CFS burst", .serialized, .enabled(if: Privileged.canRun))
struct CgroupActuatorBurstTests {
    @Test("a limit is lowered below the burst that went with the higher one; the burst follows both ways")
    func lowersBelowTheBurst() throws {
        let parent = try TemporaryCgroup(prefix: "mbcas-burst-test")
        defer { parent.remove() }
        try parent.delegateCPU()
        let pod = try parent.directory.createChild("pod")
        let version = parent.hierarchy.version
        let burst = BurstWriter(logger: Logger(label: "test.burst"))
        let actuator = CgroupActuator(version: version, burst: burst)
        try actuator.apply(LimitChange(pod: "pod", cgroupPath: pod.path, oldMillicores: 200, newMillicores: 1000,
                                       reason: .guardrail, capMillicores: 1500))
        let raisedBurst = try? CPUBurst.read(cgroupPath: pod.path, version: version)
        // The burst for 1000m under a 1500m cap is 500m of quota (50 ms per 100 ms period): above 300m's quota.
        try actuator.apply(LimitChange(pod: "pod", cgroupPath: pod.path, oldMillicores: 1000, newMillicores: 300,
                                       reason: .reclaim, capMillicores: 1500))
        #expect(try CPULimit.read(cgroupPath: pod.path, version: version).millicores == 300)
        if burst.isSupported == true {
            #expect(raisedBurst == 50_000)
            #expect(try CPUBurst.read(cgroupPath: pod.path, version: version) == 30_000, "the burst goes down with the quota")
        }
    }
}
