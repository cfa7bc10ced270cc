/* Plots of results: data and gnuplot scripts written by us, images drawn by
 * gnuplot.
 *
 * A plot NAME is written in a fixed order: NAME.dat, then NAME.gp (both
 * through analysis/atomic.h), then gnuplot runs NAME.gp in the plot
 * directory. The script sends its images to the gnuplot variables png_out
 * and pdf_out, which default to NAME.png and NAME.pdf when a user runs it by
 * hand; we set them to temporary files made beside the targets and rename
 * those over the targets only after gnuplot exits 0 with both whole. So
 * the invariant is: every NAME.* file in the directory is complete, and a
 * NAME.png or NAME.pdf is a drawing of the NAME.gp beside it at some time.
 *
 * gnuplot is found on PATH by us and started with fork and execv (no shell,
 * so no quoting of arguments), its working directory the plot directory so
 * that the script names its files relatively and stays valid when the
 * directory is moved. Text that reaches a script is a single-quoted gnuplot
 * string (no escapes but '' for a quote, gnuplot manual, "Strings"), and
 * every terminal is noenhanced, so labels show verbatim; explicit tic labels
 * are also format strings to gnuplot, so their '%' is doubled.
 *
 * The empirical CDF from histogram buckets is the usual one for binned
 * data: exact at bucket bounds, linear inside a bucket (the values of a
 * bucket taken as uniform over it). */
#include "plot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "analysis/atomic.h"
#include "sim/alloc.h"
#include "sim/error.h"

/* ---- Palette and text ------------------------------------------------- */

/* Okabe and Ito's colour-blind-safe palette, with grey in place of their
 * yellow, which is too faint on white for thin lines. */
static const char *const palette[GS_PLOT_PALETTE_SIZE] = {
    "#0072b2", "#d55e00", "#009e73", "#cc79a7",
    "#e69f00", "#56b4e9", "#000000", "#999999",
};

/* A point type per slot too, so that curves stay apart in a grey print. */
static const int point_type[GS_PLOT_PALETTE_SIZE] = {7, 5, 9, 13, 11, 15, 6, 4};

#define OUTAGE_FILL "#f6cfcb"
#define SLOWDOWN_FILL "#fbe6b0"
#define REF_COLOR "#404040"
#define ERRBAR_COLOR "#303030"

static int slot_of(int color)
{
    return color < 0 ? 0 : color % GS_PLOT_PALETTE_SIZE;
}

const char *gs_plot_color(int slot)
{
    return palette[slot_of(slot)];
}

static int is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

/* s followed by suffix (may be NULL) as one single-quoted gnuplot literal;
 * pct doubles '%' for strings that gnuplot uses as a format (explicit tic
 * labels). */
static void put_quoted_with(FILE *f, const char *s, const char *suffix, int pct)
{
    fputc('\'', f);
    for (int part = 0; part < 2; part++) {
        const char *t = part == 0 ? s : suffix;
        for (const unsigned char *p = (const unsigned char *)(t ? t : ""); *p; p++) {
            if (*p == '\'')
                fputs("''", f);
            else if (*p == '%' && pct)
                fputs("%%", f);
            else if (is_control(*p))
                fputc(' ', f);
            else
                fputc(*p, f);
        }
    }
    fputc('\'', f);
}

static void put_quoted(FILE *f, const char *s, int pct)
{
    put_quoted_with(f, s, NULL, pct);
}

char *gs_plot_quote(const char *s)
{
    if (!s)
        s = "";
    size_t len = 3;
    for (const char *p = s; *p; p++)
        len += *p == '\'' ? 2 : 1;
    char *out = gs_malloc(len);
    if (!out)
        return NULL;
    char *o = out;
    *o++ = '\'';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\'') {
            *o++ = '\'';
            *o++ = '\'';
        } else {
            *o++ = is_control(*p) ? ' ' : (char)*p;
        }
    }
    *o++ = '\'';
    *o = '\0';
    return out;
}

/* Text inside a comment of a data file: one line. */
static void put_comment_text(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
        fputc(is_control(*p) ? ' ' : *p, f);
}

/* A name as the last column of a data line, for people and for a user's
 * restyled script (ytic(N)): double-quoted, with its own double quotes
 * shown as single ones, since gnuplot data files have no escape for them. */
static void put_name_column(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
        fputc(is_control(*p) ? ' ' : *p == '"' ? '\'' : *p, f);
    fputc('"', f);
}

/* A number of a data file; gnuplot reads NaN as undefined (a gap). */
static void put_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.10g", v);
    else
        fputs("NaN", f);
}

/* Labels for the values v[0 .. n) written beside bars: the fewest
 * significant digits from min_digits up to 6 that keep different values
 * apart and do not show a fraction as a whole number (0.99996 as "1"). */
static void value_labels(const double *v, size_t n, int min_digits, char (*out)[24])
{
    int digits = min_digits;
    for (;; digits++) {
        int clash = 0;
        for (size_t i = 0; i < n; i++) {
            if (!isfinite(v[i])) {
                snprintf(out[i], sizeof out[i], "-");
                continue;
            }
            snprintf(out[i], sizeof out[i], "%.*g", digits, v[i]);
            double shown = strtod(out[i], NULL);
            if (shown == floor(shown) && v[i] != floor(v[i]) && fabs(v[i]) < 1e6)
                clash = 1;
            for (size_t j = 0; j < i; j++)
                if (isfinite(v[j]) && v[j] != v[i] && strcmp(out[i], out[j]) == 0)
                    clash = 1;
        }
        if (!clash || digits >= 6)
            return;
    }
}

/* ---- Files ------------------------------------------------------------ */

/* A plot name becomes file names and part of a gnuplot command line, so it
 * is kept to characters that mean nothing to a shell, to gnuplot and to
 * file systems, and may not look like an option or a hidden file. */
static int check_name(const char *name, gs_diag *d)
{
    if (!name || !*name)
        return gs_error(d, GS_EINVAL, "plot name is empty");
    size_t len = strlen(name);
    if (len > 128)
        return gs_error(d, GS_EINVAL, "plot name is longer than 128 characters: %.40s...",
                        name);
    for (const char *p = name; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || ((c == '.' || c == '-' || c == '+') && p != name);
        if (!ok)
            return gs_error(d, GS_EINVAL,
                            "plot name \"%s\": use letters, digits and . _ + - (not first)",
                            name);
    }
    return GS_OK;
}

/* "DIR/STEMEXT". Caller frees with gs_free(); NULL when out of memory. */
static char *join(const char *dir, const char *stem, const char *ext)
{
    size_t n = strlen(dir) + 1 + strlen(stem) + strlen(ext) + 1;
    char *p = gs_malloc(n);
    if (p)
        snprintf(p, n, "%s/%s%s", dir, stem, ext);
    return p;
}

typedef void (*emit_fn)(FILE *f, const char *name, const void *ctx);

static int write_file(const char *dir, const char *name, const char *ext, emit_fn emit,
                      const void *ctx, gs_diag *d)
{
    char *path = join(dir, name, ext);
    if (!path)
        return gs_error(d, GS_ENOMEM, "%s/%s%s: out of memory", dir, name, ext);
    gs_atomic_file af;
    int rc = gs_atomic_open(&af, path, d);
    if (rc == GS_OK) {
        emit(af.f, name, ctx);
        rc = gs_atomic_commit(&af, d);
    }
    gs_free(path);
    return rc;
}

/* ---- Running gnuplot -------------------------------------------------- */

/* strerror() may share a buffer between threads; the XSI strerror_r does
 * not. */
static const char *reason(int err, char *buf, size_t size)
{
    if (strerror_r(err, buf, size) != 0)
        snprintf(buf, size, "error %d", err);
    return buf;
}

