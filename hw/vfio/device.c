/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: VFIO devices through their cdev.
 *
 * Finding a device: its sysfs directory (given, or <sysfs>/bus/pci/devices/
 * <BDF>) is resolved and must lie inside sysfs; <dir>/vfio-dev/ holds exactly
 * one vfioN entry, whose node /dev/vfio/devices/vfioN is opened. An mdev is a
 * device whose <dir>/subsystem link resolves to the mdev bus.
 *
 * Every ioctl goes through the ioctl layer (util/kernel-internal.h) and emits
 * a vfi_device_* trace event with its arguments, result and errno; so does
 * every decision taken here (cdev found, mdev detected, input refused).
 */
#include <dirent.h>
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

#define VFI_CDEV_DIR "/dev/vfio/devices"

struct VfiDevice {
    char *name;            /* last component of the sysfs dir, or "fd<N>" */
    char *sysfs_path;      /* resolved sysfs directory, or NULL */
    int fd;                /* the cdev fd */
    bool fd_owned;         /* opened by us: closed (and so unbound) in free */
    bool mdev;
    VfiIommufd *be;    /* non-NULL while bound; we hold one user of it */
    uint32_t devid;        /* from VFIO_DEVICE_BIND_IOMMUFD */
    uint32_t attached_pt;  /* as the kernel reported it back; 0 = detached */
    void *container_priv;  /* the container layer's state (device-internal.h) */
};

/* ------------------------------------------------------------------------ */
/* sysfs lookups                                                            */

/*
 * Check "DDDD:BB:DD.F": 4 hex digits of domain, 2 of bus, 2 of device (at
 * most 0x1f), one decimal digit of function (0-7). On success return the
 * address in lower case (as sysfs spells it).
 */
static char *pci_address_normalize(const char *bdf)
{
    static const char pattern[] = "xxxx:xx:xx.f";
    unsigned dev;

    if (strlen(bdf) != sizeof(pattern) - 1) {
        return NULL;
    }
    for (size_t i = 0; pattern[i]; i++) {
        switch (pattern[i]) {
        case 'x':
            if (!g_ascii_isxdigit(bdf[i])) {
                return NULL;
            }
            break;
        case 'f':
            if (bdf[i] < '0' || bdf[i] > '7') {
                return NULL;
            }
            break;
        default:
            if (bdf[i] != pattern[i]) {
                return NULL;
            }
        }
    }
    dev = g_ascii_xdigit_value(bdf[8]) * 16 + g_ascii_xdigit_value(bdf[9]);
    if (dev > 0x1f) {
        return NULL;
    }
    return g_ascii_strdown(bdf, -1);
}

/*
 * Resolve @path and check it is a directory strictly inside the (resolved)
 * sysfs root. Returns the resolved path (g_free()).
 */
static char *sysfs_resolve_device_dir(const char *path, GError **errp)
{
    const char *root = vfi_kernel_sysfs_root();
    g_autofree char *real_root = realpath(root, NULL);
    g_autofree char *real = NULL;
    size_t root_len;
    struct stat st;
    int err;

    if (!real_root) {
        err = errno;
        g_set_error(errp, VFI_ERROR, VFI_ERROR_HOST,
                    "cannot resolve the sysfs root %s: %s (errno %d)", root,
                    g_strerror(err), err);
        return NULL;
    }
    real = realpath(path, NULL);
    if (!real) {
        err = errno;
        trace_vfi_device_refused(path, "cannot resolve path", err);
        if (err == ENOENT || err == ENOTDIR) {
            g_set_error(errp, VFI_ERROR, VFI_ERROR_NOT_FOUND,
                        "no device directory '%s': %s (errno %d)", path,
                        g_strerror(err), err);
        } else {
            g_set_error(errp, VFI_ERROR, VFI_ERROR_HOST,
                        "cannot resolve '%s': %s (errno %d)", path, g_strerror(err), err);
        }
        return NULL;
    }
    root_len = strlen(real_root);
    /* The root "/" would make every path inside; "/sys" must not match "/sysfoo". */
    if (root_len == 1) {
        root_len = 0;
    }
    if (strncmp(real, real_root, root_len) != 0 || real[root_len] != '/' ||
        real[root_len + 1] == '\0' || stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
        trace_vfi_device_refused(path, "not a directory inside sysfs", 0);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "'%s' is not a device directory inside sysfs (%s)", path, real_root);
        return NULL;
    }
    trace_vfi_device_sysfs_resolved(path, real);
    return g_steal_pointer(&real);
}

