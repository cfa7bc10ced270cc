/* The scenario tree: a YAML document read with libyaml's event parser into
 * gs_node trees that remember where each node was written, so that every
 * later error can say FILE:LINE:COL.
 *
 * Invariants. Every node and string of a document lives in the document's
 * arena (a list of chunks freed in one pass by gs_doc_free), so no node is
 * ever freed on its own and pointers into the tree stay valid for the
 * document's lifetime. An alias is the anchored node itself, shared, never a
 * copy: a billion-laughs document costs its written size, and its expanded
 * size is counted while parsing (an alias adds the expanded size of its
 * anchor) and refused past GS_DOC_MAX_NODES, so code that walks the tree
 * (the emitter) never sees more than that many nodes. Nesting, counted with
 * aliases expanded, is refused past MAX_DEPTH levels, so the recursive walks
 * below cannot exhaust the stack. A node reachable by more than one path is
 * marked `shared` (or lies under a shared node on every path); --set copies
 * such nodes on its path before changing them (path copying, as in
 * persistent trees), so an override changes only the path it names.
 *
 * Sources: the event API of libyaml (yaml.h); the YAML 1.1 specification for
 * anchors, aliases and null; optimal-string-alignment edit distance
 * (Damerau's transposition added to the Wagner-Fischer dynamic program) for
 * "did you mean" hints. */
#include "node.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <yaml.h>

#include "alloc.h"
#include "error.h"

/* Deeper than any sensible scenario, shallow enough that recursive walks use
 * a few tens of kilobytes of stack. */
#define MAX_DEPTH 256

/* A scenario is a few kilobytes; this stops `gatesim check /dev/zero` from
 * eating the machine before the node bound could. */
#define MAX_FILE_BYTES (64L * 1024 * 1024)

#define FIRST_CHUNK 4096
#define MAX_CHUNK (1024 * 1024)

/* Maps with more keys than this are checked for duplicates with a hash
 * table instead of comparing every pair. */
#define DUP_LINEAR_MAX 16

typedef struct chunk {
    struct chunk *next;
    size_t        used, cap;
    max_align_t   data[];
} chunk;

struct gs_doc {
    chunk      *chunks;     /* newest first */
    size_t      next_chunk; /* size of the next chunk: grows so big files need few */
    gs_node    *root;
    const char *src;
};

/* ------------------------------------------------------------------ arena */

