/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd kernel model: IOMMU_IOAS_CHANGE_PROCESS (Linux 6.13,
 * iommufd_ioas_change_process()). The pinned pages of every mapping of
 * every IOAS of the context are charged to the calling process from then
 * on. The kernel takes it only when every mapping is from a file
 * (IOMMU_IOAS_MAP_FILE): one mapping of process memory in any IOAS and it
 * refuses with EINVAL, a non-zero reserved field with EOPNOTSUPP; on a
 * refusal nothing changes. The model keeps the charged process per mapping
 * (SimMapping.owner); the check runs over every IOAS before any change.
 */
#include <errno.h>
#include <unistd.h>

#include "config.h"
#include "sim-internal.h"
#include "trace.h"

#if HAVE_IOMMU_IOAS_CHANGE_PROCESS
/* Visit every mapping of every IOAS of @ctx: the first one @fn refuses
 * (non-zero) stops the walk with its result. */
static int for_each_map(SimCtx *ctx, int (*fn)(SimMapping *m, unsigned *n), unsigned *n)
{
    GHashTableIter it;
    gpointer value;

    g_hash_table_iter_init(&it, ctx->objects);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        SimObj *obj = value;

        if (obj->type != SIM_OBJ_IOAS) {
            continue;
        }
        SIM_MAPS_FOREACH_FROM(m, obj->maps, 0) {
            int rc = fn(m, n);

            if (rc) {
                return rc;
            }
        }
    }
    return 0;
}

static int check_file(SimMapping *m, unsigned *n)
{
    (void)n;
    return m->by_file ? 0 : -EINVAL;
}

static int charge_current(SimMapping *m, unsigned *n)
{
    m->owner = getpid();
    (*n)++;
    return 0;
}

int sim_ioas_change_process(SimCtx *ctx, void *arg)
{
    struct iommu_ioas_change_process *cmd = arg;
    unsigned n = 0;
    int rc;

    if (cmd->__reserved) {
        trace_vfi_sim_change_process(ctx->fd, EOPNOTSUPP, 0);
        return -EOPNOTSUPP;
    }
    rc = for_each_map(ctx, check_file, &n);
    if (rc) {
        trace_vfi_sim_change_process(ctx->fd, -rc, 0);
        return rc;
    }
    for_each_map(ctx, charge_current, &n);
    trace_vfi_sim_change_process(ctx->fd, 0, n);
    return 0;
}
#endif
