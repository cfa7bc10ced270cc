/* One layer on two backends from the same weights (kernels/compare.h).
 *
 * The weights are drawn on backend a (cuRAND on a GPU) and copied to the
 * reference: bf16 values are exact in fp32, so both run the same function
 * and only arithmetic differs. The error of a phase is max |a - b| / max |b|
 * over the rows it produced, a scale-free measure that an indexing or
 * algorithm error (an O(1) change of some outputs) cannot pass.
 *
 * Mixture-of-experts routing is discontinuous: a token whose k-th and
 * (k+1)-th router logits differ by less than the router's own numerical
 * error may pick a different expert on each backend, legitimately. Such a
 * token is counted as ambiguous and left out of the output error; the
 * router logits themselves are compared for every token. */
#include <math.h>
#include <string.h>

#include "kernels/compare.h"
#include "sim/alloc.h"
#include "sim/error.h"

static double rel_err(const float *a, const float *b, size_t rows, size_t cols,
                      const unsigned char *skip)
{
    double num = 0, den = 0;
    for (size_t r = 0; r < rows; r++) {
        if (skip && skip[r])
            continue;
        for (size_t c = 0; c < cols; c++) {
            double x = a[r * cols + c], y = b[r * cols + c];
            num = fmax(num, fabs(x - y));
            den = fmax(den, fabs(y));
        }
    }
    return isnan(num) ? INFINITY : num / (den > 0 ? den : 1);
}

/* Mark rows whose top-k set is within margin of changing; returns the count. */
static long mark_ambiguous(const float *logits, size_t rows, uint32_t e, uint32_t k,
                           double margin, unsigned char *skip)
{
    long n = 0;
    memset(skip, 0, rows);
    if (k >= e)
        return 0;
    for (size_t r = 0; r < rows; r++) {
        const float *l = logits + r * e;
        /* The k-th and (k+1)-th largest: count, for each value, how many
         * are larger (e is small). */
        double kth = -INFINITY, next = -INFINITY;
        for (uint32_t i = 0; i < e; i++) {
            uint32_t above = 0;
            for (uint32_t j = 0; j < e; j++)
                above += l[j] > l[i] || (l[j] == l[i] && j < i);
            if (above == k - 1)
                kth = l[i];
            else if (above == k)
                next = l[i];
        }
        if (kth - next <= margin) {
            skip[r] = 1;
            n++;
        }
    }
    return n;
}

static int copy_tensor(gs_kernel_layer *wa, const gs_kernel_backend *a, gs_kernel_layer *wb,
                       const gs_kernel_backend *b, gs_kernel_tensor t, size_t n, float *buf,
                       gs_diag *d)
{
    int rc = a->get(wa, t, buf, n, d);
    return rc ? rc : b->put(wb, t, buf, n, d);
}

typedef struct pair {
    const gs_kernel_backend *a, *b;
    gs_kernel_layer *wa, *wb;
    const gs_model_shape *m;
    float *x, *y;       /* scratch for the largest tensor */
} pair;

static size_t len(const pair *p, gs_kernel_tensor t)
{
    return gs_kernel_tensor_len(p->m, GS_COMPARE_BATCH, GS_COMPARE_TOKENS, t);
}

/* Output error of a run of rows rows, with MoE's ambiguous rows left out. */
static int measure(pair *p, size_t rows, double *err, double *router_err, long *ambiguous,
                   unsigned char *skip, gs_diag *d)
{
    const gs_model_shape *m = p->m;
    int rc;
    *ambiguous = 0;
    if (m->experts) {
        size_t n = len(p, GS_KT_ROUTER);
        if ((rc = p->a->get(p->wa, GS_KT_ROUTER, p->x, n, d)) ||
            (rc = p->b->get(p->wb, GS_KT_ROUTER, p->y, n, d)))
            return rc;
        double re = rel_err(p->x, p->y, rows, m->experts, NULL);
        double scale = 0;
        for (size_t i = 0; i < rows * m->experts; i++)
            scale = fmax(scale, fabs(p->y[i]));
        *router_err = fmax(*router_err, re);
        /* Twice the worst absolute router error, so that both backends'
         * deviations in opposite directions are covered. */
        *ambiguous = mark_ambiguous(p->y, rows, m->experts, m->top_k, 2 * re * scale, skip);
    }
    size_t n = len(p, GS_KT_OUTPUT);
    if ((rc = p->a->get(p->wa, GS_KT_OUTPUT, p->x, n, d)) ||
        (rc = p->b->get(p->wb, GS_KT_OUTPUT, p->y, n, d)))
        return rc;
    *err = rel_err(p->x, p->y, rows, m->d_model, m->experts ? skip : NULL);
    return GS_OK;
}

