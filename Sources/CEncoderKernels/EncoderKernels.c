#include "CEncoderKernels.h"
#include <immintrin.h>
#include <math.h>

static inline float horizontal_min(__m256 v) {
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    m = _mm_min_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

static inline float horizontal_max(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

void adrnorm_quantize_rows_u8(const float *x, long rows, long columns, long stride,
                              uint8_t *q, float *scales, int32_t *zero_points) {
    for (long r = 0; r < rows; r++) {
        const float *row = x + r * stride;
        uint8_t *out = q + r * columns;
        __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
        long c = 0;
        for (; c + 8 <= columns; c += 8) {
            __m256 v = _mm256_loadu_ps(row + c);
            lo = _mm256_min_ps(lo, v);
            hi = _mm256_max_ps(hi, v);
        }
        float low = horizontal_min(lo), high = horizontal_max(hi);
        for (; c < columns; c++) {
            low = fminf(low, row[c]);
            high = fmaxf(high, row[c]);
        }
        float scale = high > low ? (high - low) / 255.0f : 1.0f;
        float zero = nearbyintf(-low / scale);
        zero = fmaxf(0.0f, fminf(255.0f, zero));
        scales[r] = scale;
        zero_points[r] = (int32_t)zero;
        const __m256 inverse = _mm256_set1_ps(1.0f / scale), z = _mm256_set1_ps(zero);
        const __m256 top = _mm256_set1_ps(255.0f), bottom = _mm256_setzero_ps();
        c = 0;
        for (; c + 32 <= columns; c += 32) {
            __m256i i0 = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(_mm256_fmadd_ps(_mm256_loadu_ps(row + c), inverse, z), bottom), top));
            __m256i i1 = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(_mm256_fmadd_ps(_mm256_loadu_ps(row + c + 8), inverse, z), bottom), top));
            __m256i i2 = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(_mm256_fmadd_ps(_mm256_loadu_ps(row + c + 16), inverse, z), bottom), top));
            __m256i i3 = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(_mm256_fmadd_ps(_mm256_loadu_ps(row + c + 24), inverse, z), bottom), top));
            // Pack 32 → 16 → 8 bits; the packs interleave 128-bit lanes, the
            // permute puts the 32 bytes back in order.
            __m256i w01 = _mm256_packs_epi32(i0, i1), w23 = _mm256_packs_epi32(i2, i3);
            __m256i b = _mm256_packus_epi16(w01, w23);
            b = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *)(out + c), b);
        }
        for (; c < columns; c++) {
            float s = fmaf(row[c], 1.0f / scale, zero);
            s = fmaxf(0.0f, fminf(255.0f, s));
            out[c] = (uint8_t)nearbyintf(s);
        }
    }
}

void adrnorm_dequantize_rows(const int32_t *acc, long rows, long column_begin, long column_end, long ldc,
                             const float *row_scales, const int32_t *zero_points,
                             const float *col_scales, const int32_t *col_sums, const float *bias,
                             float *out) {
    for (long r = 0; r < rows; r++) {
        const int32_t *a = acc + r * ldc;
        float *o = out + r * ldc;
        const __m256 s = _mm256_set1_ps(row_scales[r]);
        const __m256i z = _mm256_set1_epi32(zero_points[r]);
        long c = column_begin;
        for (; c + 8 <= column_end; c += 8) {
            __m256i corrected = _mm256_sub_epi32(_mm256_loadu_si256((const __m256i *)(a + c)),
                                                 _mm256_mullo_epi32(z, _mm256_loadu_si256((const __m256i *)(col_sums + c))));
            __m256 v = _mm256_fmadd_ps(_mm256_cvtepi32_ps(corrected), _mm256_mul_ps(s, _mm256_loadu_ps(col_scales + c)),
                                       _mm256_loadu_ps(bias + c));
            _mm256_storeu_ps(o + c, v);
        }
        for (; c < column_end; c++) {
            int32_t corrected = a[c] - zero_points[r] * col_sums[c];
            o[c] = fmaf((float)corrected, row_scales[r] * col_scales[c], bias[c]);
        }
    }
}

// erf as a degree-13 odd polynomial over a degree-8 even one on [-4, 4]
// (±1 outside), the coefficients Eigen and XLA use for float.
static inline __m256 erf8(__m256 a) {
    __m256 x = _mm256_min_ps(_mm256_max_ps(a, _mm256_set1_ps(-4.0f)), _mm256_set1_ps(4.0f));
    __m256 x2 = _mm256_mul_ps(x, x);
    __m256 p = _mm256_fmadd_ps(x2, _mm256_set1_ps(-2.72614225801306e-10f), _mm256_set1_ps(2.77068142495902e-08f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.10102402082508e-06f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-5.69250639462346e-05f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-7.34990630326855e-04f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-2.95459980854025e-03f));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(-1.60960333262415e-02f));
    p = _mm256_mul_ps(p, x);
    __m256 q = _mm256_fmadd_ps(x2, _mm256_set1_ps(-1.45660718464996e-05f), _mm256_set1_ps(-2.13374055278905e-04f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.68282697438203e-03f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-7.37332916720468e-03f));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(-1.42647390514189e-02f));
    return _mm256_div_ps(p, q);
}

