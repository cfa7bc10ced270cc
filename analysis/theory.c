/* Exact results of queueing theory, the yardstick `gatesim validate` holds
 * the simulator against. Every function is a pure computation on its
 * arguments; each keeps the invariant that a result is either right to
 * rounding error or NaN, never a silently wrong number: inputs outside the
 * domain are refused, and the algorithms are chosen so that no step cancels
 * catastrophically or overflows (the tests measure 1e-13 or better, 1e-12
 * for closed networks of thousands of users).
 *
 * Sources:
 *  - Erlang B and C, M/M/c, M/M/c/K birth-death chains and the M/M/c
 *    response-time distribution: L. Kleinrock, Queueing Systems, vol. 1
 *    (Wiley, 1975), ch. 3; D. Gross, C. M. Harris, Fundamentals of Queueing
 *    Theory (Wiley, 3rd ed. 1998), ch. 2, which also gives the M/M/c
 *    waiting-time distribution. The Erlang B recursion B(k) = a B(k-1) / (k + a B(k-1)) is
 *    the standard stable one (every step is a ratio of positive numbers).
 *  - Pollaczek-Khinchine mean value formula: Kleinrock vol. 1, ch. 5.
 *  - Mean value analysis: M. Reiser, S. S. Lavenberg, "Mean-value analysis of
 *    closed multichain queuing networks", J. ACM 27(2), 1980; E. D. Lazowska,
 *    J. Zahorjan, G. S. Graham, K. C. Sevcik, Quantitative System
 *    Performance (Prentice-Hall, 1984), ch. 6-8; load-dependent (multi-
 *    server) stations: D. A. Menasce, V. A. F. Almeida, L. W. Dowdy,
 *    Performance by Design (Prentice-Hall, 2004). Networks with multi-server
 *    stations are solved from the same product form by J. P. Buzen's
 *    convolution ("Computational algorithms for closed queueing networks
 *    with exponential servers", CACM 16(9), 1973), carried out in log space;
 *    the reason is given at gs_theory_mva().
 *  - Availability of an alternating up/down process: the renewal-reward
 *    theorem, S. M. Ross, Stochastic Processes (Wiley, 2nd ed. 1996), §3.6;
 *    PASTA: R. W. Wolff, "Poisson arrivals see time averages", Operations
 *    Research 30(2), 1982.
 *  - LRU hit ratio: H. Che, Y. Tung, Z. Wang, "Hierarchical Web caching
 *    systems: modeling, design and experimental results", IEEE JSAC 20(7),
 *    2002 (the characteristic-time approximation); C. Fricker, P. Robert,
 *    J. Roberts, "A versatile and accurate approximation for LRU cache
 *    performance", ITC 24, 2012 (why it is accurate, and asymptotically
 *    exact as the number of keys grows).
 *  - GI/M/1: an arrival finds the server busy with probability sigma, the
 *    root in (0, 1) of sigma = A*(mu (1 - sigma)), and the response time is
 *    exponential with rate mu (1 - sigma): Kleinrock vol. 1, ch. 6 (the
 *    queue G/M/m, G/M/1 its first case); Gross and Harris, the chapter on
 *    general arrival patterns. E2/M/1 and D/M/1, which the tests solve in
 *    closed form, are its special cases.
 *  - Token bucket: derived below gs_token_bucket_reject() by level crossing
 *    (the bucket's deficit is an M/D/1 workload with a bound on admission);
 *    the result is the finite-dam formula of the M/G/1 queue with bounded
 *    virtual waiting time.
 *  - A redundant pair behind a health-checked balancer that retries: derived
 *    below gs_theory_pair_retry() from the two-state Markov process of each
 *    component and the balancer's rules (models/load_balancer.c). */
#include "analysis/theory.h"

#include <float.h>
#include <math.h>
#include <stdint.h>

#include <gsl/gsl_errno.h>
#include <gsl/gsl_roots.h>

#include "sim/alloc.h"
#include "sim/error.h"

static void fill_nan(gs_queue_theory *out)
{
    out->utilization = NAN;
    out->wait_mean = NAN;
    out->response_mean = NAN;
    out->queue_mean = NAN;
    out->in_system_mean = NAN;
    out->blocked = NAN;
    out->throughput = NAN;
}

static int finite_nonneg(double x) { return isfinite(x) && x >= 0.0; }
static int finite_pos(double x) { return isfinite(x) && x > 0.0; }

double gs_erlang_b(long c, double a)
{
    if (c < 0 || !finite_nonneg(a))
        return NAN;
    double b = 1.0;
    for (long k = 1; k <= c; k++)
        b = a * b / ((double)k + a * b);
    return b;
}

double gs_erlang_c(long c, double a)
{
    if (c < 1 || !finite_nonneg(a) || !(a < (double)c))
        return NAN;
    double b = gs_erlang_b(c, a);
    /* The denominator is c - a + a B > 0, so no cancellation to zero even as
     * a approaches c. */
    return (double)c * b / ((double)c - a * (1.0 - b));
}

int gs_theory_mmc(double lambda, double mu, long c, gs_queue_theory *out)
{
    fill_nan(out);
    if (!finite_nonneg(lambda) || !finite_pos(mu) || c < 1)
        return GS_EINVAL;
    double cap = (double)c * mu;
    double rho = lambda / cap;
    if (!(rho < 1.0))
        return GS_EINVAL;
    double wait = gs_erlang_c(c, lambda / mu) / (cap - lambda);
    out->utilization = rho;
    out->wait_mean = wait;
    out->response_mean = wait + 1.0 / mu;
    out->queue_mean = lambda * wait;
    out->in_system_mean = lambda * out->response_mean;
    out->blocked = 0.0;
    out->throughput = lambda;
    return GS_OK;
}

