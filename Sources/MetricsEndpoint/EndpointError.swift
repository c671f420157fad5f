#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Why ``MetricsEndpoint`` could not start serving.
///
/// Binding failures carry the address that was asked for and the operating system's text for the
/// errno, so a log line such as "cannot listen on 127.0.0.1:9464: Address already in use (errno
/// 98)" tells an operator which flag to change without reading code.
public struct EndpointError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure, for callers that react differently to each.
    public enum Code: String, Sendable, Hashable, CaseIterable {
        /// Another socket already listens on the address (`EADDRINUSE`).
        case addressInUse = "address-in-use"
        /// The process may not bind the address, usually a port below 1024 without
        /// `CAP_NET_BIND_SERVICE` (`EACCES`, `EPERM`).
        case permissionDenied = "permission-denied"
        /// The host is not an address this machine can listen on, or does not resolve.
        case invalidAddress = "invalid-address"
        /// Binding failed for another operating-system reason.
        case bindFailed = "bind-failed"
        /// `run()` was called on an endpoint that had already been started once.
        case alreadyStarted = "already-started"
    }

    /// The kind of failure.
    public var code: Code
    /// A sentence for logs, naming the address and the cause.
    public var message: String
    /// The address asked for, `host:port` (`[host]:port` for IPv6).
    public var address: String
    /// The errno the operating system returned, when there was one.
    public var errno: Int32?

    /// Creates an error.
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - message: A sentence for logs.
    ///   - address: The address asked for, `host:port`.
    ///   - errno: The operating system's errno, if any.
    public init(code: Code, message: String, address: String, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.address = address
        self.errno = errno
    }

    /// The message.
    public var description: String { message }
}

extension EndpointError {
    /// A bind failure from an errno, with the operating system's text for it.
    static func bind(address: String, errno code: Int32) -> EndpointError {
        let kind: Code
        switch code {
        case EADDRINUSE: kind = .addressInUse
        case EACCES, EPERM: kind = .permissionDenied
        case EADDRNOTAVAIL, EAFNOSUPPORT: kind = .invalidAddress
        default: kind = .bindFailed
        }
        return EndpointError(
            code: kind,
            message: "cannot listen on \(address): \(errnoText(code)) (errno \(code))",
            address: address,
            errno: code
        )
    }

    /// The text `strerror` gives for an errno.
    private static func errnoText(_ code: Int32) -> String {
        // strerror's buffer is only racy for unknown errnos on glibc; bind errors are all known
        // ones, and the text is copied out at once.
        guard let text = strerror(code) else { return "unknown error" }
        return String(cString: text)
    }

    /// `host:port`, bracketing IPv6 literals so the port stays readable.
    static func formatAddress(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
