/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: an address space with a vIOMMU (nesting, docs/nesting.md
 * "Giving the guest a vIOMMU, step by step").
 *
 * A device attached to an address space with a nest parent
 * (VfiAttachOptions.nest_parent or vfi_address_space_set_nesting()) sits on
 * a nest-parent HWPT its container chose. These calls give it the objects of
 * <vfio-iommufd/viommu.h>, owned by the address space:
 *  - its vIOMMU: one per (nest parent, IOMMU instance), shared by the
 *    devices of that instance on that parent;
 *  - its vDEVICE (its virtual id in the guest's IOMMU);
 *  - nested HWPTs made from the guest's stage-1 data, on the vIOMMU or on
 *    the nest parent, and the move of the device onto one and back.
 * DMA maps still go to the container's IOAS (the parent's stage 2) and
 * dirty tracking stays the parent's. Nothing is left to the VMM to free: a
 * device's detach takes it off its nested HWPT (the kernel detaches it
 * from there), then frees the nested HWPTs only it used, its vDEVICE, and
 * its vIOMMU when no other device uses it, before the container forgets
 * it; vfi_address_space_free() destroys what a failed destroy left, in the
 * kernel's order (nested HWPTs, vDEVICEs, vIOMMUs, then the containers).
 * The address space also makes the queues for them, owned the same way:
 * a vEVENTQ of a device's vIOMMU (destroyed, its fd closed first, just
 * before that vIOMMU) and a fault queue for a device's nested HWPTs
 * (destroyed after the last nested HWPT naming it, at the detach of the
 * last device whose HWPT names it, or at the free).
 * The returned objects are borrowed: valid until that detach or free; the
 * VMM must not free them itself. vfi_iommufd_invalidate(), the vEVENTQ and
 * the fault queue calls (read, respond, the fd to poll) take them (or
 * their ids) as usual. Queues the VMM makes itself with vfi_veventq_alloc()
 * or vfi_faultq_alloc() stay the VMM's: it must free them before the
 * detach that frees their vIOMMU (the kernel says EBUSY otherwise, and the
 * vIOMMU is then left for vfi_address_space_free()).
 *
 * Errors (false / NULL with @errp set), all before any ioctl:
 * INVALID_ARGUMENT for NULLs or a nested HWPT this address space does not
 * own; WRONG_STATE for a device in no container of the address space, a
 * device without a nest parent, a vDEVICE asked twice or before the
 * vIOMMU, a nested HWPT of another nest parent or another vIOMMU;
 * NOT_SUPPORTED when the build's UAPI headers lack the request. The
 * kernel's refusals are VFI_KERNEL_ERROR with the errno; nothing is then
 * left behind. Each call holds the address space's lock.
 */
#ifndef VFI_AS_VIOMMU_H
#define VFI_AS_VIOMMU_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vfio-iommufd/container.h"
#include "vfio-iommufd/device.h"
#include "vfio-iommufd/viommu.h"
#include "vfio-iommufd/visibility.h"

G_BEGIN_DECLS

/**
 * vfi_address_space_get_viommu:
 * @dev: a device of @as on a nest-parent HWPT.
 * @type: enum iommu_viommu_type, used when the vIOMMU is made.
 * @data, @data_len: vendor data for IOMMU_VIOMMU_ALLOC (in and out), NULL
 *   and 0 for none; unused when the vIOMMU exists.
 *
 * The vIOMMU of @dev's nest parent and IOMMU instance: the existing one
 * (no ioctl; WRONG_STATE when it was made with another @type), or a new
 * one (IOMMU_VIOMMU_ALLOC). @dev uses it until its detach.
 * Returns: the vIOMMU (borrowed, owned by @as), or NULL.
 */
VFI_API VfiViommu *vfi_address_space_get_viommu(VfiAddressSpace *as, VfiDevice *dev,
                                                uint32_t type, void *data, uint32_t data_len,
                                                GError **errp);

/**
 * vfi_address_space_alloc_vdevice:
 * @dev: a device of @as with its vIOMMU (vfi_address_space_get_viommu()).
 * @virt_id: its id in the guest's IOMMU (a vRID, a stream id).
 *
 * IOMMU_VDEVICE_ALLOC in @dev's vIOMMU. WRONG_STATE: no vIOMMU yet, or a
 * vDEVICE already. Freed at @dev's detach.
 * Returns: the vDEVICE (borrowed, owned by @as), or NULL.
 */
VFI_API VfiVdevice *vfi_address_space_alloc_vdevice(VfiAddressSpace *as, VfiDevice *dev,
                                                    uint64_t virt_id, GError **errp);

