import Foundation
import Testing
@testable import Workloads

@Suite struct WorkloadKindTests {
    @Test func rawValuesAreTheCommandLineNames() {
        #expect(WorkloadKind.allCases.map(\.rawValue) == ["bursty", "steady", "hog", "idle"])
        for kind in WorkloadKind.allCases { #expect(WorkloadKind(rawValue: kind.description) == kind) }
    }

    @Test func summariesAreShortAndDistinct() {
        let summaries = WorkloadKind.allCases.map(\.summary)
        #expect(Set(summaries).count == summaries.count)
        // Short enough for one line of the demo's table beside a name column.
        for summary in summaries { #expect((20...72).contains(summary.count), "\(summary)") }
    }

    @Test func multiCPUKindsDefaultToTwoThreads() {
        #expect(WorkloadSpec(kind: .bursty).threads == 2)
        #expect(WorkloadSpec(kind: .hog).threads == 2)
        #expect(WorkloadSpec(kind: .steady).threads == 1)
        #expect(WorkloadSpec(kind: .idle).threads == 1)
        #expect(WorkloadSpec(kind: .idle, threads: 3).threads == 3)
    }
}

@Suite struct WorkloadSpecTests {
    @Test func roundTripsThroughJSON() throws {
        let spec = WorkloadSpec(kind: .bursty, threads: 3, seed: .max, durationSeconds: 2.5)
        let decoded = try JSONDecoder().decode(WorkloadSpec.self, from: JSONEncoder().encode(spec))
        #expect(decoded == spec)
        let open = WorkloadSpec(kind: .hog)
        #expect(try JSONDecoder().decode(WorkloadSpec.self, from: JSONEncoder().encode(open)) == open)
    }

    @Test func commandLineArgumentsNameEveryField() {
        #expect(WorkloadSpec(kind: .steady, threads: 1, seed: 9, durationSeconds: 1.5).commandLineArguments
            == ["workload", "--kind", "steady", "--threads", "1", "--seed", "9", "--duration", "1.5"])
        #expect(WorkloadSpec(kind: .hog, threads: 2, seed: 3).commandLineArguments
            == ["workload", "--kind", "hog", "--threads", "2", "--seed", "3"])
    }

    @Test(arguments: [0, -1, WorkloadSpec.maxThreads + 1])
    func rejectsThreadCountsOutOfRange(threads: Int) {
        let error = #expect(throws: WorkloadError.self) {
            try WorkloadSpec(kind: .hog, threads: threads).validate()
        }
        #expect(error?.code == .invalidSpec)
        #expect(error?.message.contains("threads \(threads)") == true)
    }

    @Test(arguments: [0, -2, .nan, .infinity] as [Double])
    func rejectsDurationsThatAreNotPositive(seconds: Double) {
        let error = #expect(throws: WorkloadError.self) {
            try WorkloadSpec(kind: .idle, durationSeconds: seconds).validate()
        }
        #expect(error?.code == .invalidSpec)
        #expect(error?.message.contains("duration") == true)
    }

    @Test func acceptsTheExtremesOfTheRange() throws {
        try WorkloadSpec(kind: .idle, threads: 1, durationSeconds: 0.001).validate()
        try WorkloadSpec(kind: .idle, threads: WorkloadSpec.maxThreads).validate()
    }
}
