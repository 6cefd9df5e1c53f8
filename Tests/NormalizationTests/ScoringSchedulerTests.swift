import Foundation
import Testing
import Cancellation
import Normalization

/// Records what the fake scorer saw, thread-safely.
final class ScorerLog: @unchecked Sendable {
    private let lock = NSLock()
    private var batches: [[Int]] = []
    func record(_ batch: [Int]) { lock.lock(); batches.append(batch); lock.unlock() }
    var all: [[Int]] { lock.lock(); defer { lock.unlock() }; return batches }
}

/// A gate the fake scorer waits on, to hold batches in flight.
final class Gate: @unchecked Sendable {
    private let condition = NSCondition()
    private var open = false
    func wait() { condition.lock(); while !open { condition.wait() }; condition.unlock() }
    func release() { condition.lock(); open = true; condition.broadcast(); condition.unlock() }
}

@Suite struct ScoringSchedulerTests {
    /// Inputs are token counts; the output of input x is x * 10 + 1.
    static func makeScheduler(_ config: ScoringScheduler<Int, Int>.Configuration, log: ScorerLog,
                              delay: Double = 0, gate: Gate? = nil) -> ScoringScheduler<Int, Int> {
        ScoringScheduler(configuration: config, tokenCount: { $0 }) { batch in
            gate?.wait()
            log.record(batch)
            if delay > 0 { Thread.sleep(forTimeInterval: delay) }
            return batch.map { $0 * 10 + 1 }
        }
    }

