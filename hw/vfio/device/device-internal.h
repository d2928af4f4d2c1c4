/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the device layer's internal interface (hw/vfio/device/).
 *
 * A VfiDevice is one open VFIO cdev. It knows what the kernel knows of it:
 * its binding (backend, devid), the page table it is attached to, whether
 * it offers DMA logging and whether its logging is on (with the ranges and
 * page size given to DMA_LOGGING_START). Layers above read that state; they
 * never keep a copy of it.
 *
 * The device learns of its owner (the layer that placed it somewhere)
 * through a typed hook: vfi_device_free() of an owned device calls the
 * owner's release() first, which must take the device out of the owner's
 * structures and clear the owner (vfi_device_set_owner(dev, NULL)).
 */
#ifndef VFI_HW_VFIO_DEVICE_INTERNAL_H
#define VFI_HW_VFIO_DEVICE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vfio-iommufd/device.h"
#include "vfio-iommufd/dirty.h"
#include "util/lock.h"
#include "util/ranges.h"

/* Where the VFIO cdev nodes are. */
#define VFI_CDEV_DIR "/dev/vfio/devices"

typedef struct VfiDeviceOwner VfiDeviceOwner;

struct VfiDeviceOwner {
    /* The device is being freed while owned: take it out (detach it, forget
     * it) and clear the owner. Called with the device still bound, without
     * @lock held (the hook takes it). */
    void (*release)(VfiDeviceOwner *owner, VfiDevice *dev);
    /* The lock that guards the device while it is owned (its address
     * space's), taken by the device's public calls; not owned. */
    VfiLock *lock;
};

struct VfiDevice {
    char *name;              /* last component of the sysfs dir, or "fd<N>" */
    char *label;             /* the VMM's name for it, or NULL */
    char *display;           /* "label (name)", or the name: what messages say */
    char *sysfs_path;        /* resolved sysfs directory, or NULL */
    char *iommu_instance;    /* resolved <sysfs_path>/iommu: its IOMMU
                              * instance, or NULL (unknown, or an mdev) */
    int fd;                  /* the cdev fd, or the fd got through its group
                              * (@group); -1: not open (a device without a
                              * cdev, before it joins its group) */
    struct VfiGroup *group;  /* opened through its IOMMU group (group.c), or NULL */
    bool fd_owned;           /* opened by us: closed (and so unbound) in free */
    bool mdev;
    VfiIommufd *be;          /* non-NULL while bound; we hold one user of it */
    uint32_t devid;          /* from VFIO_DEVICE_BIND_IOMMUFD */
    uint32_t attached_pt;    /* as the kernel reported it back; 0 = detached */
    VfiDeviceOwner *owner;   /* who placed it (the container layer), or NULL */
    bool handed_over;        /* live update: the old process let it go
                              * (device-restore.c); every call refuses, free
                              * makes no ioctl */
    /* DMA logging (dma-logging.c) */
    bool logging_offered;    /* the last probe said the device offers it */
    bool logging_on;         /* DMA_LOGGING_START done, no STOP since */
    uint64_t logging_page_size;
    GArray *logged;          /* VfiRange given to DMA_LOGGING_START, or NULL */
    GHashTable *pasids;      /* PASID -> the pt it is attached to, as the
                              * kernel reported it (pasid.c), or NULL */
    GArray *kept;            /* VfiRange: pages read with NO_CLEAR since their last
                              * clearing read (DMA_LOGGING_REPORT always clears in
                              * the device), or NULL */
};

/* The lock guarding @dev: its owner's, NULL when it has none (its calls are
 * then the calling thread's alone, docs/concurrency.md). */
static inline VfiLock *vfi_device_lock(const VfiDevice *dev)
{
    return dev && dev->owner ? dev->owner->lock : NULL;
}

/* Set / get the owner of @dev (NULL: none). */
void vfi_device_set_owner(VfiDevice *dev, VfiDeviceOwner *owner);
VfiDeviceOwner *vfi_device_get_owner(const VfiDevice *dev);

