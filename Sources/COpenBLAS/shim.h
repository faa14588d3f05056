// The C interface of OpenBLAS: cblas_sgemm and the thread-count controls.
#include <cblas.h>
