import Transport
import Wire
import Foundation

/// A fixed set of threads that run service calls off the I/O queues, with a
/// bounded queue in front: `submit` refuses work when the queue is full, and
/// the caller answers RESOURCE_EXHAUSTED instead of queueing without end.
///
/// @unchecked Sendable: `jobs`, `stopped` are guarded by `condition`.
final class WorkerPool: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [() -> Void] = []
    private var head = 0
    private var stopped = false
    private var running = 0
    let capacity: Int

    init(threads: Int, capacity: Int, name: String) {
        self.capacity = capacity
        for i in 0..<max(1, threads) {
            let thread = Thread { [self] in self.work() }
            thread.name = "\(name)-\(i)"
            running += 1
            thread.start()
        }
    }

    /// Queues `job`; false when the queue is full or the pool stopped.
    func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        condition.lock(); defer { condition.unlock() }
        guard !stopped, jobs.count - head < capacity else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    /// Lets queued jobs finish, then ends the threads. Does not wait.
    func stop() {
        condition.lock(); defer { condition.unlock() }
        stopped = true
        condition.broadcast()
    }

    private func work() {
        while true {
            condition.lock()
            while head == jobs.count && !stopped { condition.wait() }
            if head == jobs.count {
                running -= 1
                condition.unlock()
                return
            }
            let job = jobs[head]
            head += 1
            if head > 1024 && head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            condition.unlock()
            job()
        }
    }
}
