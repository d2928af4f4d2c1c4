/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd kernel model: loading a topology from a key file.
 *
 *   [iommu vtd0]
 *   dirty-tracking=true
 *   nesting=true           (HWPT_ALLOC takes NEST_PARENT; default false)
 *   dirty-nest-parent=EOPNOTSUPP  (NEST_PARENT | DIRTY_TRACKING refused
 *                           with EOPNOTSUPP or EINVAL; default: taken)
 *   vtd-errata-772415=true (VT-d erratum: no read-only mappings in a nest
 *                           parent; default false)
 *
 *   [device nic0]
 *   iommu=vtd0
 *   dma-logging=false
 *   pci-id=1234:11e8       (sysfs vendor:device, hex; default 1b36:0005)
 *   reset-group=bus1       (devices naming one group share one bus reset,
 *                           VFIO_DEVICE_PCI_HOT_RESET; without it a device
 *                           has no slot or bus reset, as an integrated
 *                           endpoint on a root bus: ENODEV)
 *   p2p-provider=false     (its BAR0 has no P2P provider: a dma-buf export
 *                           of it gives EINVAL; default true)
 *
 *   iommu-group=7          (its IOMMU group, /dev/vfio/7: devices naming one
 *                           number share it; default: alone in group <slot>)
 *   vfio-cdev=false        (no VFIO cdev, as on a kernel without
 *                           CONFIG_VFIO_DEVICE_CDEV: no vfio-dev/ in sysfs,
 *                           /dev/vfio/devices/vfioN ENOENT; reached through
 *                           its group only; default true)
 *   vfio-cdev-node=false   (its cdev in sysfs, vfio-dev/vfioN, but no node:
 *                           /dev/vfio/devices/vfioN ENOENT, as in a
 *                           container given only /dev/vfio/vfio and the
 *                           group nodes; default true)
 *
 *   [device mtty0]
 *   mdev=true
 *
 * Keys the kernel has no notion of (want-dirty-tracking, which is the VMM's)
 * are ignored. The whole file is checked before anything is added.
 */
#include <errno.h>
#include <string.h>

#include "vfio-iommufd/error.h"
#include "sim-internal.h"
#include "trace.h"

typedef struct TopoIommu {
    char *name;
    VfiSimIommuConfig cfg;
} TopoIommu;

typedef struct TopoDevice {
    char *name;
    char *iommu;                /* NULL for an mdev */
    bool dma_logging;
    uint16_t pci_vendor;
    uint16_t pci_device;
    char *reset_group;          /* NULL: no slot or bus reset */
    bool p2p_provider;          /* BAR0 has a P2P provider (dma-buf export) */
    int iommu_group;            /* -1: its own */
    bool cdev;                  /* has a VFIO cdev (vfio-cdev=, default true) */
    bool cdev_node;             /* its cdev has a /dev node (vfio-cdev-node=) */
} TopoDevice;

static void topo_iommu_clear(gpointer p)
{
    g_free(((TopoIommu *)p)->name);
}

static void topo_device_clear(gpointer p)
{
    g_free(((TopoDevice *)p)->name);
    g_free(((TopoDevice *)p)->iommu);
    g_free(((TopoDevice *)p)->reset_group);
}

static bool invalid(GError **errp, const char *fmt, const char *a, const char *b)
{
    g_autofree char *msg = g_strdup_printf(fmt, a, b);

    g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                "topology: %s", msg);
    return false;
}

/* Read boolean @key of @group into @out (left alone when absent). */
static bool get_bool(GKeyFile *kf, const char *group, const char *key, bool *out,
                     GError **errp)
{
    g_autoptr(GError) local = NULL;
    gboolean v;

    if (!g_key_file_has_key(kf, group, key, NULL)) {
        return true;
    }
    v = g_key_file_get_boolean(kf, group, key, &local);
    if (local) {
        return invalid(errp, "[%s] %s is not a boolean", group, key);
    }
    *out = v;
    return true;
}

/* "VVVV:DDDD" (four hex digits each) into @vendor and @device. */
static bool parse_pci_id(const char *text, uint16_t *vendor, uint16_t *device)
{
    if (!text || strlen(text) != 9 || text[4] != ':') {
        return false;
    }
    for (int i = 0; i < 9; i++) {
        if (i != 4 && !g_ascii_isxdigit(text[i])) {
            return false;
        }
    }
    *vendor = g_ascii_strtoull(text, NULL, 16);
    *device = g_ascii_strtoull(text + 5, NULL, 16);
    return true;
}

static bool name_taken(GArray *iommus, GArray *devices, const char *name, bool iommu)
{
    GArray *arr = iommu ? iommus : devices;

    for (guint i = 0; i < arr->len; i++) {
        const char *other = iommu ? g_array_index(arr, TopoIommu, i).name :
                                    g_array_index(arr, TopoDevice, i).name;

        if (g_str_equal(other, name)) {
            return true;
        }
    }
    return false;
}

