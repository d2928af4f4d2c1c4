/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: VFIO devices through their cdev (/dev/vfio/devices/vfioN).
 *
 * A VfiDevice is one open VFIO device file. It is found from its sysfs
 * device directory or PCI address, or wraps a cdev fd the VMM passed in
 * (never closed by the library). It is bound to one VfiIommufd
 * (VFIO_DEVICE_BIND_IOMMUFD), which gives it a device id, and then attached
 * to a page table: an IOAS or a HWPT id.
 *
 * Lifetime: the device holds a user of its backend from bind until free. A
 * cdev is unbound by the kernel when its fd is closed: vfi_device_free()
 * closes an fd the library opened (so the device is unbound); a VMM-passed
 * fd stays open and bound.
 *
 * Errors: VFI_ERROR (INVALID_ARGUMENT, WRONG_STATE, NOT_FOUND,
 * HOST) when the library refuses before any ioctl, VFI_KERNEL_ERROR
 * with the errno when the kernel refuses. A failed call changes nothing.
 *
 * Threads (docs/concurrency.md): a device in no container belongs to one
 * thread at a time (nothing locks it). Once it is in a container of an
 * address space (vfi_address_space_attach_device()), its calls hold that
 * address space's lock, so they may run at the same time as calls on the
 * address space from other threads. Attaching it, detaching it and freeing
 * it change which lock guards it: those must not overlap other calls on the
 * same device. The name, sysfs path, fd and mdev-ness never change.
 */
#ifndef VFI_DEVICE_H
#define VFI_DEVICE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vfio-iommufd/iommufd.h"
#include "vfio-iommufd/visibility.h"

G_BEGIN_DECLS

/* One open VFIO device file (opaque; vfi_device_open_sysfs()). */
typedef struct VfiDevice VfiDevice;

/* What VFIO_DEVICE_GET_INFO says. */
typedef struct VfiDeviceInfo {
    uint32_t flags;        /* VFIO_DEVICE_FLAGS_* (PCI, RESET, ...) */
    uint32_t num_regions;  /* number of region indexes (BARs, ROM, config space, ...) */
    uint32_t num_irqs;     /* number of IRQ indexes (INTx, MSI, MSI-X, ...) */
} VfiDeviceInfo;

/**
 * vfi_device_open_sysfs:
 * @sysfs_path: the device's sysfs directory (for example
 *   /sys/bus/pci/devices/0000:01:00.0, or an mdev's directory). It must
 *   resolve to a directory inside sysfs.
 *
 * Find the cdev through <sysfs_path>/vfio-dev/vfioN (exactly one entry) and
 * open /dev/vfio/devices/vfioN. Detects mdevs (subsystem link to the mdev
 * bus). Errors: INVALID_ARGUMENT (NULL, or not a directory strictly inside
 * sysfs after resolving symlinks), NOT_FOUND (the path does not exist, or no
 * vfio-dev/vfioN entry: not bound to a VFIO driver), HOST (several vfioN
 * entries, unreadable sysfs), VFI_KERNEL_ERROR with the errno of
 * the open of /dev/vfio/devices/vfioN.
 * Returns: the device (vfi_device_free()), or NULL.
 */
VFI_API VfiDevice *vfi_device_open_sysfs(const char *sysfs_path, GError **errp);

/**
 * vfi_device_open_pci:
 * @bdf: a PCI address "DDDD:BB:DD.F" (domain, bus, device, function in hex).
 *
 * vfi_device_open_sysfs() of <sysfs>/bus/pci/devices/@bdf. A malformed
 * address gives INVALID_ARGUMENT (exactly 4 hex digits of domain, 2 of bus,
 * 2 of device up to 1f, a function 0-7; hex digits in either case), an
 * address with no sysfs entry NOT_FOUND.
 */
VFI_API VfiDevice *vfi_device_open_pci(const char *bdf, GError **errp);

/**
 * vfi_device_new_from_fd:
 * @fd: an open VFIO cdev fd owned by the VMM (never closed by the library).
 * @sysfs_path: the device's sysfs directory, or NULL. With it, the name and
 *   mdev-ness come from sysfs; without it the device is named "fd<N>" and
 *   treated as a physical device.
 *
 * No ioctl and no open. Errors: INVALID_ARGUMENT (@fd < 0, @sysfs_path not a
 * directory inside sysfs), NOT_FOUND (@sysfs_path does not exist).
 */
