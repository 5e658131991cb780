#ifndef REFOLD_CFFTW_SHIM_H
#define REFOLD_CFFTW_SHIM_H
#include <fftw3.h>
#endif
