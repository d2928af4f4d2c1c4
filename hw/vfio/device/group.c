/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: VFIO groups (/dev/vfio/N), the legacy way to a device.
 *
 * A device's IOMMU group comes from its sysfs iommu_group link. Opening
 * /dev/vfio/N, its viability (VFIO_GROUP_GET_STATUS: every device of the
 * group bound to vfio-pci or to no driver), joining a type1 container
 * (VFIO_GROUP_SET_CONTAINER, fd of backends/type1.c) and leaving it, and
 * VFIO_GROUP_GET_DEVICE_FD, which gives a VfiDevice its fd without a cdev
 * binding. The kernel lets a group be opened once, and not while a cdev of
 * one of its devices is open: a device the library opened by its cdev
 * (unbound) gives that fd up to join its group and takes it back when it
 * leaves. Each group is open once in the process: a second opener (another
 * address space) is refused before any call.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include <linux/vfio.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/kernel.h"
#include "device-internal.h"
#include "util/kernel-internal.h"
#include "trace.h"

#define VFIO_GROUP_DIR "/dev/vfio"

struct VfiGroup {
    unsigned id;
    int fd;
    bool container_set;     /* VFIO_GROUP_SET_CONTAINER done */
};

/* The ids of the groups open in this process. */
static GMutex groups_lock;
static GHashTable *open_groups;

static bool group_claim(unsigned id)
{
    bool ok;

    g_mutex_lock(&groups_lock);
    if (!open_groups) {
        open_groups = g_hash_table_new(g_direct_hash, g_direct_equal);
    }
    ok = g_hash_table_add(open_groups, GUINT_TO_POINTER(id));
    g_mutex_unlock(&groups_lock);
    return ok;
}

static void group_unclaim(unsigned id)
{
    g_mutex_lock(&groups_lock);
    g_hash_table_remove(open_groups, GUINT_TO_POINTER(id));
    g_mutex_unlock(&groups_lock);
}

int vfi_device_iommu_group(const VfiDevice *dev, GError **errp)
{
    g_autofree char *link = NULL;
    g_autofree char *target = NULL;
    const char *num;
    char *end;
    unsigned long id;

    if (!dev || !dev->sysfs_path) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "device %s: no sysfs path, so no IOMMU group known (a VMM-passed fd)",
                    dev ? dev->display : "(null)");
        return -1;
    }
    link = g_build_filename(dev->sysfs_path, "iommu_group", NULL);
    target = g_file_read_link(link, NULL);
    num = target ? strrchr(target, '/') : NULL;
    id = num ? strtoul(num + 1, &end, 10) : 0;
    if (!num || !g_ascii_isdigit(num[1]) || *end || id > G_MAXINT) {
        trace_vfi_device_refused(dev->display, "no IOMMU group link", ENOENT);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_NOT_FOUND,
                    "device %s has no IOMMU group (%s): no IOMMU, or no VFIO group "
                    "support", dev->display, link);
        return -1;
    }
    return (int)id;
}

VfiGroup *vfi_group_open(unsigned id, GError **errp)
{
    g_autofree char *path = g_strdup_printf(VFIO_GROUP_DIR "/%u", id);
    VfiGroup *g;
    int fd;

    if (!group_claim(id)) {
        trace_vfi_group_refused(id, "open already in this process");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "IOMMU group %u is in use by another type1 container of this process "
                    "(another address space): a group joins one container only", id);
        return NULL;
    }
    fd = vfi_kernel_open(path, O_RDWR);
    if (fd < 0) {
        group_unclaim(id);
        vfi_kernel_error(errp, -fd, "open", NULL, fd == -EBUSY ?
                         "IOMMU group %u (%s) is busy: open by another process, or a device "
                         "of it is open by its VFIO cdev" :
                         "cannot open IOMMU group %u (%s)", id, path);
        return NULL;
    }
    g = g_new0(VfiGroup, 1);
    g->id = id;
    g->fd = fd;
    trace_vfi_group_open(id, fd);
    return g;
}

void vfi_group_close(VfiGroup *g)
{
    if (!g) {
        return;
    }
    trace_vfi_group_close(g->id, g->fd, g->container_set);
    vfi_kernel_close(g->fd);
    group_unclaim(g->id);
    g_free(g);
}

unsigned vfi_group_get_id(const VfiGroup *g)
{
    return g->id;
}

/* The devices of group @id whose driver is not vfio-pci (a host driver
 * holds the group's DMA), comma separated (g_free()), or NULL. */
static char *foreign_devices(unsigned id)
{
    g_autofree char *num = g_strdup_printf("%u", id);
    g_autofree char *dir = g_build_filename(vfi_kernel_sysfs_root(), "kernel", "iommu_groups",
                                            num, "devices", NULL);
    g_autoptr(GString) out = g_string_new(NULL);
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *e;

    while (d && (e = g_dir_read_name(d))) {
        g_autofree char *drv = g_build_filename(dir, e, "driver", NULL);
        g_autofree char *target = g_file_read_link(drv, NULL);
        g_autofree char *name = target ? g_path_get_basename(target) : NULL;

        if (name && !g_str_equal(name, "vfio-pci") && !g_str_equal(name, "vfio_mdev")) {
            g_string_append_printf(out, "%s%s (driver %s)", out->len ? ", " : "", e, name);
        }
    }
    if (d) {
        g_dir_close(d);
    }
    return out->len ? g_string_free(g_steal_pointer(&out), FALSE) : NULL;
}

