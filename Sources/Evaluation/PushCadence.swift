/// When an MBCAS policy on pushes runs its rounds, as the node agent does: a start-up wake (the
/// first window's baseline), then a round on each push unless one ran within the debounce interval,
/// else when it ends (requests in between coalesce), and a slow pass every so often regardless.
struct PushCadence: Sendable {
    private let debounce: Int
    private let slowPass: Int
    private var started = false
    private var lastRoundAt: Int?
    private var pendingRoundAt: Int?
    private var nextSlowPass: Int

    init(settings: MBCASSettings) {
        debounce = settings.debounce
        slowPass = settings.slowPass
        nextSlowPass = settings.slowPass
    }

    /// Start-up, then the next debounced round or slow pass.
    var nextWake: Int? {
        guard started else { return 0 }
        guard let pendingRoundAt else { return nextSlowPass }
        return Swift.min(pendingRoundAt, nextSlowPass)
    }

    /// What a wake at `now` is for.
    enum Wake { case start, round, nothing }

    /// Takes the wake at `now`: the start-up, a due round (debounced or slow pass), or nothing.
    mutating func wake(at now: Int) -> Wake {
        guard started else {
            started = true
            lastRoundAt = now
            return .start
        }
        var due = false
        if let pending = pendingRoundAt, pending <= now {
            pendingRoundAt = nil
            due = true
        }
        if nextSlowPass <= now {
            while nextSlowPass <= now { nextSlowPass += slowPass }
            due = true
        }
        if due { lastRoundAt = now }
        return due ? .round : .nothing
    }

    /// A push at `now` asks for a round: true when it runs now (the caller runs it), false when it
    /// waits for the debounce interval to end (or one is already pending).
    mutating func push(at now: Int) -> Bool {
        guard pendingRoundAt == nil else { return false }
        if let lastRoundAt, now - lastRoundAt < debounce {
            pendingRoundAt = lastRoundAt + debounce
            return false
        }
        lastRoundAt = now
        return true
    }
}