static void *arena_alloc(gs_doc *doc, size_t size)
{
    const size_t align = alignof(max_align_t);
    if (size > SIZE_MAX / 2)
        return NULL;
    size = (size + align - 1) & ~(align - 1);
    chunk *c = doc->chunks;
    if (!c || c->cap - c->used < size) {
        size_t cap = doc->next_chunk > size ? doc->next_chunk : size;
        c = gs_malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = doc->chunks;
        doc->chunks = c;
        if (doc->next_chunk < MAX_CHUNK)
            doc->next_chunk *= 2;
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    return p;
}

static char *arena_strndup(gs_doc *doc, const char *s, size_t n)
{
    char *r = arena_alloc(doc, n + 1);
    if (r) {
        memcpy(r, s, n);
        r[n] = '\0';
    }
    return r;
}

static gs_doc *doc_new(const char *src)
{
    gs_doc *doc = gs_calloc(1, sizeof *doc);
    if (!doc)
        return NULL;
    doc->next_chunk = FIRST_CHUNK;
    doc->src = arena_strndup(doc, src, strlen(src));
    if (!doc->src) {
        gs_free(doc);
        return NULL;
    }
    return doc;
}

void gs_doc_free(gs_doc *doc)
{
    if (!doc)
        return;
    chunk *c = doc->chunks;
    while (c) {
        chunk *next = c->next;
        gs_free(c);
        c = next;
    }
    gs_free(doc);
}

gs_node *gs_doc_root(const gs_doc *doc) { return doc->root; }

const char *gs_doc_src(const gs_doc *doc) { return doc->src; }

static int clamp_int(size_t v) { return v > INT_MAX ? INT_MAX : (int)v; }

static gs_node *node_alloc(gs_doc *doc, gs_node_kind kind, const char *src, int line, int col,
                           int from_set)
{
    gs_node *n = arena_alloc(doc, sizeof *n);
    if (!n)
        return NULL;
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->src = src;
    n->line = line;
    n->col = col;
    n->from_set = from_set;
    return n;
}

/* A new node placed like pos (or at the start of the document). */
static gs_node *node_like(gs_doc *doc, gs_node_kind kind, const gs_node *pos)
{
    if (pos)
        return node_alloc(doc, kind, pos->src, pos->line, pos->col, pos->from_set);
    return node_alloc(doc, kind, doc->src, 1, 1, 0);
}

gs_node *gs_node_new_scalar(gs_doc *doc, const char *text, const gs_node *pos)
{
    if (!text)
        text = "";
    gs_node *n = node_like(doc, GS_NODE_SCALAR, pos);
    if (!n)
        return NULL;
    n->value = arena_strndup(doc, text, strlen(text));
    if (!n->value)
        return NULL;
    n->is_default = 1;
    /* An empty default (description: "") is the empty string, not a YAML
     * null; quoted, it prints as '' and reads back as the same string. */
    n->quoted = !text[0];
    return n;
}

gs_node *gs_node_new_map(gs_doc *doc, const gs_node *pos)
{
    gs_node *n = node_like(doc, GS_NODE_MAP, pos);
    if (n)
        n->is_default = 1;
    return n;
}

const char *gs_node_kind_name(gs_node_kind kind)
{
    switch (kind) {
    case GS_NODE_SCALAR: return "a scalar";
    case GS_NODE_MAP:    return "a mapping";
    case GS_NODE_SEQ:    return "a sequence";
    }
    return "an unknown node";
}

int gs_node_is_null(const gs_node *n)
{
    if (!n || n->kind != GS_NODE_SCALAR || n->quoted)
        return 0;
    const char *v = n->value;
    return !v[0] || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* Key of the first mapping under n (depth first, document order) whose
 * value is the node target, or NULL. depth bounds the recursion like the
 * loader's nesting limit. */
static const char *key_of(const gs_node *n, const gs_node *target, int depth)
{
    if (!n || n->kind == GS_NODE_SCALAR || depth > 300)
        return NULL;
    for (size_t i = 0; i < n->len; i++) {
        if (n->kind == GS_NODE_MAP && n->items[i] == target)
            return n->keys[i]->value;
        const char *k = key_of(n->items[i], target, depth + 1);
        if (k)
            return k;
    }
    return NULL;
}

const char *gs_doc_key_of(const gs_doc *doc, const gs_node *value)
{
    return doc && value ? key_of(doc->root, value, 0) : NULL;
}

/* ------------------------------------------------------------ map access */

static long map_find(const gs_node *map, const char *key, size_t len)
{
    if (!map || map->kind != GS_NODE_MAP)
        return -1;
    for (size_t i = 0; i < map->len; i++) {
        const char *k = map->keys[i]->value;
        if (strncmp(k, key, len) == 0 && k[len] == '\0')
            return (long)i;
    }
    return -1;
}

gs_node *gs_map_get(const gs_node *map, const char *key)
{
    long i = map_find(map, key, strlen(key));
    return i < 0 ? NULL : map->items[i];
}

gs_node *gs_map_key(const gs_node *map, const char *key)
{
    long i = map_find(map, key, strlen(key));
    return i < 0 ? NULL : map->keys[i];
}

/* Room for one more entry. The old arrays stay in the arena: growth is
 * geometric, so the waste is at most what is in use. */
static int grow(gs_doc *doc, gs_node *n)
{
    if (n->len < n->cap)
        return GS_OK;
    size_t cap = n->cap < 4 ? 4 : n->cap * 2;
    gs_node **items = arena_alloc(doc, cap * sizeof *items);
    if (!items)
        return GS_ENOMEM;
    gs_node **keys = NULL;
    if (n->kind == GS_NODE_MAP) {
        keys = arena_alloc(doc, cap * sizeof *keys);
        if (!keys)
            return GS_ENOMEM;
        if (n->len)
            memcpy(keys, n->keys, n->len * sizeof *keys);
    }
    if (n->len)
        memcpy(items, n->items, n->len * sizeof *items);
    n->items = items;
    n->keys = keys;
    n->cap = cap;
    return GS_OK;
}

/* Insert or replace key (len bytes) -> value; the new key is placed like
 * the value, so an error about a key written by --set names the override. */
static gs_node *map_set_n(gs_doc *doc, gs_node *map, const char *key, size_t len,
                          gs_node *value)
{
    if (!map || map->kind != GS_NODE_MAP || !value)
        return NULL;
    long i = map_find(map, key, len);
    if (i >= 0) {
        map->items[i] = value;
        return value;
    }
    if (grow(doc, map))
        return NULL;
    gs_node *k = node_like(doc, GS_NODE_SCALAR, value);
    if (!k)
        return NULL;
    k->value = arena_strndup(doc, key, len);
    if (!k->value)
        return NULL;
    k->is_default = value->is_default;
    map->keys[map->len] = k;
    map->items[map->len] = value;
    map->len++;
    return value;
}

gs_node *gs_map_set(gs_doc *doc, gs_node *map, const char *key, gs_node *value)
{
    return map_set_n(doc, map, key, strlen(key), value);
}

/* ------------------------------------------------------------ suggestions */

#define SUGGEST_MAX_LEN 256

/* Optimal string alignment distance, case-insensitive, or limit + 1 as
 * soon as the result must exceed limit. */
static size_t osa_distance(const char *a, size_t m, const char *b, size_t n, size_t limit)
{
    size_t rows[3][SUGGEST_MAX_LEN + 1];
    size_t *pp = rows[0], *prev = rows[1], *cur = rows[2];
    if ((m > n ? m - n : n - m) > limit)
        return limit + 1;
    for (size_t j = 0; j <= n; j++)
        prev[j] = j;
    for (size_t i = 1; i <= m; i++) {
        int ca = tolower((unsigned char)a[i - 1]);
        size_t best = cur[0] = i;
        for (size_t j = 1; j <= n; j++) {
            int cb = tolower((unsigned char)b[j - 1]);
            size_t v = prev[j - 1] + (ca != cb);
            if (prev[j] + 1 < v)
                v = prev[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            cur[j] = v;
            if (v < best)
                best = v;
        }
        if (best > limit)
            return limit + 1;
        size_t *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[n];
}

const char *gs_suggest(const char *word, const char *const *candidates)
{
    if (!word || !candidates)
        return NULL;
    size_t m = strlen(word);
    if (m > SUGGEST_MAX_LEN)
        return NULL;
    size_t limit = m / 3 > 2 ? m / 3 : 2;
    const char *best = NULL;
    size_t best_d = limit + 1;
    for (size_t i = 0; candidates[i]; i++) {
        size_t n = strlen(candidates[i]);
        if (n > SUGGEST_MAX_LEN)
            continue;
        size_t dist = osa_distance(word, m, candidates[i], n, limit);
        if (dist < best_d) {
            best_d = dist;
            best = candidates[i];
        }
    }
    return best;
}

int gs_map_check_keys(const gs_node *map, const char *const *allowed, const char *what,
                      gs_diag *d)
{
    if (!map)
        return GS_OK;
    if (map->kind != GS_NODE_MAP)
        return gs_error_at(d, map, "expected a mapping for %s, found %s", what,
                           gs_node_kind_name(map->kind));
    for (size_t i = 0; i < map->len; i++) {
        const gs_node *k = map->keys[i];
        size_t j = 0;
        while (allowed[j] && strcmp(allowed[j], k->value) != 0)
            j++;
        if (allowed[j])
            continue;
        char list[GS_DIAG_MSG];
        size_t off = 0;
        list[0] = '\0';
        for (j = 0; allowed[j] && off < sizeof list; j++) {
            int w = snprintf(list + off, sizeof list - off, "%s%s", j ? ", " : "", allowed[j]);
            if (w < 0)
                break;
            off += (size_t)w;
        }
        const char *hint = gs_suggest(k->value, allowed);
        if (!allowed[0])
            return gs_error_at(d, k, "unknown key '%s' in %s; it takes no keys", k->value, what);
        if (hint)
            return gs_error_at(d, k, "unknown key '%s' in %s (did you mean '%s'?); expected "
                               "one of: %s", k->value, what, hint, list);
        return gs_error_at(d, k, "unknown key '%s' in %s; expected one of: %s", k->value,
                           what, list);
    }
    return GS_OK;
}

/* ---------------------------------------------------------------- loading */

typedef struct frame {
    gs_node *node;
    size_t   first;  /* scratch index of its first child */
    long     total0; /* expanded node count before it */
    long     anchor; /* index in anchors, or -1 */
    int      height; /* 1 + tallest child so far */
} frame;

typedef struct anchor {
    const char *name;
    gs_node    *node;
    long        size;   /* expanded node count of the subtree */
    int         height; /* levels of the subtree, aliases expanded */
    int         done;   /* 0 while the anchored node is still open */
} anchor;

typedef struct builder {
    gs_doc     *doc;
    gs_diag    *d;
    const char *src;      /* src of every node made (file path or --set text) */
    int         from_set;
    const char *text;
    size_t      len;

    frame     frames[MAX_DEPTH];
    size_t    nframes;
    gs_node **scratch; /* children of the open collections, innermost last */
    size_t    nscratch, capscratch;
    anchor   *anchors;
    size_t    nanchors, capanchors;
    size_t   *slots; /* hash of anchor names: anchor index + 1, 0 = empty */
    size_t    capslots;

    long     total; /* nodes so far, aliases expanded */
    int      ndocs;
    gs_node *root;
} builder;

/* Report at a libyaml mark: "SRC:LINE:COL: ..." for a file, "--set ...: ..."
 * for an override's value. */
static int fail_mark(builder *b, yaml_mark_t m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_mark(builder *b, yaml_mark_t m, const char *fmt, ...)
{
    char msg[GS_DIAG_MSG];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (b->from_set)
        return gs_error(b->d, GS_EINVAL, "%s: %s", b->src, msg);
    return gs_error(b->d, GS_EINVAL, "%s:%d:%d: %s", b->src, clamp_int(m.line + 1),
                    clamp_int(m.column + 1), msg);
}

static int oom(builder *b) { return gs_error(b->d, GS_ENOMEM, "out of memory"); }

static int syntax_error(builder *b, const yaml_parser_t *p)
{
    if (p->error == YAML_MEMORY_ERROR)
        return oom(b);
    if (p->error == YAML_READER_ERROR) {
        /* The reader reports a byte offset; count lines and characters up to
         * it so the message has the same shape as the others. */
        yaml_mark_t m = {0, 0, 0};
        for (size_t i = 0; i < p->problem_offset && i < b->len; i++) {
            unsigned char c = (unsigned char)b->text[i];
            if (c == '\n') {
                m.line++;
                m.column = 0;
            } else if ((c & 0xC0) != 0x80) {
                m.column++;
            }
        }
        if (p->problem_value >= 0)
            return fail_mark(b, m, "cannot read the text: %s (byte 0x%02X)",
                             p->problem ? p->problem : "invalid input", (unsigned)p->problem_value);
        return fail_mark(b, m, "cannot read the text: %s",
                         p->problem ? p->problem : "invalid input");
    }
    const char *problem = p->problem ? p->problem : "unknown problem";
    if (p->context)
        return fail_mark(b, p->problem_mark,
                         "YAML syntax error: %s (%s started at line %d column %d)", problem,
                         p->context, clamp_int(p->context_mark.line + 1),
                         clamp_int(p->context_mark.column + 1));
    return fail_mark(b, p->problem_mark, "YAML syntax error: %s", problem);
}

/* FNV-1a: short keys, no adversary that could profit from collisions beyond
 * a slower load that the node bound already caps. */
static size_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

static long anchor_find(const builder *b, const char *name)
{
    if (!b->capslots)
        return -1;
    size_t mask = b->capslots - 1;
    for (size_t i = hash_str(name) & mask; b->slots[i]; i = (i + 1) & mask)
        if (strcmp(b->anchors[b->slots[i] - 1].name, name) == 0)
            return (long)(b->slots[i] - 1);
    return -1;
}

/* Point name at anchor index idx; a later anchor of the same name replaces
 * the earlier one, as YAML says. */
static int anchor_put(builder *b, size_t idx)
{
    if ((b->nanchors + 1) * 2 > b->capslots) {
        size_t cap = b->capslots ? b->capslots * 2 : 16;
        size_t *slots = gs_calloc(cap, sizeof *slots);
        if (!slots)
            return GS_ENOMEM;
        for (size_t i = 0; i < b->capslots; i++) {
            if (!b->slots[i])
                continue;
            size_t h = hash_str(b->anchors[b->slots[i] - 1].name) & (cap - 1);
            while (slots[h])
                h = (h + 1) & (cap - 1);
            slots[h] = b->slots[i];
        }
        gs_free(b->slots);
        b->slots = slots;
        b->capslots = cap;
    }
    size_t mask = b->capslots - 1;
    const char *name = b->anchors[idx].name;
    size_t i = hash_str(name) & mask;
    while (b->slots[i] && strcmp(b->anchors[b->slots[i] - 1].name, name) != 0)
        i = (i + 1) & mask;
    b->slots[i] = idx + 1;
    return GS_OK;
}

/* Record anchor name for node; *idx is its index. */
static int anchor_add(builder *b, const yaml_char_t *name, gs_node *node, long *idx)
{
    if (b->nanchors == b->capanchors) {
        size_t cap = b->capanchors ? b->capanchors * 2 : 8;
        anchor *a = gs_realloc(b->anchors, cap * sizeof *a);
        if (!a)
            return oom(b);
        b->anchors = a;
        b->capanchors = cap;
    }
    anchor *a = &b->anchors[b->nanchors];
    a->name = arena_strndup(b->doc, (const char *)name, strlen((const char *)name));
    if (!a->name)
        return oom(b);
    a->node = node;
    a->size = 1;
    a->height = 1;
    a->done = 0;
    if (anchor_put(b, b->nanchors))
        return oom(b);
    *idx = (long)b->nanchors++;
    return GS_OK;
}

static int in_key_position(const builder *b)
{
    if (!b->nframes)
        return 0;
    const frame *f = &b->frames[b->nframes - 1];
    return f->node->kind == GS_NODE_MAP && (b->nscratch - f->first) % 2 == 0;
}

/* Attach n as the next child of the innermost open collection (or as the
 * root), counting size nodes (its expanded size) and height levels. */
static int attach(builder *b, gs_node *n, long size, int height, yaml_mark_t m)
{
    if (b->total > GS_DOC_MAX_NODES - size) {
        if (size > 1)
            return fail_mark(b, m, "alias expansion exceeds %ld nodes (an alias bomb?)",
                             GS_DOC_MAX_NODES);
        return fail_mark(b, m, "the document has more than %ld nodes", GS_DOC_MAX_NODES);
    }
    b->total += size;
    if (b->nframes + (size_t)height > MAX_DEPTH)
        return fail_mark(b, m, "nesting deeper than %d levels%s", MAX_DEPTH,
                         size > 1 ? " (with aliases expanded)" : "");
    if (in_key_position(b) && n->kind != GS_NODE_SCALAR)
        return fail_mark(b, m, "a mapping key must be a scalar, found %s",
                         gs_node_kind_name(n->kind));
    if (!b->nframes) {
        if (!b->from_set && n->kind != GS_NODE_MAP) {
            if (gs_node_is_null(n))
                return gs_error(b->d, GS_EINVAL, "%s:1:1: the file is empty; expected a "
                                "scenario mapping with keys such as name, simulation, "
                                "workload, components", b->src);
            return fail_mark(b, m, "expected a mapping at the top level, found %s",
                             gs_node_kind_name(n->kind));
        }
        b->root = n;
        return GS_OK;
    }
    frame *f = &b->frames[b->nframes - 1];
    if (height + 1 > f->height)
        f->height = height + 1;
    if (b->nscratch == b->capscratch) {
        size_t cap = b->capscratch ? b->capscratch * 2 : 64;
        gs_node **s = gs_realloc(b->scratch, cap * sizeof *s);
        if (!s)
            return oom(b);
        b->scratch = s;
        b->capscratch = cap;
    }
    b->scratch[b->nscratch++] = n;
    return GS_OK;
}

static gs_node *node_at(builder *b, gs_node_kind kind, yaml_mark_t m)
{
    return node_alloc(b->doc, kind, b->src, clamp_int(m.line + 1), clamp_int(m.column + 1),
                      b->from_set);
}

static int on_scalar(builder *b, const yaml_event_t *ev)
{
    const yaml_char_t *v = ev->data.scalar.value;
    size_t len = ev->data.scalar.length;
    if (memchr(v, '\0', len))
        return fail_mark(b, ev->start_mark, "a scalar contains a NUL character");
    gs_node *n = node_at(b, GS_NODE_SCALAR, ev->start_mark);
    if (!n || !(n->value = arena_strndup(b->doc, (const char *)v, len)))
        return oom(b);
    /* YAML resolves every non-plain scalar, and an explicit !!str, as a
     * string: such a value is text even when it looks like a number. */
    const char *tag = (const char *)ev->data.scalar.tag;
    n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
                (tag && strcmp(tag, "tag:yaml.org,2002:str") == 0);
    if (ev->data.scalar.anchor) {
        long idx;
        int rc = anchor_add(b, ev->data.scalar.anchor, n, &idx);
        if (rc)
            return rc;
        b->anchors[idx].done = 1;
    }
    return attach(b, n, 1, 1, ev->start_mark);
}

static int on_start(builder *b, const yaml_event_t *ev, gs_node_kind kind)
{
    const yaml_char_t *name = kind == GS_NODE_MAP ? ev->data.mapping_start.anchor
                                                  : ev->data.sequence_start.anchor;
    gs_node *n = node_at(b, kind, ev->start_mark);
    if (!n)
        return oom(b);
    long total0 = b->total;
    int rc = attach(b, n, 1, 1, ev->start_mark);
    if (rc)
        return rc;
    long idx = -1;
    if (name && (rc = anchor_add(b, name, n, &idx)))
        return rc;
    /* attach() has checked the depth, so there is a frame free. */
    frame *f = &b->frames[b->nframes++];
    f->node = n;
    f->first = b->nscratch;
    f->total0 = total0;
    f->anchor = idx;
    f->height = 1;
    return GS_OK;
}

/* The first key of map that repeats an earlier one, or -1; *first is the
 * earlier one. */
static long find_duplicate(gs_node *const *keys, size_t n, size_t *first, int *oomed)
{
    *oomed = 0;
    if (n <= DUP_LINEAR_MAX) {
        for (size_t i = 1; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (strcmp(keys[i]->value, keys[j]->value) == 0) {
                    *first = j;
                    return (long)i;
                }
        return -1;
    }
    size_t cap = 32;
    while (cap < 2 * n)
        cap *= 2;
    size_t *slot = gs_calloc(cap, sizeof *slot);
    if (!slot) {
        *oomed = 1;
        return -1;
    }
    long dup = -1;
    for (size_t i = 0; i < n && dup < 0; i++) {
        size_t h = hash_str(keys[i]->value) & (cap - 1);
        while (slot[h] && strcmp(keys[slot[h] - 1]->value, keys[i]->value) != 0)
            h = (h + 1) & (cap - 1);
        if (slot[h]) {
            *first = slot[h] - 1;
            dup = (long)i;
        } else {
            slot[h] = i + 1;
        }
    }
    gs_free(slot);
    return dup;
}

static int on_end(builder *b)
{
    frame *f = &b->frames[--b->nframes];
    gs_node *n = f->node;
    size_t count = b->nscratch - f->first;
    /* An empty collection before any other node has no scratch array yet,
     * and NULL + 0 is undefined. */
    gs_node **kids = count ? b->scratch + f->first : NULL;
    if (n->kind == GS_NODE_MAP) {
        n->len = n->cap = count / 2;
        if (n->len) {
            n->keys = arena_alloc(b->doc, n->len * sizeof *n->keys);
            n->items = arena_alloc(b->doc, n->len * sizeof *n->items);
            if (!n->keys || !n->items)
                return oom(b);
            for (size_t i = 0; i < n->len; i++) {
                n->keys[i] = kids[2 * i];
                n->items[i] = kids[2 * i + 1];
            }
        }
        size_t first;
        int oomed;
        long dup = find_duplicate(n->keys, n->len, &first, &oomed);
        if (oomed)
            return oom(b);
        if (dup >= 0) {
            const gs_node *k = n->keys[dup];
            if (b->from_set)
                return gs_error_at(b->d, k, "duplicate key '%s'", k->value);
            return gs_error_at(b->d, k, "duplicate key '%s' (first at line %d)", k->value,
                               n->keys[first]->line);
        }
        /* libyaml reads '<<' as an ordinary key; merging it would need
         * YAML 1.1 rules no scenario reader should half-follow. */
        for (size_t i = 0; i < n->len; i++)
            if (n->keys[i]->kind == GS_NODE_SCALAR && n->keys[i]->value &&
                !n->keys[i]->quoted && strcmp(n->keys[i]->value, "<<") == 0)
                return gs_error_at(b->d, n->keys[i], "'<<' (a YAML merge key) is not "
                                   "supported; write the keys out, or alias a whole mapping "
                                   "(key: *anchor) where every key is the same");
    } else {
        n->len = n->cap = count;
        if (count) {
            n->items = arena_alloc(b->doc, count * sizeof *n->items);
            if (!n->items)
                return oom(b);
            memcpy(n->items, kids, count * sizeof *kids);
        }
    }
    b->nscratch = f->first;
    if (f->anchor >= 0) {
        anchor *a = &b->anchors[f->anchor];
        a->size = b->total - f->total0;
        a->height = f->height;
        a->done = 1;
    }
    if (b->nframes) {
        frame *up = &b->frames[b->nframes - 1];
        if (f->height + 1 > up->height)
            up->height = f->height + 1;
    }
    return GS_OK;
}

static int on_alias(builder *b, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    long idx = anchor_find(b, name);
    if (idx < 0)
        return fail_mark(b, ev->start_mark, "undefined alias '*%s' (no anchor '&%s' before it)",
                         name, name);
    anchor *a = &b->anchors[idx];
    if (!a->done)
        return fail_mark(b, ev->start_mark, "alias '*%s' is inside the node it names (a "
                         "recursive alias)", name);
    a->node->shared = 1;
    return attach(b, a->node, a->size, a->height, ev->start_mark);
}

static int on_event(builder *b, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++b->ndocs > 1) {
            if (b->from_set)
                return fail_mark(b, ev->start_mark, "the value holds more than one YAML "
                                 "document");
            return fail_mark(b, ev->start_mark, "more than one YAML document (a second '---'); "
                             "a scenario file holds one document");
        }
        return GS_OK;
    case YAML_SCALAR_EVENT:
        return on_scalar(b, ev);
    case YAML_SEQUENCE_START_EVENT:
        return on_start(b, ev, GS_NODE_SEQ);
    case YAML_MAPPING_START_EVENT:
        return on_start(b, ev, GS_NODE_MAP);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return on_end(b);
    case YAML_ALIAS_EVENT:
        return on_alias(b, ev);
    case YAML_STREAM_END_EVENT:
        if (b->root)
            return GS_OK;
        if (!b->from_set)
            return gs_error(b->d, GS_EINVAL, "%s:1:1: the file is empty; expected a scenario "
                            "mapping with keys such as name, simulation, workload, components",
                            b->src);
        b->root = node_at(b, GS_NODE_SCALAR, ev->start_mark);
        if (!b->root || !(b->root->value = arena_strndup(b->doc, "", 0)))
            return oom(b);
        return GS_OK;
    default:
        return GS_OK;
    }
}

/* Parse text into nodes of doc; b->root is the top node. */
static int build(builder *b)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p))
        return oom(b);
    yaml_parser_set_input_string(&p, (const unsigned char *)b->text, b->len);
    int rc = GS_OK, done = 0;
    while (!done && rc == GS_OK) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = syntax_error(b, &p);
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        rc = on_event(b, &ev);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    gs_free(b->scratch);
    gs_free(b->anchors);
    gs_free(b->slots);
    return rc;
}

int gs_doc_load_string(const char *text, size_t len, const char *src, gs_doc **out,
                       gs_diag *d)
{
    *out = NULL;
    gs_doc *doc = doc_new(src);
    if (!doc)
        return gs_error(d, GS_ENOMEM, "out of memory");
    builder *b = gs_calloc(1, sizeof *b);
    if (!b) {
        gs_doc_free(doc);
        return gs_error(d, GS_ENOMEM, "out of memory");
    }
    b->doc = doc;
    b->d = d;
    b->src = doc->src;
    b->text = text;
    b->len = len;
    int rc = build(b);
    doc->root = b->root;
    gs_free(b);
    if (rc) {
        gs_doc_free(doc);
        return rc;
    }
    *out = doc;
    return GS_OK;
}

int gs_doc_load_file(const char *path, gs_doc **out, gs_diag *d)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return gs_error(d, GS_EIO, "%s: cannot open: %s", path, strerror(errno));
    size_t len = 0, cap = 0;
    char *text = NULL;
    int rc = GS_OK;
    for (;;) {
        if (len == cap) {
            if (cap >= (size_t)MAX_FILE_BYTES) {
                rc = gs_error(d, GS_EINVAL, "%s: larger than %ld bytes; not a scenario file",
                              path, MAX_FILE_BYTES);
                goto out_free_text;
            }
            cap = cap ? cap * 2 : 8192;
            char *t = gs_realloc(text, cap);
            if (!t) {
                rc = gs_error(d, GS_ENOMEM, "out of memory");
                goto out_free_text;
            }
            text = t;
        }
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                rc = gs_error(d, GS_EIO, "%s: cannot read: %s", path, strerror(errno));
                goto out_free_text;
            }
            break;
        }
    }
    rc = gs_doc_load_string(text, len, path, out, d);
