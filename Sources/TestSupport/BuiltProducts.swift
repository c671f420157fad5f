import Foundation

/// Finds an executable built alongside the test bundle (e.g. `mbcas`), so
/// tests can run the real command the way a user does; `$MBCAS_BUILT_PRODUCTS/<name>` first.
public func builtProduct(_ name: String) -> String? {
    let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var candidates = [runner.deletingLastPathComponent().appendingPathComponent(name).path]
    // MBCAS_BUILT_PRODUCTS=<dir> runs the tests against other builds (e.g. a release build's, to measure).
    if let directory = ProcessInfo.processInfo.environment["MBCAS_BUILT_PRODUCTS"], !directory.isEmpty {
        candidates.insert(directory + "/" + name, at: 0)
    }
    // swift-testing runs from inside the .xctest bundle directory on some setups.
    candidates.append(runner.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(name).path)
    candidates.append(FileManager.default.currentDirectoryPath + "/.build/debug/\(name)")
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// Like ``builtProduct(_:)``, but throws (naming the places searched) when it is missing.
public func requireBuiltProduct(_ name: String) throws -> String {
    struct NotBuilt: Error, CustomStringConvertible {
        let name: String
        var description: String { "the \(name) executable was not built next to the tests (build the package first)" }
    }
    guard let path = builtProduct(name) else { throw NotBuilt(name: name) }
    return path
}
