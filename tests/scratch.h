/* A scratch directory for test programs that write files: made with
 * mkdtemp under $TMPDIR (else the working directory), with the helpers the
 * tests of result files share. Functions are static inline so that a test
 * using only some of them compiles without unused-function warnings. */
#ifndef GS_TESTS_SCRATCH_H
#define GS_TESTS_SCRATCH_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char scratch[4096];

/* Make the scratch directory "<$TMPDIR or .>/<stem>XXXXXX"; -1 (with a
 * message on stderr) when it cannot be made. */
static inline int scratch_make(const char *stem)
{
    const char *base = getenv("TMPDIR");
    snprintf(scratch, sizeof scratch, "%s/%sXXXXXX", base && *base ? base : ".", stem);
    if (!mkdtemp(scratch)) {
        fprintf(stderr, "mkdtemp %s: %s\n", scratch, strerror(errno));
        return -1;
    }
    return 0;
}

/* The path of name in the scratch directory, in one of a few rotating
 * buffers: copy it to keep it across more calls. */
static inline const char *in_scratch(const char *name)
{
    static char buf[4][sizeof scratch + 4096];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", scratch, name);
    return buf[k];
}

static inline int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Entries of dir other than . and .. (-1: cannot read it), and how many
 * look temporary (analysis/atomic.h names them ".NAME.tmp.XXXXXX"). */
static inline int count_entries(const char *dir, int *temps)
{
    DIR *dp = opendir(dir);
    *temps = 0;
    if (!dp)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dp))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        n++;
        if (strstr(e->d_name, ".tmp."))
            (*temps)++;
    }
    closedir(dp);
    return n;
}

/* rm -r path, making directories writable first (tests make some
 * read-only). */
static inline void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        chmod(path, 0700);
        DIR *dp = opendir(path);
        if (dp) {
            struct dirent *e;
            while ((e = readdir(dp))) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                size_t n = strlen(path) + strlen(e->d_name) + 2;
                char *child = malloc(n);
                if (!child)
                    continue;
                snprintf(child, n, "%s/%s", path, e->d_name);
                remove_tree(child);
                free(child);
            }
            closedir(dp);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

#endif
