/* Status codes and the diagnostics sink.
 *
 * A function that can fail returns GS_OK or a negative GS_E* code and reports
 * the reason once, into a gs_diag, where the context is known. Only main()
 * prints the final message. */
#ifndef GS_SIM_ERROR_H
#define GS_SIM_ERROR_H

#include "types.h"

#define GS_STATUS_LIST(X)                                           \
    X(GS_OK, 0, "success")                                          \
    X(GS_EINVAL, -1, "invalid input")                               \
    X(GS_ENOMEM, -2, "out of memory")                               \
    X(GS_EIO, -3, "input/output error")                             \
    X(GS_EINTERNAL, -4, "internal error")

enum gs_status {
#define GS_STATUS_ENUM(name, value, text) name = value,
    GS_STATUS_LIST(GS_STATUS_ENUM)
#undef GS_STATUS_ENUM
};

/* Human text of a status code; never NULL. */
const char *gs_strerror(int status);

#define GS_DIAG_MSG 1024

/* The first error reported wins: later reports are usually consequences. */
struct gs_diag {
    int  code;              /* GS_OK until something is reported */
    char msg[GS_DIAG_MSG];  /* complete one-line message, no newline */
};

void gs_diag_init(gs_diag *d);

/* Record "fmt ..." as the message (if none yet) and return code. */
int gs_error(gs_diag *d, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record "SRC:LINE:COL: fmt ..." for a scenario node (if none yet) and return
 * GS_EINVAL. A node that came from a --set override is shown as
 * "--set PATH=VALUE: ..." instead of a file position. n may be NULL, then the
 * message has no position. */
int gs_error_at(gs_diag *d, const gs_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Print "warning: SRC:LINE:COL: fmt ...\n" for a scenario node to stderr at
 * once (positioned as gs_error_at does; n may be NULL). For a scenario that
 * is valid but probably not what its author meant (a profile measured on
 * another device); called where a scenario is configured, which happens once
 * per load, so each warning is printed once. */
void gs_warn_at(const gs_node *n, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Silence gs_warn_at() (mute != 0) or let it speak again, process-wide: a
 * sweep loads each scenario many times and warns only on the first load. */
void gs_warn_mute(int mute);

#endif
