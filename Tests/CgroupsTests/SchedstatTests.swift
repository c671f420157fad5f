import Glibc
import Testing

@testable import Cgroups

@Suite struct SchedstatTests {
    @Test func parsesThreeFields() throws {
        // Samples from this machine: a fresh process, and init.
        #expect(try Schedstat.parse("0 56514 1\n") == Schedstat(runNanos: 0, waitNanos: 56_514, timeslices: 1))
        #expect(try Schedstat.parse("183370656 15942844 370\n")
            == Schedstat(runNanos: 183_370_656, waitNanos: 15_942_844, timeslices: 370))
        #expect(try Schedstat.parse("1 2 3") == Schedstat(runNanos: 1, waitNanos: 2, timeslices: 3))
    }

    @Test(arguments: ["", "1 2", "1 2 3 4", "1  2 3", "a b c", "-1 2 3", "1 2 3\n\n"])
    func rejectsMalformed(text: String) throws {
        let error = try #require(throws: CgroupError.self) { try Schedstat.parse(text, path: "/proc/42/schedstat") }
        #expect(error.code == .malformedContent)
        #expect(error.message.contains("/proc/42/schedstat"))
    }

    @Test func sumsFieldWise() {
        let a = Schedstat(runNanos: 1, waitNanos: 2, timeslices: 3)
        let b = Schedstat(runNanos: 10, waitNanos: 20, timeslices: 30)
        #expect(a + b == Schedstat(runNanos: 11, waitNanos: 22, timeslices: 33))
    }

    @Test func readsThisProcess() throws {
        let pid = getpid()
        let main = try Schedstat.read(pid: pid)
        #expect(main.runNanos > 0)
        #expect(main.timeslices > 0)
        let thread = try Schedstat.read(pid: pid, tid: currentThreadID())
        #expect(thread.runNanos > 0)
        let total = try Schedstat.readProcess(pid: pid)
        #expect(total.runNanos >= thread.runNanos)
        #expect(total.timeslices >= main.timeslices)
    }

    @Test func runTimeGrowsWhileBurningCPU() throws {
        let before = try Schedstat.read(pid: getpid(), tid: currentThreadID())
        var x: UInt64 = 7
        for i in 0..<20_000_000 { x = x &* 2862933555777941757 &+ UInt64(i) }
        #expect(x != 0)
        let after = try Schedstat.read(pid: getpid(), tid: currentThreadID())
        #expect(after.runNanos > before.runNanos)
    }

    @Test func exitedProcessIsENOENT() throws {
        let child = try ChildProcess(shell: "exit 0")
        child.stop()
        let error = try #require(throws: CgroupError.self) { try Schedstat.read(pid: child.pid) }
        #expect(error.errno == .noSuchFileOrDirectory)
        #expect(error.path == "/proc/\(child.pid)/schedstat")
    }
}