out_free_text:
    gs_free(text);
    fclose(f);
    return rc;
}

/* ---------------------------------------------------------------- --set */

/* A private copy of a shared node, so that a change reaches one path only.
 * Its children now have two parents, so they become shared in turn. */
static gs_node *unshare(gs_doc *doc, gs_node *n)
{
    gs_node *c = arena_alloc(doc, sizeof *c);
    if (!c)
        return NULL;
    *c = *n;
    c->shared = 0;
    c->cap = n->len;
    if (n->len) {
        c->items = arena_alloc(doc, n->len * sizeof *c->items);
        if (!c->items)
            return NULL;
        memcpy(c->items, n->items, n->len * sizeof *c->items);
        if (n->kind == GS_NODE_MAP) {
            c->keys = arena_alloc(doc, n->len * sizeof *c->keys);
            if (!c->keys)
                return NULL;
            memcpy(c->keys, n->keys, n->len * sizeof *c->keys);
        }
        for (size_t i = 0; i < n->len; i++)
            if (n->items[i]->kind != GS_NODE_SCALAR)
                n->items[i]->shared = 1;
    } else {
        c->items = c->keys = NULL;
    }
    return c;
}

/* Index of the sequence item that segment (len bytes) names: a 0-based
 * index, or the item whose "name" is that text. -1 when none. */
