import ArgumentParser
import CrossEncoder
import Foundation
import Terminology

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
        print(JSONValue.object([
            ("case", .string("load")), ("precision", .string(options.precision.rawValue)),
            ("seconds", .number(loadSeconds, format: "%.2f")), ("weight_bytes", .integer(model.bert.weightBytes)),
            ("rss_bytes", .integer(rssAfter)), ("rss_added_bytes", .integer(rssAfter - rssBefore)),
        ]).text())
        // The hardware baselines, on the shape of a bert-base feed-forward
        // GEMM over the whole fixed-length batch: fp32 with OpenBLAS's own
        // threads, and the int8 GEMM split over the threads as the encoder does.
        let m = options.batchSize * options.length
        BLAS.threadCount = options.threads
        let sgemm = sgemmGFLOPS(m: m, n: c.intermediateSize, k: c.hiddenSize)
        print(JSONValue.object([
            ("case", .string("sgemm")), ("library", .string("openblas")), ("threads", .integer(options.threads)),
            ("m", .integer(m)), ("n", .integer(c.intermediateSize)), ("k", .integer(c.hiddenSize)),
            ("gflops", .number(sgemm, format: "%.1f")),
        ]).text())
        if options.precision == .int8 {
            let gops = int8GEMMGOPS(m: m, n: c.intermediateSize, k: c.hiddenSize, threads: options.threads)
            print(JSONValue.object([
                ("case", .string("gemm_u8s8s32")), ("library", .string("onednn")), ("threads", .integer(options.threads)),
                ("m", .integer(m)), ("n", .integer(c.intermediateSize)), ("k", .integer(c.hiddenSize)),
                ("gops", .number(gops, format: "%.1f")), ("vnni", .bool(Int8GEMM.hasVNNI)),
            ]).text())
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
            print(JSONValue.object([
                ("case", .string(mixed ? "mixed" : "fixed")), ("engine", .string("adrnorm")),
                ("precision", .string(options.precision.rawValue)), ("threads", .integer(options.threads)),
                ("batch", .integer(options.batchSize)), ("tokens", .integer(batch.tokenCount)),
                ("seconds_median", .number(median, format: "%.3f")), ("seconds_best", .number(best, format: "%.3f")),
                ("pairs_per_s", .number(Double(options.batchSize) / median, format: "%.2f")),
                ("gflops", .number(flops / median / 1e9, format: "%.1f")),
                ("sgemm_fraction", .number(flops / median / 1e9 / sgemm, format: "%.3f")),
            ]).text())
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
