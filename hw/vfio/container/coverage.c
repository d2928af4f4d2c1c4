/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the one rule that says which dirty coverage a device gets.
 * Placement follows it (a device gets a dirty-tracking HWPT iff the rule
 * says IOMMU) and every report computes it from the current state (never
 * stored):
 *  - covered by device DMA logging when the device offers it (probed at
 *    attach) and the VMM prefers it;
 *  - else covered by IOMMU dirty tracking iff the device's HWPT was
 *    allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
 *  - otherwise the reason, in this order: it offers DMA logging but the VMM
 *    did not ask for it, an mdev (no IOMMU domain), the VMM opted out, the
 *    kernel refused the flag while placing it (alone, or with NEST_PARENT
 *    for a nest parent: the placement record's refused_flags says which),
 *    its IOMMU does not report the capability.
 * In a type1 container: by DMA logging when the device offers it (the VMM's
 * preference aside: nothing better is there), else VFI_DIRTY_COVERAGE_TYPE1
 * (type1's IOMMU side reports every mapped page dirty).
 * A nest parent is covered exactly as any HWPT: by its DIRTY_TRACKING flag.
 * The guest's first-stage tables change nothing the IOMMU tracks here: the
 * second stage, the parent's, changes only through the VMM's maps/unmaps.
 */
#include <linux/iommufd.h>

#include "vfio-iommufd/dirty.h"
#include "container-internal.h"
#include "trace.h"

/* Whether @cd is in a type1 container (or being placed in one). */
static bool in_type1(const VfiContainerDevice *cd)
{
    return cd->container && vfi_container_is_type1(cd->container);
}

bool vfi_coverage_uses_logging(const VfiContainerDevice *cd)
{
    /* on type1 the IOMMU side reports every mapped page: a device that logs
     * its own DMA does, whatever the VMM prefers */
    return vfi_device_offers_dma_logging(cd->dev) &&
           (cd->opts.prefer_device_dirty_logging || in_type1(cd));
}

/* Why @cd's device cannot have IOMMU dirty tracking, or VFI_COVERED. */
static VfiUntrackedReason iommu_obstacle(const VfiContainerDevice *cd)
{
    if (vfi_device_is_mdev(cd->dev)) {
        return VFI_UNTRACKED_MDEV;
    }
    if (cd->opts.no_iommu_dirty_tracking) {
        return VFI_UNTRACKED_VMM_OPT_OUT;
    }
    if (cd->refused_flags) {
        return (cd->refused_flags & IOMMU_HWPT_ALLOC_NEST_PARENT) ?
               VFI_UNTRACKED_NEST_PARENT_REFUSED : VFI_UNTRACKED_KERNEL_REFUSED;
    }
    if (!cd->has_hw_info || !(cd->hw_info.capabilities & IOMMU_HW_CAP_DIRTY_TRACKING)) {
        return VFI_UNTRACKED_NO_IOMMU_CAP;
    }
    return VFI_COVERED;
}

VfiDirtyCoverage vfi_coverage_rule(const VfiContainerDevice *cd, VfiUntrackedReason *why)
{
    VfiUntrackedReason r = VFI_COVERED;
    VfiDirtyCoverage cov = VFI_DIRTY_COVERAGE_NONE;

    if (vfi_coverage_uses_logging(cd)) {
        cov = VFI_DIRTY_COVERAGE_DEVICE_LOGGING;
    } else if (in_type1(cd)) {
        cov = VFI_DIRTY_COVERAGE_TYPE1;     /* every mapped page reported dirty */
    } else if ((r = iommu_obstacle(cd)) == VFI_COVERED) {
        cov = VFI_DIRTY_COVERAGE_IOMMU;
    } else if (vfi_device_offers_dma_logging(cd->dev)) {
        /* the reason the VMM can act on first */
        r = VFI_UNTRACKED_LOGGING_NOT_PREFERRED;
    }
    if (why) {
        *why = r;
    }
    return cov;
}

/* What the rule's @cov is worth while @c tracks: a source that a failed
 * switch (and its failed undo) left off covers nothing. */
static VfiDirtyCoverage actual_coverage(const VfiContainer *c, const VfiContainerDevice *cd,
                                        VfiDirtyCoverage cov, VfiUntrackedReason *why)
{
    bool off = (cov == VFI_DIRTY_COVERAGE_DEVICE_LOGGING &&
                !vfi_device_dma_logging_active(cd->dev)) ||
               (cov == VFI_DIRTY_COVERAGE_IOMMU && !cd->hwpt->dirty_on) ||
               (cov == VFI_DIRTY_COVERAGE_TYPE1 && !c->ops->iommu_tracking_is_on(c));

    if (!c->dirty_tracking || !off) {
        return cov;
    }
    *why = VFI_UNTRACKED_SWITCH_FAILED;
    return VFI_DIRTY_COVERAGE_NONE;
}

VfiDirtyCoverage vfi_container_dirty_coverage(const VfiContainer *c, const VfiDevice *dev,
                                              VfiUntrackedReason *why)
{
    VFI_LOCK_GUARD(vfi_container_lock(c));
    VfiContainerDevice *cd = vfi_container_device_state(dev);
    VfiUntrackedReason r = VFI_UNTRACKED_NOT_ATTACHED;
    VfiDirtyCoverage cov = VFI_DIRTY_COVERAGE_NONE;

    if (c && cd && cd->container == c) {
        cov = vfi_coverage_rule(cd, &r);
        cov = actual_coverage(c, cd, cov, &r);
        /* placement follows the rule: IOMMU coverage means a dirty HWPT */
        g_assert(cov != VFI_DIRTY_COVERAGE_IOMMU || vfi_hwpt_is_dirty_capable(cd->hwpt));
    }
    trace_vfi_container_dirty_coverage(c ? c->ioas_id : 0,
                                       dev ? vfi_device_get_display_name(dev) : "(null)",
                                       r == VFI_COVERED, vfi_untracked_reason_str(r));
    if (why) {
        *why = r;
    }
    return cov;
}

VfiDirtyCoverage vfi_device_dirty_coverage(const VfiDevice *dev, VfiUntrackedReason *why)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));
    VfiContainerDevice *cd = vfi_container_device_state(dev);

    return vfi_container_dirty_coverage(cd ? cd->container : NULL, dev, why);
}

