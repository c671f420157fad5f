import Foundation
import Testing
@testable import NodeAgent

@Suite("Agent configuration")
struct AgentConfigurationTests {
    func decode(_ json: String) throws -> AgentConfiguration {
        try JSONDecoder().decode(AgentConfiguration.self, from: Data(json.utf8))
    }

    @Test("every field is optional; given ones override the defaults")
    func defaults() throws {
        let c = try decode(#"{"cgroup_parent": "/sys/fs/cgroup/cpu/x", "pods": {"web": {"cap": 900}}, "market": {"cooldown_ms": 5}}"#)
        #expect(c.cgroupParent == "/sys/fs/cgroup/cpu/x")
        #expect(c.reserveMillicores == 100)
        #expect(c.settings(forPod: "web").cap == 900)
        #expect(c.settings(forPod: "web").floor == AgentConfiguration.PodSettings().floor)
        #expect(c.settings(forPod: "other") == c.defaults)
        #expect(c.market.cooldownMs == 5)
        #expect(c.market.debounceMs == 100)
        try c.validate()
    }

    @Test("invalid values name their field", arguments: [
        (#"{"cgroup_parent": "relative"}"#, "cgroup_parent"),
        (#"{"cgroup_parent": "/x", "capacity_millicores": 1000, "reserve_millicores": 1000}"#, "reserve_millicores"),
        (#"{"cgroup_parent": "/x", "pods": {"web": {"floor": 500, "cap": 100}}}"#, "pods.web.cap"),
        (#"{"cgroup_parent": "/x", "defaults": {"weight": 0}}"#, "defaults.weight"),
        (#"{"cgroup_parent": "/x", "guardrail": {"step": 2}}"#, "guardrail.step"),
        (#"{"cgroup_parent": "/x", "market": {"debounce_ms": 500, "reclaim_interval_ms": 100}}"#, "market.reclaim_interval_ms"),
    ])
    func invalid(json: String, field: String) throws {
        let c = try decode(json)
        #expect { try c.validate() } throws: { error in
            (error as? AgentError)?.code == .invalidConfiguration && "\(error)".contains(field)
        }
    }

    @Test("a wrongly typed field in the file is named with its path")
    func wrongType() throws {
        let path = NSTemporaryDirectory() + "mbcas-agent-\(UUID().uuidString).json"
        try #"{"cgroup_parent": "/x", "pods": {"web": {"cap": "lots"}}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect { try AgentConfiguration.load(path: path) } throws: { error in
            "\(error)".contains("pods.web.cap") && "\(error)".contains(path)
        }
        #expect { try AgentConfiguration.load(path: path + ".missing") } throws: { error in
            "\(error)".contains("cannot read")
        }
    }
}

@Suite("Agent configuration: classes and actuation")
struct AgentClassConfigurationTests {
    func decode(_ json: String) throws -> AgentConfiguration {
        try JSONDecoder().decode(AgentConfiguration.self, from: Data(json.utf8))
    }

    @Test("a declared class is read per pod; absent means learned; actuation defaults to weights")
    func classes() throws {
        let c = try decode(#"{"cgroup_parent": "/x", "pods": {"web": {"class": "latency"}, "etl": {"class": "batch"}}}"#)
        #expect(c.settings(forPod: "web").latencyClass == .latency)
        #expect(c.settings(forPod: "etl").latencyClass == .batch)
        #expect(c.settings(forPod: "other").latencyClass == nil)
        #expect(c.actuation == .weights)
        #expect(try decode(#"{"cgroup_parent": "/x", "actuation": "limits"}"#).actuation == .limits)
    }

    @Test("an unknown class or actuation is refused with its field path")
    func unknown() throws {
        let path = NSTemporaryDirectory() + "mbcas-agent-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try #"{"cgroup_parent": "/x", "pods": {"web": {"class": "interactive"}}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        #expect { try AgentConfiguration.load(path: path) } throws: { "\($0)".contains("pods.web.class") }
        try #"{"cgroup_parent": "/x", "actuation": "quotas"}"#.write(toFile: path, atomically: true, encoding: .utf8)
        #expect { try AgentConfiguration.load(path: path) } throws: { "\($0)".contains("actuation") }
    }
}
