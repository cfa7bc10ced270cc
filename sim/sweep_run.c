/* Work items of a sweep over threads and MPI ranks; see sweep_run.h.
 *
 * An item's result travels as one record -- the item index, then each
 * metric's component, name and value (the double's bits, little-endian) --
 * which is at once the MPI message, the journal record and what rank 0
 * decodes into its tables, so a resumed item is bit-for-bit the one that
 * ran. Rank 0 keeps, per item, the index of its metric layout (the list of
 * names, shared by the items that report the same metrics: usually all of
 * a base's) and its values: 8 bytes per value.
 *
 * Under MPI, rank 0's main thread is the dispatcher. It polls for requests
 * (MPI_Iprobe, then a sleep of 50 us to 1 ms, so it costs no core), and each request
 * carries the result of the asker's previous item, which it journals before
 * answering with the next item. The other threads of rank 0 work like
 * those of a single process. Threads of the other ranks take turns at MPI
 * (send the request, wait for the answer), which MPI_THREAD_SERIALIZED
 * allows; without it a rank runs one worker thread. */
#include "sweep_run.h"

#include <math.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "cluster.h"
#include "error.h"
#include "journal.h"
#include "scenario.h"

#ifdef GS_HAVE_MPI
#include <mpi.h>
#endif

/* ------------------------------------------------------------ records */

typedef struct buf {
    unsigned char *p;
    size_t         n, cap;
} buf;

/* Room for want bytes in all. */
static int reserve(buf *b, size_t want)
{
    if (want <= b->cap)
        return GS_OK;
    size_t cap = b->cap ? b->cap * 2 : 1024;
    while (cap < want)
        cap *= 2;
    unsigned char *p = gs_realloc(b->p, cap);
    if (!p)
        return GS_ENOMEM;
    b->p = p;
    b->cap = cap;
    return GS_OK;
}

static int put(buf *b, const void *x, size_t n)
{
    if (reserve(b, b->n + n))
        return GS_ENOMEM;
    if (n)
        memcpy(b->p + b->n, x, n);
    b->n += n;
    return GS_OK;
}

static int put_uint(buf *b, uint64_t v, int bytes)
{
    unsigned char x[8];
    for (int i = 0; i < bytes; i++)
        x[i] = (unsigned char)(v >> (8 * i));
    return put(b, x, (size_t)bytes);
}

