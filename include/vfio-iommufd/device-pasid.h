/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: a device's page tables beyond its one attach: a replace of
 * what it is attached to (a nested HWPT for a vIOMMU, say) and its PASIDs.
 *
 * The calls are made on the device's cdev fd (VFIO_DEVICE_ATTACH_IOMMUFD_PT,
 * VFIO_DEVICE_DETACH_IOMMUFD_PT, with VFIO_DEVICE_ATTACH_PASID /
 * VFIO_DEVICE_DETACH_PASID for a PASID: Linux 6.15). The device keeps what
 * each PASID is attached to, as the kernel reported it; the kernel detaches
 * every PASID when the device's fd is closed. The calls are for a device no
 * address space owns (a device an address space placed is its container's
 * to move: WRONG_STATE; its PASIDs are the address space's calls,
 * <vfio-iommufd/as-pasid.h>).
 *
 * Errors: INVALID_ARGUMENT / WRONG_STATE before any ioctl; NOT_SUPPORTED
 * (before any ioctl) for a PASID call in a build whose UAPI headers lack
 * VFIO_DEVICE_ATTACH_PASID; VFI_KERNEL_ERROR with the errno otherwise.
 */
#ifndef VFI_DEVICE_PASID_H
#define VFI_DEVICE_PASID_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vfio-iommufd/device.h"
#include "vfio-iommufd/visibility.h"

G_BEGIN_DECLS

/**
 * vfi_device_replace:
 * @pt_id: the new IOAS or HWPT (a nested HWPT, a paging one).
 * @out_pt_id: out (may be NULL): the id the kernel reports attached.
 *
 * VFIO_DEVICE_ATTACH_IOMMUFD_PT on an attached device: the kernel swaps
 * the page table without a window of blocked DMA. WRONG_STATE: the device
 * is not attached, or an address space owns it. On failure the device stays
 * on its old page table.
 */
VFI_API bool vfi_device_replace(VfiDevice *dev, uint32_t pt_id, uint32_t *out_pt_id,
                                GError **errp);

/**
 * vfi_device_attach_pasid:
 * @pasid: a PASID, non-zero, below 2^max_pasid_log2 of the device's IOMMU.
 * @pt_id: an IOAS, or a HWPT allocated with IOMMU_HWPT_ALLOC_PASID.
 * @out_pt_id: out (may be NULL): the id the kernel reports attached.
 *
 * VFIO_DEVICE_ATTACH_IOMMUFD_PT with VFIO_DEVICE_ATTACH_PASID, for a PASID
 * not attached yet (WRONG_STATE otherwise: use vfi_device_replace_pasid()).
 * The device's PASID width is asked first (IOMMU_GET_HW_INFO): a device
 * without PASID support, or a @pasid outside its width, is refused with
 * VFI_ERROR_NOT_SUPPORTED / INVALID_ARGUMENT before the attach. EINVAL from
 * the kernel: the HWPT was not allocated for PASID use.
 */
VFI_API bool vfi_device_attach_pasid(VfiDevice *dev, uint32_t pasid, uint32_t pt_id,
                                     uint32_t *out_pt_id, GError **errp);

/**
 * vfi_device_replace_pasid:
 *
 * The same ioctl for a PASID that is attached: the kernel replaces its page
 * table. WRONG_STATE when @pasid is not attached. On failure the PASID stays
 * on its old page table.
 */
VFI_API bool vfi_device_replace_pasid(VfiDevice *dev, uint32_t pasid, uint32_t pt_id,
                                      uint32_t *out_pt_id, GError **errp);

/**
 * vfi_device_detach_pasid:
 *
 * VFIO_DEVICE_DETACH_IOMMUFD_PT with VFIO_DEVICE_DETACH_PASID. WRONG_STATE
 * when @pasid is not attached.
 */
VFI_API bool vfi_device_detach_pasid(VfiDevice *dev, uint32_t pasid, GError **errp);

/* Returns: what @pasid of @dev is attached to, 0 when nothing. */
VFI_API uint32_t vfi_device_get_pasid_pt(const VfiDevice *dev, uint32_t pasid);

G_END_DECLS

#endif
