/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: VfiDevice, one VFIO device file (cdev): open (the sysfs
 * lookup is in sysfs.c), bind to an iommufd, attach to / detach from a page
 * table, device and IOMMU info, free.
 *
 * Every ioctl goes through the ioctl layer (util/kernel-internal.h), which
 * traces it with its arguments, result and errno; the decisions taken here
 * (input refused, an owner released) are trace events of their own.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <linux/vfio.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/kernel.h"
#include "vfio-iommufd/device.h"
#include "util/kernel-internal.h"
#include "device-internal.h"
#include "trace.h"


/* Every bound device, for naming the devices a hot reset affects; its
 * mutex also guards the display names (a leaf lock). */
static GMutex registry_lock;
static GPtrArray *registry;

static void registry_add(VfiDevice *dev)
{
    g_mutex_lock(&registry_lock);
    if (!registry) {
        registry = g_ptr_array_new();
    }
    g_ptr_array_add(registry, dev);
    g_mutex_unlock(&registry_lock);
}

static void registry_remove(VfiDevice *dev)
{
    g_mutex_lock(&registry_lock);
    if (registry) {
        g_ptr_array_remove_fast(registry, dev);
    }
    g_mutex_unlock(&registry_lock);
}

void vfi_device_registry_add(VfiDevice *dev)
{
    registry_add(dev);
}

char *vfi_device_bound_name(const VfiIommufd *be, uint32_t devid)
{
    char *name = NULL;

    g_mutex_lock(&registry_lock);
    for (guint i = 0; registry && !name && i < registry->len; i++) {
        VfiDevice *d = g_ptr_array_index(registry, i);

        if (d->be == be && d->devid == devid) {
            name = g_strdup(d->display);
        }
    }
    g_mutex_unlock(&registry_lock);
    return name;
}

static VfiDevice *vfi_device_new(int fd, bool owned, const char *name,
                                   const char *sysfs_path, bool mdev);

/* Why the cdev's failure @cause lets the device go through its group, or
 * NULL when it does not. */
static const char *vfi_device_group_only_why(const GError *cause)
{
    if (g_error_matches(cause, VFI_ERROR, VFI_ERROR_NOT_FOUND)) {
        return "no VFIO cdev in sysfs";
    }
    if (g_error_matches(cause, VFI_KERNEL_ERROR, EBUSY)) {
        return "its cdev is blocked by its open IOMMU group";
    }
    if (g_error_matches(cause, VFI_KERNEL_ERROR, ENOENT)) {
        /* vfio-dev/vfioN in sysfs, no node: a /dev of /dev/vfio/vfio and
         * the group nodes only (a container's) */
        return "its VFIO cdev is in sysfs but has no node in " VFI_CDEV_DIR;
    }
    return NULL;
}

/* A device without a usable cdev (none, none in /dev, or one blocked by its
 * open group) in an IOMMU group, bound to vfio-pci (or an mdev): opened
 * later through its group; else the cdev error of @errp. */
static VfiDevice *vfi_device_open_group_only(const char *real, const char *name, bool mdev,
                                             GError **cause, GError **errp)
{
    g_autofree char *grp = g_build_filename(real, "iommu_group", NULL);
    g_autofree char *drv = g_build_filename(real, "driver", NULL);
    g_autofree char *target = g_file_read_link(drv, NULL);
    g_autofree char *driver = target ? g_path_get_basename(target) : NULL;
    const char *why = vfi_device_group_only_why(*cause);

    if (!why || !g_file_test(grp, G_FILE_TEST_EXISTS) ||
        (!mdev && g_strcmp0(driver, "vfio-pci") != 0)) {
        trace_vfi_device_refused(name, *cause ? (*cause)->message : "no cdev", 0);
        g_propagate_error(errp, g_steal_pointer(cause));
        return NULL;
    }
    g_clear_error(cause);
    trace_vfi_device_group_only(name, why);
    return vfi_device_new(-1, true, name, real, mdev);
}

