/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the type1 backend of the container layer
 * (hw/vfio/container/type1.c, type1-dma.c; docs/type1.md): a VfiContainer
 * whose ops (container-ops.h) are one /dev/vfio/vfio container and the
 * IOMMU groups of its devices. What an IOAS is for an IOMMUFD container,
 * this is for a host without IOMMUFD.
 *
 * State in one place: the device list, each device's VfiContainerDevice,
 * the record of the mappings and the tracking session are the
 * VfiContainer's (as on IOMMUFD); the groups (counted by their devices),
 * the type1 fd, GET_INFO's answer, whether the kernel's dirty tracking is
 * on, and the mmaps of mappings by file are the backend's
 * (VfiType1Container, c->type1).
 *
 * Rules it keeps, as an IOMMUFD container does: a bad argument is refused
 * before any ioctl; an unmap covers whole mappings; a failure halfway
 * leaves the kernel as before (no group set, no fd open, no mmap). A group
 * joins once however many of its devices attach, and leaves with its last
 * one (the kernel drops every mapping with the last group, and so does the
 * record); a group another container of the process holds is refused.
 * Dirty pages: type1 cannot tell what a physical device wrote, so every
 * mapped page is reported dirty (VFI_TYPE1_COVERAGE) for the devices not
 * logging their own DMA. Type1 maps only process memory: a map by file
 * mmaps the file range (MAP_SHARED) and maps that, the mmap kept with the
 * mapping and unmapped with it; a file that is no regular file (a dma-buf)
 * and a kernel-chosen IOVA are refused (NOT_SUPPORTED).
 *
 * The vfi_type1_container_*() calls below other than new/free are the
 * container used alone (tests, no address space): they make the checks an
 * address space makes and call the same container-layer code.
 */
#ifndef VFI_HW_VFIO_CONTAINER_TYPE1_H
#define VFI_HW_VFIO_CONTAINER_TYPE1_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vfio-iommufd/device.h"
#include "vfio-iommufd/dirty.h"
#include "backends/type1.h"
#include "container-internal.h"

/* The coverage a device of a type1 container gets, as reports say it. */
#define VFI_TYPE1_COVERAGE "type1: all mapped pages reported dirty"
/* The IOMMU page type1 maps and reads dirty bits at. */
#define VFI_TYPE1_PAGE 4096ull

/* One mmap of a mapping by file. */
typedef struct VfiType1Mmap {
    uint64_t iova;
    void *addr;
    size_t len;
} VfiType1Mmap;

typedef struct VfiType1Container {
    VfiType1 *t1;
    GPtrArray *groups;          /* T1Group *, owned */
    bool tracking;              /* VFIO_IOMMU_DIRTY_PAGES started */
    VfiType1Info info;          /* valid while the IOMMU is set */
    GArray *mmaps;              /* VfiType1Mmap, of the mappings by file */
} VfiType1Container;

/* A new type1 container of @as (not dereferenced; NULL: used alone) guarded
 * by @lock (not owned; NULL: none): /dev/vfio/vfio opened, its IOMMU set
 * when the first group joins. NULL on error (@errp). */
VfiContainer *vfi_type1_container_new(VfiAddressSpace *as, VfiLock *lock, GError **errp);
/* A container used alone: detach every device, drop the mappings, close.
 * False (@errp) when a step failed; everything is released anyway. NULL:
 * nothing. */
bool vfi_type1_container_free(VfiContainer *c, GError **errp);

/* ---- type1-dma.c: the ops' map, unmap and dirty primitives ------------- */

bool vfi_type1_ops_map(VfiContainer *c, uint64_t iova, uint64_t size, const VfiMapSource *src,
                       bool readonly, uint64_t *iova_out, GError **errp);
bool vfi_type1_ops_unmap(VfiContainer *c, uint64_t iova, uint64_t size, const VfiDirtyLog *log,
                         uint64_t *done, GError **errp);
bool vfi_type1_ops_tracking(VfiContainer *c, bool on, GError **errp);
bool vfi_type1_ops_tracking_is_on(const VfiContainer *c);
bool vfi_type1_ops_read_dirty(VfiContainer *c, uint64_t iova, uint64_t size, uint64_t ps,
                              uint64_t *bits, GError **errp);
/* munmap the file mmaps of mappings inside [iova, last]. */
void vfi_type1_drop_mmaps(VfiContainer *c, uint64_t iova, uint64_t last);

/* ---- the container used alone ----------------------------------------- */

/* Attach @dev (not bound to an iommufd): its group joins (viable, not held
 * by another container) unless it is in already, then its fd comes
 * through the group. On failure nothing changed. */
bool vfi_type1_container_attach(VfiContainer *c, VfiDevice *dev, GError **errp);
/* Detach @dev: its fd closes; its group leaves with its last device (the
 * kernel drops every mapping with the last group); its cdev reopens. */
bool vfi_type1_container_detach(VfiContainer *c, VfiDevice *dev, GError **errp);
unsigned vfi_type1_container_group_count(const VfiContainer *c);
unsigned vfi_type1_container_mapping_count(const VfiContainer *c);
/* The container fd (traces, tests), -1 for NULL. */
int vfi_type1_container_get_fd(const VfiContainer *c);
/* Map [iova, iova + size) to @vaddr: refused before any ioctl without a
 * device (no IOMMU set), unaligned or overlapping a mapping. */
bool vfi_type1_container_map(VfiContainer *c, uint64_t iova, uint64_t size, void *vaddr,
                             bool readonly, GError **errp);
/* Unmap the whole mappings in [iova, iova + size): refused before any
 * ioctl when the range cuts one or holds none, or while tracking without
 * @log. While tracking the unmap itself reads the range's dirty bits into
 * @log, so no page is lost. */
bool vfi_type1_container_unmap(VfiContainer *c, uint64_t iova, uint64_t size,
                               const VfiDirtyLog *log, GError **errp);
/* Start / stop the kernel's dirty tracking (VFIO_IOMMU_DIRTY_PAGES). */
bool vfi_type1_container_dirty_tracking(VfiContainer *c, bool start, GError **errp);
/* OR the dirty bits of every mapping in @log's span into @log (read per
 * whole mapping at the IOMMU page, folded to the log's page size). */
bool vfi_type1_container_sync_dirty(VfiContainer *c, const VfiDirtyLog *log, GError **errp);
/* The largest guest (bytes) one dirty read can cover: the type1 bitmap
 * limit (GET_INFO's migration capability) times the IOMMU page; 0 before
 * the first device. */
uint64_t vfi_type1_container_max_tracked(const VfiContainer *c);
/* Refuse (NOT_SUPPORTED, naming both figures) a guest of @guest_bytes
 * larger than vfi_type1_container_max_tracked(). */
bool vfi_type1_container_check_guest_size(const VfiContainer *c, uint64_t guest_bytes,
                                          GError **errp);
/* The coverage of @dev in the container: VFI_TYPE1_COVERAGE, or NULL when
 * @dev is not in it. */
const char *vfi_type1_container_coverage(const VfiContainer *c, const VfiDevice *dev);

#endif
