/* Known-answer tests of analysis/theory.c. Every expected value is either a
 * textbook table value, a hand computation shown beside it, or the same
 * quantity computed by an independent method written differently here
 * (direct sums in log space, numerical integration with GSL, a birth-death
 * chain, brute-force enumeration of the product form). */
#include <math.h>
#include <stdlib.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_integration.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sf_lambert.h>

#include "analysis/theory.h"
#include "sim/alloc.h"
#include "sim/error.h"
#include "tests/check.h"

/* |a/b - 1| <= tol, for values whose scale varies. */
#define CHECK_REL(a, b, tol) CHECK_NEAR((a) / (b), 1.0, (tol))

/* ---------------------------------------------------------------- Erlang */

/* Erlang B as the ratio of the last Poisson term to the truncated Poisson
 * sum, each term a^k / k! formed in log space with lgamma: a different
 * route from the recursion under test. */
static double erlang_b_direct(long c, double a)
{
    double lmax = -INFINITY;
    for (long k = 0; k <= c; k++) {
        double l = (double)k * log(a) - lgamma((double)k + 1.0);
        if (l > lmax)
            lmax = l;
    }
    double sum = 0.0;
    for (long k = 0; k <= c; k++)
        sum += exp((double)k * log(a) - lgamma((double)k + 1.0) - lmax);
    return exp((double)c * log(a) - lgamma((double)c + 1.0) - lmax) / sum;
}

/* Erlang C from its defining sum (Kleinrock vol. 1, eq. 3.40):
 * C = [a^c/c! c/(c-a)] / [sum_{k<c} a^k/k! + a^c/c! c/(c-a)]. Small c only. */
static double erlang_c_direct(long c, double a)
{
    double term = 1.0, sum = 0.0;
    for (long k = 0; k < c; k++) {
        sum += term;
        term *= a / (double)(k + 1);
    }
    double top = term * (double)c / ((double)c - a);
    return top / (sum + top);
}

static void test_erlang(void)
{
    /* Erlang B tables (e.g. Gross & Harris, Table of the Erlang loss
     * formula): 10 servers offered 5 erlangs block 1.8384 %. */
    CHECK_NEAR(gs_erlang_b(10, 5.0), 0.018384, 1e-6);
    /* One server: B = a / (1 + a). */
    const double as[] = {0.0, 0.1, 1.0, 3.7, 250.0};
    for (size_t i = 0; i < sizeof as / sizeof as[0]; i++)
        CHECK_NEAR(gs_erlang_b(1, as[i]), as[i] / (1.0 + as[i]), 1e-15);
    CHECK_NEAR(gs_erlang_b(0, 3.0), 1.0, 0.0);
    CHECK_NEAR(gs_erlang_b(5, 0.0), 0.0, 0.0);
    /* B(100, 80) is about 0.004. */
    double b100 = gs_erlang_b(100, 80.0);
    CHECK_NEAR(b100, 0.004, 0.001);
    CHECK_REL(b100, erlang_b_direct(100, 80.0), 1e-10);
    CHECK_REL(gs_erlang_b(1000, 950.0), erlang_b_direct(1000, 950.0), 1e-9);
    CHECK_REL(gs_erlang_b(7, 12.5), erlang_b_direct(7, 12.5), 1e-12);

    /* Erlang C(2, 1): B(2, 1) = (1/2) / (1 + 1 + 1/2) = 1/5 and
     * C = 2 (1/5) / (2 - 1 (4/5)) = 1/3. */
    CHECK_NEAR(gs_erlang_c(2, 1.0), 1.0 / 3.0, 1e-15);
    CHECK_NEAR(gs_erlang_c(1, 0.8), 0.8, 1e-15); /* M/M/1: P(wait) = rho */
    CHECK_REL(gs_erlang_c(4, 3.2), erlang_c_direct(4, 3.2), 1e-13);
    CHECK_REL(gs_erlang_c(10, 9.99), erlang_c_direct(10, 9.99), 1e-12);
    CHECK_NEAR(gs_erlang_c(3, 0.0), 0.0, 0.0);

    CHECK(isnan(gs_erlang_b(-1, 1.0)));
    CHECK(isnan(gs_erlang_b(3, -0.5)));
    CHECK(isnan(gs_erlang_b(3, NAN)));
    CHECK(isnan(gs_erlang_b(3, INFINITY)));
    CHECK(isnan(gs_erlang_c(0, 0.5)));
    CHECK(isnan(gs_erlang_c(2, 2.0)));
    CHECK(isnan(gs_erlang_c(2, 3.0)));
    CHECK(isnan(gs_erlang_c(2, NAN)));
}

/* ------------------------------------------------------------ M/M/1, M/M/c */

static int all_nan(const gs_queue_theory *q)
{
    return isnan(q->utilization) && isnan(q->wait_mean) && isnan(q->response_mean) &&
           isnan(q->queue_mean) && isnan(q->in_system_mean) && isnan(q->blocked) &&
           isnan(q->throughput);
}

static void check_same_queue(const gs_queue_theory *a, const gs_queue_theory *b, double tol)
{
    CHECK_REL(a->utilization, b->utilization, tol);
    CHECK_REL(a->wait_mean, b->wait_mean, tol);
    CHECK_REL(a->response_mean, b->response_mean, tol);
    CHECK_REL(a->queue_mean, b->queue_mean, tol);
    CHECK_REL(a->in_system_mean, b->in_system_mean, tol);
    CHECK_NEAR(a->blocked, b->blocked, tol);
    CHECK_REL(a->throughput, b->throughput, tol);
}

static void test_mmc(void)
{
    gs_queue_theory q;
    /* M/M/1, lambda 0.8, mu 1: rho 0.8, W = 1/(mu - lambda) = 5, Wq = rho W
     * = 4, L = lambda W = 4, Lq = lambda Wq = 3.2. */
    CHECK_EQ(gs_theory_mmc(0.8, 1.0, 1, &q), 0);
    CHECK_NEAR(q.utilization, 0.8, 1e-15);
    CHECK_NEAR(q.response_mean, 5.0, 1e-13);
    CHECK_NEAR(q.wait_mean, 4.0, 1e-13);
    CHECK_NEAR(q.in_system_mean, 4.0, 1e-13);
    CHECK_NEAR(q.queue_mean, 3.2, 1e-13);
    CHECK_NEAR(q.blocked, 0.0, 0.0);
    CHECK_NEAR(q.throughput, 0.8, 0.0);
    /* Response time Exp(0.2): p50 = 5 ln 2, p99 = 5 ln 100. */
    CHECK_NEAR(gs_mm1_response_quantile(0.8, 1.0, 0.5), 5.0 * log(2.0), 1e-13);
    CHECK_NEAR(gs_mm1_response_quantile(0.8, 1.0, 0.99), 5.0 * log(100.0), 1e-12);
    CHECK_NEAR(gs_mm1_response_quantile(0.8, 1.0, 0.0), 0.0, 0.0);

    /* M/M/2, lambda 1, mu 1 (a = 1): C = 1/3 (above), Wq = C / (2 - 1) =
     * 1/3, W = 4/3, Lq = 1/3, L = 4/3, utilisation 1/2. */
    CHECK_EQ(gs_theory_mmc(1.0, 1.0, 2, &q), 0);
    CHECK_NEAR(q.utilization, 0.5, 1e-15);
    CHECK_NEAR(q.wait_mean, 1.0 / 3.0, 1e-15);
    CHECK_NEAR(q.response_mean, 4.0 / 3.0, 1e-15);
    CHECK_NEAR(q.queue_mean, 1.0 / 3.0, 1e-15);
    CHECK_NEAR(q.in_system_mean, 4.0 / 3.0, 1e-15);

    /* The validate case: M/M/4, lambda 3200, mu 1000. Wq = C / (4000 - 3200)
     * with C from the defining sum. */
    CHECK_EQ(gs_theory_mmc(3200.0, 1000.0, 4, &q), 0);
    CHECK_REL(q.wait_mean, erlang_c_direct(4, 3.2) / 800.0, 1e-13);
    CHECK_REL(q.response_mean, erlang_c_direct(4, 3.2) / 800.0 + 0.001, 1e-13);
    CHECK_NEAR(q.utilization, 0.8, 1e-15);

    /* lambda = 0: nobody waits. */
    CHECK_EQ(gs_theory_mmc(0.0, 2.0, 3, &q), 0);
    CHECK_NEAR(q.wait_mean, 0.0, 0.0);
    CHECK_NEAR(q.response_mean, 0.5, 0.0);

    /* Unstable and bad input. */
    CHECK_EQ(gs_theory_mmc(1.0, 1.0, 1, &q), -1);
    CHECK(all_nan(&q));
    CHECK_EQ(gs_theory_mmc(2.5, 1.0, 2, &q), -1);
    CHECK_EQ(gs_theory_mmc(0.5, 0.0, 1, &q), -1);
    CHECK_EQ(gs_theory_mmc(0.5, 1.0, 0, &q), -1);
    CHECK_EQ(gs_theory_mmc(-0.5, 1.0, 1, &q), -1);
    CHECK_EQ(gs_theory_mmc(NAN, 1.0, 1, &q), -1);
    CHECK(isnan(gs_mm1_response_quantile(1.0, 1.0, 0.5)));
    CHECK(isnan(gs_mm1_response_quantile(0.5, 1.0, 1.0)));
    CHECK(isnan(gs_mm1_response_quantile(0.5, 1.0, -0.1)));
    CHECK(isnan(gs_mm1_response_quantile(0.5, 1.0, NAN)));
}

