/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd kernel model: the simulated sysfs tree.
 *
 * Laid out as Linux does, with relative symlinks:
 *   <root>/devices/pci0000:00/<BDF>/vfio-dev/vfioN/dev
 *   <root>/devices/pci0000:00/<BDF>/{vendor,device}   ("0x1234\n")
 *   <root>/devices/pci0000:00/<BDF>/subsystem -> ../../../bus/pci
 *   <root>/devices/pci0000:00/<BDF>/driver -> ../../../bus/pci/drivers/vfio-pci
 *   <root>/devices/pci0000:00/<BDF>/iommu_group -> ../../../kernel/iommu_groups/<G>
 *   <root>/devices/pci0000:00/<BDF>/iommu -> ../../virtual/iommu/<IOMMU>
 *   <root>/bus/pci/devices/<BDF> -> ../../../devices/pci0000:00/<BDF>
 *   <root>/bus/pci/drivers/vfio-pci/<BDF> -> ../../../../devices/pci0000:00/<BDF>
 *   <root>/kernel/iommu_groups/<G>/devices/<BDF> -> ../../../../devices/pci0000:00/<BDF>
 *   <root>/devices/virtual/iommu/<IOMMU>/           (one per IOMMU instance)
 *   <root>/class/iommu/<IOMMU> -> ../../devices/virtual/iommu/<IOMMU>
 *   <root>/devices/virtual/mdev_parent/<UUID>/vfio-dev/vfioN/dev
 *   <root>/devices/virtual/mdev_parent/<UUID>/subsystem -> ../../../../bus/mdev
 *   <root>/devices/virtual/mdev_parent/<UUID>/iommu_group -> ../../../../kernel/iommu_groups/<G>
 *   <root>/kernel/iommu_groups/<G>/devices/<UUID> -> ../../../../devices/virtual/mdev_parent/<UUID>
 *   <root>/bus/mdev/devices/<UUID> -> ../../../devices/virtual/mdev_parent/<UUID>
 * The cdev node itself is not a file: /dev/vfio/devices/vfioN is a path the
 * model's open() recognises.
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "vfio-iommufd/error.h"
#include "sim-internal.h"
#include "trace.h"

/* Major number of the vfio cdevs in the "dev" attribute (any will do). */
#define SIM_VFIO_CDEV_MAJOR 511

static bool host_error(GError **errp, const char *what, const char *path)
{
    int err = errno;

    g_set_error(errp, VFI_ERROR, VFI_ERROR_HOST,
                "simulated sysfs: cannot %s %s: %s (errno %d)", what, path,
                g_strerror(err), err);
    return false;
}

static bool make_dir(const char *path, GError **errp)
{
    if (g_mkdir_with_parents(path, 0755) < 0) {
        return host_error(errp, "create directory", path);
    }
    return true;
}

static bool make_link(const char *target, const char *path, GError **errp)
{
    if (symlink(target, path) < 0) {
        return host_error(errp, "create symlink", path);
    }
    return true;
}

static bool write_attr(const char *path, const char *text, GError **errp)
{
    g_autoptr(GError) local = NULL;

    if (!g_file_set_contents(path, text, -1, &local)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_HOST,
                    "simulated sysfs: %s", local->message);
        return false;
    }
    return true;
}

bool sim_sysfs_init(const char *root, GError **errp)
{
    static const char *const dirs[] = {
        "bus/pci/devices", "bus/pci/drivers/vfio-pci", "bus/mdev/devices",
        "devices/pci0000:00", "devices/virtual/mdev_parent", "devices/virtual/iommu",
        "class/iommu", "kernel/iommu_groups",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++) {
        g_autofree char *path = g_build_filename(root, dirs[i], NULL);

        if (!make_dir(path, errp)) {
            return false;
        }
    }
    return true;
}

