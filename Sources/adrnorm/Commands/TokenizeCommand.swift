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
        let ids = encoding.inputIDs.map(String.init).joined(separator: ", ")
        let types = encoding.tokenTypeIDs.map(String.init).joined(separator: ", ")
        print("{\"input_ids\": [\(ids)], \"token_type_ids\": [\(types)], \"tokens\": "
              + JSONText.array(tokenizer.tokens(encoding.inputIDs)) + "}")
    }
}

/// The `--model` option shared by `tokenize` and `score`.
enum ModelOption {
    /// The model folder: `--model`, or the synthetic demo model (said on stderr).
    static func resolve(_ option: String?, command: String) throws -> String {
        if let option, !option.isEmpty { return option }
        let directory = try DemoAssets.model()
        Stderr.write("\(command): using the SYNTHETIC demo model \(directory): not for clinical use\n")
        return directory
    }
}

