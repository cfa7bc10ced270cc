/* Result files that appear whole or not at all.
 *
 * The protocol is the usual one for atomic replacement on POSIX file
 * systems: write a temporary file in the target's directory (rename is atomic
 * only within one file system), fsync it so its data is on disk before its
 * name is, rename it over the target, then fsync the directory so the rename
 * itself is durable. Invariant: between open and commit or abort, af->tmp
 * names an existing file that af->f writes, and af->path is untouched; after
 * either, af holds nothing. */
#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/alloc.h"
#include "sim/error.h"

static int io_error(gs_diag *d, const char *path, const char *what, int err)
{
    char reason[128];
    /* strerror() may share a buffer between threads; the XSI strerror_r
     * does not. */
    if (strerror_r(err, reason, sizeof reason) != 0)
        snprintf(reason, sizeof reason, "error %d", err);
    return gs_error(d, GS_EIO, "%s: %s: %s", path, what, reason);
}

static void release(gs_atomic_file *af)
{
    gs_free(af->path);
    gs_free(af->tmp);
    af->f = NULL;
    af->path = NULL;
    af->tmp = NULL;
}

/* mkstemp creates files with mode 0600, but a result file should get the
 * permissions any new file would. POSIX has no way to read the umask but to
 * set it; it is restored at once, and the header asks callers to write
 * results while no other thread creates files. */
static mode_t new_file_mode(void)
{
    mode_t mask = umask(022);
    umask(mask);
    return (mode_t)(0666 & ~mask);
}

int gs_atomic_open(gs_atomic_file *af, const char *path, gs_diag *d)
{
    af->f = NULL;
    af->path = NULL;
    af->tmp = NULL;
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    size_t dirlen = (size_t)(name - path);
    if (*name == '\0')
        return io_error(d, path, "cannot create", EISDIR);

    static const char suffix[] = ".tmp.XXXXXX";
    size_t len = strlen(path) + 1 + sizeof suffix;
    af->path = gs_strdup(path);
    af->tmp = gs_malloc(len);
    if (!af->path || !af->tmp) {
        release(af);
        return gs_error(d, GS_ENOMEM, "%s: out of memory", path);
    }
    snprintf(af->tmp, len, "%.*s.%s%s", (int)dirlen, path, name, suffix);

    int fd = mkstemp(af->tmp);
    if (fd < 0) {
        int err = errno;
        release(af);
        return io_error(d, path, "cannot create", err);
    }
    /* A file whose mode cannot be changed is still a correct file. */
    (void)fchmod(fd, new_file_mode());
    af->f = fdopen(fd, "w");
    if (!af->f) {
        int err = errno;
        close(fd);
        unlink(af->tmp);
        release(af);
        return io_error(d, path, "cannot create", err);
    }
    return GS_OK;
}

/* Make the rename durable. A file system that cannot sync a directory
 * (EINVAL) or a directory we may write but not read (EACCES) only loses
 * durability: a crash may bring back the old file, never a partial one. So
 * only a failure of the sync itself is an error. */
static int sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir;
    if (!slash)
        dir = gs_strdup(".");
    else
        dir = gs_strndup(path, slash == path ? 1 : (size_t)(slash - path));
    if (!dir)
        return 0;
    int fd = open(dir, O_RDONLY);
    gs_free(dir);
    if (fd < 0)
        return 0;
    int err = 0;
    if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
        err = errno;
    close(fd);
    return err;
}

int gs_atomic_commit(gs_atomic_file *af, gs_diag *d)
{
    if (!af->f)
        return gs_error(d, GS_EINTERNAL, "commit of a result file that is not open");
    int err = 0;
    /* A stream error set by an earlier write may have no errno left; EIO
     * stands in for it. */
    errno = 0;
    if (fflush(af->f) != 0 || ferror(af->f))
        err = errno ? errno : EIO;
    else if (fsync(fileno(af->f)) != 0)
        err = errno;
    /* fclose releases the stream even when it fails. */
    if (fclose(af->f) != 0 && !err)
        err = errno ? errno : EIO;
    af->f = NULL;
    if (!err && rename(af->tmp, af->path) != 0)
        err = errno;
    if (err) {
        unlink(af->tmp);
    } else {
        err = sync_dir(af->path);
    }
    int rc = err ? io_error(d, af->path, "cannot write", err) : GS_OK;
    release(af);
    return rc;
}

void gs_atomic_abort(gs_atomic_file *af)
{
    if (af->f)
        fclose(af->f);
    if (af->tmp)
        unlink(af->tmp);
    release(af);
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Try each prefix that ends before a '/', then the whole path. A failed
 * mkdir of a prefix that is already a directory is fine whatever errno says:
 * some systems report EACCES or EROFS before EEXIST for, say, "/home". */
int gs_mkdir_p(const char *dir, gs_diag *d)
{
    if (*dir == '\0')
        return io_error(d, dir, "cannot create directory", ENOENT);
    char *p = gs_strdup(dir);
    if (!p)
        return gs_error(d, GS_ENOMEM, "%s: out of memory", dir);
    int err = 0;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0777) != 0) {
            int e = errno;
            if (!is_dir(p)) {
                err = e == EEXIST ? ENOTDIR : e;
                break;
            }
        }
        *s = c;
        if (c == '\0')
            break;
    }
    gs_free(p);
    return err ? io_error(d, dir, "cannot create directory", err) : GS_OK;
}
