import Cancellation
import Foundation

/// Why scheduled scoring did not produce results.
public enum SchedulingError: Error, Equatable, CustomStringConvertible {
    /// The admission queue is full: try again later (RESOURCE_EXHAUSTED).
    case overloaded(admittedPairs: Int, limit: Int)
    /// The deadline passed before every pair was scored.
    case deadlineExceeded
    /// The caller cancelled.
    case cancelled
    /// The scorer failed.
    case scoringFailed(String)
    /// The scheduler was shut down before the work ran.
    case shutDown

    public var description: String {
        switch self {
        case .overloaded(let admitted, let limit):
            "server overloaded: \(admitted) pairs already waiting or being scored (limit \(limit)); retry later"
        case .deadlineExceeded: "deadline exceeded before scoring finished"
        case .cancelled: "cancelled"
        case .scoringFailed(let message): "scoring failed: \(message)"
        case .shutDown: "scoring scheduler is shut down"
        }
    }
}

/// Limits of a `ScoringScheduler`.
public struct ScoringSchedulerConfiguration: Sendable {
    /// Most tokens in one batch (a single pair longer than this still
    /// runs, alone).
    public var maxBatchTokens: Int
    /// Most pairs waiting or running across all callers.
    public var maxQueuedPairs: Int
    /// Scoring threads.
    public var workers: Int
    /// Called on the scoring thread after every batch with its pairs and
    /// tokens (the server's metrics); keep it short. nil: nobody listens.
    public var batchObserver: (@Sendable (_ pairs: Int, _ tokens: Int) -> Void)?

    public init(maxBatchTokens: Int = NormalizationDefaults.maxBatchTokens, maxQueuedPairs: Int = 100_000, workers: Int = 1) {
        precondition(maxBatchTokens > 0 && maxQueuedPairs > 0 && workers > 0,
                     "ScoringSchedulerConfiguration values must be positive")
        self.maxBatchTokens = maxBatchTokens
        self.maxQueuedPairs = maxQueuedPairs
        self.workers = workers
    }
}

/// Timings of one scheduled job.
public struct SchedulingTimings: Sendable, Equatable {
    /// From submission until the job's first pair entered a batch.
    public var queueWait: Duration = .zero
    /// Wall time of the batches that held the job's pairs (batches are
    /// shared, so concurrent jobs' inference times overlap).
    public var inference: Duration = .zero
    public var batches: Int = 0
}

/// Batches pairs from every caller into shared GEMM-sized batches, up to a
/// token budget, and runs them on a small fixed pool of scoring threads
/// (one by default: OpenBLAS parallelises each GEMM itself).
///
/// Admission is bounded: `submit` fails at once with `.overloaded` when the
/// queued pairs would pass `maxQueuedPairs`, never growing memory without
/// bound. Deadlines and cancellation are checked whenever a batch is formed;
/// a job that is abandoned stops being scheduled and its remaining pairs are
/// dropped. Completion handlers run on a scoring thread: keep them short.
public final class ScoringScheduler<Input: Sendable, Output: Sendable>: @unchecked Sendable {
    public typealias Completion = @Sendable (Result<[Output], SchedulingError>, SchedulingTimings) -> Void

    public typealias Configuration = ScoringSchedulerConfiguration

    /// Observed totals, for Info and benchmarks.
    public struct Statistics: Sendable, Equatable {
        public var batches = 0
        public var pairs = 0
        public var tokens = 0
        public var rejected = 0
        /// Pairs admitted now: waiting, or in a batch being scored.
        public var queuedPairs = 0
    }

    private final class Job {
        let inputs: [Input]
        var outputs: [Output?]
        var nextIndex = 0
        var remaining: Int
        let deadline: ContinuousClock.Instant?
        let cancellation: CancellationToken?
        let completion: Completion
        let submitted = ContinuousClock.now
        var timings = SchedulingTimings()
        var started = false
        var finished = false

        init(inputs: [Input], deadline: ContinuousClock.Instant?, cancellation: CancellationToken?,
             completion: @escaping Completion) {
            self.inputs = inputs
            self.outputs = Array(repeating: nil, count: inputs.count)
            self.remaining = inputs.count
            self.deadline = deadline
            self.cancellation = cancellation
            self.completion = completion
        }
    }

    public let configuration: Configuration
    private let tokenCount: @Sendable (Input) -> Int
    private let score: @Sendable ([Input]) throws -> [Output]

