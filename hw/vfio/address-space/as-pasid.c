/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the PASIDs of an address space's devices (see
 * include/vfio-iommufd/as-pasid.h). The container decides and keeps the
 * HWPTs (container/pasid-hwpts.c); this is the address space's entry.
 */
#include "vfio-iommufd/as-pasid.h"
#include "vfio-iommufd/error.h"
#include "address-space-internal.h"
#include "container/container-pasid.h"
#include "as-viommu-internal.h"
#include "trace.h"

/* The attach (@attach) or detach of @pasid of @dev, its checks first. */
static bool as_pasid(VfiAddressSpace *as, VfiDevice *dev, uint32_t pasid, bool attach,
                     GError **errp)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));
    const char *what = attach ? "attach_pasid" : "detach_pasid";
    VfiContainerDevice *cd = vfi_as_device(as, dev, what, errp);

    if (!cd || !vfi_container_check_pasid(cd, what, pasid, !attach, errp)) {
        return false;
    }
    trace_vfi_as_pasid(as->id, vfi_device_get_display_name(dev), pasid, what);
    return attach ? vfi_container_attach_pasid(cd, pasid, errp)
                  : vfi_container_detach_pasid(cd, pasid, errp);
}

bool vfi_address_space_attach_pasid(VfiAddressSpace *as, VfiDevice *dev, uint32_t pasid,
                                    GError **errp)
{
    return as_pasid(as, dev, pasid, true, errp);
}

bool vfi_address_space_detach_pasid(VfiAddressSpace *as, VfiDevice *dev, uint32_t pasid,
                                    GError **errp)
{
    return as_pasid(as, dev, pasid, false, errp);
}

bool vfi_address_space_replace_pasid(VfiAddressSpace *as, VfiDevice *dev, uint32_t pasid,
                                     VfiNestedHwpt *hwpt, GError **errp)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));
    VfiContainerDevice *cd = vfi_as_device(as, dev, "replace_pasid", errp);
    uint32_t to = 0;

    if (!cd || !vfi_container_check_pasid(cd, "replace_pasid", pasid, true, errp)) {
        return false;
    }
    if (hwpt && !(to = vfi_as_viommu_pasid_target(as, cd, hwpt, errp))) {
        return false;
    }
    trace_vfi_as_pasid(as->id, vfi_device_get_display_name(dev), pasid,
                       hwpt ? "replace onto a nested HWPT" : "replace back onto a PASID HWPT");
    return vfi_container_replace_pasid(cd, pasid, to, errp);
}