    @Test("outputs come back in input order and batches respect the token budget")
    func orderAndBudget() throws {
        let log = ScorerLog()
        let scheduler = Self.makeScheduler(.init(maxBatchTokens: 100), log: log)
        defer { scheduler.shutdown() }
        let inputs = (0..<500).map { 1 + $0 % 60 }
        let (outputs, timings) = try scheduler.scoreAndWait(inputs)
        #expect(outputs == inputs.map { $0 * 10 + 1 })
        #expect(timings.batches > 1)
        for batch in log.all { #expect(batch.reduce(0, +) <= 100 || batch.count == 1) }
        #expect(log.all.flatMap { $0 } == inputs)
    }

    @Test("a pair longer than the budget still runs, alone")
    func oversized() throws {
        let log = ScorerLog()
        let scheduler = Self.makeScheduler(.init(maxBatchTokens: 10), log: log)
        defer { scheduler.shutdown() }
        let (outputs, _) = try scheduler.scoreAndWait([3, 50, 4])
        #expect(outputs == [31, 501, 41])
        #expect(log.all.contains([50]))
    }

    @Test("8 concurrent callers get exactly their own results and share batches")
    func concurrentCallers() async throws {
        let log = ScorerLog()
        let gate = Gate()
        let scheduler = Self.makeScheduler(.init(maxBatchTokens: 4096), log: log, gate: gate)
        defer { scheduler.shutdown() }
        let jobs = (0..<8).map { caller in (0..<40).map { 1 + (caller * 7 + $0) % 50 } }
        let results = ResultsCollector(count: jobs.count)
        for (i, job) in jobs.enumerated() {
            try scheduler.submit(job) { result, _ in results.set(i, result) }
        }
        gate.release()
        let got = results.waitAll()
        for (i, job) in jobs.enumerated() { #expect(got[i] == .success(job.map { $0 * 10 + 1 })) }
        // Submitted while the first batch was held: the rest must share batches.
        #expect(log.all.count < jobs.count)
        #expect(scheduler.statistics.pairs == 320)
    }

    @Test("overload is an immediate error and loses no admitted job")
    func overload() throws {
        let log = ScorerLog()
        let gate = Gate()
        let scheduler = Self.makeScheduler(.init(maxBatchTokens: 8, maxQueuedPairs: 20), log: log, gate: gate)
        defer { scheduler.shutdown() }
        let results = ResultsCollector(count: 4)
        for i in 0..<4 { try scheduler.submit(Array(repeating: i + 1, count: 5)) { r, _ in results.set(i, r) } }
        #expect(throws: SchedulingError.self) { try scheduler.submit([1]) { _, _ in } }
        do {
            try scheduler.submit([1]) { _, _ in }
        } catch {
            guard case .overloaded(_, let limit) = error else { Issue.record("\(error)"); return }
            #expect(limit == 20)
        }
        gate.release()
        let got = results.waitAll()
        for i in 0..<4 { #expect(got[i] == .success(Array(repeating: (i + 1) * 10 + 1, count: 5))) }
        #expect(scheduler.statistics.rejected == 2)
        // Capacity is back once the work is done.
        #expect(try scheduler.scoreAndWait([2]).0 == [21])
    }

    @Test("reservations admit pairs before their inputs exist; submit with one checks only the excess; release gives them back")
    func reservations() throws {
        let log = ScorerLog()
        let scheduler = Self.makeScheduler(.init(maxBatchTokens: 100, maxQueuedPairs: 10), log: log)
        defer { scheduler.shutdown() }
        let eight = try scheduler.reserve(8)
        // 3 more would pass the limit of 10: refused, nothing queued.
        #expect(throws: SchedulingError.overloaded(admittedPairs: 8, limit: 10)) { _ = try scheduler.reserve(3) }
        #expect(throws: SchedulingError.overloaded(admittedPairs: 8, limit: 10)) { try scheduler.scoreAndWait([1, 1, 1]) }
        // The reserved pairs themselves run even though the queue is "full".
        let results = ResultsCollector(count: 1)
        try scheduler.submit([1, 2, 3, 4, 5, 6], reservation: eight) { r, _ in results.set(0, r) }
        #expect(results.waitAll()[0] == .success([11, 21, 31, 41, 51, 61]))
        // Submitting fewer inputs than reserved gave the rest back: all 10 are free.
        let ten = try scheduler.reserve(10)
        scheduler.release(ten)
        #expect(try scheduler.scoreAndWait(Array(repeating: 1, count: 10)).0.count == 10)
        #expect(scheduler.statistics.rejected == 2)
        #expect(log.all.flatMap { $0 }.count == 16, "only admitted pairs were scored")
    }

    @Test("a deadline stops the remaining work")
    func deadline() throws {
        let log = ScorerLog()
        let scheduler = Self.makeScheduler(.init(maxBatchTokens: 10), log: log, delay: 0.02)
        defer { scheduler.shutdown() }
        let inputs = Array(repeating: 10, count: 100)   // 100 batches of 20 ms
        #expect(throws: SchedulingError.deadlineExceeded) {
            try scheduler.scoreAndWait(inputs, deadline: .now + .milliseconds(50))
        }
        let ran = log.all.count
        Thread.sleep(forTimeInterval: 0.1)
        #expect(ran < 20, "ran \(ran) of 100 batches")
        #expect(log.all.count <= ran + 1, "work went on after the deadline")
    }

    @Test("cancellation stops the remaining work")
    func cancellation() throws {
        let log = ScorerLog()
        let scheduler = Self.makeScheduler(.init(maxBatchTokens: 10), log: log, delay: 0.01)
        defer { scheduler.shutdown() }
        let flag = CancellationToken()
        let results = ResultsCollector(count: 1)
        try scheduler.submit(Array(repeating: 10, count: 200), cancellation: flag) { r, _ in results.set(0, r) }
        Thread.sleep(forTimeInterval: 0.05)
        flag.cancel()
        #expect(results.waitAll()[0] == .failure(.cancelled))
        let ran = log.all.count
        Thread.sleep(forTimeInterval: 0.05)
        #expect(ran < 200 && log.all.count <= ran + 1)
    }

    @Test("scorer errors reach the caller; shutdown fails queued work")
    func failuresAndShutdown() throws {
        struct Boom: Error {}
        let failing = ScoringScheduler<Int, Int>(tokenCount: { $0 }) { _ in throw Boom() }
        #expect(throws: SchedulingError.self) { try failing.scoreAndWait([1, 2]) }
        failing.shutdown()
        #expect(throws: SchedulingError.shutDown) { try failing.scoreAndWait([1]) }
    }
}

/// Collects completion results by index and waits for all of them.
final class ResultsCollector: @unchecked Sendable {
    private let condition = NSCondition()
    private var results: [Result<[Int], SchedulingError>?]
    init(count: Int) { results = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<[Int], SchedulingError>) {
        condition.lock(); results[i] = r; condition.broadcast(); condition.unlock()
    }
    func waitAll() -> [Result<[Int], SchedulingError>] {
        condition.lock(); defer { condition.unlock() }
        while results.contains(where: { $0 == nil }) {
            if !condition.wait(until: Date().addingTimeInterval(30)) { preconditionFailure("timed out waiting for results") }
        }
        return results.map { $0! }
    }
}
