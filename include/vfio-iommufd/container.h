/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: address spaces, containers and userspace auto domains.
 *
 * The VMM names each guest address space with an opaque handle
 * (VfiAddressSpace). A container (VfiContainer) is one IOAS of one backend
 * in one address space. Attaching a device to an address space tries the
 * address space's containers on the same backend in turn; when none takes
 * it, a new container with a new IOAS is made. A type1 address space
 * (vfi_address_space_set_backend()) has one VFIO type1 container instead
 * (vfi_container_get_backend_kind(); docs/type1.md).
 *
 * Inside a container the library places devices itself ("userspace auto
 * domains"):
 *  - a physical device joins an existing HWPT of the container whose flags
 *    are what the device wants (dirty tracking or not); candidates holding a
 *    device with the same IOMMU hw info are tried first. EINVAL from the
 *    attach means "incompatible": the next candidate is tried. Any other
 *    error fails the attach and leaves nothing behind.
 *  - when none fits, a HWPT is allocated on the IOAS for the device, with
 *    IOMMU_HWPT_ALLOC_DIRTY_TRACKING when the device's IOMMU reports the
 *    capability and the VMM did not opt out, and the device is attached to
 *    it (the HWPT is destroyed again if that fails).
 *  - an mdev attaches to the IOAS itself.
 *  - a device the VMM asks a nest parent for (a guest vIOMMU:
 *    VfiAttachOptions.nest_parent, vfi_address_space_set_nesting()) gets
 *    IOMMU_HWPT_ALLOC_NEST_PARENT too, and joins only nest parents; where the
 *    kernel refuses NEST_PARENT | DIRTY_TRACKING it gets NEST_PARENT alone
 *    and is untracked for that reason (docs/nesting.md).
 * Each HWPT keeps its device list; the last device out destroys it; the last
 * device out of a container destroys its IOAS and the container.
 *
 * Ownership: the VMM owns address spaces, backends and devices; the library
 * owns containers and HWPTs (pointers to them are valid until the change
 * that removes them: the last device detached).
 *
 * Threads (docs/concurrency.md): every function of this header on one
 * address space, on its containers and HWPTs and on the devices in them may
 * be called from several threads at once: each call holds the address
 * space's lock (a recursive mutex, no allocation) from start to end, so
 * calls on one address space run one after the other and each sees the
 * state the previous one left. Two address spaces are independent, also
 * when they share a backend. Not covered: a free must not overlap other
 * calls on the same object; a container or HWPT pointer (and an index into
 * a list) may go stale when another thread detaches the last device of the
 * container; attaching, detaching or freeing a device must not overlap
 * other calls on that device.
 *
 * A device normally leaves its container with
 * vfi_address_space_detach_device(). vfi_device_free() of a device still
 * in a container takes it out first (its DMA logging stopped, it leaves its
 * HWPT's and container's lists, an emptied HWPT or container is destroyed;
 * errors there are traced only), so the container never points to a freed
 * device.
 *
 * Mappings belong to the level that made them. Those made through the
 * address space (vfi_address_space_dma_map()) are in every container of
 * it and replayed into new ones; they are unmapped only with
 * vfi_address_space_dma_unmap(). Those made in one container
 * (vfi_container_dma_map()) are that container's alone and unmapped only
 * with vfi_container_dma_unmap() or vfi_container_dma_unmap_all(). A call
 * at one level over a mapping of the other is refused (WRONG_STATE, no
 * ioctl) with a message naming the mapping and the call to use.
 */
#ifndef VFI_CONTAINER_H
#define VFI_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#include "vfio-iommufd/iommufd.h"
#include "vfio-iommufd/device.h"
#include "vfio-iommufd/visibility.h"

G_BEGIN_DECLS

/* One guest address space of the VMM (opaque; vfi_address_space_new()). */
typedef struct VfiAddressSpace VfiAddressSpace;
/* One IOAS of one backend in one address space, made and freed by the
 * library as devices come and go (opaque). */
typedef struct VfiContainer VfiContainer;
/* A HWPT (IOMMU domain) the library allocated in a container (opaque). */
typedef struct VfiHwpt VfiHwpt;

/* What the VMM asks for one device at attach time. The struct grows at its
 * end from one release to the next (docs/abi.md, "Structs that grow"):
 * initialize it with VFI_ATTACH_OPTIONS_INIT(), which sets @size; a member
 * beyond the size the caller was compiled with reads as false / NULL. */
typedef struct VfiAttachOptions {
    /* sizeof(VfiAttachOptions) as the caller was compiled
     * (VFI_ATTACH_OPTIONS_INIT() sets it): from VFI_ATTACH_OPTIONS_SIZE_VER0
     * to this library's sizeof; the attach refuses any other. */
    size_t size;
    /* The VMM does not want IOMMU dirty tracking for this device (migration
     * off, or the device tracks its own DMA): it joins a plain HWPT whatever
     * its IOMMU can do. Default (false): wanted where available. */
    bool no_iommu_dirty_tracking;
    /* The VMM wants the device to log its own DMA (VFIO DMA logging) when
     * it offers it (probed at attach): the device is then placed in a plain
     * HWPT and covered by device logging. Default (false): device logging is
     * not used, and a device without IOMMU tracking is untracked
     * (VFI_UNTRACKED_LOGGING_NOT_PREFERRED when it offers logging). */
    bool prefer_device_dirty_logging;
    /* The VMM's name for the device (vfi_device_set_label()), applied before
     * anything else and kept whether the attach succeeds or not; NULL: the
     * device keeps the label it has. */
    const char *label;
    /* Nested translation (docs/nesting.md, "Nest-parent
     * placement"). The VMM will give the guest a vIOMMU for this device:
     * it is placed in a nest-parent HWPT (IOMMU_HWPT_ALLOC_NEST_PARENT,
     * with DIRTY_TRACKING too where the coverage rule gives it IOMMU
     * tracking and the kernel takes the pair), never in a plain one. An
     * address space's vfi_address_space_set_nesting() asks the same for
     * every device. Default (false): a plain HWPT. */
    bool nest_parent;
    /* The VMM will attach PASIDs of the device
     * (vfi_address_space_attach_pasid(), as-pasid.h): its own HWPT is
     * allocated with IOMMU_HWPT_ALLOC_PASID (the kernel takes a PASID only
     * beside a PASID-capable domain of the device), shared only with
     * devices placed the same way. Ignored in a build without
     * IOMMU_HWPT_ALLOC_PASID. Default (false): a HWPT without it. */
    bool pasid;
} VfiAttachOptions;

/**
 * VFI_ATTACH_OPTIONS_SIZE_VER0:
 *
 * The smallest VfiAttachOptions the library takes: @size through @label.
 * The later members (@nest_parent, @pasid, and whatever a later release
 * appends) read as false outside the caller's @size.
 */
#define VFI_ATTACH_OPTIONS_SIZE_VER0 \
    (offsetof(VfiAttachOptions, label) + sizeof(((VfiAttachOptions *)0)->label))

/**
 * VFI_ATTACH_OPTIONS_INIT:
 * @...: designated initializers of the options (may be empty).
 *
 * An initializer of a VfiAttachOptions with @size set to the sizeof() of
 * the headers compiled against: `VfiAttachOptions o =
 * VFI_ATTACH_OPTIONS_INIT(.label = "nic0", .nest_parent = true);`, or as a
 * compound literal, `&(VfiAttachOptions)VFI_ATTACH_OPTIONS_INIT(.pasid = true)`.
 */
#define VFI_ATTACH_OPTIONS_INIT(...) { .size = sizeof(VfiAttachOptions), __VA_ARGS__ }

/* What the VMM asks of an address space whose guest has a vIOMMU
 * (vfi_address_space_set_nesting()). */
typedef struct VfiNestingOptions {
    /* Every device attached from now on gets a nest-parent HWPT, as with
     * VfiAttachOptions.nest_parent. */
    bool nest_parent;
    /* Intel's erratum 772415 (IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 in the
     * VT-d hw info) forbids read-only mappings in a nest-parent domain.
     * false (default): a read-only map into a container whose nest parent
     * serves such a device is refused (INVALID_ARGUMENT, before any ioctl),
     * and such a device is not placed as a nest parent where read-only
     * mappings are. true: the VMM accepts that read-only guest memory is
     * mapped read-write there (the device could write it). */
    bool readonly_as_writeable;
} VfiNestingOptions;

/* How a device's DMA writes are seen by dirty tracking. */
typedef enum {
    VFI_DIRTY_COVERAGE_NONE = 0,    /* not tracked */
    VFI_DIRTY_COVERAGE_IOMMU,       /* its HWPT has IOMMU dirty tracking */
    VFI_DIRTY_COVERAGE_DEVICE_LOGGING, /* the device logs its own DMA
                                         * (VFIO DMA logging) */
    VFI_DIRTY_COVERAGE_TYPE1,       /* in a type1 container: every mapped page
                                     * is reported dirty (type1 cannot tell
                                     * what the device wrote) */
} VfiDirtyCoverage;

/* Why a device is not covered by IOMMU dirty tracking. */
typedef enum {
    VFI_COVERED = 0,          /* it is covered */
    VFI_UNTRACKED_MDEV,             /* an mdev: no IOMMU domain of its own */
    VFI_UNTRACKED_NO_IOMMU_CAP,     /* its IOMMU lacks dirty tracking */
    VFI_UNTRACKED_KERNEL_REFUSED,   /* capability reported, but HWPT_ALLOC
                                      * refused the flag (EOPNOTSUPP) */
    VFI_UNTRACKED_VMM_OPT_OUT,      /* the VMM said no_iommu_dirty_tracking */
    VFI_UNTRACKED_NOT_ATTACHED,     /* the device is not in this container */
    VFI_UNTRACKED_LOGGING_NOT_PREFERRED, /* it offers DMA logging, but the VMM
                                      * did not set prefer_device_dirty_logging
                                      * and it has no IOMMU dirty tracking */
    VFI_UNTRACKED_SWITCH_FAILED,    /* tracking is on in its container, but its
                                      * HWPT's tracking or its DMA logging is
                                      * off: a switch and its undo failed
                                      * (stop and start tracking again) */
    VFI_UNTRACKED_NEST_PARENT_REFUSED, /* added in 0.2: a nest parent; its IOMMU
                                      * reports dirty tracking, but HWPT_ALLOC
                                      * refused DIRTY_TRACKING together with
                                      * NEST_PARENT (EOPNOTSUPP or EINVAL, as
                                      * ARM SMMUv3 does): placed in a nest
                                      * parent without the flag */
} VfiUntrackedReason;

/* Unmap flags. */
typedef enum {
    /* A range with nothing mapped is not an error (vIOMMU-style redundant
     * unmaps): *unmapped is 0 and the call succeeds. A range cutting a
     * mapping is still refused (see vfi_container_dma_unmap()). */
    VFI_UNMAP_ALLOW_ABSENT = 1 << 0,
    /* While dirty tracking is on, a plain unmap is refused (WRONG_STATE) so
     * that no dirty page is lost silently; this flag says the caller does
     * not need the range's dirty bits (see vfi_container_dma_unmap_dirty()
     * in dirty.h to read them first). */
    VFI_UNMAP_DISCARD_DIRTY = 1 << 1,
} VfiUnmapFlags;

/* ---- address spaces ---------------------------------------------------- */

/**
 * vfi_address_space_new:
 * @handle: the VMM's opaque name for a guest address space (not
 *   dereferenced); returned by vfi_address_space_get_handle().
 *
 * Returns: a new address space with no container (free with
 * vfi_address_space_free()), with its own lock: any thread may use it.
 */
VFI_API VfiAddressSpace *vfi_address_space_new(void *handle);

/**
 * vfi_address_space_free:
 *
 * Refused (WRONG_STATE, nothing freed) while a device is still attached.
 * Containers left without devices by an earlier failed destroy (see
 * vfi_address_space_detach_device()) are destroyed here; if that fails
 * again the kernel error is returned and nothing is freed. NULL is accepted.
 * No other call on @as, its containers or HWPTs may overlap it.
 */
VFI_API bool vfi_address_space_free(VfiAddressSpace *as, GError **errp);

/* Returns: the handle given to vfi_address_space_new(). */
VFI_API void *vfi_address_space_get_handle(const VfiAddressSpace *as);
/* Returns: the number of mappings remembered by vfi_address_space_dma_map(). */
VFI_API unsigned vfi_address_space_mapping_count(const VfiAddressSpace *as);
/* Returns: the bytes of memory the address space's own record of its
 * mappings takes (its tree's nodes, a spare one included; the records of
 * its containers are vfi_container_get_mapping_bytes()'); 0 for NULL. For
 * a VMM's memory accounting: about 53 bytes per mapping in a large record
 * (docs/benchmarks.md). */
VFI_API size_t vfi_address_space_get_mapping_bytes(const VfiAddressSpace *as);
/* Returns: the number of IOMMUFD containers (IOASes), and the @i-th
 * (0-based, creation order). A type1 address space has one type1 container
 * instead, not counted here (0, NULL): it is vfi_device_get_container() of
 * its devices and the container of their vfi_address_space_dirty_report()
 * entries (vfi_container_get_backend_kind() tells the two kinds apart).
 * With another thread hot-plugging, the count and the index may be stale
 * once the call returns (docs/concurrency.md). */
VFI_API unsigned vfi_address_space_container_count(const VfiAddressSpace *as);
VFI_API VfiContainer *vfi_address_space_container(const VfiAddressSpace *as,
                                                             unsigned i);

/**
 * vfi_address_space_dma_map:
 *
 * Map guest memory [@vaddr, @vaddr + @size) at @iova in every container of
 * @as, and remember the mapping so that containers made later get it too.
 * Checked before any ioctl (INVALID_ARGUMENT): @vaddr non-NULL, size
 * non-zero, no overflow, no overlap with a remembered mapping, and every
 * container's IOVA ranges and alignment; WRONG_STATE when the range
 * overlaps a mapping made in one of the containers with
 * vfi_container_dma_map() (the message names the container's IOAS). With
 * no container yet the mapping
 * is only remembered; it is checked against a new container's ranges when
 * replayed (a mapping that does not fit there fails that attach). On
 * failure the containers already mapped are unmapped again.
 */
VFI_API bool vfi_address_space_dma_map(VfiAddressSpace *as, uint64_t iova,
                                                 uint64_t size, void *vaddr, bool readonly,
                                                 GError **errp);

/**
 * vfi_address_space_dma_map_file:
 * @iova: the IOVA, or VFI_IOVA_ANY: the kernel chooses it in the address
 *   space's first container (there must be one: WRONG_STATE otherwise) and
 *   the others map it at the same IOVA.
 * @fd: the file (a memfd, or a file on shmem or hugetlbfs), the VMM's: not
 *   closed, and not needed after the call (see below).
 * @offset: the file offset of the first byte mapped.
 * @iova_out: out (may be NULL for a fixed @iova): the IOVA mapped.
 *
 * Like vfi_address_space_dma_map(), but the memory is [@offset, @offset +
 * @size) of a file (IOMMU_IOAS_MAP_FILE, Linux 6.13): mapped in every
 * container of @as and remembered so that containers made later get it
 * too, with the same checks, ownership and whole-mapping unmap rules
 * (vfi_address_space_dma_unmap()). The address space keeps a duplicate of
 * @fd (F_DUPFD_CLOEXEC, made before any ioctl) for those replays, closed
 * when the mapping is unmapped or the address space freed; the VMM may
 * close its own @fd at once. Checked before any ioctl as the memory map,
 * plus: @fd open (INVALID_ARGUMENT), @offset + @size not overflowing, the
 * offset's position in its page aligned as the containers' IOVAs. A build
 * without IOMMU_IOAS_MAP_FILE in its UAPI headers: NOT_SUPPORTED; a running
 * kernel before 6.13: VFI_KERNEL_ERROR / ENOTTY. A file the kernel cannot
 * pin (not shmem or hugetlbfs, or the range past its end): EINVAL from the
 * kernel (with no container yet, at the replay: that attach fails). On a
 * type1 address space (docs/type1.md) the library mmaps the file range
 * MAP_SHARED and maps that memory (VFIO_IOMMU_MAP_DMA), so neither 6.13
 * nor IOMMU_IOAS_MAP_FILE is needed; a file that is not a regular one (a
 * dma-buf) and VFI_IOVA_ANY are refused there with NOT_SUPPORTED.
 */
VFI_API bool vfi_address_space_dma_map_file(VfiAddressSpace *as, uint64_t iova,
                                            uint64_t size, int fd, uint64_t offset,
                                            bool readonly, uint64_t *iova_out,
                                            GError **errp);

/**
 * vfi_address_space_dma_map_device_bar:
 * @iova: the IOVA, or VFI_IOVA_ANY (as vfi_address_space_dma_map_file()).
 * @dev: the device whose BAR is mapped; bound to an iommufd (any: it need
 *   not be in @as). Not owned.
 * @region: the BAR (0-5).
 * @offset, @size: the slice of the BAR, page aligned.
 * @iova_out: out (may be NULL for a fixed @iova): the IOVA mapped.
 *
 * Peer-to-peer DMA (Linux 6.19): map [@offset, @offset + @size) of BAR
 * @region of @dev at @iova in every container of @as, so the DMA of the
 * devices of @as at that IOVA reaches the BAR. The slice is exported as a
 * dma-buf of one range (vfi_device_export_dma_buf(), the only kind iommufd
 * maps) and mapped by file (vfi_address_space_dma_map_file(): remembered,
 * replayed into new containers, unmapped whole with
 * vfi_address_space_dma_unmap()); the address space keeps its duplicate of
 * the dma-buf fd and the call closes its own, so on failure nothing is left
 * (no fd, no dma-buf, no mapping). Errors: those of the two calls, the
 * second's prefixed with the device and BAR. The kernel revokes the
 * dma-buf when @dev is closed (freed): the mapping stays until unmapped,
 * but DMA through it no longer reaches anything.
 */
VFI_API bool vfi_address_space_dma_map_device_bar(VfiAddressSpace *as, uint64_t iova,
                                                  VfiDevice *dev, unsigned region,
                                                  uint64_t offset, uint64_t size,
                                                  bool readonly, uint64_t *iova_out,
                                                  GError **errp);

/**
 * vfi_address_space_dma_unmap:
 *
 * Unmap [@iova, @iova + @size) from every container and forget it. The range
 * must cover whole earlier mappings (INVALID_ARGUMENT otherwise). A range
 * holding a mapping made in a container with vfi_container_dma_map() is
 * refused (WRONG_STATE naming the container's IOAS, no ioctl), whether or
 * not it also holds address-space mappings. Otherwise nothing of the
 * address space's mappings there gives VFI_KERNEL_ERROR/ENOENT
 * without any ioctl, or success when @flags has VFI_UNMAP_ALLOW_ABSENT. A
 * container that does not hold them (its earlier rollback failed) is left
 * alone. When a container's unmap
 * fails, the containers already unmapped are mapped again and the mappings
 * stay remembered. While dirty tracking is on in a container: WRONG_STATE
 * unless @flags has VFI_UNMAP_DISCARD_DIRTY.
 */
VFI_API bool vfi_address_space_dma_unmap(VfiAddressSpace *as, uint64_t iova,
                                                   uint64_t size, VfiUnmapFlags flags,
                                                   GError **errp);

/* Which level made a mapping. */
typedef enum {
    VFI_MAPPING_BY_ADDRESS_SPACE = 0, /* vfi_address_space_dma_map(): in every container */
    VFI_MAPPING_BY_CONTAINER,         /* vfi_container_dma_map(): that container's alone */
} VfiMappingOwner;

/* One DMA mapping, as the queries below return it. */
typedef struct VfiMappingInfo {
    uint64_t iova;            /* its first IOVA */
    uint64_t size;            /* its length in bytes */
    void *vaddr;              /* the process memory mapped there (not owned) */
    bool readonly;            /* mapped without IOMMU write permission */
    VfiMappingOwner owner;    /* the level that made it */
    /* Added in 0.2: mappings by file (vfi_*_dma_map_file()). */
    bool by_file;             /* mapped from a file (vaddr NULL), not from memory */
    int fd;                   /* by_file: the library's duplicate of the VMM's fd
                               * (valid while the mapping lasts; not the VMM's
                               * own, never to be closed by the caller); else -1 */
    uint64_t offset;          /* by_file: the file offset of the first byte; else 0 */
} VfiMappingInfo;

/**
 * vfi_address_space_mapping:
 * @i: 0 to vfi_address_space_mapping_count() - 1, in IOVA order.
 * @out: out: the mapping.
 *
 * Returns: false (and @out untouched) when @as is NULL or @i out of range.
 * No ioctl.
 */
VFI_API bool vfi_address_space_mapping(const VfiAddressSpace *as, unsigned i,
                                       VfiMappingInfo *out);

/* ---- attaching devices ------------------------------------------------- */

/*
 * The VMM's hooks for the devices of an address space
 * (vfi_address_space_set_device_hooks()). They run with the address space's
 * lock held and must not call back into the library on it.
 */
typedef struct VfiDeviceHooks {
    /* Called after a device is attached and brought into its container's
     * state (mappings, tracking), with the device's fd, so that the VMM
     * registers it with its hypervisor (for example KVM's VFIO device,
     * KVM_DEV_VFIO_FILE_ADD: the library never opens /dev/kvm). False with
     * @errp fails the attach, which is then undone completely (the device
     * detached as when it is freed, its binding kept), the hook's message in
     * the attach's error (VFI_ERROR_VMM). NULL: none. */
    bool (*attached)(void *opaque, VfiDevice *dev, int device_fd, GError **errp);
    /* Called before a device leaves (a detach, a hot-unplug during
     * migration, vfi_device_free() of an attached device; not the undo of a
     * failed attached hook: that device was never registered), so that the
     * VMM unregisters it (KVM_DEV_VFIO_FILE_DEL). It cannot fail; when the
     * detach that follows fails, the device stays attached, unregistered.
     * NULL: none. */
    void (*detaching)(void *opaque, VfiDevice *dev, int device_fd);
    /* Passed to both. */
    void *opaque;
} VfiDeviceHooks;

/**
 * vfi_address_space_set_device_hooks:
 * @hooks: copied; NULL removes them.
 *
 * Set the hooks called for every device attached to or leaving @as from now
 * on. Only while @as has no device (WRONG_STATE otherwise: the devices
 * already attached would never have been registered); INVALID_ARGUMENT for
 * a NULL @as. No ioctl.
 */
VFI_API bool vfi_address_space_set_device_hooks(VfiAddressSpace *as,
                                                const VfiDeviceHooks *hooks, GError **errp);

/**
 * vfi_address_space_set_nesting:
 * @opts: copied; NULL: the defaults (no nest parents).
 *
 * Say that the guest of @as has a vIOMMU: the devices attached from now on
 * get nest-parent HWPTs (VfiNestingOptions.nest_parent), and how read-only
 * mappings meet the VT-d erratum 772415 (readonly_as_writeable; see
 * docs/nesting.md). Only while @as has no container (WRONG_STATE
 * otherwise: its HWPTs and mappings were made under the old options);
 * INVALID_ARGUMENT for a NULL @as. No ioctl.
 */
VFI_API bool vfi_address_space_set_nesting(VfiAddressSpace *as, const VfiNestingOptions *opts,
                                           GError **errp);

/**
 * vfi_address_space_attach_device:
 * @dev: an opened device; bound to @be here if it is not bound yet (it must
 *   not be bound to another backend).
 * @opts: NULL for the defaults; else made with VFI_ATTACH_OPTIONS_INIT():
 *        INVALID_ARGUMENT before any ioctl when its size is below
 *        VFI_ATTACH_OPTIONS_SIZE_VER0 or above this library's sizeof.
 *
 * Place @dev in a container of @as (userspace auto domains, see above).
 * WRONG_STATE before any ioctl when the device is already in a container, is
 * bound to another backend, or was attached outside the container layer.
 * Then the device is bound (if it is not), probed for DMA logging and its
 * IOMMU hw info read, and refused (WRONG_STATE, before any attach) when it
 * would log its own DMA in a container that tracks with nothing mapped
 * (DMA_LOGGING_START needs the mapped ranges). On failure nothing is left:
 * no new HWPT, IOAS or container, the device detached. When an undo fails
 * itself, the error says what stayed (the device still attached, an empty
 * container kept in @as, destroyed by a later detach or by
 * vfi_address_space_free()) and the lists say the same as the kernel.
 * A device this call bound stays bound (a cdev is unbound only when its fd
 * is closed, by vfi_device_free()); a bound, unattached device holds no
 * kernel object but its binding, and a later attach reuses the binding.
 */
VFI_API bool vfi_address_space_attach_device(VfiAddressSpace *as,
                                                       VfiIommufd *be, VfiDevice *dev,
                                                       const VfiAttachOptions *opts,
                                                       GError **errp);

/**
 * vfi_address_space_detach_device:
 *
 * Detach @dev from its container: VFIO_DEVICE_DETACH_IOMMUFD_PT first, then
 * it leaves its HWPT's list; an empty HWPT is destroyed; an empty container
 * destroys its IOAS and goes away. WRONG_STATE for a device that is in no
 * container of @as. The device stays bound (vfi_device_free() unbinds).
 * A failed DETACH changes nothing. If the device is detached but destroying
 * the emptied HWPT (or the emptied container's IOAS) fails, the call returns
 * false with that kernel error although the device IS detached
 * (vfi_device_get_container() is NULL): the object that could not be
 * destroyed stays in the container's lists (an empty HWPT can be reused by
 * a later attach) and is destroyed by a later detach that empties the
 * container, or by vfi_address_space_free().
 */
VFI_API bool vfi_address_space_detach_device(VfiAddressSpace *as,
                                                       VfiDevice *dev, GError **errp);

/* The kind of container an address space puts its devices in. */
typedef enum {
    VFI_BACKEND_AUTO,     /* type1 for a device without a VFIO cdev or on a
                           * Linux host without /dev/iommu, else IOMMUFD */
    VFI_BACKEND_IOMMUFD,  /* IOMMUFD: IOAS, HWPTs (the default path) */
    VFI_BACKEND_TYPE1,    /* the legacy VFIO group + type1 container */
} VfiBackendKind;

/**
 * vfi_address_space_set_backend:
 *
 * Ask for the kind of container @as puts devices in (VFI_BACKEND_AUTO by
 * default; docs/type1.md). One address space uses one kind: refused
 * (WRONG_STATE) once a device is attached. With VFI_BACKEND_TYPE1 each
 * attached device's IOMMU group joins one type1 container (a group once
 * however many of its devices attach, refused when another address space
 * holds it, refused when not viable, naming the devices bound to a host
 * driver); the backend given to vfi_address_space_attach_device() is not
 * used. A type1 container reports every mapped page dirty while tracking
 * ("type1: all mapped pages reported dirty": VFI_DIRTY_COVERAGE_TYPE1);
 * tracking start refuses a mapping larger than one type1 dirty read covers,
 * naming both sizes. A dirty reader of a type1 container:
 * vfi_dirty_reader_new_for_container().
 */
VFI_API bool vfi_address_space_set_backend(VfiAddressSpace *as, VfiBackendKind kind,
                                           GError **errp);
/* Returns: the kind @as uses: VFI_BACKEND_AUTO before its first device
 * when not asked for, VFI_BACKEND_TYPE1 while its devices are in a type1
 * container, else what it was asked or VFI_BACKEND_IOMMUFD. */
VFI_API VfiBackendKind vfi_address_space_get_backend(const VfiAddressSpace *as);
/**
 * vfi_address_space_get_backend_reason:
 *
 * Why @as uses the kind vfi_address_space_get_backend() returns, as the
 * choice was made (as-type1.c, also traced as vfi_as_backend): "asked by
 * the VMM (vfi_address_space_set_backend)", or for VFI_BACKEND_AUTO at its
 * first device "auto: the device has no VFIO cdev", "auto: no /dev/iommu",
 * "auto: the device has no VFIO cdev and there is no /dev/iommu" (both
 * missing) or "auto: /dev/iommu and the device's VFIO cdev exist".
 *
 * Returns: (transfer none): a constant string owned by the library, valid
 * for the life of the process; NULL for a NULL @as and, with AUTO, before
 * the choice (no device attached, or every device detached again).
 */
VFI_API const char *vfi_address_space_get_backend_reason(const VfiAddressSpace *as);

/* Returns: the container @dev is in (an IOMMUFD or a type1 one:
 * vfi_container_get_backend_kind()), or NULL when it is in none. */
VFI_API VfiContainer *vfi_device_get_container(const VfiDevice *dev);
/* Returns: the HWPT @dev is attached to, or NULL (mdev, or not attached). */
VFI_API VfiHwpt *vfi_device_get_hwpt(const VfiDevice *dev);
/* Returns: how many VFIO_DEVICE_ATTACH_IOMMUFD_PT calls the placement of
 * @dev in its current container took (0 when it is in no container). */
VFI_API unsigned vfi_device_get_attach_attempts(const VfiDevice *dev);

/* ---- containers -------------------------------------------------------- */

/* Returns: the kernel id of the container's IOAS; 0 for a type1 container
 * (it has no IOAS) and for NULL. */
VFI_API uint32_t vfi_container_get_ioas_id(const VfiContainer *c);
/* Returns: the backend (iommufd) the container's IOAS belongs to; NULL for
 * a type1 container (it uses no iommufd) and for NULL. */
VFI_API VfiIommufd *vfi_container_get_backend(const VfiContainer *c);
/**
 * vfi_container_get_backend_kind:
 * @c: a container (of vfi_address_space_container(), vfi_device_get_container()
 *     or a coverage report), or NULL
 *
 * Which kind of container @c is (one kind per address space). A type1
 * container (the legacy VFIO group + type1 path, docs/type1.md) has no IOAS
 * (vfi_container_get_ioas_id() is 0), no backend (NULL) and no HWPT, and
 * takes the same calls as an IOMMUFD one: its devices, IOVA ranges (GET_INFO's,
 * at the 4 KiB IOMMU page), mappings (by file too: mmapped by the library),
 * dirty queries and syncs. No ioctl, no error.
 *
 * Returns: VFI_BACKEND_IOMMUFD or VFI_BACKEND_TYPE1; VFI_BACKEND_AUTO for
 * NULL.
 */
VFI_API VfiBackendKind vfi_container_get_backend_kind(const VfiContainer *c);
/* Returns: the address space the container is part of. */
VFI_API VfiAddressSpace *vfi_container_get_address_space(const VfiContainer *c);
/* The container's allowed IOVA ranges and alignment, as the kernel reported
 * them after the last attach or detach (they change with what is attached:
 * all 64 bits with alignment 1 for an IOAS without a domain, the domain's
 * aperture and page size, less the devices' reserved regions such as the
 * x86 MSI window). An attach fails if they cannot be read again; a detach
 * reports it, the older (stricter) ones staying. The array is owned by the
 * container and replaced by the next re-read, that is by an attach or detach
 * in its address space: with another thread hot-plugging, copy it first. */
VFI_API const VfiIovaRange *vfi_container_get_iova_ranges(const VfiContainer *c,
                                                                        size_t *n);
VFI_API uint64_t vfi_container_get_iova_alignment(const VfiContainer *c);
/**
 * vfi_container_mapping:
 * @i: 0 to vfi_container_mapping_count() - 1, in IOVA order: every mapping of
 *   the container's IOAS, of both levels (@out->owner says which).
 * @out: out: the mapping.
 *
 * Returns: false (and @out untouched) when @c is NULL or @i out of range.
 * No ioctl.
 */
VFI_API bool vfi_container_mapping(const VfiContainer *c, unsigned i, VfiMappingInfo *out);
/**
 * vfi_device_dirty_coverage:
 * @why: out (may be NULL): why @dev is not covered (VFI_COVERED when it is,
 *   VFI_UNTRACKED_NOT_ATTACHED when it is in no container).
 *
 * vfi_container_dirty_coverage() of the container @dev is in.
 */
VFI_API VfiDirtyCoverage vfi_device_dirty_coverage(const VfiDevice *dev,
                                                   VfiUntrackedReason *why);

/* Every device of the container (physical and mdev), attach order. As for
 * every list below, a count and an index may be stale once the call returns
 * when another thread attaches or detaches. */
VFI_API unsigned vfi_container_device_count(const VfiContainer *c);
VFI_API VfiDevice *vfi_container_device(const VfiContainer *c, unsigned i);
/* The HWPTs the container made, creation order. */
VFI_API unsigned vfi_container_hwpt_count(const VfiContainer *c);
VFI_API VfiHwpt *vfi_container_hwpt(const VfiContainer *c, unsigned i);
/* Returns: the container's HWPT with kernel id @hwpt_id, or NULL. */
VFI_API VfiHwpt *vfi_container_find_hwpt(const VfiContainer *c,
                                                    uint32_t hwpt_id);
/* Returns: the container that made @h. */
VFI_API VfiContainer *vfi_hwpt_get_container(const VfiHwpt *h);

/* Returns: the kernel id of the HWPT. */
VFI_API uint32_t vfi_hwpt_get_id(const VfiHwpt *h);
/* IOMMU_HWPT_ALLOC_* flags it was allocated with. */
VFI_API uint32_t vfi_hwpt_get_flags(const VfiHwpt *h);
/* The devices attached to the HWPT, attach order. */
VFI_API unsigned vfi_hwpt_device_count(const VfiHwpt *h);
VFI_API VfiDevice *vfi_hwpt_device(const VfiHwpt *h, unsigned i);

/**
 * vfi_container_dirty_coverage:
 * @why: out (may be NULL): why it is not covered (VFI_COVERED when
 *   it is; VFI_UNTRACKED_NOT_ATTACHED when @dev is not in @c).
 *
 * VFI_DIRTY_COVERAGE_DEVICE_LOGGING when @dev offers VFIO DMA logging and
 * the VMM set prefer_device_dirty_logging; else VFI_DIRTY_COVERAGE_IOMMU
 * iff @dev's HWPT was allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING.
 * Otherwise the reason, first match: offers logging but not preferred,
 * mdev, VMM opt-out, kernel refused (VFI_UNTRACKED_NEST_PARENT_REFUSED for
 * a nest parent whose pair of flags was refused), no IOMMU capability.
 *
 * Computed from the container's current HWPTs and devices on every call.
 */
VFI_API VfiDirtyCoverage vfi_container_dirty_coverage(const VfiContainer *c,
                                                                 const VfiDevice *dev,
                                                                 VfiUntrackedReason *why);
/* Returns: true when every device of the container is covered by IOMMU
 * dirty tracking (false for an empty container). */
VFI_API bool vfi_container_iommu_coverage_complete(const VfiContainer *c);
/* Returns: a short English phrase for @why ("mdev without an IOMMU domain"). */
VFI_API const char *vfi_untracked_reason_str(VfiUntrackedReason why);

/**
 * vfi_dirty_coverage_granularity:
 * @cov: a device's coverage (vfi_device_dirty_coverage()).
 * @bytes: out (may be NULL): the size each dirty bit of that source stands
 *   for when it is fixed, else 0.
 *
 * How finely a source reports dirty pages, so at which granularity it may
 * over-report (a page read dirty that the device did not write: harmless
 * for migration, the page is sent again; docs/dirty-tracking.md,
 * "Granularity"). IOMMU dirty tracking records per IOPTE, the IOMMU's
 * page-table entry: at least the CPU page, as large as the IOMMU page the
 * mapping's alignment and physical contiguity allow (2 MiB, 1 GiB, any
 * power of two with AMD v1), never more than one mapping: *@bytes 0, it
 * varies. Device DMA logging reports per logging page: *@bytes 4096
 * (VFI_DMA_LOGGING_MIN_PAGE_SIZE, what the library starts logging with).
 * Untracked: every page it may write must be taken as dirty, *@bytes 0.
 * Returns: a static English phrase saying so.
 */
VFI_API const char *vfi_dirty_coverage_granularity(VfiDirtyCoverage cov, uint64_t *bytes);

/* ---- DMA mapping in one container -------------------------------------- */

/**
 * vfi_container_dma_map:
 *
 * IOMMU_IOAS_MAP of [@vaddr, @vaddr + @size) at the fixed @iova, recorded
 * as a mapping of this container (not of its address space: it is not
 * replayed into other containers). Checked before any ioctl
 * (INVALID_ARGUMENT): @vaddr non-NULL, size non-zero, no overflow, @iova
 * and @size aligned to the container's IOVA alignment, the range inside one
 * of its IOVA ranges; WRONG_STATE when it overlaps a mapping made through
 * the address space (vfi_address_space_dma_map()). EEXIST from the kernel:
 * overlaps another mapping of the container.
 */
VFI_API bool vfi_container_dma_map(VfiContainer *c, uint64_t iova, uint64_t size,
                                             void *vaddr, bool readonly, GError **errp);

/**
 * vfi_container_dma_map_file:
 * @iova: the IOVA, or VFI_IOVA_ANY for one the kernel chooses.
 * @fd: the file (a memfd, or a file on shmem or hugetlbfs), the VMM's: not
 *   closed, and not needed after the call.
 * @offset: the file offset of the first byte mapped.
 * @iova_out: out (may be NULL for a fixed @iova): the IOVA mapped.
 *
 * Like vfi_container_dma_map(), but from [@offset, @offset + @size) of a
 * file (IOMMU_IOAS_MAP_FILE, Linux 6.13): a mapping of this container
 * only, unmapped with vfi_container_dma_unmap() like the others. The
 * container's record keeps a duplicate of @fd (F_DUPFD_CLOEXEC, made before
 * the ioctl), closed when the mapping goes (unmap, unmap-all, the container
 * freed). Checked before any ioctl: @fd open, @size non-zero, no overflow,
 * @size (and a fixed @iova) aligned to the container's IOVA alignment, and
 * so the offset's position in its page, a fixed range inside one IOVA
 * range and clear of the address space's mappings (as the memory map). A
 * kernel-chosen IOVA is checked once chosen (while tracking is on, against
 * the ranges the logging devices log): a refusal unmaps it again. Build
 * without IOMMU_IOAS_MAP_FILE: NOT_SUPPORTED; kernel before 6.13: ENOTTY.
 */
VFI_API bool vfi_container_dma_map_file(VfiContainer *c, uint64_t iova, uint64_t size,
                                        int fd, uint64_t offset, bool readonly,
                                        uint64_t *iova_out, GError **errp);

/**
 * vfi_container_dma_unmap:
 * @unmapped: out (may be NULL): bytes unmapped.
 *
 * IOMMU_IOAS_UNMAP of whole mappings in [@iova, @iova + @size). Checked
 * before any ioctl: size non-zero, no overflow, @iova and @size aligned to
 * the container's IOVA alignment (INVALID_ARGUMENT); the range need not lie
 * inside the IOVA ranges (one unmap may span the x86 MSI window). Edge
 * rule: the kernel unmaps only whole mappings, and a range whose first or
 * last byte falls inside a mapping makes it unmap the mappings before that
 * one and then fail with ENOENT, so such a range is refused before the
 * ioctl (INVALID_ARGUMENT naming the mapping it cuts), with or without
 * VFI_UNMAP_ALLOW_ABSENT. A range holding a mapping made through the
 * address space: WRONG_STATE (use vfi_address_space_dma_unmap()). Nothing
 * mapped there: ENOENT kernel error, or success with *unmapped = 0 when
 * @flags has VFI_UNMAP_ALLOW_ABSENT and the container records no mapping
 * in the range (ENOENT over recorded mappings means a mapping made outside
 * the library crosses an edge: the recorded ones are unmapped one by one so
 * the record matches the kernel again, and the error is returned). While
 * dirty tracking is on: WRONG_STATE unless @flags has
 * VFI_UNMAP_DISCARD_DIRTY.
 */
VFI_API bool vfi_container_dma_unmap(VfiContainer *c, uint64_t iova, uint64_t size,
                                               VfiUnmapFlags flags, uint64_t *unmapped,
                                               GError **errp);

/* Unmap everything mapped in the container (one IOMMU_IOAS_UNMAP of the
 * whole IOVA space). Refused (WRONG_STATE, no ioctl) while the container
 * holds a mapping made through its address space (unmap those with
 * vfi_address_space_dma_unmap() first: they would be gone from this IOAS
 * while the address space still has them), and while its dirty tracking is
 * on. */
VFI_API bool vfi_container_dma_unmap_all(VfiContainer *c, uint64_t *unmapped,
                                                   GError **errp);

/* Returns: the number of mappings in the container's IOAS as the library
 * recorded them (address-space and container-level ones; 0 for NULL). */
VFI_API unsigned vfi_container_mapping_count(const VfiContainer *c);
/* Returns: the bytes of memory the container's record of its mappings
 * takes (the mappings as made, and their merged view while it is kept;
 * tree nodes, spare ones included); 0 for NULL. */
VFI_API size_t vfi_container_get_mapping_bytes(const VfiContainer *c);

G_END_DECLS

#endif
