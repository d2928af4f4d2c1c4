/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the address-space layer's internal interface
 * (hw/vfio/address-space/), the top of the library: the VMM's object. An
 * address space owns its containers (creation order) and the mappings made
 * through it (sorted by IOVA, replayed into new containers). It is
 * tracking iff it has a container and all of them are (derived, never
 * stored).
 */
#ifndef VFI_HW_VFIO_ADDRESS_SPACE_INTERNAL_H
#define VFI_HW_VFIO_ADDRESS_SPACE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vfio-iommufd/container.h"
#include "vfio-iommufd/error.h"
#include "util/lock.h"
#include "migration/migration-internal.h"

/* One mapping made through vfi_address_space_dma_map() or
 * vfi_address_space_dma_map_file(). A file's fd is the address space's own
 * duplicate (replays need it after the VMM closed its own), lent to the
 * containers' records and closed when the mapping is forgotten. */
typedef struct VfiAsMapping {
    VfiRange r;               /* first: util/ranges.h (a VfiRangeTree's element) */
    VfiMapSource src;
    bool readonly;
} VfiAsMapping;

struct VfiAddressSpace {
    VfiLock *lock;            /* owned: taken by every public call on it, its
                               * containers, HWPTs and placed devices */
    void *handle;
    unsigned id;              /* "address space N" in messages and traces */
    GPtrArray *containers;    /* VfiContainer *, creation order, owned */
    VfiRangeTree *mappings;   /* VfiAsMapping, sorted, disjoint (O(log n)) */
    VfiDeviceHooks hooks;     /* the VMM's, zeroed: none */
    VfiNestingOptions nesting; /* the VMM's (vfi_address_space_set_nesting()) */
    VfiBackendKind backend;   /* what the VMM asked for (AUTO by default); the
                               * kind in use is its containers' (one kind
                               * per address space: container-ops.h) */
    const char *backend_reason; /* why the kind in use (as-type1.c), static */
    struct VfiAsViommus *nest; /* its vIOMMU objects (as-viommu.c), or NULL */
};

/* The lock of @as, NULL for NULL (VFI_LOCK_GUARD takes nothing then). */
static inline VfiLock *vfi_as_lock(const VfiAddressSpace *as)
{
    return as ? as->lock : NULL;
}

/* @as's containers as an array for the migration layer. */
static inline VfiContainer *const *vfi_as_containers(const VfiAddressSpace *as)
{
    return (VfiContainer *const *)as->containers->pdata;
}

/* Whether @as is (or was asked to be) a type1 address space. */
static inline bool vfi_as_is_type1(const VfiAddressSpace *as)
{
    return as->containers->len ? vfi_container_is_type1(vfi_as_containers(as)[0])
                               : as->backend == VFI_BACKEND_TYPE1;
}

/* @as non-NULL (INVALID_ARGUMENT naming @what otherwise). */
static inline bool vfi_as_check_given(const VfiAddressSpace *as, const char *what,
                                      GError **errp)
{
    if (!as) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: no address space given", what);
        return false;
    }
    return true;
}

/* Free @as's record (no container left in it, its lock not held), closing
 * its mappings' files. No ioctl. */
void vfi_as_free_record(VfiAddressSpace *as);
/* The owner hook of a device placed in an address space: what a live
 * update's restore gives its devices (as-live-update.c). */
void vfi_as_device_release(VfiDeviceOwner *owner, VfiDevice *dev);

/* Replay every mapping of @as into the container @c (its ranges checked
 * first), but those @c has already (a replay that stopped halfway). */
bool vfi_as_replay(VfiAddressSpace *as, VfiContainer *c, GError **errp);

/* ---- as-type1.c: the choice of a backend ---- */

/* Whether @dev goes to a type1 container of @as (docs/type1.md). */
bool vfi_as_type1_wanted(VfiAddressSpace *as, const VfiDevice *dev);

/* ---- as-viommu.c: the address space's vIOMMU objects ---- */

/* @dev was detached in the kernel (from its nested HWPT or its parent):
 * destroy the nested HWPTs only it used, its vDEVICE, and the vIOMMUs
 * nothing uses any more, in that order. A destroy that fails leaves its
 * object to vfi_as_viommu_free_all() (the first error returned). */
bool vfi_as_viommu_device_gone(VfiAddressSpace *as, VfiDevice *dev, GError **errp);
/* Destroy every vIOMMU object of @as left (no device in it): nested HWPTs,
 * vDEVICEs, vIOMMUs. False: some stay, to be tried again. */
bool vfi_as_viommu_free_all(VfiAddressSpace *as, GError **errp);
/* How many vIOMMUs, vDEVICEs and nested HWPTs @as owns (a live update's
 * save refuses them). */
unsigned vfi_as_viommu_object_count(const VfiAddressSpace *as);
/* Free the records (none left in the kernel). No ioctl. */
void vfi_as_viommu_free_record(VfiAddressSpace *as);

/* Forget every remembered mapping of @as, closing their files' fds (the
 * address space is freed). */
void vfi_as_forget_all_mappings(VfiAddressSpace *as);

/* The placement of @dev in @as; NULL with INVALID_ARGUMENT (NULLs) or
 * WRONG_STATE (in no container of @as), @what naming the call. No ioctl. */
VfiContainerDevice *vfi_as_device(const VfiAddressSpace *as, const VfiDevice *dev,
                                  const char *what, GError **errp);
/* The forced detach of vfi_as_detach() without the VMM's detaching hook:
 * the undo of an attach whose attached hook failed. */
bool vfi_as_detach_unhooked(VfiAddressSpace *as, VfiDevice *dev, GError **errp);

/* Detach @dev from its container of @as (vfi_address_space_detach_device();
 * @force: it goes away, its tracking state notwithstanding, its DMA logging
 * stopped first). */
bool vfi_as_detach(VfiAddressSpace *as, VfiDevice *dev, bool force, GError **errp);

/* Every check of vfi_address_space_dma_unmap(), before any ioctl (the
 * caller holds @as's lock from here to vfi_as_unmap_commit()): *@n is the
 * number of the address space's mappings in the range; none, with
 * VFI_UNMAP_ALLOW_ABSENT: 0. */
bool vfi_as_unmap_prepare(const VfiAddressSpace *as, uint64_t iova, uint64_t size,
                          VfiUnmapFlags flags, guint *n, GError **errp);
/* Unmap a prepared range from every container and forget its mappings
 * (on a failure the containers already unmapped are mapped again); the
 * IOMMU dirty bits an unmap itself reads (type1 while tracking) go into
 * @log (NULL: dropped). */
bool vfi_as_unmap_commit(VfiAddressSpace *as, uint64_t iova, uint64_t size, guint n,
                         const VfiDirtyLog *log, GError **errp);

#endif
