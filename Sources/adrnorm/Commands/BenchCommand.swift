import ArgumentParser

/// `adrnorm bench NAME`: benchmarks that print their figures (JSON on
/// stdout); the scripts in Scripts/ run them next to their baselines.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a benchmark and print its figures next to a baseline measured in the same run.",
        discussion: """
            retrieval: BM25 index build, memory and query latency (Scripts/bench-retrieval adds the Python \
            baseline). encoder: BERT forward pairs/s and GFLOPS next to sgemm and the int8 GEMM rate \
            (Scripts/bench-encoder adds PyTorch, ONNX Runtime and OpenVINO). pooled: a checkpoint's pooled \
            outputs in fp32 or int8 (Scripts/check-int8-accuracy compares them with transformers). pipeline: full-pipeline vs encoder-only pairs/s, and the cache on a Zipf stream.
            """,
        subcommands: [BenchRetrieval.self, BenchEncoderCommand.self, BenchPooled.self, BenchPipeline.self, BenchRPC.self, BenchStream.self])
}