/* dirty-nest-parent = allowed | EOPNOTSUPP | EINVAL into @out (an errno,
 * 0: allowed; left alone when absent). */
static bool get_nest_errno(GKeyFile *kf, const char *group, int *out, GError **errp)
{
    g_autofree char *v = g_key_file_get_string(kf, group, "dirty-nest-parent", NULL);

    if (!v) {
        return true;
    }
    if (g_str_equal(v, "allowed")) {
        *out = 0;
    } else if (g_str_equal(v, "EOPNOTSUPP")) {
        *out = EOPNOTSUPP;
    } else if (g_str_equal(v, "EINVAL")) {
        *out = EINVAL;
    } else {
        return invalid(errp, "[%s] dirty-nest-parent=%s is not allowed, EOPNOTSUPP or EINVAL",
                       group, v);
    }
    return true;
}

/* One [iommu NAME] section. */
static bool parse_iommu(VfiSim *sim, GKeyFile *kf, const char *g, const char *name,
                        GArray *iommus, GArray *devices, GError **errp)
{
    TopoIommu t = { 0 };

    if (sim_find_iommu(sim, name) || name_taken(iommus, devices, name, true)) {
        return invalid(errp, "[%s]: IOMMU %s defined twice", g, name);
    }
    if (!get_bool(kf, g, "dirty-tracking", &t.cfg.dirty_tracking, errp) ||
        !get_bool(kf, g, "nesting", &t.cfg.nesting, errp) ||
        !get_bool(kf, g, "vtd-errata-772415", &t.cfg.vtd_errata_772415, errp) ||
        !get_nest_errno(kf, g, &t.cfg.dirty_nest_parent_errno, errp)) {
        return false;
    }
    t.name = g_strdup(name);
    g_array_append_val(iommus, t);
    return true;
}

/* The iommu-group key of a PCI device's section (-1 when absent). */
static bool get_group(GKeyFile *kf, const char *g, bool mdev, int *out, GError **errp)
{
    g_autofree char *text = g_key_file_get_string(kf, g, "iommu-group", NULL);
    char *end = NULL;
    unsigned long n;

    if (!text) {
        return true;
    }
    n = strtoul(text, &end, 10);
    if (mdev || !g_ascii_isdigit(*text) || *end || n >= SIM_MDEV_GROUP_BASE) {
        return invalid(errp, "[%s]: iommu-group %s: a number below 1000, for a PCI device",
                       g, text);
    }
    *out = (int)n;
    return true;
}

/* One [device NAME] section. */
static bool parse_device(VfiSim *sim, GKeyFile *kf, const char *g, const char *name,
                         GArray *iommus, GArray *devices, GError **errp)
{
    TopoDevice t = { .pci_vendor = VFI_SIM_PCI_VENDOR_DEFAULT,
                     .pci_device = VFI_SIM_PCI_DEVICE_DEFAULT, .p2p_provider = true,
                     .iommu_group = -1, .cdev = true,
                     .cdev_node = true };
    bool mdev = false;
    g_autofree char *pci_id = NULL;

    if (sim_find_device(sim, name) || name_taken(iommus, devices, name, false)) {
        return invalid(errp, "[%s]: device %s defined twice", g, name);
    }
    if (!get_bool(kf, g, "mdev", &mdev, errp) ||
        !get_bool(kf, g, "dma-logging", &t.dma_logging, errp) ||
        !get_bool(kf, g, "p2p-provider", &t.p2p_provider, errp) ||
        !get_bool(kf, g, "vfio-cdev", &t.cdev, errp) ||
        !get_bool(kf, g, "vfio-cdev-node", &t.cdev_node, errp)) {
        return false;
    }
    pci_id = g_key_file_get_string(kf, g, "pci-id", NULL);
    if (pci_id && mdev) {
        return invalid(errp, "[%s]: an mdev has no PCI id (%s)", g, pci_id);
    }
    if (pci_id && !parse_pci_id(pci_id, &t.pci_vendor, &t.pci_device)) {
        return invalid(errp, "[%s]: pci-id %s is not VENDOR:DEVICE (hex)", g, pci_id);
    }
    t.name = g_strdup(name);
    t.iommu = g_key_file_get_string(kf, g, "iommu", NULL);
    t.reset_group = g_key_file_get_string(kf, g, "reset-group", NULL);
    if (!get_group(kf, g, mdev, &t.iommu_group, errp)) {
        g_free(t.name);
        g_free(t.iommu);
        g_free(t.reset_group);
        return false;
    }
    g_array_append_val(devices, t);     /* owns the strings from here */
    if (mdev && t.reset_group) {
        return invalid(errp, "[%s]: an mdev has no PCI reset (reset-group %s)", g,
                       t.reset_group);
    }
    if (mdev && t.iommu) {
        return invalid(errp, "[%s]: an mdev sits behind no IOMMU (%s)", g, t.iommu);
    }
    if (!mdev && !t.iommu) {
        return invalid(errp, "[%s]: names no IOMMU and is no mdev%s", g, "");
    }
    if (t.iommu && !sim_find_iommu(sim, t.iommu) &&
        !name_taken(iommus, devices, t.iommu, true)) {
        return invalid(errp, "[%s]: unknown IOMMU %s", g, t.iommu);
    }
    return true;
}

