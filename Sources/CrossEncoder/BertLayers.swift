internal import CEncoderKernels
import Foundation

/// A dense layer `y = x · Wᵀ + b` with the checkpoint's `[out, in]` weight,
/// held as fp32 or, after `quantized()`, as int8 (the fp32 copy dropped).
public struct Linear: Sendable {
    public let inFeatures: Int
    public let outFeatures: Int
    let weights: Weights
    let bias: FloatStorage

    enum Weights: Sendable {
        case fp32(FloatStorage)
        case int8(QuantizedMatrix)
    }

    /// What runs on the output after the bias, in the same pass.
    enum Epilogue {
        case none
        case gelu
    }

    public init(weight: [Float], bias: [Float], inFeatures: Int, outFeatures: Int) {
        precondition(weight.count == inFeatures * outFeatures && bias.count == outFeatures, "Linear: bad sizes")
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.weights = .fp32(FloatStorage(weight))
        self.bias = FloatStorage(bias)
    }

    private init(inFeatures: Int, outFeatures: Int, weights: Weights, bias: FloatStorage) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.weights = weights
        self.bias = bias
    }

    public static func load(_ weights: BertWeights, _ prefix: String, in i: Int, out o: Int) throws(CrossEncoderError) -> Linear {
        Linear(weight: try weights.tensor(prefix + ".weight", shape: [o, i]),
               bias: try weights.tensor(prefix + ".bias", shape: [o]), inFeatures: i, outFeatures: o)
    }

    /// The fp32 weight; a bug to ask of a quantized layer.
    var weight: FloatStorage {
        guard case let .fp32(w) = weights else { preconditionFailure("Linear.weight of an int8 layer: this is a bug") }
        return w
    }

    /// The same layer with int8 weights; the fp32 weight is released with `self`.
    func quantized() -> Linear {
        switch weights {
        case .int8: return self
        case let .fp32(w):
            return Linear(inFeatures: inFeatures, outFeatures: outFeatures,
                          weights: .int8(QuantizedMatrix(w.pointer, rows: outFeatures, columns: inFeatures)), bias: bias)
        }
    }

    /// Bytes of weights and bias.
    var byteCount: Int {
        switch weights {
        case let .fp32(w): (w.count + bias.count) * 4
        case let .int8(q): q.byteCount + bias.count * 4
        }
    }

    /// `output[rows, out] = epilogue(input[rows, in] · Wᵀ + b)`; rows of
    /// `input` are `inputStride` apart. With `scratch.columnSplit > 1` the
    /// output columns are shared among that many threads.
    func forward(_ input: UnsafePointer<Float>, rows: Int, inputStride: Int? = nil,
                 into output: UnsafeMutablePointer<Float>, epilogue: Epilogue = .none, scratch: ForwardScratch) {
        let stride = inputStride ?? inFeatures
        switch weights {
        case let .fp32(w):
            scratch.forEachColumnBlock(outFeatures) { columns in
                let n = columns.count
                for r in 0..<rows { (output + r * outFeatures + columns.lowerBound).update(from: bias.pointer + columns.lowerBound, count: n) }
                BLAS.sgemm(.none, .transposed, m: rows, n: n, k: inFeatures,
                           a: input, lda: stride, b: w.pointer + columns.lowerBound * inFeatures, ldb: inFeatures,
                           beta: 1, c: output + columns.lowerBound, ldc: outFeatures)
                if case .gelu = epilogue {
                    for r in 0..<rows { Activation.gelu(output + r * outFeatures + columns.lowerBound, count: n) }
                }
            }
        case let .int8(q):
            let quantizedInput = scratch.quantizedInput, accumulators = scratch.accumulators
            let rowScales = scratch.rowScales.pointer, zeroPoints = scratch.zeroPoints
            RowQuantizer.quantize(input, rows: rows, columns: inFeatures, stride: stride,
                                  into: quantizedInput, scales: rowScales, zeroPoints: zeroPoints)
            scratch.forEachColumnBlock(outFeatures) { columns in
                Int8GEMM.multiply(m: rows, n: columns.count, k: inFeatures, a: quantizedInput, lda: inFeatures,
                                  b: q.values + columns.lowerBound * inFeatures, ldb: inFeatures,
                                  c: accumulators + columns.lowerBound, ldc: outFeatures)
                RowQuantizer.dequantize(accumulators, rows: rows, columns: columns, ldc: outFeatures,
                                        rowScales: rowScales, zeroPoints: zeroPoints, weights: q, bias: bias.pointer,
                                        into: output)
                if case .gelu = epilogue {
                    for r in 0..<rows { Activation.gelu(output + r * outFeatures + columns.lowerBound, count: columns.count) }
                }
            }
        }
    }
}

