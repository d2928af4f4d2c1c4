/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the replace of a placed device's PASID (pasid-hwpts.c), for
 * the address space's calls (as-pasid.c, as-viommu.c). The attach, detach
 * and checks are in container-internal.h.
 */
#ifndef VFI_CONTAINER_PASID_H
#define VFI_CONTAINER_PASID_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "container-internal.h"

/* Move the attached @pasid of @cd's device onto the HWPT @to_id (a nested
 * HWPT the caller owns and checked), or with @to_id 0 back onto a PASID
 * HWPT of the container (shared, or made for it: refused with WRONG_STATE
 * before any ioctl while a tracking session is on and none is shared). The
 * PASID HWPT it leaves loses a user (the last destroys it). On failure of
 * the replace nothing changed; a destroy refused after it leaves the PASID
 * moved and the HWPT without users in the list (the container's cleanup
 * destroys it), with the error. */
bool vfi_container_replace_pasid(VfiContainerDevice *cd, uint32_t pasid, uint32_t to_id,
                                 GError **errp);

/* Whether @cd's device is on the pt @pt_id: its RID's nested HWPT, or one
 * of its PASIDs. */
bool vfi_container_device_uses_pt(const VfiContainerDevice *cd, uint32_t pt_id);

#endif