/* Whether @entry is "vfioN" with N decimal. */
static bool is_vfio_cdev_name(const char *entry)
{
    const char *p;

    if (!g_str_has_prefix(entry, "vfio") || entry[4] == '\0') {
        return false;
    }
    for (p = entry + 4; *p; p++) {
        if (!g_ascii_isdigit(*p)) {
            return false;
        }
    }
    return true;
}

/*
 * Find the one vfioN entry of <@dir>/vfio-dev. Returns the entry name
 * (g_free()).
 */
static char *sysfs_find_cdev(const char *dir, const char *name, GError **errp)
{
    g_autofree char *vfio_dev = g_build_filename(dir, "vfio-dev", NULL);
    g_autofree char *found = NULL;
    unsigned count = 0;
    struct dirent *de;
    DIR *d;
    int err;

    d = opendir(vfio_dev);
    if (!d) {
        err = errno;
        if (err == ENOENT || err == ENOTDIR) {
            trace_vfi_device_cdev_missing(name, vfio_dev);
            g_set_error(errp, VFI_ERROR, VFI_ERROR_NOT_FOUND,
                        "device %s has no VFIO cdev (not bound to a VFIO driver such as "
                        "vfio-pci?)", name);
        } else {
            g_set_error(errp, VFI_ERROR, VFI_ERROR_HOST,
                        "cannot read %s: %s (errno %d)", vfio_dev, g_strerror(err), err);
        }
        return NULL;
    }
    for (;;) {
        errno = 0;
        de = readdir(d);
        if (!de) {
            break;
        }
        if (!is_vfio_cdev_name(de->d_name)) {
            continue;
        }
        count++;
        if (!found) {
            found = g_strdup(de->d_name);
        }
    }
    err = errno;
    closedir(d);
    if (err) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_HOST,
                    "cannot read %s: %s (errno %d)", vfio_dev, g_strerror(err), err);
        return NULL;
    }
    if (count == 0) {
        trace_vfi_device_cdev_missing(name, vfio_dev);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_NOT_FOUND,
                    "device %s has no VFIO cdev (not bound to a VFIO driver such as "
                    "vfio-pci?)", name);
        return NULL;
    }
    if (count > 1) {
        trace_vfi_device_cdev_ambiguous(name, vfio_dev, count);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_HOST,
                    "device %s has %u VFIO cdevs in %s (expected exactly one vfioN)",
                    name, count, vfio_dev);
        return NULL;
    }
    trace_vfi_device_cdev_found(name, found);
    return g_steal_pointer(&found);
}

/* Whether <@dir>/subsystem resolves to the mdev bus. A missing link means a
 * physical device. */
static bool sysfs_is_mdev(const char *dir, const char *name)
{
    g_autofree char *link = g_build_filename(dir, "subsystem", NULL);
    g_autofree char *real = realpath(link, NULL);
    g_autofree char *subsystem = real ? g_path_get_basename(real) : NULL;
    bool mdev = subsystem && strcmp(subsystem, "mdev") == 0;

    trace_vfi_device_subsystem(name, subsystem ? subsystem : "(none)", mdev);
    return mdev;
}

static VfiDevice *vfi_device_new(int fd, bool owned, const char *name,
                                   const char *sysfs_path, bool mdev)
{
    VfiDevice *dev = g_new0(VfiDevice, 1);

    dev->fd = fd;
    dev->fd_owned = owned;
    dev->name = g_strdup(name);
    dev->sysfs_path = g_strdup(sysfs_path);
    dev->mdev = mdev;
    trace_vfi_device_new(dev->name, fd, owned, mdev);
    return dev;
}

/* ------------------------------------------------------------------------ */
/* opening                                                                  */

