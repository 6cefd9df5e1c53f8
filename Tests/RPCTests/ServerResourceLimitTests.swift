import Foundation
import Testing
import RPCServer
import Transport
import Wire

private let second: UInt64 = 1_000_000_000

/// An encoded NormalizeResponse, `padding` bytes longer by a long PT name.
private func itemResponse(_ id: String, padding: Int = 0) -> [UInt8] {
    AdrnormV1.NormalizeResponse(id: id, matches: padding == 0 ? [] : [
        .init(term: .init(ptCode: "p", ptName: String(repeating: "x", count: padding)), probability: 0.5),
    ]).serializedBytes()
}

extension ServerHarness {
    /// An event with the connection's output as the driver would report it.
    mutating func handle(_ event: ServerConnectionState.Event, pending: Int, total: Int? = nil,
                         lastProgress: UInt64? = nil) -> [ServerAction] {
        machine.handle(event, output: .init(now: now, pendingBytes: pending, totalPendingBytes: total ?? pending,
                                            lastProgress: lastProgress ?? now))
    }
}

/// What one peer may make the server hold: metadata, request bytes, unsent
/// output, streams that make no progress, Cancel floods (docs/PROTOCOL.md
/// §Limits). No sockets, no clocks.
@Suite("Server resource limits per connection (state machine)")
struct ServerResourceLimitTests {
    @Test("metadata over 64 entries or 16 KiB is RESOURCE_EXHAUSTED before the call starts; at the limits it is served")
    func metadataCaps() {
        var h = ServerHarness()
        func call(_ id: UInt32, _ metadata: [String: String]) -> [ServerAction] {
            h.receive(.call(.init(method: NormalizerMethod.health.rawValue, metadata: metadata, payload: [], halfClose: true)), on: id)
        }
        let many = Dictionary(uniqueKeysWithValues: (0..<65).map { ("k\($0)", "v") })
        let refused = call(1, many)
        #expect(refused.status?.code == .resourceExhausted && refused.status?.message.contains("65 metadata entries") == true)
        #expect(refused.unaryStarts.isEmpty)
        #expect(call(3, Dictionary(uniqueKeysWithValues: (0..<64).map { ("k\($0)", "v") })).unaryStarts.count == 1)

        let big = call(5, ["k": String(repeating: "x", count: 16 << 10)])
        #expect(big.status?.code == .resourceExhausted && big.status?.message.contains("limit 16384") == true)
        #expect(call(7, ["k": String(repeating: "x", count: (16 << 10) - 1)]).unaryStarts.count == 1)
    }

    @Test("request bytes held by calls that never half-close are bounded per connection; finishing a call frees its share")
    func requestBytesPerConnection() {
        var h = ServerHarness(.init(maxRequestBytes: 1000))
        #expect(h.call(1, .normalize, payload: Array(repeating: 1, count: 400), halfClose: false).isEmpty)
        #expect(h.call(3, .normalize, payload: Array(repeating: 1, count: 400), halfClose: false).isEmpty)
        #expect(h.machine.heldRequestBytes == 800)
        let third = h.call(5, .normalize, payload: Array(repeating: 1, count: 400), halfClose: false)
        #expect(third.status?.id == 5 && third.status?.code == .resourceExhausted)
        #expect(third.status?.message.contains("for this connection (800 held, limit 1000)") == true)
        #expect(h.machine.heldRequestBytes == 800)

        // Stream 1 is served and answered: its 400 bytes come back.
        let started = h.receive(.halfClose, on: 1)
        #expect(started.unaryStarts.count == 1 && h.machine.heldRequestBytes == 800, "held while it is served")
        _ = h.handle(.unaryCompleted(StreamID(1), .success([1])))
        #expect(h.machine.heldRequestBytes == 400)
        #expect(h.call(7, .normalize, payload: Array(repeating: 1, count: 400), halfClose: false).isEmpty)
        // A Cancel and a closed channel give everything back.
        _ = h.receive(.cancel(reason: ""), on: 3)
        #expect(h.machine.heldRequestBytes == 400)
        _ = h.handle(.channelClosed)
        #expect(h.machine.heldRequestBytes == 0)
    }