/* The M/M/c response-time CDF as a convolution computed numerically:
 *   F(t) = (1 - C)(1 - e^{-mu t}) + C int_0^t g e^{-g s} (1 - e^{-mu (t - s)}) ds,
 * g = c mu - lambda, with C from the defining sum and the integral by GSL's
 * adaptive QAGS. Shares nothing with the closed form under test. */
typedef struct conv_args {
    double g, mu, t;
} conv_args;

static double conv_integrand(double s, void *p)
{
    const conv_args *a = p;
    return a->g * exp(-a->g * s) * -expm1(-a->mu * (a->t - s));
}

static double mmc_cdf_numeric(double lambda, double mu, long c, double t)
{
    double erl_c = erlang_c_direct(c, lambda / mu);
    conv_args args = {(double)c * mu - lambda, mu, t};
    gsl_function f = {conv_integrand, &args};
    gsl_integration_workspace *w = gsl_integration_workspace_alloc(200);
    double val = NAN, err = NAN;
    int rc = gsl_integration_qags(&f, 0.0, t, 1e-14, 1e-12, 200, w, &val, &err);
    gsl_integration_workspace_free(w);
    CHECK_EQ(rc, GSL_SUCCESS);
    return (1.0 - erl_c) * -expm1(-mu * t) + erl_c * val;
}

static void test_mmc_quantile(void)
{
    /* c = 1 must agree with the M/M/1 formula. */
    const double qs[] = {1e-6, 0.01, 0.25, 0.5, 0.9, 0.99, 0.999, 0.999999};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        CHECK_REL(gs_mmc_response_quantile(0.8, 1.0, 1, qs[i]),
                  gs_mm1_response_quantile(0.8, 1.0, qs[i]), 1e-12);
        CHECK_REL(gs_mmc_response_quantile(800.0, 1000.0, 1, qs[i]),
                  gs_mm1_response_quantile(800.0, 1000.0, qs[i]), 1e-12);
    }
    CHECK_REL(gs_mmc_response_quantile(0.8, 1.0, 1, 0.99), 5.0 * log(100.0), 1e-12);
    CHECK_REL(gs_mmc_response_cdf(0.8, 1.0, 1, 3.0), -expm1(-0.2 * 3.0), 1e-14);

    /* c > 1: the CDF at the returned quantile, evaluated by numerical
     * convolution, is q. Cases: c mu - lambda above mu, below mu (the
     * validate case, 4000 - 3200 = 800 < 1000), exactly mu (lambda = mu,
     * c = 2: the Erlang-2 limit) and within rounding of mu. */
    struct {
        double lambda, mu;
        long c;
    } cases[] = {
        {1.0, 1.0, 2}, {0.5, 1.0, 2}, {1.9, 1.0, 2}, {3200.0, 1000.0, 4},
        {1.0 + 1e-9, 1.0, 2}, {1.0 - 1e-12, 1.0, 2}, {30.0, 1.0, 40}, {7.0, 2.0, 4},
    };
    const double cq[] = {0.05, 0.5, 0.9, 0.99, 0.9999};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        for (size_t i = 0; i < sizeof cq / sizeof cq[0]; i++) {
            double t = gs_mmc_response_quantile(cases[k].lambda, cases[k].mu, cases[k].c, cq[i]);
            CHECK(t > 0.0);
            CHECK_NEAR(mmc_cdf_numeric(cases[k].lambda, cases[k].mu, cases[k].c, t), cq[i], 1e-9);
            CHECK_NEAR(gs_mmc_response_cdf(cases[k].lambda, cases[k].mu, cases[k].c, t), cq[i],
                       1e-12);
        }
    }
    /* The lower tail keeps its relative accuracy: small t, tiny CDF. */
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        double t = 1e-4 / cases[k].mu;
        CHECK_REL(gs_mmc_response_cdf(cases[k].lambda, cases[k].mu, cases[k].c, t),
                  mmc_cdf_numeric(cases[k].lambda, cases[k].mu, cases[k].c, t), 1e-9);
    }
    /* The Erlang-2 limit by hand: lambda = mu = 1, c = 2, C = 1/3, rates equal,
     * P(T > t) = (2/3) e^{-t} + (1/3) e^{-t}(1 + t) = e^{-t}(1 + t/3). */
    for (double t = 0.25; t < 20.0; t *= 2.0)
        CHECK_NEAR(gs_mmc_response_cdf(1.0, 1.0, 2, t), 1.0 - exp(-t) * (1.0 + t / 3.0), 1e-15);
    /* Continuity across the equal-rate point. */
    double t_eq = gs_mmc_response_quantile(1.0, 1.0, 2, 0.99);
    CHECK_REL(gs_mmc_response_quantile(1.0 + 1e-10, 1.0, 2, 0.99), t_eq, 1e-9);
    CHECK_REL(gs_mmc_response_quantile(1.0 - 1e-10, 1.0, 2, 0.99), t_eq, 1e-9);

    /* The quantile rises with q and with load. */
    CHECK(gs_mmc_response_quantile(3200.0, 1000.0, 4, 0.99) >
          gs_mmc_response_quantile(3200.0, 1000.0, 4, 0.9));
    CHECK(gs_mmc_response_quantile(3600.0, 1000.0, 4, 0.99) >
          gs_mmc_response_quantile(3200.0, 1000.0, 4, 0.99));
    CHECK_NEAR(gs_mmc_response_quantile(3200.0, 1000.0, 4, 0.0), 0.0, 0.0);
    CHECK_NEAR(gs_mmc_response_cdf(3200.0, 1000.0, 4, -1.0), 0.0, 0.0);
    CHECK_NEAR(gs_mmc_response_cdf(3200.0, 1000.0, 4, 0.0), 0.0, 0.0);

    CHECK(isnan(gs_mmc_response_quantile(2.0, 1.0, 2, 0.5)));
    CHECK(isnan(gs_mmc_response_quantile(1.0, 1.0, 2, 1.0)));
    CHECK(isnan(gs_mmc_response_quantile(1.0, 1.0, 0, 0.5)));
    CHECK(isnan(gs_mmc_response_quantile(1.0, 1.0, 2, NAN)));
    CHECK(isnan(gs_mmc_response_cdf(1.0, 1.0, 2, NAN)));
    CHECK(isnan(gs_mmc_response_cdf(3.0, 1.0, 2, 1.0)));
}

/* ------------------------------------------------------------------ M/G/1 */

