/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd list / info: the PCI devices and mdevs, their IOMMU group,
 * driver and VFIO cdev from sysfs and, for the devices with a cdev, what the
 * kernel says through the library (probe.h).
 */
#include <stdio.h>
#include <linux/vfio.h>

#include "vfio-iommufd/iommufd.h"
#include "cli.h"
#include "host-devices.h"
#include "probe.h"

enum { OPT_NO_PROBE = 256 };

static const struct option list_options[] = {
    { "no-probe", no_argument, NULL, OPT_NO_PROBE },
    { NULL, 0, NULL, 0 },
};

typedef struct Listed {
    HostDevice *host;           /* not owned */
    bool probed;
    DeviceProbe probe;
} Listed;

static bool set_no_probe(int val, const char *arg, void *data, GError **errp)
{
    *(bool *)data = true;
    return true;
}

static void clear_listed(gpointer p)
{
    device_probe_clear(&((Listed *)p)->probe);
}

/* Probe every device of @hosts that has a VFIO cdev, on one backend. */
static GArray *probe_devices(GPtrArray *hosts, bool probe, GError **errp)
{
    g_autoptr(GArray) out = g_array_sized_new(FALSE, TRUE, sizeof(Listed), hosts->len);
    VfiIommufd *be = vfi_iommufd_new();

    g_array_set_clear_func(out, clear_listed);
    for (guint i = 0; i < hosts->len; i++) {
        Listed l = { .host = g_ptr_array_index(hosts, i) };

        if (probe && l.host->cdev_attr) {
            device_probe(be, l.host->sysfs_path, &l.probe);
            l.probed = true;
        }
        g_array_append_val(out, l);
    }
    if (!vfi_iommufd_free(be, errp)) {
        return NULL;
    }
    return g_steal_pointer(&out);
}

static const char *yes_no(bool b)
{
    return b ? "yes" : "no";
}

static void print_listed(const Listed *l, FILE *out)
{
    const HostDevice *h = l->host;
    const DeviceProbe *p = &l->probe;
    g_autofree char *id = host_device_id(h);
    g_autofree char *group = h->iommu_group >= 0 ? g_strdup_printf("%d", h->iommu_group)
                                                 : g_strdup("-");
    const char *hw = !l->probed || p->error ? NULL :
                     p->mdev ? "(mdev)" : p->have_hw_info ? hw_info_type_str(p->hw_type) : "?";
    /* "dmar0/intel-vtd": the instance (sysfs) and the hw info type (probe) */
    g_autofree char *iommu = g_strdup_printf("%s%s%s", h->iommu ? h->iommu : "",
                                             h->iommu && hw ? "/" : "",
                                             hw ? hw : h->iommu ? "" : "-");

    fprintf(out, "%-36s %-9s %-14s %-5s %-7s %-16s %-6s %s\n", h->name, id,
            h->driver ? h->driver : "-", group, h->cdev_attr ? h->cdev : "-", iommu,
            l->probed && p->have_hw_info ? yes_no(device_probe_iommu_dirty(p)) : "-",
            l->probed && p->have_logging ? yes_no(p->dma_logging) : "-");
    if (l->probed && p->error) {
        fprintf(out, "    probe failed: %s\n", p->error->message);
    }
}

static void list_text(GArray *listed, FILE *out)
{
    fprintf(out, "%-36s %-9s %-14s %-5s %-7s %-16s %-6s %s\n", "ADDRESS", "ID", "DRIVER",
            "GROUP", "CDEV", "IOMMU", "DIRTY", "DMA-LOG");
    for (guint i = 0; i < listed->len; i++) {
        print_listed(&g_array_index(listed, Listed, i), out);
    }
}

static void listed_json(const Listed *l, Json *j, bool detail)
{
    host_device_json(l->host, j);
    if (l->probed) {
        device_probe_json(&l->probe, j, "probe", detail);
    } else {
        json_null(j, "probe");
    }
}

