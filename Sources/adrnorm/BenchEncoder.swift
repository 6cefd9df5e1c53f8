import ArgumentParser
import CrossEncoder
import Foundation

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

/// `adrnorm bench encoder`: pairs/s of the BERT forward pass on a fixed-length
/// and a mixed-length batch, with the achieved GFLOPS next to a plain
/// `cblas_sgemm` figure measured in the same run. Inputs are synthetic ids
/// from the formula Scripts/encoder/bench_reference.py uses for PyTorch.
enum BenchEncoder {
    static func run(_ options: BenchEncoderOptions) throws {
        let rssBefore = ProcessMemory.residentBytes()
        let loadStart = DispatchTime.now().uptimeNanoseconds
        let model = try BertForSequenceClassification(modelDirectory: options.model,
                                                      options: EncoderOptions(precision: options.precision, threads: options.threads))
        let loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - loadStart) / 1e9
        let c = model.config
        let rssAfter = ProcessMemory.residentBytes()
        print(String(format: "{\"case\": \"load\", \"precision\": \"%@\", \"seconds\": %.2f, \"weight_bytes\": %d, "
                     + "\"rss_bytes\": %d, \"rss_added_bytes\": %d}", options.precision.rawValue, loadSeconds,
                     model.bert.weightBytes, rssAfter, rssAfter - rssBefore))
        // The hardware baselines, on the shape of a bert-base feed-forward
        // GEMM over the whole fixed-length batch: fp32 with OpenBLAS's own
        // threads, and the int8 GEMM split over the threads as the encoder does.
        let m = options.batchSize * options.length
        BLAS.threadCount = options.threads
        let sgemm = sgemmGFLOPS(m: m, n: c.intermediateSize, k: c.hiddenSize)
        print(String(format: "{\"case\": \"sgemm\", \"library\": \"openblas\", \"threads\": %d, \"m\": %d, \"n\": %d, \"k\": %d, \"gflops\": %.1f}",
                     options.threads, m, c.intermediateSize, c.hiddenSize, sgemm))
        if options.precision == .int8 {
            let gops = int8GEMMGOPS(m: m, n: c.intermediateSize, k: c.hiddenSize, threads: options.threads)
            print(String(format: "{\"case\": \"gemm_u8s8s32\", \"library\": \"onednn\", \"threads\": %d, \"m\": %d, \"n\": %d, \"k\": %d, \"gops\": %.1f, \"vnni\": %@}",
                         options.threads, m, c.intermediateSize, c.hiddenSize, gops, Int8GEMM.hasVNNI ? "true" : "false"))
        }
        for mixed in [false, true] {
            let lengths = (0..<options.batchSize).map { mixed ? mixedLength($0, max: options.length) : options.length }
            let batch = PackedBatch(lengths.enumerated().map { syntheticPair(index: $0.offset, length: $0.element, vocab: c.vocabSize) })
            _ = try model.forward(batch)
            var times: [Double] = []
            for _ in 0..<options.repeats {
                let start = DispatchTime.now().uptimeNanoseconds
                _ = try model.forward(batch)
                times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            let best = times.min()!, median = times.sorted()[times.count / 2]
            let flops = forwardFLOPs(lengths, c)
            let line = String(format: "{\"case\": \"%@\", \"engine\": \"adrnorm\", \"precision\": \"%@\", \"threads\": %d, "
                              + "\"batch\": %d, \"tokens\": %d, \"seconds_median\": %.3f, "
                              + "\"seconds_best\": %.3f, \"pairs_per_s\": %.2f, \"gflops\": %.1f, \"sgemm_fraction\": %.3f}",
                              mixed ? "mixed" : "fixed", options.precision.rawValue, options.threads,
                              options.batchSize, batch.tokenCount, median, best,
                              Double(options.batchSize) / median, flops / median / 1e9, flops / median / 1e9 / sgemm)
            print(line)
        }
    }

    /// Lengths 8…max spread by a fixed formula (shared with the PyTorch side).
    static func mixedLength(_ i: Int, max: Int) -> Int { 8 + (i * 37) % (max - 7) }

    static func syntheticPair(index i: Int, length n: Int, vocab: Int) -> PairEncoding {
        let firstPart = n / 2
        var ids: [Int32] = [101]
        for j in 1..<(n - 1) { ids.append(Int32(1000 + (i * 7919 + j * 104_729) % (vocab - 1000))) }
        ids.append(102)
        ids[firstPart] = 102
        let types = (0..<n).map { Int32($0 <= firstPart ? 0 : 1) }
        return PairEncoding(inputIDs: ids, tokenTypeIDs: types)
    }

    /// FLOPs (2 per multiply-add) of the GEMMs and attention products that
    /// one classifier pass performs: every block in full except the last,
    /// which projects Q/K/V for all tokens but runs attention, the output
    /// projection and the feed-forward part for the [CLS] row only.
    static func forwardFLOPs(_ lengths: [Int], _ c: BertConfiguration) -> Double {
        let h = Double(c.hiddenSize), inter = Double(c.intermediateSize)
        var total = 0.0
        for n in lengths.map(Double.init) {
            let fullLayer = 2 * n * (h * 3 * h + h * h + 2 * h * inter) + 2 * 2 * n * n * h
            let lastLayer = 2 * n * h * 3 * h + 2 * 2 * n * h + 2 * (h * h + 2 * h * inter)
            total += Double(c.numHiddenLayers - 1) * fullLayer + lastLayer + 2 * h * h
        }
        return total
    }

    /// The best of five `m × k · (n × k)ᵀ` int8 products, rows split over
    /// `threads` single-threaded calls.
    static func int8GEMMGOPS(m: Int, n: Int, k: Int, threads: Int) -> Double {
        let a = UnsafeMutablePointer<UInt8>.allocate(capacity: m * k), b = UnsafeMutablePointer<Int8>.allocate(capacity: n * k)
        let out = UnsafeMutablePointer<Int32>.allocate(capacity: m * n)
        defer { a.deallocate(); b.deallocate(); out.deallocate() }
        for i in 0..<(m * k) { a[i] = UInt8(i % 251) }
        for i in 0..<(n * k) { b[i] = Int8(i % 255 - 127) }
        let rowsPerThread = (m + threads - 1) / threads
        var best = Double.infinity
        for _ in 0..<5 {
            let start = DispatchTime.now().uptimeNanoseconds
            ParallelFor.run(threads) { t in
                let lower = t * rowsPerThread, rows = min(m, lower + rowsPerThread) - lower
                if rows > 0 {
                    Int8GEMM.multiply(m: rows, n: n, k: k, a: a + lower * k, lda: k, b: b, ldb: k, c: out + lower * n, ldc: n)
                }
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return 2 * Double(m) * Double(n) * Double(k) / best / 1e9
    }

    /// The best of five `m × k · k × n` products.
    static func sgemmGFLOPS(m: Int, n: Int, k: Int) -> Double {
        let a = FloatStorage(count: m * k), b = FloatStorage(count: k * n), out = FloatStorage(count: m * n)
        for i in 0..<(m * k) { a.pointer[i] = Float(i % 7) * 0.01 }
        for i in 0..<(k * n) { b.pointer[i] = Float(i % 5) * 0.01 }
        var best = Double.infinity
        for _ in 0..<5 {
            let start = DispatchTime.now().uptimeNanoseconds
            BLAS.sgemm(.none, .none, m: m, n: n, k: k, a: a.pointer, lda: k, b: b.pointer, ldb: n, c: out.pointer, ldc: n)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return 2 * Double(m) * Double(n) * Double(k) / best / 1e9
    }
}