bool vfi_group_check_viable(VfiGroup *g, GError **errp)
{
    struct vfio_group_status st = { .argsz = sizeof(st) };
    g_autofree char *foreign = NULL;
    int ret = VFI_KERNEL_IOCTL(g->fd, VFIO_GROUP_GET_STATUS, &st);

    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "VFIO_GROUP_GET_STATUS", NULL, "IOMMU group %u", g->id);
        return false;
    }
    if (st.flags & VFIO_GROUP_FLAGS_VIABLE) {
        return true;
    }
    foreign = foreign_devices(g->id);
    trace_vfi_group_refused(g->id, foreign ? foreign : "not viable");
    g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                "IOMMU group %u is not viable: %s%s: bind every device of the group to "
                "vfio-pci (or unbind it from its driver)", g->id,
                foreign ? "devices bound to a host driver: " : "a device of it is in use",
                foreign ? foreign : "");
    return false;
}

bool vfi_group_set_container(VfiGroup *g, int container_fd, GError **errp)
{
    int ret = VFI_KERNEL_IOCTL(g->fd, VFIO_GROUP_SET_CONTAINER, &container_fd);

    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "VFIO_GROUP_SET_CONTAINER", NULL,
                         "IOMMU group %u into the type1 container fd %d%s", g->id, container_fd,
                         ret == -EPERM ? " (the group is not viable)" : "");
        return false;
    }
    g->container_set = true;
    return true;
}

bool vfi_group_unset_container(VfiGroup *g, GError **errp)
{
    int ret;

    if (!g->container_set) {
        return true;
    }
    ret = vfi_kernel_ioctl(g->fd, VFIO_GROUP_UNSET_CONTAINER, NULL,
                           "VFIO_GROUP_UNSET_CONTAINER");
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "VFIO_GROUP_UNSET_CONTAINER", NULL,
                         "IOMMU group %u%s", g->id,
                         ret == -EBUSY ? " (a device of it is still open)" : "");
        return false;
    }
    g->container_set = false;
    return true;
}

/* ---- a device through its group -------------------------------------------- */

VfiGroup *vfi_device_get_group(const VfiDevice *dev)
{
    return dev ? dev->group : NULL;
}

bool vfi_device_release_cdev(VfiDevice *dev, GError **errp)
{
    if (dev->group || dev->be || !dev->fd_owned) {
        trace_vfi_device_refused(dev->display, "cannot join its group", EBUSY);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "device %s cannot be opened through its IOMMU group: %s", dev->display,
                    dev->group ? "it is open through its group already" :
                    dev->be ? "it is bound to an iommufd" :
                    "its fd was passed by the VMM (a cdev): it takes the iommufd path only");
        return false;
    }
    if (dev->fd >= 0) {
        /* the cdev and the group exclude each other: give the cdev up */
        vfi_kernel_close(dev->fd);
        dev->fd = -1;
    }
    return true;
}

bool vfi_device_open_in_group(VfiDevice *dev, VfiGroup *g, GError **errp)
{
    int fd;

    if (!vfi_device_release_cdev(dev, errp)) {
        return false;
    }
    fd = vfi_kernel_ioctl(g->fd, VFIO_GROUP_GET_DEVICE_FD, dev->name,
                          "VFIO_GROUP_GET_DEVICE_FD");
    if (fd < 0) {
        vfi_kernel_error(errp, -fd, "VFIO_GROUP_GET_DEVICE_FD", NULL,
                         "device %s in IOMMU group %u", dev->display, g->id);
        vfi_device_reopen_cdev(dev);
        return false;
    }
    dev->fd = fd;
    dev->group = g;
    trace_vfi_device_group_fd(dev->display, g->id, fd);
    return true;
}

void vfi_device_leave_group(VfiDevice *dev)
{
    if (dev->group) {
        trace_vfi_device_group_left(dev->display, dev->group->id, dev->fd);
        vfi_kernel_close(dev->fd);
        dev->fd = -1;
        dev->group = NULL;
        /* the kernel stops logging with the fd */
        vfi_device_dma_logging_forget(dev);
    }
}

void vfi_device_reopen_cdev(VfiDevice *dev)
{
    g_autofree char *cdev = NULL;
    g_autofree char *node = NULL;

    if (dev->group || dev->fd >= 0 || !dev->sysfs_path) {
        return;
    }
    /* back to its cdev when it has one (the iommufd path stays open to it) */
    cdev = vfi_sysfs_find_cdev(dev->sysfs_path, dev->name, NULL);
    node = cdev ? g_build_filename(VFI_CDEV_DIR, cdev, NULL) : NULL;
    dev->fd = node ? vfi_kernel_open(node, O_RDWR) : -1;
    dev->fd = MAX(dev->fd, -1);
}
