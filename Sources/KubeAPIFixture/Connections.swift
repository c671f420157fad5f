internal import NIOCore
import Synchronization

/// The server's open connections, so that shutdown can cut them all (watch streams included) the
/// way a killed API server process does, instead of leaving them to their clients' timeouts.
final class Connections: Sendable {
    private struct State {
        var open: [ObjectIdentifier: any Channel] = [:]
        var closed = false
        var accepted = 0
    }

    /// Connections accepted so far (tests of client connection reuse).
    var acceptedCount: Int { state.withLock { $0.accepted } }

    private let state = Mutex(State())

    /// Tracks a newly accepted connection until it closes; one accepted after ``closeAll()`` is
    /// closed at once.
    func add(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        let accepted = state.withLock { state in
            guard !state.closed else { return false }
            state.accepted += 1
            state.open[id] = channel
            return true
        }
        guard accepted else {
            channel.close(promise: nil)
            return
        }
        channel.closeFuture.whenComplete { [self] _ in
            _ = state.withLock { $0.open.removeValue(forKey: id) }
        }
    }

    /// Closes every open connection and refuses later ones.
    func closeAll() async {
        let channels = state.withLock { state in
            state.closed = true
            return Array(state.open.values)
        }
        for channel in channels {
            try? await channel.close()
        }
    }
}
