/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the container layer's internal interface (hw/vfio/container/).
 *
 * State lives in one place:
 *  - a container owns its HWPTs (creation order), its device list (attach
 *    order, physical devices and mdevs), the record of its IOAS's mappings
 *    (each as made, with the level that made it, plus their merged view) and
 *    whether a dirty-tracking session is on (written by the migration layer,
 *    checked here on map, unmap and detach);
 *  - a HWPT owns its device list and knows whether its dirty tracking is on;
 *  - a device's VfiContainerDevice says where it is (container, HWPT) and
 *    what was learnt while placing it (hw info, attach attempts, whether the
 *    kernel refused a dirty-tracking HWPT for it); the device's own state
 *    (binding, DMA logging) stays in the device layer.
 * A container is on one of two backends, its kernel calls behind its ops
 * table (container-ops.h): IOMMUFD (iommufd-ops.c: an IOAS and its HWPTs)
 * or type1 (type1.c, type1-dma.c: a VFIO container and its groups); all
 * the above is the same record for both.
 * Dirty coverage is computed by one rule (coverage.c), used by placement
 * and by every report. This layer never calls the layers above it; the
 * address space it belongs to is only a pointer it hands back.
 */
#ifndef VFI_HW_VFIO_CONTAINER_INTERNAL_H
#define VFI_HW_VFIO_CONTAINER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <linux/iommufd.h>

#include "config.h"
#include "vfio-iommufd/iommufd.h"
#include "vfio-iommufd/container.h"
#include "vfio-iommufd/device.h"
#include "vfio-iommufd/dirty.h"
#include "util/ranges.h"
#include "util/kept.h"
#include "device/device-internal.h"
#include "container-ops.h"

/* Size of the vendor-data buffer passed to IOMMU_GET_HW_INFO. */
#define VFI_HW_INFO_DATA_MAX 256

/* Where a mapping's memory comes from: process memory at @vaddr
 * (IOMMU_IOAS_MAP), or [@offset, ...) of the file @fd (IOMMU_IOAS_MAP_FILE;
 * @vaddr NULL). */
typedef struct VfiMapSource {
    void *vaddr;
    int fd;                   /* -1: memory */
    uint64_t offset;
} VfiMapSource;

/* A memory source (fd -1). */
#define VFI_MAP_SOURCE_MEM(va) ((VfiMapSource){ .vaddr = (va), .fd = -1 })

/* One mapping of a container's IOAS as it was made (the kernel unmaps only
 * whole mappings), and which level made it: the address space
 * (vfi_address_space_dma_map(), replays) or the container itself
 * (vfi_container_dma_map()). A file mapping's fd is the container's own
 * duplicate when the container made it (closed when the record forgets
 * it), the address space's (borrowed: it outlives every container's copy
 * of the mapping) when the address space did. */
typedef struct VfiContainerMapping {
    VfiRange r;               /* first: util/ranges.h (a VfiRangeTree's element) */
    VfiMapSource src;
    bool readonly;            /* asked read-only */
    bool by_as;
    bool made_writeable;      /* asked read-only, mapped read-write (the VT-d
                               * erratum 772415 opt-in, nest-parent.c) */
} VfiContainerMapping;

/* The buffer and counters a dirty read uses (owned by a container, or by a
 * public VfiDirtyReader): grown when too small, never shrunk. */
typedef struct VfiDirtyScratch {
    uint64_t *buf;
    size_t size;              /* bytes */
    VfiDirtyStats stats;
} VfiDirtyScratch;

