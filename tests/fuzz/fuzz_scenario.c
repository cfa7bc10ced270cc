/* libFuzzer target for the scenario loader (docs/fuzzing.md).
 *
 * The input bytes are a scenario file. Properties checked, beyond "no
 * crash, leak, hang or sanitizer report": a failed load returns a known
 * GS_E* code with a non-empty message, and a scenario that loads emits a
 * resolved form (gs_scenario_emit) that loads again and emits the same
 * text, because `gatesim check` prints that form for users to run. A
 * broken property traps, which libFuzzer reports as a crash. The
 * simulation is never run: the target is the loader alone.
 *
 * Leading lines "#set PATH=VALUE" (YAML comments, at most FUZZ_MAX_SETS)
 * are also passed as --set overrides, so that the override parser is
 * fuzzed with the document it changes; the resolved form holds their
 * effect and is reloaded without them.
 *
 * The scenario is named scenarios/fuzz.yaml, so run the target from the
 * repository root: relative data files (traces/..., kernels/profiles/...)
 * then resolve as they do for the shipped scenarios. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/alloc.h"
#include "sim/error.h"
#include "sim/scenario.h"

/* Larger inputs only slow the fuzzer down; scripts/fuzz.sh passes the
 * same -max_len. */
#define FUZZ_MAX_LEN 16384

#define FUZZ_SRC "scenarios/fuzz.yaml"

#define FUZZ_MAX_SETS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, const gs_diag *d, const char *text)
{
    fprintf(stderr, "fuzz_scenario: %s\n  diag: %s\n  text:\n%s\n", what, d->msg,
            text ? text : "");
    __builtin_trap();
}

static int known_code(int rc)
{
    return rc == GS_EINVAL || rc == GS_ENOMEM || rc == GS_EIO;
}

/* The resolved text of sc; caller frees with free() (open_memstream). */
static char *emit(const gs_scenario *sc, const gs_diag *d)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        fail("open_memstream failed", d, NULL);
    if (gs_scenario_emit(sc, f) != GS_OK)
        fail("gs_scenario_emit failed", d, NULL);
    if (fclose(f) != 0)
        fail("fclose of the memory stream failed", d, NULL);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_LEN)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    /* The overrides are copies cut at their line ends; the text keeps the
     * lines, which YAML reads as comments. */
    char *setbuf = malloc(size + 1);
    const char *sets[FUZZ_MAX_SETS];
    size_t nsets = 0;
    if (!setbuf) {
        free(text);
        return 0;
    }
    memcpy(setbuf, text, size + 1);
    for (char *line = setbuf; nsets < FUZZ_MAX_SETS && strncmp(line, "#set ", 5) == 0;) {
        char *end = strchr(line, '\n');
        sets[nsets++] = line + 5;
        if (!end)
            break;
        *end = '\0';
        line = end + 1;
    }
    /* Warnings are for people; the fuzzer would print thousands. */
    gs_warn_mute(1);
    gs_diag d;
    gs_diag_init(&d);
    gs_scenario *sc = NULL;
    int rc = gs_scenario_load_string(text, FUZZ_SRC, sets, nsets, &sc, &d);
    if (rc != GS_OK) {
        if (!known_code(rc) || d.code != rc || !d.msg[0])
            fail("a failed load must report a GS_E* code and a message", &d, text);
        free(setbuf);
        free(text);
        return 0;
    }
    char *first = emit(sc, &d);
    gs_scenario_free(sc);
    gs_diag_init(&d);
    rc = gs_scenario_load_string(first, FUZZ_SRC, NULL, 0, &sc, &d);
    if (rc != GS_OK)
        fail("the resolved scenario does not load again", &d, first);
    char *second = emit(sc, &d);
    gs_scenario_free(sc);
    if (strcmp(first, second) != 0) {
        fprintf(stderr, "fuzz_scenario: second emit:\n%s\n", second);
        fail("the resolved scenario resolves to something else", &d, first);
    }
    free(second);
    free(first);
    free(setbuf);
    free(text);
    return 0;
}
