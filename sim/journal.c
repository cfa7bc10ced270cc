/* The sweep journal: finished work items recorded durably, one framed
 * record per item, in an append-only file (format in journal.h).
 *
 * Invariant: while a journal is open, j->end is the file's size and every
 * byte before it belongs to the header or to an intact record. Appends keep
 * it by writing a whole frame with one write() loop on an O_APPEND
 * descriptor, then fdatasync() before reporting success; a failed write is
 * cut back with ftruncate(). A process killed in between leaves at most one
 * torn frame at the end, and resuming cuts it off again, so whatever is
 * found on resume is a prefix of what was appended, each record whole.
 *
 * This is the write-ahead-log recipe of databases (length-prefixed,
 * checksummed frames; stop at the first bad frame; truncate there). The
 * checksum is FNV-1a-64 (Fowler, Noll and Vo; offset basis
 * 0xcbf29ce484222325, prime 0x100000001b3): it only has to catch torn and
 * garbled tails, not an adversary. */
#include "journal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "durable.h"
#include "error.h"

#define MAGIC "GSJRNL01"
#define MAGIC_LEN 8u
#define LEN_BYTES 4u
#define SUM_BYTES 8u
/* Framing around a record's payload: length before, checksum after. */
#define FRAME_BYTES (LEN_BYTES + SUM_BYTES)
/* A buffer grown past this by one big record is given back afterwards, so
 * that one 64 MiB record does not pin 64 MiB for the rest of the sweep. */
#define KEEP_BUF_BYTES ((size_t)1 << 20)
/* Resuming reads the file in chunks of this size: a record is usually a
 * few hundred bytes, and a read() for each field would cost three system
 * calls per record. */
#define CHUNK_BYTES ((size_t)64 << 10)

struct gs_journal {
    int            fd;       /* O_RDWR | O_APPEND; -1 when not open */
    char          *path;
    uint64_t       end;      /* file size: the end of the last intact record */
    long           nrec;
    unsigned char *buf;      /* a frame being written or read */
    size_t         cap;
    int            broken;   /* the file's tail is unknown: refuse appends */
};

static uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

static uint64_t checksum(const unsigned char *p, size_t n)
{
    return fnv1a(UINT64_C(0xcbf29ce484222325), p, n);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int io_error(gs_diag *d, const char *path, const char *what, int err)
{
    char reason[128];
    /* strerror() may share a buffer between threads; the XSI strerror_r
     * does not. */
    if (strerror_r(err, reason, sizeof reason) != 0)
        snprintf(reason, sizeof reason, "error %d", err);
    return gs_error(d, GS_EIO, "%s: %s: %s", path, what, reason);
}

static int not_a_journal(gs_diag *d, const char *path)
{
    return gs_error(d, GS_EINVAL, "%s: not a gatesim sweep journal", path);
}

/* Make j->buf hold at least n bytes. Its old content is not kept: every
 * user fills it afresh. */
static int reserve(gs_journal *j, size_t n)
{
    if (n <= j->cap)
        return GS_OK;
    gs_free(j->buf);
    j->cap = 0;
    j->buf = gs_malloc(n);
    if (!j->buf)
        return GS_ENOMEM;
    j->cap = n;
    return GS_OK;
}

static void trim(gs_journal *j)
{
    if (j->cap > KEEP_BUF_BYTES) {
        gs_free(j->buf);
        j->buf = NULL;
        j->cap = 0;
    }
}

/* 0, or the errno of the failure. A regular file takes a short write when
 * the disk fills or a signal arrives mid-way; the loop goes on from there,
 * and the next write() reports the reason if there is one. */
static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (w == 0)
            return EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int sync_data(int fd)
{
    while (fdatasync(fd) != 0) {
        if (errno != EINTR)
            return errno;
    }
    return 0;
}

static int sync_all(int fd)
{
    while (fsync(fd) != 0) {
        if (errno != EINTR)
            return errno;
    }
    return 0;
}

/* One writer per journal: an advisory lock on the whole file, which the
 * system drops when its holder dies (SIGKILL included), so a killed sweep
 * never blocks its resume, while a second sweep on the same output
 * directory is refused instead of appending the same items. */
static int lock(gs_journal *j, gs_diag *d)
{
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(j->fd, F_SETLK, &fl) == 0)
        return GS_OK;
    if (errno == EACCES || errno == EAGAIN)
        return gs_error(d, GS_EINVAL, "%s: another gatesim sweep is writing this journal (the "
                        "same output directory); wait for it to finish or use another -o",
                        j->path);
    return io_error(d, j->path, "cannot lock", errno);
}

