/* Values with units (SPEC §2) and typed readers for scenario keys.
 *
 * A number is written in decimal only: an optional sign, digits with an
 * optional fraction, an optional exponent. The syntax is checked by hand
 * before strtod() converts it, because strtod() would also take "inf",
 * "nan" and hexadecimal floats, none of which a scenario means. Every
 * result is finite: overflow in strtod() and a unit that overflows the
 * conversion (1e307h) are refused rather than turned into infinities that
 * would poison the simulation later. Readers report at the value's
 * position; gs_cfg_* insert the documented default into the tree when a key
 * is absent, so the printed scenario shows what a run uses. */
#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "node.h"

#define EXPECT_TIME "a time such as 250us, 5ms, 2s, 10m or 1h (or a number of seconds)"
#define EXPECT_RATE "a rate such as 800/s, 50/ms or 3000/m (or a number per second)"
#define EXPECT_LONG "an integer"
#define EXPECT_DOUBLE "a number"
#define EXPECT_BOOL "true or false"

typedef struct unit {
    const char *name;
    double      seconds;
} unit;

/* Both spellings of the micro sign: U+00B5 (keyboards) and U+03BC (Greek). */
static const unit time_units[] = {
    {"ns", 1e-9}, {"us", 1e-6}, {"\xc2\xb5s", 1e-6}, {"\xce\xbcs", 1e-6}, {"ms", 1e-3},
    {"s", 1.0},   {"m", 60.0},  {"min", 60.0},       {"h", 3600.0},
};

