/* Tests of sim/journal.c: records come back in order and byte for byte;
 * a journal cut at every possible length, or with any byte of a record
 * flipped, gives back exactly the intact records before the damage and
 * takes new ones after them; headers of other sweeps and other files are
 * refused and left alone; errors name the path; failed appends leave the
 * journal usable; every allocation failure is reported cleanly.
 * Everything happens in a scratch directory made with mkdtemp (under
 * $TMPDIR, else /tmp) and removed at the end. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim/alloc.h"
#include "sim/error.h"
#include "sim/journal.h"
#include "tests/check.h"

static char scratch[4096];

/* The path of name in the scratch directory, in one of a few rotating
 * buffers: copy it to keep it across more calls. */
static const char *in_scratch(const char *name)
{
    static char buf[4][4200];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", scratch, name);
    return buf[k];
}

static const unsigned char FP[] = "sweep fingerprint 0123456789";
#define FPLEN (sizeof FP - 1)
/* magic, fingerprint length, fingerprint, checksum */
#define HLEN (8 + 4 + FPLEN + 8)

/* Byte i of the k-th record of every test: distinct per record, so a
 * record that came back in the wrong place shows. */
static unsigned char pattern(int k, size_t i)
{
    return (unsigned char)((unsigned)(k + 1) * 157u + (unsigned)i * 31u + (unsigned)(i >> 9));
}

static int append_pattern(gs_journal *j, int k, size_t len, gs_diag *d)
{
    unsigned char *p = malloc(len ? len : 1);
    if (!p)
        return GS_ENOMEM;
    for (size_t i = 0; i < len; i++)
        p[i] = pattern(k, i);
    int rc = gs_journal_append(j, p, len, d);
    free(p);
    return rc;
}

/* What a resume should hand over: record k has lens[k] bytes of pattern k.
 * It allocates nothing, so allocation-failure tests count only the
 * journal's own allocations. */
typedef struct expect {
    const size_t *lens;
    int           n;        /* records expected */
    int           got;      /* records seen */
    int           bad;      /* records that differed */
    int           fail_at;  /* return GS_EINTERNAL at this record; -1: never */
} expect;

static int on_record(void *arg, const void *data, size_t len)
{
    expect *e = arg;
    int k = e->got++;
    if (k == e->fail_at)
        return GS_EINTERNAL;
    if (k >= e->n || len != e->lens[k]) {
        e->bad++;
        return GS_OK;
    }
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        if (p[i] != pattern(k, i)) {
            e->bad++;
            break;
        }
    }
    return GS_OK;
}

static expect expecting(const size_t *lens, int n)
{
    expect e = { lens, n, 0, 0, -1 };
    return e;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* The whole file in a malloc'd buffer, its size in *n. */
static unsigned char *slurp(const char *path, size_t *n)
{
    *n = 0;
    long size = file_size(path);
    FILE *f = fopen(path, "rb");
    if (size < 0 || !f) {
        if (f)
            fclose(f);
        return NULL;
    }
    unsigned char *b = malloc((size_t)size + 1);
    if (b)
        *n = fread(b, 1, (size_t)size, f);
    fclose(f);
    return b;
}

static int spew(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, n, f);
    return fclose(f) == 0 && w == n ? 0 : -1;
}

/* Resume path and check that exactly the records in lens come back. */
static void check_resume(const char *path, const size_t *lens, int n)
{
    expect e = expecting(lens, n);
    gs_journal *j = NULL;
    int resumed = -1;
    gs_diag d;
    gs_diag_init(&d);
    CHECK_EQ(gs_journal_open(&j, path, FP, FPLEN, 1, on_record, &e, &resumed, &d), GS_OK);
    CHECK_EQ(resumed, 1);
    CHECK_EQ(e.got, n);
    CHECK_EQ(e.bad, 0);
    CHECK_EQ(gs_journal_records(j), n);
    gs_journal_free(j);
}

static long journal_size(const size_t *lens, int n)
{
    long s = (long)HLEN;
    for (int k = 0; k < n; k++)
        s += 12 + (long)lens[k];
    return s;
}

/* Sizes on both sides of the resume reader's 64 KiB chunk and of the 1 MiB
 * buffer the journal keeps. */
static const size_t ROUND[] = { 1, 1000, 100000, 7, 65535, 65536, 65537, 3 << 20, 12 };

