/* Result files that appear whole or not at all.
 *
 * The protocol is the usual one for atomic replacement on POSIX file
 * systems: write a temporary file in the target's directory (rename is atomic
 * only within one file system), fsync it so its data is on disk before its
 * name is, rename it over the target, then fsync the directory so the rename
 * itself is durable. Invariant: between open and commit or abort, af->tmp
 * names an existing file that af->f writes, and af->path is untouched; after
 * either, af holds nothing.
 *
 * A process killed between open and commit leaves its temporary file
 * behind. The writer holds a POSIX record lock (fcntl F_SETLK) on its
 * temporary file from just after creating it until it is renamed or
 * removed, and the kernel drops the lock when the process dies however it
 * dies. So a temporary file whose lock can be taken belongs to nobody, and
 * gs_atomic_open() of NAME removes such stale ".NAME.tmp.XXXXXX" files first.
 * The one window, between mkstemp() and the lock, is closed from both sides:
 * the cleaner unlinks only while holding the lock, and the writer, once its
 * lock is granted, checks that its name still leads to its file and starts
 * over with a new name when a cleaner got there first. */
#include "atomic.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/alloc.h"
#include "sim/durable.h"
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

/* Try the write lock on the whole of fd's file without waiting: 1 when
 * granted, 0 when another process holds a lock on it, and -1 when the file
 * system has no locks (some network ones), in which case nothing is ever
 * taken for stale. */
static int try_lock(int fd)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_SETLK, &fl) == 0)
        return 1;
    return errno == EACCES || errno == EAGAIN ? 0 : -1;
}

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* 1 when ent is "." NAME ".tmp." and six more characters, the names that
 * gs_atomic_open() gives NAME's temporary files. */
static int is_temp_of(const char *ent, const char *name, size_t namelen)
{
    return ent[0] == '.' && strncmp(ent + 1, name, namelen) == 0 &&
           strncmp(ent + 1 + namelen, ".tmp.", 5) == 0 && strlen(ent + 6 + namelen) == 6;
}

/* Remove the temporary files of NAME in dir (dirlen bytes of path, 0 for
 * the working directory) that no live process holds: those left by a
 * process that was killed. Only NAME's: the directory may be a user's own,
 * with files that merely look like ours. A process writes one file at a
 * time under a given name, so none of these is our own. Best effort: a
 * temporary file that cannot be judged or removed stays, hidden and
 * harmless. GS_ENOMEM when out of memory, else GS_OK. */
static int remove_stale(const char *path, size_t dirlen, const char *name)
{
    char *dir = dirlen ? gs_strndup(path, dirlen) : gs_strdup(".");
    if (!dir)
        return GS_ENOMEM;
    DIR *dp = opendir(dir);
    gs_free(dir);
    if (!dp)
        return GS_OK;
    int dfd = dirfd(dp);
    size_t namelen = strlen(name);
    struct dirent *e;
    while (dfd >= 0 && (e = readdir(dp)) != NULL) {
        if (!is_temp_of(e->d_name, name, namelen))
            continue;
        /* O_NONBLOCK: a FIFO put there by someone must not hang us. */
        int fd = openat(dfd, e->d_name, O_RDWR | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW);
        if (fd < 0)
            continue;
        struct stat held, named;
        /* The name is removed while the lock is held and only if it still
         * leads to the file locked: a writer that creates its file under this
         * name after we looked finds its name gone and takes another. */
        if (fstat(fd, &held) == 0 && S_ISREG(held.st_mode) && try_lock(fd) == 1 &&
            fstatat(dfd, e->d_name, &named, AT_SYMLINK_NOFOLLOW) == 0 &&
            same_file(&held, &named))
            unlinkat(dfd, e->d_name, 0);
        close(fd);
    }
    closedir(dp);
    return GS_OK;
}

/* Make tmp, a mkstemp() template, into a file that is locked (where the
 * file system has locks) and still under its name. A file that a cleaner
 * took between mkstemp() and the lock is given up for a new name; a few
 * rounds are plenty, since a cleaner never takes a locked file. Returns the
 * descriptor, or -1 with errno set. */
static int create_locked(char *tmp)
{
    char *x = tmp + strlen(tmp) - 6;
    int fd = -1, err = EAGAIN;
    for (int round = 0; round < 100; round++) {
        memcpy(x, "XXXXXX", 6);
        fd = mkstemp(tmp);
        if (fd < 0) {
            err = errno;
            break;
        }
        struct stat held, named;
        int locked = try_lock(fd);
        if (locked != 0 && fstat(fd, &held) == 0 && lstat(tmp, &named) == 0 &&
            same_file(&held, &named))
            break;
        /* A cleaner holds the file or has removed its name: both mean it is
         * going, so it is left to the cleaner. */
        close(fd);
        fd = -1;
    }
    errno = err;
    return fd;
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

    if (remove_stale(path, dirlen, name) != GS_OK) {
        release(af);
        return gs_error(d, GS_ENOMEM, "%s: out of memory", path);
    }
    int fd = create_locked(af->tmp);
    if (fd < 0) {
        int err = errno;
        release(af);
        return io_error(d, path, "cannot create", err);
    }
    /* gnuplot, started while a plot's files are open, needs none of them. */
    (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
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
    /* The rename comes before the close, which would drop the lock that
     * keeps other processes from taking the file for stale. Once fsync has
     * succeeded the data is on disk, so a failing close loses nothing. */
    if (!err && rename(af->tmp, af->path) != 0)
        err = errno;
    if (err)
        unlink(af->tmp);
    fclose(af->f);
    af->f = NULL;
    if (!err) {
        /* The rename has happened: no memory for the directory's name only
         * skips the sync, as a directory that cannot be synced does. */
        int e = gs_sync_parent_dir(af->path);
        err = e == ENOMEM ? 0 : e;
    }
    int rc = err ? io_error(d, af->path, "cannot write", err) : GS_OK;
    release(af);
    return rc;
}

void gs_atomic_abort(gs_atomic_file *af)
{
    /* Unlinked while still locked, so that no other process ever sees the
     * file unlocked under its name. */
    if (af->tmp)
        unlink(af->tmp);
    if (af->f)
        fclose(af->f);
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

/* The directory itself when it exists, else its nearest existing ancestor,
 * where gs_mkdir_p() would create it. access() asks with the real ids, which
 * are the ones gatesim writes with. */
int gs_dir_writable(const char *dir, gs_diag *d)
{
    char *p = gs_strdup(*dir ? dir : ".");
    if (!p)
        return gs_error(d, GS_ENOMEM, "%s: out of memory", dir);
    int err = 0;
    for (;;) {
        struct stat st;
        if (stat(p, &st) == 0) {
            if (!S_ISDIR(st.st_mode))
                err = ENOTDIR;
            else if (access(p, W_OK | X_OK) != 0)
                err = errno;
            break;
        }
        if (errno != ENOENT) {
            err = errno;
            break;
        }
        char *slash = strrchr(p, '/');
        while (slash && slash > p && slash[1] == '\0') {
            /* "a/b/" names "a/b". */
            *slash = '\0';
            slash = strrchr(p, '/');
        }
        if (!slash) {
            strcpy(p, ".");
        } else if (slash == p) {
            p[1] = '\0';
        } else {
            *slash = '\0';
        }
    }
    int rc = GS_OK;
    if (err && strcmp(p, dir) == 0) {
        rc = io_error(d, dir, "cannot write", err);
    } else if (err) {
        char what[64 + 1024];
        snprintf(what, sizeof what, "cannot create it in %.1024s", p);
        rc = io_error(d, dir, what, err);
    }
    gs_free(p);
    return rc;
}