double gs_mm1_response_quantile(double lambda, double mu, double q)
{
    if (!finite_nonneg(lambda) || !finite_pos(mu) || !(lambda < mu))
        return NAN;
    if (!(q >= 0.0 && q < 1.0))
        return NAN;
    /* log1p keeps small quantiles accurate. */
    return -log1p(-q) / (mu - lambda);
}

/* (1 - e^-x) / x for x >= 0, continuous at 0 where it is 1. */
static double phi(double x)
{
    if (x < 1e-5)
        return 1.0 - x / 2.0 + x * x / 6.0;
    return -expm1(-x) / x;
}

/* P(T > t) of the M/M/c response time, t >= 0. With gamma = c mu - lambda,
 * T = W + S and
 *   P(T > t) = (1 - C) e^{-mu t} + C P(Exp(gamma) + Exp(mu) > t)
 *            = e^{-mu t} + C mu t e^{-m t} phi(|gamma - mu| t),  m = min(gamma, mu),
 * because P(Exp(g) + Exp(mu) > t) = e^{-mu t} + mu (e^{-mu t} - e^{-g t}) / (g - mu).
 * Written with phi the expression has only positive terms, needs no special
 * case for gamma = mu (phi(0) = 1 gives the Erlang-2 tail e^{-mu t}(1 + mu t))
 * and does not cancel when gamma and mu are close, as the textbook
 * difference of exponentials divided by gamma - mu does. For c = 1 it
 * reduces to e^{-(mu - lambda) t}. Accurate relative to itself, so it is
 * the function to solve for upper quantiles. */
static double mmc_survival(double mu, double gamma, double erl_c, double t)
{
    double m = gamma < mu ? gamma : mu;
    return exp(-mu * t) + erl_c * mu * t * exp(-m * t) * phi(fabs(gamma - mu) * t);
}

/* P(Exp(g) + Exp(mu) <= t) with a = g t, b = mu t, accurate relative to
 * itself also when it is tiny (small t), where 1 - P(> t) would keep only
 * absolute accuracy. Three regimes:
 *  - max(a, b) <= 2: the Taylor series of the hypoexponential CDF,
 *    sum_{n>=1} (-1)^{n+1} a b h_{n-1}(a, b) / (n+1)!, where
 *    h_k(a, b) = sum_{i<=k} a^i b^{k-i} (so equal rates need no care); the
 *    terms are alternating but fall fast, losing at most a few ulps;
 *  - min(a, b) >= 1/2: the CDF is at least 0.14, and 1 - P(> t) is fine;
 *  - otherwise the rates differ by a factor above 4, and
 *    (a (1 - e^{-b}) - b (1 - e^{-a})) / (a - b) cancels only mildly. */
static double hypo_cdf(double a, double b)
{
    double hi = a > b ? a : b, lo = a < b ? a : b;
    if (hi <= 2.0) {
        double h = 1.0, bpow = 1.0, fact = 2.0, sum = 0.0, sign = 1.0;
        for (int n = 1; n < 60; n++) {
            double term = a * b * h / fact;
            sum += sign * term;
            if (term < 1e-17 * sum)
                break;
            sign = -sign;
            bpow *= b;
            h = a * h + bpow; /* h_n from h_{n-1} */
            fact *= (double)(n + 2);
        }
        return sum;
    }
    if (lo >= 0.5)
        return 1.0 - (exp(-b) + b * exp(-lo) * phi(hi - lo));
    return (a * -expm1(-b) - b * -expm1(-a)) / (a - b);
}

/* P(T <= t) = (1 - C) P(S <= t) + C P(W + S <= t | W > 0), a sum of two
 * positive terms each accurate relative to itself: the function to solve for
 * lower quantiles. */
static double mmc_cdf(double mu, double gamma, double erl_c, double no_wait, double t)
{
    return no_wait * -expm1(-mu * t) + erl_c * hypo_cdf(gamma * t, mu * t);
}

/* The M/M/c waiting-time law: gamma = c mu - lambda, C = P(wait) and
 * no_wait = 1 - C. */
typedef struct mmc_law {
    double mu, gamma, erl_c, no_wait;
} mmc_law;

/* Checks the M/M/c domain and fills the law. 1 - C is formed as
 * (gamma/mu)(1 - B) / (gamma/mu + a B), not by subtraction, so that it stays
 * accurate near saturation where C is close to 1; C = c B / (the same
 * denominator), as in gs_erlang_c(). */
static int mmc_params(double lambda, double mu, long c, mmc_law *law)
{
    if (!finite_nonneg(lambda) || !finite_pos(mu) || c < 1)
        return GS_EINVAL;
    double cap = (double)c * mu;
    if (!(lambda < cap))
        return GS_EINVAL;
    double a = lambda / mu, b = gs_erlang_b(c, a);
    double slack = (cap - lambda) / mu;
    double den = slack + a * b;
    law->mu = mu;
    law->gamma = cap - lambda;
    law->erl_c = (double)c * b / den;
    law->no_wait = slack * (1.0 - b) / den;
    return GS_OK;
}

double gs_mmc_response_cdf(double lambda, double mu, long c, double t)
{
    mmc_law law;
    if (mmc_params(lambda, mu, c, &law) != GS_OK || isnan(t))
        return NAN;
    if (t <= 0.0)
        return 0.0;
    double f = mmc_cdf(law.mu, law.gamma, law.erl_c, law.no_wait, t);
    return f < 0.0 ? 0.0 : f > 1.0 ? 1.0 : f;
}

