#if canImport(Glibc)
import Glibc
#endif
import CKernelProbe
import SystemPackage

/// Checks, before touching libbpf, the things whose absence libbpf reports
/// only as a bare errno: privilege, kernel BTF and a bpffs for the pins.
enum Preflight {
    /// Linux capability numbers (linux/capability.h).
    enum Capability: Int {
        case sysAdmin = 21
        case perfmon = 38
        case bpf = 39
    }

    /// Runs every check; the first failure is thrown with its remedy.
    static func check(_ configuration: ProbeConfiguration) throws(ProbeError) {
        try checkPrivilege()
        try checkKernelBTF()
        try checkBPFFilesystem(forPinRoot: configuration.pinRoot)
    }

    /// The effective capability set of this process, from /proc/self/status.
    static func effectiveCapabilities() -> UInt64? {
        guard let status = try? readSmallFile("/proc/self/status") else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("CapEff:") {
            let hex = line.dropFirst("CapEff:".count).trimmingCharacters(in: " \t")
            return UInt64(hex, radix: 16)
        }
        return nil
    }

    static func checkPrivilege() throws(ProbeError) {
        guard let caps = effectiveCapabilities() else { return }  // cannot tell: let the kernel decide
        try checkPrivilege(effectiveCapabilities: caps, uid: geteuid())
    }

    static func checkPrivilege(effectiveCapabilities caps: UInt64, uid: uid_t) throws(ProbeError) {
        func has(_ cap: Capability) -> Bool { caps & (1 << UInt64(cap.rawValue)) != 0 }
        if has(.sysAdmin) || (has(.bpf) && has(.perfmon)) { return }
        var missing: [String] = []
        if !has(.bpf) { missing.append("CAP_BPF") }
        if !has(.perfmon) { missing.append("CAP_PERFMON") }
        throw ProbeError(.notPrivileged, """
            loading the MBCAS probes needs root, or CAP_BPF and CAP_PERFMON (CAP_SYS_ADMIN on \
            kernels before 5.8); this process (uid \(uid)) lacks \(missing.joined(separator: " and ")). \
            Run as root (sudo), or grant the capabilities (in Kubernetes: securityContext.capabilities.add).
            """)
    }

    static func checkKernelBTF() throws(ProbeError) {
        guard access("/sys/kernel/btf/vmlinux", R_OK) == 0 else {
            let err = Errno(rawValue: errno)
            throw ProbeError(.noKernelBTF, """
                the kernel exposes no BTF at /sys/kernel/btf/vmlinux (\(err)), \
                so the CO-RE probes cannot be relocated: a kernel built with CONFIG_DEBUG_INFO_BTF=y is needed
                """, path: "/sys/kernel/btf/vmlinux", errno: err)
        }
    }

    /// BPF_FS_MAGIC from linux/magic.h.
    static let bpfFilesystemMagic = 0xcafe_4a11

    static func checkBPFFilesystem(forPinRoot pinRoot: String) throws(ProbeError) {
        // The pin root may not exist yet; libbpf creates it inside the bpffs.
        var path = pinRoot
        while access(path, F_OK) != 0, let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            path = String(path[..<slash])
        }
        guard mbcas_filesystem_magic(path) == bpfFilesystemMagic else {
            throw ProbeError(.bpffsNotMounted, """
                no BPF filesystem at \(path) to pin the maps under \(pinRoot): \
                mount one with `mount -t bpf bpf /sys/fs/bpf` (or `make deps`)
                """)
        }
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> Substring {
        var s = self
        while let c = s.first, set.contains(c) { s = s.dropFirst() }
        while let c = s.last, set.contains(c) { s = s.dropLast() }
        return s
    }
}

/// Reads a small text file (procfs, sysfs) in one go.
func readSmallFile(_ path: String) throws -> String {
    let fd = try FileDescriptor.open(path, .readOnly)
    defer { try? fd.close() }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = try chunk.withUnsafeMutableBytes { try fd.read(into: $0, retryOnInterrupt: true) }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
}
