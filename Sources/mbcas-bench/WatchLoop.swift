import Synchronization

/// The loop every baseline watcher runs (the `cpu.stat` poller, the PSI trigger): one named thread
/// that repeats a step until ``stop()``, with its CPU time readable while it lives.
final class WatchLoop: Sendable {
    private let stopRequested = Atomic<Bool>(false)
    private let thread = Mutex<BenchThread?>(nil)

    init() {}

    /// Runs `step` on a new thread called `name` until ``stop()`` or until `step` returns false.
    /// `state` is the step's own, carried from one call to the next.
    func start<State: Sendable>(
        name: String, state initial: State, step: @escaping @Sendable (inout State) -> Bool
    ) throws(BenchError) {
        let t = try BenchThread(name: name) { [self] in
            var state = initial
            while !isStopping {
                guard step(&state) else { break }
            }
        }
        thread.withLock { $0 = t }
    }

    /// Whether ``stop()`` was called: a step that slept checks it before doing its work.
    var isStopping: Bool { stopRequested.load(ordering: .relaxed) }

    /// CPU time the thread has used (ns); read it before ``stop()``.
    var cpuNanos: UInt64? { thread.withLock { $0?.cpuNanos } }

    /// Asks the thread to end and waits for it (at most one step).
    func stop() {
        stopRequested.store(true, ordering: .relaxed)
        thread.withLock { $0 }?.join()
    }
}
