/// Waits until `condition` holds, polling: for state written asynchronously (the kubelet
/// stand-in's status writes, a process exiting). Returns false if it never held before the
/// deadline.
func eventually(timeout: Duration = .seconds(5), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