static void test_roundtrip(void)
{
    const char *path = in_scratch("round.jrnl");
    gs_diag d;
    gs_diag_init(&d);
    gs_journal *j = NULL;
    int resumed = -1;
    CHECK_EQ(gs_journal_open(&j, path, FP, FPLEN, 0, on_record, NULL, &resumed, &d), GS_OK);
    CHECK_EQ(resumed, 0);
    CHECK_EQ(gs_journal_records(j), 0);
    CHECK_EQ(file_size(path), HLEN);
    for (int k = 0; k < 6; k++)
        CHECK_EQ(append_pattern(j, k, ROUND[k], &d), GS_OK);
    CHECK_EQ(gs_journal_records(j), 6);
    gs_journal_free(j);
    CHECK_EQ(file_size(path), journal_size(ROUND, 6));
    check_resume(path, ROUND, 6);

    expect e = expecting(ROUND, 6);
    CHECK_EQ(gs_journal_open(&j, path, FP, FPLEN, 1, on_record, &e, NULL, &d), GS_OK);
    CHECK_EQ(e.got, 6);
    for (int k = 6; k < 9; k++)
        CHECK_EQ(append_pattern(j, k, ROUND[k], &d), GS_OK);
    CHECK_EQ(gs_journal_records(j), 9);
    gs_journal_free(j);
    CHECK_EQ(file_size(path), journal_size(ROUND, 9));
    check_resume(path, ROUND, 9);

    /* No callback: the records are still counted and kept. */
    CHECK_EQ(gs_journal_open(&j, path, FP, FPLEN, 1, NULL, NULL, &resumed, &d), GS_OK);
    CHECK_EQ(resumed, 1);
    CHECK_EQ(gs_journal_records(j), 9);
    gs_journal_free(j);
    CHECK_EQ(file_size(path), journal_size(ROUND, 9));
    CHECK_EQ(d.code, GS_OK);

    gs_journal_free(NULL);
    CHECK_EQ(gs_journal_records(NULL), 0);
}

static const size_t SMALL[] = { 3, 10, 1, 9 };

/* A small journal of the first n records of SMALL at path, and its bytes. */
static unsigned char *small_journal(const char *path, int n, size_t *size)
{
    gs_diag d;
    gs_diag_init(&d);
    gs_journal *j = NULL;
    CHECK_EQ(gs_journal_open(&j, path, FP, FPLEN, 0, NULL, NULL, NULL, &d), GS_OK);
    for (int k = 0; k < n && j; k++)
        CHECK_EQ(append_pattern(j, k, SMALL[k], &d), GS_OK);
    gs_journal_free(j);
    return slurp(path, size);
}

/* A run killed at any byte of any write leaves a prefix of the file. */
static void test_torn_tail(void)
{
    const char *p = in_scratch("torn.full");
    char full[4200];
    snprintf(full, sizeof full, "%s", p);
    size_t size;
    unsigned char *bytes = small_journal(full, 3, &size);
    CHECK(bytes != NULL);
    CHECK_EQ(size, journal_size(SMALL, 3));
    if (!bytes)
        return;
    const char *path = in_scratch("torn.jrnl");
    for (size_t cut = 0; cut <= size; cut++) {
        CHECK_EQ(spew(path, bytes, cut), 0);
        int whole = 0;
        while (whole < 3 && (size_t)journal_size(SMALL, whole + 1) <= cut)
            whole++;
        gs_diag d;
        gs_diag_init(&d);
        expect e = expecting(SMALL, whole);
        gs_journal *j = NULL;
        int resumed = -1;
        CHECK_EQ(gs_journal_open(&j, path, FP, FPLEN, 1, on_record, &e, &resumed, &d), GS_OK);
        if (!j)
            continue;
        CHECK_EQ(resumed, cut >= HLEN);
        CHECK_EQ(e.got, whole);
        CHECK_EQ(e.bad, 0);
        CHECK_EQ(gs_journal_records(j), whole);
        CHECK_EQ(file_size(path), journal_size(SMALL, whole));
        /* The next record lands right behind the intact ones. */
        size_t lens[4] = { SMALL[0], SMALL[1], SMALL[2], 0 };
        lens[whole] = 9;
        CHECK_EQ(append_pattern(j, whole, 9, &d), GS_OK);
        CHECK_EQ(gs_journal_records(j), whole + 1);
        gs_journal_free(j);
        check_resume(path, lens, whole + 1);
    }
    free(bytes);
}

