/* Tests of analysis/atomic.c: a committed file appears whole, an aborted one
 * never, the old file survives until commit, and errors name the path.
 * Everything happens in a scratch directory made with mkdtemp (under
 * $TMPDIR, else the working directory) and removed at the end. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analysis/atomic.h"
#include "sim/alloc.h"
#include "sim/error.h"
#include "tests/check.h"
#include "tests/scratch.h"

/* 1 when the file at path holds exactly want. */
static int has_content(const char *path, const char *want)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char got[256];
    size_t n = fread(got, 1, sizeof got - 1, f);
    got[n] = '\0';
    fclose(f);
    return strcmp(got, want) == 0;
}

static void test_commit_and_replace(void)
{
    gs_diag d;
    gs_diag_init(&d);
    gs_atomic_file af;
    char out[4200];
    snprintf(out, sizeof out, "%s", in_scratch("out.csv"));
    CHECK_EQ(gs_atomic_open(&af, out, &d), GS_OK);
    CHECK(af.f != NULL);
    fputs("a,b\n1,2\n", af.f);
    /* Until commit only the temporary file exists, beside the target. */
    CHECK(!exists(out));
    int temps;
    CHECK_EQ(count_entries(scratch, &temps), 1);
    CHECK_EQ(temps, 1);
    const char *prefix = in_scratch(".out.csv.tmp.");
    CHECK(strncmp(af.tmp, prefix, strlen(prefix)) == 0);
    CHECK_EQ(gs_atomic_commit(&af, &d), GS_OK);
    CHECK(af.f == NULL && af.tmp == NULL && af.path == NULL);
    CHECK(has_content(out, "a,b\n1,2\n"));
    CHECK_EQ(count_entries(scratch, &temps), 1);
    CHECK_EQ(temps, 0);

    /* The file gets the mode of any new file, not mkstemp's 0600. */
    mode_t mask = umask(022);
    umask(mask);
    struct stat st;
    CHECK(stat(out, &st) == 0);
    CHECK_EQ(st.st_mode & 0777, 0666 & ~mask);

    /* Replacing: the old content stays until the new one is committed. */
    CHECK_EQ(gs_atomic_open(&af, out, &d), GS_OK);
    fputs("new content\n", af.f);
    fflush(af.f);
    CHECK(has_content(out, "a,b\n1,2\n"));
    CHECK_EQ(gs_atomic_commit(&af, &d), GS_OK);
    CHECK(has_content(out, "new content\n"));
    CHECK_EQ(count_entries(scratch, &temps), 1);
    CHECK_EQ(temps, 0);

    /* An abandoned replacement leaves the old file as it was. */
    CHECK_EQ(gs_atomic_open(&af, out, &d), GS_OK);
    fputs("half a", af.f);
    gs_atomic_abort(&af);
    CHECK(has_content(out, "new content\n"));
    CHECK_EQ(d.code, GS_OK);

    /* abort after commit is a no-op. */
    CHECK_EQ(gs_atomic_open(&af, out, &d), GS_OK);
    fputs("third\n", af.f);
    CHECK_EQ(gs_atomic_commit(&af, &d), GS_OK);
    gs_atomic_abort(&af);
    CHECK(has_content(out, "third\n"));
}

static void test_abort(void)
{
    gs_diag d;
    gs_diag_init(&d);
    gs_atomic_file af;
    const char *gone = in_scratch("gone.csv");
    CHECK_EQ(gs_atomic_open(&af, gone, &d), GS_OK);
    fputs("never seen\n", af.f);
    gs_atomic_abort(&af);
    gs_atomic_abort(&af);
    CHECK(!exists(gone));
    int temps;
    count_entries(scratch, &temps);
    CHECK_EQ(temps, 0);
}

static void test_open_errors(void)
{
    gs_diag d;
    gs_atomic_file af;
    char want[8192];

    /* A path under a regular file fails even for root. */
    gs_diag_init(&d);
    const char *bad = in_scratch("out.csv/x.csv");
    CHECK_EQ(gs_atomic_open(&af, bad, &d), GS_EIO);
    CHECK_EQ(d.code, GS_EIO);
    snprintf(want, sizeof want, "%s: cannot create: %s", bad, strerror(ENOTDIR));
    CHECK(strcmp(d.msg, want) == 0);
    CHECK(af.f == NULL && af.tmp == NULL && af.path == NULL);
    gs_atomic_abort(&af);

    gs_diag_init(&d);
    bad = in_scratch("no/such/dir.csv");
    CHECK_EQ(gs_atomic_open(&af, bad, &d), GS_EIO);
    snprintf(want, sizeof want, "%s: cannot create: %s", bad, strerror(ENOENT));
    CHECK(strcmp(d.msg, want) == 0);
    gs_atomic_abort(&af);

    gs_diag_init(&d);
    bad = in_scratch("dir/");
    CHECK_EQ(gs_atomic_open(&af, bad, &d), GS_EIO);
    CHECK(strstr(d.msg, "cannot create") != NULL);
    gs_atomic_abort(&af);
}

/* /dev/full accepts the open and fails every write with ENOSPC: a stand-in
 * for a full disk. The temporary file is real, so commit's clean-up shows. */