static void test_mg1(void)
{
    gs_queue_theory q, r;
    /* M/D/1, lambda 0.5, E[S] = 1: Wq = lambda E[S^2] / (2 (1 - rho)) =
     * 0.5 / (2 * 0.5) = 0.5, W = 1.5, Lq = 0.25, L = 0.75. */
    CHECK_EQ(gs_theory_mg1(0.5, 1.0, 0.0, &q), 0);
    CHECK_NEAR(q.wait_mean, 0.5, 1e-15);
    CHECK_NEAR(q.response_mean, 1.5, 1e-15);
    CHECK_NEAR(q.queue_mean, 0.25, 1e-15);
    CHECK_NEAR(q.in_system_mean, 0.75, 1e-15);
    CHECK_NEAR(q.utilization, 0.5, 1e-15);
    /* Exponential service (var = mean^2) is M/M/1. */
    CHECK_EQ(gs_theory_mg1(800.0, 0.001, 1e-6, &q), 0);
    CHECK_EQ(gs_theory_mmc(800.0, 1000.0, 1, &r), 0);
    check_same_queue(&q, &r, 1e-12);
    /* M/D/1 waits half as long as M/M/1 at the same load. */
    CHECK_EQ(gs_theory_mg1(800.0, 0.001, 0.0, &q), 0);
    CHECK_REL(q.wait_mean, r.wait_mean / 2.0, 1e-12);

    CHECK_EQ(gs_theory_mg1(1.0, 1.0, 0.0, &q), -1);
    CHECK(all_nan(&q));
    CHECK_EQ(gs_theory_mg1(0.5, 0.0, 0.0, &q), -1);
    CHECK_EQ(gs_theory_mg1(0.5, 1.0, -1.0, &q), -1);
    CHECK_EQ(gs_theory_mg1(0.5, 1.0, INFINITY, &q), -1);
}

/* ---------------------------------------------------------------- M/M/c/K */

static void test_mmck(void)
{
    gs_queue_theory q, r;
    /* rho = 1 (lambda = mu, c = 1): all K + 1 states equally likely, so
     * blocking 1/(K+1) and L = K/2 -- where (1-rho)/(1-rho^{K+1}) is 0/0. */
    const long ks[] = {1, 2, 5, 100, 10000};
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        double k = (double)ks[i];
        CHECK_EQ(gs_theory_mmck(3.0, 3.0, 1, ks[i], &q), 0);
        CHECK_REL(q.blocked, 1.0 / (k + 1.0), 1e-12);
        CHECK_REL(q.in_system_mean, k / 2.0, 1e-12);
        CHECK_REL(q.throughput, 3.0 * k / (k + 1.0), 1e-12);
    }
    /* M/M/1/5, lambda 0.5, mu 1: p_K = (1 - rho) rho^K / (1 - rho^{K+1}) =
     * 0.5 * 0.5^5 / (1 - 0.5^6) = 1/63; L from the truncated geometric sum
     * sum n rho^n (1 - rho) / (1 - rho^6). */
    CHECK_EQ(gs_theory_mmck(0.5, 1.0, 1, 5, &q), 0);
    CHECK_REL(q.blocked, 0.5 * pow(0.5, 5) / (1.0 - pow(0.5, 6)), 1e-14);
    CHECK_REL(q.blocked, 1.0 / 63.0, 1e-14);
    double l_geo = 0.0;
    for (int n = 0; n <= 5; n++)
        l_geo += n * pow(0.5, n) * 0.5 / (1.0 - pow(0.5, 6));
    CHECK_REL(q.in_system_mean, l_geo, 1e-14);
    CHECK_REL(q.throughput, 0.5 * 62.0 / 63.0, 1e-14);
    CHECK_REL(q.response_mean, l_geo / (0.5 * 62.0 / 63.0), 1e-14);
    CHECK_REL(q.utilization, 0.5 * 62.0 / 63.0, 1e-14);

    /* M/M/2/4, lambda = mu = 1, by hand: unnormalised p = 1, 1, 1/2, 1/4,
     * 1/8 (sum 23/8), so p_4 = 1/23, L = (1 + 1 + 3/4 + 1/2) 8/23 = 26/23,
     * Lq = (1/4 + 2/8) 8/23 = 4/23, X = 22/23, W = L/X = 13/11,
     * Wq = 2/11, utilisation X / 2 = 11/23. */
    CHECK_EQ(gs_theory_mmck(1.0, 1.0, 2, 4, &q), 0);
    CHECK_REL(q.blocked, 1.0 / 23.0, 1e-14);
    CHECK_REL(q.in_system_mean, 26.0 / 23.0, 1e-14);
    CHECK_REL(q.queue_mean, 4.0 / 23.0, 1e-14);
    CHECK_REL(q.throughput, 22.0 / 23.0, 1e-14);
    CHECK_REL(q.response_mean, 13.0 / 11.0, 1e-14);
    CHECK_REL(q.wait_mean, 2.0 / 11.0, 1e-14);
    CHECK_REL(q.utilization, 11.0 / 23.0, 1e-14);

    /* M/M/c/c is the Erlang loss system. */
    CHECK_EQ(gs_theory_mmck(5.0, 1.0, 10, 10, &q), 0);
    CHECK_REL(q.blocked, gs_erlang_b(10, 5.0), 1e-13);
    CHECK_NEAR(q.queue_mean, 0.0, 0.0);
    CHECK_EQ(gs_theory_mmck(80.0, 1.0, 100, 100, &q), 0);
    CHECK_REL(q.blocked, erlang_b_direct(100, 80.0), 1e-10);
    CHECK_REL(q.in_system_mean, 80.0 * (1.0 - q.blocked), 1e-12); /* L = a (1 - B) */

    /* A large buffer at rho 0.9 is M/M/1 (rho^5000 ~ 1e-229), with no
     * overflow on the way. Same for M/M/3. */
    CHECK_EQ(gs_theory_mmck(0.9, 1.0, 1, 5000, &q), 0);
    CHECK_EQ(gs_theory_mmc(0.9, 1.0, 1, &r), 0);
    check_same_queue(&q, &r, 1e-10);
    CHECK_EQ(gs_theory_mmck(2.7, 1.0, 3, 5000, &q), 0);
    CHECK_EQ(gs_theory_mmc(2.7, 1.0, 3, &r), 0);
    check_same_queue(&q, &r, 1e-10);
    /* Overload: lambda 1.5, mu 1, K large. The chain piles up at K; blocking
     * tends to 1 - 1/rho = 1/3 and the server is always busy. */
    CHECK_EQ(gs_theory_mmck(1.5, 1.0, 1, 20000, &q), 0);
    CHECK_REL(q.blocked, 1.0 / 3.0, 1e-10);
    CHECK_REL(q.throughput, 1.0, 1e-10);
    CHECK_REL(q.utilization, 1.0, 1e-10);
    CHECK(isfinite(q.in_system_mean) && q.in_system_mean > 19990.0);
    /* Extreme overload keeps 1 - p_K accurate: p_{K-1} / p_K = mu / lambda. */
    CHECK_EQ(gs_theory_mmck(1e6, 1.0, 1, 3, &q), 0);
    CHECK_REL(q.throughput, 1e6 * (1e-6 + 1e-12 + 1e-18) / (1.0 + 1e-6 + 1e-12 + 1e-18),
              1e-13);

    /* lambda = 0: empty system, limits for the waits. */
    CHECK_EQ(gs_theory_mmck(0.0, 2.0, 1, 3, &q), 0);
    CHECK_NEAR(q.blocked, 0.0, 0.0);
    CHECK_NEAR(q.response_mean, 0.5, 0.0);

    CHECK_EQ(gs_theory_mmck(1.0, 1.0, 2, 1, &q), -1);
    CHECK(all_nan(&q));
    CHECK_EQ(gs_theory_mmck(1.0, 1.0, 0, 1, &q), -1);
    CHECK_EQ(gs_theory_mmck(1.0, 0.0, 1, 1, &q), -1);
    CHECK_EQ(gs_theory_mmck(-1.0, 1.0, 1, 1, &q), -1);
    CHECK_EQ(gs_theory_mmck(INFINITY, 1.0, 1, 1, &q), -1);
}

/* -------------------------------------------------------------------- MVA */

