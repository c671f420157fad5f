/// The controller's queue of PodAllocation keys (`namespace/name`), with client-go's workqueue
/// rules, because reconcile is level-triggered: what matters is *that* a key needs a look, not
/// how many events said so.
///
/// - A key waiting in the queue is there once, however many times it is added.
/// - A key being processed is never handed to a second worker; added meanwhile, it is queued
///   again when the first worker calls ``done(_:)``, so the newest state is always looked at.
/// - ``addRateLimited(_:)`` re-adds a failing key after a per-key exponential backoff with
///   jitter (retries of many keys spread out instead of hammering the API together);
///   ``forget(_:)`` resets that key's backoff after a success.
/// - ``add(_:after:)`` re-adds a key later (a cooldown); the earliest pending time wins.
/// - ``shutDown()`` wakes every waiting worker with `nil` and drops the delayed adds.
public actor WorkQueue {
    private var queue: [String] = []
    private var head = 0
    /// Keys that need processing: queued, or added again while processing.
    private var dirty: Set<String> = []
    private var processing: Set<String> = []
    private var failures: [String: Int] = [:]
    private var delayed: [String: (deadline: ContinuousClock.Instant, task: Task<Void, Never>)] = [:]
    private var waiters: [(id: Int, continuation: CheckedContinuation<String?, Never>)] = []
    private var nextWaiterID = 0
    private var shuttingDown = false
    private let baseDelay: Duration
    private let maxDelay: Duration

    /// Creates a queue whose failing keys wait `baseDelay · 2^(failures−1)` (at most
    /// `maxDelay`), jittered between half and all of it.
    public init(baseDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(60)) {
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// Marks `key` as needing a reconcile.
    public func add(_ key: String) {
        guard !shuttingDown, !dirty.contains(key) else { return }
        dirty.insert(key)
        guard !processing.contains(key) else { return }  // queued again by done(_:)
        enqueue(key)
    }

    /// Adds `key` once `delay` has passed (at once if it is not positive). A key already due
    /// sooner keeps its earlier time.
    public func add(_ key: String, after delay: Duration) {
        guard !shuttingDown else { return }
        guard delay > .zero else { return add(key) }
        let deadline = ContinuousClock.now + delay
        if let pending = delayed[key] {
            if pending.deadline <= deadline { return }
            pending.task.cancel()
        }
        let task = Task { [weak self] in
            do { try await Task.sleep(until: deadline, clock: .continuous) } catch { return }
            await self?.fire(key, deadline: deadline)
        }
        delayed[key] = (deadline, task)
    }

    /// Adds `key` after its backoff: the more consecutive failures, the longer.
    public func addRateLimited(_ key: String) {
        let count = (failures[key] ?? 0) + 1
        failures[key] = count
        add(key, after: backoff(failures: count))
    }

    /// Resets `key`'s backoff (its reconcile succeeded).
    public func forget(_ key: String) {
        failures[key] = nil
    }

    /// How many consecutive failures `key` has had.
    public func failureCount(_ key: String) -> Int { failures[key] ?? 0 }

    /// The next key to process, marked as processing; `nil` once shut down or when the calling
    /// task is cancelled. Every key returned must be given back with ``done(_:)``.
    public func next() async -> String? {
        if let key = dequeue() { return key }
        if shuttingDown || Task.isCancelled { return nil }
        nextWaiterID += 1
        let id = nextWaiterID
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                if Task.isCancelled {
                    continuation.resume(returning: nil)
                } else {
                    waiters.append((id, continuation))
                }
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
    }

    /// Ends the processing of `key`; if it was added meanwhile, it is queued again.
    public func done(_ key: String) {
        processing.remove(key)
        if dirty.contains(key), !shuttingDown { enqueue(key) }
    }

    /// Stops handing out keys: waiting workers get `nil`, delayed adds are dropped.
    public func shutDown() {
        shuttingDown = true
        for (_, entry) in delayed { entry.task.cancel() }
        delayed.removeAll()
        let woken = waiters
        waiters.removeAll()
        for waiter in woken { waiter.continuation.resume(returning: nil) }
    }

    /// How many keys wait (not counting those being processed or delayed).
    public var count: Int { queue.count - head }

    /// Whether `key` is due later (a delayed or rate-limited add).
    public func isDelayed(_ key: String) -> Bool { delayed[key] != nil }

    // MARK: - Internals

    private func enqueue(_ key: String) {
        if let index = waiters.indices.first {
            let waiter = waiters.remove(at: index)
            dirty.remove(key)
            processing.insert(key)
            waiter.continuation.resume(returning: key)
        } else {
            queue.append(key)
        }
    }

    private func dequeue() -> String? {
        guard head < queue.count else { return nil }
        let key = queue[head]
        head += 1
        if head > 64, head * 2 > queue.count {  // compact now and then
            queue.removeFirst(head)
            head = 0
        }
        dirty.remove(key)
        processing.insert(key)
        return key
    }

    private func fire(_ key: String, deadline: ContinuousClock.Instant) {
        guard let pending = delayed[key], pending.deadline == deadline else { return }
        delayed[key] = nil
        add(key)
    }

    private func cancelWaiter(_ id: Int) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: index).continuation.resume(returning: nil)
    }

    /// Exponential, capped, with "equal jitter": half fixed, half random, so a retry never comes
    /// much sooner than the backoff says, yet retries of many keys do not line up.
    func backoff(failures: Int) -> Duration {
        let exponent = min(max(failures - 1, 0), 30)
        let ceiling = min(maxDelay, baseDelay * (1 << exponent))
        let nanos = ceiling.components.seconds * 1_000_000_000 + ceiling.components.attoseconds / 1_000_000_000
        let half = nanos / 2
        return .nanoseconds(half + Int64.random(in: 0...max(nanos - half, 0)))
    }
}
