/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: finding a VFIO device's cdev in sysfs.
 *
 * A device's sysfs directory (given, or <sysfs>/bus/pci/devices/<BDF>) is
 * resolved and must lie inside sysfs; <dir>/vfio-dev/ holds exactly one
 * vfioN entry, whose node is /dev/vfio/devices/vfioN. An mdev is a device
 * whose <dir>/subsystem link resolves to the mdev bus. A physical device's
 * IOMMU instance is what its <dir>/iommu link resolves to (Linux:
 * /sys/bus/pci/devices/<BDF>/iommu -> ../../devices/.../iommu/<name>). No
 * ioctl here: every decision is a trace event.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/kernel.h"
#include "device-internal.h"
#include "trace.h"


/*
 * Check "DDDD:BB:DD.F": 4 hex digits of domain, 2 of bus, 2 of device (at
 * most 0x1f), one decimal digit of function (0-7). On success return the
 * address in lower case (as sysfs spells it).
 */
char *vfi_sysfs_pci_address_normalize(const char *bdf)
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
char *vfi_sysfs_resolve_device_dir(const char *path, GError **errp)
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

/* Count the vfioN entries of @d; *@found is the first (g_free()).
 * Returns: 0, or the errno of readdir(). */
static int scan_cdevs(DIR *d, unsigned *count, char **found)
{
    struct dirent *de;

    for (;;) {
        errno = 0;
        de = readdir(d);
        if (!de) {
            return errno;
        }
        if (!is_vfio_cdev_name(de->d_name)) {
            continue;
        }
        (*count)++;
        if (!*found) {
            *found = g_strdup(de->d_name);
        }
    }
}

/*
 * Find the one vfioN entry of <@dir>/vfio-dev. Returns the entry name
 * (g_free()).
 */
char *vfi_sysfs_find_cdev(const char *dir, const char *name, GError **errp)
{
    g_autofree char *vfio_dev = g_build_filename(dir, "vfio-dev", NULL);
    g_autofree char *found = NULL;
    unsigned count = 0;
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
    err = scan_cdevs(d, &count, &found);
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
bool vfi_sysfs_is_mdev(const char *dir, const char *name)
{
    g_autofree char *link = g_build_filename(dir, "subsystem", NULL);
    g_autofree char *real = realpath(link, NULL);
    g_autofree char *subsystem = real ? g_path_get_basename(real) : NULL;
    bool mdev = subsystem && strcmp(subsystem, "mdev") == 0;

    trace_vfi_device_subsystem(name, subsystem ? subsystem : "(none)", mdev);
    return mdev;
}

/* The resolved target of <@dir>/iommu: the device's IOMMU instance, unique
 * on the host (g_free()), or NULL when the link is missing or dangling. */
char *vfi_sysfs_iommu_instance(const char *dir, const char *name)
{
    g_autofree char *link = g_build_filename(dir, "iommu", NULL);
    char *real = realpath(link, NULL);

    trace_vfi_device_iommu_instance(name, real ? real : "(unknown)");
    return real;
}