struct VfiContainer {
    const VfiContainerOps *ops; /* its backend (container-ops.h): IOMMUFD or
                               * type1, set at creation, never changed */
    struct VfiType1Container *type1; /* the type1 backend's state (type1.c),
                               * NULL on IOMMUFD */
    VfiLock *lock;            /* its address space's (not owned, given at
                               * creation): taken by the public calls on the
                               * container, its HWPTs and devices */
    VfiAddressSpace *as;      /* handed back only: never dereferenced here */
    VfiIommufd *be;           /* we hold one user of it (NULL: type1) */
    uint32_t ioas_id;         /* 0: type1 (no IOAS) */
    VfiIovaRange *ranges;     /* allowed IOVA ranges, ascending: re-read after
                               * every placement and detach */
    size_t nr_ranges;
    uint64_t alignment;       /* IOVA alignment of the IOAS (>= 1) */
    GPtrArray *devices;       /* VfiDevice *, attach order, not owned */
    GPtrArray *hwpts;         /* VfiHwpt *, creation order, owned */
    VfiRangeTree *maps;       /* VfiContainerMapping: sorted, disjoint */
    VfiRangeTree *mapped;     /* VfiRange: @maps merged (adjacent joined),
                               * what dirty reads and DMA logging look at;
                               * kept in step with @maps (mappings.c only)
                               * while tracking is on, else emptied at the
                               * first change and built again from @maps
                               * when next read (@mapped_valid false) */
    bool mapped_valid;        /* @mapped is @maps merged */
    guint nr_container_maps;  /* how many of @maps the container made (the
                               * others: the address space) */
    bool dirty_tracking;      /* a tracking session is on (migration layer) */
    GArray *kept;             /* util/kept.h: IOMMU dirty pages a read took
                               * from the kernel around the range it was
                               * asked for (whole mappings: migration layer),
                               * not yet delivered; forgotten when unmapped */
    VfiDirtyScratch scratch;  /* for dirty reads of this container */
    struct VfiPlacementMemo *memo; /* what the kernel said to placements
                               * (placement-memo.c); NULL without HWPTs */
    /* Nest parents and the VT-d erratum 772415 (nest-parent.c), written by
     * the address space before the container's first mapping, never
     * changed: */
    bool ro_as_writeable;     /* the VMM opted in: a read-only map where a
                               * nest parent forbids it is made read-write */
    bool ro_erratum_expected; /* made for a nest parent with the erratum:
                               * forbids read-only maps before it is placed */
};

struct VfiHwpt {
    VfiContainer *container;
    uint32_t id;
    uint32_t flags;           /* IOMMU_HWPT_ALLOC_* it was allocated with */
    GPtrArray *devices;       /* VfiDevice *, attach order, not owned */
    bool dirty_on;            /* SET_DIRTY_TRACKING enabled (vfi_hwpt_set_dirty_tracking) */
    struct VfiHwptMemo *memo; /* the records of its container's memo that
                               * name it (placement-memo.c) */
    /* A HWPT made for PASIDs (pasid-hwpts.c): never a device's own (RID)
     * HWPT, never a placement's candidate. Which PASID is on it is the
     * devices' state (their PASID tables); the HWPT counts them. */
    bool for_pasid;
    unsigned pasid_users;     /* (device, PASID) pairs attached to it */
    char *pasid_instance;     /* the IOMMU instance it was made for, or NULL */
    uint32_t pasid_devid;     /* the device it was made for (an unknown
                               * instance: only that device reuses it) */
};

/* The container layer's per-device state, the device's owner while it is in
 * a container (from the start of its placement until it leaves). */
typedef struct VfiContainerDevice {
    VfiDeviceOwner owner;     /* first: the device layer's hook */
    VfiDevice *dev;
    VfiContainer *container;  /* NULL while being placed */
    VfiHwpt *hwpt;            /* NULL for an mdev */
    unsigned attach_attempts; /* ATTACH calls of this placement */
    VfiAttachOptions opts;
    bool bound_here;          /* the attach made the VFIO_DEVICE_BIND_IOMMUFD */
    bool has_hw_info;         /* physical devices: hw_info is valid */
    VfiHwInfo hw_info;        /* hw_info.data points to hw_data */
    uint8_t hw_data[VFI_HW_INFO_DATA_MAX];
    uint32_t refused_flags;   /* the IOMMU_HWPT_ALLOC_* set HWPT_ALLOC refused
                               * for it while placing it (DIRTY_TRACKING, or
                               * NEST_PARENT | DIRTY_TRACKING: the pair), and
                               * so the one it was placed without; 0: none */
    uint32_t stage1_id;       /* the nested HWPT the device is on in place of
                               * @hwpt (its nest parent; stage1.c), 0: on
                               * @hwpt itself */
} VfiContainerDevice;

/* IOMMU_HWPT_ALLOC_PASID, 0 in a build whose headers lack it (6.12). */
#if HAVE_IOMMU_HWPT_ALLOC_PASID
#define VFI_HWPT_ALLOC_PASID ((uint32_t)IOMMU_HWPT_ALLOC_PASID)
#else
#define VFI_HWPT_ALLOC_PASID 0u
#endif

