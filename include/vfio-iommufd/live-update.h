/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: live update (CPR) of an address space.
 *
 * A VMM that restarts itself with its devices kept live (QEMU's CPR: the
 * new process takes over the fds and the saved object ids) hands an
 * address space over in four steps (docs/live-update.md walks through
 * them):
 *
 *  1. old process: vfi_live_update_save() writes the whole state of the
 *     address space (its backend, containers, HWPTs, devices, mappings and
 *     dirty-tracking state) into a versioned, checksummed blob and lists
 *     the fds the blob refers to, in a defined order;
 *  2. the VMM carries the blob and the fds over: across exec() (the fds
 *     keep their numbers once their FD_CLOEXEC is cleared: the VMM clears
 *     it, with vfi_live_update_keep_on_exec() or itself), or to another
 *     process with SCM_RIGHTS, in the order of the list (they may arrive
 *     with other numbers);
 *  3. new process: vfi_live_update_restore() rebuilds the objects from the
 *     blob and the fds without binding, attaching or mapping anything,
 *     checks them against the kernel, and moves the accounting of the
 *     pinned pages to itself (IOMMU_IOAS_CHANGE_PROCESS, Linux 6.13);
 *  4. old process (SCM_RIGHTS case): vfi_live_update_let_go() frees its
 *     objects without a single ioctl, leaving the kernel objects to the new
 *     process.
 *
 * The kernel moves pinned pages between processes only for mappings made
 * from a file (vfi_address_space_dma_map_file(), guest RAM in a memfd):
 * an address space with a mapping of process memory is not saved.
 */
#ifndef VFI_LIVE_UPDATE_H
#define VFI_LIVE_UPDATE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vfio-iommufd/container.h"
#include "vfio-iommufd/device.h"
#include "vfio-iommufd/error.h"
#include "vfio-iommufd/iommufd.h"
#include "vfio-iommufd/visibility.h"

G_BEGIN_DECLS

/* The version of the blob this library writes (and the only one it
 * reads). */
#define VFI_LIVE_UPDATE_VERSION 1

/* Flags of vfi_live_update_restore(). */
typedef enum {
    /* Do not call IOMMU_IOAS_CHANGE_PROCESS: the pinned pages stay charged
     * to the process that mapped them (a kernel without it, Linux < 6.13;
     * the VMM calls vfi_iommufd_ioas_change_process() itself later). */
    VFI_LIVE_UPDATE_NO_CHANGE_PROCESS = 1u << 0,
} VfiLiveUpdateFlags;

/* What a restore made, all of it the VMM's (vfi_live_update_restored_free()
 * frees this struct and its array only). */
typedef struct VfiLiveUpdateRestored {
    /* the address space: vfi_address_space_free() once its devices are
     * detached (or let go) */
    VfiAddressSpace *as;
    /* the backend on the handed-over iommufd (borrowed: the VMM closes that
     * fd after vfi_iommufd_free(), which it calls after freeing @as and the
     * devices) */
    VfiIommufd *backend;
    /* the devices in the blob's order (the order of their fds in the list),
     * each on its handed-over fd (borrowed: the VMM closes it after
     * vfi_device_free()); named and labelled as in the old process */
    VfiDevice **devices;
    /* how many @devices */
    unsigned n_devices;
} VfiLiveUpdateRestored;

/**
 * vfi_live_update_save:
 * @as: the address space to hand over; its devices' state must be settled
 *   (no call on it in another thread while it is saved).
 * @fds: out: a new GArray of int (g_array_unref()), the fds the blob refers
 *   to, in this order: [0] the iommufd; then the files of the address
 *   space's mappings (by IOVA); then, per container (creation order), its
 *   devices' fds (attach order) and the files of the container's own
 *   mappings (by IOVA). They stay owned by their objects (the backend, the
 *   devices, the address space), which keep them open until let go.
 *
 * Write the state of @as into a blob: a header (magic "VFILUPD\0", the
 * version, the payload's length, its SHA-256) and the payload: the
 * backend's fd index, for each container its IOAS id and IOVA ranges, its
 * HWPTs (ids, flags, tracking on or off) and devices (name, sysfs path,
 * label, devid, attached page table, placement, IOMMU hw info, DMA-logging
 * state), the mappings (IOVA, size, fd index, offset, read-only), the
 * dirty-tracking state and the pages read but not delivered yet. Host
 * endianness: a blob is for the same host.
 *
 * Refused (INVALID_ARGUMENT, nothing changed) for a mapping of process
 * memory (IOMMU_IOAS_CHANGE_PROCESS would refuse it), containers on more
 * than one backend, a NULL argument, or vIOMMU objects of the address
 * space alive (<vfio-iommufd/as-viommu.h>: vIOMMUs, vDEVICEs, nested
 * HWPTs, vEVENTQs, fault queues; not carried by the blob); NOT_SUPPORTED
 * while a device has PASIDs attached (<vfio-iommufd/as-pasid.h>: not
 * carried by the blob) or for a type1 address space (IOMMU_IOAS_CHANGE_PROCESS
 * is an iommufd's). No ioctl. See docs/live-update.md "Not covered".
 *
 * Returns: (transfer full): the blob (g_bytes_unref()), or NULL.
 */