    @Test("stream items hold their request bytes until they are answered")
    func itemRequestBytes() {
        var h = ServerHarness(.init(maxRequestBytes: 1000))
        let first = h.call(1, .normalizeStream, payload: Array(repeating: 1, count: 600), halfClose: false)
        #expect(first.itemStarts.count == 1 && h.machine.heldRequestBytes == 600)
        let over = h.receive(.message(payload: Array(repeating: 1, count: 600)), on: 1)
        #expect(over.status?.code == .resourceExhausted, "the second item would pass the connection's limit")
        #expect(h.machine.heldRequestBytes == 0, "the ended stream gave back the item still being served")

        var g = ServerHarness(.init(maxRequestBytes: 1000))
        _ = g.call(1, .normalizeStream, payload: Array(repeating: 1, count: 600), halfClose: false)
        _ = g.handle(.itemCompleted(StreamID(1), sequence: 0, requestID: "a", response: itemResponse("a")))
        #expect(g.machine.heldRequestBytes == 0)
        #expect(g.receive(.message(payload: Array(repeating: 1, count: 600)), on: 1).itemStarts.count == 1)
    }

    @Test("the server-wide request budget is shared by connections and given back when their calls end")
    func requestBudgetShared() {
        let budget = ByteBudget(limit: 1000)
        var a = ServerHarness(.init(maxRequestBytes: 800, requestBudget: budget))
        var b = ServerHarness(.init(maxRequestBytes: 800, requestBudget: budget))
        #expect(a.call(1, .normalize, payload: Array(repeating: 1, count: 700), halfClose: false).isEmpty)
        let refused = b.call(1, .normalize, payload: Array(repeating: 1, count: 700), halfClose: false)
        #expect(refused.status?.code == .resourceExhausted && refused.status?.message.contains("for all clients") == true)
        #expect(budget.inUse == 700)
        _ = a.receive(.cancel(reason: ""), on: 1)
        #expect(budget.inUse == 0)
        #expect(b.call(3, .normalize, payload: Array(repeating: 1, count: 700), halfClose: false).isEmpty)
        #expect(budget.inUse == 700)
    }

    @Test("a stream with nothing from its client and no work in progress ends after the stream idle timeout; one being served does not")
    func streamIdleTimeout() {
        var h = ServerHarness(.init(idleTimeout: nil, streamIdleTimeout: .seconds(60)))
        let start = h.now
        _ = h.call(1, .normalize, payload: [1], halfClose: false)
        #expect(h.machine.nextWakeUp == start + 60 * second)
        _ = h.call(3, .normalize, payload: [1], halfClose: true) // being served
        #expect(h.advance(to: start + 59 * second).statuses.isEmpty)
        let ended = h.advance(to: start + 60 * second)
        #expect(ended.statuses.map(\.id) == [1] && ended.status?.code == .deadlineExceeded)
        #expect(ended.status?.message.contains("stream idle timeout") == true)
        #expect(ended.cancels == 1)
        #expect(h.machine.openStreamCount == 1, "the stream being served stays")

        // A stream whose client keeps sending does not time out.
        var g = ServerHarness(.init(idleTimeout: nil, streamIdleTimeout: .seconds(60)))
        let t0 = g.now
        _ = g.call(1, .normalizeStream, payload: [1], halfClose: false)
        _ = g.handle(.itemCompleted(StreamID(1), sequence: 0, requestID: "a", response: itemResponse("a")))
        g.now = t0 + 50 * second
        #expect(g.receive(.message(payload: [2]), on: 1).itemStarts.count == 1)
        _ = g.handle(.itemCompleted(StreamID(1), sequence: 1, requestID: "b", response: itemResponse("b")),
                     pending: 0)
        #expect(g.advance(to: t0 + 100 * second).statuses.isEmpty)
        #expect(g.advance(to: t0 + 110 * second).status?.code == .deadlineExceeded)
    }

