/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the PASIDs of an address space's devices (see
 * include/vfio-iommufd/as-pasid.h). The container decides and keeps the
 * HWPTs (container/pasid-hwpts.c); this is the address space's entry.
 */
#include "vfio-iommufd/as-pasid.h"
#include "vfio-iommufd/error.h"
#include "address-space-internal.h"
#include "trace.h"

bool vfi_address_space_attach_pasid(VfiAddressSpace *as, VfiDevice *dev, uint32_t pasid,
                                    GError **errp)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));
    VfiContainerDevice *cd = vfi_as_device(as, dev, "attach_pasid", errp);

    if (!cd || !vfi_container_check_pasid(cd, "attach_pasid", pasid, false, errp)) {
        return false;
    }
    trace_vfi_as_pasid(as->id, vfi_device_get_display_name(dev), pasid, "attach");
    return vfi_container_attach_pasid(cd, pasid, errp);
}

bool vfi_address_space_detach_pasid(VfiAddressSpace *as, VfiDevice *dev, uint32_t pasid,
                                    GError **errp)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));
    VfiContainerDevice *cd = vfi_as_device(as, dev, "detach_pasid", errp);

    if (!cd || !vfi_container_check_pasid(cd, "detach_pasid", pasid, true, errp)) {
        return false;
    }
    trace_vfi_as_pasid(as->id, vfi_device_get_display_name(dev), pasid, "detach");
    return vfi_container_detach_pasid(cd, pasid, errp);
}
