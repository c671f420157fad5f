#if canImport(Glibc)
import Glibc
#endif
import Cgroups
import Foundation
import Synchronization

/// A named, joinable pthread whose CPU time another thread can read while it lives.
///
/// The push benchmark charges each method its own threads' CPU time (from the kernel's
/// per-thread schedstat), not the whole process's: the agent, the pollers and the PSI watcher
/// all share one process.
final class BenchThread: Sendable {
    /// The name the thread carries in `/proc/self/task/*/comm` (15 bytes at most).
    let name: String
    private let handle: Mutex<pthread_t?>
    /// The kernel thread id, published by the thread itself as it starts (0 until then).
    private let tid = Atomic<Int32>(0)

    /// What the new thread is handed: the body and where to publish its id.
    private final class Start: Sendable {
        let name: String
        let body: @Sendable () -> Void
        let thread: BenchThread
        init(name: String, body: @escaping @Sendable () -> Void, thread: BenchThread) {
            self.name = name
            self.body = body
            self.thread = thread
        }
    }

    /// Starts `body` on a new thread called `name`.
    /// - Throws: ``BenchError`` with the `pthread_create` error.
    init(name: String, body: @escaping @Sendable () -> Void) throws(BenchError) {
        self.name = name
        self.handle = Mutex(nil)
        let start = Unmanaged.passRetained(Start(name: name, body: body, thread: self))
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
            setCurrentThreadName(start.name)
            start.thread.tid.store(currentThreadID(), ordering: .releasing)
            start.body()
            return nil
        }, start.toOpaque())
        guard rc == 0 else {
            start.release()
            throw BenchError("cannot start thread \(name): pthread_create: \(String(cString: strerror(rc)))")
        }
        handle.withLock { $0 = thread }
    }

    /// CPU time the thread has used so far (nanoseconds), or nil before it started or after it ended.
    var cpuNanos: UInt64? {
        let id = tid.load(ordering: .acquiring)
        guard id != 0 else { return nil }
        return threadCPUNanos(tid: id)
    }

    /// Waits for the thread to end. Safe to call more than once.
    func join() {
        guard let thread = handle.withLock({ h -> pthread_t? in defer { h = nil }; return h }) else { return }
        pthread_join(thread, nil)
    }
}

/// An error of the push benchmark, naming what is missing or what failed.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// CPU time of thread `tid` of this process, from `/proc/self/task/<tid>/schedstat` (ns, exact).
func threadCPUNanos(tid: Int32) -> UInt64? {
    (try? Schedstat.read(pid: getpid(), tid: tid))?.runNanos
}

/// The calling thread's kernel id, from the `/proc/thread-self` link (`<pid>/task/<tid>`):
/// Swift's Glibc module does not import `gettid`.
func currentThreadID() -> Int32 {
    var buffer = [CChar](repeating: 0, count: 64)
    let n = readlink("/proc/thread-self", &buffer, buffer.count - 1)
    guard n > 0 else { return 0 }
    let text = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return text.split(separator: "/").last.flatMap { Int32($0) } ?? 0
}

/// The id of this process's thread named `name` (its comm), if there is one.
func threadID(named name: String) -> Int32? {
    guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else { return nil }
    for entry in tasks {
        guard let tid = Int32(entry),
              let comm = try? String(contentsOfFile: "/proc/self/task/\(entry)/comm", encoding: .utf8) else { continue }
        if comm.trimmingCharacters(in: .whitespacesAndNewlines) == name { return tid }
    }
    return nil
}

/// The calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID), nanoseconds.
func currentThreadCPUNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// The process's peak resident set size in bytes (`VmHWM` of `/proc/self/status`).
func peakResidentBytes() -> UInt64? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kilobytes = line.dropFirst("VmHWM:".count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { UInt64($0) }
        return kilobytes.map { $0 * 1024 }
    }
    return nil
}

/// The whole process's CPU time (user + system, getrusage), nanoseconds.
func processCPUNanos() -> UInt64 {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    func ns(_ t: timeval) -> UInt64 { UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_usec) * 1000 }
    return ns(usage.ru_utime) + ns(usage.ru_stime)
}

/// Names the calling thread (cosmetic: `top -H` shows which poller is which).
private func setCurrentThreadName(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return }
    defer { close(fd) }
    let bytes = Array(name.utf8.prefix(15))
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
}
