import Cgroups
import Foundation
import Testing
@testable import NodeAgent

@Suite("Pod table")
struct PodTableTests {
    @Test("descendant cgroups (containers) map to the pod whose directory holds them")
    func descendants() throws {
        let root = NSTemporaryDirectory() + "mbcas-podtable-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        for path in ["parent/web/c1", "parent/web/c2/sub", "parent/db", "parent-other/web"] {
            try FileManager.default.createDirectory(atPath: root + "/" + path, withIntermediateDirectories: true)
        }
        var table = PodTable()
        let web = try #require(table.add(name: "web", cgroupPath: root + "/parent/web", cgroupID: try cgroupID(of: root + "/parent/web"),
                                         settings: .init(), limit: 100))
        let db = try #require(table.add(name: "db", cgroupPath: root + "/parent/db", cgroupID: try cgroupID(of: root + "/parent/db"),
                                        settings: .init(), limit: 100))
        let index = try CgroupIndex(mountPoint: root, subtree: "/parent")
        table.mapDescendants(index) { $0.hasPrefix(root) ? String($0.dropFirst(root.count)) : nil }
        #expect(table.slot(forCgroupID: try cgroupID(of: root + "/parent/web/c1")) == web.slot)
        #expect(table.slot(forCgroupID: try cgroupID(of: root + "/parent/web/c2/sub")) == web.slot)
        #expect(table.slot(forCgroupID: try cgroupID(of: root + "/parent/db")) == db.slot)
        #expect(table.slot(forCgroupID: try cgroupID(of: root + "/parent-other/web")) == nil)
        #expect(table.slot(forCgroupID: try cgroupID(of: root + "/parent")) == nil)

        table.remove(web.slot)
        #expect(table.slot(forCgroupID: try cgroupID(of: root + "/parent/web/c1")) == nil)
        #expect(table.pod(db.slot)?.name == "db")
    }
}

@Suite("Pod totals")
struct PodTotalsTests {
    @Test("a pod's totals that shrink (a container cgroup went away) give an empty window, not a wrapped one")
    func shrinkingTotals() {
        let before = PodTotals(throttledNanos: 5_000, waitNanos: 9_000, runNanos: 10_000, episodes: 3, switches: 40)
        let after = PodTotals(throttledNanos: 6_000, waitNanos: 1_000, runNanos: 12_000, episodes: 2, switches: 41)
        let d = after.since(before)
        #expect(d.throttledNanos == 1_000 && d.runNanos == 2_000 && d.switches == 1)
        #expect(d.waitNanos == 0 && d.episodes == 0)
    }
}
