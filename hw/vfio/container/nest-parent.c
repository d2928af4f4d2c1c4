/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: nest parents and read-only mappings (docs/nesting.md,
 * "Nest-parent placement").
 *
 * Intel's erratum 772415 (reported by every VT-d of Linux 6.12 and 7.3 as
 * IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 in struct iommu_hw_info_vtd's
 * flags) forbids read-only entries in a domain that is a nesting parent:
 * the kernel's VT-d second-stage page table refuses them (EINVAL, at the
 * IOAS_MAP into an IOAS holding such a domain, or at the HWPT_ALLOC of
 * such a domain on an IOAS holding read-only mappings). The library says
 * so before any ioctl instead:
 *  - a read-only map into a container one of whose nest-parent HWPTs
 *    serves a device with the erratum is refused (INVALID_ARGUMENT), or,
 *    when the address space opted in (VfiNestingOptions.readonly_as_writeable),
 *    made read-write (the record keeps that it was asked read-only);
 *  - a device with the erratum is not placed as a nest parent in a
 *    container holding a mapping made read-only (the container does not
 *    accept it; the message says why).
 * A container the address space made for such a device while opted in
 * (ro_erratum_expected) maps read-only requests read-write from its first
 * mapping on, so its replay does not stand in the way.
 */
#include <inttypes.h>
#include <string.h>

#include <linux/iommufd.h>

#include "vfio-iommufd/error.h"
#include "container-internal.h"
#include "trace.h"

/* IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17: Linux 6.8's UAPI, newer than the
 * 6.7 floor of the build (a fixed bit of the ABI). */
#define VTD_ERRATA_772415 (1u << 0)

bool vfi_nest_parent_ro_erratum(const VfiContainerDevice *cd)
{
    struct iommu_hw_info_vtd vtd;

    if (!cd->has_hw_info || cd->hw_info.type != IOMMU_HW_INFO_TYPE_INTEL_VTD ||
        cd->hw_info.data_len < sizeof(vtd.flags)) {
        return false;
    }
    memcpy(&vtd.flags, cd->hw_data, sizeof(vtd.flags));
    return vtd.flags & VTD_ERRATA_772415;
}

VfiDevice *vfi_nest_parent_ro_forbidder(const VfiContainer *c)
{
    for (guint i = 0; i < c->hwpts->len; i++) {
        const VfiHwpt *h = g_ptr_array_index(c->hwpts, i);

        if (!(h->flags & IOMMU_HWPT_ALLOC_NEST_PARENT)) {
            continue;
        }
        for (guint j = 0; j < h->devices->len; j++) {
            VfiDevice *dev = g_ptr_array_index(h->devices, j);
            const VfiContainerDevice *cd = vfi_container_device_state(dev);

            if (cd && vfi_nest_parent_ro_erratum(cd)) {
                return dev;
            }
        }
    }
    return NULL;
}

bool vfi_nest_parent_check_map(const VfiContainer *c, const char *what, uint64_t iova,
                               uint64_t size, bool readonly, bool *writeable, GError **errp)
{
    VfiDevice *dev;

    if (writeable) {
        *writeable = false;
    }
    if (!readonly) {
        return true;
    }
    dev = vfi_nest_parent_ro_forbidder(c);
    if (!dev && !c->ro_erratum_expected) {
        return true;
    }
    if (c->ro_as_writeable) {
        trace_vfi_container_ro_writeable(c->ioas_id, iova, size,
                                         dev ? vfi_device_get_display_name(dev) : "(expected)");
        if (writeable) {
            *writeable = true;
        }
        return true;
    }
    if (!dev) {
        return true;    /* expected only with the opt-in: not reached */
    }
    trace_vfi_container_refused(c->ioas_id, what, "read-only in a nest parent (erratum 772415)",
                                iova, size);
    g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                "%s: read-only mapping iova 0x%" PRIx64 " size 0x%" PRIx64 " refused in ioas "
                "%u: its nest-parent hwpt %u serves device %s, whose VT-d IOMMU has erratum "
                "772415 (no read-only mappings in a nesting parent); map it read-write, or "
                "let the library do so (VfiNestingOptions.readonly_as_writeable)", what, iova,
                size, c->ioas_id, vfi_hwpt_get_id(vfi_device_get_hwpt(dev)),
                vfi_device_get_display_name(dev));
    return false;
}

/* The first mapping of @c made read-only, or NULL. */
static const VfiContainerMapping *first_readonly(const VfiContainer *c)
{
    VfiRangeIter it;

    for (const VfiContainerMapping *m = vfi_range_tree_nth(c->maps, 0, &it); m;
         m = vfi_range_iter_next(&it)) {
        if (m->readonly && !m->made_writeable) {
            return m;
        }
    }
    return NULL;
}

bool vfi_nest_parent_check_join(const VfiContainer *c, const VfiContainerDevice *cd,
                                GError **errp)
{
    const VfiContainerMapping *m;

    if (!vfi_nest_parent_ro_erratum(cd) || !(m = first_readonly(c))) {
        return true;
    }
    trace_vfi_auto_domain_nest_erratum(vfi_device_get_display_name(cd->dev), c->ioas_id,
                                       m->r.iova);
    g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                "auto domains: device %s (devid %u) cannot be a nest parent in ioas %u: its "
                "VT-d IOMMU has erratum 772415 (no read-only mappings in a nesting parent) "
                "and the mapping iova 0x%" PRIx64 " size 0x%" PRIx64 " is read-only (unmap "
                "it, map it read-write, or set VfiNestingOptions.readonly_as_writeable "
                "before mapping)", vfi_device_get_display_name(cd->dev),
                vfi_device_get_devid(cd->dev), c->ioas_id, m->r.iova,
                m->r.last - m->r.iova + 1);
    return false;
}
