/* The scenario tree: a YAML document loaded with libyaml into nodes that keep
 * their source position, so that every later error can name FILE:LINE:COL.
 *
 * All nodes of a document live in the document and are freed with it.
 * Aliases are expanded by sharing the anchored node; the expanded size is
 * bounded (GS_DOC_MAX_NODES) so that an alias bomb is an error, not an
 * exhausted machine. */
#ifndef GS_SIM_NODE_H
#define GS_SIM_NODE_H

#include <stddef.h>
#include <stdio.h>
#include "types.h"

/* Upper bound on the number of nodes of a document counted with every alias
 * expanded. */
#define GS_DOC_MAX_NODES 1000000L

typedef enum gs_node_kind {
    GS_NODE_SCALAR,
    GS_NODE_MAP,
    GS_NODE_SEQ
} gs_node_kind;

struct gs_node {
    gs_node_kind kind;
    int          line, col;  /* 1-based position of the node in src */
    const char  *src;        /* file path, or "--set PATH=VALUE" for overrides */
    int          from_set;   /* 1: came from a --set override */
    int          quoted;     /* scalar written in quotes (a string, never a number) */
    int          is_default; /* 1: inserted by the loader as a default value */
    char        *value;      /* scalar text (NUL-terminated); NULL for MAP/SEQ */
    size_t       len;        /* map pairs or sequence items */
    size_t       cap;
    gs_node    **keys;       /* MAP: key nodes (scalars), parallel to items */
    gs_node    **items;      /* MAP: values; SEQ: items */
    int          shared;     /* 1: reachable by more than one path (an anchor that
                              * an alias names); --set copies it before changing
                              * it, so an override changes only its own path */
};

typedef struct gs_doc gs_doc;

/* Load a YAML file. On success *out is the document (caller frees with
 * gs_doc_free()); on failure *out is NULL. Errors (GS_EINVAL for content,
 * GS_EIO for an unreadable file, GS_ENOMEM) are reported in d as
 * "PATH:LINE:COL: ...": YAML syntax errors, an empty file, a top level that
 * is not a mapping, duplicate keys, non-scalar keys, multiple documents,
 * undefined or recursive aliases, nesting deeper than 256 levels, and alias
 * expansion beyond GS_DOC_MAX_NODES. Scalars are kept as text; `quoted` is
 * set for every non-plain scalar (quoted or block) and for an explicit !!str.
 * Aliases share the anchored node (an alias is not a copy). */
int gs_doc_load_file(const char *path, gs_doc **out, gs_diag *d);

/* Same as gs_doc_load_file() for text in memory; src names it in messages. */
int gs_doc_load_string(const char *text, size_t len, const char *src,
                       gs_doc **out, gs_diag *d);

void gs_doc_free(gs_doc *doc);

/* The root mapping; never NULL for a loaded document. */
gs_node *gs_doc_root(const gs_doc *doc);

/* Source name given at load time (the file path). */
const char *gs_doc_src(const gs_doc *doc);

/* Apply one "--set PATH=VALUE" override. PATH is dot-separated: mapping keys,
 * and sequence items by 0-based index or by the value of the item's "name"
 * key (workload.chat.arrivals.rate). A missing final key (and missing
 * intermediate mapping keys, and null ones such as "network:") are created.
 * VALUE is parsed as YAML (flow mappings such as {dist: exponential, mean:
 * 1ms} are allowed; an empty VALUE is an empty scalar); its nodes get
 * src = "--set PATH=VALUE" and from_set = 1. A node on the path that aliases
 * share is copied first, so the override changes only the path it names.
 * Errors (GS_EINVAL, GS_ENOMEM) name the override: "--set PATH=VALUE: ...";
 * on error the tree may hold equal copies or empty mappings made on the way
 * (callers discard the document). */
int gs_doc_apply_set(gs_doc *doc, const char *assignment, gs_diag *d);

/* The same with the value a node of another document (a sweep file's grid
 * value, SPEC §6): it is copied into doc with its own positions, so that
 * what the scenario later finds wrong with it names that file's line and
 * column. Errors in the path itself (an item that does not exist, a path
 * through a scalar) are reported as "SRC:LINE:COL: 'PATH': ..." at where
 * (the grid key; may be NULL). GS_EINVAL or GS_ENOMEM. */
int gs_doc_apply_node(gs_doc *doc, const char *path, const gs_node *value,
                      const gs_node *where, gs_diag *d);

/* Write the document as block-style YAML (keys in document order) to f,
 * aliases expanded (so defaults inserted into a shared node show at each
 * use). Quoted scalars stay quoted; libyaml quotes others only where plain
 * text would read back differently. Loading the output gives an equal tree.
 * Returns GS_OK, GS_EIO (write error) or GS_ENOMEM. */
int gs_doc_emit(const gs_doc *doc, FILE *f);

/* The key under which value sits in doc (the first one in document order
 * when aliases share value), or NULL (the root, a sequence item, a node not
 * in doc, a NULL doc). Walks the whole tree: for error messages of readers
 * that were handed a value without its key. The text lives in doc. */
const char *gs_doc_key_of(const gs_doc *doc, const gs_node *value);

/* Value of key in a mapping, or NULL when absent (or when map is not a
 * mapping). */
gs_node *gs_map_get(const gs_node *map, const char *key);

/* Key node of key in a mapping (for positions), or NULL. */
gs_node *gs_map_key(const gs_node *map, const char *key);

/* Insert key -> value at the end of map, or replace the value of an existing
 * key. A new key node is placed like value. Returns value, or NULL when out
 * of memory (or when map is not a mapping). The change is made in place: on
 * a node that aliases share it shows at every use. */
gs_node *gs_map_set(gs_doc *doc, gs_node *map, const char *key, gs_node *value);

/* New scalar owned by doc; its position is copied from pos (may be NULL) and
 * it is marked is_default. NULL when out of memory. */
gs_node *gs_node_new_scalar(gs_doc *doc, const char *text, const gs_node *pos);

/* New empty mapping owned by doc, positioned like pos (may be NULL) and
 * marked is_default. NULL when out of memory. */
gs_node *gs_node_new_map(gs_doc *doc, const gs_node *pos);

/* Every key of map must be in allowed (NULL-terminated). The first key that
 * is not gives, at the key's position:
 *   "unknown key 'sevrers' in WHAT (did you mean 'servers'?); expected one of:
 *    servers, capacity, ..."
 * and GS_EINVAL. When map is not a mapping: "expected a mapping for WHAT,
 * found a scalar" at the node. A NULL map (an absent section) passes. */
int gs_map_check_keys(const gs_node *map, const char *const *allowed,
                      const char *what, gs_diag *d);

/* 1 when n is a plain scalar that YAML reads as null: empty, ~, null, Null,
 * NULL. Quoted scalars are never null. */
int gs_node_is_null(const gs_node *n);

/* "a mapping", "a sequence" or "a scalar". */
const char *gs_node_kind_name(gs_node_kind kind);

/* Closest candidate to word (case-insensitive optimal-string-alignment edit
 * distance, a transposition counting 1, at most max(2, strlen(word)/3); the
 * first one wins a tie), or NULL when none is close. candidates is
 * NULL-terminated. */
const char *gs_suggest(const char *word, const char *const *candidates);

#endif
