import Cgroups
import Foundation
import InMemoryLogging
import KernelProbe
import Logging
import Market
import TestSupport
import Testing
@testable import NodeAgent

/// Bad input while running: nothing crashes, everything is said.
@Suite("Agent faults", .serialized, .enabled(if: Privileged.canRun))
struct AgentFaultTests {
    @Test("an unwritable cgroup file is reported with its path and errno")
    func unwritable() throws {
        let hierarchy = try CgroupHierarchy.discover(controller: "cpu")
        let missing = hierarchy.mountPoint + "/mbcas-missing-\(UInt32.random(in: 0...UInt32.max))"
        let change = LimitChange(pod: "ghost", cgroupPath: missing, oldMillicores: 100, newMillicores: 200, reason: .guardrail)
        #expect { try CgroupActuator(version: hierarchy.version).apply(change) } throws: { error in
            let text = "\(error)"
            return (error as? AgentError)?.code == .actuationFailed && text.contains(missing)
                && text.contains("ghost") && text.localizedCaseInsensitiveContains("no such file")
        }
    }

    @Test("a cgroup that vanishes mid-run is dropped with a log line; a new one is adopted; limits out of bounds are brought back")
    func vanishingAndNewCgroups() throws {
        let parent = try TemporaryCgroup(prefix: "mbcas-fault-test")
        defer { parent.remove() }
        let version = parent.hierarchy.version
        let keep = try parent.directory.createChild("keep"), gone = try parent.directory.createChild("gone")
        try CPULimit(millicores: 5000).write(cgroupPath: keep.path, version: version)  // above its cap
        try CPULimit(millicores: 300).write(cgroupPath: gone.path, version: version)

        let memory = InMemoryLogHandler()
        var logger = Logger(label: "test.fault") { _ in memory }
        logger.logLevel = .info
        let probe = try KernelProbe.load(ProbeConfiguration(pinRoot: "/sys/fs/bpf/mbcas-test-\(UInt32.random(in: 0...UInt32.max))",
                                                            filterCgroups: true), logger: logger)
        defer { probe.close(keepPins: false) }
        let agent = try NodeAgent(
            configuration: AgentConfiguration(cgroupParent: parent.path, capacityMillicores: 2000,
                                              defaults: .init(floor: 100, cap: 1000)),
            probe: probe, actuator: CgroupActuator(version: version), hierarchy: parent.hierarchy, logger: logger)
        agent.refreshPods()
        #expect(agent.status().pods.map(\.name) == ["gone", "keep"])
        // 5000m is above keep's 1000m cap: brought back to the cap, with the reason.
        #expect(try CPULimit.read(cgroupPath: keep.path, version: version).millicores == 1000)
        #expect(agent.status().pods.first { $0.name == "keep" }?.lastDecision?.reason == .cap)

        try gone.remove()
        _ = try parent.directory.createChild("new")
        agent.refreshPods()
        #expect(agent.status().pods.map(\.name) == ["keep", "new"])
        let messages = memory.entries.map { "\($0.message) \($0.metadata)" }
        #expect(messages.contains { $0.contains("pod vanished") && $0.contains("gone") }, "\(messages)")
        #expect(messages.contains { $0.contains("pod adopted") && $0.contains("new") })
        // An unlimited new cgroup gets its cap: the agent manages every child's limit.
        #expect(try CPULimit.read(cgroupPath: parent.directory.child("new").path, version: version).millicores == 1000)
    }
}
