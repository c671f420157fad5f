/// Polls `condition` every 20 ms until it holds or `timeout` passes, and returns the last answer:
/// tests wait for state written asynchronously (watches, status writes, processes) with a
/// deadline instead of sleeping a fixed time and hoping.
public func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
