/* libFuzzer target for the sweep loader (docs/fuzzing.md).
 *
 * The input bytes are a sweep file named tests/sweep/fuzz.yaml, so run the
 * target from the repository root: bases such as
 * ../../scenarios/single-gateway-basic.yaml (the seeds' form) resolve.
 * gs_sweep_load_string() parses the sweep, reads its bases and loads every
 * base at every grid point, on one thread; nothing is simulated. Beyond "no
 * crash, leak, hang or sanitizer report", a failed load must return a known
 * GS_E* code with a message, and a loaded sweep must describe at least one
 * work item per base and point.
 *
 * Loading checks every base at every point, about 1 ms each under the
 * sanitizers: a valid sweep of a few thousand points, which the grammar
 * lets a hundred bytes ask for through aliases, takes longer than the
 * fuzzer's timeout without anything being wrong (its cost is the
 * documented one, bounded by the 10^6 points limit). Such inputs are
 * skipped after a cheap count on the parsed document, so that a timeout
 * still means a real hang. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/error.h"
#include "sim/node.h"
#include "sim/sweep.h"

#define FUZZ_MAX_LEN 16384

#define FUZZ_SRC "tests/sweep/fuzz.yaml"

/* The most scenario loads (bases times points) an input may ask for. */
#define FUZZ_MAX_LOADS 256.0

/* An upper bound on the bases times the points the sweep text asks for:
 * the product of the grid's list lengths times the longest zip list. Text
 * that does not parse costs nothing to load. */
static double loads(const uint8_t *data, size_t size)
{
    gs_diag d;
    gs_diag_init(&d);
    gs_doc *doc;
    if (gs_doc_load_string((const char *)data, size, FUZZ_SRC, &doc, &d) != GS_OK)
        return 0;
    const gs_node *root = gs_doc_root(doc);
    double n = 1;
    if (root && root->kind == GS_NODE_MAP) {
        const gs_node *base = gs_map_get(root, "base");
        if (base && base->kind == GS_NODE_SEQ)
            n *= (double)base->len;
        const gs_node *grid = gs_map_get(root, "grid");
        if (grid && grid->kind == GS_NODE_MAP)
            for (size_t i = 0; i < grid->len; i++)
                if (grid->items[i]->kind == GS_NODE_SEQ)
                    n *= (double)grid->items[i]->len;
        const gs_node *zip = gs_map_get(root, "zip");
        size_t longest = 1;
        if (zip && zip->kind == GS_NODE_MAP)
            for (size_t i = 0; i < zip->len; i++)
                if (zip->items[i]->kind == GS_NODE_SEQ && zip->items[i]->len > longest)
                    longest = zip->items[i]->len;
        n *= (double)longest;
    }
    gs_doc_free(doc);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_LEN || loads(data, size) > FUZZ_MAX_LOADS)
        return 0;
    gs_warn_mute(1);
    gs_diag d;
    gs_diag_init(&d);
    gs_sweep *sw = NULL;
    int rc = gs_sweep_load_string((const char *)data, size, FUZZ_SRC, NULL, 0, 0, -1, 1, &sw,
                                  &d);
    if (rc != GS_OK) {
        if ((rc != GS_EINVAL && rc != GS_ENOMEM && rc != GS_EIO) || d.code != rc || !d.msg[0]) {
            fprintf(stderr, "fuzz_sweep: a failed load must report a GS_E* code and a "
                    "message (rc %d, diag '%s')\n", rc, d.msg);
            __builtin_trap();
        }
        return 0;
    }
    if (sw->nbases < 1 || sw->npoints < 1 ||
        sw->nitems < (long)(sw->nbases * sw->npoints)) {
        fprintf(stderr, "fuzz_sweep: loaded sweep with %zu bases, %zu points, %ld items\n",
                sw->nbases, sw->npoints, sw->nitems);
        __builtin_trap();
    }
    gs_sweep_free(sw);
    return 0;
}
