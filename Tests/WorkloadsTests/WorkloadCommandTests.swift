import Foundation
import Testing
@testable import Workloads

extension LiveWorkloads {
    /// The built `mbcas workload`, run as the demo runs it.
    @Suite struct WorkloadCommandTests {
        @Test func isHiddenFromTheTopLevelHelpButDocumented() throws {
            let top = try runMBCAS(["--help"])
            #expect(top.status == 0)
            #expect(!top.stdout.contains("workload"))

            let help = try runMBCAS(["workload", "--help"])
            #expect(help.status == 0)
            for kind in WorkloadKind.allCases {
                #expect(help.stdout.contains(kind.rawValue))
            }
            for option in ["--kind", "--threads", "--seed", "--duration", "--parent-pid"] {
                #expect(help.stdout.contains(option), "\(option)")
            }
        }

        @Test func runsASpecFromItsCommandLineArguments() throws {
            let spec = WorkloadSpec(kind: .idle, threads: 2, seed: 5, durationSeconds: 0.3)
            let result = try runMBCAS(spec.commandLineArguments)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.hasPrefix("idle: 2 threads, "))
            #expect(result.stdout.contains("stopped by duration"))
            #expect(result.seconds < 5)
        }

        @Test func rejectsAnUnknownKindNamingTheValidOnes() throws {
            let result = try runMBCAS(["workload", "--kind", "spiky", "--duration", "0.1"])
            #expect(result.status != 0)
            #expect(result.stderr.contains("spiky"))
            #expect(result.stderr.contains("bursty"))
        }

        @Test func rejectsAnInvalidSpecWithTheRunnerMessage() throws {
            let result = try runMBCAS(["workload", "--kind", "hog", "--threads", "0", "--duration", "0.1"])
            #expect(result.status != 0)
            #expect(result.stderr.contains("threads 0 is outside"))
        }

        @Test func stopsAtOnceWhenItsParentIsNotTheGivenPID() throws {
            // Its parent is this test process, never pid 1: it must not run for the 30 s asked.
            let result = try runMBCAS(["workload", "--kind", "idle", "--duration", "30", "--parent-pid", "1"])
            #expect(result.status == 0)
            #expect(result.stdout.contains("stopped by parent exited"))
            #expect(result.seconds < 5)
        }
    }
}
