import ArgumentParser
import Foundation
import Normalization
import RPCClient
import Retrieval
import Terminology
import Transport
import Wire

/// `adrnorm call`: one call to a running server, printed as JSON — a client
/// for people (scripts should use the Python or Java client).
struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call one method of a running server and print the JSON result (a client for people).",
        discussion: """
            Methods: health, info, retrieve MENTION, normalize MENTION…, normalize-stream MENTION… (one \
            NormalizeStream call), score MENTION (with --pt-code CODE or --candidate-text TEXT). Example: \
            adrnorm call normalize --server 127.0.0.1:7443 --ca Certs/out/ca.pem --cert Certs/out/client-a.pem \
            --key Certs/out/client-a.key 用药后头晕
            A non-OK status is printed on stderr as CODE: message and exits 1.
            """)

    @Argument(help: "Method: health, info, retrieve, score, normalize or normalize-stream.")
    var method: String
    @Argument(help: "Mention text(s).")
    var mentions: [String] = []
    @Option(help: "Server address, HOST:PORT or [IPV6]:PORT.")
    var server: String = "127.0.0.1:7443"
    @Option(help: "CA bundle that the server certificate must chain to, PEM.")
    var ca: String
    @Option(help: "Client certificate, PEM.")
    var cert: String?
    @Option(help: "Client private key, PEM.")
    var key: String?
    @Option(name: .customLong("server-name"), help: "Name the server certificate must carry (default: the host of --server).")
    var serverName: String?
    @Option(help: "Deadline of the call in seconds (0: none).")
    var timeout: Double = 30
    @Option(name: .customLong("top-k"), help: "retrieve/normalize: candidates (0: the server's default).")
    var topK: UInt32 = 0
    @Option(help: "normalize: threshold in [0, 1] (default: the server's).")
    var threshold: Double?
    @Option(help: "Candidate text template (default: the server's).")
    var template: CandidateTemplate?
    @Option(help: "retrieve/normalize: retrieval mode (default: the server's).")
    var mode: RetrievalMode?
    @Option(help: "normalize: scorer (default: the server's).")
    var scorer: ScorerKind?
    @Option(name: .customLong("return-top-scored"), help: "normalize: also return the best N scored candidates.")
    var returnTopScored: UInt32 = 0
    @Option(name: .customLong("pt-code"), help: "score: the candidate PT code.")
    var ptCode: String?
    @Option(name: .customLong("candidate-text"), help: "score: free candidate text.")
    var candidateText: String?

    static let methods = ["health", "info", "retrieve", "score", "normalize", "normalize-stream"]

    func validate() throws {
        guard Self.methods.contains(method) else {
            throw ValidationError("unknown method \(method); one of \(Self.methods.joined(separator: ", "))")
        }
        if ["retrieve", "score"].contains(method) && mentions.count != 1 {
            throw ValidationError("\(method) takes exactly one mention")
        }
        if ["normalize", "normalize-stream"].contains(method) && mentions.isEmpty {
            throw ValidationError("\(method) needs at least one mention")
        }
        if method == "score" && (ptCode == nil) == (candidateText == nil) {
            throw ValidationError("score needs exactly one of --pt-code and --candidate-text")
        }
        if (cert == nil) != (key == nil) { throw ValidationError("--cert and --key go together") }
        // The wire's timeout_ms is 32 bits (about 49.7 days); one day is the
        // same ceiling as the server's own timeouts.
        guard timeout.isFinite, timeout >= 0, timeout <= 86_400 else {
            throw ValidationError("--timeout must be 0 (none) or a number of seconds up to 86400, one day (got \(timeout))")
        }
    }

    func run() async throws {
        let tls = TLSClientConfiguration(trustedCAPath: ca, certificateChainPath: cert, privateKeyPath: key)
        let client: RPCClient
        do {
            client = try await RPCClient.connect(ClientConfiguration(address: server, tls: tls, serverName: serverName,
                                                                    clientName: "adrnorm call"))
        } catch {
            if case .tls(let tlsError) = error {
                // It names the file or certificate, and which side refused it.
                Stderr.write("adrnorm call: \(tlsError)\n")
            } else {
                Stderr.write("adrnorm call: cannot connect to \(server): \(error)\n")
            }
            throw ExitCode(2)
        }
        defer { client.close() }
        let deadline: Duration? = timeout == 0 ? nil : .milliseconds(Int64(timeout * 1000))
        do {
            switch method {
            case "health":
                let r = try await client.health(timeout: deadline)
                print(CallJSON.health(r))
            case "info":
                print(CallJSON.info(try await client.info(timeout: deadline)))
            case "retrieve":
                let r = try await client.retrieve(.init(mention: mentions[0], topK: topK, template: wireTemplate,
                                                        mode: wireMode), timeout: deadline)
                print(CallJSON.retrieve(r))
            case "score":
                let candidate: AdrnormV1.ScorePair.Candidate = ptCode.map { .ptCode($0) } ?? .text(candidateText!)
                let r = try await client.score(.init(pairs: [.init(mention: mentions[0], candidate: candidate)],
                                                     template: wireTemplate), timeout: deadline)
                print(CallJSON.score(r))
            case "normalize":
                for mention in mentions {
                    let r = try await client.normalize(request(mention, id: ""), timeout: deadline)
                    print(MentionResultJSON(r, mention: mention).line())
                }
            default:   // normalize-stream
                let requests = mentions.enumerated().map { request($0.element, id: String($0.offset + 1)) }
                let results = try await client.normalizeStream(requests, timeout: deadline)
                for (r, mention) in zip(results, mentions) { print(MentionResultJSON(r, mention: mention).line()) }
            }
        } catch {
            if case .status(let code, let message) = error {
                Stderr.write("\(code): \(message)\n")
            } else {
                Stderr.write("adrnorm call: \(error)\n")
            }
            throw ExitCode(1)
        }
    }

    private func request(_ mention: String, id: String) -> AdrnormV1.NormalizeRequest {
        AdrnormV1.NormalizeRequest(id: id, mention: mention, topK: topK, threshold: threshold, template: wireTemplate,
                                   returnTopScored: returnTopScored,
                                   scorer: wireScorer,
                                   mode: wireMode)
    }

    private var wireTemplate: AdrnormV1.Template {
        switch template {
        case .full: .full
        case .ptOnly: .ptOnly
        case .ptLLT: .ptLLT
        case nil: .unspecified
        }
    }

    private var wireMode: AdrnormV1.RetrievalMode {
        switch mode {
        case .bm25: .bm25
        case .exact: .exact
        case nil: .unspecified
        }
    }

    private var wireScorer: AdrnormV1.Scorer {
        switch scorer {
        case .model: .model
        case .lexical: .lexical
        case nil: .unspecified
        }
    }
}