static long seq_find(const gs_node *seq, const char *seg, size_t len)
{
    size_t i = 0;
    while (i < len && isdigit((unsigned char)seg[i]))
        i++;
    if (i == len && len <= 9) {
        size_t idx = 0;
        for (i = 0; i < len; i++)
            idx = idx * 10 + (size_t)(seg[i] - '0');
        if (idx < seq->len)
            return (long)idx;
    }
    for (i = 0; i < seq->len; i++) {
        const gs_node *nm = gs_map_get(seq->items[i], "name");
        if (nm && nm->kind == GS_NODE_SCALAR && strncmp(nm->value, seg, len) == 0 &&
            nm->value[len] == '\0')
            return (long)i;
    }
    return -1;
}

static int no_such_item(gs_doc *doc, const char *prefix, const gs_node *seq,
                        const char *owner, size_t owner_len, const char *seg, size_t len,
                        gs_diag *d)
{
    size_t digits = 0;
    while (digits < len && isdigit((unsigned char)seg[digits]))
        digits++;
    if (digits == len)
        return gs_error(d, GS_EINVAL, "%s: index %.*s is out of range: '%.*s' has %zu "
                        "item%s (counted from 0)", prefix, (int)len, seg, (int)owner_len,
                        owner, seq->len, seq->len == 1 ? "" : "s");
    const char **names = gs_calloc(seq->len + 1, sizeof *names);
    char *word = arena_strndup(doc, seg, len);
    const char *hint = NULL;
    if (names && word) {
        size_t k = 0;
        for (size_t i = 0; i < seq->len; i++) {
            const gs_node *nm = gs_map_get(seq->items[i], "name");
            if (nm && nm->kind == GS_NODE_SCALAR)
                names[k++] = nm->value;
        }
        hint = gs_suggest(word, names);
    }
    int rc;
    if (hint)
        rc = gs_error(d, GS_EINVAL, "%s: no %.*s item named '%.*s' (did you mean '%s'?)",
                      prefix, (int)owner_len, owner, (int)len, seg, hint);
    else
        rc = gs_error(d, GS_EINVAL, "%s: no %.*s item named '%.*s'; name an item by its "
                      "'name' or by its 0-based index", prefix, (int)owner_len, owner,
                      (int)len, seg);
    gs_free(names);
    return rc;
}

