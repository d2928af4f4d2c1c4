/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd tool: what the kernel says of one VFIO device, through the
 * library: open its cdev, bind it to an iommufd, VFIO_DEVICE_GET_INFO,
 * IOMMU_GET_HW_INFO (physical devices) and the DMA-logging probe, then close
 * it (the kernel unbinds it). Nothing is attached, allocated or started, so
 * nothing is left behind.
 */
#ifndef VFI_TOOL_PROBE_H
#define VFI_TOOL_PROBE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vfio-iommufd/iommufd.h"
#include "vfio-iommufd/device.h"
#include "json.h"

typedef struct DeviceProbe {
    GError *error;              /* open, bind or GET_INFO failed */
    bool mdev;                  /* as the library detected it */
    VfiDeviceInfo info;
    bool have_hw_info;
    uint32_t hw_type;           /* enum iommu_hw_info_type */
    uint64_t hw_caps;           /* IOMMU_HW_CAP_* */
    uint8_t max_pasid_log2;
    bool have_vtd;              /* VT-d vendor data read */
    uint64_t vtd_cap, vtd_ecap;
    GError *hw_info_error;      /* GET_HW_INFO failed (NULL for an mdev) */
    bool have_logging;
    bool dma_logging;           /* offers VFIO DMA logging */
    GError *logging_error;
} DeviceProbe;

/* Probe the device at sysfs directory @path on @be (a connected or fresh
 * backend, shared by the probes of one command). Failures are recorded in
 * @p, not returned. */
void device_probe(VfiIommufd *be, const char *path, DeviceProbe *p);
void device_probe_clear(DeviceProbe *p);
/* Returns: whether the device's IOMMU reports dirty tracking. */
bool device_probe_iommu_dirty(const DeviceProbe *p);
/* Returns: a name for enum iommu_hw_info_type ("intel-vtd"). */
const char *hw_info_type_str(uint32_t type);
/* Write @p as member @key (an object); @detail adds the device info and
 * the VT-d registers. */
void device_probe_json(const DeviceProbe *p, Json *j, const char *key, bool detail);

#endif