/* Is the quantile q at or below t? Decided on the CDF for the lower half and
 * on the survival function for the upper half, whichever keeps full
 * relative accuracy near the root. */
static int below(const mmc_law *law, double q, double t)
{
    if (q <= 0.5)
        return mmc_cdf(law->mu, law->gamma, law->erl_c, law->no_wait, t) >= q;
    return mmc_survival(law->mu, law->gamma, law->erl_c, t) <= 1.0 - q;
}

double gs_mmc_response_quantile(double lambda, double mu, long c, double q)
{
    mmc_law law;
    if (mmc_params(lambda, mu, c, &law) != GS_OK)
        return NAN;
    if (!(q >= 0.0 && q < 1.0))
        return NAN;
    if (q == 0.0)
        return 0.0;
    /* The CDF rises strictly from 0, so bisection on a bracket converges to
     * the unique root. Bisection rather than Newton or Brent: it cannot leave
     * the bracket, and the halvings cost nothing next to a simulation. The
     * iteration cap allows for quantiles as small as the smallest double. */
    double lo = 0.0, hi = 1.0 / (law.gamma < mu ? law.gamma : mu);
    while (!below(&law, q, hi)) {
        lo = hi;
        hi *= 2.0;
        if (!isfinite(hi))
            return NAN;
    }
    for (int i = 0; i < 2200 && hi - lo > 1e-14 * hi; i++) {
        double mid = lo + (hi - lo) / 2.0;
        if (below(&law, q, mid))
            hi = mid;
        else
            lo = mid;
    }
    return lo + (hi - lo) / 2.0;
}

int gs_theory_mg1(double lambda, double mean_s, double var_s, gs_queue_theory *out)
{
    fill_nan(out);
    if (!finite_nonneg(lambda) || !finite_pos(mean_s) || !finite_nonneg(var_s))
        return GS_EINVAL;
    double rho = lambda * mean_s;
    if (!(rho < 1.0))
        return GS_EINVAL;
    double second = var_s + mean_s * mean_s;
    double wait = lambda * second / (2.0 * (1.0 - rho));
    out->utilization = rho;
    out->wait_mean = wait;
    out->response_mean = wait + mean_s;
    out->queue_mean = lambda * wait;
    out->in_system_mean = lambda * out->response_mean;
    out->blocked = 0.0;
    out->throughput = lambda;
    return GS_OK;
}

/* Neumaier's compensated sum: the log-weights of the M/M/c/K chain add up
 * to c terms, and compensation keeps their error at one rounding. */
typedef struct ksum {
    double sum, comp;
} ksum;

static void ksum_add(ksum *s, double x)
{
    double t = s->sum + x;
    if (fabs(s->sum) >= fabs(x))
        s->comp += (s->sum - t) + x;
    else
        s->comp += (x - t) + s->sum;
    s->sum = t;
}

static double ksum_value(const ksum *s) { return s->sum + s->comp; }

/* The chain's unnormalised probabilities are w_n = a^n / n! for n <= c and
 * w_c (a / c)^{n - c} above, a = lambda / mu. They are handled as logarithms
 * shifted by their maximum, so that neither a^K nor K! ever forms: K in the
 * tens of thousands and rho = 1 (where the textbook (1 - rho) / (1 - rho^{K+1})
 * is 0/0) are ordinary cases. Two passes over the states, the first for the
 * maximum, keep the function free of allocation. */
int gs_theory_mmck(double lambda, double mu, long c, long k, gs_queue_theory *out)
{
    fill_nan(out);
    if (!finite_nonneg(lambda) || !finite_pos(mu) || c < 1 || k < c)
        return GS_EINVAL;
    double cd = (double)c;
    if (lambda == 0.0) {
        out->utilization = 0.0;
        out->wait_mean = 0.0;
        out->response_mean = 1.0 / mu;
        out->queue_mean = 0.0;
        out->in_system_mean = 0.0;
        out->blocked = 0.0;
        out->throughput = 0.0;
        return GS_OK;
    }
    double log_a = log(lambda) - log(mu);
    double log_r = log_a - log(cd); /* log of a / c, the ratio above c */

    /* Pass 1: the largest log-weight and the log-weight at n = c. */
    ksum acc = {0.0, 0.0};
    double lmax = 0.0;
    for (long n = 1; n <= c; n++) {
        ksum_add(&acc, log_a - log((double)n));
        double l = ksum_value(&acc);
        if (l > lmax)
            lmax = l;
    }
    double lc = ksum_value(&acc);
    if (k > c) {
        double l_top = lc + (double)(k - c) * log_r; /* the tail is monotone */
        if (l_top > lmax)
            lmax = l_top;
        if (lc + log_r > lmax)
            lmax = lc + log_r;
    }

    /* Pass 2: the normalising sum and the moments. */
    double total = 0.0, below_k = 0.0, in_sys = 0.0, queued = 0.0, w_k = 0.0;
    acc = (ksum){0.0, 0.0};
    for (long n = 0; n <= k; n++) {
        double l;
        if (n == 0) {
            l = 0.0;
        } else if (n <= c) {
            ksum_add(&acc, log_a - log((double)n));
            l = ksum_value(&acc);
        } else {
            l = lc + (double)(n - c) * log_r;
        }
        double w = exp(l - lmax);
        total += w;
        in_sys += (double)n * w;
        if (n > c)
            queued += (double)(n - c) * w;
        if (n < k)
            below_k += w;
        else
            w_k = w;
    }
    /* 1 - p_K is summed from the other states rather than subtracted, so
     * that it keeps its accuracy when nearly every arrival is blocked. */
    double throughput = lambda * (below_k / total);
    out->blocked = w_k / total;
    out->throughput = throughput;
    out->in_system_mean = in_sys / total;
    out->queue_mean = queued / total;
    out->response_mean = out->in_system_mean / throughput;
    out->wait_mean = out->queue_mean / throughput;
    out->utilization = throughput / (cd * mu);
    return GS_OK;
}