/* The HWPT_ALLOC flags placement chooses by (the rest it never sets). */
#define VFI_HWPT_KIND_FLAGS (IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING | \
                             VFI_HWPT_ALLOC_PASID)
/* Kinds of HWPT by those flags: plain, dirty, nest parent, dirty nest
 * parent, each with or without PASID capability. */
#define VFI_HWPT_KINDS 8

/* The kind index (0 .. VFI_HWPT_KINDS - 1) of a set of HWPT_ALLOC flags. */
static inline unsigned vfi_hwpt_kind(uint32_t flags)
{
    return ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) ? 1u : 0u) |
           ((flags & IOMMU_HWPT_ALLOC_NEST_PARENT) ? 2u : 0u) |
           ((flags & VFI_HWPT_ALLOC_PASID) ? 4u : 0u);
}

/* The lock of @c (of @h's container), NULL for NULL. */
static inline VfiLock *vfi_container_lock(const VfiContainer *c)
{
    return c ? c->lock : NULL;
}

static inline VfiLock *vfi_hwpt_lock(const VfiHwpt *h)
{
    return h ? h->container->lock : NULL;
}

/* Returns: the placement state of @dev, or NULL when it is in no container
 * (the owner hook is the first member of its VfiContainerDevice). */
static inline VfiContainerDevice *vfi_container_device_state(const VfiDevice *dev)
{
    /* also in a type1 container: every container's devices have one */
    return (VfiContainerDevice *)vfi_device_get_owner(dev);
}

/* ---- container.c ------------------------------------------------------- */

/* Connect a user of @be, IOMMU_IOAS_ALLOC: a new empty container of @as
 * (not dereferenced), guarded by @lock (not owned: the address space's),
 * without IOVA ranges yet (vfi_container_refresh_ranges()). On failure
 * nothing is left. */
VfiContainer *vfi_container_new(VfiAddressSpace *as, VfiLock *lock, VfiIommufd *be,
                                GError **errp);

/*
 * Destroy what an unused container leaves: its empty HWPTs, then, when it
 * has no device and no HWPT left, its IOAS, its backend user and the
 * container itself (*@freed true). Returns false with @errp when a destroy
 * failed: the objects that could not be destroyed stay in the lists and the
 * container is not freed (its owner must keep it to retry).
 */
bool vfi_container_cleanup(VfiContainer *c, bool *freed, GError **errp);

/* Read @c's IOVA ranges and alignment again (they change as domains and
 * devices come and go). On failure @c keeps the ones it had. */
bool vfi_container_refresh_ranges(VfiContainer *c, GError **errp);

/* The backend of @c puts @cd's device in @c in the kernel (every check
 * made; an IOMMUFD container places it: placement.c). On OK the caller
 * adds it (vfi_container_add_device()); otherwise nothing is left. */
VfiPlaceResult vfi_container_attach_device(VfiContainer *c, VfiContainerDevice *cd,
                                           GError **errp);
/* The backend of @c takes @cd's device out in the kernel (the bookkeeping:
 * vfi_container_forget_device()). On failure it stays. */
bool vfi_container_detach_device(VfiContainer *c, VfiContainerDevice *cd, GError **errp);
/* Whether @c is on the type1 backend. */
static inline bool vfi_container_is_type1(const VfiContainer *c)
{
    return c->ops->kind == VFI_BACKEND_TYPE1;
}

/* The longest vfi_container_describe() text, its NUL included. */
#define VFI_CONTAINER_DESC_LEN 32

/* @c as a VMM knows it, for messages and traces: "ioas N" on IOMMUFD,
 * "type1 container fd N" on type1 (which has no IOAS), "no container" for
 * NULL; written into @buf (@len bytes, VFI_CONTAINER_DESC_LEN is enough) and
 * returned. No ioctl, no allocation. */
const char *vfi_container_describe(const VfiContainer *c, char *buf, size_t len);
/* The same into a buffer of the enclosing block (a compound literal): for an
 * argument of a message or trace call. */
#define VFI_CONTAINER_DESC(c) \
    vfi_container_describe((c), (char[VFI_CONTAINER_DESC_LEN]){ 0 }, VFI_CONTAINER_DESC_LEN)
/* Emit trace event @ev whose first argument is container @c's description,
 * made only while the event is on (trace_<ev>_enabled()). */
