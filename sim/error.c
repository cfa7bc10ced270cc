/* Status texts and the diagnostics sink: the first report wins, because
 * later ones are usually consequences of it. Warnings about a scenario are
 * not errors and are printed where they arise. */
#include "error.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

#include "node.h"

const char *gs_strerror(int status)
{
    switch (status) {
#define GS_STATUS_CASE(name, value, text) case value: return text;
        GS_STATUS_LIST(GS_STATUS_CASE)
#undef GS_STATUS_CASE
    }
    return "unknown status";
}

void gs_diag_init(gs_diag *d)
{
    d->code = GS_OK;
    d->msg[0] = '\0';
}

int gs_error(gs_diag *d, int code, const char *fmt, ...)
{
    if (d && d->code == GS_OK) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->msg, sizeof d->msg, fmt, ap);
        va_end(ap);
        d->code = code;
    }
    return code;
}

int gs_error_at(gs_diag *d, const gs_node *n, const char *fmt, ...)
{
    if (d && d->code == GS_OK) {
        int off = 0;
        if (n && n->from_set)
            off = snprintf(d->msg, sizeof d->msg, "%s: ", n->src);
        else if (n)
            off = snprintf(d->msg, sizeof d->msg, "%s:%d:%d: ", n->src, n->line, n->col);
        if (off < 0 || (size_t)off >= sizeof d->msg)
            off = 0;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->msg + off, sizeof d->msg - (size_t)off, fmt, ap);
        va_end(ap);
        d->code = GS_EINVAL;
    }
    return GS_EINVAL;
}

static _Atomic int warnings_muted;

void gs_warn_mute(int mute)
{
    atomic_store(&warnings_muted, mute);
}

void gs_warn_at(const gs_node *n, const char *fmt, ...)
{
    if (atomic_load(&warnings_muted))
        return;
    char msg[GS_DIAG_MSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n && n->from_set)
        fprintf(stderr, "warning: %s: %s\n", n->src, msg);
    else if (n)
        fprintf(stderr, "warning: %s:%d:%d: %s\n", n->src, n->line, n->col, msg);
    else
        fprintf(stderr, "warning: %s\n", msg);
}