static int is_executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* The absolute path of gnuplot on PATH (the POSIX default when PATH is
 * unset) into *out, or NULL when there is none. Absolute because the child
 * changes directory before it executes: a relative PATH entry such as "."
 * is resolved here, against our directory, as a shell would. */
static int find_gnuplot(char **out, gs_diag *d)
{
    static const char prog[] = "gnuplot";
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    char cwd[4096];
    int have_cwd = -1;
    *out = NULL;
    for (const char *p = path;;) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        const char *base = "";
        if (len == 0 || p[0] != '/') {
            if (have_cwd < 0)
                have_cwd = getcwd(cwd, sizeof cwd) != NULL;
            base = have_cwd ? cwd : NULL;
        }
        if (base) {
            size_t n = strlen(base) + 1 + len + 1 + sizeof prog;
            char *cand = gs_malloc(n);
            if (!cand)
                return gs_error(d, GS_ENOMEM, "out of memory looking for gnuplot");
            if (*base)
                snprintf(cand, n, "%s/%.*s%s%s", base, (int)len, p, len ? "/" : "", prog);
            else
                snprintf(cand, n, "%.*s/%s", (int)len, p, prog);
            if (is_executable(cand)) {
                *out = cand;
                return GS_OK;
            }
            gs_free(cand);
        }
        if (!colon)
            return GS_OK;
        p = colon + 1;
    }
}

static int no_gnuplot(const char *dir, gs_diag *d)
{
    return gs_error(d, GS_PLOT_ENOGNUPLOT,
                    "gnuplot not found: install gnuplot (apt-get install gnuplot-nox); the CSV "
                    "and HDF5 results are written, and the plot data and scripts are in %s "
                    "(`gatesim plot` draws them once gnuplot is installed)",
                    dir);
}

/* What gnuplot wrote to stderr, as one line: its lines joined by " | ",
 * only the last ones when there are many (the error comes last). */
static void flatten_tail(const char *buf, size_t len, char *out, size_t size)
{
    char line_buf[4096 + 64];
    size_t n = 0;
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && buf[j] != '\n')
            j++;
        size_t a = i, b = j;
        while (a < b && (buf[a] == ' ' || buf[a] == '\t' || buf[a] == '\r'))
            a++;
        while (b > a && (buf[b - 1] == ' ' || buf[b - 1] == '\t' || buf[b - 1] == '\r'))
            b--;
        if (b > a) {
            if (n > 0 && n + 3 < sizeof line_buf) {
                memcpy(line_buf + n, " | ", 3);
                n += 3;
            }
            for (size_t k = a; k < b && n + 1 < sizeof line_buf; k++)
                line_buf[n++] = is_control((unsigned char)buf[k]) ? ' ' : buf[k];
        }
        i = j + 1;
    }
    line_buf[n] = '\0';
    if (n + 1 <= size) {
        memcpy(out, line_buf, n + 1);
    } else {
        /* Keep the end, where gnuplot names the script line and the error. */
        size_t keep = size - 4;
        snprintf(out, size, "...%s", line_buf + (n - keep));
    }
}

/* Run exe with argv in directory dir, stdin and stdout on /dev/null, and
 * collect the end of its stderr into err (one line). Between fork and exec
 * the child calls only async-signal-safe functions: the simulator may be
 * multi-threaded (OpenMP). 0 and the wait status in *wstatus, or the errno
 * of a failed open, pipe, fork or wait. */
static int run_program(const char *exe, const char *dir, char *const argv[], int *wstatus,
                       char *err, size_t errsize)
{
    err[0] = '\0';
    int nullfd = open("/dev/null", O_RDWR);
    if (nullfd < 0)
        return errno;
    int pfd[2];
    if (pipe(pfd) != 0) {
        int e = errno;
        close(nullfd);
        return e;
    }
    (void)fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(nullfd);
        close(pfd[0]);
        close(pfd[1]);
        return e;
    }
    if (pid == 0) {
        static const char cd_msg[] = "cannot change to the plot directory\n";
        static const char exec_msg[] = "cannot execute gnuplot\n";
        if (dup2(nullfd, 0) < 0 || dup2(nullfd, 1) < 0 || dup2(pfd[1], 2) < 0)
            _exit(126);
        if (nullfd > 2)
            close(nullfd);
        if (pfd[1] > 2)
            close(pfd[1]);
        close(pfd[0]);
        if (chdir(dir) != 0) {
            ssize_t w = write(2, cd_msg, sizeof cd_msg - 1);
            (void)w;
            _exit(126);
        }
        execv(exe, argv);
        ssize_t w = write(2, exec_msg, sizeof exec_msg - 1);
        (void)w;
        _exit(127);
    }
    close(nullfd);
    close(pfd[1]);
    /* Keep the last 4 KiB at most: a runaway script may print a lot. */
    char buf[4096];
    size_t len = 0;
    for (;;) {
        if (len == sizeof buf) {
            memmove(buf, buf + sizeof buf / 2, sizeof buf / 2);
            len = sizeof buf / 2;
        }
        ssize_t r = read(pfd[0], buf + len, sizeof buf - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(pfd[0]);
    flatten_tail(buf, len, err, errsize);
    /* ECHILD here means the caller ignores SIGCHLD, which reaps children
     * unasked: the exit status is lost, so the drawing cannot be trusted. */
    while (waitpid(pid, wstatus, 0) < 0)
        if (errno != EINTR)
            return errno;
    return 0;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* 1 when fd holds a whole PNG (signature first, IEND chunk last) or a
 * whole PDF ("%PDF-" first, "%%EOF" in its last KiB), by ext. gnuplot may
 * exit 0 with a short image when its writes fail (a full disk), so its exit
 * status alone does not say that the image is whole; the cost is reading
 * 1 KiB at each end. It reads through our own descriptor of the temporary
 * file: opening and closing another one would drop its lock
 * (analysis/atomic.h). */
static int image_complete(int fd, const char *ext)
{
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const unsigned char png_end[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D',
                                              0xae, 0x42, 0x60, 0x82};
    unsigned char head[8], tail[1024];
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof png_end ||
        pread(fd, head, sizeof head, 0) != (ssize_t)sizeof head)
        return 0;
    off_t from = st.st_size > (off_t)sizeof tail ? st.st_size - (off_t)sizeof tail : 0;
    ssize_t got = pread(fd, tail, (size_t)(st.st_size - from), from);
    if (got != (ssize_t)(st.st_size - from))
        return 0;
    size_t nt = (size_t)got;
    if (strcmp(ext, ".png") == 0)
        return memcmp(head, png_sig, sizeof png_sig) == 0 &&
               memcmp(tail + nt - sizeof png_end, png_end, sizeof png_end) == 0;
    if (memcmp(head, "%PDF-", 5) != 0)
        return 0;
    for (size_t i = 0; i + 5 <= nt; i++)
        if (memcmp(tail + i, "%%EOF", 5) == 0)
            return 1;
    return 0;
}

/* Why gnuplot could not finish an image at path, as an errno, or 0 when
 * nothing says: gnuplot does not pass its write errors on. A file that has
 * reached the file size limit (ulimit -f) is EFBIG; a file system with less
 * than 1 MiB or no inode left is full (ENOSPC), since an image is a few
 * hundred KiB at most. */
static int image_failure(const char *path)
{
    struct stat st;
    struct rlimit rl;
    if (stat(path, &st) == 0 && getrlimit(RLIMIT_FSIZE, &rl) == 0 &&
        rl.rlim_cur != RLIM_INFINITY && (rlim_t)st.st_size >= rl.rlim_cur)
        return EFBIG;
    struct statvfs fs;
    if (statvfs(path, &fs) == 0 &&
        ((double)fs.f_bavail * (double)fs.f_frsize < 1048576.0 || fs.f_favail == 0))
        return ENOSPC;
    return 0;
}

/* Draw DIR/STEM.gp into DIR/STEM.png and DIR/STEM.pdf with gnuplot exe. */
static int render(const char *exe, const char *dir, const char *stem, gs_diag *d)
{
    int rc = GS_ENOMEM;
    char *png = join(dir, stem, ".png");
    char *pdf = join(dir, stem, ".pdf");
    char *script = join(".", stem, ".gp");
    char *qpng = NULL, *qpdf = NULL, *expr = NULL;
    gs_atomic_file apng, apdf;
    apng.f = apdf.f = NULL;
    apng.path = apdf.path = apng.tmp = apdf.tmp = NULL;
    if (!png || !pdf || !script) {
        rc = gs_error(d, GS_ENOMEM, "%s/%s.gp: out of memory", dir, stem);
        goto out;
    }
    rc = gs_atomic_open(&apng, png, d);
    if (rc == GS_OK)
        rc = gs_atomic_open(&apdf, pdf, d);
    if (rc != GS_OK)
        goto out;
    /* gnuplot runs in dir, so it gets the temporary files' own names. */
    qpng = gs_plot_quote(base_name(apng.tmp));
    qpdf = gs_plot_quote(base_name(apdf.tmp));
    size_t n = (qpng ? strlen(qpng) : 0) + (qpdf ? strlen(qpdf) : 0) + 32;
    expr = qpng && qpdf ? gs_malloc(n) : NULL;
    if (!expr) {
        rc = gs_error(d, GS_ENOMEM, "%s/%s.gp: out of memory", dir, stem);
        goto out;
    }
    snprintf(expr, n, "png_out = %s; pdf_out = %s", qpng, qpdf);

    char arg0[] = "gnuplot", arg1[] = "-e";
    char *argv[] = {arg0, arg1, expr, script, NULL};
    char err[640];
    int wstatus = 0;
    int e = run_program(exe, dir, argv, &wstatus, err, sizeof err);
    if (e != 0) {
        char why[128];
        rc = gs_error(d, GS_EIO, "%s/%s.gp: cannot run gnuplot: %s", dir, stem,
                      reason(e, why, sizeof why));
        goto out;
    }
    if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
        char how[64];
        if (WIFEXITED(wstatus))
            snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(wstatus));
        else if (WIFSIGNALED(wstatus))
            snprintf(how, sizeof how, "killed by signal %d", WTERMSIG(wstatus));
        else
            snprintf(how, sizeof how, "lost");
        rc = gs_error(d, GS_EIO, "%s/%s.gp: gnuplot failed (%s): %s", dir, stem, how,
                      err[0] ? err : "no message");
        goto out;
    }
    for (int k = 0; k < 2; k++) {
        const char *tmp = k ? apdf.tmp : apng.tmp, *ext = k ? ".pdf" : ".png";
        if (image_complete(fileno(k ? apdf.f : apng.f), ext))
            continue;
        int why = image_failure(tmp);
        char because[128];
        if (why)
            rc = gs_error(d, GS_EIO, "%s/%s%s: cannot write: %s", dir, stem, ext,
                          reason(why, because, sizeof because));
        else
            rc = gs_error(d, GS_EIO, "%s/%s.gp: gnuplot drew no whole image into %s%s%s",
                          dir, stem, k ? "pdf_out" : "png_out", err[0] ? ": " : "", err);
        goto out;
    }
    rc = gs_atomic_commit(&apng, d);
    if (rc == GS_OK)
        rc = gs_atomic_commit(&apdf, d);
