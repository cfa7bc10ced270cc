/* Minimal checks for test programs: each failure prints file:line and is
 * counted; CHECK_DONE() prints a summary and returns the exit status. */
#ifndef GS_TESTS_CHECK_H
#define GS_TESTS_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                          \
    do {                                                                     \
        check_count++;                                                       \
        if (!(cond)) {                                                       \
            check_failures++;                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
        }                                                                    \
    } while (0)

#define CHECK_EQ(a, b)                                                       \
    do {                                                                     \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);      \
        check_count++;                                                       \
        if (check_a_ != check_b_) {                                          \
            check_failures++;                                                \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s = %lld, %s = %lld\n", \
                    __FILE__, __LINE__, #a, check_a_, #b, check_b_);          \
        }                                                                    \
    } while (0)

/* |a - b| <= tol */
#define CHECK_NEAR(a, b, tol)                                                \
    do {                                                                     \
        double check_a_ = (double)(a), check_b_ = (double)(b);               \
        double check_t_ = (double)(tol);                                     \
        check_count++;                                                       \
        if (!(fabs(check_a_ - check_b_) <= check_t_)) {                      \
            check_failures++;                                                \
            fprintf(stderr,                                                  \
                    "%s:%d: CHECK_NEAR failed: %s = %.9g, %s = %.9g, tol %.3g\n", \
                    __FILE__, __LINE__, #a, check_a_, #b, check_b_, check_t_); \
        }                                                                    \
    } while (0)

#define CHECK_DONE()                                                         \
    (fprintf(stderr, "%d checks, %d failed\n", check_count, check_failures), \
     check_failures ? 1 : 0)

#endif
