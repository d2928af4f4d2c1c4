/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: a device across a live update (device-internal.h).
 *
 * Saved: what the device layer knows of a VFIO cdev (its names, its
 * binding, the page table it is attached to, its DMA-logging state), with
 * the index of its fd in the list the VMM hands over. Restored in the new
 * process on the fd it received: the same binding taken over without a
 * bind (the fd is borrowed, as vfi_device_new_from_fd() does), checked
 * with VFIO_DEVICE_GET_INFO, which a cdev answers only once bound. The old
 * process lets its device go: the device is marked handed over, refuses
 * every call from then on, and its free makes no ioctl.
 */
#include <inttypes.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/iommufd.h"
#include "util/saved-ranges.h"
#include "device-internal.h"
#include "trace.h"

GVariant *vfi_device_state_save(const VfiDevice *dev, guint32 fd_index)
{
    return g_variant_new("(sssuuubbbt@" VFI_SAVED_RANGES "@" VFI_SAVED_RANGES ")",
                         dev->name, dev->sysfs_path ? dev->sysfs_path : "",
                         dev->label ? dev->label : "", fd_index, dev->devid,
                         dev->attached_pt, dev->mdev, dev->logging_offered, dev->logging_on,
                         (guint64)dev->logging_page_size,
                         vfi_saved_ranges(dev->logging_on ? dev->logged : NULL),
                         vfi_saved_ranges(dev->kept));
}

/* The members of a saved device (@v of VFI_DEVICE_STATE). */
typedef struct SavedDevice {
    const char *name, *sysfs_path, *label;
    guint32 fd_index, devid, attached_pt;
    gboolean mdev, offered, on;
    guint64 page_size;
    GVariant *logged, *kept;  /* references: saved_device_clear() */
} SavedDevice;

static void saved_device_clear(SavedDevice *s)
{
    g_clear_pointer(&s->logged, g_variant_unref);
    g_clear_pointer(&s->kept, g_variant_unref);
}

static void saved_device(GVariant *v, SavedDevice *s)
{
    g_variant_get(v, "(&s&s&suuubbbt@" VFI_SAVED_RANGES "@" VFI_SAVED_RANGES ")", &s->name,
                  &s->sysfs_path, &s->label, &s->fd_index, &s->devid, &s->attached_pt,
                  &s->mdev, &s->offered, &s->on, &s->page_size, &s->logged, &s->kept);
}

bool vfi_device_state_check(GVariant *v, guint n_fds, GError **errp)
{
    SavedDevice s = { 0 };
    const char *why = NULL;
    bool ok;

    saved_device(v, &s);
    if (!*s.name) {
        why = "no name";
    } else if (s.fd_index == 0 || s.fd_index >= n_fds) {
        why = "fd index out of the fd list";
    } else if (!s.devid) {
        why = "devid 0 (not bound)";
    } else if (s.on && (!s.page_size || (s.page_size & (s.page_size - 1)) ||
                        !g_variant_n_children(s.logged))) {
        why = "DMA logging on without a page size or ranges";
    }
    if (why) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "live-update blob: device %s: %s", s.name, why);
        saved_device_clear(&s);
        return false;
    }
    ok = vfi_saved_ranges_check(s.logged, "a device's logged ranges", errp) &&
         vfi_saved_ranges_check(s.kept, "a device's kept pages", errp);
    saved_device_clear(&s);
    return ok;
}

guint32 vfi_device_state_fd_index(GVariant *v)
{
    SavedDevice s = { 0 };

    saved_device(v, &s);
    saved_device_clear(&s);
    return s.fd_index;
}

/* Take over the binding and logging state @s says the fd has. */
static void adopt(VfiDevice *dev, const SavedDevice *s, VfiIommufd *be)
{
    g_free(dev->name);
    dev->name = g_strdup(s->name);
    vfi_device_set_label(dev, s->label);
    dev->mdev = s->mdev;
    dev->be = be;
    dev->devid = s->devid;
    dev->attached_pt = s->attached_pt;
    dev->logging_offered = s->offered;
    dev->logging_on = s->on;
    dev->logging_page_size = s->on ? s->page_size : 0;
    dev->logged = s->on ? vfi_saved_ranges_array(s->logged) : NULL;
    dev->kept = vfi_saved_ranges_array(s->kept);
    vfi_device_registry_add(dev);
}

VfiDevice *vfi_device_state_restore(GVariant *v, const int *fds, VfiIommufd *be,
                                    GError **errp)
{
    SavedDevice s = { 0 };
    VfiDeviceInfo info;
    VfiDevice *dev;
    int fd;

    saved_device(v, &s);
    fd = fds[s.fd_index];
    dev = vfi_device_new_from_fd(fd, *s.sysfs_path ? s.sysfs_path : NULL, errp);
    if (!dev) {
        g_prefix_error(errp, "live update: device %s (fd %d): ", s.name, fd);
        saved_device_clear(&s);
        return NULL;
    }
    if (!vfi_iommufd_connect(be, errp)) {
        vfi_device_free(dev);
        saved_device_clear(&s);
        return NULL;
    }
    adopt(dev, &s, be);
    saved_device_clear(&s);
    trace_vfi_device_restored(dev->display, fd, dev->devid, dev->attached_pt, dev->logging_on);
    if (!vfi_device_get_info(dev, &info, errp)) {
        g_prefix_error(errp, "live update: device %s (fd %d) is not bound to an iommufd as "
                       "the blob says (devid %u): ", dev->display, fd, dev->devid);
        vfi_device_let_go(dev);
        vfi_device_free(dev);
        return NULL;
    }
    return dev;
}

void vfi_device_let_go(VfiDevice *dev)
{
    trace_vfi_device_let_go(dev->display, dev->fd, dev->devid, dev->attached_pt);
    vfi_device_set_owner(dev, NULL);
    dev->handed_over = true;
    /* the logging goes on in the kernel for the new process: nothing to stop */
    dev->logging_on = false;
    g_clear_pointer(&dev->logged, g_array_unref);
    g_clear_pointer(&dev->kept, g_array_unref);
}