/* Put value at path (path_len bytes: names separated by single dots) in
 * doc, creating missing mappings; errors begin with prefix. */
static int set_path(gs_doc *doc, const char *path, size_t path_len, gs_node *value,
                    const char *prefix, gs_diag *d)
{
    for (size_t i = 0; i <= path_len; i++)
        if ((i == path_len || path[i] == '.') && (i == 0 || path[i - 1] == '.'))
            return gs_error(d, GS_EINVAL, "%s: expected a path made of names separated by "
                            "single dots", prefix);
    /* The parent of each step is the root or a node made private above it,
     * so changing it in place changes this path only. */
    gs_node *cur = doc->root;
    const char *seg = path, *end = path + path_len;
    for (;;) {
        const char *dot = memchr(seg, '.', (size_t)(end - seg));
        size_t len = dot ? (size_t)(dot - seg) : (size_t)(end - seg);
        int last = !dot;
        const char *owner = path;
        size_t owner_len = seg > path ? (size_t)(seg - path - 1) : 0;
        if (cur->kind == GS_NODE_SCALAR)
            return gs_error(d, GS_EINVAL, "%s: '%.*s' is a scalar ('%s'), so it has no '%.*s'",
                            prefix, (int)owner_len, owner, cur->value, (int)len, seg);
        gs_node **slot;
        if (cur->kind == GS_NODE_MAP) {
            long i = map_find(cur, seg, len);
            if (last) {
                if (!map_set_n(doc, cur, seg, len, value))
                    return gs_error(d, GS_ENOMEM, "out of memory");
                return GS_OK;
            }
            if (i < 0) {
                gs_node *m = node_like(doc, GS_NODE_MAP, value);
                if (!m || !map_set_n(doc, cur, seg, len, m))
                    return gs_error(d, GS_ENOMEM, "out of memory");
                i = (long)cur->len - 1;
            }
            slot = &cur->items[i];
            /* "network:" with nothing after it is a mapping not yet written. */
            if (gs_node_is_null(*slot)) {
                gs_node *m = node_like(doc, GS_NODE_MAP, value);
                if (!m)
                    return gs_error(d, GS_ENOMEM, "out of memory");
                *slot = m;
            }
        } else {
            long i = seq_find(cur, seg, len);
            if (i < 0) {
                const char *odot = owner_len ? memchr(owner, '.', owner_len) : NULL;
                while (odot) {
                    owner_len -= (size_t)(odot + 1 - owner);
                    owner = odot + 1;
                    odot = memchr(owner, '.', owner_len);
                }
                return no_such_item(doc, prefix, cur, owner, owner_len, seg, len, d);
            }
            slot = &cur->items[i];
            if (last) {
                *slot = value;
                return GS_OK;
            }
        }
        if ((*slot)->shared) {
            gs_node *c = unshare(doc, *slot);
            if (!c)
                return gs_error(d, GS_ENOMEM, "out of memory");
            *slot = c;
        }
        cur = *slot;
        seg += len + 1;
    }
}

