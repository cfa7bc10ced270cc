/* results.h5 through the HDF5 C API.
 *
 * Layout (docs/results.md has it in full): root attributes gatesim_version
 * and format_version; one group /scenarios/NAME per scenario holding the
 * scenario text, then replications/, summary/, latency/ and timeseries/
 * groups of datasets, each numeric dataset with a "units" attribute.
 * Strings are variable-length UTF-8, numbers little-endian IEEE float64,
 * uint64 and int64, so that the file reads the same on any machine. The
 * sweep.h5 of a sweep is written by the same machinery with its own
 * layout: root attribute kind = "sweep", the grid under /parameters and
 * one group /bases/NAME per base scenario with its values at every point.
 *
 * Invariant: nothing exists at the target path unless the file is complete.
 * HDF5 builds the whole file in memory (its "core" driver without a backing
 * store) and never touches the disk; the finished image is then written to
 * a temporary file made by gs_atomic_open() beside the target and renamed
 * over it by gs_atomic_commit(). So every disk error comes from our own
 * writes, with its errno, and any failure removes the temporary file. The
 * cost is memory: at the end the image is held twice (HDF5's and the copy
 * written out), each the size of the compressed file. Every HDF5 identifier
 * opened here is closed on every path, and the file uses the "strong" close
 * degree as a second line of defence, so that a failure never leaves the
 * library holding a file open.
 *
 * Sources: the HDF5 User's Guide and Reference Manual (datasets,
 * variable-length strings, chunking with the shuffle and deflate filters,
 * error stacks); the atomic replacement protocol is analysis/atomic.c's. */
#include "h5.h"

#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <string.h>

#include "analysis/atomic.h"
#include "sim/alloc.h"
#include "sim/error.h"

#ifndef GATESIM_VERSION
#define GATESIM_VERSION "unknown"
#endif

/* Datasets of at least this many bytes are chunked and compressed: below
 * it the chunk index costs more than compression saves. */
#define CHUNK_MIN_BYTES 16384
/* At most this many elements per chunk (256 KiB of float64): well inside
 * HDF5's default 1 MiB chunk cache, so a reader walking the file chunk by
 * chunk never re-decompresses. */
#define CHUNK_MAX_ELEMS 32768
/* The in-memory file grows by this much at a time. */
#define CORE_INCREMENT (1 << 20)
/* zlib level 4: nearly the size of level 9 on these mostly-zero histograms
 * and smooth time series, at a fraction of its time. */
#define DEFLATE_LEVEL 4

#define UNITS_MIXED_METRICS \
    "by metric: seconds for times, per second for rates, fraction for ratios"
#define UNITS_MIXED_COLUMNS \
    "by column: seconds for latencies, per second for rates, fraction for " \
    "availability, a count for states (queue, busy, in_flight), 1 or 0 for up"

typedef struct writer {
    const char *path;     /* the target, for messages */
    const char *prefix;   /* HDF5 path of the current group, for messages */
    gs_diag    *d;
    hid_t       str;      /* variable-length UTF-8 string type */
    hid_t       lcpl;     /* link creation: UTF-8 names */
    hid_t       gcpl;     /* group creation: no timestamps */
    hid_t       dcpl;     /* dataset creation: no timestamps */
    int         compress; /* shuffle and deflate can encode here */
} writer;

/* The innermost entry of HDF5's error stack is where the failure was
 * detected, and its text is the most specific. */
static herr_t first_error(unsigned n, const H5E_error2_t *e, void *arg)
{
    char *buf = arg;
    if (n == 0 && e->desc)
        snprintf(buf, 256, "%s", e->desc);
    return 0;
}

/* Report the failure of the HDF5 call just made on object what (relative to
 * w->prefix), with the innermost text of HDF5's error stack. Must be called
 * before any other HDF5 call, which would clear the stack. */
static int h5_fail(const writer *w, const char *what)
{
    char desc[256] = "";
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, first_error, desc);
    const char *sep = w->prefix[0] || what[0] ? " " : "";
    const char *slash = what[0] ? "/" : "";
    return gs_error(w->d, GS_EIO, "%s: cannot write%s%s%s%s: %s", w->path, sep, w->prefix,
                    slash, what, desc[0] ? desc : "HDF5 library error");
}

