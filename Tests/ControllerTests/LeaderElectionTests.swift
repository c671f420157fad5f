import Controller
import Foundation
import KubeAPIFixture
import KubernetesClient
import Synchronization
import TestSupport
import Testing

/// Two controllers, one Lease: only the holder writes; the other takes over when the holder
/// dies (after the Lease expires) or hands the Lease back (at once).
@Suite("controller: leader election", .timeLimit(.minutes(1)))
struct LeaderElectionTests {
    /// Who leads, as each replica reports it (start after acquiring, end after its workers stopped).
    final class Timeline: Sendable {
        private let entries = Mutex<[(identity: String, leading: Bool)]>([])

        func record(_ identity: String) -> @Sendable (Bool) -> Void {
            { leading in self.entries.withLock { $0.append((identity, leading)) } }
        }

        /// The most replicas leading at once, replaying the reports in order.
        var maximumConcurrentLeaders: Int {
            entries.withLock { entries in
                var leading: Set<String> = [], most = 0
                for entry in entries {
                    if entry.leading { leading.insert(entry.identity) } else { leading.remove(entry.identity) }
                    most = max(most, leading.count)
                }
                return most
            }
        }

        var starts: [String] { entries.withLock { $0.filter(\.leading).map(\.identity) } }
    }

    /// Short, to keep the tests short, but not so short that a debug build on a loaded machine
    /// misses its renew deadline (2 s of a 3 s Lease) and hands over leadership the tests check.
    static let leaseSeconds = 3

    static func election(_ identity: String, release: Bool) -> LeaderElectionConfiguration {
        LeaderElectionConfiguration(identity: identity, leaseName: "mbcas-controller", namespace: Harness.namespace,
                                    leaseDuration: .seconds(leaseSeconds), retryPeriod: .milliseconds(100),
                                    releaseOnShutdown: release)
    }