/* Machine-repairman M/M/c//N: N users think Exp(Z), then queue at one
 * station of c servers with mean service D. Birth-death chain on the number
 * k at the station: up rate (N - k)/Z, down rate min(k, c)/D, solved in log
 * space. Gives throughput and the station's mean response time. */
static void repairman(long users, double z, double d, long c, double *x, double *r)
{
    double *l = malloc((size_t)(users + 1) * sizeof *l);
    l[0] = 0.0;
    double lmax = 0.0;
    for (long k = 1; k <= users; k++) {
        l[k] = l[k - 1] + log((double)(users - k + 1) / z) -
               log((double)(k < c ? k : c) / d);
        if (l[k] > lmax)
            lmax = l[k];
    }
    double tot = 0.0, thr = 0.0, mean = 0.0;
    for (long k = 0; k <= users; k++) {
        double p = exp(l[k] - lmax);
        tot += p;
        thr += p * (double)(k < c ? k : c) / d;
        mean += p * (double)k;
    }
    free(l);
    *x = thr / tot;
    *r = (mean / tot) / *x;
}

/* Brute-force product form: enumerate every way of spreading `users`
 * customers over the think station and the stations, weight
 *   Z^{n0} / n0! * prod_i D_i^{n_i} / prod_{j<=n_i} min(j, c_i),
 * and read X = G(N-1)/G(N), Q_i = E[n_i]. Small N and few stations only. */
#define BF_MAX 4

typedef struct bf {
    size_t m;
    double z, d[BF_MAX];
    long c[BF_MAX];
    double g, q[BF_MAX];
} bf;

static double bf_station_weight(double d, long c, long k)
{
    double w = 1.0;
    for (long j = 1; j <= k; j++)
        w *= d / (double)(j < c ? j : c);
    return w;
}

static void bf_walk(bf *b, size_t i, long left, double w, long *n)
{
    if (i == b->m) {
        double wz = 1.0;
        for (long j = 1; j <= left; j++)
            wz *= b->z / (double)j;
        if (b->z == 0.0 && left > 0)
            wz = 0.0;
        b->g += w * wz;
        for (size_t s = 0; s < b->m; s++)
            b->q[s] += (double)n[s] * w * wz;
        return;
    }
    if (i >= BF_MAX)
        return;   /* m <= BF_MAX; says so to GCC, whose -O3 inlining warns */
    for (long k = 0; k <= left; k++) {
        n[i] = k;
        bf_walk(b, i + 1, left - k, w * bf_station_weight(b->d[i], b->c[i], k), n);
    }
}

static void brute_force(long users, double z, size_t m, const double *d, const long *c,
                        double *x, double *r)
{
    bf full = {.m = m, .z = z}, less = {.m = m, .z = z};
    for (size_t i = 0; i < m; i++) {
        full.d[i] = less.d[i] = d[i];
        full.c[i] = less.c[i] = c[i];
    }
    long n[BF_MAX];
    bf_walk(&full, 0, users, 1.0, n);
    bf_walk(&less, 0, users - 1, 1.0, n);
    *x = less.g / full.g;
    for (size_t i = 0; i < m; i++)
        r[i] = full.q[i] / full.g / *x;
}

static void test_mva_single_server(void)
{
    double x, r, sr[3], su[3];
    const double d1[] = {0.01};
    const long c1[] = {1};
    /* One station, no think: it is never idle, X = 1/D for every N and
     * R = N D. */
    for (long n = 1; n <= 50; n += 7) {
        CHECK_EQ(gs_theory_mva(n, 0.0, 1, d1, c1, &x, &r, sr, su), 0);
        CHECK_REL(x, 100.0, 1e-13);
        CHECK_REL(r, (double)n * 0.01, 1e-13);
        CHECK_REL(su[0], 1.0, 1e-13);
    }
    /* With think time X(N) rises to 1/D: N* = (Z + D)/D = 101, and far
     * beyond it the station is saturated. */
    CHECK_EQ(gs_theory_mva(1000, 1.0, 1, d1, c1, &x, &r, sr, su), 0);
    CHECK_REL(x, 100.0, 1e-12);
    CHECK_REL(r, 1000.0 / 100.0 - 1.0, 1e-10); /* R = N/X - Z */
    /* N = 1: R = D, X = 1/(Z + D). */
    CHECK_EQ(gs_theory_mva(1, 2.0, 1, d1, c1, &x, &r, sr, su), 0);
    CHECK_REL(r, 0.01, 1e-15);
    CHECK_REL(x, 1.0 / 2.01, 1e-15);
    /* servers == NULL means single-server; outputs may be NULL. */
    CHECK_EQ(gs_theory_mva(1, 2.0, 1, d1, NULL, &x, NULL, NULL, NULL), 0);
    CHECK_REL(x, 1.0 / 2.01, 1e-15);

    /* Two stations, D = (1, 2), Z = 2, by hand with R_i(n) = D_i (1 +
     * Q_i(n-1)), X(n) = n / (Z + R_1 + R_2), Q_i(n) = X(n) R_i(n):
     *  n = 1: R = (1, 2),        X = 1/5,         Q = (1/5, 2/5)
     *  n = 2: R = (6/5, 14/5),   X = 2/6 = 1/3,   Q = (2/5, 14/15)
     *  n = 3: R = (7/5, 58/15),  X = 3/(2 + 79/15) = 45/109. */
    const double d2[] = {1.0, 2.0};
    const long c2[] = {1, 1};
    const double hand_x[] = {1.0 / 5.0, 1.0 / 3.0, 45.0 / 109.0};
    const double hand_r[][2] = {{1.0, 2.0}, {6.0 / 5.0, 14.0 / 5.0}, {7.0 / 5.0, 58.0 / 15.0}};
    for (long n = 1; n <= 3; n++) {
        CHECK_EQ(gs_theory_mva(n, 2.0, 2, d2, c2, &x, &r, sr, su), 0);
        CHECK_REL(x, hand_x[n - 1], 1e-15);
        CHECK_REL(sr[0], hand_r[n - 1][0], 1e-15);
        CHECK_REL(sr[1], hand_r[n - 1][1], 1e-15);
        CHECK_REL(r, hand_r[n - 1][0] + hand_r[n - 1][1], 1e-15);
        CHECK_REL(su[0], hand_x[n - 1] * 1.0, 1e-15);
        CHECK_REL(su[1], hand_x[n - 1] * 2.0, 1e-15);
    }
    /* The same stations with no think time: n = 2 gives R = (4/3, 10/3),
     * X = 3/7; n = 3 gives R = (11/7, 34/7), X = 7/15. */
    CHECK_EQ(gs_theory_mva(3, 0.0, 2, d2, c2, &x, &r, sr, su), 0);
    CHECK_REL(x, 7.0 / 15.0, 1e-15);
    CHECK_REL(sr[0], 11.0 / 7.0, 1e-15);
    CHECK_REL(sr[1], 34.0 / 7.0, 1e-15);

    /* A three-station network against brute-force enumeration. */
    const double d3[] = {0.3, 0.7, 0.2};
    const long c3[] = {1, 1, 1};
    double bx, br[3];
    for (long n = 1; n <= 8; n++) {
        CHECK_EQ(gs_theory_mva(n, 1.5, 3, d3, c3, &x, &r, sr, su), 0);
        brute_force(n, 1.5, 3, d3, c3, &bx, br);
        CHECK_REL(x, bx, 1e-12);
        for (int i = 0; i < 3; i++)
            CHECK_REL(sr[i], br[i], 1e-12);
    }
}

