import Foundation

/// A dense layer `y = x · Wᵀ + b` with the checkpoint's `[out, in]` weight.
public struct Linear: Sendable {
    public let inFeatures: Int
    public let outFeatures: Int
    let weight: FloatStorage
    let bias: FloatStorage

    public init(weight: [Float], bias: [Float], inFeatures: Int, outFeatures: Int) {
        precondition(weight.count == inFeatures * outFeatures && bias.count == outFeatures, "Linear: bad sizes")
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        self.weight = FloatStorage(weight)
        self.bias = FloatStorage(bias)
    }

    public static func load(_ weights: BertWeights, _ prefix: String, in i: Int, out o: Int) throws(CrossEncoderError) -> Linear {
        Linear(weight: try weights.tensor(prefix + ".weight", shape: [o, i]),
               bias: try weights.tensor(prefix + ".bias", shape: [o]), inFeatures: i, outFeatures: o)
    }

    /// `output[rows, out] = input[rows, in] · Wᵀ + b`; rows of `input` are
    /// `inputStride` apart.
    func forward(_ input: UnsafePointer<Float>, rows: Int, inputStride: Int? = nil, into output: UnsafeMutablePointer<Float>) {
        for r in 0..<rows { (output + r * outFeatures).update(from: bias.pointer, count: outFeatures) }
        BLAS.sgemm(.none, .transposed, m: rows, n: outFeatures, k: inFeatures,
                   a: input, lda: inputStride ?? inFeatures, b: weight.pointer, ldb: inFeatures,
                   beta: 1, c: output, ldc: outFeatures)
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

    /// Normalises `rows` rows of `x` in place, after adding `residual` when given.
    func forward(_ x: UnsafeMutablePointer<Float>, rows: Int, adding residual: UnsafePointer<Float>? = nil) {
        let n = size
        let w = weight.pointer, b = bias.pointer
        for r in 0..<rows {
            let row = x + r * n
            if let residual {
                let res = residual + r * n
                for i in 0..<n { row[i] += res[i] }
            }
            var sum: Float = 0
            for i in 0..<n { sum += row[i] }
            let mean = sum / Float(n)
            var sq: Float = 0
            for i in 0..<n {
                let d = row[i] - mean
                sq += d * d
            }
            let inv = 1 / (sq / Float(n) + eps).squareRoot()
            for i in 0..<n { row[i] = (row[i] - mean) * inv * w[i] + b[i] }
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

    public static func load(_ weights: BertWeights, _ config: BertConfiguration, index: Int) throws(CrossEncoderError) -> BertLayer {
        let h = config.hiddenSize, p = "encoder.layer.\(index)."
        let q = try Linear.load(weights, p + "attention.self.query", in: h, out: h)
        let k = try Linear.load(weights, p + "attention.self.key", in: h, out: h)
        let v = try Linear.load(weights, p + "attention.self.value", in: h, out: h)
        let fused = Linear(weight: q.weight.array + k.weight.array + v.weight.array,
                           bias: q.bias.array + k.bias.array + v.bias.array, inFeatures: h, outFeatures: 3 * h)
        return BertLayer(
            qkv: fused,
            attentionOutput: try Linear.load(weights, p + "attention.output.dense", in: h, out: h),
            attentionNorm: try LayerNorm.load(weights, p + "attention.output.LayerNorm", size: h, eps: config.layerNormEps),
            intermediate: try Linear.load(weights, p + "intermediate.dense", in: h, out: config.intermediateSize),
            output: try Linear.load(weights, p + "output.dense", in: config.intermediateSize, out: h),
            outputNorm: try LayerNorm.load(weights, p + "output.LayerNorm", size: h, eps: config.layerNormEps),
            heads: config.numAttentionHeads)
    }

    /// Runs the block on `hidden` in place. Attention runs per sequence (no
    /// padding, no mask); every projection is one GEMM over all tokens.
    func forward(_ batch: PackedBatch, hidden: UnsafeMutablePointer<Float>, scratch: ForwardScratch) {
        let h = qkv.inFeatures, t = batch.tokenCount
        let d = h / heads, stride = 3 * h
        let qkvOut = scratch.qkv.pointer, context = scratch.context.pointer, scores = scratch.scores.pointer
        qkv.forward(hidden, rows: t, into: qkvOut)
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
        attentionOutput.forward(context, rows: t, into: attended)
        attentionNorm.forward(attended, rows: t, adding: hidden)
        let inner = scratch.intermediate.pointer
        intermediate.forward(attended, rows: t, into: inner)
        Activation.gelu(inner, count: t * intermediate.outFeatures)
        output.forward(inner, rows: t, into: hidden)
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
        qkv.forward(hidden, rows: t, into: qkvOut)
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
        attentionOutput.forward(context, rows: b, into: attended)
        attentionNorm.forward(attended, rows: b, adding: residual)
        let inner = scratch.intermediate.pointer
        intermediate.forward(attended, rows: b, into: inner)
        Activation.gelu(inner, count: b * intermediate.outFeatures)
        output.forward(inner, rows: b, into: result)
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
    func forward(firstTokens: UnsafePointer<Float>, count: Int, into output: UnsafeMutablePointer<Float>) {
        dense.forward(firstTokens, rows: count, into: output)
        for i in 0..<(count * dense.outFeatures) { output[i] = tanhf(output[i]) }
    }
}

/// Element-wise functions of the forward pass.
public enum Activation {
    /// Exact GELU, `x · Φ(x) = 0.5 · x · (1 + erf(x / √2))`, as BERT's "gelu"
    /// (not the tanh approximation). `erf` is the rational approximation that
    /// Eigen and XLA use for Float (odd degree-13 numerator over even degree-8
    /// denominator on [-4, 4], ±1 outside), within 4e-7 (a few ulps) of the true erf and
    /// vectorised; libm's `erff` per element cost about a fifth of a
    /// bert-base forward pass.
    static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int) {
        typealias V = SIMD8<Float>
        let raw = UnsafeMutableRawPointer(x)
        var i = 0
        while i + 8 <= count {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: V.self)
            raw.storeBytes(of: v * (V(repeating: 0.5) + V(repeating: 0.5) * erf(v * V(repeating: 0.70710678118654752))),
                           toByteOffset: i * 4, as: V.self)
            i += 8
        }
        while i < count {
            let v = x[i]
            x[i] = 0.5 * v * (1 + erf(V(repeating: v * 0.70710678118654752))[0])
            i += 1
        }
    }

    @inline(__always)
    static func erf(_ a: SIMD8<Float>) -> SIMD8<Float> {
        typealias V = SIMD8<Float>
        let x = pointwiseMin(pointwiseMax(a, V(repeating: -4)), V(repeating: 4))
        let x2 = x * x
        var p = x2 * V(repeating: -2.72614225801306e-10) + V(repeating: 2.77068142495902e-08)
        p = p * x2 + V(repeating: -2.10102402082508e-06)
        p = p * x2 + V(repeating: -5.69250639462346e-05)
        p = p * x2 + V(repeating: -7.34990630326855e-04)
        p = p * x2 + V(repeating: -2.95459980854025e-03)
        p = p * x2 + V(repeating: -1.60960333262415e-02)
        p = p * x
        var q = x2 * V(repeating: -1.45660718464996e-05) + V(repeating: -2.13374055278905e-04)
        q = q * x2 + V(repeating: -1.68282697438203e-03)
        q = q * x2 + V(repeating: -7.37332916720468e-03)
        q = q * x2 + V(repeating: -1.42647390514189e-02)
        return p / q
    }

    /// The same erf on one value, for tests.
    public static func erf(_ x: Float) -> Float { erf(SIMD8<Float>(repeating: x))[0] }

    /// Row-wise softmax in place. The exponentials are `exp` below, on SIMD8.
    static func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        typealias V = SIMD8<Float>
        for r in 0..<rows {
            let row = x + r * columns
            let raw = UnsafeMutableRawPointer(row)
            var m = -Float.infinity
            for j in 0..<columns { m = max(m, row[j]) }
            let shift = V(repeating: m)
            var sums = V.zero
            var j = 0
            while j + 8 <= columns {
                let e = exp(raw.loadUnaligned(fromByteOffset: j * 4, as: V.self) - shift)
                raw.storeBytes(of: e, toByteOffset: j * 4, as: V.self)
                sums += e
                j += 8
            }
            var sum = sums.sum()
            while j < columns {
                let e = exp(V(repeating: row[j] - m))[0]
                row[j] = e
                sum += e
                j += 1
            }
            let inv = 1 / sum
            for j in 0..<columns { row[j] *= inv }
        }
    }

    /// `e^x` on SIMD8 (Cephes' expf scheme): `x = n·ln2 + r` with |r| ≤ ln2/2,
    /// a degree-6 polynomial for `e^r`, `2^n` from the exponent bits. Within
    /// 2 ulps for x in [-87, 88]; inputs are clamped to that range (softmax
    /// only passes x ≤ 0, where the clamp means e^x < 2e-38).
    @inline(__always)
    static func exp(_ a: SIMD8<Float>) -> SIMD8<Float> {
        typealias V = SIMD8<Float>
        let x = pointwiseMin(pointwiseMax(a, V(repeating: -87.3)), V(repeating: 88.3))
        let n = (x * V(repeating: 1.44269504088896341)).rounded(.toNearestOrEven)
        var r = x - n * V(repeating: 0.693359375)
        r = r - n * V(repeating: -2.12194440e-4)
        var p = V(repeating: 1.9875691500e-4)
        p = p * r + V(repeating: 1.3981999507e-3)
        p = p * r + V(repeating: 8.3334519073e-3)
        p = p * r + V(repeating: 4.1665795894e-2)
        p = p * r + V(repeating: 1.6666665459e-1)
        p = p * r + V(repeating: 5.0000001201e-1)
        p = p * (r * r) + r + V(repeating: 1)
        let bits = (SIMD8<Int32>(n, rounding: .toNearestOrEven) &+ 127) &<< 23
        return p * unsafeBitCast(bits, to: V.self)
    }

    /// The same exp on one value, for tests.
    public static func exp(_ x: Float) -> Float { exp(SIMD8<Float>(repeating: x))[0] }
}
