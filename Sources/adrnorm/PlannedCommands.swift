import ArgumentParser

// Subcommands of DESIGN §5 that are not built yet. Each declares its
// planned options so that `--help` documents the interface, and fails with
// "not implemented yet" when run. Each moves to a file of its own when it
// is built.

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve Retrieve, Score, Normalize, NormalizeStream, Info and Health over mutually authenticated TLS.")
    @Option(help: "Hugging Face BertForSequenceClassification folder (default: the synthetic demo model).")
    var model: String?
    @Option(help: "Dictionary CSV or MedDRA ASCII folder (default: the synthetic demo dictionary).")
    var dictionary: String?
    @Option(help: "Address to listen on, HOST:PORT.")
    var listen: String = "127.0.0.1:7443"
    @Option(help: "Server certificate chain, PEM.")
    var cert: String?
    @Option(help: "Server private key, PEM.")
    var key: String?
    @Option(name: .customLong("client-ca"), help: "CA bundle that client certificates must chain to, PEM.")
    var clientCA: String?
    @Option(name: .customLong("allow-identity"), help: "Client identity (SAN URI/DNS or CN) allowed to call; repeatable.")
    var allowIdentity: [String] = []
    func run() throws { throw NotImplementedYet(subcommand: "serve") }
}

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the WordPiece pair encoding of a mention and a candidate text as JSON.")
    @Option(help: "Model folder with vocab.txt and tokenizer_config.json.")
    var model: String?
    @Option(name: .customLong("text-a"), help: "First text (the mention).")
    var textA: String
    @Option(name: .customLong("text-b"), help: "Second text (the candidate).")
    var textB: String?
    @Option(name: .customLong("max-length"), help: "Maximum sequence length, special tokens included.")
    var maxLength: Int = 64
    func run() throws { throw NotImplementedYet(subcommand: "tokenize") }
}

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score (mention, candidate) pairs from pair JSONL with the cross-encoder; writes prediction JSONL.")
    @Option(help: "Model folder (default: the synthetic demo model).")
    var model: String?
    @Option(help: "Pair JSONL file.")
    var input: String
    func run() throws { throw NotImplementedYet(subcommand: "score") }
}

struct Normalize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the full pipeline (retrieve, score, threshold) over a file of mentions; writes prediction JSONL.")
    @Option(help: "Model folder (default: the synthetic demo model).")
    var model: String?
    @Option(help: "Dictionary CSV or MedDRA ASCII folder (default: the synthetic demo dictionary).")
    var dictionary: String?
    @Option(help: "Pair/prediction JSONL, JSONL with mention_id + text_a, or plain text (one mention per line).")
    var input: String
    @Option(help: "Output file (default: stdout).")
    var output: String?
    @Option(name: .customLong("top-k"), help: "Candidates retrieved and scored per mention.")
    var topK: Int = 100
    @Option(help: "Keep every PT whose probability is at least this.")
    var threshold: Double = 0.3
    func run() throws { throw NotImplementedYet(subcommand: "normalize") }
}

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compute pair-level and mention-level metrics from prediction JSONL; writes metrics JSON.")
    @Option(help: "Prediction JSONL file.")
    var predictions: String
    @Option(help: "Decision threshold on prob_1.")
    var threshold: Double = 0.3
    @Option(help: "Comma-separated thresholds to scan.")
    var thresholds: String?
    @Option(name: .customLong("threshold-optimize"), help: "Selection rule of the scan: exact_set_match or example_f1.")
    var thresholdOptimize: String = "exact_set_match"
    func run() throws { throw NotImplementedYet(subcommand: "evaluate") }
}

struct Certs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a development CA with server and client certificates (development only).",
        discussion: "Until this subcommand is built, run Certs/make-dev-certs [OUT_DIR] from the repository.")
    @Option(help: "Output folder.")
    var out: String
    func run() throws { throw NotImplementedYet(subcommand: "certs") }
}

struct Call: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call one method of a running server and print the JSON result (a client for people).")
    @Argument(help: "Method: retrieve, score, normalize, info or health.")
    var method: String
    @Option(help: "Server address, HOST:PORT.")
    var server: String
    @Option(help: "CA bundle that the server certificate must chain to, PEM.")
    var ca: String
    @Option(help: "Client certificate, PEM.")
    var cert: String
    @Option(help: "Client private key, PEM.")
    var key: String
    @Argument(help: "Method arguments, e.g. the mention text.")
    var arguments: [String] = []
    func run() throws { throw NotImplementedYet(subcommand: "call") }
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a benchmark and print its figures next to a baseline measured in the same run.")
    @Argument(help: "Benchmark name.")
    var name: String?
    func run() throws { throw NotImplementedYet(subcommand: "bench") }
}

struct Retrieve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Retrieve the top-k candidate PTs for mentions with character BM25 (or exact alias match); writes JSONL.")
    @Option(help: "Dictionary CSV or MedDRA ASCII folder (default: the synthetic demo dictionary).")
    var dictionary: String?
    @Option(help: "Candidate text template: full, pt_only or pt_llt.")
    var template: String = "full"
    @Option(help: "Retrieval mode: bm25 or exact.")
    var mode: String = "bm25"
    @Option(name: .customLong("top-k"), help: "Candidates per mention.")
    var topK: Int = 100
    @Option(help: "One mention.")
    var mention: String?
    @Option(help: "Input file (JSONL or plain text, one mention per line).")
    var input: String?
    func run() throws { throw NotImplementedYet(subcommand: "retrieve") }
}