static int run_list(ToolOptions *o, int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GPtrArray) hosts = NULL;
    g_autoptr(GArray) listed = NULL;
    ToolKernel k = { 0 };
    bool no_probe = false;
    int first, r = tool_parse_options(o, &tool_cmd_list, argc, argv, list_options,
                                      set_no_probe, &no_probe, &first, &err);

    if (r <= 0) {
        return r == 0 ? TOOL_EXIT_OK : tool_fail(o, err);
    }
    if (first < argc) {
        tool_usage_error(&err, "unexpected argument '%s'", argv[first]);
        return tool_fail(o, err);
    }
    if (!tool_kernel_open(o, &k, &err) ||
        !(hosts = host_devices_scan(k.sysfs, &err)) ||
        !(listed = probe_devices(hosts, !no_probe, &err))) {
        tool_kernel_close(&k);
        return tool_fail(o, err);
    }
    if (o->json) {
        g_autoptr(Json) j = tool_json_begin(o, &k);

        json_begin_array(j, "devices");
        for (guint i = 0; i < listed->len; i++) {
            json_begin_object(j, NULL);
            listed_json(&g_array_index(listed, Listed, i), j, false);
            json_end_object(j);
        }
        json_end_array(j);
        json_end_object(j);
        json_print(j, stdout);
    } else {
        list_text(listed, stdout);
    }
    tool_kernel_close(&k);
    return TOOL_EXIT_OK;
}

const ToolCommand tool_cmd_list = {
    .name = "list",
    .synopsis = "[--no-probe] [--json] [--sim [--topology FILE]]",
    .brief = "PCI devices and mdevs: group, driver, cdev, IOMMU, dirty tracking",
    .summary = "List the PCI devices and mdevs: IOMMU group, driver, VFIO cdev and, for\n"
               "devices with a cdev, the IOMMU's hardware info and dirty-tracking\n"
               "capability and whether the device offers VFIO DMA logging.",
    .help = "Each device with a VFIO cdev is opened, bound to a fresh iommufd and asked\n"
            "(VFIO_DEVICE_GET_INFO, IOMMU_GET_HW_INFO, the DMA-logging probe), then\n"
            "closed: nothing is attached or allocated. A device in use by a VMM\n"
            "cannot be bound: its probe says so.\n"
            "\n"
            "Options:\n"
            "  --no-probe       sysfs only: do not open the devices\n",
    .run = run_list,
};

/* ---- info ------------------------------------------------------------------ */

static void print_kind(const HostDevice *h, FILE *out)
{
    g_autofree char *id = host_device_id(h);

    if (h->mdev) {
        fprintf(out, "  kind:           mdev of %s, type %s\n", h->parent ? h->parent : "?",
                h->mdev_type ? h->mdev_type : "?");
    } else {
        fprintf(out, "  kind:           PCI device %s%s%s\n", id,
                h->class_code ? ", class " : "", h->class_code ? h->class_code : "");
    }
    fprintf(out, "  sysfs:          %s\n", h->sysfs_path);
    fprintf(out, "  driver:         %s%s%s%s\n", h->driver ? h->driver : "none",
            h->driver_override ? " (driver_override " : "",
            h->driver_override ? h->driver_override : "", h->driver_override ? ")" : "");
}

static void print_group(const ToolKernel *k, const HostDevice *h, FILE *out)
{
    g_autoptr(GPtrArray) peers = host_iommu_group_devices(k->sysfs, h->iommu_group);
    g_autofree char *names = NULL;

    g_ptr_array_add(peers, NULL);
    names = g_strjoinv(" ", (char **)peers->pdata);
    if (h->iommu_group >= 0) {
        fprintf(out, "  IOMMU group:    %d (%s)\n", h->iommu_group, names);
    } else {
        fprintf(out, "  IOMMU group:    none\n");
    }
    fprintf(out, "  IOMMU:          %s\n", h->iommu ? h->iommu : "-");
}

static void print_cdev(const HostDevice *h, FILE *out)
{
    g_autofree char *node = host_device_cdev_node(h);

    if (node) {
        fprintf(out, "  VFIO cdev:      %s\n", node);
    } else if (h->cdev) {
        fprintf(out, "  VFIO cdev:      none: %s has no dev attribute (a kernel without "
                "CONFIG_VFIO_DEVICE_CDEV)\n", h->cdev);
    } else if (h->mdev) {
        fprintf(out, "  VFIO cdev:      none (the mdev's driver is no VFIO driver)\n");
    } else {
        fprintf(out, "  VFIO cdev:      none: not bound to vfio-pci (echo vfio-pci > "
                "%s/driver_override; echo %s > %s/driver/unbind; echo %s > "
                "/sys/bus/pci/drivers_probe)\n", h->sysfs_path, h->name, h->sysfs_path, h->name);
    }
}

