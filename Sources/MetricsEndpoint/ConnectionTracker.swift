public import NIOCore
import Synchronization

/// A NIO server's open connections: caps how many a client may hold, and lets shutdown drain them
/// (or cut them) so that it returns only when no socket of the server is left open. The one
/// connection tracking of both NIO servers: this endpoint and the test API server (KubeAPIFixture).
public final class ConnectionTracker: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
        var draining = false
        var drainWaiters: [CheckedContinuation<Void, Never>] = []
        var admitted = 0
    }

    private let maxConnections: Int
    private let state = Mutex(State())

    /// Creates a tracker.
    /// - Parameter maxConnections: How many connections may be open at once.
    public init(maxConnections: Int = .max) {
        self.maxConnections = maxConnections
    }

    /// Admits a new connection: false, and the caller drops it, when at the cap or shutting down.
    public func admit(_ channel: any Channel) -> Bool {
        let id = ObjectIdentifier(channel)
        let admitted = state.withLock { state in
            guard !state.draining, state.channels.count < maxConnections else { return false }
            state.channels[id] = channel
            state.admitted += 1
            return true
        }
        if admitted {
            channel.closeFuture.whenComplete { _ in self.remove(id) }
        }
        return admitted
    }

    /// Stops admitting and asks every open connection to finish: NIO's pipelining handler closes
    /// an idle one at once, and one mid-request after its response is written.
    public func quiesce() {
        let open = state.withLock { state in
            state.draining = true
            return Array(state.channels.values)
        }
        for channel in open {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
    }

    /// Closes every open connection now, for when shutdown cannot wait (task cancellation).
    public func closeAll() {
        let open = state.withLock { state in
            state.draining = true
            return Array(state.channels.values)
        }
        for channel in open {
            channel.close(promise: nil)
        }
    }

    /// Returns once no admitted connection is open; call after ``quiesce()`` or ``closeAll()``.
    public func waitUntilDrained() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let drained = state.withLock { state in
                guard !state.channels.isEmpty else { return true }
                state.drainWaiters.append(continuation)
                return false
            }
            if drained { continuation.resume() }
        }
    }

    /// Connections admitted so far (tests of client connection reuse).
    public var admittedCount: Int { state.withLock { $0.admitted } }

    /// The error a server's child-channel initializer throws for a connection ``admit(_:)``
    /// refused: NIO then closes it.
    public struct Refused: Error {
        public init() {}
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
