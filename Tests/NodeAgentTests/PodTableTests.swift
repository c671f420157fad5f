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
