// OpenBLAS sgemm vs oneDNN dnnl_sgemm (and oneDNN's u8s8s32 int8 GEMM) on
// the shapes of a bert-base forward pass, the way adrnorm calls them: each of
// T threads multiplies its share of the batch's rows (M/T) single-threaded,
// all at once. Built and run by Scripts/bench-gemm; prints one JSON line per
// library and shape.
#include <oneapi/dnnl/dnnl.h>
#include <cblas.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void omp_set_num_threads(int);

enum { OPENBLAS, DNNL_SGEMM, DNNL_U8S8S32 };
static const char *names[] = {"openblas_sgemm", "onednn_sgemm", "onednn_gemm_u8s8s32"};

typedef struct { int library, m, n, k, repeats; double best; } Job;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static pthread_barrier_t barrier;

static void *run(void *arg) {
    Job *j = arg;
    omp_set_num_threads(1);
    long m = j->m, n = j->n, k = j->k;
    float *a = malloc(4 * m * k), *b = malloc(4 * n * k), *c = malloc(4 * m * n);
    uint8_t *au = malloc(m * k);
    int8_t *bs = malloc(n * k);
    int32_t *ci = malloc(4 * m * n), offset = 0;
    for (long i = 0; i < m * k; i++) { a[i] = (i % 7) * 0.01f; au[i] = i % 251; }
    for (long i = 0; i < n * k; i++) { b[i] = (i % 5) * 0.01f; bs[i] = i % 255 - 127; }
    j->best = 1e30;
    for (int r = 0; r < j->repeats; r++) {
        pthread_barrier_wait(&barrier);
        double start = now();
        if (j->library == OPENBLAS)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1, a, k, b, k, 0, c, n);
        else if (j->library == DNNL_SGEMM)
            dnnl_sgemm('N', 'T', m, n, k, 1, a, k, b, k, 0, c, n);
        else
            dnnl_gemm_u8s8s32('N', 'T', 'F', m, n, k, 1, au, k, 0, bs, k, 0, 0, ci, n, &offset);
        double t = now() - start;
        if (t < j->best) j->best = t;
    }
    free(a); free(b); free(c); free(au); free(bs); free(ci);
    return NULL;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2, repeats = argc > 2 ? atoi(argv[2]) : 5;
    if (threads < 1 || threads > 64 || repeats < 1) { fprintf(stderr, "usage: gemm_libraries [THREADS] [REPEATS]\n"); return 2; }
    openblas_set_num_threads(1);
    // M: a batch of 100 pairs of 64 tokens; N x K: fused QKV, FFN in, FFN out, attention output.
    int shapes[][3] = {{6400, 2304, 768}, {6400, 3072, 768}, {6400, 768, 3072}, {6400, 768, 768}, {64, 2304, 768}};
    for (unsigned s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        for (int library = 0; library < 3; library++) {
            Job jobs[64];
            pthread_t ids[64];
            pthread_barrier_init(&barrier, NULL, threads);
            int rows = (shapes[s][0] + threads - 1) / threads;
            for (int t = 0; t < threads; t++) {
                jobs[t] = (Job){library, rows, shapes[s][1], shapes[s][2], repeats, 0};
                pthread_create(&ids[t], NULL, run, &jobs[t]);
            }
            double slowest = 0;
            for (int t = 0; t < threads; t++) {
                pthread_join(ids[t], NULL);
                if (jobs[t].best > slowest) slowest = jobs[t].best;
            }
            pthread_barrier_destroy(&barrier);
            double ops = 2.0 * rows * threads * shapes[s][1] * shapes[s][2];
            printf("{\"library\": \"%s\", \"threads\": %d, \"m\": %d, \"n\": %d, \"k\": %d, \"%s\": %.1f}\n",
                   names[library], threads, rows * threads, shapes[s][1], shapes[s][2],
                   library == DNNL_U8S8S32 ? "gops" : "gflops", ops / slowest / 1e9);
            fflush(stdout);
        }
    }
    return 0;
}
