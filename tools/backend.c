/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd tool: the host backend of an address space (backend.h).
 *
 * The reason is read off what the library did, not decided again: AUTO
 * (docs/type1.md) takes type1 for a first device without a VFIO cdev or on
 * a Linux host without /dev/iommu, so a type1 address space whose first
 * device had its cdev open means the host has no /dev/iommu.
 */
#include <string.h>

#include "vfio-iommufd/device.h"
#include "backend.h"
#include "cli.h"

const char *tool_backend_str(VfiBackendKind kind)
{
    switch (kind) {
    case VFI_BACKEND_IOMMUFD:
        return "iommufd";
    case VFI_BACKEND_TYPE1:
        return "type1";
    default:
        return "auto";
    }
}

bool tool_backend_parse(const char *arg, VfiBackendKind *out, GError **errp)
{
    static const VfiBackendKind kinds[] = {
        VFI_BACKEND_AUTO, VFI_BACKEND_IOMMUFD, VFI_BACKEND_TYPE1,
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(kinds); i++) {
        if (!strcmp(arg, tool_backend_str(kinds[i]))) {
            *out = kinds[i];
            return true;
        }
    }
    return tool_usage_error(errp, "--backend %s: not auto, iommufd or type1", arg);
}

void tool_backend_first(ToolBackend *b, const char *name, const VfiDevice *dev)
{
    if (!b->first) {
        b->first = g_strdup(name);
        b->first_had_cdev = vfi_device_get_fd(dev) >= 0;
    }
}

char *tool_backend_reason(const ToolBackend *b)
{
    if (b->asked != VFI_BACKEND_AUTO) {
        return g_strdup_printf("asked for (--backend %s)", tool_backend_str(b->asked));
    }
    if (b->used == VFI_BACKEND_AUTO || !b->first) {
        return g_strdup("auto: not decided (no device was attached)");
    }
    if (b->used == VFI_BACKEND_TYPE1 && !b->first_had_cdev) {
        return g_strdup_printf("auto: %s has no VFIO cdev (a kernel without "
                               "CONFIG_VFIO_DEVICE_CDEV): through its IOMMU group", b->first);
    }
    if (b->used == VFI_BACKEND_TYPE1) {
        return g_strdup("auto: no /dev/iommu on this host (a kernel without CONFIG_IOMMUFD)");
    }
    return g_strdup_printf("auto: /dev/iommu and the VFIO cdev of %s exist", b->first);
}

const char *tool_backend_describe(VfiBackendKind used)
{
    if (used == VFI_BACKEND_AUTO) {
        return "none yet (chosen at the first attach)";
    }
    return used == VFI_BACKEND_TYPE1 ?
           "type1 (the VFIO group + type1 container: no IOAS or HWPTs, every mapped page "
           "reported dirty)" : "iommufd (/dev/iommu and the devices' VFIO cdevs: an IOAS and HWPTs)";
}