/* One station of the product form, as its log-weights
 *   log f(j) = j log D - log min(j, c)! - (j - c)^+ log c,
 * i.e. f(j) = D^j / prod_{i<=j} min(i, c): the unnormalised probability of
 * j customers at a station of c exponential servers with demand D. A delay
 * station (think time) is c >= users. */
typedef struct station {
    double log_d;
    long c;
} station;

static void station_logw(const station *s, long users, const double *lfact, double *out)
{
    double log_c = log((double)s->c);
    for (long j = 0; j <= users; j++) {
        long m = j < s->c ? j : s->c;
        out[j] = (double)j * s->log_d - lfact[m] - (double)(j - m) * log_c;
    }
}

/* out[n] = log sum_{k<=n} exp(a[k] + b[n-k]) for n = 0..users: the
 * convolution of two weight sequences, with each sum taken relative to its
 * largest term so that nothing overflows. out may not alias a or b. */
static void log_convolve(const double *a, const double *b, long users, double *out)
{
    for (long n = 0; n <= users; n++) {
        double m = -INFINITY;
        for (long k = 0; k <= n; k++) {
            double v = a[k] + b[n - k];
            if (v > m)
                m = v;
        }
        double s = 0.0;
        for (long k = 0; k <= n; k++)
            s += exp(a[k] + b[n - k] - m);
        out[n] = m + log(s);
    }
}

/* Exact solution from the product form for networks with load-dependent
 * stations. st[0..ns-1] are the stations with positive demand, the think
 * station first when has_think. The throughput goes to x and the mean
 * response time of each queueing station (st order, think excluded) to r. */
static int mva_convolution(long users, const station *st, size_t ns, int has_think,
                           double *x, double *r)
{
    size_t len = (size_t)users + 1;
    size_t rows = 2 * ns + 3;
    if (len > SIZE_MAX / sizeof(double) / rows)
        return GS_ENOMEM;
    double *mem = gs_malloc(rows * len * sizeof *mem);
    if (!mem)
        return GS_ENOMEM;
    double *lfact = mem;           /* log j!, j = 0..users */
    double *scratch = lfact + len; /* one station's log-weights */
    double *comp = scratch + len;  /* network without one station */
    double *pre = comp + len;      /* pre[s]: stations 0..s convolved */
    double *suf = pre + ns * len;  /* suf[s]: stations s..ns-1 convolved */

    /* Compensated, so log j! carries one rounding even for large j. */
    ksum acc = {0.0, 0.0};
    lfact[0] = 0.0;
    for (long j = 1; j <= users; j++) {
        ksum_add(&acc, log((double)j));
        lfact[j] = ksum_value(&acc);
    }

    station_logw(&st[0], users, lfact, pre);
    for (size_t s = 1; s < ns; s++) {
        station_logw(&st[s], users, lfact, scratch);
        log_convolve(pre + (s - 1) * len, scratch, users, pre + s * len);
    }
    station_logw(&st[ns - 1], users, lfact, suf + (ns - 1) * len);
    for (size_t s = ns - 1; s-- > 0;) {
        station_logw(&st[s], users, lfact, scratch);
        log_convolve(scratch, suf + (s + 1) * len, users, suf + s * len);
    }

    /* X(N) = G(N - 1) / G(N). */
    const double *g = pre + (ns - 1) * len;
    double thr = exp(g[users - 1] - g[users]);
    *x = thr;

    for (size_t s = has_think ? 1 : 0; s < ns; s++) {
        if (ns == 1) {
            for (long m = 0; m <= users; m++)
                comp[m] = m == 0 ? 0.0 : -INFINITY;
        } else if (s == 0) {
            for (long m = 0; m <= users; m++)
                comp[m] = suf[len + (size_t)m];
        } else if (s == ns - 1) {
            for (long m = 0; m <= users; m++)
                comp[m] = pre[(s - 1) * len + (size_t)m];
        } else {
            log_convolve(pre + (s - 1) * len, suf + (s + 1) * len, users, comp);
        }
        /* p_s(j | N) is proportional to f_s(j) G_{-s}(N - j); normalising by
         * its own sum rather than by G(N) spares one more rounding. */
        station_logw(&st[s], users, lfact, scratch);
        double m = -INFINITY;
        for (long j = 0; j <= users; j++) {
            scratch[j] += comp[users - j];
            if (scratch[j] > m)
                m = scratch[j];
        }
        double tot = 0.0, mean = 0.0;
        for (long j = 0; j <= users; j++) {
            double w = exp(scratch[j] - m);
            tot += w;
            mean += (double)j * w;
        }
        r[s - (has_think ? 1 : 0)] = (mean / tot) / thr; /* Little */
    }
    gs_free(mem);
    return GS_OK;
}

static void mva_fail(size_t n, double *throughput, double *response,
                     double *station_response, double *station_util)
{
    if (throughput)
        *throughput = NAN;
    if (response)
        *response = NAN;
    for (size_t i = 0; i < n; i++) {
        if (station_response)
            station_response[i] = NAN;
        if (station_util)
            station_util[i] = NAN;
    }
}