static VfiDevice *vfi_device_new(int fd, bool owned, const char *name,
                                   const char *sysfs_path, bool mdev)
{
    VfiDevice *dev = g_new0(VfiDevice, 1);

    dev->fd = fd;
    dev->fd_owned = owned;
    dev->name = g_strdup(name);
    dev->display = g_strdup(name);
    dev->sysfs_path = g_strdup(sysfs_path);
    dev->mdev = mdev;
    if (sysfs_path && !mdev) {
        dev->iommu_instance = vfi_sysfs_iommu_instance(sysfs_path, name);
    }
    trace_vfi_device_new(dev->display, fd, owned, mdev);
    return dev;
}

/* ------------------------------------------------------------------------ */
/* opening                                                                  */

VfiDevice *vfi_device_open_sysfs(const char *sysfs_path, GError **errp)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *real = NULL;
    g_autofree char *name = NULL;
    g_autofree char *cdev = NULL;
    g_autofree char *node = NULL;
    bool mdev;
    int fd;

    if (!sysfs_path) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "no sysfs path given");
        return NULL;
    }
    real = vfi_sysfs_resolve_device_dir(sysfs_path, errp);
    if (!real) {
        return NULL;
    }
    name = g_path_get_basename(real);
    mdev = vfi_sysfs_is_mdev(real, name);
    cdev = vfi_sysfs_find_cdev(real, name, &local);
    if (!cdev) {
        /* no cdev (CONFIG_VFIO_DEVICE_CDEV off): through its group only */
        return vfi_device_open_group_only(real, name, mdev, &local, errp);
    }
    node = g_build_filename(VFI_CDEV_DIR, cdev, NULL);
    fd = vfi_kernel_open(node, O_RDWR);
    if (fd < 0) {
        vfi_kernel_error(&local, -fd, "open", NULL, "cannot open %s for device %s (%s)%s",
                          node, name, real, fd == -EBUSY ? ": its IOMMU group is open" : "");
        /* its group is open (a type1 container holds it): through it */
        return vfi_device_open_group_only(real, name, mdev, &local, errp);
    }
    return vfi_device_new(fd, true, name, real, mdev);
}

VfiDevice *vfi_device_open_pci(const char *bdf, GError **errp)
{
    g_autofree char *addr = NULL;
    g_autofree char *path = NULL;

    if (!bdf) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "no PCI address given");
        return NULL;
    }
    addr = vfi_sysfs_pci_address_normalize(bdf);
    if (!addr) {
        trace_vfi_device_refused(bdf, "malformed PCI address", 0);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "malformed PCI address '%s' (expected DDDD:BB:DD.F)", bdf);
        return NULL;
    }
    path = g_build_filename(vfi_kernel_sysfs_root(), "bus", "pci", "devices", addr, NULL);
    if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
        trace_vfi_device_refused(bdf, "no such PCI device", ENOENT);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_NOT_FOUND,
                    "no PCI device %s (%s does not exist)", addr, path);
        return NULL;
    }
    return vfi_device_open_sysfs(path, errp);
}

VfiDevice *vfi_device_new_from_fd(int fd, const char *sysfs_path, GError **errp)
{
    g_autofree char *real = NULL;
    g_autofree char *name = NULL;
    bool mdev = false;

    if (fd < 0) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "invalid VFIO device fd %d", fd);
        return NULL;
    }
    if (sysfs_path) {
        real = vfi_sysfs_resolve_device_dir(sysfs_path, errp);
        if (!real) {
            return NULL;
        }
        name = g_path_get_basename(real);
        mdev = vfi_sysfs_is_mdev(real, name);
    } else {
        name = g_strdup_printf("fd%d", fd);
    }
    return vfi_device_new(fd, false, name, real, mdev);
}

/* ------------------------------------------------------------------------ */
/* accessors                                                                */

const char *vfi_device_get_name(const VfiDevice *dev)
{
    return dev ? dev->name : NULL;
}

