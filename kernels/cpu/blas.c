/* Matrix products for the CPU kernels (kernels/cpu/blas.h).
 *
 * The split: by column blocks of c (each thread multiplies all of a by its
 * slice of b), or by row blocks when c is too narrow to give every thread a
 * useful slice, each thread calling a one-threaded cblas_sgemm. One pool of
 * threads (OpenMP's) then does all the work of a layer: two pools on the
 * same cores, each spin-waiting while the other runs (OpenMP for the
 * element-wise work, OpenBLAS's pthreads for the products), made short
 * decode passes up to ten times slower when tried. Column slices are
 * multiples of 16 so that the vector loops inside stay whole. */
#include <cblas.h>
#include <omp.h>
#include <stddef.h>

#include "kernels/cpu/blas.h"

/* Below this many multiply-adds a split costs more than it saves. */
#define SPLIT_MIN 262144.0

void gs_cpu_sgemm1(int tb, int m, int n, int k, float alpha, const float *a, int lda,
                   const float *b, int ldb, float beta, float *c, int ldc)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a,
                lda, b, ldb, beta, c, ldc);
}

void gs_cpu_sgemm(int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                  int ldb, float beta, float *c, int ldc)
{
    int nt = omp_get_max_threads();
    if (nt <= 1 || (double)m * n * k < SPLIT_MIN) {
        gs_cpu_sgemm1(0, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    int by_cols = n >= 64 * nt;
#pragma omp parallel num_threads(nt)
    {
        int id = omp_get_thread_num(), cnt = omp_get_num_threads();
        int len = by_cols ? n : m;
        int step = by_cols ? ((len + cnt - 1) / cnt + 15) / 16 * 16 : (len + cnt - 1) / cnt;
        int lo = id * step, hi = lo + step < len ? lo + step : len;
        if (lo < hi) {
            if (by_cols)
                gs_cpu_sgemm1(0, m, hi - lo, k, alpha, a, lda, b + lo, ldb, beta, c + lo, ldc);
            else
                gs_cpu_sgemm1(0, hi - lo, n, k, alpha, a + (size_t)lo * lda, lda, b, ldb, beta,
                              c + (size_t)lo * ldc, ldc);
        }
    }
}