static void print_probe(const DeviceProbe *p, FILE *out)
{
    if (p->error) {
        fprintf(out, "  probe:          failed: %s\n", p->error->message);
        return;
    }
    fprintf(out, "  device info:    flags 0x%x (%s%s), %u regions, %u irqs\n", p->info.flags,
            p->info.flags & VFIO_DEVICE_FLAGS_PCI ? "PCI" : "not PCI",
            p->info.flags & VFIO_DEVICE_FLAGS_RESET ? ", reset" : "",
            p->info.num_regions, p->info.num_irqs);
    if (p->have_hw_info) {
        fprintf(out, "  IOMMU hw info:  %s, capabilities 0x%" G_GINT64_MODIFIER "x, "
                "dirty tracking %s, max PASID log2 %u\n", hw_info_type_str(p->hw_type),
                p->hw_caps, yes_no(device_probe_iommu_dirty(p)), p->max_pasid_log2);
    } else {
        fprintf(out, "  IOMMU hw info:  %s\n", p->mdev ? "none (an mdev has no IOMMU of its own)"
                : p->hw_info_error->message);
    }
    if (p->have_vtd) {
        fprintf(out, "  VT-d registers: cap 0x%016" G_GINT64_MODIFIER "x, ecap 0x%016"
                G_GINT64_MODIFIER "x\n", p->vtd_cap, p->vtd_ecap);
    }
    fprintf(out, "  DMA logging:    %s\n", !p->have_logging ? p->logging_error->message :
            p->dma_logging ? "offered" : "not offered");
}

static void info_output(const ToolOptions *o, const ToolKernel *k, const Listed *l)
{
    if (o->json) {
        g_autoptr(Json) j = tool_json_begin(o, k);
        g_autoptr(GPtrArray) peers = host_iommu_group_devices(k->sysfs, l->host->iommu_group);

        json_begin_object(j, "device");
        listed_json(l, j, true);
        json_string(j, "sysfs_path", l->host->sysfs_path);
        json_string(j, "driver_override", l->host->driver_override);
        json_strings(j, "iommu_group_devices", peers);
        json_end_object(j);
        json_end_object(j);
        json_print(j, stdout);
        return;
    }
    printf("%s\n", l->host->name);
    print_kind(l->host, stdout);
    print_group(k, l->host, stdout);
    print_cdev(l->host, stdout);
    if (l->probed) {
        print_probe(&l->probe, stdout);
    }
}

static int run_info(ToolOptions *o, int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *path = NULL, *name = NULL;
    g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func(
        (GDestroyNotify)host_device_free);
    g_autoptr(GArray) listed = NULL;
    ToolKernel k = { 0 };
    bool no_probe = false;
    int first, r = tool_parse_options(o, &tool_cmd_info, argc, argv, list_options,
                                      set_no_probe, &no_probe, &first, &err);

    if (r <= 0) {
        return r == 0 ? TOOL_EXIT_OK : tool_fail(o, err);
    }
    if (argc - first != 1) {
        tool_usage_error(&err, "info takes one device (a PCI address or an mdev UUID)");
        return tool_fail(o, err);
    }
    if (!tool_kernel_open(o, &k, &err) ||
        !tool_device_path(&k, argv[first], &path, &name, &err)) {
        tool_kernel_close(&k);
        return tool_fail(o, err);
    }
    g_ptr_array_add(hosts, host_device_read_path(path));
    if (!g_ptr_array_index(hosts, 0)) {
        g_set_error(&err, VFI_ERROR, VFI_ERROR_NOT_FOUND, "%s is not a device directory",
                    path);
        tool_kernel_close(&k);
        return tool_fail(o, err);
    }
    if (!(listed = probe_devices(hosts, !no_probe, &err))) {
        tool_kernel_close(&k);
        return tool_fail(o, err);
    }
    info_output(o, &k, &g_array_index(listed, Listed, 0));
    tool_kernel_close(&k);
    return TOOL_EXIT_OK;
}

const ToolCommand tool_cmd_info = {
    .name = "info",
    .synopsis = "[--no-probe] [--json] [--sim [--topology FILE]] DEVICE",
    .brief = "one device in detail",
    .summary = "Show one device in detail: sysfs (driver, driver_override, IOMMU group\n"
               "and its members, IOMMU instance, VFIO cdev) and, with a cdev, the\n"
               "device info, the IOMMU's hardware info (with the VT-d registers) and\n"
               "VFIO DMA logging.",
    .help = "DEVICE is a PCI address (0000:3b:00.0, or 3b:00.0 for domain 0000), an\n"
            "mdev UUID, a sysfs directory or, on the kernel model, a topology device\n"
            "name. The device is probed as by 'list'.\n"
            "\n"
            "Options:\n"
            "  --no-probe       sysfs only: do not open the device\n",
    .run = run_info,
};