    @Test("a response that would pass the connection's or the server's unsent output limit becomes RESOURCE_EXHAUSTED")
    func queuedOutputLimits() {
        var h = ServerHarness(.init(maxQueuedOutputBytes: 1000, maxTotalQueuedOutputBytes: 5000))
        _ = h.call(1, .retrieve, payload: [1])
        let refused = h.handle(.unaryCompleted(StreamID(1), .success(Array(repeating: 0, count: 300))), pending: 800)
        #expect(refused.messages.isEmpty && refused.status?.code == .resourceExhausted)
        #expect(refused.status?.message.contains("not reading its responses") == true)
        _ = h.call(3, .retrieve, payload: [1])
        let fits = h.handle(.unaryCompleted(StreamID(3), .success(Array(repeating: 0, count: 200))), pending: 800)
        #expect(fits.messages.count == 1 && fits.status?.code == .ok)
        _ = h.call(5, .retrieve, payload: [1])
        let total = h.handle(.unaryCompleted(StreamID(5), .success(Array(repeating: 0, count: 200))),
                             pending: 0, total: 4900)
        #expect(total.messages.isEmpty && total.status?.message.contains("all clients") == true)

        // A stream item is answered with an item error carrying its id; the stream goes on.
        _ = h.call(7, .normalizeStream, payload: [1], halfClose: false)
        let item = h.handle(.itemCompleted(StreamID(7), sequence: 0, requestID: "m-1",
                                           response: itemResponse("m-1", padding: 500)), pending: 900)
        let answer = try? AdrnormV1.NormalizeResponse(serializedBytes: item.messages.first?.payload ?? [])
        #expect(answer?.id == "m-1" && answer?.error?.code == .resourceExhausted && item.status == nil)
    }

