/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: internal structures of the container layer (address spaces,
 * containers, HWPTs and the per-device placement state).
 *
 * State lives in one place:
 *  - an address space owns its containers (creation order) and the list of
 *    mappings made through it (sorted by IOVA, replayed into new containers);
 *  - a container owns its HWPTs (creation order), its device list (attach
 *    order, physical devices and mdevs) and the record of its IOAS's
 *    mappings (each as made, with the level that made it);
 *  - a HWPT owns its device list;
 *  - a device's VfiContainerDevice says where it is (container, HWPT) and
 *    what was learnt while placing it (hw info, attach attempts, whether the
 *    kernel refused a dirty-tracking HWPT for it).
 * Anything else (dirty coverage, "complete" dirty tracking) is computed from
 * these on demand.
 */
#ifndef VFI_HW_VFIO_CONTAINER_INTERNAL_H
#define VFI_HW_VFIO_CONTAINER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vfio-iommufd/iommufd.h"
#include "vfio-iommufd/container.h"
#include "vfio-iommufd/device.h"
#include "vfio-iommufd/dirty.h"

/* Size of the vendor-data buffer passed to IOMMU_GET_HW_INFO. */
#define VFI_HW_INFO_DATA_MAX 256

/* One mapping made through vfi_address_space_dma_map(). */
typedef struct VfiASMapping {
    uint64_t iova;
    uint64_t size;
    void *vaddr;
    bool readonly;
} VfiASMapping;

/* An IOVA range, both ends inclusive. */
typedef struct VfiRange {
    uint64_t iova;
    uint64_t last;
} VfiRange;

/* One mapping of a container's IOAS as it was made (the kernel unmaps only
 * whole mappings), and which level made it: the address space
 * (vfi_address_space_dma_map(), replays) or the container itself
 * (vfi_container_dma_map()). */
typedef struct VfiContainerMapping {
    uint64_t iova;
    uint64_t last;            /* inclusive */
    bool by_as;
} VfiContainerMapping;

struct VfiAddressSpace {
    void *handle;
    GPtrArray *containers;    /* VfiContainer *, creation order, owned */
    GArray *mappings;         /* VfiASMapping, sorted by iova, disjoint */
    /* No tracking flag: an address space is tracking iff it has a container
     * and all of them are (dirty.c derives it on every call). */
};

struct VfiContainer {
    VfiAddressSpace *as;
    VfiIommufd *be;       /* we hold one user of it */
    uint32_t ioas_id;
    VfiIovaRange *ranges; /* allowed IOVA ranges, ascending: re-read after
                               * every placement and detach */
    size_t nr_ranges;
    uint64_t alignment;       /* IOVA alignment of the IOAS (>= 1) */
    GPtrArray *devices;       /* VfiDevice *, attach order, not owned */
    GPtrArray *hwpts;         /* VfiHwpt *, creation order, owned */
    /* The mappings of the IOAS one by one: sorted, disjoint. Kept by
     * container and address-space map/unmap and replay
     * (vfi_container_mapping_add/_remove). */
    GArray *maps;             /* VfiContainerMapping */
    /* The same, merged: sorted, disjoint, adjacent ranges merged (what
     * DMA logging and dirty reads look at). Derived from @maps. */
    GArray *mapped;           /* VfiRange */
    bool dirty_tracking;      /* tracking is on (dirty.c) */
    /* Reads dirty bits for queries, syncs and unmaps (dirty-reader.c), made
     * on first use: its sources are the HWPTs of @hwpts whose tracking is
     * on (dirty_on) and the devices whose logging is started; owns the
     * scratch buffer and stats. */
    VfiDirtyReader *dirty_reader;
};

struct VfiHwpt {
    VfiContainer *container;
    uint32_t id;
    uint32_t flags;           /* IOMMU_HWPT_ALLOC_* it was allocated with */
    GPtrArray *devices;       /* VfiDevice *, attach order, not owned */
    bool dirty_on;            /* SET_DIRTY_TRACKING enabled by us */
};

/* The container layer's per-device state (vfi_device_*_container_priv).
 * It exists from the start of an attach until the device leaves its
 * container (or the attach fails). */