/// Layer normalisation over the hidden dimension, with learned scale and shift.
public struct LayerNorm: Sendable {
    let weight: FloatStorage
    let bias: FloatStorage
    let eps: Float
    let size: Int

    public static func load(_ weights: BertWeights, _ prefix: String, size: Int, eps: Float) throws(CrossEncoderError) -> LayerNorm {
        LayerNorm(weight: FloatStorage(try weights.tensor(prefix + ".weight", shape: [size])),
                  bias: FloatStorage(try weights.tensor(prefix + ".bias", shape: [size])), eps: eps, size: size)
    }

    /// Normalises `rows` rows of `x` in place, after adding `residual` when
    /// given. Two passes over each row (sum with the residual added, then the
    /// squared deviations), on SIMD16 lanes.
    func forward(_ x: UnsafeMutablePointer<Float>, rows: Int, adding residual: UnsafePointer<Float>? = nil) {
        typealias V = SIMD16<Float>
        let n = size, vectorEnd = n - n % 16
        let w = UnsafeRawPointer(weight.pointer), b = UnsafeRawPointer(bias.pointer)
        for r in 0..<rows {
            let row = x + r * n
            let raw = UnsafeMutableRawPointer(row)
            var sums = V.zero
            if let residual {
                let res = UnsafeRawPointer(residual + r * n)
                for i in Swift.stride(from: 0, to: vectorEnd, by: 16) {
                    let v = raw.loadUnaligned(fromByteOffset: i * 4, as: V.self) + res.loadUnaligned(fromByteOffset: i * 4, as: V.self)
                    raw.storeBytes(of: v, toByteOffset: i * 4, as: V.self)
                    sums += v
                }
                for i in vectorEnd..<n { row[i] += residual[r * n + i] }
            } else {
                for i in Swift.stride(from: 0, to: vectorEnd, by: 16) { sums += raw.loadUnaligned(fromByteOffset: i * 4, as: V.self) }
            }
            var sum = sums.sum()
            for i in vectorEnd..<n { sum += row[i] }
            let mean = sum / Float(n)
            let m = V(repeating: mean)
            var squares = V.zero
            for i in Swift.stride(from: 0, to: vectorEnd, by: 16) {
                let d = raw.loadUnaligned(fromByteOffset: i * 4, as: V.self) - m
                squares += d * d
            }
            var sq = squares.sum()
            for i in vectorEnd..<n {
                let d = row[i] - mean
                sq += d * d
            }
            let inv = 1 / (sq / Float(n) + eps).squareRoot()
            let scale = V(repeating: inv)
            for i in Swift.stride(from: 0, to: vectorEnd, by: 16) {
                let v = (raw.loadUnaligned(fromByteOffset: i * 4, as: V.self) - m) * scale
                    * w.loadUnaligned(fromByteOffset: i * 4, as: V.self) + b.loadUnaligned(fromByteOffset: i * 4, as: V.self)
                raw.storeBytes(of: v, toByteOffset: i * 4, as: V.self)
            }
            for i in vectorEnd..<n { row[i] = (row[i] - mean) * inv * weight.pointer[i] + bias.pointer[i] }
        }
    }
}

/// Word + position + token-type embeddings, then LayerNorm.
public struct BertEmbeddings: Sendable {
    let word: FloatStorage
    let position: FloatStorage
    let tokenType: FloatStorage
    let norm: LayerNorm
    let config: BertConfiguration

    public static func load(_ weights: BertWeights, _ config: BertConfiguration) throws(CrossEncoderError) -> BertEmbeddings {
        let h = config.hiddenSize
        return BertEmbeddings(
            word: FloatStorage(try weights.tensor("embeddings.word_embeddings.weight", shape: [config.vocabSize, h])),
            position: FloatStorage(try weights.tensor("embeddings.position_embeddings.weight", shape: [config.maxPositionEmbeddings, h])),
            tokenType: FloatStorage(try weights.tensor("embeddings.token_type_embeddings.weight", shape: [config.typeVocabSize, h])),
            norm: try LayerNorm.load(weights, "embeddings.LayerNorm", size: h, eps: config.layerNormEps),
            config: config)
    }