VFI_API VfiDevice *vfi_device_new_from_fd(int fd, const char *sysfs_path,
                                                     GError **errp);

/**
 * vfi_device_free:
 *
 * Detach (if attached; a failure is only traced), close the fd if the
 * library opened it (the kernel unbinds the device), drop the device's user
 * of its backend (if bound). A VMM-passed fd is left open: the kernel keeps
 * it bound to the iommufd until the VMM closes it (there is no unbind ioctl).
 * NULL is accepted. A device in a container is taken out under its address
 * space's lock; no other call on @dev may overlap this one.
 */
VFI_API void vfi_device_free(VfiDevice *dev);

/**
 * vfi_device_destroy:
 *
 * vfi_device_free() that reports what the kernel kept: @dev is freed in
 * every case, and the call returns false (VFI_KERNEL_ERROR with the errno of
 * the failed VFIO_DEVICE_DETACH_IOMMUFD_PT) when a device from a VMM-passed
 * fd stayed attached to its page table: its DMA still reaches it until the
 * VMM closes the fd. A device still in a container leaves it first, as with
 * vfi_device_free(). NULL: true.
 */
VFI_API bool vfi_device_destroy(VfiDevice *dev, GError **errp);

/* Returns: the device's name: its sysfs directory's last component (a PCI
 * address or an mdev UUID), or "fd<N>". Owned by the device. */
VFI_API const char *vfi_device_get_name(const VfiDevice *dev);
/**
 * vfi_device_set_label:
 * @label: the VMM's name for the device (for example QEMU's `-device id=`),
 *   copied; NULL or "" removes it.
 *
 * From then on errors, the coverage report's blocker message and trace
 * events name the device "label (name)", the name being its BDF, mdev UUID
 * or "fd<N>" (vfi_device_get_name() stays the name). No ioctl.
 */
VFI_API void vfi_device_set_label(VfiDevice *dev, const char *label);
/* Returns: the label, or NULL when none was given. Owned by the device. */
VFI_API const char *vfi_device_get_label(const VfiDevice *dev);
/* Returns: how messages name the device: "label (name)", or the name.
 * Owned by the device, valid until the next vfi_device_set_label(). */
VFI_API const char *vfi_device_get_display_name(const VfiDevice *dev);
/* Returns: the sysfs directory (resolved), or NULL when unknown. */
VFI_API const char *vfi_device_get_sysfs_path(const VfiDevice *dev);
/* Returns: the cdev fd. */
VFI_API int vfi_device_get_fd(const VfiDevice *dev);
/* Returns: true for a mediated device (sysfs subsystem is the mdev bus). */
VFI_API bool vfi_device_is_mdev(const VfiDevice *dev);
/* Returns: the backend the device is bound to, or NULL. */
VFI_API VfiIommufd *vfi_device_get_backend(const VfiDevice *dev);
/* Returns: whether the device is bound. */
VFI_API bool vfi_device_is_bound(const VfiDevice *dev);
/* Returns: the device id from the bind (valid only while bound). */
VFI_API uint32_t vfi_device_get_devid(const VfiDevice *dev);
/* Returns: the pt id the device is attached to (as the kernel reported it
 * back: a HWPT id, also for an attach to an IOAS on a physical device), or 0
 * when detached. */
VFI_API uint32_t vfi_device_get_attached_pt(const VfiDevice *dev);

/**
 * vfi_device_bind:
 *
 * Connect @be (a user) and VFIO_DEVICE_BIND_IOMMUFD; keeps the device id.
 * WRONG_STATE when already bound. On failure the backend user is dropped.
 */
VFI_API bool vfi_device_bind(VfiDevice *dev, VfiIommufd *be, GError **errp);

