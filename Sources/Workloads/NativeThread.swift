internal import Glibc
internal import SystemPackage

/// A joinable pthread running a closure; named so `top -H` and `/proc/<pid>/task/*/comm` show which
/// workload thread is which.
final class NativeThread: Sendable {
    private let handle: pthread_t

    /// The box handed to the new thread: the closure and the name, released by the thread itself.
    private final class Start {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Starts `body` on a new thread called `name` (the kernel keeps the first 15 bytes).
    ///
    /// - Throws: `.startFailed` with the `pthread_create` error number.
    init(name: String, body: @escaping @Sendable () -> Void) throws(WorkloadError) {
        let start = Unmanaged.passRetained(Start(name: name, body: body))
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { raw in
            let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
            NativeThread.setCurrentThreadName(start.name)
            start.body()
            return nil
        }, start.toOpaque())
        guard result == 0 else {
            start.release()
            let errno = Errno(rawValue: result)
            throw WorkloadError(
                .startFailed, "pthread_create for \(name): \(errno) (\(result))", errno: errno)
        }
        handle = thread
    }

    /// Names the calling thread through `/proc/thread-self/comm`: Glibc's `pthread_setname_np` needs
    /// `_GNU_SOURCE` and is not imported into Swift. Naming is cosmetic, so failures are ignored.
    private static func setCurrentThreadName(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(name.utf8.prefix(15))  // the kernel keeps 15 bytes and a NUL
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// Waits for the thread to finish. Call once.
    func join() {
        _ = pthread_join(handle, nil)
    }
}