/* Single-server stations and stations that can never queue follow the MVA
 * recursion R_i(n) = D_i (1 + Q_i(n - 1)), X(n) = n / (Z + sum R_i(n)),
 * Q_i(n) = X(n) R_i(n), which sums and multiplies positive numbers only and
 * is therefore stable.
 *
 * Stations with 1 < c < N need the marginal probabilities p_i(j | n). The
 * load-dependent MVA recursion gets them from p_i(j | n) = X(n) D_i /
 * min(j, c) p_i(j - 1 | n - 1) and p_i(0 | n) = 1 - sum_{j>=1} p_i(j | n)
 * (or, in Menasce-Almeida-Dowdy's form, from the utilisation); at high load
 * p_i(0 | n) is a small difference of numbers near 1, and its rounding error
 * is multiplied at each later population. This is a known instability: on one
 * station with c = 16 or 64, N = 100 and think time near N D / c, both
 * forms, run in double precision against the exact birth-death solution,
 * were tens of percent off in throughput. Clamping p_i(0 | n)
 * at 0 hides the symptom but not the error. Such networks are therefore
 * solved by convolution of the same product form (every term positive),
 * in log space; the figures are those the recursion defines in exact
 * arithmetic, at O(N^2) per station instead of O(N). */
int gs_theory_mva(long users, double think_s, size_t n, const double *demand_s,
                  const long *servers, double *throughput, double *response,
                  double *station_response, double *station_util)
{
    mva_fail(n, throughput, response, station_response, station_util);
    if (users < 1 || !finite_nonneg(think_s) || (n > 0 && !demand_s))
        return GS_EINVAL;
    int any_demand = think_s > 0.0, load_dependent = 0;
    for (size_t i = 0; i < n; i++) {
        long c = servers ? servers[i] : 1;
        if (!finite_nonneg(demand_s[i]) || c < 1)
            return GS_EINVAL;
        if (demand_s[i] > 0.0) {
            any_demand = 1;
            if (c > 1 && c < users)
                load_dependent = 1;
        }
    }
    if (!any_demand)
        return GS_EINVAL;

    double x = 0.0;
    double *r = NULL, *q = NULL;
    if (n > 0) {
        r = gs_calloc(2 * n, sizeof *r);
        if (!r)
            return GS_ENOMEM;
        q = r + n;
    }

    if (!load_dependent) {
        for (long pop = 1; pop <= users; pop++) {
            double total = think_s;
            for (size_t i = 0; i < n; i++) {
                long c = servers ? servers[i] : 1;
                /* c >= N servers: nobody ever waits, a delay station. */
                r[i] = c >= users ? demand_s[i] : demand_s[i] * (1.0 + q[i]);
                total += r[i];
            }
            x = (double)pop / total;
            for (size_t i = 0; i < n; i++)
                q[i] = x * r[i];
        }
    } else {
        /* Only stations with positive demand enter the product form; pos
         * maps each back to its place in the caller's arrays. */
        station *st = gs_malloc((n + 1) * sizeof *st);
        double *rs = gs_malloc(n * sizeof *rs);
        size_t *pos = gs_malloc(n * sizeof *pos);
        int rc = GS_ENOMEM;
        if (st && rs && pos) {
            size_t ns = 0, nq = 0;
            int has_think = think_s > 0.0;
            if (has_think)
                st[ns++] = (station){log(think_s), users};
            for (size_t i = 0; i < n; i++) {
                if (demand_s[i] > 0.0) {
                    long c = servers ? servers[i] : 1;
                    st[ns++] = (station){log(demand_s[i]), c < users ? c : users};
                    pos[nq++] = i;
                }
            }
            rc = mva_convolution(users, st, ns, has_think, &x, rs);
            for (size_t j = 0; rc == GS_OK && j < nq; j++)
                r[pos[j]] = rs[j];
        }
        gs_free(pos);
        gs_free(rs);
        gs_free(st);
        if (rc != GS_OK) {
            gs_free(r);
            return rc;
        }
    }

    double sum_r = 0.0;
    for (size_t i = 0; i < n; i++) {
        long c = servers ? servers[i] : 1;
        sum_r += r[i];
        if (station_response)
            station_response[i] = r[i];
        if (station_util)
            station_util[i] = x * demand_s[i] / (double)c;
    }
    if (throughput)
        *throughput = x;
    if (response)
        *response = sum_r;
    gs_free(r);
    return GS_OK;
}

double gs_availability(double mtbf, double mttr)
{
    if (!(mtbf > 0) || !(mttr > 0) || !isfinite(mtbf) || !isfinite(mttr))
        return NAN;
    return mtbf / (mtbf + mttr);
}

double gs_availability_served(double mtbf, double mttr, double service_s)
{
    if (!(service_s >= 0) || !isfinite(service_s))
        return NAN;
    return gs_availability(mtbf, mttr) * exp(-service_s / mtbf);
}

/* The expected number of distinct keys requested in time T (Poisson
 * requests at unit total rate): sum_k (1 - e^(-p_k T)), increasing in T. */
static double che_occupancy(const double *p, long count, double t)
{
    ksum s = {0, 0};
    for (long k = 0; k < count; k++)
        ksum_add(&s, -expm1(-p[k] * t));
    return ksum_value(&s);
}

