internal import NIOCore
import Synchronization

/// The endpoint's open connections: caps how many a client may hold, and lets shutdown drain them
/// so that `run()` returns only when no socket of ours is left open.
final class ConnectionTracker: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var draining = false
        var drainWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let maxConnections: Int
    private let state = Mutex(State())

    /// Creates a tracker.
    /// - Parameter maxConnections: How many connections may be open at once.
    init(maxConnections: Int) {
        self.maxConnections = maxConnections
    }

    /// Admits a new connection: false, and the caller drops it, when at the cap or shutting down.
    func admit(_ channel: any Channel) -> Bool {
        let id = ObjectIdentifier(channel)
        let admitted = state.withLock { state in
            guard !state.draining, state.channels.count < maxConnections else { return false }
            state.channels[id] = channel
            return true
        }
        if admitted {
            channel.closeFuture.whenComplete { _ in self.remove(id) }
        }
        return admitted
    }

    /// Stops admitting and asks every open connection to finish: NIO's pipelining handler closes
    /// an idle one at once, and one mid-request after its response is written.
    func quiesce() {
        let open = state.withLock { state in
            state.draining = true
            return Array(state.channels.values)
        }
        for channel in open {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
    }

    /// Closes every open connection now, for when shutdown cannot wait (task cancellation).
    func closeAll() {
        let open = state.withLock { state in
            state.draining = true
            return Array(state.channels.values)
        }
        for channel in open {
            channel.close(promise: nil)
        }
    }

    /// Returns once no admitted connection is open; call after ``quiesce()`` or ``closeAll()``.
    func waitUntilDrained() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let drained = state.withLock { state in
                guard !state.channels.isEmpty else { return true }
                state.drainWaiters.append(continuation)
                return false
            }
            if drained { continuation.resume() }
        }
    }

    private func remove(_ id: ObjectIdentifier) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.channels[id] = nil
            guard state.channels.isEmpty else { return [] }
            defer { state.drainWaiters = [] }
            return state.drainWaiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
