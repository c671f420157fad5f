public import ServiceErrors
import SystemPackage

/// Why the kernel probe could not start or run. Every message names what is
/// missing (a privilege, a kernel feature, a mount) and how to fix it; a failed
/// system call's `Errno` is kept in `errno`, a saved verifier log's path in `path`.
public typealias ProbeError = ServiceError<ProbeErrorCode>

/// The kinds of ``ProbeError``, for callers that react differently to each.
public enum ProbeErrorCode: String, Sendable, Hashable {
    /// Neither root nor CAP_BPF + CAP_PERFMON (or CAP_SYS_ADMIN on older kernels).
    case notPrivileged
    /// The kernel exposes no BTF at /sys/kernel/btf/vmlinux, so CO-RE cannot relocate.
    case noKernelBTF
    /// No bpffs at the pin root's mount point.
    case bpffsNotMounted
    /// The verifier refused a program; the log was saved to a file (`path`).
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

extension ServiceError where Code == ProbeErrorCode {
    /// A failed system or libbpf call: `what` failed, then the errno's text (and `hint`, which
    /// names the privilege or feature to check); the errno kept typed.
    static func call(_ code: ProbeErrorCode, _ what: String, _ errno: Errno, hint: String? = nil) -> ProbeError {
        ProbeError(code, "\(what): \(errno)" + (hint.map { " (\($0))" } ?? ""), errno: errno)
    }
}