static int compare_runs(pair *p, gs_compare_result *out, unsigned char *skip, gs_diag *d)
{
    const gs_model_shape *m = p->m;
    int rc;
    double s;
    /* Everything the layer reads, from a to the reference. */
    for (int t = 0; t < GS_KT_COUNT; t++) {
        size_t n = len(p, (gs_kernel_tensor)t);
        if (n == 0 || t == GS_KT_OUTPUT || t == GS_KT_ROUTER || t == GS_KT_LOGITS)
            continue;
        if ((rc = copy_tensor(p->wa, p->a, p->wb, p->b, (gs_kernel_tensor)t, n, p->x, d)))
            return rc;
    }
    const uint32_t pb = 2, pt = 150, db = GS_COMPARE_BATCH, dt = 130;
    if ((rc = p->a->run_prefill(p->wa, pb, pt, &s, d)) ||
        (rc = p->b->run_prefill(p->wb, pb, pt, &s, d)) ||
        (rc = measure(p, (size_t)pb * pt, &out->prefill_err, &out->router_err,
                      &out->prefill_ambiguous, skip, d)))
        return rc;
    out->prefill_rows = (long)pb * pt;
    if ((rc = copy_tensor(p->wa, p->a, p->wb, p->b, GS_KT_K_CACHE, len(p, GS_KT_K_CACHE), p->x,
                          d)) ||
        (rc = copy_tensor(p->wa, p->a, p->wb, p->b, GS_KT_V_CACHE, len(p, GS_KT_V_CACHE), p->x,
                          d)))
        return rc;
    if ((rc = p->a->run_decode(p->wa, db, dt, &s, d)) ||
        (rc = p->b->run_decode(p->wb, db, dt, &s, d)) ||
        (rc = measure(p, db, &out->decode_err, &out->router_err, &out->decode_ambiguous, skip,
                      d)))
        return rc;
    out->decode_rows = db;
    if ((rc = copy_tensor(p->wa, p->a, p->wb, p->b, GS_KT_OUTPUT, len(p, GS_KT_OUTPUT), p->x,
                          d)) ||
        (rc = p->a->run_head(p->wa, db, &s, d)) || (rc = p->b->run_head(p->wb, db, &s, d)))
        return rc;
    size_t n = len(p, GS_KT_LOGITS);
    if ((rc = p->a->get(p->wa, GS_KT_LOGITS, p->x, n, d)) ||
        (rc = p->b->get(p->wb, GS_KT_LOGITS, p->y, n, d)))
        return rc;
    out->head_err = rel_err(p->x, p->y, db, m->vocab, NULL);
    return GS_OK;
}

int gs_kernel_compare(const gs_model_shape *m, const gs_kernel_backend *a,
                      const gs_kernel_backend *ref, uint64_t seed, double tol,
                      gs_compare_result *out, gs_diag *d)
{
    memset(out, 0, sizeof *out);
    out->tolerance = tol;
    pair p = {.a = a, .b = ref, .m = m};
    size_t big = 0;
    for (int t = 0; t < GS_KT_COUNT; t++) {
        size_t n = len(&p, (gs_kernel_tensor)t);
        big = n > big ? n : big;
    }
    int rc = a->alloc(&p.wa, m, GS_COMPARE_BATCH, GS_COMPARE_TOKENS, seed, d);
    if (rc)
        return rc;
    if ((rc = ref->alloc(&p.wb, m, GS_COMPARE_BATCH, GS_COMPARE_TOKENS, seed, d)))
        goto out_free_a;
    unsigned char *skip = gs_malloc((size_t)GS_COMPARE_BATCH * GS_COMPARE_TOKENS);
    p.x = gs_malloc(big * sizeof(float));
    p.y = gs_malloc(big * sizeof(float));
    if (!skip || !p.x || !p.y)
        rc = gs_error(d, GS_ENOMEM, "compare: out of memory");
    else
        rc = compare_runs(&p, out, skip, d);
    out->pass = rc == GS_OK && out->prefill_err <= tol && out->decode_err <= tol &&
                out->head_err <= tol && out->router_err <= tol;
    gs_free(skip);
    gs_free(p.x);
    gs_free(p.y);
    ref->free(p.wb);
out_free_a:
    a->free(p.wa);
    return rc;
}
