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
 * on, the mmaps of mappings by file and the bitmap buffer of its dirty
 * reads are the backend's (VfiType1Container, c->type1).
 *
 * Rules it keeps, as an IOMMUFD container does: a bad argument is refused
 * before any ioctl; an unmap covers whole mappings; a failure halfway
 * leaves the kernel as before (no group set, no fd open, no mmap). A group
 * joins once however many of its devices attach, and leaves with its last
 * one (the kernel drops every mapping with the last group, and so does the
 * record); a group another container of the process holds is refused.
 * Dirty pages: type1 cannot tell what a physical device wrote, so every
 * mapped page is reported dirty for the devices not logging their own DMA
 * (coverage.c says so in reports). Type1 maps only process memory: a map
 * by file mmaps the file range (MAP_SHARED) and maps that, the mmap kept
 * with the mapping and unmapped with it; a file that is no regular file (a
 * dma-buf) and a kernel-chosen IOVA are refused (NOT_SUPPORTED).
 *
 * Everything is reached through the container layer (the ops table, called
 * by mappings.c, container.c and the migration layer) for the address
 * space that made the container (as-type1.c): beside
 * vfi_type1_container_new(), the calls below are the ops and their
 * helpers, none a second way in.
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

/* The IOMMU page type1 maps and reads dirty bits at. */
#define VFI_TYPE1_PAGE 4096ull

/* The mmap of one mapping by file: element of VfiType1Container.mmaps, a
 * VfiRangeTree keyed by the mapping's IOVA range (found from an unmap's
 * range in O(log n)). */
typedef struct VfiType1Mmap {
    VfiRange r;                 /* the mapping's IOVA range (first: util/ranges.h) */
    void *addr;                 /* the mmap, r.last - r.iova + 1 bytes */
} VfiType1Mmap;

typedef struct VfiType1Container {
    VfiType1 *t1;
    GPtrArray *groups;          /* T1Group *, owned */
    bool tracking;              /* VFIO_IOMMU_DIRTY_PAGES started */
    VfiType1Info info;          /* valid while the IOMMU is set */
    VfiRangeTree *mmaps;        /* VfiType1Mmap, of the mappings by file */
    uint64_t *bits;             /* the bitmap of dirty reads and unmaps with
                                 * GET_DIRTY_BITMAP (grown as needed, never
                                 * shrunk: steady-state syncs allocate
                                 * nothing); freed with the container */
    size_t bits_size;           /* bytes */
} VfiType1Container;

/* A new type1 container of @as (not dereferenced) guarded by @lock (not
 * owned): /dev/vfio/vfio opened, its IOMMU set when the first group joins
 * (its first device's attach, vfi_container_attach_device()); closed with
 * its last device (vfi_container_cleanup()). NULL on error (@errp). */
VfiContainer *vfi_type1_container_new(VfiAddressSpace *as, VfiLock *lock, GError **errp);

/* ---- type1-dma.c: the ops' map, unmap and dirty primitives ------------- */

bool vfi_type1_ops_map(VfiContainer *c, uint64_t iova, uint64_t size, const VfiMapSource *src,
                       bool readonly, uint64_t *iova_out, GError **errp);
/* The op's unmap: with @log while tracking, the kernel's own dirty read of
 * the range (GET_DIRTY_BITMAP, exact: the read before an unmap leaves the
 * IOMMU bits to it) folded into @log. */
bool vfi_type1_ops_unmap(VfiContainer *c, uint64_t iova, uint64_t size, const VfiDirtyLog *log,
                         uint64_t *done, GError **errp);
bool vfi_type1_ops_tracking(VfiContainer *c, bool on, GError **errp);
bool vfi_type1_ops_tracking_is_on(const VfiContainer *c);
bool vfi_type1_ops_read_dirty(VfiContainer *c, uint64_t iova, uint64_t size, uint64_t ps,
                              uint64_t *bits, GError **errp);
/* munmap the file mmaps of the mappings starting inside [iova, last]
 * (O(log n) per mmap dropped, and once). */
void vfi_type1_drop_mmaps(VfiContainer *c, uint64_t iova, uint64_t last);

/* Refuse (NOT_SUPPORTED, naming both figures) a mapping of @bytes larger
 * than one dirty read can cover: the type1 bitmap limit (GET_INFO's
 * migration capability) times the IOMMU page; nothing before the first
 * device. Checked at tracking start against the largest mapping. */
bool vfi_type1_container_check_guest_size(const VfiContainer *c, uint64_t guest_bytes,
                                          GError **errp);

#endif
