#ifndef ADRNORM_COPENBLAS_SHIM_H
#define ADRNORM_COPENBLAS_SHIM_H
// Debian's libopenblas-dev installs cblas.h through the alternatives system
// (/usr/include/x86_64-linux-gnu/cblas.h -> openblas-pthread/cblas.h); it
// declares openblas_set_num_threads as well as the CBLAS interface.
#include <cblas.h>
#endif
