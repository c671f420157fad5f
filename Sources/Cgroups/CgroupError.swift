public import ServiceErrors
internal import SystemPackage

/// An error from reading, parsing or writing cgroup and procfs files.
///
/// Every error names what it concerns (a path, a line, a field) in `message`, so a log line alone
/// is enough to find the file on the node; `path` holds the file, `errno` the kernel's error
/// number for `.systemCall` (and `.busy` when it came from `rmdir`).
public typealias CgroupError = ServiceError<CgroupErrorCode>

/// What kind of failure a ``CgroupError`` is; switch on it, do not parse `message`.
public enum CgroupErrorCode: String, Sendable, Hashable {
    /// No hierarchy carries the requested controller (v1 super option or v2 `cgroup.controllers`).
    case controllerNotMounted
    /// A system call failed; `errno` holds the kernel's error number.
    case systemCall
    /// `write(2)` accepted fewer bytes than the whole value, so the kernel may hold a truncated value.
    case partialWrite
    /// A file's content does not follow its documented format.
    case malformedContent
    /// A key that the format requires is absent.
    case missingField
    /// A value given by the caller is outside what the kernel accepts (checked before any write).
    case invalidValue
    /// A cgroup could not be removed because it stayed busy (tasks or children) after retrying.
    case busy
}

extension ServiceError where Code == CgroupErrorCode {
    /// A failed system call on `path`, with the errno's text in the message.
    static func systemCall(_ operation: String, path: String, errno: Errno) -> CgroupError {
        CgroupError(.systemCall, "\(operation) \(path): \(errno) (errno \(errno.rawValue))", path: path, errno: errno)
    }

    /// A line of `path` (or of in-memory text when `path` is nil) that does not parse.
    static func malformed(_ what: String, line: String, lineNumber: Int? = nil, path: String?) -> CgroupError {
        var location = path ?? "<text>"
        if let lineNumber { location += ":\(lineNumber)" }
        return CgroupError(.malformedContent, "\(location): malformed \(what): \"\(line)\"", path: path)
    }
}