void vfi_device_set_label(VfiDevice *dev, const char *label)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));
    if (!dev) {
        return;
    }
    g_mutex_lock(&registry_lock);
    g_free(dev->label);
    g_free(dev->display);
    dev->label = label && *label ? g_strdup(label) : NULL;
    dev->display = dev->label ? g_strdup_printf("%s (%s)", dev->label, dev->name) :
                                g_strdup(dev->name);
    g_mutex_unlock(&registry_lock);
    trace_vfi_device_label(dev->name, dev->label ? dev->label : "");
}

const char *vfi_device_get_label(const VfiDevice *dev)
{
    return dev ? dev->label : NULL;
}

const char *vfi_device_get_display_name(const VfiDevice *dev)
{
    return dev ? dev->display : NULL;
}

const char *vfi_device_get_sysfs_path(const VfiDevice *dev)
{
    return dev ? dev->sysfs_path : NULL;
}

const char *vfi_device_get_iommu_instance(const VfiDevice *dev)
{
    return dev ? dev->iommu_instance : NULL;
}

int vfi_device_get_fd(const VfiDevice *dev)
{
    return dev ? dev->fd : -1;
}

bool vfi_device_is_mdev(const VfiDevice *dev)
{
    return dev && dev->mdev;
}

VfiIommufd *vfi_device_get_backend(const VfiDevice *dev)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));

    return dev ? dev->be : NULL;
}

bool vfi_device_is_bound(const VfiDevice *dev)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));

    return dev && dev->be;
}

uint32_t vfi_device_get_devid(const VfiDevice *dev)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));

    return dev && dev->be ? dev->devid : 0;
}

uint32_t vfi_device_get_attached_pt(const VfiDevice *dev)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));

    return dev ? dev->attached_pt : 0;
}

/* ------------------------------------------------------------------------ */
/* state checks                                                             */

static bool check_dev(const VfiDevice *dev, const char *what, GError **errp)
{
    if (!dev) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: no device given", what);
        return false;
    }
    if (dev->handed_over) {
        trace_vfi_device_refused(dev->display, "handed over", 0);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "%s: device %s (fd %d) was handed over to another process (live "
                    "update): only vfi_device_free() is left to do here", what,
                    dev->display, dev->fd);
        return false;
    }
    return true;
}

static bool check_bound(const VfiDevice *dev, const char *what, GError **errp)
{
    if (!check_dev(dev, what, errp)) {
        return false;
    }
    if (!dev->be) {
        trace_vfi_device_refused(dev->display, "not bound", 0);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "%s: device %s is not bound to an iommufd: bind it first",
                    what, dev->display);
        return false;
    }
    return true;
}

/* Bound to an iommufd, or open through its group (type1): the device's own
 * ioctls (info, DMA logging) work either way. */
static bool check_open(const VfiDevice *dev, const char *what, GError **errp)
{
    return (dev && dev->group) || check_bound(dev, what, errp);
}

bool vfi_device_check_bound(const VfiDevice *dev, const char *what, GError **errp)
{
    return check_open(dev, what, errp);
}

/* ------------------------------------------------------------------------ */
/* ioctls                                                                   */

/* VFIO_DEVICE_BIND_IOMMUFD failed with @err. ENOTTY is either an fd that is
 * no VFIO device at all (a VMM-passed fd of something else) or a kernel
 * without VFIO cdev binding (before 6.6): VFIO_DEVICE_GET_INFO, which every
 * VFIO device answers, tells which. */
static void bind_error(VfiDevice *dev, int err, int iommufd, GError **errp)
{
    struct vfio_device_info vinfo = { .argsz = sizeof(vinfo) };

    if (err == EINVAL && !dev->fd_owned) {
        g_set_error(errp, VFI_KERNEL_ERROR, EINVAL,
                    "VFIO_DEVICE_BIND_IOMMUFD: device %s (VMM-passed fd %d) to iommufd %d: "
                    "Invalid argument (errno 22): the device is bound already, through this "
                    "fd before (a cdev is bound once per open file, and a device freed "
                    "keeps its fd bound: close the fd and open the cdev again) or through "
                    "another open file of its cdev", dev->display, dev->fd, iommufd);
        return;
    }
    if (err == ENOTTY &&
        VFI_KERNEL_IOCTL(dev->fd, VFIO_DEVICE_GET_INFO, &vinfo) == -ENOTTY) {
        g_set_error(errp, VFI_KERNEL_ERROR, ENOTTY,
                    "VFIO_DEVICE_BIND_IOMMUFD: device %s: fd %d is not a VFIO device "
                    "(it answers neither VFIO_DEVICE_BIND_IOMMUFD nor VFIO_DEVICE_GET_INFO: "
                    "ENOTTY)", dev->display, dev->fd);
        return;
    }
    vfi_kernel_error(errp, err, "VFIO_DEVICE_BIND_IOMMUFD", "6.6",
                     "device %s (fd %d) to iommufd %d", dev->display, dev->fd, iommufd);
}