static int attr_put(const writer *w, hid_t obj, const char *objname, const char *name,
                    hid_t type, hid_t mtype, const void *value)
{
    int rc = GS_OK;
    hid_t space = H5Screate(H5S_SCALAR), attr = -1;
    if (space < 0)
        return h5_fail(w, objname);
    attr = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (attr < 0 || H5Awrite(attr, mtype, value) < 0)
        rc = h5_fail(w, objname);
    if (attr >= 0)
        H5Aclose(attr);
    H5Sclose(space);
    return rc;
}

static int attr_string(const writer *w, hid_t obj, const char *objname, const char *name,
                       const char *value)
{
    return attr_put(w, obj, objname, name, w->str, w->str, &value);
}

static int attr_double(const writer *w, hid_t obj, const char *objname, const char *name,
                       double value)
{
    return attr_put(w, obj, objname, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &value);
}

static int attr_u64(const writer *w, hid_t obj, const char *objname, const char *name,
                    uint64_t value)
{
    return attr_put(w, obj, objname, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &value);
}

/* Chunk a large dataset so that whole trailing rows stay together (a
 * replication's histogram, a sample's columns) and shrink the leading
 * dimensions to keep a chunk under CHUNK_MAX_ELEMS. An empty dimension
 * cannot be chunked, and such a dataset holds no data anyway. */
static int dataset_dcpl(const writer *w, const char *name, hid_t type, int rank,
                        const hsize_t *dims, hsize_t nelem, hid_t *out)
{
    *out = H5Pcopy(w->dcpl);
    if (*out < 0)
        return h5_fail(w, name);
    /* Strings stay contiguous: a filter would see only their heap
     * references, and these lists are short. */
    if (!w->compress || type == w->str || nelem == 0
        || nelem * H5Tget_size(type) < CHUNK_MIN_BYTES)
        return GS_OK;
    hsize_t chunk[3];
    hsize_t room = CHUNK_MAX_ELEMS;
    for (int i = rank - 1; i >= 0; i--) {
        chunk[i] = dims[i] < room ? dims[i] : room;
        if (chunk[i] == 0)
            chunk[i] = 1;
        room = room / chunk[i] ? room / chunk[i] : 1;
    }
    if (H5Pset_chunk(*out, rank, chunk) < 0 || H5Pset_shuffle(*out) < 0
        || H5Pset_deflate(*out, DEFLATE_LEVEL) < 0) {
        int rc = h5_fail(w, name);
        H5Pclose(*out);
        *out = -1;
        return rc;
    }
    return GS_OK;
}

/* Dataset name (a path relative to loc) of the given shape (rank <= 3),
 * written from data (which may be NULL when a dimension is 0), with a
 * "units" attribute unless units is NULL. */