bool sim_sysfs_add_iommu(const char *root, const char *name, GError **errp)
{
    g_autofree char *dir = g_build_filename(root, "devices", "virtual", "iommu", name, NULL);
    g_autofree char *link = g_build_filename(root, "class", "iommu", name, NULL);
    g_autofree char *target = g_build_filename("..", "..", "devices", "virtual", "iommu",
                                               name, NULL);

    return make_dir(dir, errp) && make_link(target, link, errp);
}

/* A PCI device as bound to vfio-pci, alone in its IOMMU group, behind its
 * IOMMU instance. */
static bool add_pci_links(const char *root, const char *dir, const SimDevice *dev,
                          GError **errp)
{
    g_autofree char *group = g_strdup_printf("%u", dev->iommu_group);
    g_autofree char *dev_target = g_build_filename("..", "..", "..", "..", "devices",
                                                   "pci0000:00", dev->bdf, NULL);
    g_autofree char *drv = g_build_filename(root, "bus", "pci", "drivers", "vfio-pci",
                                            dev->bdf, NULL);
    g_autofree char *grp_dir = g_build_filename(root, "kernel", "iommu_groups", group,
                                                "devices", NULL);
    g_autofree char *grp = g_build_filename(grp_dir, dev->bdf, NULL);
    g_autofree char *drv_link = g_build_filename(dir, "driver", NULL);
    g_autofree char *grp_link = g_build_filename(dir, "iommu_group", NULL);
    g_autofree char *grp_target = g_build_filename("..", "..", "..", "kernel", "iommu_groups",
                                                   group, NULL);
    g_autofree char *iommu_link = g_build_filename(dir, "iommu", NULL);
    g_autofree char *iommu_target = g_build_filename("..", "..", "virtual", "iommu",
                                                     dev->iommu->name, NULL);

    return make_link(dev_target, drv, errp) &&
           make_link("../../../bus/pci/drivers/vfio-pci", drv_link, errp) &&
           make_dir(grp_dir, errp) && make_link(dev_target, grp, errp) &&
           make_link(grp_target, grp_link, errp) &&
           make_link(iommu_target, iommu_link, errp);
}

/* The iommu_group link of the device at @dir (@up: "../" to the root from
 * it) and its entry in kernel/iommu_groups/<G>/devices. */
static bool add_group_links(const char *root, const char *dir, const char *up,
                            const char *name, const char *dev_rel, unsigned group,
                            GError **errp)
{
    g_autofree char *num = g_strdup_printf("%u", group);
    g_autofree char *grp_dir = g_build_filename(root, "kernel", "iommu_groups", num,
                                                "devices", NULL);
    g_autofree char *entry = g_build_filename(grp_dir, name, NULL);
    g_autofree char *entry_target = g_build_filename("..", "..", "..", "..", dev_rel, NULL);
    g_autofree char *link = g_build_filename(dir, "iommu_group", NULL);
    g_autofree char *link_target = g_strconcat(up, "kernel/iommu_groups/", num, NULL);

    return make_dir(grp_dir, errp) && make_link(entry_target, entry, errp) &&
           make_link(link_target, link, errp);
}

bool sim_sysfs_move_group(const char *root, const SimDevice *dev, unsigned old,
                          GError **errp)
{
    g_autofree char *num = g_strdup_printf("%u", old);
    g_autofree char *old_dir = g_build_filename(root, "kernel", "iommu_groups", num, NULL);
    g_autofree char *old_devs = g_build_filename(old_dir, "devices", NULL);
    g_autofree char *old_entry = g_build_filename(old_devs, dev->bdf, NULL);
    g_autofree char *link = g_build_filename(dev->sysfs_path, "iommu_group", NULL);
    g_autofree char *rel = g_build_filename("devices", "pci0000:00", dev->bdf, NULL);

    if (unlink(old_entry) < 0 || unlink(link) < 0) {
        return host_error(errp, "remove the group links of", dev->sysfs_path);
    }
    /* the kernel frees a group with its last device */
    if (rmdir(old_devs) == 0) {
        rmdir(old_dir);
    }
    return add_group_links(root, dev->sysfs_path, "../../../", dev->bdf, rel,
                           dev->iommu_group, errp);
}