    // Everything below is guarded by `condition`.
    private let condition = NSCondition()
    private var queue: [Job] = []
    /// Pairs of every job not yet finished, waiting or in a running batch.
    private var admittedPairs = 0
    private var running = true
    private var stats = Statistics()
    private var threads: [Thread] = []

    /// `score` maps a batch to one output per input, in order; it is called
    /// on a scoring thread, one batch at a time per thread.
    public init(configuration: Configuration = .init(),
                tokenCount: @escaping @Sendable (Input) -> Int,
                score: @escaping @Sendable ([Input]) throws -> [Output]) {
        self.configuration = configuration
        self.tokenCount = tokenCount
        self.score = score
        for i in 0..<configuration.workers {
            let thread = Thread { [unowned self] in self.workerLoop() }
            thread.name = "adrnorm-scoring-\(i)"
            thread.stackSize = 8 << 20
            threads.append(thread)
            thread.start()
        }
    }

    deinit {
        // Workers hold `unowned self`; `shutdown()` must have been called.
        precondition(!running || threads.isEmpty, "ScoringScheduler deallocated without shutdown(); this is a bug")
    }

    public var statistics: Statistics {
        condition.lock()
        defer { condition.unlock() }
        var current = stats
        current.queuedPairs = admittedPairs
        return current
    }

    /// Pairs admitted ahead of their inputs (see `reserve`).
    public struct Reservation: Sendable {
        public let pairs: Int
    }

    /// Admits up to `pairs` pairs now, before the caller spends any work on
    /// them (retrieval, tokenization), or throws `.overloaded` at once. Pass
    /// the reservation to `submit`, or give it back with `release`.
    public func reserve(_ pairs: Int) throws(SchedulingError) -> Reservation {
        condition.lock()
        defer { condition.unlock() }
        guard running else { throw .shutDown }
        guard admittedPairs + pairs <= configuration.maxQueuedPairs else {
            stats.rejected += 1
            throw .overloaded(admittedPairs: admittedPairs, limit: configuration.maxQueuedPairs)
        }
        admittedPairs += pairs
        return Reservation(pairs: pairs)
    }

    /// Gives back a reservation that will not be submitted.
    public func release(_ reservation: Reservation) {
        condition.lock()
        if running { admittedPairs -= reservation.pairs }   // shutdown() already zeroed it
        condition.unlock()
    }

    /// Queues `inputs` for scoring. Returns at once; `completion` receives
    /// the outputs in input order, or the reason there are none. Throws
    /// `.overloaded` (without queueing anything) when admission is full.
    /// With a `reservation`, its pairs are already admitted (and are given
    /// back whatever happens); only inputs beyond it are checked.
    public func submit(_ inputs: [Input], reservation: Reservation? = nil, deadline: ContinuousClock.Instant? = nil,
                       cancellation: CancellationToken? = nil,
                       completion: @escaping Completion) throws(SchedulingError) {
        let reserved = reservation?.pairs ?? 0
        if inputs.isEmpty {
            if let reservation { release(reservation) }
            completion(.success([]), SchedulingTimings())
            return
        }
        condition.lock()
        guard running else {
            condition.unlock()
            throw .shutDown
        }
        let extra = inputs.count - reserved
        guard extra <= 0 || admittedPairs + extra <= configuration.maxQueuedPairs else {
            stats.rejected += 1
            admittedPairs -= reserved
            let admitted = admittedPairs
            condition.unlock()
            throw .overloaded(admittedPairs: admitted, limit: configuration.maxQueuedPairs)
        }
        queue.append(Job(inputs: inputs, deadline: deadline, cancellation: cancellation, completion: completion))
        admittedPairs += extra
        condition.signal()
        condition.unlock()
    }

    /// Blocking form of `submit`, for callers on their own threads (the
    /// command line). Never call it from a scoring thread.
    public func scoreAndWait(_ inputs: [Input], deadline: ContinuousClock.Instant? = nil,
                             cancellation: CancellationToken? = nil) throws(SchedulingError) -> ([Output], SchedulingTimings) {
        let box = Box<Result<([Output], SchedulingTimings), SchedulingError>>()
        try submit(inputs, deadline: deadline, cancellation: cancellation) { result, timings in
            box.set(result.map { ($0, timings) })
        }
        return try box.wait().get()
    }

