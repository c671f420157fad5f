import Foundation

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

/// Runs a command to completion, killing it after `timeout` seconds: the tests' way of running the
/// built binaries, and the benchmarks' way of running stress-ng and the plot script.
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
