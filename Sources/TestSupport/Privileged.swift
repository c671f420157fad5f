#if canImport(Glibc)
import Glibc
#endif

/// The gate for tests that need root: real cgroups, BPF programs.
///
/// They run as root, or whenever `MBCAS_REQUIRE_PRIVILEGED_TESTS=1` (CI sets
/// it), so that in CI a missing privilege fails the test instead of
/// skipping it. Everywhere else, without root, they are skipped.
public enum Privileged {
    /// True when running as root.
    public static var isRoot: Bool { geteuid() == 0 }

    /// True when CI demands that privileged tests run.
    public static var isRequired: Bool {
        guard let value = getenv("MBCAS_REQUIRE_PRIVILEGED_TESTS") else { return false }
        return String(cString: value) == "1"
    }

    /// Use as `.enabled(if: Privileged.canRun)`.
    public static var canRun: Bool { isRoot || isRequired }

    /// Fails the calling test when root is missing (only reachable when required).
    public static func require() throws {
        struct NotRoot: Error, CustomStringConvertible {
            var description: String { "MBCAS_REQUIRE_PRIVILEGED_TESTS=1 but not running as root (euid \(geteuid()))" }
        }
        if !isRoot { throw NotRoot() }
    }
}