    /// Stops the workers after the batches in progress; queued jobs fail
    /// with `.shutDown`. Blocks until the workers have exited.
    public func shutdown() {
        condition.lock()
        guard running else { condition.unlock(); return }
        running = false
        let abandoned = queue
        queue.removeAll()
        admittedPairs = 0
        condition.broadcast()
        condition.unlock()
        for job in abandoned { job.completion(.failure(.shutDown), job.timings) }
        while threads.contains(where: { !$0.isFinished }) { Thread.sleep(forTimeInterval: 0.001) }
    }

    // MARK: - Workers

    private struct Slice {
        let job: Job
        let range: Range<Int>
    }

    private func workerLoop() {
        while true {
            var failed: [(Job, SchedulingError)] = []
            condition.lock()
            while running && queue.isEmpty { condition.wait() }
            if !running {
                condition.unlock()
                return
            }
            let slices = formBatch(failed: &failed)
            condition.unlock()
            for (job, error) in failed { job.completion(.failure(error), job.timings) }
            if !slices.isEmpty { run(slices) }
        }
    }

    /// Takes pairs from the queue front, job after job, up to the token
    /// budget. Called with the lock held. Abandoned jobs leave the queue
    /// here and are returned in `failed`.
    private func formBatch(failed: inout [(Job, SchedulingError)]) -> [Slice] {
        var slices: [Slice] = []
        var tokens = 0
        let now = ContinuousClock.now
        while let job = queue.first {
            if let error = abandonment(of: job, now: now) {
                queue.removeFirst()
                admittedPairs -= job.inputs.count
                job.finished = true
                failed.append((job, error))
                continue
            }
            let start = job.nextIndex
            var end = start
            while end < job.inputs.count {
                let t = tokenCount(job.inputs[end])
                if tokens + t > configuration.maxBatchTokens && tokens > 0 { break }
                tokens += t
                end += 1
            }
            if end > start {
                if !job.started {
                    job.started = true
                    job.timings.queueWait = now - job.submitted
                }
                job.nextIndex = end
                slices.append(Slice(job: job, range: start..<end))
            }
            if job.nextIndex == job.inputs.count {
                queue.removeFirst()
            } else {
                break   // the budget is spent
            }
            if tokens >= configuration.maxBatchTokens { break }
        }
        return slices
    }

    private func abandonment(of job: Job, now: ContinuousClock.Instant) -> SchedulingError? {
        if job.cancellation?.isCancelled == true { return .cancelled }
        if let deadline = job.deadline, now >= deadline { return .deadlineExceeded }
        return nil
    }

    private func run(_ slices: [Slice]) {
        var inputs: [Input] = []
        for slice in slices { inputs.append(contentsOf: slice.job.inputs[slice.range]) }
        let started = ContinuousClock.now
        let result: Result<[Output], SchedulingError>
        do {
            let outputs = try score(inputs)
            precondition(outputs.count == inputs.count,
                         "scorer returned \(outputs.count) outputs for \(inputs.count) inputs; this is a bug")
            result = .success(outputs)
        } catch {
            result = .failure(.scoringFailed("\(error)"))
        }
        let elapsed = ContinuousClock.now - started
        let tokens = inputs.reduce(0) { $0 + tokenCount($1) }

        var completions: [(Job, Result<[Output], SchedulingError>)] = []
        condition.lock()
        stats.batches += 1
        stats.pairs += inputs.count
        stats.tokens += tokens
        var offset = 0
        for slice in slices {
            let job = slice.job
            defer { offset += slice.range.count }
            job.timings.inference += elapsed
            job.timings.batches += 1
            guard !job.finished else { continue }
            switch result {
            case .success(let outputs):
                for (i, k) in slice.range.enumerated() { job.outputs[k] = outputs[offset + i] }
                job.remaining -= slice.range.count
                if job.remaining == 0 {
                    job.finished = true
                    admittedPairs -= job.inputs.count
                    completions.append((job, .success(job.outputs.map { $0! })))
                }
            case .failure(let error):
                job.finished = true
                admittedPairs -= job.inputs.count
                if let index = queue.firstIndex(where: { $0 === job }) { queue.remove(at: index) }
                completions.append((job, .failure(error)))
            }
        }
        condition.unlock()
        configuration.batchObserver?(inputs.count, tokens)
        for (job, result) in completions { job.completion(result, job.timings) }
    }
}