/* Any changed byte in record k, in its length, payload or checksum, loses
 * record k and everything after it, never anything before. */
static void test_flipped_byte(void)
{
    const char *p = in_scratch("flip.full");
    char full[4200];
    snprintf(full, sizeof full, "%s", p);
    size_t size;
    unsigned char *bytes = small_journal(full, 4, &size);
    CHECK(bytes != NULL);
    if (!bytes)
        return;
    const char *path = in_scratch("flip.jrnl");
    for (int k = 0; k < 4; k++) {
        size_t start = (size_t)journal_size(SMALL, k);
        size_t end = (size_t)journal_size(SMALL, k + 1);
        for (size_t at = start; at < end; at++) {
            for (int m = 0; m < 2; m++) {
                unsigned char mask = (unsigned char)(m ? 0xffu : 1u << (at % 8));
                bytes[at] ^= mask;
                CHECK_EQ(spew(path, bytes, size), 0);
                bytes[at] ^= mask;
                expect e = expecting(SMALL, k);
                gs_journal *j = NULL;
                gs_diag d;
                gs_diag_init(&d);
                CHECK_EQ(gs_journal_open(&j, path, FP, FPLEN, 1, on_record, &e, NULL, &d), GS_OK);
                CHECK_EQ(e.got, k);
                CHECK_EQ(e.bad, 0);
                CHECK_EQ(gs_journal_records(j), k);
                CHECK_EQ(file_size(path), (long)start);
                gs_journal_free(j);
            }
        }
    }
    free(bytes);
}

/* A damaged header is refused whatever byte changed, and the file is left
 * as it was: it might be someone's only copy. */
static void test_flipped_header(void)
{
    const char *p = in_scratch("hdr.full");
    char full[4200];
    snprintf(full, sizeof full, "%s", p);
    size_t size;
    unsigned char *bytes = small_journal(full, 2, &size);
    CHECK(bytes != NULL);
    if (!bytes)
        return;
    const char *path = in_scratch("hdr.jrnl");
    for (size_t at = 0; at < HLEN; at++) {
        bytes[at] ^= 0x10;
        CHECK_EQ(spew(path, bytes, size), 0);
        bytes[at] ^= 0x10;
        expect e = expecting(SMALL, 0);
        gs_journal *j = (gs_journal *)&e;
        int resumed = -1;
        gs_diag d;
        gs_diag_init(&d);
        CHECK_EQ(gs_journal_open(&j, path, FP, FPLEN, 1, on_record, &e, &resumed, &d), GS_EINVAL);
        CHECK(j == NULL);
        CHECK_EQ(resumed, 0);
        CHECK_EQ(e.got, 0);
        CHECK_EQ(file_size(path), (long)size);
        CHECK(strstr(d.msg, path) == d.msg);
    }
    free(bytes);
}

