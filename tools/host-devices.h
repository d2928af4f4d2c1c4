/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd tool: PCI devices and mdevs as sysfs shows them.
 *
 * Read from the installed kernel's sysfs root (vfi_kernel_sysfs_root():
 * /sys, or the kernel model's tree): <sysfs>/bus/pci/devices/<BDF> and
 * <sysfs>/bus/mdev/devices/<UUID>, their vendor/device/class, driver,
 * iommu_group and iommu links and their vfio-dev/vfioN entry. No open, no
 * ioctl: probe.h asks the kernel.
 */
#ifndef VFI_TOOL_HOST_DEVICES_H
#define VFI_TOOL_HOST_DEVICES_H

#include <stdbool.h>
#include <glib.h>

#include "json.h"

typedef struct HostDevice {
    char *name;              /* PCI address or mdev UUID */
    bool mdev;
    char *sysfs_path;        /* <sysfs>/bus/{pci,mdev}/devices/<name> */
    char *vendor;            /* "0x1234" (PCI), or NULL */
    char *device;            /* "0x11e8" (PCI), or NULL */
    char *class_code;        /* "0x00ff00" (PCI), or NULL */
    char *driver;            /* the bound driver, or NULL */
    char *driver_override;   /* PCI driver_override, or NULL when unset */
    int iommu_group;         /* -1: none */
    char *iommu;             /* the IOMMU instance (iommu link), or NULL */
    char *cdev;              /* "vfioN" (vfio-dev/vfioN), or NULL */
    bool cdev_attr;          /* vfio-dev/vfioN/dev exists: a VFIO device file */
    char *parent;            /* mdev: the parent device */
    char *mdev_type;         /* mdev: its type */
} HostDevice;

/* What sysfs says of device @name (a PCI address or, @mdev, a UUID). Missing
 * attributes stay NULL; NULL when there is no such device. */
HostDevice *host_device_read(const char *sysfs, const char *name, bool mdev);
/* The same from the device's sysfs directory. */
HostDevice *host_device_read_path(const char *path);
void host_device_free(HostDevice *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HostDevice, host_device_free)

/* Every PCI device, then every mdev, each sorted by name (HostDevice *,
 * owned by the array). HOST error when <sysfs>/bus/pci/devices cannot be
 * read (a missing mdev bus is no error). */
GPtrArray *host_devices_scan(const char *sysfs, GError **errp);
/* Returns: /dev/vfio/devices/vfioN, or NULL without a vfio-dev entry with
 * its dev attribute. */
char *host_device_cdev_node(const HostDevice *d);
/* The names in <sysfs>/kernel/iommu_groups/@group/devices (sorted). */
GPtrArray *host_iommu_group_devices(const char *sysfs, int group);
/* "1234:11e8", "mdev" or "-" (g_free()). */
char *host_device_id(const HostDevice *d);

/* The sysfs members of @d (address, kind, vendor, device, class, driver,
 * iommu_group, iommu, vfio_cdev, parent, mdev_type) into the open object. */
void host_device_json(const HostDevice *d, Json *j);

#endif
