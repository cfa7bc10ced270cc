/* Closed-form and algorithmic results of queueing theory, used by
 * `gatesim validate` and by the golden tests. All times in seconds, rates
 * per second. Functions that return a number return NaN when the inputs are
 * outside their domain (negative, non-finite, an unstable queue); functions
 * that fill a struct return 0 (GS_OK) or a negative status and then fill every
 * output field with NaN. None of them keeps state, so all are thread-safe. */
#ifndef GS_ANALYSIS_THEORY_H
#define GS_ANALYSIS_THEORY_H

#include <stddef.h>

/* Erlang B: blocking probability of an M/G/c/c loss system offered a =
 * lambda * E[S] erlangs (insensitive to the service distribution).
 * Domain: c >= 0, a >= 0 finite; B(0, a) = 1. Cost O(c). */
double gs_erlang_b(long c, double a);

/* Erlang C: probability that an arrival waits in an M/M/c queue offered a
 * erlangs. Domain: c >= 1, 0 <= a < c; NaN otherwise. */
double gs_erlang_c(long c, double a);

/* Steady-state figures of a single station. */
typedef struct gs_queue_theory {
    double utilization;     /* busy share of each server */
    double wait_mean;       /* time in queue */
    double response_mean;   /* time in queue + service */
    double queue_mean;      /* number waiting (time average) */
    double in_system_mean;  /* number present (time average) */
    double blocked;         /* share of arrivals turned away (finite capacity) */
    double throughput;      /* admitted and served per second */
} gs_queue_theory;

/* M/M/c with unlimited queue (c = 1: M/M/1). lambda >= 0, mu > 0, c >= 1.
 * Returns 0, or -1 if unstable (lambda >= c * mu) or the input is bad. */
int gs_theory_mmc(double lambda, double mu, long c, gs_queue_theory *out);

/* Quantile q (0 <= q < 1) of the response time of M/M/1 (exponential with
 * rate mu - lambda). NaN if unstable or q is outside [0, 1). */
double gs_mm1_response_quantile(double lambda, double mu, double q);

/* P(T <= t) for the response time T of M/M/c FCFS: the waiting time is 0
 * with probability 1 - C and exponential with rate c*mu - lambda otherwise,
 * and is followed by an exponential service of rate mu. Closed form, also
 * where the two rates are equal (Erlang-2). 0 for t <= 0; NaN if unstable. */
double gs_mmc_response_cdf(double lambda, double mu, long c, double t);

/* Quantile q (0 <= q < 1) of the response time of M/M/c FCFS: the root of
 * gs_mmc_response_cdf() = q, found by bracketing and bisection to about
 * 1e-13 relative. Agrees with gs_mm1_response_quantile() for c = 1. NaN if
 * unstable or q is outside [0, 1). */
double gs_mmc_response_quantile(double lambda, double mu, long c, double q);

/* M/G/1 by Pollaczek-Khinchine from the service mean and variance (M/D/1:
 * variance 0). lambda >= 0, mean_s > 0, var_s >= 0. Returns 0, or -1 if
 * unstable (lambda * mean_s >= 1) or the input is bad. */
int gs_theory_mg1(double lambda, double mean_s, double var_s, gs_queue_theory *out);

/* M/M/c/K with K places in all (c in service + K - c waiting); c = 1 gives
 * M/M/1/K. blocked = P(K present) by PASTA. lambda >= 0, mu > 0,
 * 1 <= c <= k; any load, rho = 1 included. Cost O(k), no allocation, no
 * overflow for large k. With lambda = 0 the waits are their limits (0 and
 * 1/mu). Returns 0 or -1 on bad input. */
int gs_theory_mmck(double lambda, double mu, long c, long k, gs_queue_theory *out);