/* Whether @c has a device and every device is covered: by IOMMU dirty
 * tracking when @iommu_only, else by any kind of tracking. */
static bool all_devices_covered(const VfiContainer *c, bool iommu_only)
{
    if (!c || c->devices->len == 0) {
        return false;
    }
    for (guint i = 0; i < c->devices->len; i++) {
        VfiDirtyCoverage cov = vfi_container_dirty_coverage(c, g_ptr_array_index(c->devices,
                                                                                   i), NULL);

        if (iommu_only ? cov != VFI_DIRTY_COVERAGE_IOMMU : cov == VFI_DIRTY_COVERAGE_NONE) {
            return false;
        }
    }
    return true;
}

bool vfi_container_iommu_coverage_complete(const VfiContainer *c)
{
    VFI_LOCK_GUARD(vfi_container_lock(c));

    return all_devices_covered(c, true);
}

bool vfi_container_dirty_coverage_complete(const VfiContainer *c)
{
    VFI_LOCK_GUARD(vfi_container_lock(c));

    return all_devices_covered(c, false);
}

const char *vfi_dirty_coverage_granularity(VfiDirtyCoverage cov, uint64_t *bytes)
{
    uint64_t b = 0;
    const char *what;

    switch (cov) {
    case VFI_DIRTY_COVERAGE_IOMMU:
        what = "per IOPTE: the CPU page or larger (up to the IOMMU page a mapping's "
               "alignment and physical contiguity allow), never more than a mapping";
        break;
    case VFI_DIRTY_COVERAGE_DEVICE_LOGGING:
        b = VFI_DMA_LOGGING_MIN_PAGE_SIZE;
        what = "per 4 KiB DMA logging page";
        break;
    case VFI_DIRTY_COVERAGE_TYPE1:
        b = 4096;
        what = "type1: all mapped pages reported dirty";
        break;
    default:
        what = "untracked: every page the device may write counts as dirty";
        break;
    }
    if (bytes) {
        *bytes = b;
    }
    return what;
}

const char *vfi_untracked_reason_str(VfiUntrackedReason why)
{
    switch (why) {
    case VFI_COVERED:
        return "covered by dirty tracking";
    case VFI_UNTRACKED_MDEV:
        return "mdev without an IOMMU domain";
    case VFI_UNTRACKED_NO_IOMMU_CAP:
        return "its IOMMU has no dirty tracking";
    case VFI_UNTRACKED_KERNEL_REFUSED:
        return "the kernel refused a dirty-tracking HWPT (EOPNOTSUPP)";
    case VFI_UNTRACKED_VMM_OPT_OUT:
        return "the VMM opted out of IOMMU dirty tracking";
    case VFI_UNTRACKED_NOT_ATTACHED:
        return "not in this container";
    case VFI_UNTRACKED_LOGGING_NOT_PREFERRED:
        return "it offers DMA logging, but the VMM did not ask for it";
    case VFI_UNTRACKED_NEST_PARENT_REFUSED:
        return "a nest parent: the kernel refused DIRTY_TRACKING together with NEST_PARENT "
               "(its IOMMU tracks dirty pages, but not in a nesting parent)";
    case VFI_UNTRACKED_SWITCH_FAILED:
        return "tracking is on, but its HWPT's tracking or its DMA logging could not be "
               "switched on (stop and start tracking again)";
    }
    return "unknown reason";
}
