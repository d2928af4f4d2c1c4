/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the type1 container of the container layer
 * (hw/vfio/container/type1.c): one /dev/vfio/vfio container and the IOMMU
 * groups of its devices, the record of its mappings, dirty tracking through
 * VFIO_IOMMU_DIRTY_PAGES. What an IOMMUFD container (container.c) is for
 * an IOAS, this is for a host without IOMMUFD; the address space's type1
 * path (hw/vfio/address-space/as-type1.c) uses it (docs/type1.md).
 *
 * Rules it keeps, as an IOMMUFD container does: a bad argument is refused
 * before any ioctl; an unmap covers whole mappings; a failure halfway
 * leaves the kernel as before (no group set, no fd open). A group joins
 * once however many of its devices attach, and leaves with its last one; a
 * group another container of the process holds is refused. Dirty pages:
 * type1 cannot tell what a physical device wrote, so every mapped page is
 * reported dirty (vfi_type1_container_coverage()).
 */
#ifndef VFI_HW_VFIO_CONTAINER_TYPE1_H
#define VFI_HW_VFIO_CONTAINER_TYPE1_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vfio-iommufd/device.h"
#include "vfio-iommufd/dirty.h"

/* The coverage a device of a type1 container gets, as reports say it. */
#define VFI_TYPE1_COVERAGE "type1: all mapped pages reported dirty"

typedef struct VfiType1Container VfiType1Container;

/* Open a type1 container (/dev/vfio/vfio; its IOMMU is set when the first
 * group joins). NULL on error (@errp). */
VfiType1Container *vfi_type1_container_new(GError **errp);
/* Detach every device, drop the mappings, close. False (@errp) when a step
 * failed; everything is released anyway. NULL: nothing. */
bool vfi_type1_container_free(VfiType1Container *c, GError **errp);
/* Attach @dev (not bound to an iommufd): its group joins (viable, not held
 * by another container) unless it is in already, then its fd comes
 * through the group. On failure nothing changed. */
bool vfi_type1_container_attach(VfiType1Container *c, VfiDevice *dev, GError **errp);
/* Detach @dev: its fd closes; its group leaves with its last device (the
 * kernel drops every mapping with the last group); its cdev reopens. */
bool vfi_type1_container_detach(VfiType1Container *c, VfiDevice *dev, GError **errp);
unsigned vfi_type1_container_device_count(const VfiType1Container *c);
/* Its device @i (attach order), NULL past the end. */
VfiDevice *vfi_type1_container_device(const VfiType1Container *c, unsigned i);
/* Whether dirty tracking is on. */
bool vfi_type1_container_tracking(const VfiType1Container *c);
unsigned vfi_type1_container_group_count(const VfiType1Container *c);
unsigned vfi_type1_container_mapping_count(const VfiType1Container *c);
/* The container fd (traces, tests), -1 for NULL. */
int vfi_type1_container_get_fd(const VfiType1Container *c);
/* Map [iova, iova + size) to @vaddr: refused before any ioctl without a
 * device (no IOMMU set), unaligned or overlapping a mapping. */
bool vfi_type1_container_map(VfiType1Container *c, uint64_t iova, uint64_t size, void *vaddr,
                             bool readonly, GError **errp);
/* Unmap the whole mappings in [iova, iova + size): refused before any
 * ioctl when the range cuts one or holds none. While tracking, the dirty
 * bits of the range are read by the unmap itself into @log (may be NULL
 * only when not tracking), so no page is lost. */
bool vfi_type1_container_unmap(VfiType1Container *c, uint64_t iova, uint64_t size,
                               VfiDirtyLog *log, GError **errp);
/* Start / stop dirty tracking (VFIO_IOMMU_DIRTY_PAGES). */
bool vfi_type1_container_dirty_tracking(VfiType1Container *c, bool start, GError **errp);
/* OR the dirty bits of every mapping in @log's range into @log (read per
 * whole mapping at the IOMMU page, folded to the log's page size). */
bool vfi_type1_container_sync_dirty(VfiType1Container *c, VfiDirtyLog *log, GError **errp);
/* The largest guest (bytes) one dirty read can cover: the type1 bitmap
 * limit (GET_INFO's migration capability) times the IOMMU page; 0 before
 * the first device. */
uint64_t vfi_type1_container_max_tracked(const VfiType1Container *c);
/* Refuse (NOT_SUPPORTED, naming both figures) a guest of @guest_bytes
 * larger than vfi_type1_container_max_tracked(). */
bool vfi_type1_container_check_guest_size(const VfiType1Container *c, uint64_t guest_bytes,
                                          GError **errp);
/* The coverage of @dev in the container: VFI_TYPE1_COVERAGE, or NULL when
 * @dev is not in it. */
const char *vfi_type1_container_coverage(const VfiType1Container *c, const VfiDevice *dev);

#endif
