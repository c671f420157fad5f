import ArgumentParser
import Histogram
import Market

/// `mbcas-bench market`: the allocator, the price iteration and the guardrail, with a sort of
/// n doubles measured in the same run as the baseline.
struct MarketBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "market",
        abstract: "Time the exact allocator, the primal-dual iteration and the fast guardrail.",
        discussion: """
            For each size n: exact water-filling (median and p99 from an HdrHistogram, sample count), \
            its ratio to copying and sorting n doubles measured in the same run, and the primal-dual \
            iterations and time to 1e-6 relative accuracy. Then the guardrail's cost per throttle \
            event, timed in batches because one call is below the clock's resolution.
            """)

    @Option(help: "Comma-separated pod counts.")
    var sizes: String = "100,1000,10000,100000"

    @Option(help: "Time budget per measurement, in seconds.")
    var seconds: Double = 1.5

    @Option(help: "Most samples per measurement.")
    var maxSamples: Int = 5000

    @Option(help: "Seed of the random problems.")
    var seed: UInt64 = 42

    @Option(help: "Guardrail calls per timed batch.")
    var batch: Int = 1024

    func run() throws {
        let counts = sizes.split(separator: ",").compactMap { Int($0.trimmingCharacters()) }
        var sink = 0.0
        print("mbcas-bench market (times per call; median / p99 over the samples)")
        print("")
        print(row(["pods", "samples", "sort n doubles", "water-filling", "ratio", "PD newton it", "PD newton",
                   "PD proportional it", "PD proportional"]))
        for n in counts {
            let problem = Self.problem(pods: n, seed: seed)
            var values = [Double](repeating: 0, count: n)
            var random = SplitMix64(seed: seed &+ 1)
            for index in values.indices { values[index] = random.unit() }

            let sort = measure { var copy = values; copy.sort(); sink += copy[copy.count / 2] }
            let exact = measure { sink += (try? WaterFilling.solve(problem))?.shadowPrice ?? 0 }
            let newtonOptions = PrimalDual.Options(tolerance: 1e-6, stepRule: .newton)
            let proportionalOptions = PrimalDual.Options(tolerance: 1e-6, maxIterations: 1_000_000, stepRule: .proportional)
            let newtonResult = try PrimalDual.solve(problem, options: newtonOptions)
            let proportionalResult = try PrimalDual.solve(problem, options: proportionalOptions)
            let newton = measure { sink += (try? PrimalDual.solve(problem, options: newtonOptions))?.allocation.shadowPrice ?? 0 }
            let proportional = measure(samples: 50) {
                sink += (try? PrimalDual.solve(problem, options: proportionalOptions))?.allocation.shadowPrice ?? 0
            }
            let ratio = Double(exact.valueAtPercentile(50)) / Double(max(1, sort.valueAtPercentile(50)))
            print(row([
                "\(n)", "\(exact.totalCount)", span(sort), span(exact), fixed(ratio, 2) + "x",
                "\(newtonResult.iterations)", span(newton),
                "\(proportionalResult.iterations)" + (proportionalResult.converged ? "" : "!"), span(proportional),
            ]))
        }
        print("")
        print("ratio: water-filling median / sort median. PD: primal-dual price iteration to |Σx − B| ≤ 1e-6·B")
        print("(newton: slope-based step with bracket; proportional: tâtonnement λ ← λ·Σx/B).")
        print("")
        try guardrail(&sink)
        print("")
        print("(checksum \(sink))")
    }

    private func guardrail(_ sink: inout Double) throws {
        let slots = 1024
        let interval = UInt64(250_000_000)
        var rail = try Guardrail(slotCount: slots, capacity: 1 << 40, config: GuardrailConfig(interval: .milliseconds(250)))
        for index in 0..<slots { try rail.track(PodSlot(index), limit: 1000, cap: 1 << 30) }
        var raises = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
        var limited = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
        let clock = ContinuousClock()
        var now: UInt64 = 1_000_000_000
        let deadline = clock.now.advanced(by: .seconds(seconds))
        var batches = 0
        while clock.now < deadline && batches < maxSamples {
            now += interval
            // Raise path: every call raises (one call per slot, each past its interval).
            var start = clock.now
            for call in 0..<batch {
                if let decision = rail.onThrottle(PodSlot(call & (slots - 1)), now: now &+ UInt64(call / slots) &* interval) {
                    sink += Double(decision.newLimit & 1)
                }
            }
            var elapsed = clock.now - start
            raises.record(picoseconds(elapsed, calls: batch))
            // Rate-limited path: the same pods again within their interval.
            start = clock.now
            for call in 0..<batch {
                if rail.onThrottle(PodSlot(call & (slots - 1)), now: now &+ 1) != nil { sink += 1 }
            }
            elapsed = clock.now - start
            limited.record(picoseconds(elapsed, calls: batch))
            for index in 0..<slots { rail.setLimit(PodSlot(index), to: 1000) } // untimed reset
            batches += 1
        }
        print("guardrail onThrottle, \(batches) batches of \(batch) calls (ns per call):")
        print("  raise (30 % step from headroom): median \(ns(raises.valueAtPercentile(50))), p99 \(ns(raises.valueAtPercentile(99)))")
        print("  rate-limited (within interval):  median \(ns(limited.valueAtPercentile(50))), p99 \(ns(limited.valueAtPercentile(99)))")
    }

    /// Times `body` until the time budget or the sample limit, one histogram value (ns) per call.
    private func measure(samples: Int? = nil, _ body: () -> Void) -> Histogram<UInt64> {
        var histogram = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
        let clock = ContinuousClock()
        body() // warm-up
        let deadline = clock.now.advanced(by: .seconds(seconds))
        let limit = samples.map { min($0, maxSamples) } ?? maxSamples
        var taken = 0
        while taken < limit && (taken < 5 || clock.now < deadline) {
            let start = clock.now
            body()
            histogram.record(nanoseconds(clock.now - start))
            taken += 1
        }
        return histogram
    }

    private func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
    }

    private func picoseconds(_ duration: Duration, calls: Int) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        let total = UInt64(max(0, seconds)) * 1_000_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000)
        return max(1, total / UInt64(calls))
    }

    private func span(_ histogram: Histogram<UInt64>) -> String {
        "\(time(histogram.valueAtPercentile(50))) / \(time(histogram.valueAtPercentile(99)))"
    }

    private func time(_ nanoseconds: UInt64) -> String {
        let value = Double(nanoseconds)
        if value < 1_000 { return "\(nanoseconds) ns" }
        if value < 1_000_000 { return fixed(value / 1_000, 1) + " µs" }
        if value < 1_000_000_000 { return fixed(value / 1_000_000, 2) + " ms" }
        return fixed(value / 1_000_000_000, 2) + " s"
    }

    private func ns(_ picoseconds: UInt64) -> String { fixed(Double(picoseconds) / 1000, 1) + " ns" }

    private func fixed(_ value: Double, _ decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int((value * scale).rounded())
        let whole = scaled / Int(scale)
        let fraction = String(scaled % Int(scale))
        return decimals == 0 ? "\(whole)" : "\(whole)." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }

    private func row(_ cells: [String]) -> String {
        let widths = [7, 8, 20, 20, 7, 13, 20, 19, 20]
        return zip(cells, widths).map { cell, width in
            String(repeating: " ", count: max(0, width - cell.count)) + cell
        }.joined(separator: " ")
    }

    /// A scarce random round: bids 0.1–10, floors 0–200 m, caps 100–4000 m above the floor, a
    /// fifth of the pods with a baseline, capacity half the sum of the caps.
    static func problem(pods count: Int, seed: UInt64) -> AllocationProblem {
        var random = SplitMix64(seed: seed)
        var pods: [MarketPod] = []
        pods.reserveCapacity(count)
        for index in 0..<count {
            let floor = (random.unit() * 200).rounded()
            let cap = floor + 100 + (random.unit() * 3900).rounded()
            let baseline = random.unit() < 0.2 ? (random.unit() * cap).rounded() : 0
            pods.append(MarketPod(name: "pod-\(index)", bid: 0.1 + random.unit() * 9.9, floor: floor, cap: cap,
                                  baseline: baseline))
        }
        let caps = pods.reduce(0) { $0 + $1.cap }
        let lower = pods.reduce(0) { $0 + $1.effectiveFloor }
        return AllocationProblem(capacity: max(lower * 1.05, (caps / 2).rounded()), reserve: 0, pods: pods)
    }
}


extension Substring {
    func trimmingCharacters() -> Substring {
        var result = self
        while result.first == " " { result.removeFirst() }
        while result.last == " " { result.removeLast() }
        return result
    }
}