static int put(const writer *w, hid_t loc, const char *name, hid_t ftype, hid_t mtype,
               int rank, const hsize_t *dims, const void *data, const char *units)
{
    int rc = GS_OK;
    hid_t space = -1, dcpl = -1, dset = -1;
    hsize_t nelem = 1;
    for (int i = 0; i < rank; i++)
        nelem *= dims[i];

    space = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    if (space < 0) {
        rc = h5_fail(w, name);
        goto out;
    }
    rc = dataset_dcpl(w, name, ftype, rank, dims, nelem, &dcpl);
    if (rc != GS_OK)
        goto out;
    dset = H5Dcreate2(loc, name, ftype, space, w->lcpl, dcpl, H5P_DEFAULT);
    if (dset < 0
        || (nelem > 0 && H5Dwrite(dset, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)) {
        rc = h5_fail(w, name);
        goto out;
    }
    if (units)
        rc = attr_string(w, dset, name, "units", units);
out:
    /* Closing a chunked dataset writes its cached chunks, so it can fail
     * like a write. */
    if (dset >= 0 && H5Dclose(dset) < 0 && rc == GS_OK)
        rc = h5_fail(w, name);
    if (dcpl >= 0)
        H5Pclose(dcpl);
    if (space >= 0)
        H5Sclose(space);
    return rc;
}

static int put_f64(const writer *w, hid_t loc, const char *name, int rank, const hsize_t *dims,
                   const double *data, const char *units)
{
    return put(w, loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, rank, dims, data, units);
}

/* A dataset of strings of the given shape (rank 1 or 2); NULL entries are
 * written as "", which needs a copy of the pointer array since HDF5 would
 * store NULL as a missing value that some readers reject. */
static int put_string_array(const writer *w, hid_t loc, const char *name, int rank,
                            const hsize_t *dims, const char *const *s)
{
    size_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= (size_t)dims[i];
    const char **copy = NULL;
    if (n > 0) {
        copy = gs_malloc(n * sizeof *copy);
        if (!copy)
            return gs_error(w->d, GS_ENOMEM, "%s: out of memory", w->path);
        for (size_t i = 0; i < n; i++)
            copy[i] = s[i] ? s[i] : "";
    }
    int rc = put(w, loc, name, w->str, w->str, rank, dims, copy, NULL);
    gs_free(copy);
    return rc;
}

/* A 1-D dataset of n strings. */
static int put_strings(const writer *w, hid_t loc, const char *name, size_t n,
                       const char *const *s)
{
    hsize_t dims[1] = { n };
    return put_string_array(w, loc, name, 1, dims, s);
}

static hid_t make_group(const writer *w, hid_t loc, const char *name)
{
    hid_t g = H5Gcreate2(loc, name, w->lcpl, w->gcpl, H5P_DEFAULT);
    if (g < 0)
        h5_fail(w, name);
    return g;
}

/* The subgroups a scenario's datasets are created in (by relative path). */
static int make_subgroups(const writer *w, hid_t scen)
{
    static const char *const names[] = { "replications", "summary", "latency", "timeseries" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        hid_t g = make_group(w, scen, names[i]);
        if (g < 0)
            return GS_EIO;
        H5Gclose(g);
    }
    return GS_OK;
}

static int write_time(const writer *w, hid_t scen, const gs_h5_scenario *s)
{
    double *t = NULL;
    if (s->nsamples > 0) {
        t = gs_malloc(s->nsamples * sizeof *t);
        if (!t)
            return gs_error(w->d, GS_ENOMEM, "%s: out of memory", w->path);
        /* (k + 1) * dt rather than a running sum: no drift over long runs. */
        for (size_t k = 0; k < s->nsamples; k++)
            t[k] = (double)(k + 1) * s->interval_s;
    }
    hsize_t dims[1] = { s->nsamples };
    int rc = put_f64(w, scen, "timeseries/time", 1, dims, t, "s");
    gs_free(t);
    return rc;
}

static int write_scenario_data(const writer *w, hid_t scen, const gs_h5_scenario *s)
{
    const char *yaml = s->yaml ? s->yaml : "";
    hsize_t nm[1] = { s->nmetrics };
    hsize_t vals[2] = { s->nrep, s->nmetrics };
    hsize_t nb[1] = { s->nbuckets };
    hsize_t counts[2] = { s->nrep, s->nbuckets };
    hsize_t series[3] = { s->nrep, s->nsamples, s->ncols };
    int rc;

    if ((rc = attr_u64(w, scen, "", "replications", (uint64_t)s->nrep)) != GS_OK
        || (rc = attr_double(w, scen, "", "confidence", s->confidence)) != GS_OK
        || (rc = attr_double(w, scen, "", "warmup_s", s->warmup_s)) != GS_OK
        || (rc = attr_double(w, scen, "", "duration_s", s->duration_s)) != GS_OK
        || (rc = attr_string(w, scen, "", "warmup_method",
                             s->warmup_method ? s->warmup_method : "fixed")) != GS_OK
        || (rc = put(w, scen, "scenario_yaml", w->str, w->str, 0, NULL, &yaml, NULL)) != GS_OK
        || (rc = make_subgroups(w, scen)) != GS_OK)
        return rc;

    if ((rc = put_strings(w, scen, "replications/component", s->nmetrics, s->component)) != GS_OK
        || (rc = put_strings(w, scen, "replications/metric", s->nmetrics, s->metric)) != GS_OK
        || (rc = put_f64(w, scen, "replications/values", 2, vals, s->values,
                         UNITS_MIXED_METRICS)) != GS_OK)
        return rc;

    /* The summary's names are the replications' own, linked rather than
     * copied: one list, so the two can never disagree. */
    static const char *const names[] = { "component", "metric" };
    for (size_t i = 0; i < 2; i++) {
        char from[32], to[32];
        snprintf(from, sizeof from, "replications/%s", names[i]);
        snprintf(to, sizeof to, "summary/%s", names[i]);
        if (H5Lcreate_hard(scen, from, scen, to, w->lcpl, H5P_DEFAULT) < 0)
            return h5_fail(w, to);
    }
    hid_t summary = H5Gopen2(scen, "summary", H5P_DEFAULT);
    if (summary < 0)
        return h5_fail(w, "summary");
    rc = attr_double(w, summary, "summary", "confidence", s->confidence);
    H5Gclose(summary);
    const struct { const char *name; const double *v; } stats[] = {
        { "summary/mean", s->mean }, { "summary/ci_low", s->ci_low },
        { "summary/ci_high", s->ci_high }, { "summary/stddev", s->stddev },
    };
    for (size_t i = 0; i < sizeof stats / sizeof stats[0] && rc == GS_OK; i++)
        rc = put_f64(w, scen, stats[i].name, 1, nm, stats[i].v, UNITS_MIXED_METRICS);
    if (rc != GS_OK
        || (rc = put(w, scen, "summary/n", H5T_STD_I64LE, H5T_NATIVE_LONG, 1, nm, s->n,
                     "replications")) != GS_OK)
        return rc;

    if ((rc = put_f64(w, scen, "latency/bucket_lo", 1, nb, s->bucket_lo_s, "s")) != GS_OK
        || (rc = put_f64(w, scen, "latency/bucket_hi", 1, nb, s->bucket_hi_s, "s")) != GS_OK
        || (rc = put(w, scen, "latency/counts", H5T_STD_U64LE, H5T_NATIVE_UINT64, 2, counts,
                     s->hist, "requests")) != GS_OK)
        return rc;

    hid_t ts = H5Gopen2(scen, "timeseries", H5P_DEFAULT);
    if (ts < 0)
        return h5_fail(w, "timeseries");
    rc = attr_double(w, ts, "timeseries", "interval_s", s->interval_s);
    H5Gclose(ts);
    if (rc != GS_OK || (rc = write_time(w, scen, s)) != GS_OK
        || (rc = put_strings(w, scen, "timeseries/columns", s->ncols, s->columns)) != GS_OK
        || (rc = put_f64(w, scen, "timeseries/values", 3, series, s->series,
                         UNITS_MIXED_COLUMNS)) != GS_OK)
        return rc;
    return GS_OK;
}

/* a * b * c without wrapping, or 0 with *ok cleared. */
static size_t mul3(size_t a, size_t b, size_t c, int *ok)
{
    if ((a != 0 && b > SIZE_MAX / a) || (a * b != 0 && c > SIZE_MAX / (a * b))) {
        *ok = 0;
        return 0;
    }
    return a * b * c;
}

static int check_scenario(const char *path, const gs_h5_scenario *sc, size_t i, gs_diag *d)
{
    const gs_h5_scenario *s = &sc[i];
    const char *name = s->name;
    if (!name || !name[0] || strchr(name, '/') || strcmp(name, ".") == 0)
        return gs_error(d, GS_EINVAL, "%s: scenario %zu: name \"%s\" cannot name an HDF5 "
                        "group (empty, \".\" or containing '/')", path, i, name ? name : "");
    for (size_t j = 0; j < i; j++)
        if (strcmp(sc[j].name, name) == 0)
            return gs_error(d, GS_EINVAL, "%s: two scenarios are named \"%s\"", path, name);
    int ok = 1;
    size_t nvals = mul3(s->nrep, s->nmetrics, 1, &ok);
    size_t nhist = mul3(s->nrep, s->nbuckets, 1, &ok);
    size_t nseries = mul3(s->nrep, s->nsamples, s->ncols, &ok);
    if (!ok)
        return gs_error(d, GS_EINVAL, "%s: scenario \"%s\" is too large", path, name);
    const char *missing = NULL;
    if (s->nmetrics && (!s->component || !s->metric))
        missing = "component or metric";
    else if (s->nmetrics && (!s->mean || !s->ci_low || !s->ci_high || !s->stddev || !s->n))
        missing = "summary";
    else if (nvals && !s->values)
        missing = "values";
    else if (s->nbuckets && (!s->bucket_lo_s || !s->bucket_hi_s))
        missing = "bucket bounds";
    else if (nhist && !s->hist)
        missing = "hist";
    else if (s->ncols && !s->columns)
        missing = "columns";
    else if (nseries && !s->series)
        missing = "series";
    if (missing)
        return gs_error(d, GS_EINVAL, "%s: scenario \"%s\": %s missing", path, name, missing);
    return GS_OK;
}

/* Property lists and types shared by the whole file. */
static int writer_init(writer *w)
{
    w->str = H5Tcopy(H5T_C_S1);
    w->lcpl = H5Pcreate(H5P_LINK_CREATE);
    w->gcpl = H5Pcreate(H5P_GROUP_CREATE);
    w->dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (w->str < 0 || w->lcpl < 0 || w->gcpl < 0 || w->dcpl < 0
        || H5Tset_size(w->str, H5T_VARIABLE) < 0 || H5Tset_cset(w->str, H5T_CSET_UTF8) < 0
        || H5Pset_char_encoding(w->lcpl, H5T_CSET_UTF8) < 0
        /* Without modification times, equal results give equal files. */
        || H5Pset_obj_track_times(w->gcpl, 0) < 0 || H5Pset_obj_track_times(w->dcpl, 0) < 0)
        return h5_fail(w, "");
    /* Both filters must encode here; a library built without zlib still
     * writes a valid, uncompressed file. */
    unsigned cfg_shuffle = 0, cfg_deflate = 0;
    w->compress = H5Zfilter_avail(H5Z_FILTER_SHUFFLE) > 0
                  && H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0
                  && H5Zget_filter_info(H5Z_FILTER_SHUFFLE, &cfg_shuffle) >= 0
                  && H5Zget_filter_info(H5Z_FILTER_DEFLATE, &cfg_deflate) >= 0
                  && (cfg_shuffle & H5Z_FILTER_CONFIG_ENCODE_ENABLED)
                  && (cfg_deflate & H5Z_FILTER_CONFIG_ENCODE_ENABLED);
    return GS_OK;
}

static void writer_release(writer *w)
{
    if (w->dcpl >= 0)
        H5Pclose(w->dcpl);
    if (w->gcpl >= 0)
        H5Pclose(w->gcpl);
    if (w->lcpl >= 0)
        H5Pclose(w->lcpl);
    if (w->str >= 0)
        H5Tclose(w->str);
}

/* The file's property lists: no timestamp on the root group; the strong
 * close degree; and the core driver without a backing store, so that HDF5
 * builds the file in memory and never touches the disk itself. */
static int file_plists(const writer *w, hid_t *fcpl, hid_t *fapl)
{
    *fcpl = H5Pcreate(H5P_FILE_CREATE);
    *fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (*fcpl < 0 || *fapl < 0 || H5Pset_obj_track_times(*fcpl, 0) < 0
        || H5Pset_fclose_degree(*fapl, H5F_CLOSE_STRONG) < 0
        || H5Pset_fapl_core(*fapl, CORE_INCREMENT, 0) < 0)
        return h5_fail(w, "");
    return GS_OK;
}

static int write_file(writer *w, hid_t file, const gs_h5_scenario *sc, size_t n)
{
    int rc;
    if ((rc = attr_string(w, file, "", "gatesim_version", GATESIM_VERSION)) != GS_OK
        || (rc = attr_string(w, file, "", "format_version", GS_H5_FORMAT_VERSION)) != GS_OK)
        return rc;
    hid_t top = make_group(w, file, "scenarios");
    if (top < 0)
        return GS_EIO;
    rc = GS_OK;
    for (size_t i = 0; i < n && rc == GS_OK; i++) {
        w->prefix = "/scenarios";
        hid_t scen = make_group(w, top, sc[i].name);
        if (scen < 0) {
            rc = GS_EIO;
            break;
        }
        /* Messages name the scenario's own objects by their full path. */
        size_t len = strlen("/scenarios/") + strlen(sc[i].name) + 1;
        char *prefix = gs_malloc(len);
        if (!prefix) {
            rc = gs_error(w->d, GS_ENOMEM, "%s: out of memory", w->path);
        } else {
            snprintf(prefix, len, "/scenarios/%s", sc[i].name);
            w->prefix = prefix;
            rc = write_scenario_data(w, scen, &sc[i]);
            w->prefix = "";
            gs_free(prefix);
        }
        H5Gclose(scen);
    }
    w->prefix = "";
    H5Gclose(top);
    return rc;
}

/* The finished file's bytes, from HDF5's memory to the temporary file.
 * H5Fget_file_image() copies what the driver holds, without the metadata
 * HDF5 still caches, so the file is flushed first. */
static int copy_image(const writer *w, hid_t file, FILE *f)
{
    if (H5Fflush(file, H5F_SCOPE_LOCAL) < 0)
        return h5_fail(w, "");
    ssize_t size = H5Fget_file_image(file, NULL, 0);
    if (size < 0)
        return h5_fail(w, "");
    unsigned char *buf = gs_malloc((size_t)size);
    if (!buf)
        return gs_error(w->d, GS_ENOMEM, "%s: out of memory for a %zd-byte file", w->path,
                        size);
    int rc = GS_OK;
    if (H5Fget_file_image(file, buf, (size_t)size) != size) {
        rc = h5_fail(w, "");
    } else {
        /* The reason is taken here: by the time gs_atomic_commit() sees
         * the stream's error flag, errno may no longer hold it. */
        errno = 0;
        if (fwrite(buf, 1, (size_t)size, f) != (size_t)size) {
            int err = errno ? errno : EIO;
            char reason[128];
            if (strerror_r(err, reason, sizeof reason) != 0)
                snprintf(reason, sizeof reason, "error %d", err);
            rc = gs_error(w->d, GS_EIO, "%s: cannot write: %s", w->path, reason);
        }
    }
    gs_free(buf);
    return rc;
}

/* What goes into the file: a writer of its content from the root down. */
typedef int (*content_fn)(writer *w, hid_t file, const void *arg);

/* Build a file in memory with content(), then put it at path atomically. */
static int write_h5(const char *path, content_fn content, const void *arg, gs_diag *d)
{
    /* The caller's error handler is put back on the way out: this module
     * reports through gs_diag, and a library printing its own stack to
     * stderr would say the same thing worse. */
    H5E_auto2_t old_func = NULL;
    void *old_data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &old_func, &old_data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);

    writer w = { .path = path, .prefix = "", .d = d,
                 .str = -1, .lcpl = -1, .gcpl = -1, .dcpl = -1 };
    hid_t fcpl = -1, fapl = -1, file = -1;
    gs_atomic_file af;
    int rc = gs_atomic_open(&af, path, d);
    if (rc != GS_OK)
        goto out_restore;
    if ((rc = writer_init(&w)) != GS_OK || (rc = file_plists(&w, &fcpl, &fapl)) != GS_OK)
        goto out_abort;
    /* With no backing store the name is only a label, but it must differ
     * from any file the library has open, and name no file on disk: HDF5
     * opens and closes an existing file of that name, and closing any
     * descriptor of the temporary file would drop the lock that keeps it
     * from being taken for stale (analysis/atomic.h). So the label is the
     * temporary name with a suffix that gs_atomic_open() never makes. */
    size_t llen = strlen(af.tmp) + sizeof "-in-memory";
    char *label = gs_malloc(llen);
    if (!label) {
        rc = gs_error(d, GS_ENOMEM, "%s: out of memory", path);
        goto out_abort;
    }
    snprintf(label, llen, "%s-in-memory", af.tmp);
    file = H5Fcreate(label, H5F_ACC_TRUNC, fcpl, fapl);
    gs_free(label);
    if (file < 0) {
        rc = h5_fail(&w, "");
        goto out_abort;
    }
    rc = content(&w, file, arg);
    if (rc == GS_OK)
        rc = copy_image(&w, file, af.f);
    /* An in-memory file has nothing left to write, so closing it cannot
     * fail for want of disk; it still reports a library failure. */
    if (H5Fclose(file) < 0 && rc == GS_OK)
        rc = h5_fail(&w, "");
    if (rc != GS_OK)
        goto out_abort;
    writer_release(&w);
    H5Pclose(fapl);
    H5Pclose(fcpl);
    rc = gs_atomic_commit(&af, d);
    goto out_restore;

out_abort:
    writer_release(&w);
    if (fapl >= 0)
        H5Pclose(fapl);
    if (fcpl >= 0)
        H5Pclose(fcpl);
    gs_atomic_abort(&af);
out_restore:
    H5Eset_auto2(H5E_DEFAULT, old_func, old_data);
    return rc;
}

