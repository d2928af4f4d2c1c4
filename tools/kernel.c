/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd tool: the kernel a command runs on, and device arguments
 * (cli.h).
 */
#include <string.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/kernel.h"
#include "cli.h"

/* Two IOMMUs with dirty tracking, one without, an mdev, a device whose VMM
 * opts out of IOMMU dirty tracking, a VF that logs its own DMA (and whose
 * VMM prefers that), and an mdev that logs its own DMA. dmar0 and dmar2 can
 * be nest parents, dmar2 not with dirty tracking (as ARM SMMUv3: plan
 * --nest-parent shows the reason); dmar1 has no nesting. The demo reads the
 * VMM's wishes (want-dirty-tracking, prefer-device-logging) from it too. */
const char tool_builtin_topology[] =
    "[iommu dmar0]\n"
    "dirty-tracking=true\n"
    "nesting=true\n"
    "[iommu dmar1]\n"
    "dirty-tracking=false\n"
    "[iommu dmar2]\n"
    "dirty-tracking=true\n"
    "nesting=true\n"
    "dirty-nest-parent=EOPNOTSUPP\n"
    "[device nic0]\n"
    "iommu=dmar0\n"
    "[device gpu0]\n"
    "iommu=dmar1\n"
    "[device nic1]\n"
    "iommu=dmar0\n"
    "[device vgpu0]\n"
    "mdev=true\n"
    "[device nvme0]\n"
    "iommu=dmar2\n"
    "[device gpu1]\n"
    "iommu=dmar1\n"
    "[device nic2]\n"
    "iommu=dmar0\n"
    "want-dirty-tracking=false\n"
    "[device vf0]\n"
    "iommu=dmar1\n"
    "dma-logging=true\n"
    "prefer-device-logging=true\n"
    "[device vgpu1]\n"
    "mdev=true\n"
    "dma-logging=true\n";

static bool load_topology(const ToolOptions *o, VfiSim *sim, GError **errp)
{
    g_autoptr(GError) err = NULL;
    unsigned n = 0;

    if (o->topology) {
        if (!vfi_sim_load_topology(sim, o->topology, &err)) {
            return tool_usage_error(errp, "bad topology %s: %s", o->topology, err->message);
        }
    } else if (!vfi_sim_load_topology_data(sim, tool_builtin_topology, errp)) {
        g_prefix_error(errp, "built-in topology: ");
        return false;
    }
    g_free(vfi_sim_device_names(sim, &n));
    if (n == 0) {
        return tool_usage_error(errp, "bad topology %s: it has no [device NAME] section",
                                o->topology ? o->topology : "(built-in)");
    }
    return true;
}

bool tool_kernel_open(const ToolOptions *o, ToolKernel *k, GError **errp)
{
    k->sim = NULL;
    if (o->sim) {
        g_autoptr(VfiSim) sim = vfi_sim_new(errp);

        if (!sim || !load_topology(o, sim, errp)) {
            return false;
        }
        vfi_sim_install(sim);
        k->sim = g_steal_pointer(&sim);
    }
    k->sysfs = vfi_kernel_sysfs_root();
    return true;
}

void tool_kernel_close(ToolKernel *k)
{
    g_clear_pointer(&k->sim, vfi_sim_free);
    k->sysfs = NULL;
}

int64_t tool_kernel_objects_left(const ToolKernel *k)
{
    return k->sim ? (int64_t)vfi_sim_live_objects(k->sim) + vfi_sim_type1_live(k->sim) : -1;
}

Json *tool_json_begin(const ToolOptions *o, const ToolKernel *k)
{
    Json *j = json_new();

    json_begin_object(j, NULL);
    json_int(j, "schema", TOOL_SCHEMA);
    json_string(j, "command", o->command);
    json_string(j, "kernel", k && k->sim ? "model" : "linux");
    return j;
}

/* @n hex digits at @s into *@out. */
static bool hex_field(const char *s, int n, unsigned *out)
{
    unsigned v = 0;

    for (int i = 0; i < n; i++) {
        if (!g_ascii_isxdigit(s[i])) {
            return false;
        }
        v = v * 16 + (unsigned)g_ascii_xdigit_value(s[i]);
    }
    *out = v;
    return true;
}

char *tool_parse_bdf(const char *arg)
{
    size_t len = strlen(arg);
    unsigned domain = 0, bus, dev, fn;
    const char *s = arg;

    if (len == 12) {
        if (!hex_field(arg, 4, &domain) || arg[4] != ':') {
            return NULL;
        }
        s = arg + 5;
    } else if (len != 7) {
        return NULL;
    }
    if (!hex_field(s, 2, &bus) || s[2] != ':' || !hex_field(s + 3, 2, &dev) ||
        s[5] != '.' || s[6] < '0' || s[6] > '7' || dev > 0x1f) {
        return NULL;
    }
    fn = (unsigned)(s[6] - '0');
    return g_strdup_printf("%04x:%02x:%02x.%u", domain, bus, dev, fn);
}

bool tool_is_uuid(const char *s)
{
    static const int groups[] = { 8, 4, 4, 4, 12 };
    unsigned ignored;

    for (size_t g = 0; g < G_N_ELEMENTS(groups); g++) {
        for (int i = 0; i < groups[g]; i++, s++) {
            if (!hex_field(s, 1, &ignored)) {
                return false;
            }
        }
        if (*s != (g + 1 < G_N_ELEMENTS(groups) ? '-' : '\0')) {
            return false;
        }
        s += g + 1 < G_N_ELEMENTS(groups);
    }
    return true;
}

bool tool_device_path(const ToolKernel *k, const char *arg, char **path, char **name,
                      GError **errp)
{
    g_autofree char *bdf = tool_parse_bdf(arg);
    g_autofree char *p = NULL;
    const char *what = "device";

    if (arg[0] == '/') {
        p = g_strdup(arg);
    } else if (bdf) {
        p = g_build_filename(k->sysfs, "bus", "pci", "devices", bdf, NULL);
        what = "PCI device";
    } else if (tool_is_uuid(arg)) {
        g_autofree char *uuid = g_ascii_strdown(arg, -1);

        p = g_build_filename(k->sysfs, "bus", "mdev", "devices", uuid, NULL);
        what = "mdev";
    } else if (k->sim && vfi_sim_device_sysfs_path(k->sim, arg)) {
        p = g_strdup(vfi_sim_device_sysfs_path(k->sim, arg));
    } else {
        return tool_usage_error(errp, "'%s' is not a PCI address (DDDD:BB:DD.F or BB:DD.F), "
                                "an mdev UUID or a sysfs path%s", arg,
                                k->sim ? ", nor a device of the model's topology" : "");
    }
    if (!g_file_test(p, G_FILE_TEST_EXISTS)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_NOT_FOUND, "no %s %s (%s does not exist)",
                    what, bdf ? bdf : arg, p);
        return false;
    }
    *name = bdf ? g_steal_pointer(&bdf) : g_path_get_basename(p);
    *path = g_steal_pointer(&p);
    return true;
}