out:
    gs_atomic_abort(&apng);
    gs_atomic_abort(&apdf);
    gs_free(expr);
    gs_free(qpng);
    gs_free(qpdf);
    gs_free(script);
    gs_free(png);
    gs_free(pdf);
    return rc;
}

static int draw(const char *dir, const char *stem, gs_diag *d)
{
    char *exe;
    int rc = find_gnuplot(&exe, d);
    if (rc != GS_OK)
        return rc;
    if (!exe)
        return no_gnuplot(dir, d);
    rc = render(exe, dir, stem, d);
    gs_free(exe);
    return rc;
}

/* Write NAME.dat and NAME.gp in dir, then draw them. */
static int produce(const char *dir, const char *name, emit_fn dat, emit_fn gp, const void *ctx,
                   gs_diag *d)
{
    int rc = check_name(name, d);
    if (rc == GS_OK && (!dir || !*dir))
        rc = gs_error(d, GS_EINVAL, "%s: plot directory is empty", name);
    if (rc == GS_OK)
        rc = gs_mkdir_p(dir, d);
    if (rc == GS_OK)
        rc = write_file(dir, name, ".dat", dat, ctx, d);
    if (rc == GS_OK)
        rc = write_file(dir, name, ".gp", gp, ctx, d);
    if (rc == GS_OK)
        rc = draw(dir, name, d);
    return rc;
}

/* ---- Script pieces ---------------------------------------------------- */

typedef struct canvas {
    int    w_px, h_px;      /* PNG */
    double w_in, h_in;      /* PDF */
} canvas;

/* Report size: a PNG readable on screen and in a document at 11 pt, and a
 * PDF that fits a page column at 10 pt with thinner lines and smaller
 * points, which print heavier than they show on screen. */
static canvas canvas_for_height(int h_px)
{
    /* 800 x 500 px is 5 x 3.2 in; taller plots keep that proportion. */
    canvas c = {800, h_px, 5.0, 3.2 * h_px / 500.0};
    return c;
}

static void dat_begin(FILE *f, const char *name, const char *what)
{
    fprintf(f, "# %s.dat: %s.\n", name, what);
    fprintf(f, "# Data of %s.gp, written by gatesim; whitespace-separated, NaN = undefined.\n",
            name);
}

static void gp_begin(FILE *f, const char *name, const char *what, const char *title)
{
    fprintf(f,
            "# %s.gp: %s.\n"
            "# Written by gatesim (gnuplot 5.4 or later). Restyle it here, then run\n"
            "# `gnuplot %s.gp` in this directory (or `gatesim plot` on the results) to\n"
            "# redraw %s.png and %s.pdf from %s.dat.\n"
            "if (!exists('png_out')) png_out = '%s.png'\n"
            "if (!exists('pdf_out')) pdf_out = '%s.pdf'\n"
            "\n"
            "set encoding utf8\n"
            "# Palette (Okabe-Ito, colour-blind safe): linetype k+1 is palette slot k, the\n"
            "# same scenario in every plot of a run.\n",
            name, what, name, name, name, name, name, name);
    for (int k = 0; k < GS_PLOT_PALETTE_SIZE; k++)
        fprintf(f, "set linetype %d lc rgb '%s' lw 2 pt %d ps 0.8 dt solid\n", k + 1,
                palette[k], point_type[k]);
    fprintf(f,
            "set linetype cycle %d\n"
            "set border 3 lc rgb '#404040'\n"
            "set tics nomirror out scale 0.6 textcolor rgb '#202020'\n"
            "set grid back lt 1 lc rgb '#e0e0e0' lw 1 dt solid\n"
            "set key noautotitle\n",
            GS_PLOT_PALETTE_SIZE);
    if (title && *title) {
        fputs("set title ", f);
        put_quoted(f, title, 0);
        fputc('\n', f);
    }
}

/* Open the loop that draws the same figure once per output. */
static void gp_outputs_begin(FILE *f, const canvas *c)
{
    fprintf(f,
            "\n"
            "do for [pass = 1:2] {\n"
            "    if (pass == 1) {\n"
            "        set terminal pngcairo size %d,%d font 'Sans,11' noenhanced\n"
            "        set output png_out\n"
            "    } else {\n"
            "        set terminal pdfcairo size %.2fin,%.2fin font 'Sans,10' linewidth 0.8 "
            "pointscale 0.7 noenhanced\n"
            "        set output pdf_out\n"
            "    }\n",
            c->w_px, c->h_px, c->w_in, c->h_in);
}

