internal import SystemPackage

/// A task's `/proc/<pid>/schedstat`: the kernel's own account of its run time and run-queue wait.
///
/// Used as the oracle for run-queue wait measured by the BPF programs. The file has three fields:
/// time spent on the CPU (ns), time spent waiting on a run queue (ns), and number of timeslices run.
/// `/proc/<pid>/schedstat` describes the task `pid` only (for a process, its main thread); use
/// ``readProcess(pid:procRoot:)`` to sum every thread.
public struct Schedstat: Sendable, Hashable {
    /// Time spent running on a CPU, in ns.
    public var runNanos: UInt64
    /// Time spent runnable but waiting on a run queue, in ns.
    public var waitNanos: UInt64
    /// Number of timeslices run on a CPU.
    public var timeslices: UInt64

    /// Creates a value from its three fields.
    public init(runNanos: UInt64, waitNanos: UInt64, timeslices: UInt64) {
        self.runNanos = runNanos
        self.waitNanos = waitNanos
        self.timeslices = timeslices
    }

    /// Field-wise sum (wrapping), for adding up threads.
    public static func + (lhs: Schedstat, rhs: Schedstat) -> Schedstat {
        Schedstat(
            runNanos: lhs.runNanos &+ rhs.runNanos,
            waitNanos: lhs.waitNanos &+ rhs.waitNanos,
            timeslices: lhs.timeslices &+ rhs.timeslices)
    }

    /// Parses the file's single line: three unsigned integers separated by spaces.
    public static func parse(_ text: String, path: String? = nil) throws(CgroupError) -> Schedstat {
        let body = text.hasSuffix("\n") ? text.dropLast() : Substring(text)
        let fields = body.split(separator: " ", omittingEmptySubsequences: false)
        guard fields.count == 3, let run = UInt64(fields[0]), let wait = UInt64(fields[1]),
            let slices = UInt64(fields[2])
        else { throw .malformed("schedstat", line: String(body), path: path) }
        return Schedstat(runNanos: run, waitNanos: wait, timeslices: slices)
    }

    /// Reads `/proc/<pid>/schedstat`, or `/proc/<pid>/task/<tid>/schedstat` when `tid` is given.
    ///
    /// - Throws: `.systemCall` with `ENOENT` when the task has exited.
    public static func read(pid: Int32, tid: Int32? = nil, procRoot: String = "/proc") throws(CgroupError) -> Schedstat {
        let path = tid.map { "\(procRoot)/\(pid)/task/\($0)/schedstat" } ?? "\(procRoot)/\(pid)/schedstat"
        return try parse(FileIO.read(path), path: path)
    }

    /// Sums the schedstat of every live thread of process `pid`; threads that exit during the scan are
    /// skipped.
    ///
    /// Exited threads' time is not included (the kernel does not keep it per process), so the total can
    /// go down between calls; compare per thread when that matters.
    public static func readProcess(pid: Int32, procRoot: String = "/proc") throws(CgroupError) -> Schedstat {
        let taskDirectory = "\(procRoot)/\(pid)/task"
        var total = Schedstat(runNanos: 0, waitNanos: 0, timeslices: 0)
        for name in try FileIO.listDirectory(taskDirectory, directoriesOnly: true) {
            guard let tid = Int32(name) else { continue }
            do {
                total = total + (try read(pid: pid, tid: tid, procRoot: procRoot))
            } catch where error.errno == .noSuchFileOrDirectory || error.errno == .noSuchProcess {
                continue  // the thread exited during the scan
            }
        }
        return total
    }
}