bool vfi_device_bind(VfiDevice *dev, VfiIommufd *be, GError **errp)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));
    struct vfio_device_bind_iommufd bind = {
        .argsz = sizeof(bind),
        .flags = 0,
    };
    int ret;

    if (!check_dev(dev, "bind", errp)) {
        return false;
    }
    if (!be) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "bind: no iommufd backend given for device %s", dev->display);
        return false;
    }
    if (dev->fd < 0 || dev->group) {
        trace_vfi_device_refused(dev->display, "no cdev to bind", 0);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "device %s %s: it takes the type1 container path, not an iommufd",
                    dev->display, dev->group ? "is open through its IOMMU group" :
                    "has no VFIO cdev (kernel without CONFIG_VFIO_DEVICE_CDEV)");
        return false;
    }
    if (dev->be) {
        trace_vfi_device_refused(dev->display, "already bound", 0);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "device %s is already bound (devid %u)", dev->display, dev->devid);
        return false;
    }
    if (!vfi_iommufd_connect(be, errp)) {
        return false;
    }
    bind.iommufd = vfi_iommufd_get_fd(be);
    ret = VFI_KERNEL_IOCTL(dev->fd, VFIO_DEVICE_BIND_IOMMUFD, &bind);
    if (ret < 0) {
        bind_error(dev, -ret, bind.iommufd, errp);
        vfi_iommufd_disconnect(be);
        return false;
    }
    dev->be = be;
    dev->devid = bind.out_devid;
    registry_add(dev);
    return true;
}

bool vfi_device_attach(VfiDevice *dev, uint32_t pt_id, uint32_t *out_pt_id, GError **errp)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));
    struct vfio_device_attach_iommufd_pt attach = {
        .argsz = sizeof(attach),
        .flags = 0,
        .pt_id = pt_id,
    };
    int ret;

    if (!check_bound(dev, "attach", errp)) {
        return false;
    }
    if (dev->attached_pt) {
        trace_vfi_device_refused(dev->display, "already attached", 0);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "device %s is already attached to pt %u: detach first",
                    dev->display, dev->attached_pt);
        return false;
    }
    ret = VFI_KERNEL_IOCTL(dev->fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "VFIO_DEVICE_ATTACH_IOMMUFD_PT", "6.6",
                          "device %s (devid %u) to pt %u%s", dev->display, dev->devid, pt_id,
                          -ret == EINVAL ? " (the page table is incompatible with the "
                          "device)" : "");
        return false;
    }
    dev->attached_pt = attach.pt_id;
    if (out_pt_id) {
        *out_pt_id = attach.pt_id;
    }
    return true;
}

bool vfi_device_detach(VfiDevice *dev, GError **errp)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));
    struct vfio_device_detach_iommufd_pt detach = {
        .argsz = sizeof(detach),
        .flags = 0,
    };
    int ret;

    if (!check_dev(dev, "detach", errp)) {
        return false;
    }
    if (!dev->be || !dev->attached_pt) {
        trace_vfi_device_refused(dev->display, "not attached", 0);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "device %s is not attached", dev->display);
        return false;
    }
    ret = VFI_KERNEL_IOCTL(dev->fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach);
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "VFIO_DEVICE_DETACH_IOMMUFD_PT", "6.6",
                          "device %s (devid %u) from pt %u", dev->display, dev->devid,
                          dev->attached_pt);
        return false;
    }
    dev->attached_pt = 0;
    return true;
}

