#ifndef ADRNORM_CDNNL_SHIM_H
#define ADRNORM_CDNNL_SHIM_H
// oneDNN (Debian's libdnnl-dev 2.6): the int8 GEMM (dnnl_gemm_u8s8s32) and
// the effective-ISA query.
#include <oneapi/dnnl/dnnl.h>
// Debian builds oneDNN on OpenMP (libgomp). omp.h lives in GCC's private
// include directory, which Swift's clang does not search, so the one call we
// need is declared here: each encoder worker thread sets its own OpenMP team
// size to 1, or every oneDNN call from two workers would start a team of
// all cores (four busy threads on two cores).
void omp_set_num_threads(int num_threads);
#endif
