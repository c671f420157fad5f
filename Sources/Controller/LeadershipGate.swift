import Synchronization

/// Whether this replica may write now. Every write of the controller (pods/resize, status,
/// Events) asks first.
///
/// Leader election opens it until a deadline (the last successful renew plus the renew
/// deadline) and pushes the deadline on with every renew; when renewing fails the deadline
/// simply passes, and writes stop at that moment even if the task that would notice is slow.
/// The deadline comes before the Lease can expire for the other replicas, so two replicas are
/// never both allowed to write.
public final class LeadershipGate: Sendable {
    private enum State: Sendable {
        case always
        case until(ContinuousClock.Instant)
        case closed
    }

    private let state: Mutex<State>

    private init(_ state: State) {
        self.state = Mutex(state)
    }

    /// A gate that never closes: one replica without leader election (tests, a single
    /// controller).
    public static func alwaysOpen() -> LeadershipGate { LeadershipGate(.always) }

    /// A closed gate, opened by ``open(until:)``.
    public static func closed() -> LeadershipGate { LeadershipGate(.closed) }

    /// Allows writes until `deadline`.
    public func open(until deadline: ContinuousClock.Instant) {
        state.withLock { state in
            if case .always = state { return }
            state = .until(deadline)
        }
    }

    /// Forbids writes from now on.
    public func close() {
        state.withLock { state in
            if case .always = state { return }
            state = .closed
        }
    }

    /// Whether a write may start now.
    public var isOpen: Bool {
        state.withLock { state in
            switch state {
            case .always: true
            case .until(let deadline): ContinuousClock.now < deadline
            case .closed: false
            }
        }
    }

    /// When writes stop (nil: never, or already closed).
    public var deadline: ContinuousClock.Instant? {
        state.withLock { state in
            if case .until(let deadline) = state { return deadline }
            return nil
        }
    }

    /// Throws ``NotLeading`` when a write may not start.
    func check() throws(NotLeading) {
        guard isOpen else { throw NotLeading() }
    }
}

/// A write was not made because this replica no longer holds the Lease.
struct NotLeading: Error, Sendable, CustomStringConvertible {
    var description: String { "not the leader: the Lease was lost or not renewed in time" }
}