static void test_refusals(void)
{
    char want[8192];
    const char *p = in_scratch("other.jrnl");
    char path[4200];
    snprintf(path, sizeof path, "%s", p);
    size_t size;
    unsigned char *bytes = small_journal(path, 2, &size);
    free(bytes);

    /* Another sweep: same length, another fingerprint; another length. */
    static const unsigned char other[] = "sweep fingerprint 0123456788";
    static const unsigned char longer[] = "sweep fingerprint 0123456789+";
    snprintf(want, sizeof want,
             "%s: this journal was written by a different sweep (the scenarios, grid, seed or "
             "replications differ); run without --resume to start over, or use another output "
             "directory",
             path);
    const unsigned char *fps[] = { other, longer, FP };
    size_t fplens[] = { sizeof other - 1, sizeof longer - 1, FPLEN - 1 };
    for (int i = 0; i < 3; i++) {
        gs_journal *j = NULL;
        gs_diag d;
        gs_diag_init(&d);
        int resumed = -1;
        CHECK_EQ(gs_journal_open(&j, path, fps[i], fplens[i], 1, on_record, NULL, &resumed, &d),
                 GS_EINVAL);
        CHECK(j == NULL);
        CHECK_EQ(resumed, 0);
        CHECK_EQ(strcmp(d.msg, want), 0);
        CHECK_EQ(file_size(path), (long)size);
    }

    /* The beginning of another sweep's header is not ours to overwrite. */
    const char *cut = in_scratch("other.cut");
    char cutpath[4200];
    snprintf(cutpath, sizeof cutpath, "%s", cut);
    bytes = slurp(path, &size);
    CHECK(bytes != NULL);
    if (bytes) {
        /* All of the fingerprint (which differs in its last byte) and
         * part of the checksum. */
        CHECK_EQ(spew(cutpath, bytes, HLEN - 5), 0);
        gs_journal *j = NULL;
        gs_diag d;
        gs_diag_init(&d);
        CHECK_EQ(gs_journal_open(&j, cutpath, other, sizeof other - 1, 1, NULL, NULL, NULL, &d),
                 GS_EINVAL);
        gs_journal_free(j);
        CHECK(strstr(d.msg, "written by a different sweep") != NULL);
        CHECK_EQ(file_size(cutpath), (long)HLEN - 5);
        /* Cut inside the fingerprint, before the byte that differs, it
         * is the beginning of the other sweep's header too. */
        CHECK_EQ(spew(cutpath, bytes, HLEN - 10), 0);
        int resumed = -1;
        CHECK_EQ(gs_journal_open(&j, cutpath, other, sizeof other - 1, 1, NULL, NULL, &resumed,
                                 &d), GS_OK);
        CHECK_EQ(resumed, 0);
        gs_journal_free(j);
        CHECK_EQ(file_size(cutpath), (long)HLEN);
        free(bytes);
    }

    /* Files that are not journals, long and short. */
    static const char *garbage[] = {
        "timestamp,point,replication,latency_p99\n1,2,3,4\n5,6,7,8\n9,10,11,12\n",
        "GSJRNL02 and then more bytes than a header would need, to be sure",
        "GSJ!",
        "x",
    };
    const char *g = in_scratch("garbage.csv");
    char gpath[4200];
    snprintf(gpath, sizeof gpath, "%s", g);
    snprintf(want, sizeof want, "%s: not a gatesim sweep journal", gpath);
    for (size_t i = 0; i < sizeof garbage / sizeof *garbage; i++) {
        CHECK_EQ(spew(gpath, garbage[i], strlen(garbage[i])), 0);
        gs_journal *j = NULL;
        gs_diag d;
        gs_diag_init(&d);
        CHECK_EQ(gs_journal_open(&j, gpath, FP, FPLEN, 1, on_record, NULL, NULL, &d), GS_EINVAL);
        CHECK(j == NULL);
        CHECK_EQ(strcmp(d.msg, want), 0);
        CHECK_EQ(file_size(gpath), (long)strlen(garbage[i]));
    }
    /* A header whose fingerprint length is out of range. */
    unsigned char hdr[HLEN + 40];
    memset(hdr, 0, sizeof hdr);
    memcpy(hdr, "GSJRNL01", 8);
    uint32_t lens[] = { 0, 4097, 0xffffffffu };
    for (int i = 0; i < 3; i++) {
        for (int b = 0; b < 4; b++)
            hdr[8 + b] = (unsigned char)(lens[i] >> (8 * b));
        CHECK_EQ(spew(gpath, hdr, sizeof hdr), 0);
        gs_journal *j = NULL;
        gs_diag d;
        gs_diag_init(&d);
        CHECK_EQ(gs_journal_open(&j, gpath, FP, FPLEN, 1, NULL, NULL, NULL, &d), GS_EINVAL);
        CHECK_EQ(strcmp(d.msg, want), 0);
    }
}

static void test_fresh(void)
{
    gs_diag d;
    gs_diag_init(&d);
    /* Resuming what is not there starts afresh. */
    const char *path = in_scratch("fresh.jrnl");
    gs_journal *j = NULL;
    int resumed = -1;
    expect e = expecting(SMALL, 0);
    CHECK_EQ(gs_journal_open(&j, path, FP, FPLEN, 1, on_record, &e, &resumed, &d), GS_OK);
    CHECK_EQ(resumed, 0);
    CHECK_EQ(e.got, 0);
    CHECK_EQ(gs_journal_records(j), 0);
    CHECK_EQ(file_size(path), HLEN);
    CHECK_EQ(append_pattern(j, 0, SMALL[0], &d), GS_OK);
    gs_journal_free(j);
    check_resume(path, SMALL, 1);

    /* resume == 0 starts over, whatever was there. */
    CHECK_EQ(gs_journal_open(&j, path, FP, FPLEN, 0, on_record, &e, &resumed, &d), GS_OK);
    CHECK_EQ(resumed, 0);
    CHECK_EQ(e.got, 0);
    CHECK_EQ(gs_journal_records(j), 0);
    gs_journal_free(j);
    CHECK_EQ(file_size(path), HLEN);
    check_resume(path, SMALL, 0);

    const char *g = in_scratch("fresh.garbage");
    CHECK_EQ(spew(g, "not a journal at all", 20), 0);
    CHECK_EQ(gs_journal_open(&j, g, FP, FPLEN, 0, NULL, NULL, NULL, &d), GS_OK);
    gs_journal_free(j);
    CHECK_EQ(file_size(g), HLEN);
    CHECK_EQ(d.code, GS_OK);
}