/* Exact mean value analysis of a closed network of `users` customers that
 * think for a mean time think_s (a delay station) and then visit each of n
 * stations in turn; station i has servers[i] exponential servers (FCFS) with
 * mean service demand demand_s[i] per visit (servers may be NULL: all
 * single-server). Single-server stations, and stations with at least as many
 * servers as users (which never queue), use the Reiser-Lavenberg MVA
 * recursion. A network with a station of 1 < servers < users is solved
 * exactly from its product form (log-space convolution), because the
 * load-dependent MVA recursion for marginal probabilities loses all accuracy
 * at high load; the results are the same figures the exact recursion defines.
 * Outputs (each may be NULL; the arrays have n entries): system throughput
 * (cycles per second), mean response time through the stations (excluding
 * think), and per-station mean response time and utilisation (X D_i / c_i).
 * users >= 1, think_s >= 0, demand_s[i] >= 0, servers[i] >= 1, and think_s or
 * some demand > 0. Returns 0, -1 (GS_EINVAL) on bad input, or GS_ENOMEM when
 * memory runs out; on failure the outputs hold NaN. Cost O(users * n) for
 * the recursion, O(users^2 * n) for the convolution (users = 5000 with
 * three stations: about a second); the convolution's relative accuracy is
 * about 1e-14 at a hundred users and 1e-12 at a few thousand. */
int gs_theory_mva(long users, double think_s, size_t n, const double *demand_s,
                  const long *servers, double *throughput, double *response,
                  double *station_response, double *station_util);

/* Long-run share of time a component that alternates up periods of mean
 * mtbf and down periods of mean mttr spends up: mtbf / (mtbf + mttr), for
 * any distributions of the two (renewal-reward theorem). mtbf, mttr > 0 and
 * finite; NaN otherwise. */
double gs_availability(double mtbf, double mttr);

/* Share of Poisson arrivals that such a component serves to the end when
 * its up times are exponential: an arrival finds it up with probability
 * gs_availability() (PASTA), and then, by memorylessness, the remaining up
 * time outlasts a service of exactly service_s with probability
 * exp(-service_s / mtbf). Exact when no request waits for a server (a
 * waiting request is exposed longer). service_s >= 0; NaN otherwise. */
double gs_availability_served(double mtbf, double mttr, double service_s);

/* Che's approximation of the hit ratio of an LRU cache of `capacity`
 * entries under the independent reference model with `count` keys, key k
 * requested with probability p_k = k^-zipf / sum_j j^-zipf: the
 * characteristic time T solves sum_k (1 - e^(-p_k T)) = capacity, and the
 * hit ratio is sum_k p_k (1 - e^(-p_k T)). count >= 1, zipf >= 0 finite,
 * capacity >= 0 (capacity >= count gives 1, capacity 0 gives 0; zipf 0
 * gives capacity / count exactly); NaN otherwise or when memory runs out.
 * Cost O(count) memory and O(count) time per step of a bisection of
 * about 60 steps (count = 10^6: a few seconds). An approximation, not an exact result: see theory.c. */
double gs_lru_hit_che(long count, double zipf, long capacity);

/* The Laplace-Stieltjes transform E[e^(-s T)] of an interarrival time T,
 * s >= 0; arg is the caller's. */
typedef double (*gs_lst_fn)(double s, void *arg);

/* Erlang-k interarrival times of mean 1 / rate (k phases of rate k * rate),
 * for gs_erlang_lst(): the gaps a server sees when a Poisson stream of rate
 * k * rate is dealt round robin over k servers. */
typedef struct gs_erlang_arg {
    long   k;       /* >= 1 */
    double rate;    /* arrivals per second, > 0 */
} gs_erlang_arg;

/* LST of gs_erlang_arg *arg: (k rate / (k rate + s))^k. NaN on bad input. */
double gs_erlang_lst(double s, void *arg);

/* GI/M/1: the root sigma in (0, 1) of sigma = A*(mu (1 - sigma)), A* = lst
 * the interarrival time's LST, lambda = 1 / E[T] its rate, mu the
 * exponential service rate. sigma is the probability that an arrival finds
 * the server busy; M/M/1 gives lambda / mu. The root is found by GSL's Brent
 * solver on y = 1 - sigma, so that 1 - sigma keeps its relative accuracy
 * near saturation as far as the problem allows: an LST near 1 carries only
 * absolute accuracy, so 1 - sigma is good to about 1e-16 / (1 - rho)^2
 * relative (1e-10 at rho = 0.999), sigma to about 1e-15 relative. lambda >
 * 0, mu > 0, lambda < mu (rho < 1), lst finite and convex as every LST is;
 * NaN otherwise or if no root is bracketed. */
