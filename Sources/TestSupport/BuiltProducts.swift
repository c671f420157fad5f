import Foundation

/// Finds an executable built alongside the test bundle (e.g. `mbcas`), so
/// tests can run the real command the way a user does.
public func builtProduct(_ name: String) -> String? {
    let runner = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var candidates = [runner.deletingLastPathComponent().appendingPathComponent(name).path]
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

/// What a finished command left behind.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    /// It was still running at the deadline and was killed.
    public var timedOut: Bool
    /// How long it ran, in seconds.
    public var seconds: Double
}

/// Runs a command to completion, killing it after `timeout` seconds.
public func runCommand(_ executable: String, _ arguments: [String], timeout: Double = 30) throws -> CommandResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    let start = Date()
    try process.run()
    let deadline = start.addingTimeInterval(timeout)
    // Read concurrently so a chatty child never blocks on a full pipe.
    nonisolated(unsafe) var stdoutData = Data(), stderrData = Data()
    let group = DispatchGroup()
    DispatchQueue.global().async(group: group) { stdoutData = out.fileHandleForReading.readDataToEndOfFile() }
    DispatchQueue.global().async(group: group) { stderrData = err.fileHandleForReading.readDataToEndOfFile() }
    while process.isRunning && Date() < deadline { usleep(10_000) }
    let timedOut = process.isRunning
    if timedOut { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
    group.wait()
    return CommandResult(status: process.terminationStatus, stdout: String(decoding: stdoutData, as: UTF8.self),
                         stderr: String(decoding: stderrData, as: UTF8.self), timedOut: timedOut,
                         seconds: Date().timeIntervalSince(start))
}