static const char *skip_space(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

/* Length of the decimal number at the start of s, or 0. */
static size_t scan_number(const char *s)
{
    size_t i = 0, digits = 0;
    if (s[i] == '+' || s[i] == '-')
        i++;
    while (isdigit((unsigned char)s[i])) {
        i++;
        digits++;
    }
    if (s[i] == '.') {
        i++;
        while (isdigit((unsigned char)s[i])) {
            i++;
            digits++;
        }
    }
    if (!digits)
        return 0;
    if (s[i] == 'e' || s[i] == 'E') {
        size_t j = i + 1;
        if (s[j] == '+' || s[j] == '-')
            j++;
        if (isdigit((unsigned char)s[j])) {
            while (isdigit((unsigned char)s[j]))
                j++;
            i = j;
        }
    }
    return i;
}

/* Parse the number at the start of text (after blanks); *rest is what
 * follows it. -1 when there is no number or it overflows a double. */
static int parse_number(const char *text, double *v, const char **rest)
{
    const char *s = skip_space(text);
    size_t n = scan_number(s);
    if (!n)
        return -1;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    /* Underflow (1e-400) is a harmless zero; overflow is not a value. */
    if (end != s + n || (errno == ERANGE && fabs(x) == HUGE_VAL) || !isfinite(x))
        return -1;
    *v = x;
    *rest = s + n;
    return 0;
}

/* Seconds per unit for the text from s up to trailing blanks; an empty unit
 * is `dflt`. -1 when unknown. */
static int parse_unit(const char *s, double dflt, double *seconds)
{
    s = skip_space(s);
    size_t len = strlen(s);
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (!len) {
        *seconds = dflt;
        return dflt > 0 ? 0 : -1;
    }
    for (size_t i = 0; i < sizeof time_units / sizeof time_units[0]; i++)
        if (strlen(time_units[i].name) == len && strncmp(time_units[i].name, s, len) == 0) {
            *seconds = time_units[i].seconds;
            return 0;
        }
    return -1;
}

int gs_parse_time(const char *text, double *seconds)
{
    double v, unit_s;
    const char *rest;
    if (!text || parse_number(text, &v, &rest) || parse_unit(rest, 1.0, &unit_s))
        return -1;
    v *= unit_s;
    if (!isfinite(v))
        return -1;
    *seconds = v;
    return 0;
}

int gs_parse_rate(const char *text, double *per_s)
{
    double v, unit_s = 1.0;
    const char *rest;
    if (!text || parse_number(text, &v, &rest))
        return -1;
    rest = skip_space(rest);
    if (*rest == '/') {
        /* A unit is required after the slash: "800/" is a typo. */
        if (parse_unit(rest + 1, -1.0, &unit_s))
            return -1;
    } else if (*rest) {
        return -1;
    }
    v /= unit_s;
    if (!isfinite(v))
        return -1;
    *per_s = v;
    return 0;
}

/* n must be a scalar with a value; expect says what was wanted. */
static int need_value(const gs_node *n, const char *what, const char *expect, gs_diag *d)
{
    if (!n)
        return gs_error(d, GS_EINVAL, "%s: missing value; expected %s", what, expect);
    if (n->kind != GS_NODE_SCALAR)
        return gs_error_at(d, n, "%s: expected a scalar value, found %s", what,
                           gs_node_kind_name(n->kind));
    if (!n->value[0] || gs_node_is_null(n))
        return gs_error_at(d, n, "%s: missing value; expected %s", what, expect);
    return GS_OK;
}

static int bad(const gs_node *n, const char *what, const char *expect, gs_diag *d)
{
    return gs_error_at(d, n, "%s: expected %s, got '%s'", what, expect, n->value);
}

/* A time that the nanosecond clock cannot hold would be clamped to its end
 * by gs_time_from_s(), so a scenario asking for 1e10s would silently run
 * for 292 years instead; it is refused. positive: 0 is refused too, and the
 * message for a negative time names that bound rather than ">= 0". */
static int read_seconds(const gs_node *n, const char *what, int positive, double *out,
                        gs_diag *d)
{
    int rc = need_value(n, what, EXPECT_TIME, d);
    if (rc)
        return rc;
    double s;
    if (gs_parse_time(n->value, &s))
        return bad(n, what, EXPECT_TIME, d);
    if (positive ? !(s > 0) : s < 0)
        return gs_error_at(d, n, "%s: must be %s, got %s", what, positive ? "> 0" : ">= 0",
                           n->value);
    if (s > GS_SECONDS_MAX)
        return gs_error_at(d, n, "%s: at most %.0fs (292 years), got %s", what,
                           GS_SECONDS_MAX, n->value);
    *out = s + 0.0; /* -0s reads as 0 */
    return GS_OK;
}

int gs_node_seconds(const gs_node *n, const char *what, double *out, gs_diag *d)
{
    return read_seconds(n, what, 0, out, d);
}

int gs_node_seconds_pos(const gs_node *n, const char *what, double *out, gs_diag *d)
{
    return read_seconds(n, what, 1, out, d);
}

int gs_node_rate(const gs_node *n, const char *what, double *out, gs_diag *d)
{
    int rc = need_value(n, what, EXPECT_RATE, d);
    if (rc)
        return rc;
    double r;
    if (gs_parse_rate(n->value, &r))
        return bad(n, what, EXPECT_RATE, d);
    if (!(r > 0))
        return gs_error_at(d, n, "%s: must be > 0, got %s", what, n->value);
    *out = r;
    return GS_OK;
}

int gs_node_long(const gs_node *n, const char *what, long *out, gs_diag *d)
{
    int rc = need_value(n, what, EXPECT_LONG, d);
    if (rc)
        return rc;
    const char *s = skip_space(n->value);
    size_t i = (*s == '+' || *s == '-') ? 1 : 0;
    size_t digits = 0;
    while (isdigit((unsigned char)s[i + digits]))
        digits++;
    if (!digits || *skip_space(s + i + digits))
        return bad(n, what, EXPECT_LONG, d);
    errno = 0;
    long v = strtol(s, NULL, 10);
    if (errno == ERANGE)
        return gs_error_at(d, n, "%s: expected an integer between %ld and %ld, got '%s'", what,
                           LONG_MIN, LONG_MAX, n->value);
    *out = v;
    return GS_OK;
}

int gs_node_double(const gs_node *n, const char *what, double *out, gs_diag *d)
{
    int rc = need_value(n, what, EXPECT_DOUBLE, d);
    if (rc)
        return rc;
    double v;
    const char *rest;
    if (parse_number(n->value, &v, &rest) || *skip_space(rest))
        return bad(n, what, EXPECT_DOUBLE, d);
    *out = v;
    return GS_OK;
}

int gs_node_bool(const gs_node *n, const char *what, int *out, gs_diag *d)
{
    static const char *const yes[] = {"true", "yes", "on"};
    static const char *const no[] = {"false", "no", "off"};
    int rc = need_value(n, what, EXPECT_BOOL, d);
    if (rc)
        return rc;
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(n->value, yes[i]) == 0) {
            *out = 1;
            return GS_OK;
        }
        if (strcasecmp(n->value, no[i]) == 0) {
            *out = 0;
            return GS_OK;
        }
    }
    return gs_error_at(d, n, "%s: expected true or false (or yes/no, on/off), got '%s'", what,
                       n->value);
}