static void test_bad_arguments(void)
{
    const char *path = in_scratch("args.jrnl");
    char want[4300];
    gs_diag d;
    gs_diag_init(&d);
    gs_journal *j = NULL;
    CHECK_EQ(gs_journal_open(&j, path, FP, 0, 0, NULL, NULL, NULL, &d), GS_EINVAL);
    CHECK(j == NULL);
    gs_diag_init(&d);
    static unsigned char big[4097];
    CHECK_EQ(gs_journal_open(&j, path, big, sizeof big, 0, NULL, NULL, NULL, &d), GS_EINVAL);
    CHECK(j == NULL);
    CHECK_EQ(file_size(path), -1);
    /* The longest fingerprint is fine. */
    big[4095] = 1;
    CHECK_EQ(gs_journal_open(&j, path, big, sizeof big - 1, 0, NULL, NULL, NULL, &d), GS_OK);
    gs_journal_free(j);
    int resumed = -1;
    CHECK_EQ(gs_journal_open(&j, path, big, sizeof big - 1, 1, NULL, NULL, &resumed, &d), GS_OK);
    CHECK_EQ(resumed, 1);
    gs_journal_free(j);
    CHECK_EQ(file_size(path), 8 + 4 + 4096 + 8);

    CHECK_EQ(gs_journal_open(&j, path, FP, FPLEN, 0, NULL, NULL, NULL, &d), GS_OK);
    if (!j)
        return;
    gs_diag_init(&d);
    CHECK_EQ(gs_journal_append(j, "x", 0, &d), GS_EINVAL);
    snprintf(want, sizeof want, "%s: journal record of 0 bytes (must be 1..67108864)", path);
    CHECK_EQ(strcmp(d.msg, want), 0);
    gs_diag_init(&d);
    CHECK_EQ(gs_journal_append(j, "x", (size_t)GS_JOURNAL_MAX_RECORD + 1, &d), GS_EINVAL);
    CHECK(strstr(d.msg, "journal record of 67108865 bytes") != NULL);
    gs_diag_init(&d);
    CHECK_EQ(gs_journal_append(j, NULL, 1, &d), GS_EINVAL);
    CHECK_EQ(gs_journal_records(j), 0);
    CHECK_EQ(file_size(path), HLEN);
    CHECK_EQ(append_pattern(j, 0, SMALL[0], &d), GS_OK);
    CHECK_EQ(append_pattern(j, 1, SMALL[1], &d), GS_OK);
    CHECK_EQ(append_pattern(j, 2, SMALL[2], &d), GS_OK);
    gs_journal_free(j);

    /* on_record's error comes back unchanged, and the file is untouched. */
    long size = file_size(path);
    expect e = expecting(SMALL, 3);
    e.fail_at = 1;
    j = (gs_journal *)&e;
    resumed = -1;
    gs_diag_init(&d);
    CHECK_EQ(gs_journal_open(&j, path, FP, FPLEN, 1, on_record, &e, &resumed, &d), GS_EINTERNAL);
    CHECK(j == NULL);
    CHECK_EQ(resumed, 0);
    CHECK_EQ(e.got, 2);
    CHECK_EQ(file_size(path), size);
    check_resume(path, SMALL, 3);
}

