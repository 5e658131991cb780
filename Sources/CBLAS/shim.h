#ifndef REFOLD_CBLAS_SHIM_H
#define REFOLD_CBLAS_SHIM_H
/* BLIS's cblas.h defines _POSIX_C_SOURCE before including system headers, which
   would give them a different shape than in Swift's Glibc module; including those
   headers first, with the default feature set, keeps the two identical. */
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <float.h>
#include <errno.h>
#include <ctype.h>
#include <time.h>
#include <pthread.h>
#include <complex.h>
#include <cblas.h>

/* BLIS thread control (blis.h declares it with dim_t = int64_t). Kept here so
   the rest of Refold only ever sees refold_blas_set_threads. */
void bli_thread_set_num_threads(int64_t n);
int64_t bli_thread_get_num_threads(void);

static inline void refold_blas_set_threads(int n) { bli_thread_set_num_threads((int64_t)n); }
static inline int refold_blas_get_threads(void) { return (int)bli_thread_get_num_threads(); }
#endif