static void gp_outputs_end(FILE *f)
{
    fputs("}\nset output\n", f);
}

/* A tic value as plain decimal (0.002, 50, 1000) while that stays short. */
static void tic_label(char *buf, size_t size, double v, int k)
{
    if (v >= 1e-6 && v < 1e7)
        snprintf(buf, size, "%.*f", k < 0 ? -k : 0, v);
    else
        snprintf(buf, size, "%g", v);
}

/* Explicit tics for a log axis over [lo, hi] (0 < lo <= hi) and the range
 * itself, widened to the outer tics: 1-2-5 tics over up to about two
 * decades, every decade (every other beyond 12) over more; the other digit
 * multiples are unlabelled minor tics. gnuplot's automatic log tics give a
 * single tic on a range narrower than a decade. */
static void log_axis(FILE *f, char axis, double lo, double hi)
{
    int k0 = (int)floor(log10(lo)), k1 = (int)ceil(log10(hi));
    if (k1 <= k0)
        k1 = k0 + 1;
    int decades = k1 - k0;
    if (decades > 24) {
        /* Too wide for a list of tics; gnuplot's own will do. */
        fprintf(f, "set logscale %c 10\n", axis);
        return;
    }
    int fine = hi / lo < 200.0;
    int every = decades > 12 ? 2 : 1;
    double r0 = pow(10.0, k0), r1 = pow(10.0, k1);
    if (fine) {
        /* Narrow the range to the 1-2-5 tics around the data. */
        static const int major[] = {1, 2, 5, 10};
        for (int k = k0; k <= k1; k++)
            for (int m = 0; m < 4; m++) {
                double v = major[m] * pow(10.0, k);
                if (v <= lo * (1 + 1e-12) && v > r0)
                    r0 = v;
            }
        for (int k = k1; k >= k0 - 1; k--)
            for (int m = 3; m >= 0; m--) {
                double v = major[m] * pow(10.0, k);
                if (v >= hi * (1 - 1e-12) && v < r1)
                    r1 = v;
            }
        if (r1 <= r0)
            r1 = r0 * 2;
    }
    /* The range is a hair wider than the outer tics: gnuplot drops a tic
     * that falls exactly on the end of a log axis when rounding puts it
     * just outside. */
    fprintf(f, "set logscale %c 10\nset %crange [%.12g:%.12g]\nset %ctics (", axis, axis,
            r0 * (1 - 1e-7), r1 * (1 + 1e-7), axis);
    int first = 1;
    for (int k = k0; k <= k1; k++) {
        for (int m = 1; m <= 9; m++) {
            double v = m * pow(10.0, k);
            if (v < r0 * (1 - 1e-9) || v > r1 * (1 + 1e-9))
                continue;
            int labelled = fine ? (m == 1 || m == 2 || m == 5)
                                : (m == 1 && ((k - k0) % every) == 0);
            char lab[32] = "";
            if (labelled)
                tic_label(lab, sizeof lab, v, k);
            fprintf(f, "%s'%s' %.10g %d", first ? "" : ", ", lab, v, labelled ? 0 : 1);
            first = 0;
        }
    }
    fprintf(f, ")\n");
}

/* ---- Latency CDF ------------------------------------------------------ */

typedef struct cdf_ctx {
    const char        *title;
    const gs_plot_cdf *curves;
    size_t             n;
    const int         *has_data;    /* per curve: it has a point to draw */
    double             xmin, xmax;  /* over all points (> 0) */
} cdf_ctx;

/* The CDF points of c on a log axis, written to f when f is not NULL;
 * returns how many there are and widens [*xmin, *xmax] to them. The CDF
 * at a bucket's lower bound is the share below the bucket, at its upper
 * bound the share up to and including it; between buckets it is flat. */
static size_t cdf_points(const gs_plot_cdf *c, FILE *f, double *xmin, double *xmax)
{
    double total = 0.0;
    for (size_t i = 0; i < c->n; i++)
        total += (double)c->counts[i];
    if (total <= 0.0)
        return 0;
    size_t np = 0;
    double cum = 0.0, last_x = 0.0;
    for (size_t i = 0; i < c->n; i++) {
        if (c->counts[i] == 0)
            continue;
        double lo = c->lo_s[i], hi = c->hi_s[i];
        if (lo > 0.0 && lo > last_x) {
            if (f)
                fprintf(f, "%.10g %.10g\n", lo, cum / total);
            np++;
            *xmin = fmin(*xmin, lo);
        }
        cum += (double)c->counts[i];
        if (hi > 0.0) {
            if (f)
                fprintf(f, "%.10g %.10g\n", hi, cum / total);
            np++;
            *xmin = fmin(*xmin, hi);
            *xmax = fmax(*xmax, hi);
            last_x = hi;
        }
    }
    return np;
}

static void cdf_dat(FILE *f, const char *name, const void *arg)
{
    const cdf_ctx *x = arg;
    dat_begin(f, name, "empirical latency CDF, one block (gnuplot index) per curve with data");
    fprintf(f, "# columns: latency_s cdf\n"
               "#   latency_s  latency, seconds\n"
               "#   cdf        P(latency <= latency_s), in [0, 1]\n");
    int block = 0;
    for (size_t i = 0; i < x->n; i++) {
        if (!x->has_data[i])
            continue;
        fprintf(f, "%s# index %d: ", block ? "\n\n" : "\n", block);
        put_comment_text(f, x->curves[i].label);
        fputc('\n', f);
        double a = INFINITY, b = 0.0;
        cdf_points(&x->curves[i], f, &a, &b);
        block++;
    }
}

static void cdf_gp(FILE *f, const char *name, const void *arg)
{
    const cdf_ctx *x = arg;
    gp_begin(f, name, "latency CDF (log x)", x->title);
    int any = 0;
    for (size_t i = 0; i < x->n; i++)
        any |= x->has_data[i];
    fputs("set xlabel 'latency (s)'\n"
          "set ylabel 'P(latency <= x)'\n"
          "set yrange [0:1]\n"
          "set ytics 0, 0.2, 1 format '%.1f'\n"
          "set grid xtics ytics\n"
          "# Below the axes: a CDF runs through every corner of the plot area.\n"
          "set key below center horizontal reverse Left samplen 2.5 height 1\n",
          f);
    if (any) {
        log_axis(f, 'x', x->xmin, x->xmax);
    } else {
        log_axis(f, 'x', 1e-3, 1.0);
        fputs("set label 1 'no latency observed' at graph 0.5, 0.5 center\n", f);
    }
    canvas c = canvas_for_height(500);
    gp_outputs_begin(f, &c);
    fputs("    plot \\\n", f);
    int block = 0;
    const char *sep = "";
    if (!any) {
        fputs("        NaN notitle", f);
        sep = ", \\\n";
    }
    for (size_t i = 0; i < x->n; i++) {
        int lt = slot_of(x->curves[i].color) + 1;
        fputs(sep, f);
        if (x->has_data[i]) {
            fprintf(f, "        '%s.dat' index %d using 1:2 with lines lt %d title ", name,
                    block, lt);
            put_quoted(f, x->curves[i].label, 0);
            block++;
        } else {
            fprintf(f, "        keyentry with lines lt %d title ", lt);
            put_quoted_with(f, x->curves[i].label, " (no data)", 0);
        }
        sep = ", \\\n";
    }
    fputc('\n', f);
    gp_outputs_end(f);
}