int gs_doc_apply_set(gs_doc *doc, const char *assignment, gs_diag *d)
{
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment)
        return gs_error(d, GS_EINVAL, "--set %s: expected PATH=VALUE", assignment);
    for (const char *s = assignment; s <= eq; s++)
        if ((*s == '.' || *s == '=') && (s == assignment || s[-1] == '.'))
            return gs_error(d, GS_EINVAL, "--set %s: expected PATH=VALUE with PATH made of "
                            "names separated by single dots", assignment);

    size_t alen = strlen(assignment);
    char *src = arena_alloc(doc, alen + sizeof "--set ");
    if (!src)
        return gs_error(d, GS_ENOMEM, "out of memory");
    memcpy(src, "--set ", sizeof "--set " - 1);
    memcpy(src + sizeof "--set " - 1, assignment, alen + 1);

    builder *b = gs_calloc(1, sizeof *b);
    if (!b)
        return gs_error(d, GS_ENOMEM, "out of memory");
    b->doc = doc;
    b->d = d;
    b->src = src;
    b->from_set = 1;
    b->text = eq + 1;
    b->len = strlen(eq + 1);
    int rc = build(b);
    gs_node *value = b->root;
    gs_free(b);
    if (rc)
        return rc;
    return set_path(doc, assignment, (size_t)(eq - assignment), value, src, d);
}