VfiDevice *vfi_device_open_sysfs(const char *sysfs_path, GError **errp)
{
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
    real = sysfs_resolve_device_dir(sysfs_path, errp);
    if (!real) {
        return NULL;
    }
    name = g_path_get_basename(real);
    cdev = sysfs_find_cdev(real, name, errp);
    if (!cdev) {
        return NULL;
    }
    mdev = sysfs_is_mdev(real, name);
    node = g_build_filename(VFI_CDEV_DIR, cdev, NULL);
    fd = vfi_kernel_open(node, O_RDWR);
    trace_vfi_device_open(name, node, fd < 0 ? -1 : fd, fd < 0 ? -fd : 0);
    if (fd < 0) {
        vfi_kernel_error(errp, -fd, "open", NULL, "cannot open %s for device %s (%s)",
                          node, name, real);
        return NULL;
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
    addr = pci_address_normalize(bdf);
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
        real = sysfs_resolve_device_dir(sysfs_path, errp);
        if (!real) {
            return NULL;
        }
        name = g_path_get_basename(real);
        mdev = sysfs_is_mdev(real, name);
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

const char *vfi_device_get_sysfs_path(const VfiDevice *dev)
{
    return dev ? dev->sysfs_path : NULL;
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
    return dev ? dev->be : NULL;
}

bool vfi_device_is_bound(const VfiDevice *dev)
{
    return dev && dev->be;
}

uint32_t vfi_device_get_devid(const VfiDevice *dev)
{
    return dev && dev->be ? dev->devid : 0;
}

uint32_t vfi_device_get_attached_pt(const VfiDevice *dev)
{
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
    return true;
}

static bool check_bound(const VfiDevice *dev, const char *what, GError **errp)
{
    if (!check_dev(dev, what, errp)) {
        return false;
    }
    if (!dev->be) {
        trace_vfi_device_refused(dev->name, "not bound", 0);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "%s: device %s is not bound to an iommufd: bind it first",
                    what, dev->name);
        return false;
    }
    return true;
}

bool vfi_device_check_bound(const VfiDevice *dev, const char *what, GError **errp)
{
    return check_bound(dev, what, errp);
}

/* ------------------------------------------------------------------------ */
/* ioctls                                                                   */

bool vfi_device_bind(VfiDevice *dev, VfiIommufd *be, GError **errp)
{
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
                    "bind: no iommufd backend given for device %s", dev->name);
        return false;
    }
    if (dev->be) {
        trace_vfi_device_refused(dev->name, "already bound", 0);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "device %s is already bound (devid %u)", dev->name, dev->devid);
        return false;
    }
    if (!vfi_iommufd_connect(be, errp)) {
        return false;
    }
    bind.iommufd = vfi_iommufd_get_fd(be);
    ret = VFI_KERNEL_IOCTL(dev->fd, VFIO_DEVICE_BIND_IOMMUFD, &bind);
    trace_vfi_device_bind(dev->name, dev->fd, bind.iommufd, ret < 0 ? 0 : bind.out_devid,
                           ret < 0 ? -1 : ret, ret < 0 ? -ret : 0);
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "VFIO_DEVICE_BIND_IOMMUFD", "6.6",
                          "device %s (fd %d) to iommufd %d", dev->name, dev->fd,
                          bind.iommufd);
        vfi_iommufd_disconnect(be);
        return false;
    }
    dev->be = be;
    dev->devid = bind.out_devid;
    return true;
}