int gs_plot_latency_cdf(const char *dir, const char *name, const char *title,
                        const gs_plot_cdf *curves, size_t n, gs_diag *d)
{
    if (!curves || n == 0)
        return gs_error(d, GS_EINVAL, "%s: latency CDF needs at least one curve",
                        name ? name : "plot");
    for (size_t i = 0; i < n; i++) {
        const gs_plot_cdf *c = &curves[i];
        if (c->color < 0)
            return gs_error(d, GS_EINVAL, "%s: curve %zu: colour slot %d < 0", name, i,
                            c->color);
        if (c->n > 0 && (!c->lo_s || !c->hi_s || !c->counts))
            return gs_error(d, GS_EINVAL, "%s: curve %zu: bucket arrays missing", name, i);
        for (size_t k = 0; k < c->n; k++) {
            double lo = c->lo_s[k], hi = c->hi_s[k];
            if (!isfinite(lo) || !isfinite(hi) || lo < 0.0 || hi < lo ||
                (k > 0 && lo < c->hi_s[k - 1]))
                return gs_error(d, GS_EINVAL,
                                "%s: curve %zu: bucket %zu [%g, %g) is not a bucket after "
                                "the ones before it",
                                name, i, k, lo, hi);
        }
    }
    int *has = gs_calloc(n, sizeof *has);
    if (!has)
        return gs_error(d, GS_ENOMEM, "%s: out of memory", name ? name : "plot");
    cdf_ctx x = {title, curves, n, has, INFINITY, 0.0};
    for (size_t i = 0; i < n; i++)
        has[i] = cdf_points(&curves[i], NULL, &x.xmin, &x.xmax) > 0;
    int rc = produce(dir, name, cdf_dat, cdf_gp, &x, d);
    gs_free(has);
    return rc;
}

/* ---- Time line -------------------------------------------------------- */

typedef struct tl_ctx {
    const char             *title;
    int                     color;
    const gs_plot_timeline *tl;
    int                     has[3];     /* a panel has a finite value */
} tl_ctx;

static const char *fault_kind_name(const gs_plot_timeline *tl, size_t i)
{
    return tl->fault_kind && tl->fault_kind[i] == GS_PLOT_SLOWDOWN ? "slowdown" : "outage";
}

static void tl_dat(FILE *f, const char *name, const void *arg)
{
    const gs_plot_timeline *tl = ((const tl_ctx *)arg)->tl;
    dat_begin(f, name,
              "time line of one scenario, means over replications per sampling window");
    fputs("# index 0 columns: t_s throughput p99_s availability\n"
          "#   t_s           time, seconds\n"
          "#   throughput    answered requests per second\n"
          "#   p99_s         99th percentile of latency, seconds\n"
          "#   availability  share of requests answered ok or by fallback, [0, 1]\n",
          f);
    for (size_t i = 0; i < tl->n; i++) {
        put_num(f, tl->t_s[i]);
        fputc(' ', f);
        put_num(f, tl->throughput[i]);
        fputc(' ', f);
        put_num(f, tl->p99_s[i]);
        fputc(' ', f);
        put_num(f, tl->availability[i]);
        fputc('\n', f);
    }
    if (tl->nfaults == 0)
        return;
    fprintf(f, "\n\n# index 1: faults, shaded in %s.gp by its 'set object' lines\n"
               "# columns: start_s end_s kind (seconds; outage or slowdown)\n", name);
    for (size_t i = 0; i < tl->nfaults; i++) {
        put_num(f, tl->fault_start_s[i]);
        fputc(' ', f);
        put_num(f, tl->fault_end_s[i]);
        fprintf(f, " %s\n", fault_kind_name(tl, i));
    }
}

static void tl_gp(FILE *f, const char *name, const void *arg)
{
    const tl_ctx *x = arg;
    const gs_plot_timeline *tl = x->tl;
    int lt = slot_of(x->color) + 1;
    /* The title goes to the multiplot, not to each panel. */
    gp_begin(f, name, "time line (throughput, p99 latency, availability; faults shaded)", NULL);
    double t0 = tl->t_s[0], t1 = tl->t_s[tl->n - 1];
    if (t1 <= t0) {
        t0 -= 0.5;
        t1 += 0.5;
    }
    /* Every panel gets the same explicit time range: autoscaling would
     * follow each panel's defined points and misalign the panels. */
    fprintf(f, "set xrange [%.10g:%.10g]\n", t0, t1);
    fputs("set grid xtics ytics\n"
          "# Margins in characters, equal in every panel, so the panels align.\n"
          "set lmargin 11\n"
          "set rmargin 3\n",
          f);
    int outages = 0, slowdowns = 0;
    if (tl->nfaults)
        fputs("# Faults: outages light red, slowdowns light amber.\n", f);
    for (size_t i = 0; i < tl->nfaults; i++) {
        int slow = tl->fault_kind && tl->fault_kind[i] == GS_PLOT_SLOWDOWN;
        outages += !slow;
        slowdowns += slow;
        fprintf(f,
                "set object %zu rect from first %.10g, graph 0 to first %.10g, graph 1 back "
                "clip fc rgb '%s' fs solid 1.0 noborder\n",
                i + 1, tl->fault_start_s[i], tl->fault_end_s[i],
                slow ? SLOWDOWN_FILL : OUTAGE_FILL);
    }
    int titled = x->title && *x->title;
    double top = titled ? 0.89 : 0.94, bottom = 0.09, gap = 0.025;
    double h = (top - bottom) / 3.0;
    canvas c = canvas_for_height(720);
    gp_outputs_begin(f, &c);
    fputs("    set multiplot", f);
    if (titled) {
        fputs(" title ", f);
        put_quoted(f, x->title, 0);
    }
    fputc('\n', f);
    static const char *const ylabel[3] = {"throughput (req/s)", "p99 latency (s)",
                                          "availability"};
    for (int p = 0; p < 3; p++) {
        double ptop = top - p * h, pbot = top - (p + 1) * h + gap;
        fprintf(f, "    set tmargin at screen %.4f\n    set bmargin at screen %.4f\n", ptop,
                pbot);
        fprintf(f, "    set ylabel '%s'\n", ylabel[p]);
        if (p < 2)
            fputs("    set format x ''\n    unset xlabel\n", f);
        else
            fputs("    set format x '%g'\n    set xlabel 'time (s)'\n", f);
        if (p < 2)
            fputs("    set yrange [0:*]\n    set ytics autofreq\n", f);
        else
            fputs("    set yrange [0:1.05]\n    set ytics 0, 0.25, 1\n", f);
        int keyed = p == 0 && (outages || slowdowns);
        /* The key of the shading sits above the panels, on a line of its
         * own under a title, so that a long title cannot run into it. */
        if (keyed)
            fprintf(f,
                    "    set key at screen 0.97, screen %.3f right top horizontal reverse Left "
                    "samplen 1.5\n",
                    titled ? 0.945 : 0.995);
        else
            fputs("    unset key\n", f);
        if (x->has[p])
            fprintf(f, "    plot '%s.dat' index 0 using 1:%d with lines lt %d", name, p + 2,
                    lt);
        else
            /* gnuplot cannot autoscale an axis with nothing on it. */
            fputs("    set label 1 'no data' at graph 0.5, 0.5 center\n"
                  "    set yrange [0:1]\n"
                  "    plot NaN",
                  f);
        if (keyed && outages)
            fputs(", \\\n        keyentry with boxes fc rgb '" OUTAGE_FILL
                  "' fs solid 1.0 noborder title 'outage'",
                  f);
        if (keyed && slowdowns)
            fputs(", \\\n        keyentry with boxes fc rgb '" SLOWDOWN_FILL
                  "' fs solid 1.0 noborder title 'slowdown'",
                  f);
        fputc('\n', f);
        if (!x->has[p])
            fputs("    unset label 1\n", f);
    }
    fputs("    unset multiplot\n", f);
    gp_outputs_end(f);
}

static int all_finite(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return 0;
    return 1;
}

static int any_finite(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i]))
            return 1;
    return 0;
}