static bool topo_parse(VfiSim *sim, GKeyFile *kf, GArray *iommus, GArray *devices,
                       GError **errp)
{
    g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);

    /* IOMMU instances first, so devices may name one defined later */
    for (int pass = 0; pass < 2; pass++) {
        for (char **g = groups; *g; g++) {
            const char *space = strchr(*g, ' ');
            g_autofree char *kind = g_strndup(*g, space ? (gsize)(space - *g) : strlen(*g));
            const char *name = space ? space + 1 : "";
            bool ok = true;

            if (!g_str_equal(kind, "iommu") && !g_str_equal(kind, "device")) {
                return invalid(errp, "[%s]: unknown section kind %s", *g, kind);
            }
            if (!*name) {
                return invalid(errp, "[%s]: section without a name%s", *g, "");
            }
            if (g_str_equal(kind, "iommu") && pass == 0) {
                ok = parse_iommu(sim, kf, *g, name, iommus, devices, errp);
            } else if (g_str_equal(kind, "device") && pass == 1) {
                ok = parse_device(sim, kf, *g, name, iommus, devices, errp);
            }
            if (!ok) {
                return false;
            }
        }
    }
    return true;
}

static bool topo_load(VfiSim *sim, GKeyFile *kf, GError **errp)
{
    g_autoptr(GArray) iommus = g_array_new(FALSE, TRUE, sizeof(TopoIommu));
    g_autoptr(GArray) devices = g_array_new(FALSE, TRUE, sizeof(TopoDevice));

    g_array_set_clear_func(iommus, topo_iommu_clear);
    g_array_set_clear_func(devices, topo_device_clear);
    if (!topo_parse(sim, kf, iommus, devices, errp)) {
        return false;
    }
    for (guint i = 0; i < iommus->len; i++) {
        TopoIommu *t = &g_array_index(iommus, TopoIommu, i);

        if (!vfi_sim_add_iommu(sim, t->name, &t->cfg, errp)) {
            return false;
        }
    }
    for (guint i = 0; i < devices->len; i++) {
        TopoDevice *t = &g_array_index(devices, TopoDevice, i);

        if (!sim_add_device(sim, t->name, t->iommu, t->dma_logging, t->pci_vendor,
                            t->pci_device, errp)) {
            return false;
        }
        sim_find_device(sim, t->name)->reset_group = g_strdup(t->reset_group);
        sim_find_device(sim, t->name)->no_p2p_provider = !t->p2p_provider;
        if (t->iommu_group >= 0 &&
            !vfi_sim_set_device_iommu_group(sim, t->name, (unsigned)t->iommu_group, errp)) {
            return false;
        }
        if (!t->cdev && !sim_sysfs_remove_cdev(sim_find_device(sim, t->name), errp)) {
            return false;
        }
        if (!t->cdev_node) {
            /* vfio-dev/ stays in sysfs; opening the node gives ENOENT */
            sim_find_device(sim, t->name)->no_cdev = true;
        }
    }
    trace_vfi_sim_topology_loaded(iommus->len, devices->len);
    return true;
}

/* GKeyFile merges two sections of the same name: refuse that instead. */
static bool check_sections_unique(const char *data, GError **errp)
{
    g_auto(GStrv) lines = g_strsplit(data, "\n", -1);
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    for (char **l = lines; *l; l++) {
        g_autofree char *s = g_strstrip(g_strdup(*l));
        size_t n = strlen(s);

        if (n < 2 || s[0] != '[' || s[n - 1] != ']') {
            continue;
        }
        if (!g_hash_table_add(seen, g_strndup(s + 1, n - 2))) {
            return invalid(errp, "%s: section defined twice%s", s, "");
        }
    }
    return true;
}

bool vfi_sim_load_topology_data(VfiSim *sim, const char *data, GError **errp)
{
    SIM_LOCKED(sim);
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) local = NULL;

    data = data ? data : "";
    if (!check_sections_unique(data, errp)) {
        return false;
    }
    if (!g_key_file_load_from_data(kf, data, -1, G_KEY_FILE_NONE, &local)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_HOST,
                    "topology: %s", local->message);
        return false;
    }
    return topo_load(sim, kf, errp);
}

bool vfi_sim_load_topology(VfiSim *sim, const char *path, GError **errp)
{
    g_autofree char *data = NULL;
    g_autoptr(GError) local = NULL;

    if (!g_file_get_contents(path, &data, NULL, &local)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_HOST,
                    "topology %s: %s", path, local->message);
        return false;
    }
    if (!vfi_sim_load_topology_data(sim, data, errp)) {
        g_prefix_error(errp, "%s: ", path);
        return false;
    }
    return true;
}