static void test_full_disk(void)
{
    FILE *f = fopen("/dev/full", "w");
    if (!f) {
        fprintf(stderr, "no /dev/full: full-disk test skipped\n");
        return;
    }
    gs_diag d;
    gs_diag_init(&d);
    gs_atomic_file af;
    af.f = f;
    af.path = gs_strdup(in_scratch("full.csv"));
    af.tmp = gs_strdup(in_scratch(".full.csv.tmp.test"));
    CHECK(af.path && af.tmp);
    FILE *t = fopen(af.tmp, "w");
    CHECK(t != NULL);
    if (t)
        fclose(t);
    for (int i = 0; i < 100; i++)
        fputs("some result line that goes nowhere\n", af.f);
    char want[8192];
    snprintf(want, sizeof want, "%s: cannot write: %s", in_scratch("full.csv"),
             strerror(ENOSPC));
    CHECK_EQ(gs_atomic_commit(&af, &d), GS_EIO);
    CHECK(strcmp(d.msg, want) == 0);
    CHECK(!exists(in_scratch("full.csv")));
    CHECK(!exists(in_scratch(".full.csv.tmp.test")));
    CHECK(af.f == NULL && af.tmp == NULL && af.path == NULL);
}

static void test_bare_name(void)
{
    /* A name without a directory goes in the working directory. */
    char cwd[PATH_MAX];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(scratch) == 0);
    gs_diag d;
    gs_diag_init(&d);
    gs_atomic_file af;
    CHECK_EQ(gs_atomic_open(&af, "bare.txt", &d), GS_OK);
    CHECK(strncmp(af.tmp, ".bare.txt.tmp.", 14) == 0);
    fputs("x\n", af.f);
    CHECK_EQ(gs_atomic_commit(&af, &d), GS_OK);
    CHECK(has_content("bare.txt", "x\n"));
    CHECK(chdir(cwd) == 0);
}

static void test_mkdir_p(void)
{
    gs_diag d;
    gs_diag_init(&d);
    const char *deep = in_scratch("a/b//c/");
    CHECK_EQ(gs_mkdir_p(deep, &d), GS_OK);
    struct stat st;
    CHECK(stat(in_scratch("a/b/c"), &st) == 0 && S_ISDIR(st.st_mode));
    CHECK_EQ(gs_mkdir_p(in_scratch("a/b/c"), &d), GS_OK);
    CHECK_EQ(gs_mkdir_p(scratch, &d), GS_OK);
    CHECK_EQ(gs_mkdir_p(".", &d), GS_OK);
    CHECK_EQ(d.code, GS_OK);

    char want[8192];
    const char *bad = in_scratch("out.csv/sub");
    CHECK_EQ(gs_mkdir_p(bad, &d), GS_EIO);
    snprintf(want, sizeof want, "%s: cannot create directory: %s", bad, strerror(ENOTDIR));
    CHECK(strcmp(d.msg, want) == 0);

    gs_diag_init(&d);
    bad = in_scratch("out.csv");
    CHECK_EQ(gs_mkdir_p(bad, &d), GS_EIO);
    snprintf(want, sizeof want, "%s: cannot create directory: %s", bad, strerror(ENOTDIR));
    CHECK(strcmp(d.msg, want) == 0);

    gs_diag_init(&d);
    CHECK_EQ(gs_mkdir_p("", &d), GS_EIO);
}

/* Each allocation of open and mkdir_p may fail: the result is GS_ENOMEM and
 * nothing is left behind; with no failure left, the call succeeds. */
static void test_alloc_failures(void)
{
    int done = 0;
    for (long n = 1; n < 20 && !done; n++) {
        gs_diag d;
        gs_diag_init(&d);
        gs_atomic_file af;
        gs_alloc_fail_nth(n);
        int rc = gs_atomic_open(&af, in_scratch("oom.csv"), &d);
        gs_alloc_fail_nth(0);
        if (rc == GS_OK) {
            gs_atomic_abort(&af);
            done = 1;
        } else {
            CHECK_EQ(rc, GS_ENOMEM);
            CHECK(af.f == NULL && af.tmp == NULL && af.path == NULL);
            gs_atomic_abort(&af);
        }
        int temps;
        count_entries(scratch, &temps);
        CHECK_EQ(temps, 0);
    }
    CHECK(done);

    /* commit allocates in its directory sync; a failure there only skips
     * the sync. */
    for (long n = 1; n < 4; n++) {
        gs_diag d;
        gs_diag_init(&d);
        gs_atomic_file af;
        CHECK_EQ(gs_atomic_open(&af, in_scratch("oom.csv"), &d), GS_OK);
        fputs("ok\n", af.f);
        gs_alloc_fail_nth(n);
        CHECK_EQ(gs_atomic_commit(&af, &d), GS_OK);
        gs_alloc_fail_nth(0);
        CHECK(has_content(in_scratch("oom.csv"), "ok\n"));
    }

    done = 0;
    for (long n = 1; n < 20 && !done; n++) {
        gs_diag d;
        gs_diag_init(&d);
        gs_alloc_fail_nth(n);
        int rc = gs_mkdir_p(in_scratch("m/n"), &d);
        gs_alloc_fail_nth(0);
        if (rc == GS_OK)
            done = 1;
        else
            CHECK_EQ(rc, GS_ENOMEM);
    }
    CHECK(done);
}

int main(void)
{
    if (scratch_make("gs_test_atomic_"))
        return 1;
    test_commit_and_replace();
    test_abort();
    test_open_errors();
    test_full_disk();
    test_bare_name();
    test_mkdir_p();
    test_alloc_failures();
    remove_tree(scratch);
    CHECK(!exists(scratch));
    return CHECK_DONE();
}
