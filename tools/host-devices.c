/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd tool: PCI devices and mdevs from sysfs (host-devices.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vfio-iommufd/error.h"
#include "host-devices.h"

/* The first line of <dir>/<attr>, or NULL. */
static char *read_attr(const char *dir, const char *attr)
{
    g_autofree char *path = g_build_filename(dir, attr, NULL);
    g_autofree char *text = NULL;

    if (!g_file_get_contents(path, &text, NULL, NULL)) {
        return NULL;
    }
    text[strcspn(text, "\n")] = '\0';
    return g_steal_pointer(&text);
}

/* The last component of the target of symlink <dir>/<link>, or NULL. */
static char *link_name(const char *dir, const char *link)
{
    g_autofree char *path = g_build_filename(dir, link, NULL);
    g_autofree char *target = g_file_read_link(path, NULL);

    return target ? g_path_get_basename(target) : NULL;
}

/* The vfioN entry of <dir>/vfio-dev (the first one), or NULL. */
static char *read_cdev(const char *dir, bool *has_attr)
{
    g_autofree char *vdir = g_build_filename(dir, "vfio-dev", NULL);
    g_autoptr(GDir) d = g_dir_open(vdir, 0, NULL);
    const char *entry;

    *has_attr = false;
    while (d && (entry = g_dir_read_name(d))) {
        if (g_str_has_prefix(entry, "vfio")) {
            g_autofree char *attr = g_build_filename(vdir, entry, "dev", NULL);

            *has_attr = g_file_test(attr, G_FILE_TEST_EXISTS);
            return g_strdup(entry);
        }
    }
    return NULL;
}

static void read_mdev(HostDevice *d)
{
    g_autofree char *real = realpath(d->sysfs_path, NULL);
    g_autofree char *parent_dir = real ? g_path_get_dirname(real) : NULL;

    d->parent = parent_dir ? g_path_get_basename(parent_dir) : NULL;
    d->mdev_type = link_name(d->sysfs_path, "mdev_type");
}

HostDevice *host_device_read_path(const char *path)
{
    g_autofree char *subsystem = link_name(path, "subsystem");
    g_autofree char *group = NULL;
    HostDevice *d;

    if (!g_file_test(path, G_FILE_TEST_IS_DIR)) {
        return NULL;
    }
    d = g_new0(HostDevice, 1);
    d->name = g_path_get_basename(path);
    d->sysfs_path = g_strdup(path);
    d->mdev = g_strcmp0(subsystem, "mdev") == 0;
    d->driver = link_name(path, "driver");
    group = link_name(path, "iommu_group");
    d->iommu_group = group ? atoi(group) : -1;
    d->iommu = link_name(path, "iommu");
    d->cdev = read_cdev(path, &d->cdev_attr);
    if (d->mdev) {
        read_mdev(d);
    } else {
        d->vendor = read_attr(path, "vendor");
        d->device = read_attr(path, "device");
        d->class_code = read_attr(path, "class");
        d->driver_override = read_attr(path, "driver_override");
        if (g_strcmp0(d->driver_override, "(null)") == 0) {
            g_clear_pointer(&d->driver_override, g_free);
        }
    }
    return d;
}

HostDevice *host_device_read(const char *sysfs, const char *name, bool mdev)
{
    g_autofree char *path = g_build_filename(sysfs, "bus", mdev ? "mdev" : "pci",
                                             "devices", name, NULL);

    return host_device_read_path(path);
}

void host_device_free(HostDevice *d)
{
    if (!d) {
        return;
    }
    g_free(d->name);
    g_free(d->sysfs_path);
    g_free(d->vendor);
    g_free(d->device);
    g_free(d->class_code);
    g_free(d->driver);
    g_free(d->driver_override);
    g_free(d->iommu);
    g_free(d->cdev);
    g_free(d->parent);
    g_free(d->mdev_type);
    g_free(d);
}

static gint cmp_names(gconstpointer a, gconstpointer b)
{
    return g_strcmp0(*(char *const *)a, *(char *const *)b);
}

/* The entries of @dir, sorted; NULL (@errp) when it cannot be read. */
static GPtrArray *sorted_entries(const char *dir, GError **errp)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, errp);
    GPtrArray *names;
    const char *entry;

    if (!d) {
        return NULL;
    }
    names = g_ptr_array_new_with_free_func(g_free);
    while ((entry = g_dir_read_name(d))) {
        g_ptr_array_add(names, g_strdup(entry));
    }
    g_ptr_array_sort(names, cmp_names);
    return names;
}

static void scan_bus(GPtrArray *out, const char *sysfs, bool mdev, GPtrArray *names)
{
    for (guint i = 0; i < names->len; i++) {
        HostDevice *d = host_device_read(sysfs, g_ptr_array_index(names, i), mdev);

        if (d) {
            g_ptr_array_add(out, d);
        }
    }
}

GPtrArray *host_devices_scan(const char *sysfs, GError **errp)
{
    g_autofree char *pci_dir = g_build_filename(sysfs, "bus", "pci", "devices", NULL);
    g_autofree char *mdev_dir = g_build_filename(sysfs, "bus", "mdev", "devices", NULL);
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) pci = sorted_entries(pci_dir, &err);
    g_autoptr(GPtrArray) mdevs = sorted_entries(mdev_dir, NULL);
    GPtrArray *out;

    if (!pci) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_HOST, "cannot list the PCI devices: %s",
                    err->message);
        return NULL;
    }
    out = g_ptr_array_new_with_free_func((GDestroyNotify)host_device_free);
    scan_bus(out, sysfs, false, pci);
    if (mdevs) {
        scan_bus(out, sysfs, true, mdevs);
    }
    return out;
}

char *host_device_cdev_node(const HostDevice *d)
{
    return d->cdev && d->cdev_attr ? g_build_filename("/dev/vfio/devices", d->cdev, NULL)
                                   : NULL;
}

GPtrArray *host_iommu_group_devices(const char *sysfs, int group)
{
    g_autofree char *num = g_strdup_printf("%d", group);
    g_autofree char *dir = g_build_filename(sysfs, "kernel", "iommu_groups", num,
                                            "devices", NULL);
    GPtrArray *names = group >= 0 ? sorted_entries(dir, NULL) : NULL;

    return names ? names : g_ptr_array_new_with_free_func(g_free);
}

/* "0x1234" -> "1234" */
static const char *hex_digits(const char *s)
{
    return g_str_has_prefix(s, "0x") ? s + 2 : s;
}

char *host_device_id(const HostDevice *d)
{
    if (d->mdev) {
        return g_strdup("mdev");
    }
    if (!d->vendor || !d->device) {
        return g_strdup("-");
    }
    return g_strdup_printf("%s:%s", hex_digits(d->vendor), hex_digits(d->device));
}

void host_device_json(const HostDevice *d, Json *j)
{
    g_autofree char *node = host_device_cdev_node(d);

    json_string(j, "address", d->name);
    json_string(j, "kind", d->mdev ? "mdev" : "pci");
    json_string(j, "vendor", d->vendor);
    json_string(j, "device", d->device);
    json_string(j, "class", d->class_code);
    json_string(j, "driver", d->driver);
    if (d->iommu_group >= 0) {
        json_int(j, "iommu_group", d->iommu_group);
    } else {
        json_null(j, "iommu_group");
    }
    json_string(j, "iommu", d->iommu);
    json_string(j, "vfio_cdev", node);
    json_string(j, "parent", d->parent);
    json_string(j, "mdev_type", d->mdev_type);
}
