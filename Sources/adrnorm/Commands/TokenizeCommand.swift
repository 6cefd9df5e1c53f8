import ArgumentParser
import CrossEncoder
import Terminology

/// `adrnorm tokenize`: the pair encoding the cross-encoder sees, as JSON.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the WordPiece pair encoding of a mention and a candidate text as JSON.",
        discussion: """
            Prints {"input_ids": […], "token_type_ids": […], "tokens": […]}: [CLS] A [SEP] B [SEP], \
            truncated longest_first to --max-length exactly as Hugging Face's BertTokenizerFast does. \
            An empty --text-b counts as no second text, as in transformers.
            """)
    @Option(help: "Model folder with vocab.txt and tokenizer_config.json (default: the SYNTHETIC demo model in Demo/model).")
    var model: String?
    @Option(name: .customLong("text-a"), help: "First text (the mention).")
    var textA: String
    @Option(name: .customLong("text-b"), help: "Second text (the candidate).")
    var textB: String?
    @Option(name: .customLong("max-length"), help: "Maximum sequence length, special tokens included.")
    var maxLength: Int = 64

    func run() throws {
        let directory = try ModelOption.resolve(model, command: "adrnorm tokenize")
        let tokenizer = try BertTokenizer(modelDirectory: directory)
        let encoding = try tokenizer.encode(textA, textB, maxLength: maxLength)
        print(JSONValue.object([
            ("input_ids", .array(encoding.inputIDs.map { .integer(Int($0)) })),
            ("token_type_ids", .array(encoding.tokenTypeIDs.map { .integer(Int($0)) })),
            ("tokens", .strings(tokenizer.tokens(encoding.inputIDs))),
        ]).text())
    }
}