static void test_mva_multi_server(void)
{
    double x, r, sr[4], su[4];
    /* c >= N: nobody ever waits, a delay station (R = D), and the network
     * is a pure delay: X = N / (Z + D). */
    const double d[] = {0.5};
    const long c8[] = {8};
    for (long n = 1; n <= 8; n++) {
        CHECK_EQ(gs_theory_mva(n, 1.0, 1, d, c8, &x, &r, sr, su), 0);
        CHECK_REL(sr[0], 0.5, 1e-15);
        CHECK_REL(x, (double)n / 1.5, 1e-15);
        CHECK_REL(su[0], x * 0.5 / 8.0, 1e-15);
    }

    /* One station with c servers and think Z is the machine-repairman
     * model M/M/c//N, solved here as a birth-death chain. The last rows are
     * high-load cases where the load-dependent MVA recursion in double
     * precision is known to go wrong. */
    struct {
        long users, c;
        double z, d;
    } cases[] = {
        {3, 2, 1.0, 0.5},   {10, 2, 0.1, 0.05}, {20, 2, 0.1, 0.008}, {50, 3, 2.0, 0.1},
        {200, 4, 1.0, 0.02}, {100, 16, 0.625, 1.0}, {100, 64, 1.5625, 1.0},
        {500, 16, 31.25, 1.0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const double dk[] = {cases[k].d};
        const long ck[] = {cases[k].c};
        double rx, rr;
        CHECK_EQ(gs_theory_mva(cases[k].users, cases[k].z, 1, dk, ck, &x, &r, sr, su), 0);
        repairman(cases[k].users, cases[k].z, cases[k].d, cases[k].c, &rx, &rr);
        CHECK_REL(x, rx, 1e-10);
        CHECK_REL(r, rr, 1e-9);
        CHECK_REL(su[0], rx * cases[k].d / (double)cases[k].c, 1e-10);
        /* The interactive response-time law: N = X (Z + R). */
        CHECK_REL(x * (cases[k].z + r), (double)cases[k].users, 1e-10);
    }

    /* One two-server station and no think time: both servers always busy,
     * X = 2/D, and R = N/X by Little. */
    const double d1[] = {0.25};
    const long c2[] = {2};
    CHECK_EQ(gs_theory_mva(7, 0.0, 1, d1, c2, &x, &r, sr, su), 0);
    CHECK_REL(x, 8.0, 1e-13);
    CHECK_REL(r, 7.0 / 8.0, 1e-13);
    CHECK_REL(su[0], 1.0, 1e-13);

    /* Mixed networks against brute-force enumeration of the product form,
     * with and without think time, with a zero-demand station. */
    const double dm[] = {0.3, 0.7, 0.0, 0.4};
    const long cm[] = {1, 2, 5, 3};
    const double dbf[] = {0.3, 0.7, 0.4};
    const long cbf[] = {1, 2, 3};
    double bx, br[3];
    for (long n = 1; n <= 9; n++) {
        for (int zi = 0; zi < 2; zi++) {
            double z = zi ? 1.1 : 0.0;
            CHECK_EQ(gs_theory_mva(n, z, 4, dm, cm, &x, &r, sr, su), 0);
            brute_force(n, z, 3, dbf, cbf, &bx, br);
            CHECK_REL(x, bx, 1e-11);
            CHECK_REL(sr[0], br[0], 1e-11);
            CHECK_REL(sr[1], br[1], 1e-11);
            CHECK_NEAR(sr[2], 0.0, 0.0);
            CHECK_REL(sr[3], br[2], 1e-11);
            CHECK_REL(r, br[0] + br[1] + br[2], 1e-11);
            CHECK_REL(su[1], bx * 0.7 / 2.0, 1e-11);
            CHECK_NEAR(su[2], 0.0, 0.0);
        }
    }

    /* The validate case (N = 20, Z = 0.1, D = (5 ms, 8 ms), c = (1, 2)),
     * against enumeration of its 231 states; and the interactive response
     * time law N = X (Z + R). */
    const double dv[] = {0.005, 0.008};
    const long cv[] = {1, 2};
    CHECK_EQ(gs_theory_mva(20, 0.1, 2, dv, cv, &x, &r, sr, su), 0);
    brute_force(20, 0.1, 2, dv, cv, &bx, br);
    CHECK_REL(x, bx, 1e-11);
    CHECK_REL(sr[0], br[0], 1e-11);
    CHECK_REL(sr[1], br[1], 1e-11);
    CHECK_REL(su[0], bx * 0.005, 1e-11);
    CHECK_REL(su[1], bx * 0.008 / 2.0, 1e-11);
    CHECK_REL(x * (0.1 + r), 20.0, 1e-12);
}

static void test_mva_errors(void)
{
    double x, r, sr[2], su[2];
    const double d[] = {0.5, 0.2};
    const double dz[] = {0.0, 0.0};
    const double dneg[] = {0.5, -0.2};
    const long c[] = {1, 3};
    const long cbad[] = {1, 0};
    CHECK_EQ(gs_theory_mva(0, 1.0, 2, d, c, &x, &r, sr, su), -1);
    CHECK(isnan(x) && isnan(r) && isnan(sr[0]) && isnan(su[1]));
    CHECK_EQ(gs_theory_mva(5, -1.0, 2, d, c, &x, &r, sr, su), -1);
    CHECK_EQ(gs_theory_mva(5, NAN, 2, d, c, &x, &r, sr, su), -1);
    CHECK_EQ(gs_theory_mva(5, 1.0, 2, NULL, c, &x, &r, sr, su), -1);
    CHECK_EQ(gs_theory_mva(5, 1.0, 2, dneg, c, &x, &r, sr, su), -1);
    CHECK_EQ(gs_theory_mva(5, 1.0, 2, d, cbad, &x, &r, sr, su), -1);
    CHECK_EQ(gs_theory_mva(5, 0.0, 2, dz, c, &x, &r, sr, su), -1);
    CHECK_EQ(gs_theory_mva(5, 0.0, 0, NULL, NULL, &x, &r, NULL, NULL), -1);
    /* Think time alone is a valid (if dull) network: X = N / Z. */
    CHECK_EQ(gs_theory_mva(5, 2.0, 0, NULL, NULL, &x, &r, NULL, NULL), 0);
    CHECK_REL(x, 2.5, 1e-15);
    CHECK_NEAR(r, 0.0, 0.0);

    /* Every allocation failing in turn is reported as GS_ENOMEM with NaN
     * outputs and leaks nothing; then the call succeeds. */
    double want_x;
    CHECK_EQ(gs_theory_mva(6, 1.0, 2, d, c, &want_x, &r, sr, su), 0);
    int ok = 0;
    for (long nth = 1; nth < 20 && !ok; nth++) {
        gs_alloc_fail_nth(nth);
        int rc = gs_theory_mva(6, 1.0, 2, d, c, &x, &r, sr, su);
        gs_alloc_fail_nth(0);
        if (rc == GS_OK) {
            ok = 1;
            CHECK_NEAR(x, want_x, 0.0);
        } else {
            CHECK_EQ(rc, GS_ENOMEM);
            CHECK(isnan(x) && isnan(r) && isnan(sr[1]) && isnan(su[0]));
        }
    }
    CHECK(ok);
}

/* Availability of an alternating renewal process, by hand: up 2s, down
 * 0.5s gives 0.8; a request of 1ms served to the end also needs no failure
 * during its service, e^(-0.001/2) by memorylessness. */
static void test_availability(void)
{
    CHECK_NEAR(gs_availability(2, 0.5), 0.8, 1e-15);
    CHECK_NEAR(gs_availability_served(2, 0.5, 0.001), 0.8 * exp(-0.0005), 1e-15);
    CHECK_NEAR(gs_availability_served(2, 0.5, 0), 0.8, 1e-15);
    CHECK(isnan(gs_availability(-1, 1)));
}

/* ------------------------------------------------------------------- LRU */

/* Che's approximation. Two keys, zipf 1 (p = 2/3, 1/3), capacity 1: with
 * x = e^(-T/3) the occupancy equation (1 - x^2) + (1 - x) = 1 is
 * x^2 + x - 1 = 0, so x = (sqrt 5 - 1)/2, and the hit ratio
 * (2/3)(1 - x^2) + (1/3)(1 - x) = (2x + x^2)/3 = (1 + x)/3 = (1 + sqrt 5)/6.
 * Nearly uniform popularity (zipf 1e-9) must give capacity / count through
 * the bisection, not the shortcut for zipf 0. */
static void test_lru_che(void)
{
    CHECK_NEAR(gs_lru_hit_che(2, 1.0, 1), (1 + sqrt(5.0)) / 6, 1e-13);
    CHECK_NEAR(gs_lru_hit_che(100, 1e-9, 10), 0.1, 1e-7);
    CHECK_NEAR(gs_lru_hit_che(1000, 0.0, 100), 0.1, 1e-15);
    CHECK_EQ(gs_lru_hit_che(1000, 0.8, 1000), 1.0);
    CHECK_EQ(gs_lru_hit_che(1000, 0.8, 5000), 1.0);
    CHECK_EQ(gs_lru_hit_che(1000, 0.8, 0), 0.0);
    /* More room never hurts, and skew helps a small cache. */
    double h50 = gs_lru_hit_che(1000, 0.8, 50), h100 = gs_lru_hit_che(1000, 0.8, 100);
    CHECK(h50 > 0.05 && h50 < h100 && h100 < 1);
    CHECK(gs_lru_hit_che(1000, 1.2, 100) > h100);
    CHECK(isnan(gs_lru_hit_che(0, 0.8, 1)));
    CHECK(isnan(gs_lru_hit_che(10, -1.0, 1)));
    CHECK(isnan(gs_lru_hit_che(10, NAN, 1)));
    CHECK(isnan(gs_lru_hit_che(10, 0.8, -1)));
}

/* ----------------------------------------------------------------- GI/M/1 */

/* Deterministic interarrival times 1 / lambda: LST e^(-s / lambda). */
static double det_lst(double s, void *arg)
{
    return exp(-s / *(const double *)arg);
}

/* Two-phase hyperexponential: rate 0.5 * lambda with probability 1/4 and
 * 1.5 * lambda with 3/4 (mean 1 / lambda). */
static double h2_lst(double s, void *arg)
{
    double l = *(const double *)arg, r1 = 0.5 * l, r2 = 1.5 * l;
    return 0.25 * r1 / (r1 + s) + 0.75 * r2 / (r2 + s);
}

static void test_gim1(void)
{
    /* Poisson arrivals (Erlang-1): sigma = rho, and the figures are M/M/1. */
    const double rhos[] = {0.01, 0.3, 0.5, 0.8, 0.95, 0.999};
    for (size_t i = 0; i < sizeof rhos / sizeof rhos[0]; i++) {
        gs_erlang_arg e1 = {1, rhos[i] * 1000.0};
        CHECK_REL(gs_gim1_sigma(gs_erlang_lst, &e1, e1.rate, 1000.0), rhos[i], 1e-12);
        gs_queue_theory g, m;
        CHECK_EQ(gs_theory_gim1(gs_erlang_lst, &e1, e1.rate, 1000.0, &g), 0);
        CHECK_EQ(gs_theory_mmc(e1.rate, 1000.0, 1, &m), 0);
        /* 1 - sigma is as good as the LST near 1 allows (theory.h). */
        double slack = 1 - rhos[i];
        check_same_queue(&g, &m, 1e-13 + 1e-15 / (slack * slack));
    }

    /* E2/M/1 in closed form: sigma (2 lambda + mu - mu sigma)^2 = 4 lambda^2
     * is a cubic with the root 1; the other factor is mu^2 sigma^2 -
     * mu (4 lambda + mu) sigma + 4 lambda^2, whose smaller root is
     * sigma = (1 + 4 rho - sqrt(1 + 8 rho)) / 2 = 8 rho^2 / (1 + 4 rho +
     * sqrt(1 + 8 rho)). rho = 0.8 gives (4.2 - sqrt 7.4) / 2 = 0.73985. */
    const double rho2[] = {0.05, 0.3, 0.6, 0.8, 0.9, 0.95};
    for (size_t i = 0; i < sizeof rho2 / sizeof rho2[0]; i++) {
        double rho = rho2[i], mu = 1000.0;
        double want = 8 * rho * rho / (1 + 4 * rho + sqrt(1 + 8 * rho));
        gs_erlang_arg e2 = {2, rho * mu};
        double sigma = gs_gim1_sigma(gs_erlang_lst, &e2, e2.rate, mu);
        CHECK_REL(sigma, want, 1e-13);
        gs_queue_theory g;
        CHECK_EQ(gs_theory_gim1(gs_erlang_lst, &e2, e2.rate, mu, &g), 0);
        CHECK_REL(g.response_mean, 1 / (mu * (1 - want)), 1e-12);
        CHECK_REL(g.wait_mean, want / (mu * (1 - want)), 1e-12);
        CHECK_REL(g.queue_mean, e2.rate * want / (mu * (1 - want)), 1e-12);
        CHECK_REL(g.in_system_mean, e2.rate / (mu * (1 - want)), 1e-12);
        CHECK_REL(g.utilization, rho, 1e-15);
        CHECK_NEAR(g.blocked, 0.0, 0.0);
        CHECK_REL(g.throughput, e2.rate, 1e-15);
    }
    CHECK_NEAR(gs_gim1_sigma(gs_erlang_lst, &(gs_erlang_arg){2, 800.0}, 800.0, 1000.0),
               (4.2 - sqrt(7.4)) / 2, 1e-15);

    /* D/M/1: sigma = e^(-(1 - sigma) / rho), so -sigma / rho is the
     * principal branch of Lambert's W at -e^(-1/rho) / rho (the other
     * branch gives the root 1). Erlang-k tends to it as k grows. */
    for (double rho = 0.1; rho < 0.99; rho += 0.17) {
        double lambda = rho * 50.0;
        double want = -rho * gsl_sf_lambert_W0(-exp(-1 / rho) / rho);
        CHECK_REL(gs_gim1_sigma(det_lst, &lambda, lambda, 50.0), want, 1e-12);
        gs_erlang_arg ek = {100000, lambda};
        CHECK_NEAR(gs_gim1_sigma(gs_erlang_lst, &ek, lambda, 50.0), want, 1e-4);
    }

    /* Any interarrival law: the root satisfies its equation to rounding,
     * and burstier arrivals (H2, cv^2 = 5/3) wait longer than Poisson. */
    for (double rho = 0.1; rho < 0.99; rho += 0.11) {
        double lambda = rho * 10.0;
        double sigma = gs_gim1_sigma(h2_lst, &lambda, lambda, 10.0);
        CHECK_NEAR(sigma, h2_lst(10.0 * (1 - sigma), &lambda), 4e-16);
        CHECK(sigma > rho && sigma < 1);
    }

    /* The sojourn is exponential: quantiles from sigma. */
    CHECK_REL(gs_gim1_response_quantile(0.8, 1000.0, 0.99),
              gs_mm1_response_quantile(800.0, 1000.0, 0.99), 1e-14);
    CHECK_REL(gs_gim1_response_quantile(0.5, 2.0, 0.5), log(2.0), 1e-15);
    CHECK_NEAR(gs_gim1_response_quantile(0.5, 2.0, 0.0), 0.0, 0.0);

    /* Out of the domain. */
    gs_erlang_arg e = {2, 1000.0}, bad = {0, 1000.0};
    gs_queue_theory g;
    CHECK(isnan(gs_gim1_sigma(gs_erlang_lst, &e, 1000.0, 1000.0)));
    CHECK(isnan(gs_gim1_sigma(gs_erlang_lst, &e, 1000.0, 900.0)));
    CHECK(isnan(gs_gim1_sigma(gs_erlang_lst, &bad, 500.0, 1000.0)));
    CHECK(isnan(gs_gim1_sigma(NULL, &e, 500.0, 1000.0)));
    CHECK(isnan(gs_gim1_sigma(gs_erlang_lst, &e, 0.0, 1000.0)));
    CHECK(isnan(gs_gim1_sigma(gs_erlang_lst, &e, NAN, 1000.0)));
    CHECK_EQ(gs_theory_gim1(gs_erlang_lst, &e, 1000.0, 1000.0, &g), -1);
    CHECK(all_nan(&g));
    CHECK(isnan(gs_erlang_lst(-1.0, &e)));
    CHECK(isnan(gs_gim1_response_quantile(1.0, 1.0, 0.5)));
    CHECK(isnan(gs_gim1_response_quantile(0.5, 0.0, 0.5)));
    CHECK(isnan(gs_gim1_response_quantile(0.5, 1.0, 1.0)));
}

/* The mixture's distribution function at t, term by term. */
static double mixture_cdf(size_t n, const double *w, const double *r, double t)
{
    double f = 0;
    for (size_t i = 0; i < n; i++)
        f += w[i] * -expm1(-r[i] * t);
    return f;
}

static void test_exp_mixture(void)
{
    const double qs[] = {1e-6, 0.01, 0.3, 0.5, 0.9, 0.99, 0.999999};
    const double w1[] = {1.0}, r1[] = {200.0};
    const double w2[] = {0.5, 0.5}, r2[] = {260.15, 200.0}, same[] = {200.0, 200.0};
    const double w3[] = {0.2, 0.0, 0.8}, r3[] = {1.0, 1e-9, 30.0};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        double t1 = -log1p(-qs[i]) / 200.0;
        CHECK_REL(gs_exp_mixture_quantile(1, w1, r1, qs[i]), t1, 1e-13);
        CHECK_REL(gs_exp_mixture_quantile(2, w2, same, qs[i]), t1, 1e-13);
        double t = gs_exp_mixture_quantile(2, w2, r2, qs[i]);
        CHECK_REL(mixture_cdf(2, w2, r2, t), qs[i], 1e-12);
        CHECK(t > -log1p(-qs[i]) / 260.15 && t < t1);
        /* A component of weight 0 does not count, however slow. */
        t = gs_exp_mixture_quantile(3, w3, r3, qs[i]);
        CHECK_REL(mixture_cdf(3, w3, r3, t), qs[i], 1e-12);
    }
    CHECK_NEAR(gs_exp_mixture_quantile(2, w2, r2, 0.0), 0.0, 0.0);
    const double wbad[] = {0.5, 0.6}, rbad[] = {1.0, 0.0}, wneg[] = {1.5, -0.5};
    CHECK(isnan(gs_exp_mixture_quantile(2, wbad, r2, 0.5)));
    CHECK(isnan(gs_exp_mixture_quantile(2, wneg, r2, 0.5)));
    CHECK(isnan(gs_exp_mixture_quantile(2, w2, rbad, 0.5)));
    CHECK(isnan(gs_exp_mixture_quantile(0, w2, r2, 0.5)));
    CHECK(isnan(gs_exp_mixture_quantile(2, w2, r2, 1.0)));
    CHECK(isnan(gs_exp_mixture_quantile(2, w2, r2, NAN)));
}

