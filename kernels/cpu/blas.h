/* Matrix products of the CPU kernels: OpenBLAS's sgemm, split over the
 * OpenMP threads by hand (kernels/cpu/blas.c). */
#ifndef GS_KERNELS_CPU_BLAS_H
#define GS_KERNELS_CPU_BLAS_H

/* c[m x n] = alpha a[m x k] b[k x n] + beta c, all row-major (b read as its
 * transpose, [n x k], when tb), on the calling thread alone. */
void gs_cpu_sgemm1(int tb, int m, int n, int k, float alpha, const float *a, int lda,
                   const float *b, int ldb, float beta, float *c, int ldc);

/* The same product (b not transposed) split over the OpenMP threads, each
 * calling a one-threaded sgemm on a slice of c. For a result as a whole,
 * OpenBLAS should be set to one thread while this runs (otherwise each slice
 * starts OpenBLAS's own threads too). Small products run on the caller. */
void gs_cpu_sgemm(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                  int ldb, float beta, float *c, int ldc);

#endif