// e^x (Cephes' expf scheme): x = n·ln2 + r, |r| ≤ ln2/2, a degree-6
// polynomial for e^r, 2^n from the exponent bits. Within 2 ulps on
// [-87, 88]; inputs are clamped to that range.
static inline __m256 exp8(__m256 a) {
    __m256 x = _mm256_min_ps(_mm256_max_ps(a, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

static inline __m256 gelu8(__m256 v) {
    __m256 half = _mm256_set1_ps(0.5f);
    __m256 e = erf8(_mm256_mul_ps(v, _mm256_set1_ps(0.70710678118654752f)));
    return _mm256_mul_ps(v, _mm256_fmadd_ps(half, e, half));
}

// The tails go through the vector code on a padded copy so that every value
// is computed by the same arithmetic, wherever it sits in a row.
static inline __m256 load_partial(const float *x, long n, float fill) {
    float tmp[8];
    for (int i = 0; i < 8; i++) tmp[i] = i < n ? x[i] : fill;
    return _mm256_loadu_ps(tmp);
}

static inline void store_partial(float *x, long n, __m256 v) {
    float tmp[8];
    _mm256_storeu_ps(tmp, v);
    for (long i = 0; i < n; i++) x[i] = tmp[i];
}

void adrnorm_gelu(float *x, long count) {
    long i = 0;
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(x + i, gelu8(_mm256_loadu_ps(x + i)));
    if (i < count) store_partial(x + i, count - i, gelu8(load_partial(x + i, count - i, 0.0f)));
}

void adrnorm_softmax_rows(float *x, long rows, long columns) {
    for (long r = 0; r < rows; r++) {
        float *row = x + r * columns;
        float m = -INFINITY;
        for (long j = 0; j < columns; j++) m = fmaxf(m, row[j]);
        const __m256 shift = _mm256_set1_ps(m);
        __m256 sums = _mm256_setzero_ps();
        long j = 0;
        for (; j + 8 <= columns; j += 8) {
            __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(row + j), shift));
            _mm256_storeu_ps(row + j, e);
            sums = _mm256_add_ps(sums, e);
        }
        float tail[8] = {0};
        if (j < columns) {
            // Padding lanes hold -inf - m → exp clamps to ~1e-38; they are
            // not added below.
            __m256 e = exp8(_mm256_sub_ps(load_partial(row + j, columns - j, -INFINITY), shift));
            _mm256_storeu_ps(tail, e);
            store_partial(row + j, columns - j, e);
        }
        float lanes[8];
        _mm256_storeu_ps(lanes, sums);
        float sum = 0;
        for (int k = 0; k < 8; k++) sum += lanes[k];
        for (long k = 0; j + k < columns; k++) sum += tail[k];
        const __m256 inverse = _mm256_set1_ps(1.0f / sum);
        j = 0;
        for (; j + 8 <= columns; j += 8) _mm256_storeu_ps(row + j, _mm256_mul_ps(_mm256_loadu_ps(row + j), inverse));
        for (; j < columns; j++) row[j] *= 1.0f / sum;
    }
}

float adrnorm_erf(float x) {
    float out[8];
    _mm256_storeu_ps(out, erf8(_mm256_set1_ps(x)));
    return out[0];
}

float adrnorm_exp(float x) {
    float out[8];
    _mm256_storeu_ps(out, exp8(_mm256_set1_ps(x)));
    return out[0];
}

void adrnorm_quantize_weights_s8(const float *w, long rows, long columns, int limit,
                                 int8_t *q, float *scales, int32_t *row_sums) {
    for (long r = 0; r < rows; r++) {
        const float *row = w + r * columns;
        float largest = 0;
        for (long c = 0; c < columns; c++) largest = fmaxf(largest, fabsf(row[c]));
        float scale = largest > 0 ? largest / (float)limit : 1.0f;
        float inverse = 1.0f / scale;
        int32_t sum = 0;
        for (long c = 0; c < columns; c++) {
            float v = nearbyintf(row[c] * inverse);
            v = fmaxf(-(float)limit, fminf((float)limit, v));
            q[r * columns + c] = (int8_t)v;
            sum += (int32_t)v;
        }
        scales[r] = scale;
        row_sums[r] = sum;
    }
}