typedef struct VfiContainerDevice {
    VfiDevice *dev;
    VfiContainer *container; /* NULL while being placed */
    VfiHwpt *hwpt;           /* NULL for an mdev */
    unsigned attach_attempts; /* ATTACH calls of this placement */
    VfiAttachOptions opts;
    bool bound_here;          /* this layer made the VFIO_DEVICE_BIND_IOMMUFD */
    bool has_hw_info;         /* physical devices: hw_info is valid */
    VfiHwInfo hw_info;    /* hw_info.data points to hw_data */
    uint8_t hw_data[VFI_HW_INFO_DATA_MAX];
    bool kernel_refused_dirty; /* HWPT_ALLOC refused the dirty flag */
    bool logging_offered;     /* DMA_LOGGING_START probe succeeded */
    bool logging_started;     /* DMA_LOGGING_START done (dirty.c) */
    GArray *logged;           /* VfiRange given to DMA_LOGGING_START, or NULL */
} VfiContainerDevice;

/* Whether @cd's device is covered by its own DMA logging (offered and
 * preferred by the VMM). */
static inline bool vfi_cd_uses_logging(const VfiContainerDevice *cd)
{
    return cd->logging_offered && cd->opts.prefer_device_dirty_logging;
}

/* Returns: the placement state of @dev, or NULL when it is in no container. */
VfiContainerDevice *vfi_container_device_state(const VfiDevice *dev);

/* ---- container.c ------------------------------------------------------- */

/*
 * Make a container for @as on @be: connect a backend user, IOMMU_IOAS_ALLOC,
 * read the IOVA ranges, replay @as's mappings. Not added to @as's list.
 * On failure everything is undone; if undoing fails itself (double fault)
 * the half-made container is appended to @as so its kernel objects stay
 * known, and it is cleaned up later (vfi_container_cleanup()).
 */
VfiContainer *vfi_container_create(VfiAddressSpace *as, VfiIommufd *be,
                                     GError **errp);

/*
 * Destroy what an unused container leaves: its empty HWPTs, then, when it
 * has no device and no HWPT left, its IOAS, its backend user and the
 * container itself (removed from its address space's list if there, freed).
 * Returns: true when nothing is left over; false with @errp when a destroy
 * failed (the objects that could not be destroyed stay in the lists, and
 * the container stays in (or is appended to) its address space).
 * *@freed tells whether @c was freed.
 */
bool vfi_container_cleanup(VfiContainer *c, bool *freed, GError **errp);

/*
 * Read @c's IOVA ranges and alignment from the kernel again (they change as
 * domains and devices come and go). On failure @c keeps the ones it had and
 * @errp says so.
 */
bool vfi_container_refresh_ranges(VfiContainer *c, GError **errp);

/* Check a range to map against @c's alignment and IOVA ranges
 * (INVALID_ARGUMENT). @what names the operation in the message. */
bool vfi_container_check_range(const VfiContainer *c, const char *what, uint64_t iova,
                                uint64_t size, GError **errp);
/* Check a range to unmap from @c (INVALID_ARGUMENT): size, overflow,
 * alignment, and no mapping of @c crossing one of its edges (the kernel
 * would unmap the mappings before that one and fail with ENOENT). The IOVA
 * ranges are not checked: unmapping where nothing can be mapped is the
 * kernel's ENOENT. */
bool vfi_container_check_unmap_range(const VfiContainer *c, const char *what,
                                      uint64_t iova, uint64_t size, GError **errp);
/* A container was given (INVALID_ARGUMENT naming @what otherwise). */
bool vfi_container_check_given(const VfiContainer *c, const char *what, GError **errp);
/* Check size non-zero and no overflow (INVALID_ARGUMENT). */
bool vfi_check_range_basic(const char *what, uint64_t iova, uint64_t size, GError **errp);

void vfi_container_add_device(VfiContainer *c, VfiDevice *dev);
void vfi_container_remove_device(VfiContainer *c, VfiDevice *dev);

/* IOMMU_IOAS_MAP in @c without any check (the caller made them), recorded
 * as made by the address space (@by_as) or by the container. */
bool vfi_container_map_unchecked(VfiContainer *c, uint64_t iova, uint64_t size,
                                  void *vaddr, bool readonly, bool by_as, GError **errp);
/* Record the mapping [iova, iova + size) made in @c's IOAS (@c->maps and
 * @c->mapped). */
void vfi_container_mapping_add(VfiContainer *c, uint64_t iova, uint64_t size, bool by_as);
/* Forget every mapping of @c overlapping [iova, iova + size) (the kernel
 * unmapped them: whole mappings only). */
