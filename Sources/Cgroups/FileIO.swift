internal import Glibc
internal import SystemPackage

/// Small file helpers for cgroupfs and procfs, which turn `-1/errno` into `CgroupError` and retry on
/// `EINTR`.
///
/// Why not Foundation: kernfs files report a size of 4096 (or 0) whatever their content, so reading
/// must loop until EOF, and a write must be exactly one `write(2)`: the kernel parses each write as
/// a whole value, so splitting it would set a truncated value.
enum FileIO {
    /// Reads the whole file at `path` as UTF-8, looping until EOF.
    static func read(_ path: String) throws(CgroupError) -> String {
        let fd = try open(path, .readOnly)
        defer { try? fd.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count: Int
            do {
                count = try chunk.withUnsafeMutableBytes { try fd.read(into: $0, retryOnInterrupt: true) }
            } catch {
                throw .systemCall("read", path: path, errno: asErrno(error))
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes `value` to `path` with one `write(2)`, retried as a whole on `EINTR`.
    ///
    /// A short write is reported as `.partialWrite` rather than completed with a second write, since
    /// the kernel would take the remainder as a separate (wrong) value.
    static func write(_ value: String, to path: String) throws(CgroupError) {
        let fd = try open(path, .writeOnly, options: [.truncate])
        defer { try? fd.close() }
        var utf8 = Array(value.utf8)
        let written: Int
        do {
            written = try utf8.withUnsafeMutableBytes { try fd.write(UnsafeRawBufferPointer($0), retryOnInterrupt: true) }
        } catch {
            throw .systemCall("write \"\(value)\" to", path: path, errno: asErrno(error))
        }
        if written != utf8.count {
            throw CgroupError(
                .partialWrite, "write \"\(value)\" to \(path): only \(written) of \(utf8.count) bytes written", path: path)
        }
    }

    /// The inode number of `path`, following symlinks (such as `cpu -> cpu,cpuacct`); for a cgroup
    /// directory this is its kernfs id.
    static func inode(_ path: String) throws(CgroupError) -> UInt64 {
        var info = stat()
        let result = retryOnEINTR { stat(path, &info) }
        if result != 0 { throw .systemCall("stat", path: path, errno: Errno(rawValue: Glibc.errno)) }
        return UInt64(info.st_ino)
    }

    /// Names of the entries of the directory at `path` (without `.` and `..`), sorted; with
    /// `directoriesOnly`, entries whose `d_type` says they are not directories are left out (entries of
    /// unknown type are kept for the caller to check).
    static func listDirectory(_ path: String, directoriesOnly: Bool) throws(CgroupError) -> [String] {
        var directory: OpaquePointer?
        repeat {
            directory = opendir(path)
        } while directory == nil && Glibc.errno == EINTR
        guard let directory else { throw .systemCall("opendir", path: path, errno: lastErrno) }
        defer { closedir(directory) }
        var names: [String] = []
        while true {
            Glibc.errno = 0
            guard let entry = readdir(directory) else {
                // NULL is both the end and an error; only errno tells them apart. A directory removed
                // while being read reports ENOENT.
                if Glibc.errno == 0 { break }
                throw .systemCall("readdir", path: path, errno: lastErrno)
            }
            if directoriesOnly {
                let type = Int32(entry.pointee.d_type)
                guard type == Int32(DT_DIR) || type == Int32(DT_UNKNOWN) else { continue }
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            names.append(name)
        }
        return names.sorted()
    }

    /// Runs a `-1/errno` style call again while it fails with `EINTR`.
    static func retryOnEINTR(_ body: () -> Int32) -> Int32 {
        while true {
            let result = body()
            if result == -1 && Glibc.errno == EINTR { continue }
            return result
        }
    }

    /// The current thread's errno as a typed value.
    static var lastErrno: Errno { Errno(rawValue: Glibc.errno) }

    private static func open(
        _ path: String, _ mode: FileDescriptor.AccessMode, options: FileDescriptor.OpenOptions = []
    ) throws(CgroupError) -> FileDescriptor {
        do {
            return try FileDescriptor.open(
                FilePath(path), mode, options: options.union(.closeOnExec), retryOnInterrupt: true)
        } catch {
            throw .systemCall("open", path: path, errno: asErrno(error))
        }
    }

    /// SystemPackage throws `Errno`; anything else would be a library bug, reported as `EIO`.
    private static func asErrno(_ error: any Error) -> Errno {
        (error as? Errno) ?? .ioError
    }
}