/* ----------------------------------------------------------- token bucket */

/* Erlang's M/D/1 formula as written in the textbooks, summed in long
 * double: G(x) = sum_{j <= x} (-a (x - j))^j / j! e^(a (x - j)), with
 * (1 - a) G the workload distribution of the unbounded M/D/1 queue; and the
 * rejected share P(D > K) = 1 - G(K) / G(K + 1) read off the bounded one,
 * whose distribution function is G up to K and whose total mass is
 * G(K + 1) = 1 + a G(K) (theory.c). For small K only (the terms alternate). */
static double bucket_erlang(double a, double k_tokens)
{
    long double g = 0;
    for (long j = 0; j <= (long)floorl(k_tokens); j++) {
        long double y = (long double)a * ((long double)k_tokens - (long double)j);
        g += powl(-y, (long double)j) / tgammal((long double)j + 1) * expl(y);
    }
    return (double)(1 - g / (1 + (long double)a * g));
}

/* The bucket itself, arrival by arrival as models/bucket.h runs it, with
 * exponential gaps: the rejected share and its standard error from 50
 * batch means of `per` arrivals each (batches of many arrivals are nearly
 * independent: the bucket forgets its state within a few refills). */
static void bucket_mc(double lambda, double rate, double burst, long per, double *mean,
                      double *se)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 20261123);
    double tokens = burst, sum = 0, sum2 = 0;
    const int batches = 50;
    for (long i = 0; i < 1000; i++) {   /* leave the full start behind */
        tokens = fmin(burst, tokens + rate * gsl_ran_exponential(r, 1 / lambda));
        if (tokens >= 1)
            tokens -= 1;
    }
    for (int b = 0; b < batches; b++) {
        long rejected = 0;
        for (long i = 0; i < per; i++) {
            tokens = fmin(burst, tokens + rate * gsl_ran_exponential(r, 1 / lambda));
            if (tokens < 1)
                rejected++;
            else
                tokens -= 1;
        }
        double m = (double)rejected / (double)per;
        sum += m;
        sum2 += m * m;
    }
    gsl_rng_free(r);
    *mean = sum / batches;
    *se = sqrt((sum2 / batches - *mean * *mean) / (batches - 1));
}