double gs_lru_hit_che(long count, double zipf, long capacity)
{
    if (count < 1 || capacity < 0 || !finite_nonneg(zipf))
        return NAN;
    if (capacity >= count)
        return 1.0;
    if (capacity == 0)
        return 0.0;
    if (zipf == 0)
        return (double)capacity / (double)count;   /* every key alike */
    double *p = gs_malloc((size_t)count * sizeof *p);
    if (!p)
        return NAN;
    ksum norm = {0, 0};
    for (long k = count; k >= 1; k--)   /* smallest terms first */
        ksum_add(&norm, pow((double)k, -zipf));
    double z = ksum_value(&norm);
    for (long k = 0; k < count; k++)
        p[k] = pow((double)(k + 1), -zipf) / z;
    /* Bracket T: occupancy(0) = 0 < capacity < count = occupancy(inf).
     * Bisection on log T halves the bracket each step; 200 steps reach the
     * resolution of a double whatever the scale of T. */
    double lo = 1.0, hi = 1.0;
    while (che_occupancy(p, count, lo) > (double)capacity)
        lo /= 2;
    while (che_occupancy(p, count, hi) < (double)capacity)
        hi *= 2;
    for (int i = 0; i < 200 && hi > lo * (1 + 4 * DBL_EPSILON); i++) {
        double mid = sqrt(lo * hi);
        if (che_occupancy(p, count, mid) < (double)capacity)
            lo = mid;
        else
            hi = mid;
    }
    double t = sqrt(lo * hi);
    ksum h = {0, 0};
    for (long k = 0; k < count; k++)
        ksum_add(&h, p[k] * -expm1(-p[k] * t));
    gs_free(p);
    return ksum_value(&h);
}

/* ------------------------------------------------------------- GI/M/1 */

double gs_erlang_lst(double s, void *arg)
{
    const gs_erlang_arg *e = arg;
    if (!e || e->k < 1 || !finite_pos(e->rate) || !finite_nonneg(s))
        return NAN;
    double phase = (double)e->k * e->rate;
    /* (phase / (phase + s))^k as exp(-k log1p(s / phase)): no overflow of
     * the power for large k, and exact to rounding for small s. */
    return exp(-(double)e->k * log1p(s / phase));
}

typedef struct gim1_eq {
    gs_lst_fn lst;
    void     *arg;
    double    mu;
} gim1_eq;

/* h(y) = A*(mu y) - (1 - y), whose roots are y = 0 and y = 1 - sigma. */
static double gim1_h(double y, void *p)
{
    const gim1_eq *e = p;
    return e->lst(e->mu * y, e->arg) - (1.0 - y);
}

/* y = 1 - sigma, or NaN. h is convex (an LST is convex, composed with a
 * linear map), h(0) = 0 and h'(0) = 1 - mu / lambda < 0 when rho < 1, so h
 * is negative on (0, y) and positive on (y, 1]: halving down from 1/2
 * finds a point of each sign, and Brent's method (Brent, "Algorithms for
 * Minimization without Derivatives", 1973, as in GSL) closes in on y. */
static double gim1_y(gs_lst_fn lst, void *arg, double lambda, double mu)
{
    if (!lst || !finite_pos(lambda) || !finite_pos(mu) || !(lambda < mu))
        return NAN;
    gim1_eq eq = {lst, arg, mu};
    double h1 = gim1_h(1.0, &eq);
    if (!(h1 >= 0.0))
        return NAN;
    if (h1 == 0.0)
        return 1.0;   /* A*(mu) underflows: sigma = 0 to double precision */
    double lo = 0.5, hi = 1.0;
    int found = 0;
    for (int i = 0; i < 1100 && lo > 0.0; i++) {
        double h = gim1_h(lo, &eq);
        if (isnan(h))
            return NAN;
        if (h < 0.0) {
            found = 1;
            break;
        }
        hi = lo;
        lo /= 2.0;
    }
    if (!found)
        return NAN;
    gsl_function f = {gim1_h, &eq};
    gsl_root_fsolver *s = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
    if (!s)
        return NAN;
    double y = NAN;
    if (gsl_root_fsolver_set(s, &f, lo, hi) == GSL_SUCCESS) {
        for (int i = 0; i < 200; i++) {
            if (gsl_root_fsolver_iterate(s) != GSL_SUCCESS)
                break;
            double a = gsl_root_fsolver_x_lower(s), b = gsl_root_fsolver_x_upper(s);
            y = gsl_root_fsolver_root(s);
            if (gsl_root_test_interval(a, b, 0.0, 2 * DBL_EPSILON) == GSL_SUCCESS)
                break;
        }
    }
    gsl_root_fsolver_free(s);
    return y;
}

/* Near saturation sigma is 1 - y; at light load, where sigma is small and
 * 1 - y would keep only its absolute accuracy, it is A*(mu y) itself. */
double gs_gim1_sigma(gs_lst_fn lst, void *arg, double lambda, double mu)
{
    double y = gim1_y(lst, arg, lambda, mu);
    if (isnan(y))
        return NAN;
    return y > 0.5 ? lst(mu * y, arg) : 1.0 - y;
}

int gs_theory_gim1(gs_lst_fn lst, void *arg, double lambda, double mu, gs_queue_theory *out)
{
    fill_nan(out);
    double y = gim1_y(lst, arg, lambda, mu);
    if (isnan(y))
        return GS_EINVAL;
    double gamma = mu * y;   /* the rate of the response time */
    out->utilization = lambda / mu;
    out->response_mean = 1.0 / gamma;
    out->wait_mean = (1.0 - y) / gamma;
    out->queue_mean = lambda * out->wait_mean;
    out->in_system_mean = lambda * out->response_mean;
    out->blocked = 0.0;
    out->throughput = lambda;
    return GS_OK;
}

double gs_gim1_response_quantile(double sigma, double mu, double q)
{
    if (!(sigma >= 0.0 && sigma < 1.0) || !finite_pos(mu) || !(q >= 0.0 && q < 1.0))
        return NAN;
    return -log1p(-q) / (mu * (1.0 - sigma));
}

/* The distribution function of the mixture at t (upper = 0) or its
 * survival function (upper = 1), each a sum of positive terms. */
