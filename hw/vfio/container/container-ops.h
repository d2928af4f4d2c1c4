/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the container backend ops table (issue 12, docs/type1.md).
 *
 * A VfiContainer is one IOMMU context of one address space, on one of two
 * backends: an IOMMUFD IOAS with its HWPTs (container.c, placement.c), or a
 * VFIO type1 container with its IOMMU groups (type1.c). What is common
 * lives in the VfiContainer (container-internal.h) once for both: the device
 * list and each device's VfiContainerDevice, the record of the mappings
 * (mappings.c: sorted, with their source, whole-mapping unmaps), the IOVA
 * ranges and alignment, whether a dirty-tracking session is on, the kept
 * pages and the scratch of dirty reads. What is the backend's goes through
 * these ops: the kernel calls, and the backend's own state (HWPTs; groups,
 * the type1 fd and its file mmaps).
 *
 * The split with the layers above:
 *  - the address space calls the container layer (placement with
 *    vfi_container_attach_device(), vfi_container_forget_device(), the
 *    unchecked map/unmap of mappings.c, vfi_container_cleanup()) and never
 *    an op itself, nor asks which backend it has (but to pick one for a
 *    new container);
 *  - dirty-tracking policy stays in the migration layer (which device logs
 *    its DMA, rollback, reading a log): it uses two primitives of the ops,
 *    the container-wide IOMMU tracking on/off and the read of IOMMU dirty
 *    bits of a range (type1). An IOMMUFD container has neither (NULL): its
 *    IOMMU side is per HWPT, which the migration layer switches and reads
 *    itself through the HWPT records.
 * The container layer never calls up: an op is called by container-layer
 * code (mappings.c, container.c) or the migration layer, never the reverse.
 */
#ifndef VFI_HW_VFIO_CONTAINER_OPS_H
#define VFI_HW_VFIO_CONTAINER_OPS_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vfio-iommufd/container.h"
#include "vfio-iommufd/dirty.h"

struct VfiContainerDevice;
struct VfiMapSource;

typedef enum {
    VFI_PLACE_OK,             /* attached, recorded in its HWPT's list */
    VFI_PLACE_INCOMPATIBLE,   /* this container cannot take the device */
    VFI_PLACE_ERROR,          /* any other failure: the attach fails */
} VfiPlaceResult;

typedef struct VfiContainerOps {
    const char *name;         /* "iommufd", "type1": messages and traces */
    VfiBackendKind kind;      /* VFI_BACKEND_IOMMUFD or VFI_BACKEND_TYPE1 */
    /* Put @cd's device in @c in the kernel (all checks made). OK: it is
     * there (the caller adds it to @c's list); otherwise nothing is left
     * and @errp says why (INCOMPATIBLE: another container may take it). */
    VfiPlaceResult (*attach)(VfiContainer *c, struct VfiContainerDevice *cd, GError **errp);
    /* Take @cd's device out in the kernel (the bookkeeping is
     * vfi_container_forget_device()'s). On failure it stays. */
    bool (*detach)(VfiContainer *c, struct VfiContainerDevice *cd, GError **errp);
    /* Map @src at @iova (VFI_IOVA_ANY: the kernel chooses, *@iova_out gets
     * it), every check made; read-only as asked. */
    bool (*map)(VfiContainer *c, uint64_t iova, uint64_t size, const struct VfiMapSource *src,
                bool readonly, uint64_t *iova_out, GError **errp);
    /* Unmap [iova, iova + size) (0, 0: everything); *@done the bytes the
     * kernel unmapped. @log: where IOMMU dirty bits the unmap itself reads
     * go (type1 while its IOMMU tracks: VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP),
     * NULL: not read. */
    bool (*unmap)(VfiContainer *c, uint64_t iova, uint64_t size, const VfiDirtyLog *log,
                  uint64_t *done, GError **errp);
    /* Read @c's IOVA ranges and alignment again into @c. */
    bool (*refresh_ranges)(VfiContainer *c, GError **errp);
    /* Release @c's kernel objects when nothing uses them (no device left):
     * *@freed true once the backend's state is gone (the caller frees the
     * record). False with @errp: some stay, to be tried again. */
    bool (*cleanup)(VfiContainer *c, bool *freed, GError **errp);
    /* Container-wide IOMMU dirty tracking on/off, and whether it is on
     * (NULL for IOMMUFD: per HWPT). */
    bool (*iommu_tracking)(VfiContainer *c, bool on, GError **errp);
    bool (*iommu_tracking_is_on)(const VfiContainer *c);
    /* OR the IOMMU dirty bits of [iova, iova + size) (whole mappings, @ps a
     * power of two >= 4 KiB) into @bits (bit 0: @iova, one bit per @ps),
     * clearing them in the kernel whatever the caller's flags (type1 has no
     * NO_CLEAR read). NULL for IOMMUFD (the HWPTs are read). */
    bool (*read_iommu_dirty)(VfiContainer *c, uint64_t iova, uint64_t size, uint64_t ps,
                             uint64_t *bits, GError **errp);
} VfiContainerOps;

#endif