    func forward(_ batch: PackedBatch, into hidden: UnsafeMutablePointer<Float>) {
        let h = config.hiddenSize
        for (s, range) in batch.ranges.enumerated() {
            let encoding = batch.sequences[s]
            for p in 0..<range.count {
                let out = hidden + (range.lowerBound + p) * h
                let w = word.pointer + Int(encoding.inputIDs[p]) * h
                let pos = position.pointer + p * h
                let t = tokenType.pointer + Int(encoding.tokenTypeIDs[p]) * h
                for i in 0..<h { out[i] = w[i] + t[i] + pos[i] }
            }
        }
        norm.forward(hidden, rows: batch.tokenCount)
    }
}

/// One transformer block: self-attention with Q, K and V fused into one
/// `[3·hidden, hidden]` projection at load, output projection + residual +
/// LayerNorm, then the GELU feed-forward + residual + LayerNorm.
public struct BertLayer: Sendable {
    let qkv: Linear
    let attentionOutput: Linear
    let attentionNorm: LayerNorm
    let intermediate: Linear
    let output: Linear
    let outputNorm: LayerNorm
    let heads: Int

    public static func load(_ weights: BertWeights, _ config: BertConfiguration, index: Int,
                            precision: Precision = .fp32) throws(CrossEncoderError) -> BertLayer {
        let h = config.hiddenSize, p = "encoder.layer.\(index)."
        let q = try Linear.load(weights, p + "attention.self.query", in: h, out: h)
        let k = try Linear.load(weights, p + "attention.self.key", in: h, out: h)
        let v = try Linear.load(weights, p + "attention.self.value", in: h, out: h)
        let fused = Linear(weight: q.weight.array + k.weight.array + v.weight.array,
                           bias: q.bias.array + k.bias.array + v.bias.array, inFeatures: h, outFeatures: 3 * h)
        let attentionOutput = try Linear.load(weights, p + "attention.output.dense", in: h, out: h)
        let intermediate = try Linear.load(weights, p + "intermediate.dense", in: h, out: config.intermediateSize)
        let output = try Linear.load(weights, p + "output.dense", in: config.intermediateSize, out: h)
        // Quantizing here, one layer at a time, keeps at most one layer's fp32
        // weights alive beside the int8 ones.
        let int8 = precision == .int8
        return BertLayer(
            qkv: int8 ? fused.quantized() : fused,
            attentionOutput: int8 ? attentionOutput.quantized() : attentionOutput,
            attentionNorm: try LayerNorm.load(weights, p + "attention.output.LayerNorm", size: h, eps: config.layerNormEps),
            intermediate: int8 ? intermediate.quantized() : intermediate,
            output: int8 ? output.quantized() : output,
            outputNorm: try LayerNorm.load(weights, p + "output.LayerNorm", size: h, eps: config.layerNormEps),
            heads: config.numAttentionHeads)
    }

    /// Runs the block on `hidden` in place. Attention runs per sequence (no
    /// padding, no mask); every projection is one GEMM over all tokens.
    func forward(_ batch: PackedBatch, hidden: UnsafeMutablePointer<Float>, scratch: ForwardScratch) {
        let h = qkv.inFeatures, t = batch.tokenCount
        let d = h / heads, stride = 3 * h
        let qkvOut = scratch.qkv.pointer, context = scratch.context.pointer, scores = scratch.scores.pointer
        qkv.forward(hidden, rows: t, into: qkvOut, scratch: scratch)
        let scale = 1 / Float(d).squareRoot()
        for range in batch.ranges {
            let n = range.count
            let base = qkvOut + range.lowerBound * stride
            for head in 0..<heads {
                let q = base + head * d, k = base + h + head * d, v = base + 2 * h + head * d
                BLAS.sgemm(.none, .transposed, m: n, n: n, k: d, alpha: scale, a: q, lda: stride, b: k, ldb: stride,
                           c: scores, ldc: n)
                Activation.softmaxRows(scores, rows: n, columns: n)
                BLAS.sgemm(.none, .none, m: n, n: d, k: n, a: scores, lda: n, b: v, ldb: stride,
                           c: context + range.lowerBound * h + head * d, ldc: h)
            }
        }
        let attended = scratch.attended.pointer
        attentionOutput.forward(context, rows: t, into: attended, scratch: scratch)
        attentionNorm.forward(attended, rows: t, adding: hidden)
        let inner = scratch.intermediate.pointer
        intermediate.forward(attended, rows: t, into: inner, epilogue: .gelu, scratch: scratch)
        output.forward(inner, rows: t, into: hidden, scratch: scratch)
        outputNorm.forward(hidden, rows: t, adding: attended)
    }
}