/**
 * vfi_device_attach:
 * @pt_id: an IOAS id or a HWPT id of the device's iommufd.
 * @out_pt_id: out (may be NULL): the id the kernel reports attached (for an
 *   IOAS on a physical device: the HWPT the kernel made or reused).
 *
 * VFIO_DEVICE_ATTACH_IOMMUFD_PT. WRONG_STATE when not bound or already
 * attached (detach first). The kernel's errno is the GError code, so a caller
 * can tell EINVAL (the domain is incompatible with this device) from other
 * failures.
 */
VFI_API bool vfi_device_attach(VfiDevice *dev, uint32_t pt_id, uint32_t *out_pt_id,
                                         GError **errp);

/**
 * vfi_device_detach:
 *
 * VFIO_DEVICE_DETACH_IOMMUFD_PT. WRONG_STATE when not attached. The device
 * then blocks DMA.
 */
VFI_API bool vfi_device_detach(VfiDevice *dev, GError **errp);

/**
 * vfi_device_get_info:
 *
 * VFIO_DEVICE_GET_INFO. WRONG_STATE when not bound.
 */
VFI_API bool vfi_device_get_info(VfiDevice *dev, VfiDeviceInfo *info,
                                           GError **errp);

/**
 * vfi_device_get_hw_info:
 *
 * IOMMU_GET_HW_INFO for this device through its backend (see
 * vfi_iommufd_get_hw_info()). WRONG_STATE when not bound; an mdev
 * gives ENOENT from the kernel.
 */
VFI_API bool vfi_device_get_hw_info(VfiDevice *dev, VfiHwInfo *info,
                                              GError **errp);

/* ---- PCI hot reset (VFIO_DEVICE_GET_PCI_HOT_RESET_INFO / _PCI_HOT_RESET) */

/* One device a hot reset affects. */
typedef struct VfiHotResetDevice {
    uint16_t segment;      /* PCI domain */
    uint8_t bus;           /* PCI bus */
    uint8_t devfn;         /* slot << 3 | function */
    bool owned;            /* the kernel counts it as the calling iommufd's:
                            * bound to it, or in an IOMMU group it owns */
    uint32_t devid;        /* its device id in the calling iommufd, 0 when
                            * it has none there (owned through its group, or
                            * not owned) */
    bool open;             /* @name is that of a VfiDevice bound with @devid
                            * through the same backend */
    char *name;            /* that device's display name ("label (BDF)"),
                            * else the PCI address "SSSS:BB:DD.F" */
} VfiHotResetDevice;

/* What a hot reset of one device affects (vfi_hot_reset_info_free()). */
typedef struct VfiHotResetInfo {
    uint32_t flags;        /* VFIO_PCI_HOT_RESET_FLAG_* as the kernel said */
    bool all_owned;        /* VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED: every
                            * device is owned, a reset is allowed */
    unsigned n_devices;    /* entries of @devices */
    VfiHotResetDevice *devices;  /* in the kernel's order (bus order) */
} VfiHotResetInfo;

/**
 * vfi_device_get_hot_reset_info:
 *
 * VFIO_DEVICE_GET_PCI_HOT_RESET_INFO: the devices a slot or bus reset of
 * @dev resets with it, each with its PCI address, whether the device's
 * iommufd owns it and its device id there. Devices the library has bound
 * through the same backend are named as the VMM knows them. The array is
 * sized as the kernel reports (ENOSPC, then again). WRONG_STATE when not
 * bound; VFI_KERNEL_ERROR with the kernel's errno otherwise: ENODEV when
 * the device has neither a slot nor a bus reset (for example an
 * integrated endpoint on a root bus).
 * Returns: the info (vfi_hot_reset_info_free()), or NULL.
 */
VFI_API VfiHotResetInfo *vfi_device_get_hot_reset_info(VfiDevice *dev, GError **errp);

/* Free @info (NULL is accepted). */
VFI_API void vfi_hot_reset_info_free(VfiHotResetInfo *info);

/**
 * vfi_device_hot_reset:
 *
 * Reset @dev and every device sharing its slot or bus reset:
 * vfi_device_get_hot_reset_info() first, then VFIO_DEVICE_PCI_HOT_RESET
 * in its cdev form (no group fds: the kernel checks that the device's
 * iommufd owns every affected device). Refused before the reset ioctl
 * (WRONG_STATE, naming the devices not owned) unless the info says every
 * device is owned. Errors of either ioctl: VFI_KERNEL_ERROR with the errno
 * and the devices' names. The devices stay bound and attached; their
 * config space and BARs are reset by the kernel.
 */