    @Test("stream answers waiting for an earlier item count as unsent output too")
    func waitingAnswersCount() throws {
        var h = ServerHarness(.init(maxQueuedOutputBytes: 1200))
        _ = h.call(1, .normalizeStream, payload: [0], halfClose: false)
        for i in 1...3 { _ = h.receive(.message(payload: [UInt8(i)]), on: 1) }
        // Items 1 and 2 finish first (400 bytes each) and wait for item 0.
        for i in 1...2 {
            #expect(h.handle(.itemCompleted(StreamID(1), sequence: i, requestID: "\(i)",
                                            response: itemResponse("\(i)", padding: 400)), pending: 0).messages.isEmpty)
        }
        _ = h.handle(.itemCompleted(StreamID(1), sequence: 3, requestID: "3", response: itemResponse("3", padding: 400)),
                     pending: 0)
        let all = h.handle(.itemCompleted(StreamID(1), sequence: 0, requestID: "0", response: itemResponse("0")),
                           pending: 0)
        let answers = try all.messages.map { try AdrnormV1.NormalizeResponse(serializedBytes: $0.payload) }
        #expect(answers.map(\.id) == ["0", "1", "2", "3"])
        #expect(answers.map { $0.error?.code } == [nil, nil, nil, .resourceExhausted],
                "the third waiting answer would have made over 1200 bytes unsent")
    }

    @Test("stream credit is held back while the client does not read, and granted when its output drains")
    func creditOnDrain() {
        var h = ServerHarness(.init(initialStreamCredit: 4, creditOutputThreshold: 1000))
        _ = h.call(1, .normalizeStream, payload: [1], halfClose: false)
        let held = h.handle(.itemCompleted(StreamID(1), sequence: 0, requestID: "a", response: itemResponse("a")),
                            pending: 5000)
        #expect(held.messages.count == 1 && held.credits.isEmpty, "answered, but no credit while 5000 bytes wait")
        #expect(h.handle(.outputDrained, pending: 2000).credits.isEmpty, "still above the threshold")
        #expect(h.handle(.outputDrained, pending: 500).credits == [1])
        #expect(h.handle(.outputDrained, pending: 0).credits.isEmpty, "granted once")
    }

    @Test("a connection whose output does not move for the write timeout is closed; one that drains is not")
    func writeTimeout() {
        var h = ServerHarness(.init(idleTimeout: nil, writeTimeout: .seconds(30)))
        let start = h.now
        _ = h.call(1, .retrieve, payload: [1])
        _ = h.handle(.unaryCompleted(StreamID(1), .success([1, 2, 3])), pending: 100, lastProgress: start)
        #expect(h.machine.nextWakeUp == start + 30 * second)
        h.now = start + 29 * second
        #expect(h.handle(.tick(now: h.now, lastInput: start), pending: 100, lastProgress: start).closeNow == nil)
        h.now = start + 30 * second
        let closed = h.handle(.tick(now: h.now, lastInput: start), pending: 100, lastProgress: start)
        #expect(closed.closeNow != nil && closed.logs.contains { $0.contains("has not read its output") })

        var g = ServerHarness(.init(idleTimeout: nil, writeTimeout: .seconds(30)))
        let t0 = g.now
        _ = g.call(1, .retrieve, payload: [1])
        _ = g.handle(.unaryCompleted(StreamID(1), .success([1, 2, 3])), pending: 100, lastProgress: t0)
        g.now = t0 + 30 * second
        #expect(g.handle(.tick(now: g.now, lastInput: t0), pending: 0, lastProgress: t0 + second).closeNow == nil,
                "everything was written")
        g.now = t0 + 31 * second
        _ = g.call(3, .retrieve, payload: [1])
        _ = g.handle(.unaryCompleted(StreamID(3), .success([1])), pending: 50, lastProgress: t0 + 31 * second)
        g.now = t0 + 60 * second
        #expect(g.handle(.tick(now: g.now, lastInput: t0), pending: 50, lastProgress: t0 + 45 * second).closeNow == nil,
                "output moved 15 s ago")
    }

    @Test("an open+Cancel flood gets GoAway RESOURCE_EXHAUSTED; Cancels at the allowed rate are all served")
    func rapidReset() {
        var flood = ServerHarness(.init(cancelBurst: 10, cancelsPerSecond: 5))
        for i in 0..<10 {
            let id = UInt32(2 * i + 1)
            _ = flood.call(id, .normalize, payload: [1], halfClose: false)
            #expect(flood.receive(.cancel(reason: ""), on: id).status?.code == .cancelled)
        }
        _ = flood.call(21, .normalize, payload: [1], halfClose: false)
        let abuse = flood.receive(.cancel(reason: ""), on: 21)
        #expect(abuse.goAway?.code == .resourceExhausted && abuse.goAway?.message.contains("too many cancelled streams") == true)
        #expect(abuse.closesGracefully && abuse.cancels == 1)

        var steady = ServerHarness(.init(cancelBurst: 10, cancelsPerSecond: 5))
        for i in 0..<50 {
            steady.now += second / 5
            let id = UInt32(2 * i + 1)
            _ = steady.call(id, .normalize, payload: [1], halfClose: false)
            #expect(steady.receive(.cancel(reason: ""), on: id).goAway == nil)
        }
    }

    @Test("an open connection gets a tick at least every socket check interval, so the driver looks at a socket whose event was missed")
    func socketCheckTicks() {
        var h = ServerHarness(.init(idleTimeout: nil, socketCheckInterval: .seconds(10)))
        let start = h.now
        #expect(h.machine.nextWakeUp == start + 10 * second)
        _ = h.advance(to: start + 10 * second)
        #expect(h.machine.nextWakeUp == start + 20 * second, "and again after each check")
        _ = h.handle(.channelClosed)
        #expect(h.machine.nextWakeUp == nil, "nothing once the channel is closed")
    }

    @Test("repeated log lines: a burst per message and interval, then one line saying how many were dropped")
    func logRateLimit() {
        final class Clock: @unchecked Sendable { var now: UInt64 = 0 }
        let clock = Clock()
        let limiter = LogRateLimiter(burst: 3, intervalNanoseconds: 10 * second, clock: { clock.now })
        #expect((0..<3).map { _ in limiter.admit("refused") } == [0, 0, 0])
        #expect((0..<997).allSatisfy { _ in limiter.admit("refused") == nil })
        #expect(limiter.admit("another message") == 0, "each message has its own budget")
        clock.now = 10 * second
        #expect(limiter.admit("refused") == 997)
        #expect(limiter.admit("refused") == 0)
    }
}