int gs_plot_timeline_draw(const char *dir, const char *name, const char *title, int color,
                          const gs_plot_timeline *tl, gs_diag *d)
{
    const char *who = name ? name : "plot";
    if (!tl || tl->n == 0 || !tl->t_s || !tl->throughput || !tl->p99_s || !tl->availability)
        return gs_error(d, GS_EINVAL, "%s: time line needs samples and all four series", who);
    if (color < 0)
        return gs_error(d, GS_EINVAL, "%s: colour slot %d < 0", who, color);
    if (!all_finite(tl->t_s, tl->n))
        return gs_error(d, GS_EINVAL, "%s: sample times must be finite", who);
    for (size_t i = 1; i < tl->n; i++)
        if (tl->t_s[i] <= tl->t_s[i - 1])
            return gs_error(d, GS_EINVAL, "%s: sample times must increase (t[%zu] = %g)", who,
                            i, tl->t_s[i]);
    if (tl->nfaults > 0 && (!tl->fault_start_s || !tl->fault_end_s))
        return gs_error(d, GS_EINVAL, "%s: fault arrays missing", who);
    for (size_t i = 0; i < tl->nfaults; i++) {
        double a = tl->fault_start_s[i], b = tl->fault_end_s[i];
        if (!isfinite(a) || !isfinite(b) || b < a)
            return gs_error(d, GS_EINVAL, "%s: fault %zu [%g, %g] is not an interval", who, i,
                            a, b);
        if (tl->fault_kind && tl->fault_kind[i] != GS_PLOT_OUTAGE &&
            tl->fault_kind[i] != GS_PLOT_SLOWDOWN)
            return gs_error(d, GS_EINVAL, "%s: fault %zu has kind %d", who, i,
                            tl->fault_kind[i]);
    }
    tl_ctx x = {title, color, tl, {0, 0, 0}};
    x.has[0] = any_finite(tl->throughput, tl->n);
    x.has[1] = any_finite(tl->p99_s, tl->n);
    x.has[2] = any_finite(tl->availability, tl->n);
    return produce(dir, name, tl_dat, tl_gp, &x, d);
}

/* ---- Bars: utilisation and comparisons -------------------------------- */

typedef struct bars_ctx {
    const char        *title, *ylabel;
    int                horizontal;  /* utilisation: one colour, bars across */
    int                color;
    const gs_plot_bar *bars;
    size_t             n;
    char             (*labels)[24];
    int                any;         /* some mean is finite */
    int                any_ci;      /* some interval is finite */
    double             lo, hi;      /* value axis range */
} bars_ctx;

static void bars_dat(FILE *f, const char *name, const void *arg)
{
    const bars_ctx *x = arg;
    dat_begin(f, name, x->horizontal ? "utilization per component, mean over replications"
                                     : "one bar per scenario, mean over replications");
    fprintf(f, "# columns: pos mean ci_low ci_high linetype label_at label name\n"
               "#   pos       position of the bar on the %s axis\n"
               "#   mean      %s\n"
               "#   ci_low, ci_high  confidence interval of the mean (NaN: none)\n"
               "#   linetype  palette slot + 1 (the colour)\n"
               "#   label_at  where the label goes: the end of the bar or of its interval\n"
               "#   label     the mean as written beside the bar\n"
               "#   name      %s\n",
               x->horizontal ? "y (first row at the top)" : "x",
               x->horizontal ? "utilization, share of time busy, [0, 1]"
                             : "value, in the unit of the y axis label",
               x->horizontal ? "component" : "scenario");
    if (!x->horizontal && x->ylabel) {
        fputs("# y axis: ", f);
        put_comment_text(f, x->ylabel);
        fputc('\n', f);
    }
    for (size_t i = 0; i < x->n; i++) {
        const gs_plot_bar *b = &x->bars[i];
        size_t pos = x->horizontal ? x->n - 1 - i : i;
        int lt = slot_of(x->horizontal ? x->color : b->color) + 1;
        fprintf(f, "%zu ", pos);
        put_num(f, b->mean);
        fputc(' ', f);
        put_num(f, b->ci_low);
        fputc(' ', f);
        put_num(f, b->ci_high);
        /* Computed here rather than in the script: gnuplot 5.4 crashes on a
         * labels plot whose position expression meets NaN in every row. */
        double at = isfinite(b->ci_high) && b->ci_high > b->mean ? b->ci_high : b->mean;
        fprintf(f, " %d ", lt);
        put_num(f, at);
        fprintf(f, " %s ", x->labels[i]);
        put_name_column(f, b->label);
        fputc('\n', f);
    }
}

/* The category tics: each bar's name at its position. */
static void category_tics(FILE *f, const bars_ctx *x, char axis)
{
    fprintf(f, "set %ctics (", axis);
    for (size_t i = 0; i < x->n; i++) {
        size_t pos = x->horizontal ? x->n - 1 - i : i;
        if (i)
            fputs(", ", f);
        put_quoted(f, x->bars[i].label, 1);
        fprintf(f, " %zu", pos);
    }
    fputs(") scale 0", f);
}

static void bars_gp(FILE *f, const char *name, const void *arg)
{
    const bars_ctx *x = arg;
    canvas c;
    if (x->horizontal) {
        gp_begin(f, name, "utilization per component with confidence intervals", x->title);
        fputs("set xlabel 'utilization (share of time busy)'\n", f);
        fprintf(f, "set xrange [0:%.4g]\nset xtics 0, 0.2, 1 format '%%.1f'\n", x->hi);
        fprintf(f, "set yrange [-0.6:%zu.4]\n", x->n - 1);
        category_tics(f, x, 'y');
        fputs("\nset grid xtics noytics\n", f);
        /* Room for every name: 26 px a bar beyond the first 15. */
        c = canvas_for_height(x->n > 15 ? 110 + 26 * (int)x->n : 500);
    } else {
        gp_begin(f, name, "one bar per scenario with confidence intervals", x->title);
        if (x->ylabel && *x->ylabel) {
            fputs("set ylabel ", f);
            put_quoted(f, x->ylabel, 0);
            fputc('\n', f);
        }
        fprintf(f, "set xrange [-0.6:%zu.6]\nset yrange [%.10g:%.10g]\n", x->n - 1, x->lo,
                x->hi);
        size_t chars = 0, longest = 0;
        for (size_t i = 0; i < x->n; i++) {
            size_t len = x->bars[i].label ? strlen(x->bars[i].label) : 0;
            chars += len + 3;
            longest = len > longest ? len : longest;
        }
        category_tics(f, x, 'x');
        /* Names that would run into each other are slanted. */
        if (chars > 90 || longest * x->n > 90 || longest > 28)
            fputs(" rotate by 25 right", f);
        fputs("\nset grid ytics noxtics\nset boxwidth 0.62\n", f);
        if (x->lo < 0.0)
            fputs("set xzeroaxis lt 1 lc rgb '#404040' lw 1\n", f);
        c = canvas_for_height(500);
    }
    fputs("set style fill solid 0.85 noborder\n", f);
    if (!x->any)
        fputs("set label 1 'no data' at graph 0.5, 0.5 center\n", f);
    gp_outputs_begin(f, &c);
    /* Error bars are vectors with flat heads: gnuplot's errorbars styles
     * blank a dot at the mean, which reads as a white hole in the bar. */
    if (!x->any) {
        fputs("    plot NaN\n", f);
    } else if (x->horizontal) {
        fprintf(f,
                "    plot '%s.dat' using (0):1:(0):2:($1 - 0.32):($1 + 0.32) "
                "with boxxyerror lt %d, \\\n",
                name, slot_of(x->color) + 1);
        if (x->any_ci)
            fputs("        '' using 3:1:($4 - $3):(0) with vectors heads size screen 0.008,90 "
                  "lc rgb '" ERRBAR_COLOR "' lw 1.5, \\\n", f);
        fputs("        '' using ($6 + 0.015):1:7 with labels left\n", f);
    } else {
        fprintf(f, "    plot '%s.dat' using 1:2:5 with boxes lc variable, \\\n", name);
        if (x->any_ci)
            fputs("        '' using 1:3:(0):($4 - $3) with vectors heads size screen 0.008,90 "
                  "lc rgb '" ERRBAR_COLOR "' lw 1.5, \\\n", f);
        fputs("        '' using 1:6:7 with labels offset 0, 1\n", f);
    }
    gp_outputs_end(f);
}

