/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: what as-viommu.c gives the other files of the address
 * space that deal with its vIOMMU objects (as-pasid.c). The rest of
 * as-viommu.c's internal calls are in address-space-internal.h.
 */
#ifndef VFI_AS_VIOMMU_INTERNAL_H
#define VFI_AS_VIOMMU_INTERNAL_H

#include <stdint.h>
#include <glib.h>

#include "vfio-iommufd/viommu.h"
#include "address-space-internal.h"
#include "container/container-internal.h"

/* The id of @hwpt for a PASID of @cd's device (as-pasid.c's replace): a
 * nested HWPT @as made with IOMMU_HWPT_ALLOC_PASID, of the device's nest
 * parent or its vIOMMU; 0 with the error (no ioctl) otherwise. */
uint32_t vfi_as_viommu_pasid_target(VfiAddressSpace *as, VfiContainerDevice *cd,
                                    VfiNestedHwpt *hwpt, GError **errp);

#endif
