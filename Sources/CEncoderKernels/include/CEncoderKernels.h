#ifndef ADRNORM_CENCODERKERNELS_H
#define ADRNORM_CENCODERKERNELS_H
// The encoder's element-wise kernels, in C with AVX2 + FMA intrinsics: Swift's
// SIMD types convert between float and integer vectors one lane at a time
// (a generic FixedWidthInteger path) and call pointwiseMin/Max out of line,
// which made quantizing activations cost more than the int8 GEMMs themselves.
// Called only by the CrossEncoder module.
#include <stdint.h>

// Quantizes `rows` rows of `x` (`columns` used, rows `stride` floats apart)
// to u8 over each row's range widened to include 0:
// x[r][c] ≈ scales[r] * (q[r][c] - zero_points[r]). q is [rows][columns].
void adrnorm_quantize_rows_u8(const float *x, long rows, long columns, long stride,
                              uint8_t *q, float *scales, int32_t *zero_points);

// out[r][c] = row_scales[r] * col_scales[c] * (acc[r][c] - zero_points[r] * col_sums[c]) + bias[c]
// for c in [column_begin, column_end); acc and out are [rows][ldc].
void adrnorm_dequantize_rows(const int32_t *acc, long rows, long column_begin, long column_end, long ldc,
                             const float *row_scales, const int32_t *zero_points,
                             const float *col_scales, const int32_t *col_sums, const float *bias,
                             float *out);

// Exact-form GELU in place, x · ½(1 + erf(x/√2)), with the rational erf of
// Eigen/XLA (within 4e-7 of erf).
void adrnorm_gelu(float *x, long count);
// Row-wise softmax in place over `rows` rows of `columns` (contiguous).
void adrnorm_softmax_rows(float *x, long rows, long columns);
// The erf and exp those use, on one value (for tests).
float adrnorm_erf(float x);
float adrnorm_exp(float x);
// Quantizes each row of w[rows][columns] to integers in ±limit with one
// scale per row (max |w| / limit; 1 for a zero row), rounding to nearest even;
// writes the row sums of the integers too.
void adrnorm_quantize_weights_s8(const float *w, long rows, long columns, int limit,
                                 int8_t *q, float *scales, int32_t *row_sums);
#endif