static double mixture(size_t n, const double *w, const double *rate, double t, int upper)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += w[i] * (upper ? exp(-rate[i] * t) : -expm1(-rate[i] * t));
    return s;
}

double gs_exp_mixture_quantile(size_t n, const double *weight, const double *rate, double q)
{
    if (n < 1 || !weight || !rate || !(q >= 0.0 && q < 1.0))
        return NAN;
    double sum = 0.0, rmin = INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (!finite_nonneg(weight[i]) || !finite_pos(rate[i]))
            return NAN;
        sum += weight[i];
        if (weight[i] > 0.0 && rate[i] < rmin)
            rmin = rate[i];
    }
    if (!(fabs(sum - 1.0) <= 1e-12))
        return NAN;
    if (q == 0.0)
        return 0.0;
    /* Lower quantiles are found on the distribution function, upper ones
     * on the survival function, so that the side compared is never a
     * difference of numbers near 1. The survival is at most
     * e^(-rmin t), so -ln(1 - q) / rmin is past the quantile. */
    int upper = q >= 0.5;
    double target = upper ? 1.0 - q : q;
    double lo = 0.0, hi = -log1p(-q) / rmin;
    for (int i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
        double mid = lo + (hi - lo) / 2.0;
        double v = mixture(n, weight, rate, mid, upper);
        if (upper ? v > target : v < target)
            lo = mid;
        else
            hi = mid;
    }
    return lo + (hi - lo) / 2.0;
}

/* --------------------------------------------------------- token bucket */

/* Ring of the last values of G(n); a power of two above the most terms any
 * sum needs (about 230, for a = 50). */
#define TB_RING 512
#define TB_RING_MASK (TB_RING - 1)

/* The token bucket as a queue. Let D = burst - tokens be the bucket's
 * deficit. Between arrivals it falls at `rate` down to 0 (the refill, capped
 * at burst); an arrival that finds D <= K = burst - 1 (at least one token)
 * raises it by 1, and one that finds D > K is rejected and leaves it alone.
 * In units of tokens, D is the workload of a single-server queue with
 * deterministic work 1 per customer, served at rate `rate`, which admits a
 * Poisson(lambda) arrival only when the workload is at most K: the M/D/1
 * queue with bounded virtual waiting time (a finite dam). By PASTA the
 * rejected share is P(D > K) in the time-stationary law.
 *
 * Level crossing (Brill and Posner, "Level crossings in point processes
 * applied to queues: single-server case", Oper. Res. 25(4), 1977): with F
 * the distribution function of D (an atom P0 at 0) and f its density on
 * (0, K + 1], down-crossings of level x balance up-crossings:
 *   rate f(x) = lambda (F(min(x, K)) - F(x - 1)),  F(u) = 0 for u < 0.
 * With a = lambda / rate and G = F / P0: G(x) = e^(a x) on [0, min(1, K)]
 * and G'(x) = a (G(x) - G(x - 1)) on [1, K], the delay equation of the
 * unbounded M/D/1 queue (where (1 - a) G is its workload distribution,
 * Erlang's M/D/1 formula). Differentiating shows that G(x) - a
 * int_{x-1}^x G = 1 for all x >= 0 (it holds at 0, its derivative is 0);
 * integrating the crossing equation over (K, K + 1] then gives G(K + 1) =
 * 1 / P0 = 1 + a G(K), so that
 *   P(reject) = 1 - G(K) / G(K + 1) = (1 + (a - 1) G(K)) / (1 + a G(K)),
 * which for a < 1 is the finite-dam formula (1 - a) p / (1 - a p) with p =
 * P(V > K) of the unbounded M/D/1 workload V. Checks: K = 0 gives a / (1 +
 * a) (each admission is followed by a dead time 1 / rate); K -> infinity
 * gives 0 for a < 1 and 1 - 1 / a for a > 1, the share beyond the refill
 * rate.
 *
 * G is computed exactly, unit interval by unit interval: on [n, n + 1],
 * G(n + t) = e^(a t) sum_{k=0}^{n} G(n - k) (-a t)^k / k!, which at t = 1
 * gives G(n + 1) from the G(m), m <= n. G increases, so the terms are at
 * most G(n) a^k / k! and the sum stops once e^a a^k / k! is below 1e-18 (a
 * few dozen terms). The terms alternate, but measured against 60-digit
 * arithmetic G keeps 1e-15 relative accuracy for a from 0.1 to 30 and K up
 * to 100, because it grows fast enough that little cancels. The rejected
 * share inherits it where a >= 1; where a < 1 its numerator 1 - (1 - a) G
 * is a difference, exact only to about 1e-15 absolute. For a > 50, or as
 * soon as (a - 1) G(n) exceeds 1e17, the 1's in the formula no longer
 * count and the answer is (a - 1) / a. */
