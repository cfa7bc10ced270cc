/* Closed-form and algorithmic results of queueing theory, used by
 * `gatesim validate` and by the golden tests. All times in seconds, rates
 * per second. Functions return NaN when the inputs are outside their domain
 * (e.g. an unstable queue). */
#ifndef GS_ANALYSIS_THEORY_H
#define GS_ANALYSIS_THEORY_H

#include <stddef.h>

/* Erlang B: blocking probability of an M/G/c/c loss system offered a =
 * lambda * E[S] erlangs (insensitive to the service distribution). */
double gs_erlang_b(long c, double a);

/* Erlang C: probability that an arrival waits in an M/M/c queue offered a
 * erlangs (a < c). */
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

/* M/M/c with unlimited queue (c = 1: M/M/1). Returns 0, or -1 if unstable. */
int gs_theory_mmc(double lambda, double mu, long c, gs_queue_theory *out);

/* Quantile q of the response time of M/M/1 (exponential with rate mu - lambda). */
double gs_mm1_response_quantile(double lambda, double mu, double q);

/* Quantile q of the response time of M/M/c FCFS (waiting time is 0 with
 * probability 1 - C and exponential with rate c*mu - lambda otherwise,
 * convolved with the exponential service), found by root search. */
double gs_mmc_response_quantile(double lambda, double mu, long c, double q);

/* M/G/1 by Pollaczek-Khinchine from the service mean and variance (M/D/1:
 * variance 0). Returns 0, or -1 if unstable. */
int gs_theory_mg1(double lambda, double mean_s, double var_s, gs_queue_theory *out);

/* M/M/c/K with K places in all (c in service + K - c waiting); c = 1 gives
 * M/M/1/K. blocked = P(K present) by PASTA. Returns 0 or -1 on bad input. */
int gs_theory_mmck(double lambda, double mu, long c, long k, gs_queue_theory *out);

/* Exact mean value analysis of a closed network of `users` customers that
 * think for a mean time think_s (a delay station) and then visit each of n
 * stations in turn; station i has servers[i] exponential servers (FCFS) with
 * mean service demand demand_s[i] per visit. Multi-server stations use the
 * load-dependent exact recursion (marginal queue-length probabilities).
 * Outputs (arrays of n may be NULL): system throughput (cycles per second),
 * mean response time through the stations (excluding think), and per-station
 * mean response time and utilisation. Returns 0 or -1 on bad input. */
int gs_theory_mva(long users, double think_s, size_t n, const double *demand_s,
                  const long *servers, double *throughput, double *response,
                  double *station_response, double *station_util);

#endif
