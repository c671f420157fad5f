internal import Glibc
internal import Synchronization

/// The first stop signal received while ``install(_:)`` is in force (0: none).
///
/// A global because a C signal handler cannot capture context; an atomic store is async-signal-safe.
private let latchedSignal = Atomic<Int32>(0)

/// Turns SIGTERM/SIGINT into a flag the runner polls, so a stop request ends the run as ordinary code
/// (threads joined, a report printed) instead of killing the process mid-way.
enum SignalLatch {
    /// The handlers that were in force before ``install(_:)``, for ``restore(_:)``.
    struct Previous {
        fileprivate var handlers: [(Int32, __sighandler_t?)]
    }

    /// Clears the latch and installs the latching handler for `signals`.
    static func install(_ signals: [Int32]) -> Previous {
        latchedSignal.store(0, ordering: .relaxed)
        var previous = Previous(handlers: [])
        for number in signals {
            let old = signal(number) { received in
                // Keep the first signal: it is the reason reported.
                _ = latchedSignal.compareExchange(expected: 0, desired: received, ordering: .relaxed)
            }
            previous.handlers.append((number, old))
        }
        return previous
    }

    /// The first signal received since ``install(_:)``, or nil.
    static var received: Int32? {
        let value = latchedSignal.load(ordering: .relaxed)
        return value == 0 ? nil : value
    }

    /// Puts back the handlers replaced by ``install(_:)``.
    static func restore(_ previous: Previous) {
        for (number, handler) in previous.handlers { _ = signal(number, handler) }
    }
}