bool vfi_device_attach(VfiDevice *dev, uint32_t pt_id, uint32_t *out_pt_id, GError **errp)
{
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
        trace_vfi_device_refused(dev->name, "already attached", 0);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "device %s is already attached to pt %u: detach first",
                    dev->name, dev->attached_pt);
        return false;
    }
    ret = VFI_KERNEL_IOCTL(dev->fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);
    trace_vfi_device_attach(dev->name, dev->devid, pt_id, ret < 0 ? 0 : attach.pt_id,
                             ret < 0 ? -1 : ret, ret < 0 ? -ret : 0);
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "VFIO_DEVICE_ATTACH_IOMMUFD_PT", "6.6",
                          "device %s (devid %u) to pt %u%s", dev->name, dev->devid, pt_id,
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
    struct vfio_device_detach_iommufd_pt detach = {
        .argsz = sizeof(detach),
        .flags = 0,
    };
    int ret;

    if (!check_dev(dev, "detach", errp)) {
        return false;
    }
    if (!dev->be || !dev->attached_pt) {
        trace_vfi_device_refused(dev->name, "not attached", 0);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "device %s is not attached", dev->name);
        return false;
    }
    ret = VFI_KERNEL_IOCTL(dev->fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach);
    trace_vfi_device_detach(dev->name, dev->devid, dev->attached_pt, ret < 0 ? -1 : ret,
                             ret < 0 ? -ret : 0);
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "VFIO_DEVICE_DETACH_IOMMUFD_PT", "6.6",
                          "device %s (devid %u) from pt %u", dev->name, dev->devid,
                          dev->attached_pt);
        return false;
    }
    dev->attached_pt = 0;
    return true;
}

bool vfi_device_get_info(VfiDevice *dev, VfiDeviceInfo *info, GError **errp)
{
    struct vfio_device_info vinfo = {
        .argsz = sizeof(vinfo),
    };
    int ret;

    if (!check_bound(dev, "get_info", errp)) {
        return false;
    }
    if (!info) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "get_info: no output given for device %s", dev->name);
        return false;
    }
    ret = VFI_KERNEL_IOCTL(dev->fd, VFIO_DEVICE_GET_INFO, &vinfo);
    trace_vfi_device_get_info(dev->name, dev->fd, vinfo.flags, vinfo.num_regions,
                               vinfo.num_irqs, ret < 0 ? -1 : ret, ret < 0 ? -ret : 0);
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "VFIO_DEVICE_GET_INFO", NULL, "device %s (devid %u)",
                          dev->name, dev->devid);
        return false;
    }
    info->flags = vinfo.flags;
    info->num_regions = vinfo.num_regions;
    info->num_irqs = vinfo.num_irqs;
    return true;
}

bool vfi_device_get_hw_info(VfiDevice *dev, VfiHwInfo *info, GError **errp)
{
    bool ok;

    if (!check_bound(dev, "get_hw_info", errp)) {
        return false;
    }
    ok = vfi_iommufd_get_hw_info(dev->be, dev->devid, info, errp);
    trace_vfi_device_get_hw_info(dev->name, dev->devid, ok);
    return ok;
}

/* ------------------------------------------------------------------------ */
/* freeing                                                                  */

void vfi_device_free(VfiDevice *dev)
{
    g_autoptr(GError) err = NULL;
    int ret;

    if (!dev) {
        return;
    }
    trace_vfi_device_free(dev->name, dev->fd, dev->fd_owned, dev->devid, dev->attached_pt);
    if (dev->container_priv) {
        vfi_container_device_release(dev);
    }
    if (dev->attached_pt && !vfi_device_detach(dev, &err)) {
        /* Closing the fd below detaches and unbinds anyway (an owned fd). */
        trace_vfi_device_free_detach_failed(dev->name, err->message);
    }
    if (dev->fd_owned) {
        ret = vfi_kernel_close(dev->fd);
        trace_vfi_device_close(dev->name, dev->fd, ret < 0 ? -1 : ret, ret < 0 ? -ret : 0);
    }
    /*
     * A borrowed fd stays open, so the kernel keeps it bound to the iommufd:
     * there is no unbind ioctl. We still drop our user of the backend; the
     * VMM owns the rest of that fd's life.
     */
    if (dev->be) {
        vfi_iommufd_disconnect(dev->be);
    }
    g_free(dev->name);
    g_free(dev->sysfs_path);
    g_free(dev);
}

/* ------------------------------------------------------------------------ */
/* the container layer's link (device-internal.h)                           */

void vfi_device_set_container_priv(VfiDevice *dev, void *priv)
{
    dev->container_priv = priv;
}

void *vfi_device_get_container_priv(const VfiDevice *dev)
{
    return dev->container_priv;
}