/**
 * vfi_address_space_alloc_nested_hwpt:
 * @dev: a device of @as on a nest-parent HWPT.
 * @on_viommu: make it on @dev's vIOMMU (it must have one), else on the
 *   nest parent itself.
 * @flags, @fault_id, @data_type, @data, @data_len: as vfi_nested_hwpt_alloc().
 *
 * IOMMU_HWPT_ALLOC of a nested HWPT for @dev from the guest's stage-1 data.
 * Freed at the detach of the last device that used it, or earlier with
 * vfi_address_space_free_nested_hwpt().
 * Returns: the HWPT (borrowed, owned by @as), or NULL.
 */
VFI_API VfiNestedHwpt *vfi_address_space_alloc_nested_hwpt(VfiAddressSpace *as, VfiDevice *dev,
                                                           bool on_viommu, uint32_t flags,
                                                           uint32_t fault_id, uint32_t data_type,
                                                           const void *data, uint32_t data_len,
                                                           GError **errp);

/**
 * vfi_address_space_set_device_nested:
 * @hwpt: a nested HWPT of @as made on @dev's nest parent or on @dev's
 *   vIOMMU; NULL: back to the nest parent (guest translation off).
 *
 * Put @dev on @hwpt (VFIO_DEVICE_ATTACH_IOMMUFD_PT, a replace: no window of
 * blocked DMA); no ioctl when it is there already. EINVAL from the kernel:
 * a vIOMMU's HWPT without @dev's vDEVICE, or stage-1 data the device's
 * IOMMU refuses. On failure @dev stays where it was.
 */
VFI_API bool vfi_address_space_set_device_nested(VfiAddressSpace *as, VfiDevice *dev,
                                                 VfiNestedHwpt *hwpt, GError **errp);

/**
 * vfi_address_space_free_nested_hwpt:
 * @hwpt: a nested HWPT of @as (NULL is accepted).
 *
 * IOMMU_DESTROY of a nested HWPT the guest no longer uses (it changed its
 * stage-1 table), before the detach of its device. WRONG_STATE before any
 * ioctl while a device is on it; INVALID_ARGUMENT for one @as does not own.
 * A refused destroy leaves it valid and owned by @as.
 */
VFI_API bool vfi_address_space_free_nested_hwpt(VfiAddressSpace *as, VfiNestedHwpt *hwpt,
                                                GError **errp);

/**
 * vfi_address_space_alloc_veventq:
 * @dev: a device of @as with its vIOMMU (vfi_address_space_get_viommu()).
 * @type, @depth, @event_len: as vfi_veventq_alloc().
 *
 * IOMMU_VEVENTQ_ALLOC on @dev's vIOMMU. Read it with vfi_veventq_read().
 * Freed (its fd closed, then IOMMU_DESTROY) just before its vIOMMU: at the
 * detach of the vIOMMU's last device, or at vfi_address_space_free().
 * WRONG_STATE before any ioctl: no vIOMMU yet (and the refusals of every
 * call here). EEXIST from the kernel: the vIOMMU has a queue of @type.
 * Returns: the queue (borrowed, owned by @as), or NULL.
 */
VFI_API VfiVeventq *vfi_address_space_alloc_veventq(VfiAddressSpace *as, VfiDevice *dev,
                                                    uint32_t type, uint32_t depth,
                                                    uint32_t event_len, GError **errp);

/**
 * vfi_address_space_alloc_faultq:
 * @dev: a device of @as on a nest-parent HWPT, whose nested HWPTs will
 *   name the queue (IOMMU_HWPT_FAULT_ID_VALID with vfi_faultq_get_id()).
 *
 * IOMMU_FAULT_QUEUE_ALLOC in @dev's iommufd. Read it with
 * vfi_faultq_read(), answer with vfi_faultq_respond(). Freed (its fd
 * closed, then IOMMU_DESTROY) after the nested HWPTs naming it: at the
 * detach of @dev when no other device's nested HWPT names it (else it goes
 * to that device), or at vfi_address_space_free().
 * Returns: the queue (borrowed, owned by @as), or NULL.
 */
VFI_API VfiFaultq *vfi_address_space_alloc_faultq(VfiAddressSpace *as, VfiDevice *dev,
                                                  GError **errp);

/* Returns: the id of the nested HWPT @dev is on in @as, 0 when it is on its
 * nest parent (or not in @as). */
VFI_API uint32_t vfi_address_space_get_device_nested(VfiAddressSpace *as,
                                                     const VfiDevice *dev);

G_END_DECLS

#endif