#define VFI_TRACE_CONTAINER(ev, c, ...) \
    do { \
        if (trace_##ev##_enabled()) { \
            trace_##ev(VFI_CONTAINER_DESC(c), __VA_ARGS__); \
        } \
    } while (0)

/* A container was given (INVALID_ARGUMENT naming @what otherwise). */
bool vfi_container_check_given(const VfiContainer *c, const char *what, GError **errp);

/* Size non-zero, no overflow, @iova and @size multiples of @c's IOVA
 * alignment (INVALID_ARGUMENT naming @what). No ioctl. */
bool vfi_container_check_sized(const VfiContainer *c, const char *what, uint64_t iova,
                               uint64_t size, GError **errp);
/* Map [iova, iova + size) inside @c's IOVA ranges and alignment
 * (INVALID_ARGUMENT) and, while tracking is on, inside the ranges every
 * logging device logs (WRONG_STATE). No ioctl. */
bool vfi_container_check_map(const VfiContainer *c, const char *what, uint64_t iova,
                             uint64_t size, GError **errp);
/* While tracking is on, a plain unmap needs VFI_UNMAP_DISCARD_DIRTY
 * (WRONG_STATE). No ioctl. */
bool vfi_container_check_unmap_tracking(const VfiContainer *c, const char *what,
                                        VfiUnmapFlags flags, GError **errp);

/* The placement state of @dev about to be placed with @opts (NULL: the
 * defaults); @release is the owner hook vfi_device_free() calls. Made the
 * device's owner by vfi_container_add_device(). */
VfiContainerDevice *vfi_container_device_new(VfiDevice *dev, const VfiAttachOptions *opts,
                                             void (*release)(VfiDeviceOwner *, VfiDevice *));
/* Add a device placed in @c (vfi_placement_place()) to @c's list; @cd
 * becomes the device's owner. */
void vfi_container_add_device(VfiContainer *c, VfiContainerDevice *cd);
/*
 * The bookkeeping half of a detach, once the device is detached in the
 * kernel (or about to be, by the close of its fd): it leaves its HWPT's and
 * @c's lists (its owner cleared, @cd freed), an emptied HWPT is destroyed,
 * and @c's IOVA ranges are re-read while devices remain. False with @errp
 * when that destroy or re-read failed: the device has left all the same
 * (an empty HWPT stays in the list, reused or destroyed later).
 */
bool vfi_container_forget_device(VfiContainer *c, VfiContainerDevice *cd, GError **errp);

/* While tracking is on, a tracked device may not leave (WRONG_STATE). */
bool vfi_container_check_detach(const VfiContainer *c, const VfiContainerDevice *cd,
                                GError **errp);

/* A container record for the existing IOAS @ioas_id of @be (the caller
 * holds a user of @be for it), empty, no ioctl (vfi_container_new() and a
 * live update's restore). */
VfiContainer *vfi_container_wrap(VfiAddressSpace *as, VfiLock *lock, VfiIommufd *be,
                                 uint32_t ioas_id);
/* Free the record of @c, without device or HWPT left, closing the fds its
 * mappings own; the backend user is the caller's to drop. No ioctl. */
void vfi_container_free_record(VfiContainer *c);

/* ---- stage1.c: a device on a nested HWPT ------------------------------ */

/* The nested HWPT @cd is on (0: on its own HWPT, or NULL). */
uint32_t vfi_container_device_get_stage1(const VfiContainerDevice *cd);
/* Put @cd's device on the nested HWPT @stage1_id made on its nest parent
 * (or on a vIOMMU of it), or back on its nest parent (0), by a replace; no
 * ioctl when it is there already. WRONG_STATE before any ioctl when @cd's
 * HWPT is not a nest parent. On failure nothing changed. */
bool vfi_container_device_set_stage1(VfiContainerDevice *cd, uint32_t stage1_id,
                                     GError **errp);

/* ---- container-restore.c (live update) --------------------------------- */

/* The index of a mapping's fd in the handed-over fds meaning "the address
 * space's file of the mapping at the same IOVA". */
#define VFI_SAVED_FD_OF_AS G_MAXUINT32
/* The GVariant type of a saved container: ioas id, IOVA ranges, alignment,
 * tracking, kept pages, HWPTs (id, flags, tracking on), devices (the
 * device's state, its HWPT's index or -1, attach options, placement
 * facts, hw info), mappings (iova, last, fd index, offset, read-only, made
 * by the address space). */