/* The IOMMU instance @dev sits behind (its sysfs iommu link resolved, read
 * at open: a path unique on the host), or NULL when unknown (no sysfs path,
 * no link) or for an mdev. */
const char *vfi_device_get_iommu_instance(const VfiDevice *dev);

/* @dev non-NULL (INVALID_ARGUMENT) and bound to an iommufd or open through
 * its IOMMU group (type1) (WRONG_STATE), @what naming the operation in the
 * message; no ioctl. */
bool vfi_device_check_bound(const VfiDevice *dev, const char *what, GError **errp);
/* VFIO_DEVICE_ATTACH_IOMMUFD_PT replace of an attached device its owner
 * (the container layer) moves between its nest parent and a nested HWPT
 * (pasid.c; vfi_device_replace() refuses owned devices). On failure the
 * device stays on its old page table. */
bool vfi_device_replace_owned(VfiDevice *dev, uint32_t pt_id, GError **errp);
/* VFIO_DEVICE_ATTACH_PASID attach (or, @replace, replace) / DETACH_PASID of
 * @pasid of a device its owner (the container layer) gives PASIDs, the
 * owner's checks made (pasid.c; the public calls refuse owned devices).
 * The device's PASID table follows the kernel; on failure nothing changed.
 * Only in a build with VFIO_DEVICE_ATTACH_PASID. */
bool vfi_device_attach_pasid_owned(VfiDevice *dev, uint32_t pasid, uint32_t pt_id,
                                   bool replace, GError **errp);
bool vfi_device_detach_pasid_owned(VfiDevice *dev, uint32_t pasid, GError **errp);

/* Whether every byte of [iova, last] lies inside one range @dev logs its DMA
 * for (true when its logging is off: it logs nothing, so it needs nothing). */
bool vfi_device_dma_logging_covers(const VfiDevice *dev, uint64_t iova, uint64_t last);

/* Forget the logging state of a device whose fd is closed or detached for
 * good (the kernel stops its logging with the fd). */
void vfi_device_dma_logging_forget(VfiDevice *dev);

/*
 * DMA_LOGGING_REPORT of [iova, iova + size) ORed into @bitmap (as
 * vfi_device_dma_logging_report()), with the meaning of NO_CLEAR the HWPT
 * reads have: with @keep, the pages read are kept by the library and
 * reported again by every later read of them until one without @keep (the
 * device itself always clears what it reports); every read reports the kept
 * pages of its range, one without @keep forgets them. The kept pages take
 * one VfiRange per run of dirty pages, dropped at an unmap of their range
 * and at logging stop.
 */
bool vfi_device_dma_logging_read(VfiDevice *dev, uint64_t iova, uint64_t size,
                                 uint64_t page_size, void *bitmap, bool keep, GError **errp);

/* [iova, last] is unmapped: forget the pages kept there. */
void vfi_device_dma_logging_unmapped(VfiDevice *dev, uint64_t iova, uint64_t last);

/* The display name of the device bound to @be with @devid (g_free()), or
 * NULL when the library has none (the registry of bound devices). */
char *vfi_device_bound_name(const VfiIommufd *be, uint32_t devid);

/* Enter a device bound without VFIO_DEVICE_BIND_IOMMUFD (a binding taken
 * over in a live update) into the registry of bound devices. */
void vfi_device_registry_add(VfiDevice *dev);

/* ---- device-restore.c (live update) ------------------------------------ */

/* The GVariant type of a saved device. */
#define VFI_DEVICE_STATE "(sssuuubbbta(tt)a(tt))"
/* @dev's state, its fd at index @fd_index of the handed-over fds. */
GVariant *vfi_device_state_save(const VfiDevice *dev, guint32 fd_index);
/* A saved device is well formed for a list of @n_fds fds (INVALID_ARGUMENT
 * naming it otherwise). No ioctl. */
