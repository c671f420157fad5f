/// Why the kernel probe could not start or run. Every message names what is
/// missing (a privilege, a kernel feature, a mount) and how to fix it.
public struct ProbeError: Error, Sendable, CustomStringConvertible {
    /// The kind of failure, for callers that react differently to each.
    public enum Code: String, Sendable {
        /// Neither root nor CAP_BPF + CAP_PERFMON (or CAP_SYS_ADMIN on older kernels).
        case notPrivileged
        /// The kernel exposes no BTF at /sys/kernel/btf/vmlinux, so CO-RE cannot relocate.
        case noKernelBTF
        /// No bpffs at the pin root's mount point.
        case bpffsNotMounted
        /// The verifier refused a program; the log was saved to a file.
        case verifierRejected
        /// Loading failed for another reason (map creation, pinned-map mismatch, ...).
        case loadFailed
        /// A program could not be attached to its tracepoint.
        case attachFailed
        /// A map operation failed.
        case mapAccessFailed
        /// The ring-buffer consumer could not be set up or failed while polling.
        case ringBufferFailed
        /// The configuration was invalid; the message names the field.
        case invalidConfiguration
        /// No running agent's pinned maps were found.
        case notRunning
    }

    /// The kind of failure.
    public let code: Code
    /// A sentence for people: what failed, and what to do.
    public let message: String
    /// Where the verifier log was written, for `verifierRejected`.
    public let logPath: String?

    /// Creates an error.
    public init(_ code: Code, _ message: String, logPath: String? = nil) {
        self.code = code
        self.message = message
        self.logPath = logPath
    }

    public var description: String { message }
}