static void test_unwritable(void)
{
    const char *p = in_scratch("no/such/dir/sweep.jrnl");
    char path[4200];
    snprintf(path, sizeof path, "%s", p);
    char want[4400];
    snprintf(want, sizeof want, "%s: cannot open: %s", path, strerror(ENOENT));
    for (int resume = 0; resume < 2; resume++) {
        gs_journal *j = NULL;
        int resumed = -1;
        gs_diag d;
        gs_diag_init(&d);
        CHECK_EQ(gs_journal_open(&j, path, FP, FPLEN, resume, NULL, NULL, &resumed, &d), GS_EIO);
        CHECK(j == NULL);
        CHECK_EQ(resumed, 0);
        CHECK_EQ(strcmp(d.msg, want), 0);
    }
    /* A directory where the journal should be. */
    const char *dir = in_scratch("adir");
    CHECK_EQ(mkdir(dir, 0777), 0);
    gs_journal *j = NULL;
    gs_diag d;
    gs_diag_init(&d);
    CHECK_EQ(gs_journal_open(&j, dir, FP, FPLEN, 1, NULL, NULL, NULL, &d), GS_EIO);
    CHECK(strstr(d.msg, "cannot open") != NULL);
    CHECK_EQ(rmdir(dir), 0);
}

/* /dev/full accepts the open and fails every write with ENOSPC: a stand-in
 * for a full disk while the header is written. */
static void test_full_disk(void)
{
    if (access("/dev/full", W_OK) != 0) {
        fprintf(stderr, "no /dev/full: full-disk test skipped\n");
        return;
    }
    gs_journal *j = NULL;
    gs_diag d;
    gs_diag_init(&d);
    CHECK_EQ(gs_journal_open(&j, "/dev/full", FP, FPLEN, 0, NULL, NULL, NULL, &d), GS_EIO);
    CHECK(j == NULL);
    char want[256];
    snprintf(want, sizeof want, "/dev/full: cannot write: %s", strerror(ENOSPC));
    CHECK_EQ(strcmp(d.msg, want), 0);
}

/* A file-size limit makes a write stop part-way through a record, as a
 * full disk does: the torn part is cut off again, so that later records
 * are not stranded behind it. */
static void test_short_write(void)
{
    const char *path = in_scratch("limit.jrnl");
    gs_diag d;
    gs_diag_init(&d);
    gs_journal *j = NULL;
    CHECK_EQ(gs_journal_open(&j, path, FP, FPLEN, 0, NULL, NULL, NULL, &d), GS_OK);
    if (!j)
        return;
    CHECK_EQ(append_pattern(j, 0, SMALL[0], &d), GS_OK);
    struct rlimit old;
    CHECK_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
    void (*was)(int) = signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = old;
    lim.rlim_cur = (rlim_t)journal_size(SMALL, 1) + 20;
    CHECK_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
    CHECK_EQ(append_pattern(j, 1, 100, &d), GS_EIO);
    CHECK(strstr(d.msg, ": cannot write: ") != NULL);
    CHECK(strstr(d.msg, path) == d.msg);
    CHECK_EQ(file_size(path), journal_size(SMALL, 1));
    CHECK_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, was);
    CHECK_EQ(gs_journal_records(j), 1);
    CHECK_EQ(append_pattern(j, 1, SMALL[1], &d), GS_OK);
    gs_journal_free(j);
    check_resume(path, SMALL, 2);
}

/* Each allocation of open (fresh and resuming) and append may fail: the
 * result is GS_ENOMEM and nothing leaks; the file stays resumable. */
static void test_alloc_failures(void)
{
    static const size_t lens[] = { 5, 3 << 20, 70000, 2 << 20 };
    const char *p = in_scratch("alloc.jrnl");
    char path[4200];
    snprintf(path, sizeof path, "%s", p);
    for (int resume = 0; resume < 2; resume++) {
        int done = 0;
        for (long n = 1; n < 100 && !done; n++) {
            gs_diag d;
            gs_diag_init(&d);
            gs_journal *j = (gs_journal *)&d;
            expect e = expecting(lens, 3);
            gs_alloc_fail_nth(n);
            int rc = gs_journal_open(&j, path, FP, FPLEN, resume, on_record, &e, NULL, &d);
            gs_alloc_fail_nth(0);
            if (rc == GS_OK) {
                done = 1;
                CHECK_EQ(gs_journal_records(j), resume ? 3 : 0);
                for (int k = 0; k < 3 && !resume; k++)
                    CHECK_EQ(append_pattern(j, k, lens[k], &d), GS_OK);
                gs_journal_free(j);
            } else {
                CHECK_EQ(rc, GS_ENOMEM);
                CHECK(j == NULL);
                CHECK_EQ(d.code, GS_ENOMEM);
            }
        }
        CHECK(done);
    }
    check_resume(path, lens, 3);

    gs_diag d;
    gs_diag_init(&d);
    gs_journal *j = NULL;
    CHECK_EQ(gs_journal_open(&j, path, FP, FPLEN, 1, NULL, NULL, NULL, &d), GS_OK);
    if (!j)
        return;
    int failed = 0;
    for (int k = 3; k < 4; k++) {
        for (long n = 1; n < 10; n++) {
            gs_diag_init(&d);
            gs_alloc_fail_nth(n);
            int rc = append_pattern(j, k, lens[k], &d);
            gs_alloc_fail_nth(0);
            if (rc == GS_OK)
                break;
            CHECK_EQ(rc, GS_ENOMEM);
            failed++;
        }
    }
    CHECK(failed > 0);
    CHECK_EQ(gs_journal_records(j), 4);
    gs_journal_free(j);
    check_resume(path, lens, 4);
}