typedef struct scenarios_arg {
    const gs_h5_scenario *sc;
    size_t                n;
} scenarios_arg;

static int scenarios_content(writer *w, hid_t file, const void *arg)
{
    const scenarios_arg *a = arg;
    return write_file(w, file, a->sc, a->n);
}

int gs_h5_write(const char *path, const gs_h5_scenario *sc, size_t n, gs_diag *d)
{
    for (size_t i = 0; i < n; i++) {
        int rc = check_scenario(path, sc, i, d);
        if (rc != GS_OK)
            return rc;
    }
    scenarios_arg a = { sc, n };
    return write_h5(path, scenarios_content, &a, d);
}

/* ---- sweep.h5 ---------------------------------------------------------- */

#define UNITS_PARAMETERS \
    "by parameter: the unit in parameters/unit (s, 1/s or none); NaN for a value " \
    "that is not a number"

static int check_sweep(const char *path, const gs_h5_sweep *s, gs_diag *d)
{
    int ok = 1;
    size_t ncells = mul3(s->npoints, s->nparams, 1, &ok);
    if (!ok)
        return gs_error(d, GS_EINVAL, "%s: sweep grid is too large", path);
    if (s->nparams && (!s->param || !s->param_unit))
        return gs_error(d, GS_EINVAL, "%s: sweep parameter paths or units missing", path);
    if (ncells && (!s->text || !s->value))
        return gs_error(d, GS_EINVAL, "%s: sweep parameter values missing", path);
    if (s->nbases && !s->base)
        return gs_error(d, GS_EINVAL, "%s: sweep bases missing", path);
    for (size_t i = 0; i < s->nbases; i++) {
        const gs_h5_sweep_base *b = &s->base[i];
        const char *name = b->name;
        if (!name || !name[0] || strchr(name, '/') || strcmp(name, ".") == 0)
            return gs_error(d, GS_EINVAL, "%s: base scenario %zu: name \"%s\" cannot name "
                            "an HDF5 group (empty, \".\" or containing '/')", path, i,
                            name ? name : "");
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->base[j].name, name) == 0)
                return gs_error(d, GS_EINVAL, "%s: two base scenarios are named \"%s\"",
                                path, name);
        size_t nvals = mul3(s->npoints, b->nrep, b->nmetrics, &ok);
        size_t nsum = mul3(s->npoints, b->nmetrics, 1, &ok);
        if (!ok)
            return gs_error(d, GS_EINVAL, "%s: base scenario \"%s\" is too large", path,
                            name);
        const char *missing = NULL;
        if (b->nmetrics && (!b->component || !b->metric))
            missing = "component or metric";
        else if (nvals && !b->values)
            missing = "values";
        else if (nsum && (!b->mean || !b->ci_low || !b->ci_high || !b->stddev || !b->n))
            missing = "summary";
        if (missing)
            return gs_error(d, GS_EINVAL, "%s: base scenario \"%s\": %s missing", path, name,
                            missing);
    }
    return GS_OK;
}

