import Glibc
import TestSupport
import Testing

@testable import Cgroups

/// A fresh directory under /tmp, removed (recursively) by `remove()`.
struct TempDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/mbcas-test-XXXXXX".utf8CString)
        guard let result = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TestFailure("mkdtemp failed: errno \(errno)")
        }
        path = String(cString: result)
    }

    /// Creates `relative` (and its parents) below the temp directory; returns the absolute path.
    @discardableResult
    func makeDirectory(_ relative: String) throws -> String {
        var current = path
        for part in relative.split(separator: "/") {
            current += "/\(part)"
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw TestFailure("mkdir \(current): errno \(errno)")
            }
        }
        return current
    }

    /// Writes a regular file below the temp directory.
    func writeFile(_ relative: String, _ content: String) throws {
        let fullPath = path + "/" + relative
        guard let file = fopen(fullPath, "w") else { throw TestFailure("fopen \(fullPath): errno \(errno)") }
        fputs(content, file)
        fclose(file)
    }

    /// Reads a regular file below the temp directory (independently of the library's reader).
    func readFile(_ relative: String) throws -> String {
        let fullPath = path + "/" + relative
        guard let file = fopen(fullPath, "r") else { throw TestFailure("fopen \(fullPath): errno \(errno)") }
        defer { fclose(file) }
        var result = ""
        var buffer = [CChar](repeating: 0, count: 256)
        while fgets(&buffer, Int32(buffer.count), file) != nil {
            result += String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return result
    }

    /// Removes the tree with `rm -rf` semantics (regular files and directories only).
    func remove() {
        removeTree(path)
    }

    private func removeTree(_ directory: String) {
        if let entries = try? FileIO.listDirectory(directory, directoriesOnly: false) {
            for name in entries {
                let child = directory + "/" + name
                var info = stat()
                if lstat(child, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR {
                    removeTree(child)
                } else {
                    unlink(child)
                }
            }
        }
        rmdir(directory)
    }
}

extension TemporaryCgroup {
    /// Removes it, recording a test issue when that fails (for `defer`, which cannot throw).
    func removeRecordingFailure() {
        do {
            try removeChecked()
        } catch {
            Issue.record("cleanup of \(directory.path) failed: \(error)")
        }
    }
}

/// A child process started with posix_spawn, stopped with `stop()`.
struct ChildProcess {
    let pid: pid_t

    /// Starts `/bin/sh -c script`.
    init(shell script: String) throws {
        var pid: pid_t = 0
        let argv = ["/bin/sh", "-c", script]
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for arg in cArgs { free(arg) } }
        let result = posix_spawn(&pid, "/bin/sh", nil, nil, &cArgs, environ)
        guard result == 0 else { throw TestFailure("posix_spawn: \(result)") }
        self.pid = pid
    }

    /// Kills the process and reaps it.
    func stop() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    }
}

/// A test-side error with a message.
struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The inode number of `path`, read with stat(2) directly, as an oracle independent of the library.
func inodeNumber(_ path: String) -> UInt64? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return UInt64(info.st_ino)
}

/// Sleeps for `milliseconds`.
func sleepMilliseconds(_ milliseconds: Int) {
    usleep(UInt32(milliseconds * 1000))
}

/// The calling thread's id, from /proc/thread-self (a link to `<pid>/task/<tid>`); Glibc's `gettid`
/// is not visible to Swift.
func currentThreadID() -> Int32 {
    var buffer = [CChar](repeating: 0, count: 64)
    let count = readlink("/proc/thread-self", &buffer, buffer.count - 1)
    guard count > 0 else { return getpid() }
    let link = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return link.split(separator: "/").last.flatMap { Int32($0) } ?? getpid()
}