VFI_API bool vfi_device_hot_reset(VfiDevice *dev, GError **errp);

/* ---- dma-buf export of a device region (VFIO_DEVICE_FEATURE_DMA_BUF) -- */

/* One slice of a device region, for vfi_device_export_dma_buf(). */
typedef struct VfiDmaBufRange {
    uint64_t offset;       /* from the region's start, a multiple of the
                            * host page size */
    uint64_t length;       /* non-zero, a multiple of the host page size */
} VfiDmaBufRange;

/**
 * vfi_device_dma_buf_probe:
 * @offered: out: whether the kernel's driver of @dev has dma-buf export.
 *
 * VFIO_DEVICE_FEATURE with PROBE | GET | DMA_BUF: true with *@offered set
 * when the kernel answered (ENOTTY: not offered: a kernel before 6.19, one
 * built without CONFIG_VFIO_PCI_DMABUF, an mdev or another driver than
 * vfio-pci; EOPNOTSUPP: a vfio-pci variant driver without it). A probe
 * says nothing of a given BAR: whether the BAR has a P2P provider shows
 * only at the export. A build without VFIO_DEVICE_FEATURE_DMA_BUF in its
 * UAPI headers: NOT_SUPPORTED, before any ioctl. WRONG_STATE when not
 * bound; VFI_KERNEL_ERROR for another errno.
 */
VFI_API bool vfi_device_dma_buf_probe(VfiDevice *dev, bool *offered, GError **errp);

/**
 * vfi_device_export_dma_buf:
 * @region: the region index: a PCI BAR, 0 to 5 (VFIO_PCI_BAR*_REGION_INDEX).
 * @ranges: @n slices of the region (n >= 1), laid end to end in the
 *   dma-buf in this order.
 * @open_flags: the flags of the new fd: O_CLOEXEC, O_NONBLOCK and an
 *   access mode (O_RDWR, ...), nothing else.
 * @fd_out: out: the dma-buf fd. The caller owns it (close() it); it stays
 *   valid after @dev is freed, but the kernel revokes it then (and while
 *   the device's memory decoding is off, or during a reset): a revoked
 *   dma-buf maps nowhere.
 *
 * VFIO_DEVICE_FEATURE with GET | DMA_BUF (Linux 6.19): the slices of BAR
 * @region of @dev as one dma-buf, for peer-to-peer DMA: map it into an
 * IOAS with vfi_container_dma_map_file() / vfi_address_space_dma_map_file()
 * (fd, offset 0), or in one call vfi_address_space_dma_map_device_bar().
 * iommufd (7.3) maps a VFIO dma-buf of ONE range only (EOPNOTSUPP for
 * more), any part of it, read-only or writeable.
 * Checked before any ioctl (INVALID_ARGUMENT): @ranges non-NULL, @n >= 1,
 * every offset and length page-aligned, lengths non-zero, their sum and
 * each offset + length not overflowing, @region a BAR, @open_flags; a
 * build whose UAPI headers lack VFIO_DEVICE_FEATURE_DMA_BUF:
 * NOT_SUPPORTED; WRONG_STATE when not bound. The kernel's refusals come as
 * VFI_KERNEL_ERROR with the errno and what it means: ENOTTY (no dma-buf
 * export in this kernel or driver: before 6.19, or without
 * CONFIG_VFIO_PCI_DMABUF, which needs PCI_P2PDMA and DMA_SHARED_BUFFER),
 * EOPNOTSUPP (a variant driver without it), ENODEV (the BAR is absent or
 * not claimed), EINVAL (the BAR has no P2P provider, or a slice reaches
 * past its end). Nothing is left behind on failure.
 */
VFI_API bool vfi_device_export_dma_buf(VfiDevice *dev, unsigned region,
                                       const VfiDmaBufRange *ranges, unsigned n,
                                       int open_flags, int *fd_out, GError **errp);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(VfiDevice, vfi_device_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VfiHotResetInfo, vfi_hot_reset_info_free)

G_END_DECLS

#endif