VFI_API GBytes *vfi_live_update_save(VfiAddressSpace *as, GArray **fds, GError **errp);

/**
 * vfi_live_update_keep_on_exec:
 * @fds: (array length=n): the fds of vfi_live_update_save().
 *
 * Clear FD_CLOEXEC on each of @fds so that they survive an exec() of the
 * new process with the same numbers (the library opens and duplicates its
 * fds with O_CLOEXEC). The VMM calls it right before exec(); not needed for
 * SCM_RIGHTS. HOST error naming the fd when fcntl() fails (those before it
 * are cleared). No ioctl.
 */
VFI_API bool vfi_live_update_keep_on_exec(const int *fds, unsigned n, GError **errp);

/**
 * vfi_live_update_restore:
 * @blob: a blob of vfi_live_update_save() (not consumed).
 * @fds: (array length=n_fds): the handed-over fds in the order of the saved
 *   list, with the numbers they have in this process. Borrowed, never
 *   closed by the library: the iommufd and the device fds are the VMM's to
 *   close after freeing the restored backend and devices; the files of the
 *   mappings are duplicated (the VMM may close its own right after).
 * @handle: the VMM's handle of the new address space
 *   (vfi_address_space_get_handle()).
 * @hooks: the VMM's device hooks for the new address space (copied; NULL:
 *   none); not called for the restored devices (they stay attached; a VMM
 *   registers them with its hypervisor anew if it needs to).
 * @flags: VfiLiveUpdateFlags.
 * @out: out: what was made (vfi_live_update_restored_free()).
 *
 * Rebuild the address space from @blob and @fds without binding,
 * attaching or mapping: the devices keep their bindings, attachments and
 * DMA logging, the IOASes their mappings, the HWPTs their dirty tracking
 * and dirty bits (a sync reads what was dirtied before the handover).
 *
 * The blob is checked whole before anything is made: a foreign magic, a
 * version other than VFI_LIVE_UPDATE_VERSION, a length that does not
 * match, a checksum that does not match (any byte changed), a payload that
 * is not well formed, an fd index out of @fds, or @n_fds other than the
 * saved list's length: INVALID_ARGUMENT, no ioctl. Then it is checked
 * against the kernel with requests that change nothing: the IOVA ranges of
 * each IOAS (IOMMU_IOAS_IOVA_RANGES: it exists and allows what it allowed),
 * each HWPT (IOMMU_HWPT_GET_DIRTY_BITMAP with NO_CLEAR: it exists), each
 * device (VFIO_DEVICE_GET_INFO: its fd is bound; IOMMU_GET_HW_INFO by its
 * devid: the same IOMMU as saved). The kernel has no such request for
 * which page table a device is attached to: that one is the blob's word.
 * A mismatch: WRONG_STATE naming the object and its id. Last,
 * IOMMU_IOAS_CHANGE_PROCESS (unless @flags say not to, or nothing is
 * mapped): a kernel without it (Linux < 6.13, ENOTTY) or a build without
 * it (NOT_SUPPORTED) fails the restore with that message. On any failure
 * nothing is left: no object, no fd of the library's, no change in the
 * kernel.
 */
VFI_API bool vfi_live_update_restore(GBytes *blob, const int *fds, unsigned n_fds,
                                     void *handle, const VfiDeviceHooks *hooks,
                                     VfiLiveUpdateFlags flags, VfiLiveUpdateRestored **out,
                                     GError **errp);

/**
 * vfi_live_update_restored_free:
 * @r: (nullable): what a restore made.
 *
 * Free @r and its device array; the objects it points to are the VMM's
 * (see VfiLiveUpdateRestored).
 */
VFI_API void vfi_live_update_restored_free(VfiLiveUpdateRestored *r);

/**
 * vfi_live_update_let_go:
 * @as: (nullable) (transfer full): an address space saved and handed over.
 *
 * The old process lets go of @as once the new process has the fds: @as,
 * its containers and HWPTs are freed, the files of its mappings closed,
 * its devices left handed over (every call on them refuses with
 * WRONG_STATE; vfi_device_free() of them makes no ioctl and closes the
 * fds the library opened), the containers' users of the backend dropped
 * (vfi_iommufd_free() then closes an iommufd it opened). The kernel
 * objects stay, for the new process: not a single ioctl. Across exec()
 * there is nothing to let go (the process image is gone): do not call it
 * before exec(), it would close the fds the new image needs.
 */
VFI_API void vfi_live_update_let_go(VfiAddressSpace *as);

G_END_DECLS

#endif