void vfi_container_mappings_remove(VfiContainer *c, uint64_t iova, uint64_t size);
/*
 * The kernel said ENOENT to an unmap of [iova, last] although @c records
 * mappings there and none crosses its edges: either they are gone already,
 * or a mapping the library does not know of (made on the IOAS directly)
 * crosses an edge, the kernel having unmapped the recorded ones before it
 * but not those after. Unmap each recorded one alone: whether it was still
 * there (now unmapped) or already gone, it is not mapped any more, and the
 * record says so (one whose own unmap fails otherwise stays recorded).
 */
void vfi_container_unmap_resync(VfiContainer *c, uint64_t iova, uint64_t last);
/* Returns: the first mapping of @c overlapping [iova, last] made by the
 * address space (@by_as) or by the container, or NULL. */
const VfiContainerMapping *vfi_container_mapping_overlap(const VfiContainer *c,
                                                           uint64_t iova, uint64_t last,
                                                           bool by_as);

/* ---- dirty.c ----------------------------------------------------------- */

/* While tracking is on: a map must lie inside the ranges every started
 * logging device logs (WRONG_STATE otherwise, no ioctl). */
bool vfi_container_dirty_check_map(const VfiContainer *c, const char *what, uint64_t iova,
                                    uint64_t size, GError **errp);
/* While tracking is on: a plain unmap needs VFI_UNMAP_DISCARD_DIRTY. */
bool vfi_container_dirty_check_unmap(const VfiContainer *c, const char *what,
                                      VfiUnmapFlags flags, GError **errp);
/* While tracking is on: a tracked device may not leave (WRONG_STATE). */
bool vfi_container_dirty_check_detach(const VfiContainerDevice *cd, GError **errp);
/* Bring a device just placed in @c into @c's tracking state; when the
 * placement made @c (@new_container), start @c if every other container of
 * its address space is tracking (and there is one). On failure nothing was
 * left switched on for it. */
bool vfi_container_dirty_catch_up(VfiContainer *c, VfiContainerDevice *cd,
                                   bool new_container, GError **errp);
/* A device leaving for good (vfi_device_free()): stop its logging, errors
 * traced only. Frees cd->logged. */
void vfi_container_dirty_forget_device(VfiContainerDevice *cd);
/* Free the container's dirty reader. */
void vfi_container_dirty_free(VfiContainer *c);
/* A HWPT entered / is leaving @c's list (hwpt.c): one with the dirty flag
 * becomes / stops being a source of @c's dirty reader. */
void vfi_container_dirty_hwpt_added(VfiContainer *c, VfiHwpt *h);
void vfi_container_dirty_hwpt_removed(VfiContainer *c, VfiHwpt *h);

/* ---- hwpt.c ------------------------------------------------------------ */

/* A new HWPT record for kernel object @id, appended to @c's list. */
VfiHwpt *vfi_hwpt_new(VfiContainer *c, uint32_t id, uint32_t flags);
/* IOMMU_DESTROY of an empty HWPT, then remove it from its container and
 * free it. On failure nothing changes (it stays in the list). */
bool vfi_hwpt_destroy(VfiHwpt *h, GError **errp);
void vfi_hwpt_add_device(VfiHwpt *h, VfiDevice *dev);
void vfi_hwpt_remove_device(VfiHwpt *h, VfiDevice *dev);

/* ---- auto-domains.c ---------------------------------------------------- */

typedef enum {
    VFI_PLACE_OK,            /* attached, recorded in the container's lists */
    VFI_PLACE_INCOMPATIBLE,  /* this container cannot take the device */
    VFI_PLACE_ERROR,         /* any other failure: the attach fails */
} VfiPlaceResult;

/* IOMMU_GET_HW_INFO of a physical device into @cd (once per placement). */
bool vfi_auto_domain_read_hw_info(VfiContainerDevice *cd, GError **errp);

/*
 * Place @cd's device in @c (userspace auto domains; see container.h).
 * On OK the device is attached and in its HWPT's list (cd->hwpt set, NULL
 * for an mdev); the caller adds it to the container's device list. On
 * INCOMPATIBLE or ERROR the device is detached, any HWPT made for it is
 * destroyed again, and @errp says why.
 */
VfiPlaceResult vfi_auto_domain_place(VfiContainer *c, VfiContainerDevice *cd,
                                       GError **errp);

/* Whether two placed devices have the same IOMMU hw info (type, capabilities,
 * vendor data). */
bool vfi_auto_domain_same_hw_info(const VfiContainerDevice *a,
                                   const VfiContainerDevice *b);

#endif
