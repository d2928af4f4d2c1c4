/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the legacy VFIO type1 container (/dev/vfio/vfio), one
 * wrapper per ioctl (backends/type1.c). Internal to the library: the
 * container layer's type1 backend (hw/vfio/container/type1.c) uses it; the
 * groups that join a container are the device layer's
 * (hw/vfio/device/group.c), which passes vfi_type1_get_fd() to
 * VFIO_GROUP_SET_CONTAINER.
 *
 * Every wrapper checks its arguments first (nothing reaches the kernel when
 * they are wrong, trace event vfi_type1_reject) and then issues exactly one
 * ioctl (GET_INFO: two when the first argsz is too small for the
 * capability chain). Messages name a container by its fd.
 */
#ifndef VFI_BACKENDS_TYPE1_H
#define VFI_BACKENDS_TYPE1_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vfio-iommufd/iommufd.h"

/* Most IOVA ranges GET_INFO's range capability is read into. */
#define VFI_TYPE1_MAX_RANGES 16

typedef struct VfiType1 VfiType1;

/* What VFIO_IOMMU_GET_INFO says, its capability chain parsed. */
typedef struct VfiType1Info {
    uint64_t iova_pgsizes;          /* the IOMMU page sizes (bit per size) */
    unsigned n_ranges;              /* IOVA ranges (0: none reported: any IOVA) */
    VfiIovaRange ranges[VFI_TYPE1_MAX_RANGES];
    bool has_migration;             /* the migration capability is there */
    uint64_t dirty_pgsizes;         /* its page sizes of dirty bitmaps */
    uint64_t max_dirty_bitmap_size; /* its largest bitmap, bytes */
    bool has_dma_avail;             /* the DMA-available capability is there */
    uint32_t dma_avail;             /* mappings the container can still make */
} VfiType1Info;

/* Open /dev/vfio/vfio, check VFIO_GET_API_VERSION and that the type1v2
 * IOMMU is offered (VFIO_CHECK_EXTENSION). NULL on error (@errp). */
VfiType1 *vfi_type1_open(GError **errp);
/* Close the container fd (the kernel releases what no group holds). */
void vfi_type1_close(VfiType1 *t);
/* The container fd (for VFIO_GROUP_SET_CONTAINER), -1 for NULL. */
int vfi_type1_get_fd(const VfiType1 *t);
/* Whether VFIO_SET_IOMMU was done. */
bool vfi_type1_iommu_set(const VfiType1 *t);
/* VFIO_SET_IOMMU(VFIO_TYPE1v2_IOMMU): after the first group joined. */
bool vfi_type1_set_iommu(VfiType1 *t, GError **errp);
/* The IOMMU was released by the kernel (its last group left). */
void vfi_type1_iommu_released(VfiType1 *t);
/* VFIO_IOMMU_GET_INFO, capability chain parsed into @info. */
bool vfi_type1_get_info(VfiType1 *t, VfiType1Info *info, GError **errp);
/* VFIO_IOMMU_MAP_DMA of [iova, iova + size) to @vaddr, read-only or not. */
bool vfi_type1_map(VfiType1 *t, uint64_t iova, uint64_t size, void *vaddr, bool readonly,
                   GError **errp);
/* VFIO_IOMMU_UNMAP_DMA of [iova, iova + size); *@unmapped (may be NULL):
 * the bytes the kernel unmapped. With @bitmap (GET_DIRTY_BITMAP, during
 * tracking) the dirty bits of the range at @pgsize are written to it (bit
 * 0: the page at @iova; @bitmap_size bytes, zeroed by the caller). */
bool vfi_type1_unmap(VfiType1 *t, uint64_t iova, uint64_t size, uint64_t pgsize,
                     void *bitmap, uint64_t bitmap_size, uint64_t *unmapped, GError **errp);
/* VFIO_IOMMU_DIRTY_PAGES with START (@start) or STOP. */
bool vfi_type1_dirty_tracking(VfiType1 *t, bool start, GError **errp);
/* VFIO_IOMMU_DIRTY_PAGES GET_BITMAP of [iova, iova + size) at @pgsize into
 * @bitmap (@bitmap_size bytes; the kernel writes whole words: zero it). */
bool vfi_type1_dirty_get(VfiType1 *t, uint64_t iova, uint64_t size, uint64_t pgsize,
                         void *bitmap, uint64_t bitmap_size, GError **errp);

#endif
