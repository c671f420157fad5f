import CKernelProbe

/// The program set a probe loads, and, when `auto` settled for raw
/// tracepoints, why.
///
/// `auto` decides before loading, from what the kernel offers (the way
/// libbpf-tools picks fentry over kprobes), and never after a failed load: a
/// verifier rejection of the tp_btf set is a bug to report, not a reason to
/// run the costlier raw_tp set.
public struct ProgramSetChoice: Sendable, Equatable {
    /// The set to load: never `.automatic`.
    public var mode: AttachMode
    /// Why `auto` chose `.rawTracepoint` (the first missing kernel feature); nil otherwise.
    public var fallbackReason: String?

    /// Resolves `requested`; `btfUnsupported` answers nil when the kernel has
    /// everything the tp_btf set needs, else names what is missing. It is
    /// asked only for `auto`.
    static func resolve(_ requested: AttachMode, btfUnsupported: () -> String?) -> ProgramSetChoice {
        guard requested == .automatic else { return ProgramSetChoice(mode: requested) }
        guard let reason = btfUnsupported() else { return ProgramSetChoice(mode: .btf) }
        return ProgramSetChoice(mode: .rawTracepoint, fallbackReason: reason)
    }

    /// What this kernel lacks for the tp_btf set, or nil.
    static func kernelLacksBTFTracepoints() -> String? {
        var reason = [CChar](repeating: 0, count: 256)
        guard mbcas_btf_tracepoints_unsupported(&reason, reason.count) != 0 else { return nil }
        return String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    init(mode: AttachMode, fallbackReason: String? = nil) {
        self.mode = mode
        self.fallbackReason = fallbackReason
    }
}