static int write_sweep_base(const writer *w, hid_t g, const gs_h5_sweep *s, size_t i)
{
    const gs_h5_sweep_base *b = &s->base[i];
    const char *yaml = b->yaml ? b->yaml : "";
    hsize_t nm[1] = { b->nmetrics };
    hsize_t vals[3] = { s->npoints, b->nrep, b->nmetrics };
    hsize_t sum[2] = { s->npoints, b->nmetrics };
    int rc;
    if ((rc = attr_u64(w, g, "", "index", (uint64_t)i)) != GS_OK
        || (rc = attr_u64(w, g, "", "replications", (uint64_t)b->nrep)) != GS_OK
        || (rc = put(w, g, "scenario_yaml", w->str, w->str, 0, NULL, &yaml, NULL)) != GS_OK
        || (rc = put_string_array(w, g, "component", 1, nm, b->component)) != GS_OK
        || (rc = put_string_array(w, g, "metric", 1, nm, b->metric)) != GS_OK
        || (rc = put_f64(w, g, "values", 3, vals, b->values, UNITS_MIXED_METRICS)) != GS_OK)
        return rc;
    const struct { const char *name; const double *v; } stats[] = {
        { "mean", b->mean }, { "ci_low", b->ci_low },
        { "ci_high", b->ci_high }, { "stddev", b->stddev },
    };
    for (size_t k = 0; k < sizeof stats / sizeof stats[0]; k++)
        if ((rc = put_f64(w, g, stats[k].name, 2, sum, stats[k].v,
                          UNITS_MIXED_METRICS)) != GS_OK)
            return rc;
    return put(w, g, "n", H5T_STD_I64LE, H5T_NATIVE_LONG, 2, sum, b->n, "replications");
}