static uint64_t get_uint(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static int put_str(buf *b, const char *s)
{
    size_t n = strlen(s);
    if (n > 0xffff)
        n = 0xffff;
    return put_uint(b, n, 2) || put(b, s, n) ? GS_ENOMEM : GS_OK;
}

static int encode(buf *b, long item, const gs_metrics *m)
{
    b->n = 0;
    if (put_uint(b, (uint64_t)item, 8) || put_uint(b, m->n, 4))
        return GS_ENOMEM;
    for (size_t k = 0; k < m->n; k++) {
        uint64_t bits;
        memcpy(&bits, &m->v[k].value, sizeof bits);
        if (put_str(b, m->v[k].component) || put_str(b, m->v[k].name) ||
            put_uint(b, bits, 8))
            return GS_ENOMEM;
    }
    return GS_OK;
}

/* ------------------------------------------------------- rank 0 tables */

typedef struct layout {
    size_t n;
    char **comp, **name;
} layout;

typedef struct item_rec {
    int32_t layout;   /* -1: not done */
    double *v;
} item_rec;

typedef struct state {
    const gs_sweep          *sw;
    const gs_sweep_run_opts *o;
    layout     **lay;      /* [nbases] arrays */
    size_t      *nlay;
    item_rec    *items;    /* [nitems] (rank 0) */
    long        *left;     /* the items not done yet, in index order */
    long         nleft;
    _Atomic long next;     /* into left */
    long         done_now;
    gs_journal  *journal;
    _Atomic int  failed;
    long         failed_item;
    gs_diag      failure;
} state;

static void fail(state *s, long item, int code, const char *msg)
{
    if (!atomic_load(&s->failed) || item < s->failed_item) {
        s->failure.code = GS_OK;
        gs_error(&s->failure, code, "%s", msg);
        s->failed_item = item;
    }
    atomic_store(&s->failed, 1);
}

/* Does layout l name the n metrics of the framed record body at p? */
static int same_layout(const layout *l, const unsigned char *p, size_t n)
{
    if (l->n != n)
        return 0;
    for (size_t k = 0; k < n; k++) {
        for (int which = 0; which < 2; which++) {
            size_t len = (size_t)get_uint(p, 2);
            const char *s = which ? l->name[k] : l->comp[k];
            if (strlen(s) != len || memcmp(s, p + 2, len) != 0)
                return 0;
            p += 2 + len;
        }
        p += 8;
    }
    return 1;
}

/* Check a record's framing; its item and metric count. */
static int frame(const state *s, const unsigned char *p, size_t len, long *item, size_t *n)
{
    if (len < 12)
        return GS_EINVAL;
    uint64_t it = get_uint(p, 8);
    *n = (size_t)get_uint(p + 8, 4);
    if (it >= (uint64_t)s->sw->nitems)
        return GS_EINVAL;
    *item = (long)it;
    const unsigned char *q = p + 12, *end = p + len;
    for (size_t k = 0; k < *n; k++) {
        for (int which = 0; which < 2; which++) {
            if (end - q < 2 || (size_t)(end - q) < 2 + get_uint(q, 2))
                return GS_EINVAL;
            q += 2 + get_uint(q, 2);
        }
        if (end - q < 8)
            return GS_EINVAL;
        q += 8;
    }
    return q == end ? GS_OK : GS_EINVAL;
}

static char *take_str(const unsigned char **q)
{
    size_t len = (size_t)get_uint(*q, 2);
    char *s = gs_malloc(len + 1);
    if (s) {
        memcpy(s, *q + 2, len);
        s[len] = '\0';
    }
    *q += 2 + len;
    return s;
}

/* Store a record in the tables. *fresh = 0 when the item was done already
 * (a duplicate is ignored: it holds the same bits). */
static int store(state *s, const void *data, size_t len, int *fresh, gs_diag *d)
{
    const unsigned char *p = data;
    long item;
    size_t n;
    if (frame(s, p, len, &item, &n))
        return gs_error(d, GS_EINVAL, "a sweep result record is malformed");
    item_rec *ir = &s->items[item];
    *fresh = ir->layout < 0;
    if (!*fresh)
        return GS_OK;
    size_t b, pt;
    long r;
    gs_sweep_item(s->sw, item, &b, &pt, &r);
    const unsigned char *q = p + 12;
    size_t li = s->nlay[b];
    for (size_t i = s->nlay[b]; i-- > 0;)
        if (same_layout(&s->lay[b][i], q, n)) {
            li = i;
            break;
        }
    if (li == s->nlay[b]) {
        layout *ls = gs_realloc(s->lay[b], (li + 1) * sizeof *ls);
        if (!ls)
            return gs_error(d, GS_ENOMEM, "out of memory");
        s->lay[b] = ls;
        layout *l = &ls[li];
        l->n = n;
        l->comp = gs_calloc(n ? n : 1, sizeof *l->comp);
        l->name = gs_calloc(n ? n : 1, sizeof *l->name);
        if (!l->comp || !l->name) {
            gs_free(l->comp);
            gs_free(l->name);
            return gs_error(d, GS_ENOMEM, "out of memory");
        }
        s->nlay[b]++;
        const unsigned char *t = q;
        for (size_t k = 0; k < n; k++) {
            l->comp[k] = take_str(&t);
            l->name[k] = take_str(&t);
            t += 8;
            if (!l->comp[k] || !l->name[k])
                return gs_error(d, GS_ENOMEM, "out of memory");
        }
    }
    double *v = gs_malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return gs_error(d, GS_ENOMEM, "out of memory");
    for (size_t k = 0; k < n; k++) {
        q += 2 + get_uint(q, 2);
        q += 2 + get_uint(q, 2);
        uint64_t bits = get_uint(q, 8);
        memcpy(&v[k], &bits, sizeof bits);
        q += 8;
    }
    ir->layout = (int32_t)li;
    ir->v = v;
    return GS_OK;
}

static int from_journal(void *arg, const void *data, size_t len)
{
    state *s = arg;
    int fresh;
    gs_diag d;
    gs_diag_init(&d);
    return store(s, data, len, &fresh, &d);
}

/* A finished item's record, on rank 0, by one thread at a time: journal it,
 * then take it. */
static void accept_record(state *s, const void *data, size_t len)
{
    gs_diag d;
    gs_diag_init(&d);
    long item = len >= 8 ? (long)get_uint(data, 8) : 0;
    if (s->journal && gs_journal_append(s->journal, data, len, &d)) {
        fail(s, item, d.code, d.msg);
        return;
    }
    int fresh;
    if (store(s, data, len, &fresh, &d)) {
        fail(s, item, d.code, d.msg);
        return;
    }
    s->done_now++;
    if (s->o->progress)
        s->o->progress(s->o->progress_arg, s->done_now, s->nleft,
                       (double)s->done_now / (double)s->nleft);
}

/* ------------------------------------------------------------- running */

typedef struct cache {
    gs_scenario *sc;
    size_t       b, p;
} cache;

static int run_item(const gs_sweep *sw, long item, cache *c, buf *out, gs_diag *d)
{
    size_t b, p;
    long r;
    gs_sweep_item(sw, item, &b, &p, &r);
    if (!c->sc || c->b != b || c->p != p) {
        gs_scenario_free(c->sc);
        c->sc = NULL;
        int rc = gs_sweep_scenario(sw, b, p, &c->sc, d);
        if (rc)
            return rc;
        c->b = b;
        c->p = p;
    }
    gs_metrics m = {0};
    int rc = gs_run_replication(c->sc, (uint64_t)r, &m, NULL, NULL, d);
    if (rc == GS_OK && encode(out, item, &m))
        rc = gs_error(d, GS_ENOMEM, "out of memory");
    gs_metrics_release(&m);
    return rc;
}

static long take(state *s)
{
    if (atomic_load(&s->failed))
        return -1;
    long k = atomic_fetch_add(&s->next, 1);
    return k < s->nleft ? s->left[k] : -1;
}

/* A worker thread of rank 0 (or of the only process). */
static void work_local(state *s)
{
    cache c = {0};
    buf b = {0};
    long item;
    while ((item = take(s)) >= 0) {
        gs_diag d;
        gs_diag_init(&d);
        int rc = run_item(s->sw, item, &c, &b, &d);
#pragma omp critical(gs_sweep)
        {
            if (rc)
                fail(s, item, d.code, d.msg);
            else
                accept_record(s, b.p, b.n);
        }
    }
    gs_scenario_free(c.sc);
    gs_free(b.p);
}

#ifdef GS_HAVE_MPI
enum { TAG_ASK = 7101, TAG_GIVE = 7102 };
enum { MSG_FIRST = 'R', MSG_DONE = 'D', MSG_ERROR = 'E' };

/* The dispatcher's pause between polls: short right after a message (more
 * are likely when items are short), doubling while idle up to 1 ms, which
 * is under 1 % of an item of 100 ms. Polling every 100 us all the time
 * cost a 2-rank sweep on 2 cores a tenth of its speed in wake-ups. */
enum { NAP_MIN_NS = 50000, NAP_MAX_NS = 1000000 };

static void nap(long *ns)
{
    struct timespec ts = {0, *ns};
    nanosleep(&ts, NULL);
    *ns = *ns * 2 > NAP_MAX_NS ? NAP_MAX_NS : *ns * 2;
}

/* Rank 0's main thread: answer every remote worker thread until each has
 * been told there is nothing left. */
static void dispatch(state *s, long remote)
{
    buf rx = {0};
    long pause = NAP_MIN_NS;
    while (remote > 0) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_ASK, MPI_COMM_WORLD, &flag, &st);
        if (!flag) {
            nap(&pause);
            continue;
        }
        pause = NAP_MIN_NS;
        int n = 0;
        MPI_Get_count(&st, MPI_BYTE, &n);
        int src = st.MPI_SOURCE;
        if (n < 0 || reserve(&rx, (size_t)n)) {
            /* Out of memory: take the message off the line and stop. */
            MPI_Recv(NULL, 0, MPI_BYTE, src, TAG_ASK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
#pragma omp critical(gs_sweep)
            fail(s, 0, GS_ENOMEM, "out of memory");
        } else {
            MPI_Recv(rx.p, n, MPI_BYTE, src, TAG_ASK, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            if (n > 0 && rx.p[0] == MSG_DONE) {
#pragma omp critical(gs_sweep)
                accept_record(s, rx.p + 1, (size_t)n - 1);
            } else if (n >= 10 && rx.p[0] == MSG_ERROR) {
                long item = (long)get_uint(rx.p + 1, 8);
                int code = -(int)rx.p[9];
                char msg[GS_DIAG_MSG];
                snprintf(msg, sizeof msg, "rank %d: %.*s", src, n - 10, (const char *)rx.p + 10);
#pragma omp critical(gs_sweep)
                fail(s, item, code, msg);
            }
        }
        long long next = take(s);
        MPI_Send(&next, 1, MPI_LONG_LONG, src, TAG_GIVE, MPI_COMM_WORLD);
        if (next < 0)
            remote--;
    }
    gs_free(rx.p);
}

/* A worker thread of a rank other than 0. */
static void work_remote(const gs_sweep *sw)
{
    cache c = {0};
    buf b = {0}, msg = {0};
    /* What is sent when there is no memory even for an error message. */
    unsigned char oom[10] = {MSG_ERROR};
    oom[9] = (unsigned char)-GS_ENOMEM;
    const unsigned char *send = (const unsigned char[]){MSG_FIRST};
    size_t nsend = 1;
    for (;;) {
        long long next;
#pragma omp critical(gs_mpi)
        {
            MPI_Send(send, (int)nsend, MPI_BYTE, 0, TAG_ASK, MPI_COMM_WORLD);
            MPI_Recv(&next, 1, MPI_LONG_LONG, 0, TAG_GIVE, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        }
        if (next < 0)
            break;
        gs_diag d;
        gs_diag_init(&d);
        int rc = run_item(sw, (long)next, &c, &b, &d);
        msg.n = 0;
        if (rc == GS_OK && (put(&msg, (char[]){MSG_DONE}, 1) || put(&msg, b.p, b.n)))
            rc = gs_error(&d, GS_ENOMEM, "out of memory");
        if (rc) {
            msg.n = 0;
            if (put(&msg, (char[]){MSG_ERROR}, 1) || put_uint(&msg, (uint64_t)next, 8) ||
                put(&msg, (char[]){(char)-rc}, 1) || put(&msg, d.msg, strlen(d.msg))) {
                for (int i = 0; i < 8; i++)
                    oom[1 + i] = (unsigned char)((uint64_t)next >> (8 * i));
                send = oom;
                nsend = sizeof oom;
                continue;
            }
        }
        send = msg.p;
        nsend = msg.n;
    }
    gs_scenario_free(c.sc);
    gs_free(b.p);
    gs_free(msg.p);
}
#endif

/* ------------------------------------------------------------ results */

static int collect(state *s, gs_sweep_outcome *out, gs_diag *d)
{
    const gs_sweep *sw = s->sw;
    out->base = gs_calloc(sw->nbases, sizeof *out->base);
    if (!out->base)
        return gs_error(d, GS_ENOMEM, "out of memory");
    for (size_t b = 0; b < sw->nbases; b++) {
        gs_sweep_data *bd = &out->base[b];
        size_t nl = s->nlay[b];
        size_t **map = gs_calloc(nl ? nl : 1, sizeof *map);
        if (!map)
            return gs_error(d, GS_ENOMEM, "out of memory");
        long nrep = sw->bases[b].nrep, first = sw->bases[b].first;
        long count = nrep * (long)sw->npoints;
        int rc = GS_OK;
        /* The union in the order of first appearance, in item order. */
        for (long i = first; i < first + count && rc == GS_OK; i++) {
            int32_t li = s->items[i].layout;
            if (li < 0) {
                rc = gs_error(d, GS_EINTERNAL, "sweep item %ld has no result", i);
                break;
            }
            if (map[li])
                continue;
            layout *l = &s->lay[b][li];
            map[li] = gs_calloc(l->n ? l->n : 1, sizeof **map);
            if (!map[li]) {
                rc = gs_error(d, GS_ENOMEM, "out of memory");
                break;
            }
            for (size_t k = 0; k < l->n && rc == GS_OK; k++) {
                size_t u = 0;
                while (u < bd->nmetrics && (strcmp(bd->component[u], l->comp[k]) != 0 ||
                                            strcmp(bd->metric[u], l->name[k]) != 0))
                    u++;
                if (u == bd->nmetrics) {
                    char **c = gs_realloc(bd->component, (u + 1) * sizeof *c);
                    if (c)
                        bd->component = c;
                    char **m = gs_realloc(bd->metric, (u + 1) * sizeof *m);
                    if (m)
                        bd->metric = m;
                    if (!c || !m || !(bd->component[u] = gs_strdup(l->comp[k]))) {
                        rc = gs_error(d, GS_ENOMEM, "out of memory");
                        break;
                    }
                    if (!(bd->metric[u] = gs_strdup(l->name[k]))) {
                        gs_free(bd->component[u]);
                        rc = gs_error(d, GS_ENOMEM, "out of memory");
                        break;
                    }
                    bd->nmetrics++;
                }
                map[li][k] = u;
            }
        }
        if (rc == GS_OK) {
            size_t nm = bd->nmetrics;
            bd->values = gs_malloc((size_t)count * (nm ? nm : 1) * sizeof *bd->values);
            if (!bd->values)
                rc = gs_error(d, GS_ENOMEM, "out of memory");
            for (size_t i = 0; bd->values && i < (size_t)count * nm; i++)
                bd->values[i] = NAN;
            for (long i = 0; bd->values && i < count; i++) {
                const item_rec *ir = &s->items[first + i];
                const layout *l = &s->lay[b][ir->layout];
                for (size_t k = 0; k < l->n; k++)
                    bd->values[(size_t)i * nm + map[ir->layout][k]] = ir->v[k];
            }
        }
        for (size_t i = 0; i < nl; i++)
            gs_free(map[i]);
        gs_free(map);
        if (rc)
            return rc;
    }
    return GS_OK;
}

static void state_release(state *s)
{
    if (s->items)
        for (long i = 0; i < s->sw->nitems; i++)
            gs_free(s->items[i].v);
    gs_free(s->items);
    if (s->lay)
        for (size_t b = 0; b < s->sw->nbases; b++) {
            for (size_t i = 0; i < s->nlay[b]; i++) {
                for (size_t k = 0; k < s->lay[b][i].n; k++) {
                    gs_free(s->lay[b][i].comp[k]);
                    gs_free(s->lay[b][i].name[k]);
                }
                gs_free(s->lay[b][i].comp);
                gs_free(s->lay[b][i].name);
            }
            gs_free(s->lay[b]);
        }
    gs_free(s->lay);
    gs_free(s->nlay);
    gs_free(s->left);
    gs_journal_free(s->journal);
}

void gs_sweep_outcome_release(const gs_sweep *sw, gs_sweep_outcome *out)
{
    if (out->base)
        for (size_t b = 0; b < sw->nbases; b++) {
            for (size_t k = 0; k < out->base[b].nmetrics; k++) {
                gs_free(out->base[b].component[k]);
                gs_free(out->base[b].metric[k]);
            }
            gs_free(out->base[b].component);
            gs_free(out->base[b].metric);
            gs_free(out->base[b].values);
        }
    gs_free(out->base);
    memset(out, 0, sizeof *out);
}

/* Rank 0 (or the only process): tables, journal, the items left to run. */
static int prepare(state *s, gs_sweep_run_opts const *o, gs_sweep_outcome *out, gs_diag *d)
{
    const gs_sweep *sw = s->sw;
    s->items = gs_malloc((size_t)sw->nitems * sizeof *s->items);
    s->lay = gs_calloc(sw->nbases, sizeof *s->lay);
    s->nlay = gs_calloc(sw->nbases, sizeof *s->nlay);
    if (!s->items || !s->lay || !s->nlay)
        return gs_error(d, GS_ENOMEM, "out of memory");
    for (long i = 0; i < sw->nitems; i++)
        s->items[i] = (item_rec){-1, NULL};
    if (o->journal) {
        unsigned char fp[8];
        for (int i = 0; i < 8; i++)
            fp[i] = (unsigned char)(sw->fingerprint >> (8 * i));
        int rc = gs_journal_open(&s->journal, o->journal, fp, sizeof fp, o->resume,
                                 from_journal, s, NULL, d);
        if (rc)
            return rc;
    }
    long done = 0;
    for (long i = 0; i < sw->nitems; i++)
        done += s->items[i].layout >= 0;
    out->resumed = done;
    s->nleft = sw->nitems - done;
    s->left = gs_malloc((size_t)(s->nleft ? s->nleft : 1) * sizeof *s->left);
    if (!s->left)
        return gs_error(d, GS_ENOMEM, "out of memory");
    for (long i = 0, k = 0; i < sw->nitems; i++)
        if (s->items[i].layout < 0)
            s->left[k++] = i;
    return GS_OK;
}

int gs_sweep_run(const gs_sweep *sw, const gs_sweep_run_opts *o, gs_sweep_outcome *out,
                 gs_diag *d)
{
    memset(out, 0, sizeof *out);
    state s;
    memset(&s, 0, sizeof s);
    s.sw = sw;
    s.o = o;
    atomic_init(&s.next, 0);
    atomic_init(&s.failed, 0);
    gs_diag_init(&s.failure);
    int rank = gs_cluster_rank(), size = gs_cluster_size();
    int threads = o->threads >= 1 ? o->threads : 1;
    if (rank > 0 && !gs_cluster_serialized())
        threads = 1;
    out->ranks = size;
    out->threads = threads;
    int rc = GS_OK;
    if (rank == 0)
        rc = prepare(&s, o, out, d);
#ifdef GS_HAVE_MPI
    if (size > 1) {
        /* Every rank learns whether rank 0 could start, and rank 0 how many
         * worker threads the others have. */
        int status = rc;
        MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
        if (status != GS_OK) {
            /* The same status everywhere, so the job's exit code is rank 0's. */
            if (rank > 0)
                rc = gs_error(d, status, "rank 0 could not start the sweep");
            state_release(&s);
            return rc;
        }
        int mine = rank == 0 ? 0 : threads;
        long remote = 0;
        int *all = rank == 0 ? gs_calloc((size_t)size, sizeof *all) : NULL;
        MPI_Gather(&mine, 1, MPI_INT, all, 1, MPI_INT, 0, MPI_COMM_WORLD);
        for (int r = 0; all && r < size; r++)
            remote += all[r];
        gs_free(all);
        double t0 = gs_wall_seconds();
        if (rank == 0) {
#pragma omp parallel num_threads(threads + 1)
            {
                if (omp_get_thread_num() == 0)
                    dispatch(&s, remote);
                else
                    work_local(&s);
            }
        } else {
#pragma omp parallel num_threads(threads)
            work_remote(sw);
        }
        out->wall_s = gs_wall_seconds() - t0;
        long ran = s.done_now;
        MPI_Bcast(&ran, 1, MPI_LONG, 0, MPI_COMM_WORLD);
        out->ran = ran;
    } else
#endif
    if (rc == GS_OK) {
        double t0 = gs_wall_seconds();
        int n = threads;
        if (n > s.nleft)
            n = s.nleft > 0 ? (int)s.nleft : 1;
#pragma omp parallel num_threads(n)
        work_local(&s);
        out->wall_s = gs_wall_seconds() - t0;
        out->ran = s.done_now;
    }
    if (rank == 0 && rc == GS_OK) {
        if (atomic_load(&s.failed))
            rc = gs_error(d, s.failure.code, "%s", s.failure.msg);
        else
            rc = collect(&s, out, d);
    }
    if (rc && rank == 0)
        gs_sweep_outcome_release(sw, out);
    state_release(&s);
    return rc;
}
