/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd tool: asking the kernel about one device (probe.h).
 */
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "vfio-iommufd/dirty.h"
#include "cli.h"
#include "probe.h"

const char *hw_info_type_str(uint32_t type)
{
    switch (type) {
    case 0:
        return "none";
    case 1:
        return "intel-vtd";
    case 2:
        return "arm-smmuv3";
    default:
        return "unknown";
    }
}

static void probe_hw_info(VfiDevice *dev, DeviceProbe *p)
{
    struct iommu_hw_info_vtd vtd = { 0 };
    VfiHwInfo hw = { .data = &vtd, .data_len = sizeof(vtd) };

    if (!vfi_device_get_hw_info(dev, &hw, &p->hw_info_error)) {
        return;
    }
    p->have_hw_info = true;
    p->hw_type = hw.type;
    p->hw_caps = hw.capabilities;
    p->max_pasid_log2 = hw.max_pasid_log2;
    if (hw.type == IOMMU_HW_INFO_TYPE_INTEL_VTD && hw.data_len >= sizeof(vtd)) {
        p->have_vtd = true;
        p->vtd_cap = vtd.cap_reg;
        p->vtd_ecap = vtd.ecap_reg;
    }
}

void device_probe(VfiIommufd *be, const char *path, DeviceProbe *p)
{
    g_autoptr(VfiDevice) dev = vfi_device_open_sysfs(path, &p->error);

    if (!dev || !vfi_device_bind(dev, be, &p->error) ||
        !vfi_device_get_info(dev, &p->info, &p->error)) {
        return;
    }
    p->mdev = vfi_device_is_mdev(dev);
    if (!p->mdev) {
        probe_hw_info(dev, p);
    }
    p->have_logging = vfi_device_dma_logging_probe(dev, &p->dma_logging,
                                                   &p->logging_error);
    /* g_autoptr closes the cdev: the kernel unbinds the device. */
}

void device_probe_clear(DeviceProbe *p)
{
    g_clear_error(&p->error);
    g_clear_error(&p->hw_info_error);
    g_clear_error(&p->logging_error);
}

bool device_probe_iommu_dirty(const DeviceProbe *p)
{
    return p->have_hw_info && (p->hw_caps & IOMMU_HW_CAP_DIRTY_TRACKING);
}

static void device_info_json(const DeviceProbe *p, Json *j)
{
    json_begin_object(j, "device_info");
    json_stringf(j, "flags", "0x%x", p->info.flags);
    json_bool(j, "pci", p->info.flags & VFIO_DEVICE_FLAGS_PCI);
    json_bool(j, "reset", p->info.flags & VFIO_DEVICE_FLAGS_RESET);
    json_uint(j, "regions", p->info.num_regions);
    json_uint(j, "irqs", p->info.num_irqs);
    json_end_object(j);
}

static void hw_info_json(const DeviceProbe *p, Json *j, bool detail)
{
    if (!p->have_hw_info) {
        json_null(j, "iommu_hw_info");
        return;
    }
    json_begin_object(j, "iommu_hw_info");
    json_string(j, "type", hw_info_type_str(p->hw_type));
    json_uint(j, "type_id", p->hw_type);
    json_stringf(j, "capabilities", "0x%" G_GINT64_MODIFIER "x", p->hw_caps);
    json_bool(j, "dirty_tracking", device_probe_iommu_dirty(p));
    json_uint(j, "max_pasid_log2", p->max_pasid_log2);
    if (detail && p->have_vtd) {
        json_stringf(j, "vtd_cap_reg", "0x%016" G_GINT64_MODIFIER "x", p->vtd_cap);
        json_stringf(j, "vtd_ecap_reg", "0x%016" G_GINT64_MODIFIER "x", p->vtd_ecap);
    }
    json_end_object(j);
}

void device_probe_json(const DeviceProbe *p, Json *j, const char *key, bool detail)
{
    json_begin_object(j, key);
    tool_json_error(j, "error", p->error);
    if (!p->error) {
        if (detail) {
            device_info_json(p, j);
        }
        hw_info_json(p, j, detail);
        json_string(j, "iommu_hw_info_error",
                    p->mdev ? "an mdev has no IOMMU of its own" :
                    p->hw_info_error ? p->hw_info_error->message : NULL);
        if (p->have_logging) {
            json_bool(j, "dma_logging", p->dma_logging);
        } else {
            json_null(j, "dma_logging");
        }
        json_string(j, "dma_logging_error",
                    p->logging_error ? p->logging_error->message : NULL);
    }
    json_end_object(j);
}
