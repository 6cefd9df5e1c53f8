import ArgumentParser
import Foundation
import RPCClient
import Terminology
import Transport
import Wire

/// `adrnorm bench stream`: the Swift client's NormalizeStream throughput
/// against a running server, the baseline that Scripts/bench-clients puts
/// the Python and Java clients next to.
struct BenchStream: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream",
        abstract: "Stream mentions through NormalizeStream with the Swift client and print mentions/s.")

    @Option(help: "Server address, HOST:PORT.")
    var server: String = "127.0.0.1:7443"
    @Option(help: "Development certificates (ca.pem, client-a.pem, client-a.key).")
    var certificates: String = "Certs/out"
    @Option(help: "Plain-text mentions, one per line, cycled to --count.")
    var input: String
    @Option(help: "Mentions to stream.")
    var count: Int = 1000
    @Option(name: .customLong("top-k"), help: "Candidates per mention (0: the server's default).")
    var topK: UInt32 = 0

    func run() async throws {
        let text = try String(contentsOfFile: input, encoding: .utf8)
        let mentions = text.split(separator: "\n").map(String.init).filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        guard !mentions.isEmpty, count >= 1 else { throw ValidationError("--input has no mentions or --count < 1") }
        func path(_ name: String) -> String { (certificates as NSString).appendingPathComponent(name) }
        let client = try await RPCClient.connect(ClientConfiguration(
            address: server, tls: TLSClientConfiguration(trustedCAPath: path("ca.pem"), certificateChainPath: path("client-a.pem"),
                                                         privateKeyPath: path("client-a.key")),
            clientName: "adrnorm bench stream"))
        defer { client.close() }
        let requests = (0..<count).map { AdrnormV1.NormalizeRequest(id: "\($0)", mention: mentions[$0 % mentions.count], topK: topK) }
        let start = ContinuousClock.now
        let responses = try await client.normalizeStream(requests)
        let seconds = BenchPipeline.seconds(ContinuousClock.now - start)
        guard responses.map(\.id) == requests.map(\.id) else { throw ValidationError("responses out of order or missing") }
        let failed = responses.filter { $0.error != nil }.count
        print(JSONValue.object([("case", .string("swift_client_stream")), ("mentions", .integer(count)),
                                ("top_k", .integer(Int(topK))), ("seconds", .number(seconds, format: "%.2f")),
                                ("mentions_per_s", .number(Double(count) / seconds, format: "%.2f")),
                                ("item_errors", .integer(failed))]).text())
    }
}