int gs_node_str(const gs_node *n, const char *what, const char **out, gs_diag *d)
{
    if (!n)
        return gs_error(d, GS_EINVAL, "%s: missing value; expected a string", what);
    if (n->kind != GS_NODE_SCALAR)
        return gs_error_at(d, n, "%s: expected a scalar value, found %s", what,
                           gs_node_kind_name(n->kind));
    /* YAML reads `class: ~` as no value, not as the text "~"; taking the text
     * would make a class, a name or a file called "~". Quoted "~" is a
     * string and passes. */
    if (gs_node_is_null(n))
        return gs_error_at(d, n, "%s: expected a string, got nothing (a YAML null)", what);
    *out = n->value;
    return GS_OK;
}

int gs_cfg_node(gs_doc *doc, gs_node *map, const char *key, const char *dflt,
                    gs_node **out, gs_diag *d)
{
    if (!map)
        return gs_error(d, GS_EINVAL, "missing required key '%s'", key);
    if (map->kind != GS_NODE_MAP)
        return gs_error_at(d, map, "expected a mapping with key '%s', found %s", key,
                           gs_node_kind_name(map->kind));
    gs_node *n = gs_map_get(map, key);
    if (!n) {
        if (!dflt)
            return gs_error_at(d, map, "missing required key '%s'", key);
        n = gs_node_new_scalar(doc, dflt, map);
        if (!n || !gs_map_set(doc, map, key, n))
            return gs_error(d, GS_ENOMEM, "out of memory");
    }
    *out = n;
    return GS_OK;
}

int gs_cfg_seconds(gs_doc *doc, gs_node *map, const char *key, const char *dflt,
                   double *out, gs_diag *d)
{
    gs_node *n = NULL;
    int rc = gs_cfg_node(doc, map, key, dflt, &n, d);
    return rc ? rc : gs_node_seconds(n, key, out, d);
}

int gs_cfg_seconds_pos(gs_doc *doc, gs_node *map, const char *key, const char *dflt,
                       double *out, gs_diag *d)
{
    gs_node *n = NULL;
    int rc = gs_cfg_node(doc, map, key, dflt, &n, d);
    return rc ? rc : gs_node_seconds_pos(n, key, out, d);
}

int gs_cfg_rate(gs_doc *doc, gs_node *map, const char *key, const char *dflt, double *out,
                gs_diag *d)
{
    gs_node *n = NULL;
    int rc = gs_cfg_node(doc, map, key, dflt, &n, d);
    return rc ? rc : gs_node_rate(n, key, out, d);
}

int gs_cfg_long(gs_doc *doc, gs_node *map, const char *key, const char *dflt, long *out,
                gs_diag *d)
{
    gs_node *n = NULL;
    int rc = gs_cfg_node(doc, map, key, dflt, &n, d);
    return rc ? rc : gs_node_long(n, key, out, d);
}

int gs_cfg_u32_range(gs_doc *doc, gs_node *map, const char *key, const char *dflt, long lo,
                     long hi, uint32_t *out, gs_diag *d)
{
    long v;
    int rc = gs_cfg_long(doc, map, key, dflt, &v, d);
    if (rc)
        return rc;
    if (v < lo || v > hi)
        return gs_error_at(d, gs_map_get(map, key), "%s: must be between %ld and %ld, got %ld",
                           key, lo, hi, v);
    *out = (uint32_t)v;
    return GS_OK;
}

int gs_cfg_double(gs_doc *doc, gs_node *map, const char *key, const char *dflt,
                  double *out, gs_diag *d)
{
    gs_node *n = NULL;
    int rc = gs_cfg_node(doc, map, key, dflt, &n, d);
    return rc ? rc : gs_node_double(n, key, out, d);
}

int gs_cfg_bool(gs_doc *doc, gs_node *map, const char *key, const char *dflt, int *out,
                gs_diag *d)
{
    gs_node *n = NULL;
    int rc = gs_cfg_node(doc, map, key, dflt, &n, d);
    return rc ? rc : gs_node_bool(n, key, out, d);
}

int gs_cfg_str(gs_doc *doc, gs_node *map, const char *key, const char *dflt,
               const char **out, gs_diag *d)
{
    gs_node *n = NULL;
    int rc = gs_cfg_node(doc, map, key, dflt, &n, d);
    return rc ? rc : gs_node_str(n, key, out, d);
}
