import KubernetesClient
import Testing

/// The pod cgroup's CPU as the kubelet computes it (component-helpers PodLimits/PodRequests).
@Suite("effective pod CPU")
struct PodCPUTests {
    static func container(_ name: String, _ request: String?, _ limit: String?, sidecar: Bool = false) -> Container {
        var requests: [String: String] = [:], limits: [String: String] = [:]
        if let request { requests["cpu"] = request }
        if let limit { limits["cpu"] = limit }
        return Container(name: name, resources: ResourceRequirements(requests: requests, limits: limits),
                         restartPolicy: sidecar ? "Always" : nil)
    }

    @Test("regular containers and sidecars add up; RuntimeClass overhead on top")
    func sumsAndOverhead() throws {
        let spec = PodSpec(containers: [Self.container("a", "100m", "500m"), Self.container("b", nil, "250m")],
                           initContainers: [Self.container("proxy", "50m", "100m", sidecar: true)], overhead: ["cpu": "10m"])
        let cpu = try PodCPU(spec)
        #expect(cpu.limit == Int64(500 + 250 + 100 + 10))
        #expect(cpu.request == 100 + 250 + 50 + 10)  // b's request defaults to its limit
        #expect(cpu.sidecarLimits == 100)
        #expect(cpu.overhead == 10)
    }

    @Test("the init-container peak wins when it exceeds the running sum; sidecars started before it count with it")
    func initPeak() throws {
        let spec = PodSpec(containers: [Self.container("app", "100m", "200m")],
                           initContainers: [Self.container("proxy", "100m", "300m", sidecar: true), Self.container("migrate", "1", "2")])
        let cpu = try PodCPU(spec)
        #expect(cpu.limit == Int64(300 + 2000))  // proxy runs beside migrate: 2.3 cores > 200m + 300m
        #expect(cpu.request == 100 + 1000)
    }

    @Test("any container without a CPU limit, init containers included, leaves the pod cgroup unlimited")
    func unlimited() throws {
        let spec = PodSpec(containers: [Self.container("app", "100m", "200m")], initContainers: [Self.container("setup", "10m", nil)])
        let cpu = try PodCPU(spec)
        #expect(cpu.limit == nil)
        #expect(cpu.unlimitedContainer == "setup")
    }
}