/* Create or truncate the file and write a header that is on disk, under a
 * durable name, before any record can follow it. Truncated only once
 * locked, so that another sweep's journal is never cut. */
static int create(gs_journal *j, const unsigned char *fp, size_t fplen, gs_diag *d)
{
    j->fd = open(j->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (j->fd < 0)
        return io_error(d, j->path, "cannot open", errno);
    int lrc = lock(j, d);
    if (lrc)
        return lrc;
    struct stat st;
    if (fstat(j->fd, &st) != 0)
        return io_error(d, j->path, "cannot open", errno);
    if (S_ISREG(st.st_mode) && st.st_size > 0 && ftruncate(j->fd, 0) != 0)
        return io_error(d, j->path, "cannot truncate", errno);
    size_t hlen = MAGIC_LEN + LEN_BYTES + fplen + SUM_BYTES;
    if (reserve(j, hlen) != GS_OK)
        return gs_error(d, GS_ENOMEM, "%s: out of memory", j->path);
    unsigned char *h = j->buf;
    memcpy(h, MAGIC, MAGIC_LEN);
    put_u32(h + MAGIC_LEN, (uint32_t)fplen);
    memcpy(h + MAGIC_LEN + LEN_BYTES, fp, fplen);
    put_u64(h + MAGIC_LEN + LEN_BYTES + fplen, checksum(h + MAGIC_LEN, LEN_BYTES + fplen));
    int err = write_all(j->fd, h, hlen);
    if (!err)
        err = sync_all(j->fd);
    if (err)
        return io_error(d, j->path, "cannot write", err);
    err = gs_sync_parent_dir(j->path);
    if (err == ENOMEM)
        return gs_error(d, GS_ENOMEM, "%s: out of memory", j->path);
    if (err)
        return io_error(d, j->path, "cannot write", err);
    j->end = hlen;
    j->nrec = 0;
    return GS_OK;
}

/* Sequential reading through a chunk buffer. */
typedef struct reader {
    int            fd;
    unsigned char *chunk;
    size_t         pos, len;
} reader;

/* Copy the next n bytes to dst: 0, -1 when the file ends first, or the
 * errno of a failed read. A payload larger than the chunk goes straight
 * from the file to dst. */
static int take(reader *r, unsigned char *dst, size_t n)
{
    while (n > 0) {
        if (r->pos == r->len) {
            unsigned char *to = n >= CHUNK_BYTES ? dst : r->chunk;
            size_t want = n >= CHUNK_BYTES ? n : CHUNK_BYTES;
            ssize_t got = read(r->fd, to, want);
            if (got < 0) {
                if (errno == EINTR)
                    continue;
                return errno;
            }
            if (got == 0)
                return -1;
            if (to == dst) {
                dst += got;
                n -= (size_t)got;
                continue;
            }
            r->pos = 0;
            r->len = (size_t)got;
        }
        size_t k = r->len - r->pos < n ? r->len - r->pos : n;
        memcpy(dst, r->chunk + r->pos, k);
        r->pos += k;
        dst += k;
        n -= k;
    }
    return 0;
}

/* The header of an existing file of size bytes. GS_OK with *complete = 1
 * for our sweep's header; GS_OK with *complete = 0 for a file that holds
 * the beginning of our header and nothing more (a run killed while creating
 * it: resume starts afresh); GS_EINVAL for anything else. Only a prefix of
 * the very header we would write counts as an interrupted creation, so a
 * short file of another sweep, or a header with a garbled length field,
 * is reported rather than overwritten: the journal must never destroy a
 * file it cannot prove worthless. */
static int read_header(gs_journal *j, reader *r, uint64_t size, const unsigned char *fp,
                       size_t fplen, int *complete, gs_diag *d)
{
    *complete = 0;
    unsigned char h[MAGIC_LEN + LEN_BYTES];
    size_t have = size < sizeof h ? (size_t)size : sizeof h;
    int err = take(r, h, have);
    if (err > 0)
        return io_error(d, j->path, "cannot read", err);
    if (err < 0 || memcmp(h, MAGIC, have < MAGIC_LEN ? have : MAGIC_LEN) != 0)
        return not_a_journal(d, j->path);
    uint32_t n = have == sizeof h ? get_u32(h + MAGIC_LEN) : (uint32_t)fplen;
    if (n == 0 || n > GS_JOURNAL_MAX_FINGERPRINT)
        return not_a_journal(d, j->path);
    if (have < sizeof h) {
        unsigned char want[LEN_BYTES];
        put_u32(want, (uint32_t)fplen);
        if (have > MAGIC_LEN && memcmp(h + MAGIC_LEN, want, have - MAGIC_LEN) != 0)
            return not_a_journal(d, j->path);
        return GS_OK;
    }
    /* The rest of the header, or as much of it as there is, goes behind
     * the length field in j->buf, where the checksum covers both. */
    uint64_t hlen = MAGIC_LEN + LEN_BYTES + (uint64_t)n + SUM_BYTES;
    size_t rest = (size_t)((size < hlen ? size : hlen) - sizeof h);
    if (reserve(j, LEN_BYTES + n + SUM_BYTES) != GS_OK)
        return gs_error(d, GS_ENOMEM, "%s: out of memory", j->path);
    memcpy(j->buf, h + MAGIC_LEN, LEN_BYTES);
    err = take(r, j->buf + LEN_BYTES, rest);
    if (err > 0)
        return io_error(d, j->path, "cannot read", err);
    if (err < 0)
        return not_a_journal(d, j->path);
    size_t fphave = rest < n ? rest : n;
    int same = n == fplen && memcmp(j->buf + LEN_BYTES, fp, fphave) == 0;
    if (size < hlen) {
        if (same && rest > n) {
            unsigned char want[SUM_BYTES];
            put_u64(want, checksum(j->buf, LEN_BYTES + n));
            if (memcmp(j->buf + LEN_BYTES + n, want, rest - n) != 0)
                return not_a_journal(d, j->path);
        }
        if (same)
            return GS_OK;
    } else if (get_u64(j->buf + LEN_BYTES + n) != checksum(j->buf, LEN_BYTES + n)) {
        return not_a_journal(d, j->path);
    }
    if (!same)
        return gs_error(d, GS_EINVAL,
                        "%s: this journal was written by a different sweep (the scenarios, grid, "
                        "seed or replications differ); run without --resume to start over, or "
                        "use another output directory",
                        j->path);
    j->end = hlen;
    *complete = 1;
    return GS_OK;
}

/* Hand the intact records after the header to on_record and leave j->end
 * at the end of the last one. The file's size bounds every length before
 * anything is allocated, so a garbled length field costs no memory. */
static int read_records(gs_journal *j, reader *r, uint64_t size, gs_journal_record_fn on_record,
                        void *arg, gs_diag *d)
{
    for (;;) {
        if (size - j->end < FRAME_BYTES)
            return GS_OK;
        unsigned char lenb[LEN_BYTES];
        int err = take(r, lenb, LEN_BYTES);
        if (err > 0)
            return io_error(d, j->path, "cannot read", err);
        if (err < 0)
            return GS_OK;
        uint32_t len = get_u32(lenb);
        if (len == 0 || len > GS_JOURNAL_MAX_RECORD || size - j->end - FRAME_BYTES < len)
            return GS_OK;
        if (reserve(j, FRAME_BYTES + len) != GS_OK)
            return gs_error(d, GS_ENOMEM, "%s: out of memory", j->path);
        memcpy(j->buf, lenb, LEN_BYTES);
        err = take(r, j->buf + LEN_BYTES, len + SUM_BYTES);
        if (err > 0)
            return io_error(d, j->path, "cannot read", err);
        if (err < 0)
            return GS_OK;
        if (get_u64(j->buf + LEN_BYTES + len) != checksum(j->buf, LEN_BYTES + len))
            return GS_OK;
        if (on_record) {
            int rc = on_record(arg, j->buf + LEN_BYTES, len);
            if (rc != GS_OK)
                return rc;
        }
        j->end += FRAME_BYTES + len;
        j->nrec++;
        trim(j);
    }
}

/* Open an existing journal and recover it; *found = 0 when there is none
 * to recover (no file, or an interrupted creation), leaving j->fd closed. */
static int recover(gs_journal *j, const unsigned char *fp, size_t fplen,
                   gs_journal_record_fn on_record, void *arg, int *found, gs_diag *d)
{
    *found = 0;
    j->fd = open(j->path, O_RDWR | O_APPEND | O_CLOEXEC);
    if (j->fd < 0) {
        if (errno == ENOENT)
            return GS_OK;
        return io_error(d, j->path, "cannot open", errno);
    }
    int lrc = lock(j, d);
    if (lrc)
        return lrc;
    struct stat st;
    if (fstat(j->fd, &st) != 0)
        return io_error(d, j->path, "cannot read", errno);
    uint64_t size = st.st_size > 0 ? (uint64_t)st.st_size : 0;
    reader r = { j->fd, gs_malloc(CHUNK_BYTES), 0, 0 };
    if (!r.chunk)
        return gs_error(d, GS_ENOMEM, "%s: out of memory", j->path);
    int complete;
    int rc = read_header(j, &r, size, fp, fplen, &complete, d);
    if (rc == GS_OK && complete)
        rc = read_records(j, &r, size, on_record, arg, d);
    gs_free(r.chunk);
    trim(j);
    if (rc != GS_OK)
        return rc;
    if (!complete) {
        close(j->fd);
        j->fd = -1;
        return GS_OK;
    }
    /* The sync also makes durable a record whose writer was killed between
     * write() and fdatasync(): it has just been reported as done. */
    int err = 0;
    if (j->end < size && ftruncate(j->fd, (off_t)j->end) != 0)
        err = errno;
    if (!err)
        err = sync_all(j->fd);
    if (err)
        return io_error(d, j->path, "cannot truncate", err);
    *found = 1;
    return GS_OK;
}

int gs_journal_open(gs_journal **out, const char *path, const void *fp, size_t fplen, int resume,
                    gs_journal_record_fn on_record, void *arg, int *resumed, gs_diag *d)
{
    assert(out && path);
    *out = NULL;
    if (resumed)
        *resumed = 0;
    if (!fp || fplen < 1 || fplen > GS_JOURNAL_MAX_FINGERPRINT)
        return gs_error(d, GS_EINVAL, "%s: journal fingerprint of %zu bytes (must be 1..%u)",
                        path, fplen, GS_JOURNAL_MAX_FINGERPRINT);
    gs_journal *j = gs_calloc(1, sizeof *j);
    if (!j)
        return gs_error(d, GS_ENOMEM, "%s: out of memory", path);
    j->fd = -1;
    j->path = gs_strdup(path);
    int rc;
    if (!j->path) {
        rc = gs_error(d, GS_ENOMEM, "%s: out of memory", path);
        goto out_free;
    }
    int found = 0;
    if (resume) {
        rc = recover(j, fp, fplen, on_record, arg, &found, d);
        if (rc != GS_OK)
            goto out_free;
    }
    if (!found) {
        rc = create(j, fp, fplen, d);
        if (rc != GS_OK)
            goto out_free;
    }
    trim(j);
    if (resumed)
        *resumed = found;
    *out = j;
    return GS_OK;
out_free:
    gs_journal_free(j);
    return rc;
}

int gs_journal_append(gs_journal *j, const void *data, size_t len, gs_diag *d)
{
    assert(j);
    if (!data || len < 1 || len > GS_JOURNAL_MAX_RECORD)
        return gs_error(d, GS_EINVAL, "%s: journal record of %zu bytes (must be 1..%u)", j->path,
                        len, GS_JOURNAL_MAX_RECORD);
    if (j->broken)
        return gs_error(d, GS_EIO,
                        "%s: cannot write: an earlier write failed and could not be undone",
                        j->path);
    if (reserve(j, FRAME_BYTES + len) != GS_OK)
        return gs_error(d, GS_ENOMEM, "%s: out of memory", j->path);
    unsigned char *f = j->buf;
    put_u32(f, (uint32_t)len);
    memcpy(f + LEN_BYTES, data, len);
    put_u64(f + LEN_BYTES + len, checksum(f, LEN_BYTES + len));
    int err = write_all(j->fd, f, FRAME_BYTES + len);
    trim(j);
    if (err) {
        /* Part of the frame may be in the file; cut it off so that the
         * next record does not land behind a torn one, where resuming
         * would never reach it. */
        if (ftruncate(j->fd, (off_t)j->end) != 0)
            j->broken = 1;
        return io_error(d, j->path, "cannot write", err);
    }
    err = sync_data(j->fd);
    if (err) {
        /* After a failed fdatasync Linux may mark the pages clean and
         * report success next time, so no later append could promise
         * durability either. */
        j->broken = 1;
        return io_error(d, j->path, "cannot write", err);
    }
    j->end += FRAME_BYTES + len;
    j->nrec++;
    return GS_OK;
}

long gs_journal_records(const gs_journal *j)
{
    return j ? j->nrec : 0;
}

void gs_journal_free(gs_journal *j)
{
    if (!j)
        return;
    if (j->fd >= 0)
        close(j->fd);
    gs_free(j->path);
    gs_free(j->buf);
    gs_free(j);
}