bool vfi_device_get_info(VfiDevice *dev, VfiDeviceInfo *info, GError **errp)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));
    struct vfio_device_info vinfo = {
        .argsz = sizeof(vinfo),
    };
    int ret;

    if (!check_open(dev, "get_info", errp)) {
        return false;
    }
    if (!info) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "get_info: no output given for device %s", dev->display);
        return false;
    }
    ret = VFI_KERNEL_IOCTL(dev->fd, VFIO_DEVICE_GET_INFO, &vinfo);
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "VFIO_DEVICE_GET_INFO", NULL, "device %s (devid %u)",
                          dev->display, dev->devid);
        return false;
    }
    info->flags = vinfo.flags;
    info->num_regions = vinfo.num_regions;
    info->num_irqs = vinfo.num_irqs;
    return true;
}

bool vfi_device_get_hw_info(VfiDevice *dev, VfiHwInfo *info, GError **errp)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));

    if (!check_bound(dev, "get_hw_info", errp)) {
        return false;
    }
    return vfi_iommufd_get_hw_info(dev->be, dev->devid, info, errp);
}

/* ------------------------------------------------------------------------ */
/* freeing                                                                  */

/* The device stayed attached after its owner let it go: detach it. For a
 * VMM-passed fd whose DETACH fails the kernel keeps it attached (no close
 * here): @errp says so. */
static bool free_detach(VfiDevice *dev, GError **errp)
{
    g_autoptr(GError) err = NULL;

    if (!dev->attached_pt || dev->handed_over || vfi_device_detach(dev, &err)) {
        return true;        /* a handed-over device stays attached for its new owner */
    }
    trace_vfi_device_free_detach_failed(dev->display, err->message);
    if (dev->fd_owned) {
        return true;        /* closing the fd detaches and unbinds anyway */
    }
    g_propagate_prefixed_error(errp, g_steal_pointer(&err),
                               "device %s (VMM-passed fd %d) freed, but it stays attached "
                               "to pt %u: DMA through it still reaches that page table "
                               "until the fd is closed: ", dev->display, dev->fd,
                               dev->attached_pt);
    return false;
}

bool vfi_device_destroy(VfiDevice *dev, GError **errp)
{
    bool ok;

    if (!dev) {
        return true;
    }
    trace_vfi_device_free(dev->display, dev->fd, dev->fd_owned, dev->devid, dev->attached_pt);
    if (dev->owner) {
        dev->owner->release(dev->owner, dev);
        g_assert(!dev->owner);
    }
    ok = free_detach(dev, errp);
    if (dev->fd_owned && dev->fd >= 0) {
        vfi_kernel_close(dev->fd);
    }
    /* the kernel stops logging with the fd */
    g_clear_pointer(&dev->logged, g_array_unref);
    g_clear_pointer(&dev->kept, g_array_unref);
    /* the kernel detaches every PASID with the fd (a borrowed fd keeps
     * them: the VMM's to detach, as its attach) */
    g_clear_pointer(&dev->pasids, g_hash_table_unref);
    /*
     * A borrowed fd stays open, so the kernel keeps it bound to the iommufd:
     * there is no unbind ioctl. We still drop our user of the backend; the
     * VMM owns the rest of that fd's life.
     */
    if (dev->be) {
        registry_remove(dev);
        vfi_iommufd_disconnect(dev->be);
    }
    g_free(dev->name);
    g_free(dev->label);
    g_free(dev->display);
    g_free(dev->sysfs_path);
    g_free(dev->iommu_instance);
    g_free(dev);
    return ok;
}

void vfi_device_free(VfiDevice *dev)
{
    vfi_device_destroy(dev, NULL);
}


/* ------------------------------------------------------------------------ */
/* the owner's hook (device-internal.h)                                     */

void vfi_device_set_owner(VfiDevice *dev, VfiDeviceOwner *owner)
{
    dev->owner = owner;
}

VfiDeviceOwner *vfi_device_get_owner(const VfiDevice *dev)
{
    return dev ? dev->owner : NULL;
}