static void test_token_bucket(void)
{
    /* burst 1: every admission leaves the bucket empty for 1 / rate, then
     * the next arrival is admitted: admitted rate 1 / (1/rate + 1/lambda),
     * rejected share lambda / (lambda + rate) (M/D/1/1). */
    const double lams[] = {1.0, 250.0, 900.0, 1000.0, 4000.0};
    for (size_t i = 0; i < sizeof lams / sizeof lams[0]; i++)
        CHECK_REL(gs_token_bucket_reject(lams[i], 1000.0, 1.0), lams[i] / (lams[i] + 1000.0),
                  1e-15);
    /* burst < 2: G(K) = e^(aK), no sum. */
    double a = 1.3, k = 0.6, gk = exp(a * k);
    CHECK_REL(gs_token_bucket_reject(1.3, 1.0, 1.6), (1 + (a - 1) * gk) / (1 + a * gk), 1e-14);

    /* Against Erlang's formula, integer and fractional bursts, under,
     * at and over the refill rate. */
    const double as[] = {0.2, 0.5, 0.9, 1.0, 1.111, 1.5, 3.0};
    const double bursts[] = {1.0, 1.5, 2.0, 2.5, 3.0, 4.75, 6.0, 9.3, 12.0};
    for (size_t i = 0; i < sizeof as / sizeof as[0]; i++)
        for (size_t j = 0; j < sizeof bursts / sizeof bursts[0]; j++) {
            double want = bucket_erlang(as[i], bursts[j] - 1);
            double got = gs_token_bucket_reject(as[i] * 700.0, 700.0, bursts[j]);
            /* Below the refill rate the result is good to about 1e-15
             * absolute (theory.h), relative elsewhere. */
            CHECK_NEAR(got, want, 1e-13 * want + (as[i] < 1 ? 2e-15 : 0));
        }
    /* a = 1 exactly: G(1) = e and G(2) = e^2 - e, by hand from the sum. */
    double g2 = exp(2.0) - exp(1.0);
    CHECK_REL(gs_token_bucket_reject(5.0, 5.0, 2.0), 1 / (1 + exp(1.0)), 1e-15);
    CHECK_REL(gs_token_bucket_reject(5.0, 5.0, 3.0), 1 / (1 + g2), 1e-15);

    /* The derivation against the bucket's own rule, by simulation: the
     * validate case's two buckets and a deep one. 5 standard errors. */
    struct { double lambda, rate, burst; } mc[] = {
        {1000.0, 900.0, 5.0}, {500.0, 600.0, 2.5}, {95.0, 100.0, 20.0}};
    for (size_t i = 0; i < sizeof mc / sizeof mc[0]; i++) {
        double mean, se;
        bucket_mc(mc[i].lambda, mc[i].rate, mc[i].burst, 40000, &mean, &se);
        double want = gs_token_bucket_reject(mc[i].lambda, mc[i].rate, mc[i].burst);
        CHECK(se > 0 && se < 0.05 * want);
        CHECK_NEAR(mean, want, 5 * se);
    }

    /* Limits: a deep bucket passes everything below the refill rate and
     * exactly the refill rate above it; more room never hurts; a > 50
     * takes the short cut. */
    CHECK_NEAR(gs_token_bucket_reject(500.0, 1000.0, 200.0), 0.0, 1e-14);
    CHECK_REL(gs_token_bucket_reject(2000.0, 1000.0, 200.0), 0.5, 1e-15);
    CHECK_REL(gs_token_bucket_reject(1001.0, 1000.0, 1e6), 1.0 / 1001.0, 1e-12);
    CHECK_REL(gs_token_bucket_reject(6e4, 1000.0, 3.0), 59.0 / 60.0, 1e-15);
    CHECK_REL(gs_token_bucket_reject(4e4, 1000.0, 3.0), 39.0 / 40.0, 1e-15);
    double last = 1.0;
    for (double b = 1.0; b < 40.0; b += 0.7) {
        double r = gs_token_bucket_reject(950.0, 1000.0, b);
        CHECK(r < last);
        last = r;
    }
    /* a = 1 and a large burst: the bounded M/D/1 at critical load; by
     * the diffusion limit the rejected share falls like 1 / (2K). */
    double crit = gs_token_bucket_reject(1000.0, 1000.0, 10001.0);
    CHECK(crit > 0.9 / 20000 && crit < 1.1 / 20000);
    CHECK_NEAR(gs_token_bucket_reject(0.0, 1000.0, 5.0), 0.0, 0.0);

    CHECK(isnan(gs_token_bucket_reject(100.0, 1000.0, 0.5)));
    CHECK(isnan(gs_token_bucket_reject(100.0, 1000.0, 2e7)));
    CHECK(isnan(gs_token_bucket_reject(100.0, 0.0, 2.0)));
    CHECK(isnan(gs_token_bucket_reject(-1.0, 1000.0, 2.0)));
    CHECK(isnan(gs_token_bucket_reject(NAN, 1000.0, 2.0)));
    CHECK(isnan(gs_token_bucket_reject(100.0, 1000.0, INFINITY)));
}

