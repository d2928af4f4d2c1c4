/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: PASIDs of a device an address space placed (docs/nesting.md
 * "PASID").
 *
 * The device must have been attached with VfiAttachOptions.pasid (its own
 * HWPT is then PASID-capable, as the kernel wants beside a PASID). Its
 * container picks the PASID's HWPT: a HWPT allocated with
 * IOMMU_HWPT_ALLOC_PASID on the container's IOAS (so the address space's
 * DMA maps apply), shared by every (device, PASID) of the same IOMMU
 * instance, with IOMMU_HWPT_ALLOC_DIRTY_TRACKING where the device's IOMMU
 * tracks dirty pages and the VMM did not opt out: dirty tracking start and
 * stop and the dirty reads include it, so a migration covers PASID DMA.
 * The last PASID leaving a HWPT destroys it; a device's detach from the
 * address space detaches its PASIDs first; vfi_address_space_free() leaves
 * nothing. vfi_address_space_replace_pasid() moves a PASID onto a nested
 * HWPT of the address space's vIOMMU (<vfio-iommufd/as-viommu.h>: the
 * guest gave the PASID a stage-1 table) and back, with the same counting.
 *
 * Errors (false with @errp set), before any ioctl: INVALID_ARGUMENT for
 * NULLs, PASID 0 or a PASID beyond the device's PASID width (IOMMU_GET_HW_INFO
 * out_max_pasid_log2); NOT_SUPPORTED for a device without PASID support, or
 * in a build whose UAPI headers lack VFIO_DEVICE_ATTACH_PASID /
 * IOMMU_HWPT_ALLOC_PASID (Linux 6.15); WRONG_STATE for a device in no
 * container of the address space, a PASID already attached (attach) or not
 * attached (detach), a device placed without the pasid option, or an attach
 * while a dirty-tracking session is on. VFI_KERNEL_ERROR with the errno
 * otherwise; a failed attach leaves nothing (no HWPT made for it).
 */
#ifndef VFI_AS_PASID_H
#define VFI_AS_PASID_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vfio-iommufd/container.h"
#include "vfio-iommufd/device.h"
#include "vfio-iommufd/viommu.h"
#include "vfio-iommufd/visibility.h"

G_BEGIN_DECLS

/**
 * vfi_address_space_attach_pasid:
 * @as: the address space @dev is attached to.
 * @dev: a device of @as placed with VfiAttachOptions.pasid.
 * @pasid: a PASID not attached yet, non-zero, inside the device's width.
 * @errp: the error.
 *
 * Attach @pasid of @dev to a PASID HWPT of its container (shared, or made
 * for it) with VFIO_DEVICE_ATTACH_PASID. vfi_device_get_pasid_pt() tells
 * which HWPT it is on; the address space owns that HWPT.
 *
 * Returns: true when attached; false with @errp, nothing changed.
 */
VFI_API bool vfi_address_space_attach_pasid(VfiAddressSpace *as, VfiDevice *dev,
                                            uint32_t pasid, GError **errp);

/**
 * vfi_address_space_detach_pasid:
 * @as: the address space @dev is attached to.
 * @dev: a device of @as.
 * @pasid: an attached PASID of @dev.
 * @errp: the error.
 *
 * VFIO_DEVICE_DETACH_PASID of @pasid; its HWPT is destroyed when no PASID
 * uses it any more.
 *
 * Returns: true when detached; false with @errp.
 */
VFI_API bool vfi_address_space_detach_pasid(VfiAddressSpace *as, VfiDevice *dev,
                                            uint32_t pasid, GError **errp);

/**
 * vfi_address_space_replace_pasid:
 * @as: the address space @dev is attached to.
 * @dev: a device of @as with @pasid attached.
 * @pasid: an attached PASID of @dev.
 * @hwpt: a nested HWPT of @as (vfi_address_space_alloc_nested_hwpt() with
 *   IOMMU_HWPT_ALLOC_PASID, on @dev's nest parent or its vIOMMU): the guest
 *   gave the PASID a stage-1 table; NULL: back onto a PASID HWPT of @dev's
 *   container (the guest's PASID entry went back to pass-through).
 * @errp: the error.
 *
 * Move @pasid of @dev with VFIO_DEVICE_ATTACH_PASID on an attached PASID:
 * the kernel replaces its page table, no window of blocked DMA. The PASID
 * HWPT it leaves loses a user and is destroyed by its last one; the way
 * back shares the PASID HWPT of its IOMMU instance or makes one (as
 * vfi_address_space_attach_pasid()). No ioctl when the PASID is there
 * already. While a PASID is on a nested HWPT, vfi_address_space_free_nested_hwpt()
 * of it is refused; @dev's detach detaches the PASID first.
 *
 * Errors before any ioctl, besides those of the attach: INVALID_ARGUMENT
 * for a nested HWPT @as did not make; WRONG_STATE for a PASID not attached,
 * a device without a nest parent (with @hwpt), a nested HWPT of another
 * nest parent or vIOMMU or made without IOMMU_HWPT_ALLOC_PASID, and the
 * way back while a dirty-tracking session is on when no PASID HWPT is
 * shared (a new one would miss DMA until the next start). A refused
 * replace changes nothing. When the PASID HWPT left cannot be destroyed,
 * the PASID is moved all the same and true is returned (the trace event
 * vfi_container_pasid_hwpt_kept says so); the HWPT stays without users
 * and is destroyed with its container.
 *
 * Returns: true when @pasid is on @hwpt (or back on a PASID HWPT).
 */
VFI_API bool vfi_address_space_replace_pasid(VfiAddressSpace *as, VfiDevice *dev,
                                             uint32_t pasid, VfiNestedHwpt *hwpt,
                                             GError **errp);

G_END_DECLS

#endif