static int check_bars(const char *who, const gs_plot_bar *bars, size_t n, int colors,
                      gs_diag *d)
{
    if (!bars || n == 0)
        return gs_error(d, GS_EINVAL, "%s: a bar chart needs at least one bar", who);
    for (size_t i = 0; i < n; i++) {
        if (colors && bars[i].color < 0)
            return gs_error(d, GS_EINVAL, "%s: bar %zu: colour slot %d < 0", who, i,
                            bars[i].color);
        if (isinf(bars[i].mean) || isinf(bars[i].ci_low) || isinf(bars[i].ci_high))
            return gs_error(d, GS_EINVAL, "%s: bar %zu: infinite value", who, i);
    }
    return GS_OK;
}

static int draw_bars(const char *dir, const char *name, bars_ctx *x, gs_diag *d)
{
    const char *who = name ? name : "plot";
    double *means = gs_malloc(x->n * sizeof *means);
    x->labels = gs_malloc(x->n * sizeof *x->labels);
    if (!means || !x->labels) {
        gs_free(means);
        gs_free(x->labels);
        return gs_error(d, GS_ENOMEM, "%s: out of memory", who);
    }
    double lo = 0.0, hi = 0.0;
    for (size_t i = 0; i < x->n; i++) {
        const gs_plot_bar *b = &x->bars[i];
        means[i] = b->mean;
        x->any |= isfinite(b->mean);
        x->any_ci |= isfinite(b->ci_low) && isfinite(b->ci_high);
        double v[3] = {b->mean, b->ci_low, b->ci_high};
        for (int k = 0; k < 3; k++)
            if (isfinite(v[k])) {
                lo = fmin(lo, v[k]);
                hi = fmax(hi, v[k]);
            }
    }
    value_labels(means, x->n, x->horizontal ? 2 : 4, x->labels);
    gs_free(means);
    if (x->horizontal) {
        /* Room right of a full bar for its label. */
        x->lo = 0.0;
        x->hi = fmax(1.12, hi + 0.12);
    } else {
        double span = hi - lo;
        if (span <= 0.0)
            span = hi = 1.0;
        /* Headroom above the tallest error bar for its label. */
        x->lo = lo < 0.0 ? lo - 0.05 * span : 0.0;
        x->hi = hi > 0.0 ? hi + 0.14 * span : 0.05 * span;
    }
    int rc = produce(dir, name, bars_dat, bars_gp, x, d);
    gs_free(x->labels);
    x->labels = NULL;
    return rc;
}

int gs_plot_utilization(const char *dir, const char *name, const char *title, int color,
                        const gs_plot_bar *bars, size_t n, gs_diag *d)
{
    const char *who = name ? name : "plot";
    if (color < 0)
        return gs_error(d, GS_EINVAL, "%s: colour slot %d < 0", who, color);
    int rc = check_bars(who, bars, n, 0, d);
    if (rc != GS_OK)
        return rc;
    bars_ctx x = {title, NULL, 1, color, bars, n, NULL, 0, 0, 0.0, 0.0};
    return draw_bars(dir, name, &x, d);
}

int gs_plot_bars(const char *dir, const char *name, const char *title, const char *ylabel,
                 const gs_plot_bar *bars, size_t n, gs_diag *d)
{
    int rc = check_bars(name ? name : "plot", bars, n, 1, d);
    if (rc != GS_OK)
        return rc;
    bars_ctx x = {title, ylabel, 0, 0, bars, n, NULL, 0, 0, 0.0, 0.0};
    return draw_bars(dir, name, &x, d);
}

int gs_plot_compare(const char *dir, const char *metric, const char *ylabel,
                    const gs_plot_bar *bars, size_t n, gs_diag *d)
{
    if (!metric || !*metric)
        return gs_error(d, GS_EINVAL, "compare plot: metric name is empty");
    static const char prefix[] = "compare-";
    size_t len = sizeof prefix + strlen(metric);
    char *name = gs_malloc(len);
    if (!name)
        return gs_error(d, GS_ENOMEM, "compare plot of %s: out of memory", metric);
    snprintf(name, len, "%s%s", prefix, metric);
    for (char *p = name + sizeof prefix - 1; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (!ok)
            *p = '_';
    }
    int rc = gs_plot_bars(dir, name, NULL, ylabel, bars, n, d);
    gs_free(name);
    return rc;
}

/* ---- Metric vs parameter ---------------------------------------------- */

typedef struct curves_ctx {
    const gs_plot_axes  *ax;
    const gs_plot_curve *curves;
    size_t               n;
    const int           *line;      /* per curve: some point is finite */
    const int           *band;      /* per curve: some interval is finite */
    double               xlo, xhi, ylo, yhi;   /* positive values, for log axes */
} curves_ctx;

static void curves_dat(FILE *f, const char *name, const void *arg)
{
    const curves_ctx *x = arg;
    dat_begin(f, name, "metric against a parameter, one block (gnuplot index) per curve");
    fputs("# columns: x mean lo hi (lo, hi: confidence interval of the mean; NaN: none)\n", f);
    if (x->ax->xlabel) {
        fputs("#   x: ", f);
        put_comment_text(f, x->ax->xlabel);
        fputc('\n', f);
    }
    if (x->ax->ylabel) {
        fputs("#   mean, lo, hi: ", f);
        put_comment_text(f, x->ax->ylabel);
        fputc('\n', f);
    }
    int block = 0;
    for (size_t i = 0; i < x->n; i++) {
        const gs_plot_curve *c = &x->curves[i];
        if (!x->line[i])
            continue;
        fprintf(f, "%s# index %d: ", block ? "\n\n" : "\n", block);
        put_comment_text(f, c->label);
        fputc('\n', f);
        for (size_t k = 0; k < c->n; k++) {
            put_num(f, c->x[k]);
            fputc(' ', f);
            put_num(f, c->mean[k]);
            fputc(' ', f);
            put_num(f, c->lo ? c->lo[k] : NAN);
            fputc(' ', f);
            put_num(f, c->hi ? c->hi[k] : NAN);
            fputc('\n', f);
        }
        block++;
    }
}