bool vfi_device_state_check(GVariant *v, guint n_fds, GError **errp);
/* The index of a saved device's fd in the handed-over fds. */
guint32 vfi_device_state_fd_index(GVariant *v);
/* A new device on its fd of @fds (borrowed) taking over the saved binding
 * to @be (one user of it held) and logging state, checked with
 * VFIO_DEVICE_GET_INFO; NULL with @errp (nothing left) otherwise. */
VfiDevice *vfi_device_state_restore(GVariant *v, const int *fds, VfiIommufd *be,
                                    GError **errp);
/* The old process lets @dev go after a handover: no owner, handed over (its
 * calls refuse, vfi_device_free() makes no ioctl, closes an owned fd and
 * drops its backend user). No ioctl. */
void vfi_device_let_go(VfiDevice *dev);
/* ---- group.c ------------------------------------------------------------ */

/* One open VFIO group, /dev/vfio/N (the legacy type1 path). */
typedef struct VfiGroup VfiGroup;

/* The IOMMU group number of @dev from its sysfs iommu_group link, or -1
 * (@errp: no sysfs path, no link). */
int vfi_device_iommu_group(const VfiDevice *dev, GError **errp);
/* Open /dev/vfio/@id. Refused before the open (WRONG_STATE) when this
 * process has it open already; EBUSY from the kernel says why. */
VfiGroup *vfi_group_open(unsigned id, GError **errp);
/* Close the group fd (the kernel unsets its container once no device got
 * through it is open either). NULL: nothing. */
void vfi_group_close(VfiGroup *g);
unsigned vfi_group_get_id(const VfiGroup *g);
/* VFIO_GROUP_GET_STATUS: false (WRONG_STATE) when not viable, naming the
 * devices of the group bound to a host driver. */
bool vfi_group_check_viable(VfiGroup *g, GError **errp);
/* VFIO_GROUP_SET_CONTAINER with the type1 container @container_fd. */
bool vfi_group_set_container(VfiGroup *g, int container_fd, GError **errp);
/* VFIO_GROUP_UNSET_CONTAINER (nothing when not set). EBUSY while a device
 * got through the group is open. */
bool vfi_group_unset_container(VfiGroup *g, GError **errp);
/* The group @dev was opened through, or NULL. */
VfiGroup *vfi_device_get_group(const VfiDevice *dev);
/* Close the cdev fd of an unbound device the library opened, so its group
 * can open (the kernel does not let both be open); a VMM-passed fd, a bound
 * device or one open through its group is refused (WRONG_STATE). */
bool vfi_device_release_cdev(VfiDevice *dev, GError **errp);
/* Give @dev the fd VFIO_GROUP_GET_DEVICE_FD returns from @g (its group, in
 * a container with its IOMMU set), after vfi_device_release_cdev(). On
 * failure the device has its cdev back, as before. */
bool vfi_device_open_in_group(VfiDevice *dev, VfiGroup *g, GError **errp);
/* Close the fd got through the group (its DMA logging stops with it). */
void vfi_device_leave_group(VfiDevice *dev);
/* Reopen the cdev of a device the library opened that has one, once its
 * group is closed (the kernel refuses it before: the fd stays -1). */
void vfi_device_reopen_cdev(VfiDevice *dev);

/* ---- sysfs.c ----------------------------------------------------------- */

/* "DDDD:BB:DD.F" checked and lower-cased (g_free()), or NULL if malformed. */
char *vfi_sysfs_pci_address_normalize(const char *bdf);
/* @path resolved, a directory strictly inside sysfs (g_free()), or NULL. */
char *vfi_sysfs_resolve_device_dir(const char *path, GError **errp);
/* The one vfioN entry of <@dir>/vfio-dev (g_free()), or NULL. */
char *vfi_sysfs_find_cdev(const char *dir, const char *name, GError **errp);
/* Whether <@dir>/subsystem resolves to the mdev bus. */
bool vfi_sysfs_is_mdev(const char *dir, const char *name);
/* What <@dir>/iommu resolves to (g_free()), or NULL. */
char *vfi_sysfs_iommu_instance(const char *dir, const char *name);

#endif
