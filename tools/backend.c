/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd tool: the host backend of an address space (backend.h).
 *
 * The reason is the library's (vfi_address_space_get_backend_reason(), kept
 * where AUTO chooses, docs/type1.md), not decided again here.
 */
#include <string.h>

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

void tool_backend_first(ToolBackend *b, const char *name)
{
    if (!b->first) {
        b->first = g_strdup(name);
    }
}

void tool_backend_read(ToolBackend *b, const VfiAddressSpace *as)
{
    b->used = vfi_address_space_get_backend(as);
    b->why = vfi_address_space_get_backend_reason(as);
}

char *tool_backend_reason(const ToolBackend *b)
{
    if (b->asked != VFI_BACKEND_AUTO) {
        return g_strdup_printf("asked for (--backend %s)", tool_backend_str(b->asked));
    }
    if (b->used == VFI_BACKEND_AUTO || !b->why) {
        return g_strdup("auto: not decided (no device was attached)");
    }
    return g_strdup_printf("%s (the first device, %s)", b->why, b->first ? b->first : "?");
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