double gs_gim1_sigma(gs_lst_fn lst, void *arg, double lambda, double mu);

/* GI/M/1 FCFS from its sigma: an arrival waits with probability sigma, and
 * then for an exponential time of rate mu (1 - sigma); its response time is
 * exponential with rate mu (1 - sigma). Fills wait_mean sigma / (mu (1 -
 * sigma)), response_mean 1 / (mu (1 - sigma)), the time averages by
 * Little's law, utilization lambda / mu, blocked 0, throughput lambda.
 * Returns 0, or -1 (GS_EINVAL) where gs_gim1_sigma() is NaN. */
int gs_theory_gim1(gs_lst_fn lst, void *arg, double lambda, double mu, gs_queue_theory *out);

/* Quantile q (0 <= q < 1) of the GI/M/1 response time given its sigma
 * (0 <= sigma < 1) and mu > 0: -ln(1 - q) / (mu (1 - sigma)). NaN outside
 * the domain. */
double gs_gim1_response_quantile(double sigma, double mu, double q);

/* Quantile q (0 <= q < 1) of a mixture of n >= 1 exponentials, component i
 * chosen with probability weight[i] (>= 0, summing to 1 within 1e-12) and of
 * rate rate[i] > 0: the t with sum_i weight[i] e^(-rate[i] t) = 1 - q,
 * found by bisection on a bracket to about 1e-14 relative. This is the
 * response time of a stream split over independent M/M/1 or GI/M/1 queues.
 * NaN on bad input. */
double gs_exp_mixture_quantile(size_t n, const double *weight, const double *rate, double q);

/* Share of Poisson arrivals (rate lambda) that a token bucket rejects: it
 * holds up to `burst` tokens (a real number >= 1), refills continuously at
 * `rate` tokens per second, and an arrival that finds at least one token
 * takes one, else is rejected (models/bucket.h). Exact (see theory.c for
 * the derivation): with a = lambda / rate and G the solution of
 * G(x) = e^(a x) on [0, 1], G'(x) = a (G(x) - G(x - 1)) beyond,
 *   P(reject) = (1 + (a - 1) G(burst - 1)) / (1 + a G(burst - 1));
 * burst 1 gives lambda / (lambda + rate). lambda >= 0, rate > 0 and
 * 1 <= burst <= 1e7, all finite; NaN otherwise. Cost O(burst) with a
 * constant below 100. Error: about 1e-15 relative where a >= 1; where a < 1
 * the result is a difference of numbers near 1, accurate to about 1e-15
 * absolute (so relatively only down to rejection shares of about 1e-9). */
double gs_token_bucket_reject(double lambda, double rate, double burst);

/* Two identical independent components with exponential up times (mean
 * mtbf) and down times (mean mttr) behind a load balancer with policy
 * random, health checks every check_s seconds with fall = rise = 1, and
 * retry_on_error 1 (a request that fails, refused by a down target or cut
 * by a failure in service, is sent once to the other target). Poisson
 * arrivals; no network delay and connect_timeout 0, so that a check's
 * result and a refusal come at once; every request is served in exactly
 * service_s without waiting. check_s = 0 means the balancer always knows
 * the true states. See theory.c for the derivation. */
typedef struct gs_pair_theory {
    double availability;    /* share of requests served: (1 - (1-A)^2) when service_s = 0 */
    double first_refused;   /* share whose first attempt finds its target down */
    double retry_ratio;     /* retries per request (refusals and cuts of first attempts) */
} gs_pair_theory;

/* mtbf, mttr > 0, service_s >= 0, check_s >= 0, all finite. Returns 0, or
 * -1 (GS_EINVAL) with every field NaN. */
int gs_theory_pair_retry(double mtbf, double mttr, double service_s, double check_s,
                         gs_pair_theory *out);

#endif
