/* Rate-limit settings of token buckets (see bucket.h). */
#include "bucket.h"

#include "sim/error.h"
#include "sim/node.h"
#include "sim/units.h"

static const char *const limit_keys[] = {"rate", "burst", NULL};

int gs__bucket_configure(gs_bucket_conf *bc, gs_build *b, gs_node *map, gs_diag *d)
{
    gs_doc *doc = gs_build_doc(b);
    gs_node *lim = gs_map_get(map, "rate_limit");
    bc->on = 0;
    if (!lim)
        return GS_OK;
    int rc;
    if ((rc = gs_map_check_keys(lim, limit_keys, "rate_limit", d)) ||
        (rc = gs_cfg_rate(doc, lim, "rate", NULL, &bc->rate, d)) ||
        (rc = gs_cfg_double(doc, lim, "burst", "1", &bc->burst, d)))
        return rc;
    if (!(bc->burst >= 1))
        return gs_error_at(d, gs_map_get(lim, "burst"), "burst: must be >= 1 (a bucket that "
                           "cannot hold one token admits nothing), got %s",
                           gs_map_get(lim, "burst")->value);
    bc->on = 1;
    return GS_OK;
}