bool sim_sysfs_add_device(const char *root, SimDevice *dev, GError **errp)
{
    bool pci = dev->iommu != NULL;
    const char *name = pci ? dev->bdf : dev->uuid;
    g_autofree char *dir = pci ?
        g_build_filename(root, "devices", "pci0000:00", name, NULL) :
        g_build_filename(root, "devices", "virtual", "mdev_parent", name, NULL);
    g_autofree char *cdev = g_strdup_printf("vfio%u", dev->cdev_index);
    g_autofree char *cdev_dir = g_build_filename(dir, "vfio-dev", cdev, NULL);
    g_autofree char *dev_attr = g_build_filename(cdev_dir, "dev", NULL);
    g_autofree char *dev_text = g_strdup_printf("%d:%u\n", SIM_VFIO_CDEV_MAJOR,
                                                dev->cdev_index);
    g_autofree char *subsystem = g_build_filename(dir, "subsystem", NULL);
    g_autofree char *bus_link = g_build_filename(root, "bus", pci ? "pci" : "mdev",
                                                 "devices", name, NULL);
    g_autofree char *bus_target = pci ?
        g_build_filename("..", "..", "..", "devices", "pci0000:00", name, NULL) :
        g_build_filename("..", "..", "..", "devices", "virtual", "mdev_parent", name, NULL);

    if (!make_dir(cdev_dir, errp) || !write_attr(dev_attr, dev_text, errp)) {
        return false;
    }
    if (pci) {
        g_autofree char *vendor = g_build_filename(dir, "vendor", NULL);
        g_autofree char *device = g_build_filename(dir, "device", NULL);
        g_autofree char *vendor_text = g_strdup_printf("0x%04x\n", dev->pci_vendor);
        g_autofree char *device_text = g_strdup_printf("0x%04x\n", dev->pci_device);

        if (!write_attr(vendor, vendor_text, errp) || !write_attr(device, device_text, errp) ||
            !add_pci_links(root, dir, dev, errp)) {
            return false;
        }
    }
    if (!make_link(pci ? "../../../bus/pci" : "../../../../bus/mdev", subsystem, errp) ||
        !make_link(bus_target, bus_link, errp)) {
        return false;
    }
    if (!pci) {
        g_autofree char *rel = g_build_filename("devices", "virtual", "mdev_parent", name, NULL);

        if (!add_group_links(root, dir, "../../../../", name, rel, dev->iommu_group, errp)) {
            return false;
        }
    }
    dev->sysfs_path = g_steal_pointer(&dir);
    trace_vfi_sim_sysfs_device(dev->name, dev->sysfs_path);
    return true;
}

void sim_sysfs_remove_tree(const char *root)
{
    GDir *dir;
    const char *entry;
    struct stat st;

    if (lstat(root, &st) < 0) {
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        unlink(root);
        return;
    }
    dir = g_dir_open(root, 0, NULL);
    if (dir) {
        while ((entry = g_dir_read_name(dir))) {
            g_autofree char *path = g_build_filename(root, entry, NULL);

            sim_sysfs_remove_tree(path);
        }
        g_dir_close(dir);
    }
    rmdir(root);
}

bool sim_sysfs_remove_cdev(SimDevice *dev, GError **errp)
{
    g_autofree char *vfio_dev = g_build_filename(dev->sysfs_path, "vfio-dev", NULL);

    sim_sysfs_remove_tree(vfio_dev);
    if (g_file_test(vfio_dev, G_FILE_TEST_EXISTS)) {
        return host_error(errp, "remove", vfio_dev);
    }
    dev->no_cdev = true;
    trace_vfi_sim_sysfs_device(dev->name, "(no VFIO cdev)");
    return true;
}