/* The real thing: a writer killed with SIGKILL at arbitrary moments,
 * resumed each time by the next one. Whenever it died, what comes back is
 * records 0..k-1, each whole, and the next writer carries on from k. The
 * moments of the kills vary from run to run; the checks do not depend on
 * them. */
#define KILL_MAX 4096
static size_t kill_lens[KILL_MAX];

/* Resume path and append until killed; one byte on ready once open, so
 * that the kill falls among the appends rather than in a slow start. */
static void kill_writer(const char *path, int ready)
{
    gs_journal *j = NULL;
    gs_diag d;
    gs_diag_init(&d);
    if (gs_journal_open(&j, path, FP, FPLEN, 1, NULL, NULL, NULL, &d) != GS_OK)
        _exit(2);
    if (write(ready, "r", 1) != 1)
        _exit(4);
    for (int k = (int)gs_journal_records(j); k < KILL_MAX; k++) {
        if (append_pattern(j, k, kill_lens[k], &d) != GS_OK)
            _exit(3);
    }
    _exit(0);
}

static void test_sigkill(void)
{
    for (int k = 0; k < KILL_MAX; k++)
        kill_lens[k] = 1 + (size_t)k * 7919u % 150000u;
    const char *p = in_scratch("kill.jrnl");
    char path[4200];
    snprintf(path, sizeof path, "%s", p);
    unsigned long x = 12345;
    long last = 0;
    for (int round = 0; round < 20; round++) {
        int fds[2];
        CHECK_EQ(pipe(fds), 0);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid < 0)
            return;
        if (pid == 0) {
            close(fds[0]);
            kill_writer(path, fds[1]);
        }
        close(fds[1]);
        char c;
        CHECK_EQ(read(fds[0], &c, 1), 1);
        close(fds[0]);
        x = x * 6364136223846793005ul + 1442695040888963407ul;
        struct timespec ts = { 0, (long)(x >> 33) % 10000000L };
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status = 0;
        CHECK_EQ(waitpid(pid, &status, 0), pid);
        CHECK(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0));
        expect e = expecting(kill_lens, KILL_MAX);
        gs_journal *j = NULL;
        gs_diag d;
        gs_diag_init(&d);
        CHECK_EQ(gs_journal_open(&j, path, FP, FPLEN, 1, on_record, &e, NULL, &d), GS_OK);
        CHECK_EQ(e.bad, 0);
        CHECK(e.got >= last);
        last = e.got;
        CHECK_EQ(file_size(path), journal_size(kill_lens, e.got));
        gs_journal_free(j);
    }
}

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *dp = opendir(path);
        if (dp) {
            struct dirent *e;
            while ((e = readdir(dp)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                char sub[4400];
                snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
                remove_tree(sub);
            }
            closedir(dp);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

int main(void)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(scratch, sizeof scratch, "%s/gs_test_journal_XXXXXX", base);
    if (!mkdtemp(scratch)) {
        fprintf(stderr, "mkdtemp %s: %s\n", scratch, strerror(errno));
        return 1;
    }
    test_roundtrip();
    test_torn_tail();
    test_flipped_byte();
    test_flipped_header();
    test_refusals();
    test_fresh();
    test_bad_arguments();
    test_unwritable();
    test_full_disk();
    test_short_write();
    test_alloc_failures();
    test_sigkill();
    remove_tree(scratch);
    CHECK_EQ(file_size(scratch), -1);
    return CHECK_DONE();
}