    @Test("only the holder writes; killed, the other takes over after the Lease expires")
    func onlyTheHolderActs() async throws {
        let harness = try await Harness.start()
        let timeline = Timeline()
        let pod = try await harness.createPod("web", containers: [Harness.container()])
        try await harness.allocate(pod, [ContainerAllocation(name: "app", cpuLimit: cpu("750m"))])

        let a = harness.runController(election: Self.election("replica-a", release: false), onLeadershipChange: timeline.record("replica-a"))
        let b = harness.runController(election: Self.election("replica-b", release: false), onLeadershipChange: timeline.record("replica-b"))
        let replicas = ["replica-a": a, "replica-b": b]

        #expect(try await eventually { try await harness.allocation("web").status?.phase == .applied })
        let lease = try #require(try await harness.lease())
        let holder = try #require(lease.spec.holderIdentity)
        let leader = try #require(replicas[holder]), standby = try #require(replicas.first { $0.key != holder })
        #expect(lease.spec.leaseDurationSeconds == Self.leaseSeconds)
        #expect(lease.spec.leaseTransitions == 0)
        #expect(lease.spec.renewTime.flatMap(Timestamp.parse) != nil)
        #expect(lease.spec.acquireTime.flatMap(Timestamp.parse) != nil)
        #expect(leader.service.stats.leading && !standby.value.service.stats.leading)
        #expect(leader.service.stats.writes > 0)
        // The standby keeps watching the Lease (renewals by the leader) without ever writing.
        #expect(try await eventually {
            guard let renewed = try await harness.lease() else { return false }
            return renewed.metadata.resourceVersion != lease.metadata.resourceVersion
        })
        #expect(standby.value.service.stats.writes == 0 && standby.value.service.stats.reconciles == 0)
        #expect(try await harness.events("web").allSatisfy { $0.source?.host == holder })

        // Kill the leader (no graceful shutdown, no release), then give the pod a new decision.
        let lastSeen = try #require(try await harness.lease())
        leader.task.cancel()
        _ = try? await leader.task.value
        try await harness.reallocate("web", [ContainerAllocation(name: "app", cpuLimit: cpu("1"))])

        #expect(try await eventually { try await harness.isApplied("web", limit: "1") })
        let taken = try #require(try await harness.lease())
        #expect(taken.spec.holderIdentity == standby.key)
        #expect(taken.spec.leaseTransitions == 1)
        // Taken over only once the old record had gone unrenewed for the Lease's duration.
        let acquired = try #require(taken.spec.acquireTime.flatMap(Timestamp.parse))
        let renewed = try #require(lastSeen.spec.renewTime.flatMap(Timestamp.parse))
        #expect(acquired.timeIntervalSince(renewed) >= Double(Self.leaseSeconds))
        #expect(standby.value.service.stats.writes > 0)
        let resizedBy = try await harness.events("web").filter { $0.reason == "Resized" }.map { $0.source?.host }
        #expect(resizedBy == [holder, standby.key])

        #expect(timeline.maximumConcurrentLeaders == 1)
        #expect(timeline.starts == [holder, standby.key])
        await harness.stop()
    }

    @Test("a graceful shutdown hands the Lease back: the standby takes over at once")
    func releaseOnShutdown() async throws {
        let harness = try await Harness.start()
        let timeline = Timeline()
        let longLease = { (identity: String) in
            LeaderElectionConfiguration(identity: identity, leaseName: "mbcas-controller", namespace: Harness.namespace,
                                        leaseDuration: .seconds(30), retryPeriod: .milliseconds(100), releaseOnShutdown: true)
        }
        let a = harness.runController(election: longLease("replica-a"), onLeadershipChange: timeline.record("replica-a"))
        #expect(await eventually { a.service.stats.leading })
        let b = harness.runController(election: longLease("replica-b"), onLeadershipChange: timeline.record("replica-b"))
        #expect(try await eventually { b.service.elector?.observedHolder == "replica-a" })

        let stopped = ContinuousClock.now
        a.task.cancel()
        _ = try? await a.task.value
        // Released: no longer held by replica-a (the standby, retrying every 100 ms, may
        // already have taken it by the time this GET runs, so nil is not the only right answer).
        #expect(try await harness.lease()?.spec.holderIdentity != "replica-a")
        #expect(await eventually { b.service.stats.leading })
        #expect(ContinuousClock.now - stopped < .seconds(10))  // far sooner than the 30 s Lease
        #expect(try await harness.lease()?.spec.holderIdentity == "replica-b")
        #expect(timeline.maximumConcurrentLeaders == 1)
        await harness.stop()
    }

    @Test("a leader that cannot renew stops writing by its renew deadline")
    func renewFailureStopsActing() async throws {
        let harness = try await Harness.start()
        let timeline = Timeline()
        let pod = try await harness.createPod("web", containers: [Harness.container()])
        let a = harness.runController(election: Self.election("replica-a", release: false), onLeadershipChange: timeline.record("replica-a"))
        #expect(await eventually { a.service.stats.leading && a.service.stats.synced })

        // Every Lease request fails from now on (503, retried by the client until it gives up).
        harness.server.faults.inject(.serviceUnavailable, path: "/apis/coordination.k8s.io/v1/namespaces/default/leases/mbcas-controller",
                                     count: 10_000)
        // Within the renew interval plus the renew deadline (about 3 s), before the Lease could
        // expire for anyone else; the poll allows far more on a loaded machine.
        #expect(await eventually(timeout: .seconds(20)) { !a.service.stats.leading })
        let writes = a.service.stats.writes
        try await harness.allocate(pod, [ContainerAllocation(name: "app", cpuLimit: cpu("750m"))])
        // Not leading: the allocation stays untouched (no status) and nothing is written.
        let reads = harness.requests.count("GET", "/leases/mbcas-controller")
        #expect(await eventually { harness.requests.count("GET", "/leases/mbcas-controller") > reads + 3 })
        #expect(try await harness.allocation("web").status == nil)
        #expect(a.service.stats.writes == writes)
        #expect(try await harness.pod("web").specLimit() == "500m")
        await harness.stop()
    }
}