/* One device's placement: the device, its HWPT's index (-1: the IOAS), its
 * attach options (no IOMMU dirty, prefer logging, nest parent), bound here,
 * the HWPT_ALLOC flags the kernel refused, its hw info, its attempts. */
#define VFI_PLACEMENT_STATE VFI_DEVICE_STATE "ibbbbubut@ayu"
#define VFI_PLACEMENT_TYPE VFI_DEVICE_STATE "ibbbbubutayu"
#define VFI_CONTAINER_STATE "(ua(tt)tba(tt)a(uub)a(" VFI_PLACEMENT_TYPE ")a(ttutbb))"

/* What restoring a container needs from the address space. */
typedef struct VfiContainerRestore {
    const int *fds;           /* the handed-over fds (borrowed) */
    guint n_fds;
    /* the fd of the address space's mapping at @iova (its own), or -1 */
    int (*as_fd)(void *opaque, uint64_t iova);
    void *opaque;
    /* the owner hook of the restored devices' placements */
    void (*release)(VfiDeviceOwner *owner, VfiDevice *dev);
    GPtrArray *devices;       /* out: every device restored is appended (the
                               * caller frees them if the restore fails) */
} VfiContainerRestore;

/* Refuse (INVALID_ARGUMENT, no ioctl) a container that cannot be handed
 * over: a mapping of process memory (IOMMU_IOAS_CHANGE_PROCESS takes only
 * file mappings), a device being placed. */
bool vfi_container_check_savable(const VfiContainer *c, GError **errp);
/* @c's state; the fds it names (its devices', then its own file
 * mappings') are appended to @fds (int) and named by their index there. */
GVariant *vfi_container_state_save(const VfiContainer *c, GArray *fds);
/* A saved container is well formed (indices, references, ranges) for a
 * list of @n_fds fds, its by-address-space mappings found by @as_has
 * (INVALID_ARGUMENT naming it otherwise). No ioctl. */
bool vfi_container_state_check(GVariant *v, guint n_fds,
                               bool (*as_has)(void *opaque, uint64_t iova, uint64_t last),
                               void *opaque, GError **errp);
/* The container of @as on @be (one user taken) a saved state describes,
 * built without changing the kernel and checked against it (the IOAS and
 * its IOVA ranges, each HWPT, each device's binding and IOMMU); NULL with
 * @errp naming the object and id, nothing left but the devices @r
 * collected. */
VfiContainer *vfi_container_state_restore(GVariant *v, VfiAddressSpace *as, VfiLock *lock,
                                          VfiIommufd *be, VfiContainerRestore *r,
                                          GError **errp);
/* Let @c go without changing the kernel (the old process of a handover, or
 * a failed restore): its devices are let go (vfi_device_let_go()), its
 * HWPT records and mapping records freed, its fds closed, its backend user
 * dropped, @c freed. No ioctl. */
void vfi_container_let_go(VfiContainer *c);

/* ---- mappings.c -------------------------------------------------------- */

/* Check a range to unmap from @c (INVALID_ARGUMENT): size, overflow,
 * alignment, and no mapping of @c crossing one of its edges. */
bool vfi_container_check_unmap_range(const VfiContainer *c, const char *what,
                                     uint64_t iova, uint64_t size, GError **errp);
/* Every check of vfi_container_dma_unmap() (flags, range, edges, no
 * address-space mapping, tracking state): INVALID_ARGUMENT / WRONG_STATE,
 * no ioctl. */
bool vfi_container_check_unmap(const VfiContainer *c, const char *what, uint64_t iova,
                               uint64_t size, VfiUnmapFlags flags, GError **errp);
/* vfi_container_dma_unmap() after its checks (the caller made them, under
 * @c's lock): the unmap given @log, where the IOMMU dirty bits an unmap
 * reads itself go (type1 while its IOMMU tracks: the exact read of the
 * mappings it removes; NULL: not read, dropped), the ENOENT resync's
 * unmaps too. */
bool vfi_container_dma_unmap_checked(VfiContainer *c, uint64_t iova, uint64_t size,
                                     const VfiDirtyLog *log, VfiUnmapFlags flags,
                                     uint64_t *unmapped, GError **errp);
/* IOMMU_IOAS_MAP in @c without any check (the caller made them), recorded
 * as made by the address space (@by_as) or by the container. */