double gs_token_bucket_reject(double lambda, double rate, double burst)
{
    if (!finite_nonneg(lambda) || !finite_pos(rate) || !isfinite(burst) || !(burst >= 1.0) ||
        burst > 1e7)
        return NAN;
    if (lambda == 0.0)
        return 0.0;
    double a = lambda / rate, am1 = (lambda - rate) / rate, k_tokens = burst - 1.0;
    if (k_tokens < 1.0) {
        /* G(K) = e^(aK); numerator and denominator divided by it, the
         * numerator a - (1 - e^(-aK)) written so that it cancels only as K
         * nears 1, not as a nears 0. */
        double inv = exp(-a * k_tokens);
        double r = (a + expm1(-a * k_tokens)) / (a + inv);
        return r < 0.0 ? 0.0 : r;
    }
    if (a > 50.0)
        return (lambda - rate) / lambda;   /* 1 / G(K) <= e^-a is below rounding */

    double ea = exp(a);
    double coef[TB_RING];   /* (-a)^k / k! */
    size_t terms = 0;
    for (double mag = ea, c = 1.0; terms < TB_RING; terms++) {
        coef[terms] = c;
        if (mag < 1e-18 && (double)terms > 2.0 * a)
            break;
        c *= -a / (double)(terms + 1);
        mag *= a / (double)(terms + 1);
    }
    if (terms >= TB_RING)
        return NAN;   /* cannot happen for a <= 50 */

    double g[TB_RING];
    long n_end = (long)floor(k_tokens);
    g[0] = 1.0;
    for (long n = 0; n < n_end; n++) {
        size_t top = (size_t)n < terms ? (size_t)n : terms;
        double s = 0.0;
        for (size_t k = 0; k <= top; k++)
            s += g[(size_t)(n - (long)k) & TB_RING_MASK] * coef[k];
        double next = ea * s;
        g[(size_t)(n + 1) & TB_RING_MASK] = next;
        if (am1 > 0.0 && am1 * next > 1e17)
            return (lambda - rate) / lambda;   /* G only grows from here */
    }
    double t = k_tokens - (double)n_end, gk = g[(size_t)n_end & TB_RING_MASK];
    if (t > 0.0) {
        size_t top = (size_t)n_end < terms ? (size_t)n_end : terms;
        double s = 0.0, c = 1.0;
        for (size_t k = 0; k <= top; k++) {
            s += g[(size_t)(n_end - (long)k) & TB_RING_MASK] * c;
            c *= -a * t / (double)(k + 1);
        }
        gk = exp(a * t) * s;
    }
    double r = (1.0 + am1 * gk) / (1.0 + a * gk);
    return r < 0.0 ? 0.0 : r;
}

/* ------------------------------------------------ redundant pair, retries */

/* The model of gs_theory_pair_retry(). Each component is a two-state Markov
 * process: up -> down at rate al = 1 / mtbf, down -> up at be = 1 / mttr,
 * th = al + be; up with probability A = be / th, down with q = al / th, and
 * from up at time 0 up at time u with probability A + q e^(-th u), from
 * down up with probability A (1 - e^(-th u)). The two are independent.
 *
 * Beliefs. The balancer probes both targets every h = check_s seconds at a
 * lattice of random phase, and with fall = rise = 1 and immediate answers
 * it believes each target to be in the state it had at the last check. A
 * Poisson arrival comes L after the last check, L uniform on (0, h) and
 * independent of the targets; given L, each target's (belief, state) pair
 * has probabilities uu = A (A + q e), ud = du = A q (1 - e) = x,
 * dd = q (q + A e), with e = e^(-th L), independently for the two.
 *
 * First choice. Policy random picks among the targets believed up, or
 * among both when none is. Enumerating the sixteen cases: the first
 * attempt goes to a down target while the other is up with probability
 * x (uu + 2x + dd) = x (uu, dd, 2x sum to 1), and both are down with q^2.
 * Averaging e over L gives E e = phi(th h) = (1 - e^(-th h)) / (th h), so
 *   first refused                   R  = q^2 + A q (1 - phi),
 *   first to a down one, other up       A q (1 - phi),
 *   first to an up one, other down      A q (1 + phi),
 *   both up                             A^2.
 *
 * Outcomes, with c = e^(-al S) the chance that an up target does not fail
 * within the service time S (memoryless up times):
 *   - refused with the other up: the retry reaches the other at the same
 *     instant and is served unless cut: c (a cut retry has no retry left);
 *   - served by an up target: done with probability c; if cut at tau < S
 *     the retry goes to the other target, which is up then with probability
 *     A + q e^(-th tau) (it was up) or A (1 - e^(-th tau)) (it was down),
 *     and is then served unless cut. Integrating over tau ~ al e^(-al tau):
 *       Ju = A (1 - c) + q C2,  Jd = A ((1 - c) - C2),
 *       C2 = al / (al + th) (1 - e^(-(al + th) S));
 *   - both down: both attempts refused at the same instant.
 * So availability = c (1 - q^2 + A^2 Ju + A q (1 + phi) Jd), which with
 * S = 0 is 1 - (1 - A)^2, and the retries per request (one for a refused
 * first attempt, one for a cut one) are R + (1 - R)(1 - c). The detection
 * gap shows in R; it moves the availability only through the Jd term,
 * because the retry always reaches the other target. */
int gs_theory_pair_retry(double mtbf, double mttr, double service_s, double check_s,
                         gs_pair_theory *out)
{
    out->availability = NAN;
    out->first_refused = NAN;
    out->retry_ratio = NAN;
    if (!finite_pos(mtbf) || !finite_pos(mttr) || !finite_nonneg(service_s) ||
        !finite_nonneg(check_s))
        return GS_EINVAL;
    double al = 1.0 / mtbf, be = 1.0 / mttr, th = al + be;
    double up = mtbf / (mtbf + mttr), down = mttr / (mtbf + mttr);
    double ph = phi(th * check_s);
    double cut = -expm1(-al * service_s);   /* 1 - c */
    double c = exp(-al * service_s);
    double c2 = al / (al + th) * -expm1(-(al + th) * service_s);
    double ju = up * cut + down * c2;
    double jd = up * (cut - c2);
    double refused = down * (down + up * (1.0 - ph));
    out->availability =
        c * (up * (1.0 + down) + up * up * ju + up * down * (1.0 + ph) * jd);
    out->first_refused = refused;
    out->retry_ratio = refused + (1.0 - refused) * cut;
    return GS_OK;
}