static int sweep_content(writer *w, hid_t file, const void *arg)
{
    const gs_h5_sweep *s = arg;
    const char *name = s->name ? s->name : "";
    const char *yaml = s->sweep_yaml ? s->sweep_yaml : "";
    hsize_t np[1] = { s->nparams };
    hsize_t grid[2] = { s->npoints, s->nparams };
    int rc;
    if ((rc = attr_string(w, file, "", "gatesim_version", GATESIM_VERSION)) != GS_OK
        || (rc = attr_string(w, file, "", "format_version", GS_H5_FORMAT_VERSION)) != GS_OK
        || (rc = attr_string(w, file, "", "kind", "sweep")) != GS_OK
        || (rc = attr_string(w, file, "", "name", name)) != GS_OK
        || (rc = attr_double(w, file, "", "confidence", s->confidence)) != GS_OK
        || (rc = put(w, file, "sweep_yaml", w->str, w->str, 0, NULL, &yaml, NULL)) != GS_OK)
        return rc;

    hid_t params = make_group(w, file, "parameters");
    if (params < 0)
        return GS_EIO;
    w->prefix = "/parameters";
    if ((rc = put_string_array(w, params, "path", 1, np, s->param)) == GS_OK
        && (rc = put_string_array(w, params, "unit", 1, np, s->param_unit)) == GS_OK
        && (rc = put_string_array(w, params, "text", 2, grid, s->text)) == GS_OK)
        rc = put_f64(w, params, "value", 2, grid, s->value, UNITS_PARAMETERS);
    w->prefix = "";
    H5Gclose(params);
    if (rc != GS_OK)
        return rc;

    hid_t top = make_group(w, file, "bases");
    if (top < 0)
        return GS_EIO;
    for (size_t i = 0; i < s->nbases && rc == GS_OK; i++) {
        w->prefix = "/bases";
        hid_t g = make_group(w, top, s->base[i].name);
        if (g < 0) {
            rc = GS_EIO;
            break;
        }
        /* Messages name the base's own objects by their full path. */
        size_t len = strlen("/bases/") + strlen(s->base[i].name) + 1;
        char *prefix = gs_malloc(len);
        if (!prefix) {
            rc = gs_error(w->d, GS_ENOMEM, "%s: out of memory", w->path);
        } else {
            snprintf(prefix, len, "/bases/%s", s->base[i].name);
            w->prefix = prefix;
            rc = write_sweep_base(w, g, s, i);
            w->prefix = "";
            gs_free(prefix);
        }
        H5Gclose(g);
    }
    w->prefix = "";
    H5Gclose(top);
    return rc;
}

int gs_h5_write_sweep(const char *path, const gs_h5_sweep *s, gs_diag *d)
{
    int rc = check_sweep(path, s, d);
    return rc != GS_OK ? rc : write_h5(path, sweep_content, s, d);
}
