/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: PCI hot reset of a cdev-opened device: which devices a
 * slot or bus reset affects (VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, devid
 * form) and the reset itself (VFIO_DEVICE_PCI_HOT_RESET with no group fds,
 * the kernel checking the iommufd's ownership of every affected device).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include <linux/vfio.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/device.h"
#include "util/kernel-internal.h"
#include "device-internal.h"
#include "trace.h"

/* How many times the info is asked again after ENOSPC (the topology may
 * change between two calls). */
#define HOT_RESET_INFO_TRIES 4

/* VFIO_DEVICE_GET_PCI_HOT_RESET_INFO with room for *@room devices; on
 * ENOSPC *@room becomes the count the kernel reported. Returns: the
 * filled struct (g_free()), or NULL with -errno in *@err. */
static struct vfio_pci_hot_reset_info *info_ioctl(VfiDevice *dev, uint32_t *room, int *err)
{
    size_t size = sizeof(struct vfio_pci_hot_reset_info) +
                  (size_t)*room * sizeof(struct vfio_pci_dependent_device);
    struct vfio_pci_hot_reset_info *info = g_malloc0(size);
    int ret;

    info->argsz = size;
    ret = VFI_KERNEL_IOCTL(dev->fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info);
    if (ret == 0) {
        return info;
    }
    if (ret == -ENOSPC && info->count > *room) {
        *room = info->count;
    }
    *err = ret;
    g_free(info);
    return NULL;
}

static struct vfio_pci_hot_reset_info *info_read(VfiDevice *dev, GError **errp)
{
    uint32_t room = 1;
    int err = 0;

    for (int i = 0; i < HOT_RESET_INFO_TRIES; i++) {
        struct vfio_pci_hot_reset_info *info = info_ioctl(dev, &room, &err);

        if (info) {
            return info;
        }
        if (err != -ENOSPC) {
            break;
        }
        trace_vfi_device_hot_reset_info_retry(dev->display, room);
    }
    vfi_kernel_error(errp, -err, "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO", NULL,
                     "device %s (devid %u)%s", dev->display, dev->devid,
                     err == -ENODEV ? ": the device has neither a slot nor a bus reset" :
                     err == -ENOSPC ? ": the set of devices kept changing" : "");
    return NULL;
}

static void fill_device(VfiDevice *dev, uint32_t flags, const struct vfio_pci_dependent_device *k,
                        VfiHotResetDevice *out)
{
    bool devid_form = flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID;
    char *name = NULL;

    out->segment = k->segment;
    out->bus = k->bus;
    out->devfn = k->devfn;
    out->owned = devid_form && k->devid != (uint32_t)VFIO_PCI_DEVID_NOT_OWNED;
    out->devid = out->owned && k->devid != VFIO_PCI_DEVID_OWNED ? k->devid : 0;
    if (out->devid) {
        name = vfi_device_bound_name(dev->be, out->devid);
    }
    out->open = name != NULL;
    out->name = name ? name : g_strdup_printf("%04x:%02x:%02x.%x", k->segment, k->bus,
                                              k->devfn >> 3, k->devfn & 7);
    trace_vfi_device_hot_reset_dependent(dev->display, out->name, out->devid, out->owned);
}

VfiHotResetInfo *vfi_device_get_hot_reset_info(VfiDevice *dev, GError **errp)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));
    g_autofree struct vfio_pci_hot_reset_info *k = NULL;
    VfiHotResetInfo *info;

    if (!vfi_device_check_bound(dev, "hot reset info", errp) || !(k = info_read(dev, errp))) {
        return NULL;
    }
    info = g_new0(VfiHotResetInfo, 1);
    info->flags = k->flags;
    info->all_owned = (k->flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID) &&
                      (k->flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED);
    info->n_devices = k->count;
    info->devices = g_new0(VfiHotResetDevice, k->count);
    for (uint32_t i = 0; i < k->count; i++) {
        fill_device(dev, k->flags, &k->devices[i], &info->devices[i]);
    }
    trace_vfi_device_hot_reset_info(dev->display, info->n_devices, info->flags,
                                    info->all_owned);
    return info;
}

void vfi_hot_reset_info_free(VfiHotResetInfo *info)
{
    if (!info) {
        return;
    }
    for (unsigned i = 0; i < info->n_devices; i++) {
        g_free(info->devices[i].name);
    }
    g_free(info->devices);
    g_free(info);
}

/* "a, b, c": the names of the devices of @info (owned ones, or not owned). */
static char *names(const VfiHotResetInfo *info, bool owned)
{
    GString *s = g_string_new(NULL);

    for (unsigned i = 0; i < info->n_devices; i++) {
        if (info->devices[i].owned == owned) {
            g_string_append_printf(s, "%s%s", s->len ? ", " : "", info->devices[i].name);
        }
    }
    return g_string_free(s, FALSE);
}

/* Refuse unless every device of @info is owned (WRONG_STATE). */
static bool check_owned(VfiDevice *dev, const VfiHotResetInfo *info, GError **errp)
{
    g_autofree char *not_owned = NULL;

    if (info->all_owned) {
        return true;
    }
    not_owned = names(info, false);
    trace_vfi_device_refused(dev->display, "hot reset: devices not owned", 0);
    g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                "hot reset of device %s (devid %u, iommufd %d) refused: it also resets "
                "%s, not owned by this iommufd (bind them to it first)%s", dev->display,
                dev->devid, vfi_iommufd_get_fd(dev->be), *not_owned ? not_owned : "devices",
                info->flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID ? "" :
                " (the kernel gave no device ids)");
    return false;
}

bool vfi_device_hot_reset(VfiDevice *dev, GError **errp)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));
    struct vfio_pci_hot_reset reset = { .argsz = sizeof(reset), .flags = 0, .count = 0 };
    g_autoptr(VfiHotResetInfo) info = vfi_device_get_hot_reset_info(dev, errp);
    g_autofree char *all = NULL;
    int ret;

    if (!info || !check_owned(dev, info, errp)) {
        return false;
    }
    all = names(info, true);
    trace_vfi_device_hot_reset(dev->display, info->n_devices, all);
    ret = VFI_KERNEL_IOCTL(dev->fd, VFIO_DEVICE_PCI_HOT_RESET, &reset);
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "VFIO_DEVICE_PCI_HOT_RESET", NULL,
                         "device %s (devid %u, iommufd %d), resetting %s%s", dev->display,
                         dev->devid, vfi_iommufd_get_fd(dev->be), all,
                         -ret == EINVAL ? " (the kernel found a device not owned, or "
                         "one that is not bound to vfio-pci)" : "");
        return false;
    }
    return true;
}
