import ArgumentParser
import Foundation
import RPCClient
import Transport
import Wire
import Terminology

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
    @Option(help: "Template: full, pt_only or pt_llt (default: the server's).")
    var template: String?
    @Option(help: "retrieve/normalize: bm25 or exact.")
    var mode: String?
    @Option(help: "normalize: model or lexical (default: the server's).")
    var scorer: String?
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
        if let template, CandidateTemplate(rawValue: template) == nil { throw ValidationError("unknown --template \(template)") }
        if let mode, mode != "bm25" && mode != "exact" { throw ValidationError("--mode must be bm25 or exact") }
        if let scorer, scorer != "model" && scorer != "lexical" { throw ValidationError("--scorer must be model or lexical") }
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
                print("{\"status\": \(JSONText.quote(r.status == .serving ? "SERVING" : r.status == .notServing ? "NOT_SERVING" : "UNKNOWN"))}")
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
                                   scorer: scorer == "model" ? .model : scorer == "lexical" ? .lexical : .unspecified,
                                   mode: wireMode)
    }

    private var wireTemplate: AdrnormV1.Template {
        switch template {
        case "full": .full
        case "pt_only": .ptOnly
        case "pt_llt": .ptLLT
        default: .unspecified
        }
    }

    private var wireMode: AdrnormV1.RetrievalMode {
        mode == "exact" ? .exact : mode == "bm25" ? .bm25 : .unspecified
    }
}

/// JSON renderings of the responses, for people reading `adrnorm call`.
enum CallJSON {
    static func object(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\(JSONText.quote($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
    }

    static func term(_ t: AdrnormV1.PreferredTerm?) -> [(String, String)] {
        guard let t else { return [] }
        return [("pt_code", JSONText.quote(t.ptCode)), ("pt_name", JSONText.quote(t.ptName)),
                ("hlt_name", JSONText.quote(t.hltName)), ("hlgt_name", JSONText.quote(t.hlgtName)),
                ("soc_name", JSONText.quote(t.socName))]
    }

    static func retrieve(_ r: AdrnormV1.RetrieveResponse) -> String {
        object([("candidates", "[" + r.candidates.map { c in
            object([("rank", "\(c.rank)")] + term(c.term)
                   + [("score", JSONText.number(c.score)), ("retrieval_prob", JSONText.number(c.retrievalProb))])
        }.joined(separator: ", ") + "]")])
    }

    static func score(_ r: AdrnormV1.ScoreResponse) -> String {
        object([("scores", "[" + r.scores.map { s in
            object([("candidate_text", JSONText.quote(s.candidateText)), ("logit_0", JSONText.number(s.logit0)),
                    ("logit_1", JSONText.number(s.logit1)), ("prob_0", JSONText.number(s.prob0)),
                    ("prob_1", JSONText.number(s.prob1))])
        }.joined(separator: ", ") + "]"), ("precision", JSONText.quote(r.precision))])
    }

    static func info(_ r: AdrnormV1.InfoResponse) -> String {
        var fields: [(String, String)] = [("server_name", JSONText.quote(r.serverName)),
                                          ("server_version", JSONText.quote(r.serverVersion)),
                                          ("protocol_version", "\(r.protocolVersion)")]
        if let m = r.model {
            fields.append(("model", object([
                ("name", JSONText.quote(m.name)), ("num_layers", "\(m.numLayers)"), ("hidden_size", "\(m.hiddenSize)"),
                ("max_length", "\(m.maxLength)"),
                ("id2label", object(m.id2label.sorted { $0.key < $1.key }.map { ("\($0.key)", JSONText.quote($0.value)) })),
                ("match_label_id", "\(m.matchLabelID)"), ("weights_sha256", JSONText.quote(m.weightsSHA256)),
                ("synthetic", m.synthetic ? "true" : "false"), ("precision", JSONText.quote(m.precision)),
            ])))
        }
        if let d = r.dictionary {
            fields.append(("dictionary", object([
                ("source", JSONText.quote(d.source)), ("version", JSONText.quote(d.version)),
                ("pt_count", "\(d.ptCount)"), ("llt_count", "\(d.lltCount)"), ("soc_count", "\(d.socCount)"),
                ("digest", JSONText.quote(d.digest)), ("synthetic", d.synthetic ? "true" : "false"),
            ])))
        }
        if let d = r.defaults {
            fields.append(("defaults", object([
                ("top_k", "\(d.topK)"), ("threshold", JSONText.number(d.threshold)),
                ("template", JSONText.quote(d.template == .ptOnly ? "pt_only" : d.template == .ptLLT ? "pt_llt" : "full")),
                ("scorer", JSONText.quote(d.scorer == .lexical ? "lexical" : "model")),
                ("max_mention_chars", "\(d.maxMentionChars)"), ("max_length", "\(d.maxLength)"),
                ("max_pairs_per_request", "\(d.maxPairsPerRequest)"), ("max_queued_pairs", "\(d.maxQueuedPairs)"),
                ("max_queued_pairs_per_client", "\(d.maxQueuedPairsPerClient)"),
            ])))
        }
        if let c = r.cache {
            fields.append(("cache", object([("hits", "\(c.hits)"), ("misses", "\(c.misses)"),
                                            ("entries", "\(c.entries)"), ("capacity", "\(c.capacity)")])))
        }
        return object(fields)
    }
}