/* ------------------------------------------------------- redundant pair */

/* The pair model of gs_theory_pair_retry() computed by brute force: the
 * sixteen (belief, state) cases of the two targets are enumerated with the
 * balancer's rules applied literally, and the integrals over the cut time
 * and the time since the last check are done numerically with GSL. */
typedef struct pair_model {
    double al, be, s, h;   /* failure and repair rates, service, check interval */
    int    what;           /* 0: availability, 1: first refused */
    int    other_up;       /* for cut_integrand: the other's state at arrival */
} pair_model;

/* P(up at time u | up or down at 0) of one component. */
static double p_up(const pair_model *m, int from_up, double u)
{
    double th = m->al + m->be, a = m->be / th;
    return from_up ? a + (1 - a) * exp(-th * u) : a * (1 - exp(-th * u));
}

static double cut_integrand(double tau, void *arg)
{
    const pair_model *m = arg;
    return m->al * exp(-m->al * tau) * p_up(m, m->other_up, tau);
}

static double integrate(double (*fn)(double, void *), void *arg, double lo, double hi)
{
    gsl_function f = {fn, arg};
    gsl_integration_workspace *w = gsl_integration_workspace_alloc(200);
    double v = NAN, err;
    CHECK_EQ(gsl_integration_qags(&f, lo, hi, 1e-15, 1e-13, 200, w, &v, &err), GSL_SUCCESS);
    gsl_integration_workspace_free(w);
    return v;
}

/* Given L since the last check: the chosen share's outcome, summed. */
static double pair_given_l(double l, void *arg)
{
    pair_model *m = arg;
    double a = m->be / (m->al + m->be);
    double c = exp(-m->al * m->s);
    double cut_to[2];   /* success after a cut, by the other's state at arrival */
    for (int o = 0; o < 2; o++) {
        m->other_up = o;
        cut_to[o] = m->s > 0 ? integrate(cut_integrand, m, 0, m->s) * c : 0;
    }
    double total = 0;
    for (int mask = 0; mask < 16; mask++) {
        int b[2] = {mask & 1, (mask >> 1) & 1};      /* believed up */
        int u[2] = {(mask >> 2) & 1, (mask >> 3) & 1}; /* up now */
        double p = 1;
        for (int j = 0; j < 2; j++) {
            double pb = b[j] ? a : 1 - a;
            double pu = p_up(m, b[j], l);
            p *= pb * (u[j] ? pu : 1 - pu);
        }
        int nb = b[0] + b[1];
        for (int j = 0; j < 2; j++) {
            double pick = nb == 0 ? 0.5 : b[j] ? 1.0 / nb : 0.0;
            if (pick == 0)
                continue;
            double v;
            if (m->what == 1)
                v = u[j] ? 0 : 1;
            else if (!u[j])
                v = u[1 - j] ? c : 0;   /* refused: the retry, never retried */
            else
                v = c + cut_to[u[1 - j]];
            total += p * pick * v;
        }
    }
    return total;
}

static double pair_brute(double mtbf, double mttr, double s, double h, int what)
{
    pair_model m = {1 / mtbf, 1 / mttr, s, h, what, 0};
    if (h == 0)
        return pair_given_l(0, &m);
    return integrate(pair_given_l, &m, 0, h) / h;
}

static void test_pair_retry(void)
{
    gs_pair_theory p;
    /* No service time and a balancer that knows: a request fails only when
     * both are down, 1 - (1 - A)^2, and only then is its first try refused. */
    CHECK_EQ(gs_theory_pair_retry(2, 0.5, 0, 0, &p), 0);
    CHECK_NEAR(p.availability, 1 - 0.2 * 0.2, 1e-15);
    CHECK_NEAR(p.first_refused, 0.04, 1e-16);
    CHECK_NEAR(p.retry_ratio, 0.04, 1e-16);
    /* Checks so rare that they say nothing: the first try is refused with
     * probability 1 - A, and the availability does not change. */
    CHECK_EQ(gs_theory_pair_retry(2, 0.5, 0, 1e9, &p), 0);
    CHECK_NEAR(p.first_refused, 0.2, 1e-9);
    CHECK_NEAR(p.availability, 0.96, 1e-15);

    /* Against the brute-force enumeration, with service times long enough
     * for the cut terms to matter. */
    struct { double mtbf, mttr, s, h; } cs[] = {
        {2, 0.5, 0.001, 0.1}, {2, 0.5, 0.3, 0.1}, {1, 1, 0.5, 2}, {5, 0.1, 0.05, 0},
        {0.3, 3, 0.2, 0.7}};
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        CHECK_EQ(gs_theory_pair_retry(cs[i].mtbf, cs[i].mttr, cs[i].s, cs[i].h, &p), 0);
        CHECK_REL(p.availability, pair_brute(cs[i].mtbf, cs[i].mttr, cs[i].s, cs[i].h, 0),
                  1e-11);
        CHECK_REL(p.first_refused, pair_brute(cs[i].mtbf, cs[i].mttr, cs[i].s, cs[i].h, 1),
                  1e-11);
        double cut = 1 - exp(-cs[i].s / cs[i].mtbf);
        CHECK_REL(p.retry_ratio, p.first_refused + (1 - p.first_refused) * cut, 1e-14);
    }
    /* The validate case: mtbf 2s, mttr 0.5s, checks every 100ms, 1ms. */
    CHECK_EQ(gs_theory_pair_retry(2, 0.5, 0.001, 0.1, &p), 0);
    CHECK(p.availability < 0.96 && p.availability > 0.9598);
    CHECK(p.first_refused > 0.058 && p.first_refused < 0.059);

    CHECK_EQ(gs_theory_pair_retry(0, 0.5, 0, 0, &p), -1);
    CHECK(isnan(p.availability) && isnan(p.first_refused) && isnan(p.retry_ratio));
    CHECK_EQ(gs_theory_pair_retry(2, INFINITY, 0, 0, &p), -1);
    CHECK_EQ(gs_theory_pair_retry(2, 0.5, -1, 0, &p), -1);
    CHECK_EQ(gs_theory_pair_retry(2, 0.5, 0, NAN, &p), -1);
}

int main(void)
{
    gsl_set_error_handler_off();
    test_availability();
    test_erlang();
    test_mmc();
    test_mmc_quantile();
    test_mg1();
    test_mmck();
    test_mva_single_server();
    test_mva_multi_server();
    test_mva_errors();
    test_lru_che();
    test_gim1();
    test_exp_mixture();
    test_token_bucket();
    test_pair_retry();
    return CHECK_DONE();
}
