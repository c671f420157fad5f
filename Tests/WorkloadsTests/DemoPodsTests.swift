import Testing
@testable import Workloads

/// The reasoning in ``DemoPods``' comment, checked: if someone tweaks the table, these say which
/// property of the demo they broke.
@Suite struct DemoPodsTests {
    let pods = DemoPods.standard

    @Test func oneDistinctPodPerKind() {
        #expect(pods.map(\.spec.kind) == WorkloadKind.allCases)
        #expect(Set(pods.map(\.name)).count == pods.count)
        #expect(DemoPods.pod(named: "hog")?.spec.kind == .hog)
        #expect(DemoPods.pod(named: "nope") == nil)
    }

    @Test func specsAreValidAndRunUntilStopped() throws {
        for pod in pods {
            try pod.spec.validate()
            #expect(pod.spec.durationSeconds == nil, "\(pod.name)")
        }
    }

    @Test func staticLimitsFitTheNodeWithRoomForTheSystem() {
        let total = pods.reduce(0) { $0 + $1.staticLimitMillicores }
        #expect(total < DemoPods.nodeCapacityMillicores)
    }

    @Test func boundsAreOrderedAndFloorsFit() {
        for pod in pods {
            #expect(pod.floorMillicores <= pod.staticLimitMillicores, "\(pod.name)")
            #expect(pod.staticLimitMillicores <= pod.capMillicores, "\(pod.name)")
            #expect(pod.capMillicores <= DemoPods.nodeCapacityMillicores, "\(pod.name)")
            #expect(pod.weight > 0, "\(pod.name)")
        }
        #expect(pods.reduce(0) { $0 + $1.floorMillicores } <= DemoPods.nodeCapacityMillicores)
    }

    @Test func burstyIsClearlyThrottledDuringBurstsUnderItsStaticLimit() throws {
        let bursty = try #require(DemoPods.pod(named: "bursty"))
        // A burst asks for several times its limit...
        #expect(bursty.peakDemandMillicores >= 4 * bursty.staticLimitMillicores)
        // ...while its cap lets the agent give it most of a burst.
        #expect(bursty.capMillicores >= bursty.peakDemandMillicores * 3 / 4)
        // And it bids highest: it is the latency-sensitive one.
        #expect(pods.allSatisfy { $0.name == "bursty" || $0.weight < bursty.weight })
    }

    @Test func steadyAndIdleFitUnderTheirStaticLimits() throws {
        let steady = try #require(DemoPods.pod(named: "steady"))
        let idle = try #require(DemoPods.pod(named: "idle"))
        let steadyDemand = Double(steady.spec.threads) * WorkloadPattern.steadyDutyCycle * 1000
        #expect(steadyDemand < Double(steady.staticLimitMillicores))
        let idleDemand = Double(idle.spec.threads) * Double(WorkloadPattern.idleBusyNanos)
            / Double(WorkloadPattern.idlePeriodNanos) * 1000
        #expect(idleDemand < Double(idle.floorMillicores))
    }

    @Test func staticLimitIsTheMillicoresAsAQuota() {
        let bursty = pods[0]
        #expect(bursty.staticLimit.quotaMicros == 30_000)
        #expect(bursty.staticLimit.periodMicros == 100_000)
    }
}
