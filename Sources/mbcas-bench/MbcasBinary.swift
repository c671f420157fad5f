import Foundation

/// The `mbcas` binary that runs a benchmark's workload: `explicit` (--mbcas), else the one next to
/// this executable.
func locateMbcas(_ explicit: String?) throws -> String {
    let path = explicit ?? URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        .deletingLastPathComponent().appendingPathComponent("mbcas").path
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw BenchError("""
            the mbcas binary that runs the workload is missing at \(path): build it \
            (swift build -c release --product mbcas) or pass --mbcas PATH
            """)
    }
    return path
}