bool vfi_container_map_unchecked(VfiContainer *c, uint64_t iova, uint64_t size,
                                 void *vaddr, bool readonly, bool by_as, GError **errp);
/* IOMMU_IOAS_MAP or IOMMU_IOAS_MAP_FILE of @src in @c without any check
 * (the caller made them), recorded as made by the address space (@by_as:
 * a file's fd is borrowed) or by the container (the record owns the fd, a
 * duplicate, closed when the mapping is forgotten; on failure the caller
 * still owns it). @iova VFI_IOVA_ANY (files only): the kernel chooses,
 * *@iova_out (may be NULL for a fixed @iova) gets it. */
bool vfi_container_map_src_unchecked(VfiContainer *c, uint64_t iova, uint64_t size,
                                     const VfiMapSource *src, bool readonly, bool by_as,
                                     uint64_t *iova_out, GError **errp);
/* Before any ioctl of a map by file: the build has IOMMU_IOAS_MAP_FILE
 * (NOT_SUPPORTED), @fd >= 0, @size non-zero, @offset + @size not
 * overflowing (INVALID_ARGUMENT); then *@dup is a duplicate of @fd
 * (F_DUPFD_CLOEXEC: INVALID_ARGUMENT for a closed @fd, HOST otherwise),
 * the caller's to close (vfi_container_file_close()). @what names the
 * call. */
bool vfi_container_file_dup(const char *what, int fd, uint64_t offset, uint64_t size,
                            int *dup, GError **errp);
/* The same without the build check: for a type1 container, which maps a
 * file by mmapping it (no IOMMU_IOAS_MAP_FILE needed). */
bool vfi_container_file_dup_any(const char *what, int fd, uint64_t offset, uint64_t size,
                                int *dup, GError **errp);
/* Close a duplicate made by vfi_container_file_dup() (-1: nothing). */
void vfi_container_file_close(const char *what, int fd);
/* The offset of a file mapping against @c's IOVA alignment: its position
 * in its page must be aligned as the IOVAs are (the kernel's
 * iopt_insert_area()): INVALID_ARGUMENT. No ioctl. */
bool vfi_container_check_file_offset(const VfiContainer *c, const char *what,
                                     uint64_t offset, GError **errp);
/* Forget every mapping of @c's record, closing the fds it owns (the IOAS
 * was unmapped whole or is destroyed). */
void vfi_container_forget_all_mappings(VfiContainer *c);
/* IOMMU_IOAS_UNMAP of [iova, iova + size) without any check, the record
 * updated; ENOENT while mappings are recorded there resyncs the record
 * (vfi_container_unmap_resync()) and fails only if some are still there. */
bool vfi_container_unmap_unchecked(VfiContainer *c, uint64_t iova, uint64_t size,
                                   GError **errp);
/* The same, the IOMMU dirty bits an unmap itself reads (type1 while its
 * IOMMU tracks) going into @log (NULL: not read, dropped). */
bool vfi_container_unmap_unchecked_dirty(VfiContainer *c, uint64_t iova, uint64_t size,
                                         const VfiDirtyLog *log, GError **errp);
/* Returns: the first mapping of @c overlapping [iova, last] made by the
 * address space (@by_as) or by the container, or NULL. */
const VfiContainerMapping *vfi_container_mapping_overlap(const VfiContainer *c,
                                                         uint64_t iova, uint64_t last,
                                                         bool by_as);
/* Returns: how many of @c's mappings the address space made. */
guint vfi_container_as_mapping_count(const VfiContainer *c);
/* Returns: the mapping of @c holding @iova, or NULL. */
const VfiContainerMapping *vfi_container_mapping_at(const VfiContainer *c, uint64_t iova);
/* The merged view (what dirty reads and DMA logging look at), read only
 * through these (the layers above never touch @maps or @mapped):
 * the first merged range of @c whose last byte is >= @iova into *@r (true),
 * false when there is none; */
bool vfi_container_mapped_next(const VfiContainer *c, uint64_t iova, VfiRange *r);
/* how many merged ranges @c has (0: nothing mapped). */
guint vfi_container_mapped_count(const VfiContainer *c);
/* Iterate @c's merged ranges from the one ending at or after @from:
 * VFI_CONTAINER_FOREACH_MAPPED(c, from, r) { ... r.iova ... } */