extension BertLayer {
    /// The block computed only for the first token ([CLS]) of each sequence,
    /// into `result[sequences, hidden]`: keys and values still come from every
    /// token, but the attention output, the feed-forward part and the norms run
    /// on one row per sequence. Used for the last block of a classifier, which
    /// reads nothing else.
    func forwardFirstTokens(_ batch: PackedBatch, hidden: UnsafePointer<Float>, scratch: ForwardScratch,
                            into result: UnsafeMutablePointer<Float>) {
        let h = qkv.inFeatures, t = batch.tokenCount, b = batch.count
        let d = h / heads, stride = 3 * h
        let qkvOut = scratch.qkv.pointer, context = scratch.context.pointer, scores = scratch.scores.pointer
        qkv.forward(hidden, rows: t, into: qkvOut, scratch: scratch)
        let scale = 1 / Float(d).squareRoot()
        let residual = scratch.gathered.pointer
        for (s, range) in batch.ranges.enumerated() {
            let n = range.count
            let base = qkvOut + range.lowerBound * stride
            (residual + s * h).update(from: hidden + range.lowerBound * h, count: h)
            for head in 0..<heads {
                let q = base + head * d, k = base + h + head * d, v = base + 2 * h + head * d
                BLAS.sgemm(.none, .transposed, m: 1, n: n, k: d, alpha: scale, a: q, lda: stride, b: k, ldb: stride,
                           c: scores, ldc: n)
                Activation.softmaxRows(scores, rows: 1, columns: n)
                BLAS.sgemm(.none, .none, m: 1, n: d, k: n, a: scores, lda: n, b: v, ldb: stride,
                           c: context + s * h + head * d, ldc: h)
            }
        }
        let attended = scratch.attended.pointer
        attentionOutput.forward(context, rows: b, into: attended, scratch: scratch)
        attentionNorm.forward(attended, rows: b, adding: residual)
        let inner = scratch.intermediate.pointer
        intermediate.forward(attended, rows: b, into: inner, epilogue: .gelu, scratch: scratch)
        output.forward(inner, rows: b, into: result, scratch: scratch)
        outputNorm.forward(result, rows: b, adding: attended)
    }
}

/// `tanh(W · h[CLS] + b)`.
public struct BertPooler: Sendable {
    let dense: Linear

    public static func load(_ weights: BertWeights, _ config: BertConfiguration) throws(CrossEncoderError) -> BertPooler {
        BertPooler(dense: try Linear.load(weights, "pooler.dense", in: config.hiddenSize, out: config.hiddenSize))
    }

    /// Pools `firstTokens[sequences, hidden]` (each sequence's [CLS] row)
    /// into `output[sequences, hidden]`.
    func forward(firstTokens: UnsafePointer<Float>, count: Int, into output: UnsafeMutablePointer<Float>,
                 scratch: ForwardScratch) {
        dense.forward(firstTokens, rows: count, into: output, scratch: scratch)
        for i in 0..<(count * dense.outFeatures) { output[i] = tanhf(output[i]) }
    }
}

/// Element-wise functions of the forward pass (C kernels, CEncoderKernels).
public enum Activation {
    /// Exact GELU, `x · Φ(x) = 0.5 · x · (1 + erf(x / √2))`, as BERT's "gelu"
    /// (not the tanh approximation). `erf` is the rational approximation that
    /// Eigen and XLA use for Float (odd degree-13 numerator over even degree-8
    /// denominator on [-4, 4], ±1 outside), within 4e-7 (a few ulps) of the true erf and
    /// vectorised; libm's `erff` per element cost about a fifth of a
    /// bert-base forward pass.
    static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        adrnorm_gelu(x, count)
    }

    /// The erf GELU uses, on one value, for tests.
    public static func erf(_ x: Float) -> Float { adrnorm_erf(x) }

    /// Row-wise softmax in place, with `exp` below.
    static func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        adrnorm_softmax_rows(x, rows, columns)
    }

    /// `e^x` (Cephes' expf scheme): `x = n·ln2 + r` with |r| ≤ ln2/2, a
    /// degree-6 polynomial for `e^r`, `2^n` from the exponent bits. Within
    /// 2 ulps for x in [-87, 88]; inputs are clamped to that range (softmax
    /// only passes x ≤ 0, where the clamp means e^x < 2e-38). On one value, for tests.
    public static func exp(_ x: Float) -> Float { adrnorm_exp(x) }
}
