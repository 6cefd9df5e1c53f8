import Foundation
import RPCClient
import Testing
import Wire

/// NormalizeStream at volume: many items, several clients at once, one
/// server, over mutual TLS on loopback.
@Suite(.serialized) struct LongStreamTests {
    static let clients = 4
    static let itemsPerClient = 25_000
    /// Demo mentions the items cycle through (synthetic, like the dictionary).
    static let mentions = ["吃完药后一直犯困头晕", "头疼", "恶心想吐", "皮肤起红疹很痒", "拉肚子", "心慌胸闷", "失眠", "咳嗽"]

    @Test("100,000 NormalizeStream items over 4 concurrent clients: every item answered once, in order, its id echoed")
    func hundredThousandItems() async throws {
        // No result cache, so every item goes through retrieval and scoring;
        // the lexical scorer keeps 100,000 of them fast.
        let (server, pipeline) = try DemoServer.start(cache: 0)
        var connected: [RPCClient] = []
        for _ in 0..<Self.clients { connected.append(try await DemoServer.connect(server)) }
        let clients = connected
        defer { for client in clients { client.close() } }

        let started = ContinuousClock.now
        let answers = try await withThrowingTaskGroup(of: (Int, [AdrnormV1.NormalizeResponse]).self) { group in
            for (index, client) in clients.enumerated() {
                group.addTask {
                    let requests = (0..<Self.itemsPerClient).map { item in
                        AdrnormV1.NormalizeRequest(id: "c\(index)-\(item)", mention: Self.mentions[item % Self.mentions.count],
                                                   topK: 10, scorer: .lexical)
                    }
                    return (index, try await client.normalizeStream(requests, timeout: .seconds(120)))
                }
            }
            var all: [Int: [AdrnormV1.NormalizeResponse]] = [:]
            for try await (index, responses) in group { all[index] = responses }
            return all
        }
        let elapsed = ContinuousClock.now - started

        #expect(answers.count == Self.clients)
        for index in 0..<Self.clients {
            let responses = answers[index] ?? []
            #expect(responses.count == Self.itemsPerClient, "client \(index): \(responses.count) answers")
            // In input order: answer k carries the id of request k, so no
            // item is missing, repeated or swapped.
            let misplaced = responses.enumerated().filter { $0.element.id != "c\(index)-\($0.offset)" }
            #expect(misplaced.isEmpty, "client \(index): first misplaced answer \(misplaced.first.map { "\($0.offset): \($0.element.id)" } ?? "")")
            // Each one a real answer, not an item error.
            let failed = responses.filter { $0.error != nil || $0.scorer != .lexical }
            #expect(failed.isEmpty, "client \(index): \(failed.count) items failed, first: \(failed.first.map { "\($0)" } ?? "")")
        }
        let ids = Set(answers.values.joined().map(\.id))
        #expect(ids.count == Self.clients * Self.itemsPerClient)
        print("LongStreamTests: \(Self.clients * Self.itemsPerClient) items over \(Self.clients) clients in \(elapsed)")
        await DemoServer.stop(server, pipeline)
    }
}
