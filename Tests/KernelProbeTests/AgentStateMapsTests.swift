import Foundation
import Logging
import TestSupport
import Testing
@testable import KernelProbe

/// The agent's pinned maps take whatever the market computes: the shadow
/// price is 1/t in places and has no upper bound, so it may be huge,
/// infinite or NaN. Publishing must never trap.
@Suite("Agent state maps")
struct AgentStateMapsTests {
    static let prices: [Double] = [0, 0.25, 1.8e10, 1.9e10, 1e11, 1e300, .infinity, -3, -.infinity, .nan,
                                   .leastNonzeroMagnitude, .greatestFiniteMagnitude]

    @Test("the shadow price is stored x1e9, saturating; negative and NaN store 0", arguments: prices)
    func encodesEveryPrice(price: Double) {
        let stored = AgentStateMaps.shadowPriceE9(price)
        if price.isNaN || price <= 0 {
            #expect(stored == 0)
        } else if price * 1e9 >= 18_446_744_073_709_551_615 {
            #expect(stored == .max)
            #expect(AgentStateMaps.shadowPrice(e9: stored) == .infinity)
        } else {
            #expect(stored == UInt64(price * 1e9))
        }
    }

    @Test("publishing any price into the kernel map and reading it back never traps",
          .enabled(if: Privileged.canRun))
    func roundTripsThroughTheKernel() throws {
        try Privileged.require()
        let configuration = ProbeConfiguration(attachMode: .btf,
                                               pinRoot: "/sys/fs/bpf/mbcas-test-\(UInt32.random(in: 0...UInt32.max))")
        let probe = try KernelProbe.load(configuration, logger: Logger(label: "test.state"))
        defer { probe.close(keepPins: false) }
        for price in Self.prices {
            try probe.agentState.publish(NodeMarketRecord(
                capacityMillicores: 2000, reserveMillicores: 100, allocatedMillicores: 1900, shadowPrice: price,
                rounds: 1, decisions: 0, updatedAt: 1, agentPID: UInt64(getpid())))
            let read = try #require(try probe.agentState.market()).shadowPrice
            if price.isNaN || price <= 0 {
                #expect(read == 0)
            } else if price >= 1.8446744073709552e10 {
                #expect(read == .infinity, "price \(price) read back as \(read)")
            } else {
                #expect(abs(read - price) <= max(1e-9, price * 1e-12), "price \(price) read back as \(read)")
            }
        }
    }
}
