#if canImport(Glibc)
import Glibc
#endif
import CKernelProbe
import MonotonicTime
import Synchronization
import SystemPackage

/// Reads pushed stall events on one dedicated thread and calls the handler
/// inline for each, with no hop, lock or allocation per event: the agent's
/// fast guardrail runs right here.
///
/// Throttle starts wake the thread at once (the probe forces a wake-up);
/// other events are batched in the kernel and read at the next wake-up or
/// after `pollTimeoutMilliseconds`, whichever comes first.
public final class RingBufferConsumer: @unchecked Sendable {
    // @unchecked: `ring` is used only by the consumer thread once started
    // (or by drain() before start); stop() joins the thread before freeing it.
    private let ring: OpaquePointer
    private let box: Unmanaged<HandlerBox>
    private let pollTimeoutMilliseconds: Int32
    private let state = Mutex<State>(.idle)
    private let stopRequested = Atomic<Bool>(false)

    private enum State { case idle, running(pthread_t), stopped }

    /// Whether the consumer thread is running (for liveness probes).
    public var isRunning: Bool {
        state.withLock { s in if case .running = s { true } else { false } }
    }

    /// Records that could not be decoded (too short, unknown kind).
    public var malformedRecords: UInt64 { box.takeUnretainedValue().malformed.load(ordering: .relaxed) }

    /// What the C callback gets as its context pointer.
    final class HandlerBox: Sendable {
        let handler: @Sendable (StallEvent) -> Void
        let malformed = Atomic<UInt64>(0)
        init(_ handler: @escaping @Sendable (StallEvent) -> Void) { self.handler = handler }
    }

    /// Creates a consumer of the ring buffer map `mapFD`. Nothing is read until `start()` or `drain()`.
    init(mapFD: Int32, pollTimeoutMilliseconds: Int32, handler: @escaping @Sendable (StallEvent) -> Void) throws(ProbeError) {
        self.pollTimeoutMilliseconds = pollTimeoutMilliseconds
        let box = Unmanaged.passRetained(HandlerBox(handler))
        let sample: ring_buffer_sample_fn = { context, data, size in
            let receivedAt = monotonicNanos()
            guard let context, let data else { return 0 }
            let box = Unmanaged<HandlerBox>.fromOpaque(context).takeUnretainedValue()
            if let event = StallEvent(record: data, size: size, receivedAt: receivedAt) {
                box.handler(event)
            } else {
                box.malformed.add(1, ordering: .relaxed)
            }
            return 0
        }
        guard let ring = ring_buffer__new(mapFD, sample, box.toOpaque(), nil) else {
            box.release()
            throw ProbeError.call(.ringBufferFailed, "cannot set up the ring-buffer consumer", Errno(rawValue: errno))
        }
        self.ring = ring
        self.box = box
    }

    deinit {
        stop()
        ring_buffer__free(ring)
        box.release()
    }

    /// Reads whatever is in the ring buffer now, on the calling thread.
    /// Only before `start()` or after `stop()`. Returns the records read.
    @discardableResult
    public func drain() -> Int {
        Int(max(0, ring_buffer__consume(ring)))
    }

    /// Starts the consumer thread.
    ///
    /// With `realtimePriority`, the thread runs under SCHED_FIFO at that
    /// priority (1-99), so a wake-up preempts ordinary work at once instead of
    /// waiting for the running task's slice or the next tick (up to 4 ms at
    /// HZ=250). That needs CAP_SYS_NICE; without it the thread runs as an
    /// ordinary one. Returns whether the real-time policy was applied.
    @discardableResult
    public func start(realtimePriority: Int32? = nil) throws(ProbeError) -> Bool {
        try state.withLock { (s: inout State) throws(ProbeError) -> Bool in
            guard case .idle = s else { return false }
            if let priority = realtimePriority, let thread = try? spawn(realtimePriority: priority) {
                s = .running(thread)
                return true
            }
            s = .running(try spawn(realtimePriority: nil))
            return false
        }
    }

    private func spawn(realtimePriority: Int32?) throws(ProbeError) -> pthread_t {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        if let priority = realtimePriority {
            var parameters = sched_param(sched_priority: priority)
            pthread_attr_setinheritsched(&attributes, Int32(PTHREAD_EXPLICIT_SCHED))
            pthread_attr_setschedpolicy(&attributes, SCHED_FIFO)
            pthread_attr_setschedparam(&attributes, &parameters)
        }
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let rc = pthread_create(&thread, &attributes, { arg in
            let consumer = Unmanaged<RingBufferConsumer>.fromOpaque(arg!).takeRetainedValue()
            consumer.run()
            return nil
        }, context)
        guard rc == 0 else {
            Unmanaged<RingBufferConsumer>.fromOpaque(context).release()
            throw ProbeError.call(.ringBufferFailed, "cannot start the consumer thread", Errno(rawValue: rc))
        }
        return thread
    }

    /// Asks the thread to finish, waits for it, then reads what is left.
    public func stop() {
        let thread: pthread_t? = state.withLock { s in
            guard case .running(let t) = s else { return nil }
            s = .stopped
            return t
        }
        guard let thread else { return }
        stopRequested.store(true, ordering: .releasing)
        pthread_join(thread, nil)
        drain()
    }

    private func run() {
        setThreadName("mbcas-ringbuf")
        while !stopRequested.load(ordering: .acquiring) {
            let n = ring_buffer__poll(ring, pollTimeoutMilliseconds)
            if n == 0 {
                // Timed out: batched records never wake us, so read them now.
                ring_buffer__consume(ring)
            } else if n < 0 && n != -EINTR {
                // Only a broken epoll set ends up here; back off rather than spin.
                usleep(10_000)
            }
        }
    }
}

private func setThreadName(_ name: String) {
    _ = mbcas_set_thread_name(name)
}
