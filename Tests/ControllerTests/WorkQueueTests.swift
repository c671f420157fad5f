@testable import Controller
import Testing

/// The work queue's rules, on their own (no API server).
@Suite("work queue")
struct WorkQueueTests {
    @Test("a key is queued once however often it is added")
    func deduplicates() async {
        let queue = WorkQueue()
        for _ in 0..<5 { await queue.add("default/web") }
        await queue.add("default/db")
        #expect(await queue.count == 2)
        #expect(await queue.next() == "default/web")
        #expect(await queue.next() == "default/db")
        #expect(await queue.count == 0)
    }

    @Test("a key being processed is not handed out again until done, then comes back once")
    func oneWorkerPerKey() async {
        let queue = WorkQueue()
        await queue.add("default/web")
        #expect(await queue.next() == "default/web")
        await queue.add("default/web")
        await queue.add("default/web")
        #expect(await queue.count == 0)  // not available while processing
        await queue.add("default/db")
        #expect(await queue.next() == "default/db")
        await queue.done("default/db")
        await queue.done("default/web")
        #expect(await queue.count == 1)  // added meanwhile: back once
        #expect(await queue.next() == "default/web")
        await queue.done("default/web")
        #expect(await queue.count == 0)
    }

    @Test("a waiting worker wakes on add; shut down wakes it with nil")
    func waitingWorkers() async {
        let queue = WorkQueue()
        let first = Task { await queue.next() }
        let second = Task { await queue.next() }
        try? await Task.sleep(for: .milliseconds(20))
        await queue.add("default/web")
        await queue.shutDown()
        let results = [await first.value, await second.value]
        #expect(results.contains("default/web"))
        #expect(results.contains(nil))
        await queue.add("default/db")
        #expect(await queue.next() == nil)
    }

    @Test("cancelling a waiting worker returns nil")
    func cancelledWait() async {
        let queue = WorkQueue()
        let worker = Task { await queue.next() }
        try? await Task.sleep(for: .milliseconds(20))
        worker.cancel()
        #expect(await worker.value == nil)
        await queue.add("default/web")
        #expect(await queue.next() == "default/web")  // the cancelled waiter took nothing
    }

    @Test("backoff doubles per failure, jittered between half and all of it, capped; forget resets")
    func backoff() async {
        let queue = WorkQueue(baseDelay: .milliseconds(100), maxDelay: .seconds(1))
        for failures in 1...8 {
            let ceiling = min(Duration.seconds(1), .milliseconds(100) * (1 << (failures - 1)))
            for _ in 0..<20 {
                let delay = await queue.backoff(failures: failures)
                #expect(delay >= ceiling / 2 && delay <= ceiling, "failure \(failures): \(delay)")
            }
        }
        await queue.addRateLimited("default/web")
        await queue.addRateLimited("default/web")
        #expect(await queue.failureCount("default/web") == 2)
        #expect(await queue.isDelayed("default/web"))
        await queue.forget("default/web")
        #expect(await queue.failureCount("default/web") == 0)
    }

    @Test("a delayed add arrives after its delay; the earliest pending time wins")
    func delayed() async {
        let queue = WorkQueue()
        let start = ContinuousClock.now
        await queue.add("default/web", after: .seconds(30))
        await queue.add("default/web", after: .milliseconds(50))
        await queue.add("default/web", after: .seconds(20))  // later than pending: ignored
        #expect(await queue.count == 0)
        #expect(await queue.next() == "default/web")
        let waited = ContinuousClock.now - start
        #expect(waited >= .milliseconds(50) && waited < .seconds(10))
        #expect(!(await queue.isDelayed("default/web")))
    }
}
