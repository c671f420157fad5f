#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// One process per pin root: two probes attached over the same pinned maps
/// would both count every switch, doubling the totals. An advisory lock
/// (flock) beside it, held for the probe's life, refuses the second one with
/// the first one's pid. The kernel drops the lock when the holder dies.
final class PinRootLock: Sendable {
    private let fd: Int32
    private let path: String

    /// The lock file for a pin root: /run/lock/mbcas<pin root with / as _>.lock.
    static func path(for pinRoot: String) -> String {
        "/run/lock/mbcas" + pinRoot.map { $0 == "/" ? "_" : $0 }.reduce(into: "") { $0.append($1) } + ".lock"
    }

    init(pinRoot: String) throws(ProbeError) {
        let path = Self.path(for: pinRoot)
        mkdir("/run/lock", 0o755)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw ProbeError.call(.loadFailed, "cannot open the lock file \(path)", Errno(rawValue: errno))
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = read(fd, &buffer, buffer.count - 1)
            let holder = n > 0 ? String(Substring(decoding: buffer[..<n], as: UTF8.self).trimmingCharacters(in: " \n")) : "?"
            close(fd)
            throw ProbeError(.loadFailed, """
                another MBCAS process (pid \(holder)) already runs probes over the maps pinned at \(pinRoot): \
                stop it, or use another --pin-root
                """)
        }
        ftruncate(fd, 0)
        let pid = Array("\(getpid())\n".utf8)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        self.fd = fd
        self.path = path
    }

    // Unlinked while still held, so no file is left behind; a process that
    // opened it just before finds it locked and is refused, as it would be.
    deinit {
        unlink(path)
        close(fd)
    }
}