static void curves_gp(FILE *f, const char *name, const void *arg)
{
    const curves_ctx *x = arg;
    const gs_plot_axes *ax = x->ax;
    gp_begin(f, name, "metric against a parameter with confidence bands", ax->title);
    if (ax->xlabel && *ax->xlabel) {
        fputs("set xlabel ", f);
        put_quoted(f, ax->xlabel, 0);
        fputc('\n', f);
    }
    if (ax->ylabel && *ax->ylabel) {
        fputs("set ylabel ", f);
        put_quoted(f, ax->ylabel, 0);
        fputc('\n', f);
    }
    if (ax->logx && x->xlo <= x->xhi)
        log_axis(f, 'x', x->xlo, x->xhi);
    else if (ax->logx)
        fputs("set logscale x 10\n", f);
    if (ax->logy && x->ylo <= x->yhi)
        log_axis(f, 'y', x->ylo, x->yhi);
    else if (ax->logy)
        fputs("set logscale y 10\n", f);
    fputs("set grid xtics ytics\n"
          "set key below center horizontal reverse Left samplen 2.5 height 1\n"
          "set style fill transparent solid 0.18 noborder\n",
          f);
    if (isfinite(ax->xref))
        fprintf(f,
                "set arrow 1 from first %.10g, graph 0 to first %.10g, graph 1 nohead front "
                "lc rgb '" REF_COLOR "' lw 1.5 dt 2\n",
                ax->xref, ax->xref);
    if (isfinite(ax->yref))
        fprintf(f,
                "set arrow 2 from graph 0, first %.10g to graph 1, first %.10g nohead front "
                "lc rgb '" REF_COLOR "' lw 1.5 dt 4\n",
                ax->yref, ax->yref);
    int any = 0;
    for (size_t i = 0; i < x->n; i++)
        any |= x->line[i];
    if (!any)
        fprintf(f, "set label 1 'no data' at graph 0.5, 0.5 center\n"
                   "set xrange [%s]\nset yrange [%s]\n",
                ax->logx ? "1:10" : "0:1", ax->logy ? "1:10" : "0:1");
    canvas c = canvas_for_height(500);
    gp_outputs_begin(f, &c);
    fputs("    plot \\\n", f);
    const char *sep = "";
    if (!any) {
        fputs("        NaN", f);
        sep = ", \\\n";
    }
    int block = 0;
    for (size_t i = 0; i < x->n; i++) {
        const gs_plot_curve *cv = &x->curves[i];
        int lt = slot_of(cv->color) + 1;
        fputs(sep, f);
        sep = ", \\\n";
        if (!x->line[i]) {
            fprintf(f, "        keyentry with linespoints lt %d title ", lt);
            put_quoted_with(f, cv->label, " (no data)", 0);
            continue;
        }
        if (x->band[i])
            fprintf(f, "        '%s.dat' index %d using 1:3:4 with filledcurves lt %d, \\\n",
                    name, block, lt);
        fprintf(f, "        '%s.dat' index %d using 1:2 with linespoints lt %d title ", name,
                block, lt);
        put_quoted(f, cv->label, 0);
        block++;
    }
    if (isfinite(ax->xref) && ax->xref_label) {
        fputs(", \\\n        keyentry with lines lc rgb '" REF_COLOR "' lw 1.5 dt 2 title ", f);
        put_quoted(f, ax->xref_label, 0);
    }
    if (isfinite(ax->yref) && ax->yref_label) {
        fputs(", \\\n        keyentry with lines lc rgb '" REF_COLOR "' lw 1.5 dt 4 title ", f);
        put_quoted(f, ax->yref_label, 0);
    }
    fputc('\n', f);
    gp_outputs_end(f);
}

static void widen(double *lo, double *hi, double v)
{
    if (isfinite(v) && v > 0.0) {
        *lo = fmin(*lo, v);
        *hi = fmax(*hi, v);
    }
}

int gs_plot_curves(const char *dir, const char *name, const gs_plot_axes *ax,
                   const gs_plot_curve *curves, size_t n, gs_diag *d)
{
    const char *who = name ? name : "plot";
    if (!ax || !curves || n == 0)
        return gs_error(d, GS_EINVAL, "%s: curves plot needs axes and at least one curve",
                        who);
    for (size_t i = 0; i < n; i++) {
        const gs_plot_curve *c = &curves[i];
        if (c->color < 0)
            return gs_error(d, GS_EINVAL, "%s: curve %zu: colour slot %d < 0", who, i,
                            c->color);
        if (c->n > 0 && (!c->x || !c->mean))
            return gs_error(d, GS_EINVAL, "%s: curve %zu: x or mean missing", who, i);
        if (!c->lo != !c->hi)
            return gs_error(d, GS_EINVAL, "%s: curve %zu: give both lo and hi or neither",
                            who, i);
    }
    int *flags = gs_calloc(2 * n, sizeof *flags);
    if (!flags)
        return gs_error(d, GS_ENOMEM, "%s: out of memory", who);
    for (size_t i = 0; i < n; i++) {
        const gs_plot_curve *c = &curves[i];
        for (size_t k = 0; k < c->n; k++) {
            if (isfinite(c->x[k]) && isfinite(c->mean[k]))
                flags[i] = 1;
            if (c->lo && isfinite(c->x[k]) && isfinite(c->lo[k]) && isfinite(c->hi[k]))
                flags[n + i] = 1;
        }
    }
    curves_ctx x = {ax, curves, n, flags, flags + n, INFINITY, 0.0, INFINITY, 0.0};
    /* The ranges of a log axis: the positive values to be drawn, reference
     * lines included. */
    for (size_t i = 0; i < n; i++) {
        const gs_plot_curve *c = &curves[i];
        for (size_t k = 0; k < c->n; k++) {
            widen(&x.xlo, &x.xhi, c->x[k]);
            widen(&x.ylo, &x.yhi, c->mean[k]);
            if (c->lo) {
                widen(&x.ylo, &x.yhi, c->lo[k]);
                widen(&x.ylo, &x.yhi, c->hi[k]);
            }
        }
    }
    widen(&x.xlo, &x.xhi, ax->xref);
    widen(&x.ylo, &x.yhi, ax->yref);
    int rc = produce(dir, name, curves_dat, curves_gp, &x, d);
    gs_free(flags);
    return rc;
}

/* ---- Redraw ----------------------------------------------------------- */

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The stems of DIR's plot scripts, sorted. Caller frees each and the array
 * with gs_free(). */
static int list_scripts(const char *dir, char ***out, size_t *count, gs_diag *d)
{
    *out = NULL;
    *count = 0;
    DIR *dp = opendir(dir);
    if (!dp) {
        char why[128];
        return gs_error(d, GS_EIO, "%s: cannot read: %s", dir, reason(errno, why, sizeof why));
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = GS_OK;
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        const char *s = e->d_name;
        size_t len = strlen(s);
        if (len <= 3 || s[0] == '.' || strcmp(s + len - 3, ".gp") != 0)
            continue;
        int odd = 0;
        for (const char *p = s; *p; p++)
            odd |= is_control((unsigned char)*p);
        if (odd)
            continue;
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            char **grown = gs_realloc(names, ncap * sizeof *grown);
            if (!grown) {
                rc = GS_ENOMEM;
                break;
            }
            names = grown;
            cap = ncap;
        }
        names[n] = gs_strndup(s, len - 3);
        if (!names[n]) {
            rc = GS_ENOMEM;
            break;
        }
        n++;
    }
    closedir(dp);
    if (rc != GS_OK) {
        for (size_t i = 0; i < n; i++)
            gs_free(names[i]);
        gs_free(names);
        return gs_error(d, GS_ENOMEM, "%s: out of memory listing plot scripts", dir);
    }
    if (n > 1)
        qsort(names, n, sizeof *names, compare_names);
    *out = names;
    *count = n;
    return GS_OK;
}

int gs_plot_redraw(const char *dir, gs_diag *d)
{
    char **names;
    size_t n;
    int rc = list_scripts(dir, &names, &n, d);
    if (rc != GS_OK)
        return rc;
    char *exe = NULL;
    if (n == 0)
        rc = gs_error(d, GS_EINVAL, "%s: no plot scripts (*.gp) to draw", dir);
    if (rc == GS_OK)
        rc = find_gnuplot(&exe, d);
    if (rc == GS_OK && !exe)
        rc = no_gnuplot(dir, d);
    /* One broken script (a user's edit) must not keep the others stale. */
    for (size_t i = 0; exe && i < n; i++) {
        int r = render(exe, dir, names[i], d);
        if (r != GS_OK && rc == GS_OK)
            rc = r;
    }
    for (size_t i = 0; i < n; i++)
        gs_free(names[i]);
    gs_free(names);
    gs_free(exe);
    return rc;
}

int gs_plot_keep(int rc, int next)
{
    if (rc == GS_OK || rc == GS_PLOT_ENOGNUPLOT)
        return next == GS_OK ? rc : next;
    return rc;
}

int gs_plot_status(int rc, gs_diag *d, gs_diag *first)
{
    if (rc != GS_OK && (first->code == GS_OK || rc != GS_PLOT_ENOGNUPLOT))
        *first = *d;
    gs_diag_init(d);
    return rc;
}
