/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: a device of a container on a nested (stage-1) HWPT
 * (container-internal.h). The device stays in its nest parent's lists: its
 * DMA maps still go to the IOAS and its dirty tracking is the parent's
 * (the kernel tracks the parent's writes whatever stage-1 is above it);
 * only which HWPT the kernel attached it to changes, recorded in @stage1_id
 * of its VfiContainerDevice after the kernel said yes.
 */
#include "config.h"
#include "container-internal.h"
#include "trace.h"

uint32_t vfi_container_device_get_stage1(const VfiContainerDevice *cd)
{
    return cd ? cd->stage1_id : 0;
}

bool vfi_container_device_set_stage1(VfiContainerDevice *cd, uint32_t stage1_id,
                                     GError **errp)
{
    const char *name = vfi_device_get_display_name(cd->dev);

    if (!cd->hwpt || !(cd->hwpt->flags & IOMMU_HWPT_ALLOC_NEST_PARENT)) {
        trace_vfi_container_stage1_refused(name, "not on a nest parent");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "device %s (ioas %u hwpt %u) is not on a nest-parent HWPT: attach it "
                    "with a nest parent (VfiAttachOptions.nest_parent)", name,
                    cd->container->ioas_id, cd->hwpt ? cd->hwpt->id : 0);
        return false;
    }
    if (cd->stage1_id == stage1_id) {
        trace_vfi_container_stage1(name, cd->hwpt->id, stage1_id, "already there");
        return true;
    }
    if (!vfi_device_replace_owned(cd->dev, stage1_id ? stage1_id : cd->hwpt->id, errp)) {
        g_prefix_error(errp, "device %s (nest parent hwpt %u): ", name, cd->hwpt->id);
        return false;
    }
    trace_vfi_container_stage1(name, cd->hwpt->id, stage1_id,
                               stage1_id ? "on the nested HWPT" : "back on its nest parent");
    cd->stage1_id = stage1_id;
    return true;
}
