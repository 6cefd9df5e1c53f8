import ArgumentParser
import CrossEncoder

/// Options of `adrnorm bench encoder`.
struct BenchEncoderOptions: ParsableArguments {
    @Option(help: "BertForSequenceClassification folder (config.json, model.safetensors).")
    var model: String
    @Option(name: .customLong("batch-size"), help: "Pairs per forward pass.")
    var batchSize: Int = 100
    @Option(help: "Tokens per pair in the fixed-length batch.")
    var length: Int = 64
    @Option(help: "Threads per forward pass (and for the sgemm baseline, OpenBLAS's threads).")
    var threads: Int = 2
    @Option(help: "Encoder arithmetic: fp32 or int8.")
    var precision: Precision = .fp32
    @Option(help: "Timed forward passes per case (after one warm-up).")
    var repeats: Int = 3
}
