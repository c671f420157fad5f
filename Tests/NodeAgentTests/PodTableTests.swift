import Cgroups
import Foundation
import Testing
import Market
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

@Suite("Pod table order")
struct PodTableOrderTests {
    @Test("pods are walked in name order whatever order they were added and removed in")
    func nameOrder() throws {
        var table = PodTable()
        var slots: [String: PodSlot] = [:]
        for (i, name) in ["web", "batch", "db", "zeta", "alpha"].enumerated() {
            let pod = table.add(name: name, cgroupPath: "/x/\(name)", cgroupID: UInt64(i + 1), settings: .init(), limit: 100)
            slots[name] = try #require(pod).slot
        }
        #expect(table.sortedPods.map(\.name) == ["alpha", "batch", "db", "web", "zeta"])
        table.remove(try #require(slots["db"]))
        _ = table.add(name: "cache", cgroupPath: "/x/cache", cgroupID: 9, settings: .init(), limit: 100)
        #expect(table.sortedPods.map(\.name) == ["alpha", "batch", "cache", "web", "zeta"])
    }
}

@Suite("Stall streaks")
struct StallStreaksTests {
    let ms: UInt64 = 1_000_000

    @Test("a cgroup's first stall is news; stalls every period after it are repeats; a stall after a quiet gap is news again")
    func newsAndRepeats() {
        var streaks = StallStreaks(repeatGapNanos: 500 * ms)
        var news = streaks.isNews(cgroupID: 7, at: 1_000 * ms)
        #expect(news)
        for k in 1...20 {
            news = streaks.isNews(cgroupID: 7, at: (1_000 + 100 * UInt64(k)) * ms)
            #expect(!news, "a stall every 100 ms, \(k) after the first")
        }
        news = streaks.isNews(cgroupID: 8, at: 3_000 * ms)
        #expect(news, "another cgroup's first stall")
        news = streaks.isNews(cgroupID: 7, at: 3_600 * ms)
        #expect(news, "600 ms after its last stall")
    }

    @Test("many cgroups at once: each keeps its own streak; ids sharing a slot only make a stall news again")
    func manyCgroups() {
        var streaks = StallStreaks(repeatGapNanos: 500 * ms)
        let ids = (0..<2_000).map { UInt64(1_000 + 3 * $0) }
        #expect(ids.allSatisfy { streaks.isNews(cgroupID: $0, at: 1_000 * ms) })
        // 100 ms later each again: a repeat, unless another id of the 2,000 took its slot since.
        let repeats = ids.filter { !streaks.isNews(cgroupID: $0, at: 1_100 * ms) }.count
        #expect(repeats > 1_800, "\(repeats) of 2,000 cgroups kept their streak")
        // Once a cgroup's slot is its own again, its next stall within the gap is a repeat.
        #expect(!streaks.isNews(cgroupID: ids[0], at: 1_150 * ms) || !streaks.isNews(cgroupID: ids[0], at: 1_160 * ms))
    }

    @Test("a repeat asks for a round only once the last round is a repeat gap old")
    func repeatsAreDue() {
        let streaks = StallStreaks(repeatGapNanos: 500 * ms)
        #expect(!streaks.repeatIsDue(at: 1_400 * ms, lastRoundAt: 1_000 * ms))
        #expect(streaks.repeatIsDue(at: 1_500 * ms, lastRoundAt: 1_000 * ms))
        #expect(!streaks.repeatIsDue(at: 900 * ms, lastRoundAt: 1_000 * ms), "a round that finished after the push")
    }
}
