/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd kernel model: nest-parent HWPTs, as the drivers of Linux 7.3
 * answer them (each IOMMU instance says which, VfiSimIommuConfig):
 *  - IOMMU_HWPT_ALLOC_NEST_PARENT needs a driver and IOMMU with nesting
 *    (intel_iommu_domain_alloc_paging_flags(): nested_supported();
 *    arm_smmu_domain_alloc_paging_flags(): ARM_SMMU_FEAT_NESTING; AMD's
 *    is_nest_parent_supported()), else EOPNOTSUPP; the iommufd core has
 *    refused DIRTY_TRACKING without the capability before (EOPNOTSUPP);
 *  - NEST_PARENT | DIRTY_TRACKING: Intel, AMD and the selftest mock take
 *    the pair, ARM SMMUv3 has no case for it (EOPNOTSUPP); a driver may say
 *    EINVAL;
 *  - the VT-d second stage of a nest parent refuses read-only entries
 *    (erratum 772415, vtdss_pt_iommu_set_prot(): EINVAL), so a read-only
 *    mapping cannot enter such a domain: at IOAS_MAP into an IOAS holding
 *    one, or at HWPT_ALLOC (iopt_table_add_domain() fills the new domain).
 */
#include <errno.h>

#include "sim-internal.h"
#include "trace.h"

int sim_nest_parent_alloc_check(const SimIommu *iommu, uint32_t flags)
{
    int err = 0;

    if (!(flags & IOMMU_HWPT_ALLOC_NEST_PARENT)) {
        return 0;
    }
    if (!iommu->cfg.nesting) {
        err = EOPNOTSUPP;
    } else if (flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) {
        err = iommu->cfg.dirty_nest_parent_errno;
    }
    trace_vfi_sim_nest_parent_alloc(iommu->name, flags, err);
    return -err;
}

static bool has_readonly(const SimObj *ioas)
{
    SIM_MAPS_FOREACH_FROM(m, ioas->maps, 0) {
        if (!(m->flags & IOMMU_IOAS_MAP_WRITEABLE)) {
            return true;
        }
    }
    return false;
}

int sim_nest_parent_fill_check(const SimIommu *iommu, const SimObj *ioas, uint32_t flags)
{
    if (!(flags & IOMMU_HWPT_ALLOC_NEST_PARENT) || !iommu->cfg.vtd_errata_772415 ||
        !has_readonly(ioas)) {
        return 0;
    }
    trace_vfi_sim_nest_parent_readonly(ioas->id, "HWPT_ALLOC of a nest parent");
    return -EINVAL;
}

int sim_nest_parent_map_check(SimCtx *ctx, const SimObj *ioas, uint32_t flags)
{
    GHashTableIter it;
    gpointer value;

    if (flags & IOMMU_IOAS_MAP_WRITEABLE) {
        return 0;
    }
    g_hash_table_iter_init(&it, ctx->objects);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        const SimObj *o = value;

        if (o->type == SIM_OBJ_HWPT && o->ioas == ioas &&
            (o->alloc_flags & IOMMU_HWPT_ALLOC_NEST_PARENT) && o->iommu &&
            o->iommu->cfg.vtd_errata_772415) {
            trace_vfi_sim_nest_parent_readonly(ioas->id, "read-only IOAS_MAP");
            return -EINVAL;
        }
    }
    return 0;
}