#define VFI_CONTAINER_FOREACH_MAPPED(c, from, r)                                  \
    for (bool r##_ok = vfi_container_mapped_next((c), (from), &(r)); r##_ok;     \
         r##_ok = (r).last != UINT64_MAX && vfi_container_mapped_next((c), (r).last + 1, &(r)))

/* ---- hwpt.c ------------------------------------------------------------ */

/* A new HWPT record for kernel object @id, appended to @c's list. */
VfiHwpt *vfi_hwpt_new(VfiContainer *c, uint32_t id, uint32_t flags);
/* The same for a HWPT made for PASIDs of devices behind the IOMMU instance
 * @instance (NULL: unknown) for the device @devid: kept out of the
 * placements' candidates. */
VfiHwpt *vfi_hwpt_new_for_pasid(VfiContainer *c, uint32_t id, uint32_t flags,
                                const char *instance, uint32_t devid);
/* IOMMU_DESTROY of an empty HWPT, then remove it from its container and
 * free it. On failure nothing changes (it stays in the list). */
bool vfi_hwpt_destroy(VfiHwpt *h, GError **errp);
void vfi_hwpt_add_device(VfiHwpt *h, VfiDevice *dev);
void vfi_hwpt_remove_device(VfiHwpt *h, VfiDevice *dev);
/* Whether @h was allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING. */
bool vfi_hwpt_is_dirty_capable(const VfiHwpt *h);
/* IOMMU_HWPT_SET_DIRTY_TRACKING, and @h's state follows the kernel's. */
bool vfi_hwpt_set_dirty_tracking(VfiHwpt *h, bool on, GError **errp);

/* ---- pasid-hwpts.c (a placed device's PASIDs) -------------------------- */

/* Attach @pasid of @cd's device (placed in its container) to a PASID HWPT
 * of the container: one of the same IOMMU instance and flags some other
 * (device, PASID) uses, or a new one (IOMMU_HWPT_ALLOC_PASID, with
 * DIRTY_TRACKING where the device's IOMMU tracks dirty pages and the VMM
 * did not opt out). The checks are the caller's
 * (vfi_container_check_pasid()). On failure nothing is left (a HWPT made
 * for it is destroyed again). */
bool vfi_container_attach_pasid(VfiContainerDevice *cd, uint32_t pasid, GError **errp);
/* Detach @pasid of @cd's device; the last user of its HWPT destroys it. */
bool vfi_container_detach_pasid(VfiContainerDevice *cd, uint32_t pasid, GError **errp);
/* Detach every PASID of @cd's device (its detach from the container comes
 * next); stops at the first failure. */
bool vfi_container_detach_pasids(VfiContainerDevice *cd, GError **errp);
/* Before any ioctl: a build with PASID support (NOT_SUPPORTED), @pasid
 * non-zero and inside the device's PASID width (INVALID_ARGUMENT;
 * NOT_SUPPORTED for a width of 0), attached (@attached) or not
 * (WRONG_STATE), its own HWPT PASID-capable and no tracking session on for
 * an attach (WRONG_STATE). @what names the call. */
bool vfi_container_check_pasid(const VfiContainerDevice *cd, const char *what, uint32_t pasid,
                               bool attached, GError **errp);

/* ---- placement.c (userspace auto domains) ------------------------------ */

/* (VfiPlaceResult: container-ops.h) */

/* IOMMU_GET_HW_INFO of a physical device into @cd (once per placement). */
bool vfi_placement_read_hw_info(VfiContainerDevice *cd, GError **errp);

/*
 * Place @cd's device in @c (userspace auto domains; see container.h).
 * On OK the device is attached and in its HWPT's list (cd->hwpt set, NULL
 * for an mdev); the caller adds it to the container (vfi_container_add_device).
 * On INCOMPATIBLE or ERROR the device is detached, any HWPT made for it is
 * destroyed again, and @errp says why.
 */
VfiPlaceResult vfi_placement_place(VfiContainer *c, VfiContainerDevice *cd, GError **errp);

/* ---- placement-memo.c (what the kernel said, per fingerprint) --------- */

typedef struct VfiPlacementMemo VfiPlacementMemo;
typedef struct VfiHwptMemo VfiHwptMemo;

/* A physical device's fingerprint: its IOMMU hw info (the "class") and its
 * IOMMU instance when sysfs tells it. A view of the device's own state. */
typedef struct VfiFingerprint {
    guint hash;               /* of all below */
    guint class_hash;         /* of type, caps and data */
    uint32_t type;
    uint64_t caps;
    uint32_t data_len;
    const uint8_t *data;
    const char *instance;     /* vfi_device_get_iommu_instance(), NULL unknown */
} VfiFingerprint;

/* The fingerprint of @cd's device (hw info read), pointing into @cd. */
void vfi_fingerprint_init(VfiFingerprint *fp, const VfiContainerDevice *cd);
/* A new HWPT (vfi_hwpt_new()) enters its container's memo; its destroy
 * forgets every record naming it (before it leaves the list). */
void vfi_memo_hwpt_new(VfiHwpt *h);
void vfi_memo_hwpt_forget(VfiHwpt *h);
/* The kernel took / refused (EINVAL) the device @name of fingerprint @fp
 * on @h. */
void vfi_memo_accepted(VfiHwpt *h, const VfiFingerprint *fp, const char *name);
void vfi_memo_refused(VfiHwpt *h, const VfiFingerprint *fp, const char *name);
/* The HWPTs of @c whose kind flags (VFI_HWPT_KIND_FLAGS) are @want_flags that accepted @fp, in
 * order of acceptance (try them first); then the others still worth a try,
 * in creation order, refusals with an unknown instance last (g_ptr_array_unref). */
GPtrArray *vfi_memo_remembered(VfiContainer *c, const VfiFingerprint *fp, uint32_t want_flags,
                               const char *name);
GPtrArray *vfi_memo_others(VfiContainer *c, const VfiFingerprint *fp, uint32_t want_flags,
                           const char *name);
/* HWPT_ALLOC refused the flag set @flags (with DIRTY_TRACKING) for @fp in
 * @c: remembered until the container's last HWPT goes, so the next device
 * of @fp is placed without the flag at once. */
void vfi_memo_alloc_refused(VfiContainer *c, const VfiFingerprint *fp, uint32_t flags,
                            const char *name);
/* Forget that refusal again (it proved to be the container's, not the
 * flags'). */
void vfi_memo_alloc_unrefuse(VfiContainer *c, const VfiFingerprint *fp, uint32_t flags);
/* Whether HWPT_ALLOC refused @flags for @fp in @c before. */
bool vfi_memo_alloc_was_refused(const VfiContainer *c, const VfiFingerprint *fp,
                                uint32_t flags);
/* Free @c's memo when it has no HWPT left (a placement that made none). */
void vfi_memo_release_if_unused(VfiContainer *c);

/* ---- nest-parent.c (nest parents and the VT-d erratum 772415) --------- */

/* Whether @cd's device reports the VT-d erratum 772415 (no read-only
 * mappings in a nest-parent domain) in its hw info. */
bool vfi_nest_parent_ro_erratum(const VfiContainerDevice *cd);
/* The device of @c's nest-parent HWPTs that has the erratum, or NULL: read-only
 * mappings are forbidden in @c then. */
VfiDevice *vfi_nest_parent_ro_forbidder(const VfiContainer *c);
/* Before any ioctl of a map of [iova, iova + size) asked read-only in @c:
 * refused (INVALID_ARGUMENT naming the device, its HWPT and the option)
 * where a nest parent forbids it; *@writeable true: map it read-write (the
 * address space opted in). @what names the call. */
bool vfi_nest_parent_check_map(const VfiContainer *c, const char *what, uint64_t iova,
                               uint64_t size, bool readonly, bool *writeable, GError **errp);
/* Before any ioctl of @cd's placement as a nest parent in @c: whether @c
 * holds a mapping made read-only that the erratum forbids (then @errp). */
bool vfi_nest_parent_check_join(const VfiContainer *c, const VfiContainerDevice *cd,
                                GError **errp);

/* ---- coverage.c (the one coverage rule) -------------------------------- */

/* Which coverage the rule gives @cd's device, and why not when NONE: the
 * rule placement follows (a device gets a dirty-tracking HWPT iff this
 * says IOMMU) and every report uses. */
VfiDirtyCoverage vfi_coverage_rule(const VfiContainerDevice *cd, VfiUntrackedReason *why);

/* Whether @cd's device is covered by its own DMA logging (offered, and
 * preferred by the VMM). */
bool vfi_coverage_uses_logging(const VfiContainerDevice *cd);

#endif
