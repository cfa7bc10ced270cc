/* Crash-safe result files: write to a temporary file beside the target and
 * rename it over the target once complete, so that a reader (or a run killed
 * at any moment) sees the old file or the whole new one, never a part. */
#ifndef GS_ANALYSIS_ATOMIC_H
#define GS_ANALYSIS_ATOMIC_H

#include <stdio.h>
#include "sim/types.h"

typedef struct gs_atomic_file {
    FILE *f;        /* write here between open and commit */
    char *path;     /* the final name */
    char *tmp;      /* the temporary name in the same directory */
} gs_atomic_file;

/* Create "DIR/.NAME.tmp.XXXXXX" (mkstemp) beside path = "DIR/NAME" and open
 * it as af->f, with mode 0666 less the umask like any new file. The target
 * is untouched until gs_atomic_commit(). The temporary file carries a POSIX
 * record lock (fcntl) until commit or abort; first, every ".NAME.tmp.XXXXXX"
 * in DIR whose lock is free (left by a killed process) is removed. So a
 * process must not open the same path twice at once, nor open, close or
 * lock another descriptor of its own temporary file (closing any descriptor
 * of a file drops the process's locks on it). GS_EIO with "PATH: cannot
 * create: REASON", or GS_ENOMEM; on failure af is left so that
 * gs_atomic_abort() is a no-op. It reads the umask by setting and restoring
 * it, so another thread must not create files meanwhile (results are written
 * from the main thread, after the replications). */
int gs_atomic_open(gs_atomic_file *af, const char *path, gs_diag *d);

/* Flush and fsync the temporary file, rename it over path, close it, and
 * fsync the directory so that the new name survives a power cut. On failure the
 * temporary file is removed, the target is left as it was, and the result is
 * GS_EIO with "PATH: cannot write: REASON" (a full disk shows as "No space
 * left on device"). Either way af is released: a later gs_atomic_abort() is
 * a no-op. */
int gs_atomic_commit(gs_atomic_file *af, gs_diag *d);

/* Close and remove the temporary file, leaving the target as it was. Safe
 * after a failed open, after commit, and twice. */
void gs_atomic_abort(gs_atomic_file *af);

/* Create dir and its missing parents (mode 0777 less the umask); an existing
 * directory is fine. GS_EIO with "DIR: cannot create directory: REASON" (an
 * existing non-directory gives "Not a directory"), or GS_ENOMEM. */
int gs_mkdir_p(const char *dir, gs_diag *d);

/* Whether results could be written into dir: it is a directory we may write
 * in, or it does not exist and its nearest existing ancestor is one (so
 * gs_mkdir_p() could make it). Creates nothing. For refusing a run before
 * it simulates rather than after. GS_OK, GS_EIO with "DIR: cannot write:
 * REASON" (or "DIR: cannot create it in ANCESTOR: REASON"), or GS_ENOMEM. */
int gs_dir_writable(const char *dir, gs_diag *d);

#endif
