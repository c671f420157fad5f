import Foundation
import KernelProbe
import Logging
import TestSupport
import Testing

/// Where each program set keeps per-task state on the running kernel, judged by its release (not
/// by the BTF check the loader makes): task-local storage only for tp_btf on 6.4+; elsewhere the
/// pid hash, and then no task-local storage map exists (a 6.1 guest hung when it did; see README).
@Suite("Per-task state", .serialized, .enabled(if: Privileged.canRun))
struct PerTaskStateTests {
    /// The running kernel's (major, minor), from uname's release ("6.1.0-50-amd64" -> (6, 1)).
    static func kernelVersion() throws -> (Int, Int) {
        var u = utsname()
        uname(&u)
        let release = withUnsafeBytes(of: u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        let version = try #require(parts.count == 2 ? (parts[0], parts[1]) : nil, "cannot read a version from \(release)")
        return version
    }

    @Test("tp_btf uses task-local storage on 6.4+ and the pid hash before; raw_tp always the pid hash",
          arguments: [AttachMode.btf, .rawTracepoint])
    func storeOfThisKernel(mode: AttachMode) throws {
        try Privileged.require()
        let probe = try KernelProbe.load(
            ProbeConfiguration(attachMode: mode, pinRoot: "/sys/fs/bpf/mbcas-test-\(UInt32.random(in: 0...UInt32.max))"),
            logger: Logger(label: "test.per-task"))
        defer { probe.close(keepPins: false) }
        let (major, minor) = try Self.kernelVersion()
        let since64 = major > 6 || (major == 6 && minor >= 4)
        #expect(probe.perTaskState == (mode == .btf && since64 ? .taskLocalStorage : .pidHash),
                "\(mode) on \(major).\(minor)")
    }
}
