import Foundation
import Testing
@testable import Workloads

extension LiveWorkloads {
    /// The runner in this (test) process; kinds that burn little, and short runs.
    @Suite struct WorkloadRunnerTests {
        @Test func endsAtItsDuration() throws {
            let runner = try WorkloadRunner(spec: WorkloadSpec(kind: .idle, durationSeconds: 0.3))
            let report = try runner.run()
            #expect(report.stopReason == .duration)
            #expect(report.elapsedSeconds >= 0.3)
            #expect(report.elapsedSeconds < 1.3)
            // Phases start at 0, 100 and 200 ms.
            #expect(report.phases == 3)
            #expect(runner.isStopping)
        }

        @Test func stopEndsARunWithoutDurationPromptly() throws {
            let runner = try WorkloadRunner(spec: WorkloadSpec(kind: .steady, threads: 2))
            DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { runner.stop() }
            let report = try runner.run()
            #expect(report.stopReason == .requested)
            #expect(report.elapsedSeconds < 1.2)
        }

        @Test func aStopSignalEndsTheRunAndItsHandlerIsRestored() throws {
            // SIGUSR2, not SIGTERM: the signal goes to this whole test process. A no-op handler is
            // installed first so the test can see it put back.
            let marker: @convention(c) (Int32) -> Void = { _ in }
            let original = signal(SIGUSR2, marker)
            defer { _ = signal(SIGUSR2, original) }

            let runner = try WorkloadRunner(spec: WorkloadSpec(kind: .idle))
            DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { _ = kill(getpid(), SIGUSR2) }
            let report = try runner.run(stopSignals: [SIGUSR2])
            #expect(report.stopReason == .signal(SIGUSR2))
            #expect(report.elapsedSeconds < 1.2)
            let restored = try #require(signal(SIGUSR2, marker))
            #expect(unsafeBitCast(restored, to: UnsafeRawPointer.self) == unsafeBitCast(marker, to: UnsafeRawPointer.self))
        }

        @Test func aParentOtherThanOursEndsTheRunAtOnce() throws {
            let runner = try WorkloadRunner(spec: WorkloadSpec(kind: .idle, durationSeconds: 5))
            let report = try runner.run(parentPID: getppid() == 1 ? 2 : 1)
            #expect(report.stopReason == .parentExited)
            #expect(report.elapsedSeconds < 1)
        }

        @Test func busyPhasesReallyBurnCPU() throws {
            // 0.3 s of steady: about 0.12 s of CPU if the spin loop does its work. The bound is loose
            // (a shared machine), but an optimised-away loop would burn next to nothing.
            let report = try WorkloadRunner(spec: WorkloadSpec(kind: .steady, durationSeconds: 0.3)).run()
            #expect(report.cpuSeconds > 0.03)
            #expect(report.phases >= 25)
        }

        @Test func rejectsAnInvalidSpec() {
            let error = #expect(throws: WorkloadError.self) {
                _ = try WorkloadRunner(spec: WorkloadSpec(kind: .hog, threads: 0))
            }
            #expect(error?.code == .invalidSpec)
        }

        @Test func reportReadsAsOneLine() {
            let report = WorkloadReport(
                spec: WorkloadSpec(kind: .bursty), stopReason: .signal(15),
                elapsedSeconds: 10, cpuSeconds: 8.125, phases: 11)
            #expect(report.description == "bursty: 2 threads, 10.00 s, CPU 8.13 s (0.81 CPUs), 11 phases, stopped by signal 15")
        }
    }
}
