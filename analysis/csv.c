/* One CSV field, quoted only when a reader could misread it raw.
 *
 * Plain fields stay unquoted so that the common file (names and numbers)
 * reads naturally and compares byte for byte across versions; quoting and
 * quote doubling are left to libcsv's csv_fwrite() (RFC 4180 rules). */
#include "csv.h"

#include <csv.h>
#include <string.h>

#include "sim/error.h"

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static int needs_quotes(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    if (is_blank(s[0]) || is_blank(s[n - 1]))
        return 1;
    return strpbrk(s, ",\"\r\n") != NULL;
}

int gs_csv_write_field(FILE *f, const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s);
    int bad;
    if (needs_quotes(s, n))
        bad = csv_fwrite(f, s, n) != 0;
    else
        bad = n > 0 && fwrite(s, 1, n, f) != n;
    return bad || ferror(f) ? GS_EIO : GS_OK;
}