/* A copy of n in doc, src strings included (the source document may be
 * freed first); aliases in n are expanded, so the copy shares nothing. */
static gs_node *copy_node(gs_doc *doc, const gs_node *n, const char **src_from, char **src_to,
                          int depth)
{
    if (depth > MAX_DEPTH)
        return NULL;
    if (n->src != *src_from) {
        *src_to = arena_strndup(doc, n->src, strlen(n->src));
        if (!*src_to)
            return NULL;
        *src_from = n->src;
    }
    gs_node *c = node_alloc(doc, n->kind, *src_to, n->line, n->col, n->from_set);
    if (!c)
        return NULL;
    c->quoted = n->quoted;
    c->is_default = n->is_default;
    if (n->kind == GS_NODE_SCALAR) {
        c->value = arena_strndup(doc, n->value, strlen(n->value));
        return c->value ? c : NULL;
    }
    c->len = c->cap = n->len;
    if (!n->len)
        return c;
    c->items = arena_alloc(doc, n->len * sizeof *c->items);
    if (!c->items)
        return NULL;
    if (n->kind == GS_NODE_MAP) {
        c->keys = arena_alloc(doc, n->len * sizeof *c->keys);
        if (!c->keys)
            return NULL;
    }
    for (size_t i = 0; i < n->len; i++) {
        if (n->kind == GS_NODE_MAP &&
            !(c->keys[i] = copy_node(doc, n->keys[i], src_from, src_to, depth + 1)))
            return NULL;
        if (!(c->items[i] = copy_node(doc, n->items[i], src_from, src_to, depth + 1)))
            return NULL;
    }
    return c;
}

