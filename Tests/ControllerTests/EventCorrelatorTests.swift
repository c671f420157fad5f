@testable import Controller
import Foundation
import KubernetesClient
import TestSupport
import Testing

/// Events aggregated as client-go's recorder aggregates them.
@Suite("events: aggregation, deduplication, spam filter")
struct EventCorrelatorTests {
    let start = Date(timeIntervalSince1970: 1_000_000)

    @Test("a repeat updates the first Event's count; the 10th different message of a reason starts one combined Event")
    func aggregation() {
        var correlator = EventCorrelator()
        #expect(correlator.observe(object: "p", kind: "Warning", reason: "Skipped", message: "m", now: start) == .create(message: "m"))
        correlator.created(name: "p.1", object: "p", kind: "Warning", reason: "Skipped", message: "m", timestamp: "t0", now: start)
        #expect(correlator.observe(object: "p", kind: "Warning", reason: "Skipped", message: "m", now: start)
                == .update(name: "p.1", count: 2, firstTimestamp: "t0", message: "m"))
        for index in 2...10 {
            let message = "resize \(index)"
            #expect(correlator.observe(object: "p", kind: "Normal", reason: "Resized", message: message, now: start) == .create(message: message))
            correlator.created(name: "p.r\(index)", object: "p", kind: "Normal", reason: "Resized", message: message, timestamp: "t", now: start)
        }
        // The 10th different message of the reason starts the combined Event; the 11th counts on it.
        let combined = correlator.observe(object: "p", kind: "Normal", reason: "Resized", message: "resize 11", now: start)
        #expect(combined == .create(message: "(combined from similar events): resize 11"))
        correlator.created(name: "p.c", object: "p", kind: "Normal", reason: "Resized",
                           message: "(combined from similar events): resize 11", timestamp: "t", now: start)
        #expect(correlator.observe(object: "p", kind: "Normal", reason: "Resized", message: "resize 12", now: start)
                == .update(name: "p.c", count: 2, firstTimestamp: "t", message: "(combined from similar events): resize 12"))
    }

    @Test("spam filter: 25 at once per object, then one per 5 minutes")
    func spamFilter() {
        var correlator = EventCorrelator()
        var actions: [EventCorrelator.Action] = []
        for index in 0..<30 {
            actions.append(correlator.observe(object: "p", kind: "Warning", reason: "Skipped", message: "\(index)", now: start))
        }
        #expect(actions.filter { $0 == .drop }.count == 5)
        #expect(correlator.observe(object: "other", kind: "Warning", reason: "Skipped", message: "x", now: start) != .drop)
        #expect(correlator.observe(object: "p", kind: "Warning", reason: "Skipped", message: "y", now: start.addingTimeInterval(301)) != .drop)
    }

    @Test("against the API: a pod skipped on every decision has one Warning Event whose count grows")
    func oneEventWithCount() async throws {
        let harness = try await Harness.start()
        let pod = try await harness.createPod("db", containers: [
            Harness.container(cpuRequest: "500m", cpuLimit: "500m", memoryRequest: "64Mi", memoryLimit: "64Mi"),
        ])
        try await harness.allocate(pod, [ContainerAllocation(name: "app", cpuLimit: cpu("1"))])
        harness.runController()
        #expect(try await eventually { try await harness.allocation("db").status?.phase == .skipped })
        for step in 2...6 {
            _ = try await harness.reallocate("db", [ContainerAllocation(name: "app", cpuLimit: CPUQuantity(millicores: Int64(900 + step)))])
            #expect(try await eventually { try await harness.allocation("db").status?.observedGeneration == Int64(step) })
        }
        #expect(try await eventually { try await harness.events("db").first?.count == 6 })
        let events = try await harness.events("db")
        #expect(events.count == 1)
        #expect(events.first?.firstTimestamp != nil && events.first?.lastTimestamp != nil)
        await harness.stop()
    }
}