int gs_doc_apply_node(gs_doc *doc, const char *path, const gs_node *value,
                      const gs_node *where, gs_diag *d)
{
    char prefix[GS_DIAG_MSG / 2];
    if (where && where->from_set)
        snprintf(prefix, sizeof prefix, "%s: '%s'", where->src, path);
    else if (where)
        snprintf(prefix, sizeof prefix, "%s:%d:%d: '%s'", where->src, where->line, where->col,
                 path);
    else
        snprintf(prefix, sizeof prefix, "'%s'", path);
    const char *src_from = NULL;
    char *src_to = NULL;
    gs_node *c = copy_node(doc, value, &src_from, &src_to, 0);
    if (!c)
        return gs_error(d, GS_ENOMEM, "out of memory (or a value nested deeper than %d "
                        "levels)", MAX_DEPTH);
    return set_path(doc, path, strlen(path), c, prefix, d);
}

/* --------------------------------------------------------------- emitting */

static int emit_event(yaml_emitter_t *e, yaml_event_t *ev)
{
    return yaml_emitter_emit(e, ev) ? GS_OK
                                    : e->error == YAML_MEMORY_ERROR ? GS_ENOMEM : GS_EIO;
}

static int emit_node(yaml_emitter_t *e, const gs_node *n)
{
    yaml_event_t ev;
    int rc;
    switch (n->kind) {
    case GS_NODE_SCALAR: {
        size_t len = strlen(n->value);
        if (len > INT_MAX)
            return GS_EIO;
        /* libyaml picks plain when the text reads back the same and quotes
         * otherwise; a value written in quotes stays a string, and one of
         * several lines is written as a block (libyaml falls back to quotes
         * where a block cannot hold it exactly). */
        yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;
        if (n->quoted)
            style = memchr(n->value, '\n', len) ? YAML_LITERAL_SCALAR_STYLE
                                                : YAML_SINGLE_QUOTED_SCALAR_STYLE;
        if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (const yaml_char_t *)n->value,
                                          (int)len, 1, 1, style))
            return GS_ENOMEM;
        return emit_event(e, &ev);
    }
    case GS_NODE_MAP:
        if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE))
            return GS_ENOMEM;
        if ((rc = emit_event(e, &ev)))
            return rc;
        for (size_t i = 0; i < n->len; i++)
            if ((rc = emit_node(e, n->keys[i])) || (rc = emit_node(e, n->items[i])))
                return rc;
        if (!yaml_mapping_end_event_initialize(&ev))
            return GS_ENOMEM;
        return emit_event(e, &ev);
    case GS_NODE_SEQ:
        if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                                  YAML_BLOCK_SEQUENCE_STYLE))
            return GS_ENOMEM;
        if ((rc = emit_event(e, &ev)))
            return rc;
        for (size_t i = 0; i < n->len; i++)
            if ((rc = emit_node(e, n->items[i])))
                return rc;
        if (!yaml_sequence_end_event_initialize(&ev))
            return GS_ENOMEM;
        return emit_event(e, &ev);
    }
    return GS_EINTERNAL;
}

int gs_doc_emit(const gs_doc *doc, FILE *f)
{
    yaml_emitter_t e;
    yaml_event_t ev;
    if (!yaml_emitter_initialize(&e))
        return GS_ENOMEM;
    yaml_emitter_set_output_file(&e, f);
    yaml_emitter_set_unicode(&e, 1);
    yaml_emitter_set_indent(&e, 2);
    /* Never fold long values: a folded plain scalar reads back the same but
     * is harder to grep. */
    yaml_emitter_set_width(&e, -1);
    int rc = GS_ENOMEM;
    if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) ||
        (rc = emit_event(&e, &ev)))
        goto out_delete;
    rc = GS_ENOMEM;
    if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) ||
        (rc = emit_event(&e, &ev)))
        goto out_delete;
    if ((rc = emit_node(&e, doc->root)))
        goto out_delete;
    rc = GS_ENOMEM;
    if (!yaml_document_end_event_initialize(&ev, 1) || (rc = emit_event(&e, &ev)))
        goto out_delete;
    rc = GS_ENOMEM;
    if (!yaml_stream_end_event_initialize(&ev) || (rc = emit_event(&e, &ev)))
        goto out_delete;
    rc = yaml_emitter_flush(&e) && fflush(f) == 0 && !ferror(f) ? GS_OK : GS_EIO;
out_delete:
    yaml_emitter_delete(&e);
    return rc;
}
