/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: dirty coverage of a device, computed from the container
 * layer's state on every call (never stored):
 *  - covered by device DMA logging when the device offers it (probed at
 *    attach) and the VMM prefers it;
 *  - else covered by IOMMU dirty tracking iff the device's HWPT was
 *    allocated with IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
 *  - otherwise the reason, in this order: it offers DMA logging but the VMM
 *    did not ask for it, an mdev (no IOMMU domain), the VMM opted out, the
 *    kernel refused the flag while placing it, its IOMMU does not report
 *    the capability.
 */
#include <linux/iommufd.h>

#include "vfio-iommufd/vfio-dirty.h"
#include "container-internal.h"
#include "trace.h"

static VFIOUntrackedReason untracked_reason(const VFIOContainer *c, const VFIODevice *dev,
                                            VFIODirtyCoverage *cov)
{
    VFIOContainerDevice *cd = vfio_container_device_state(dev);

    *cov = VFIO_DIRTY_COVERAGE_NONE;
    if (!c || !cd || cd->container != c) {
        return VFIO_UNTRACKED_NOT_ATTACHED;
    }
    if (vfio_cd_uses_logging(cd)) {
        *cov = VFIO_DIRTY_COVERAGE_DEVICE_LOGGING;
        return VFIO_UNTRACKED_NOT;
    }
    if (cd->hwpt && (cd->hwpt->flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING)) {
        *cov = VFIO_DIRTY_COVERAGE_IOMMU;
        return VFIO_UNTRACKED_NOT;
    }
    if (cd->logging_offered) {
        return VFIO_UNTRACKED_LOGGING_NOT_PREFERRED;
    }
    if (vfio_device_is_mdev(dev)) {
        return VFIO_UNTRACKED_MDEV;
    }
    if (cd->opts.no_iommu_dirty_tracking) {
        return VFIO_UNTRACKED_VMM_OPT_OUT;
    }
    if (cd->kernel_refused_dirty) {
        return VFIO_UNTRACKED_KERNEL_REFUSED;
    }
    return VFIO_UNTRACKED_NO_IOMMU_CAP;
}

VFIODirtyCoverage vfio_container_dirty_coverage(const VFIOContainer *c, const VFIODevice *dev,
                                                VFIOUntrackedReason *why)
{
    VFIODirtyCoverage cov = VFIO_DIRTY_COVERAGE_NONE;
    VFIOUntrackedReason r = dev ? untracked_reason(c, dev, &cov) : VFIO_UNTRACKED_NOT_ATTACHED;

    trace_vfio_container_dirty_coverage(c ? c->ioas_id : 0,
                                        dev ? vfio_device_get_name(dev) : "(null)",
                                        r == VFIO_UNTRACKED_NOT, vfio_untracked_reason_str(r));
    if (why) {
        *why = r;
    }
    return cov;
}

/* Whether @c has a device and every device is covered: by IOMMU dirty
 * tracking when @iommu_only, else by any kind of tracking. */
static bool all_devices_covered(const VFIOContainer *c, bool iommu_only)
{
    if (!c || c->devices->len == 0) {
        return false;
    }
    for (guint i = 0; i < c->devices->len; i++) {
        VFIODirtyCoverage cov = vfio_container_dirty_coverage(c, g_ptr_array_index(c->devices,
                                                                                   i), NULL);

        if (iommu_only ? cov != VFIO_DIRTY_COVERAGE_IOMMU : cov == VFIO_DIRTY_COVERAGE_NONE) {
            return false;
        }
    }
    return true;
}

bool vfio_container_iommu_dirty_tracking_complete(const VFIOContainer *c)
{
    return all_devices_covered(c, true);
}

bool vfio_container_dirty_tracking_complete(const VFIOContainer *c)
{
    return all_devices_covered(c, false);
}

const char *vfio_untracked_reason_str(VFIOUntrackedReason why)
{
    switch (why) {
    case VFIO_UNTRACKED_NOT:
        return "covered by dirty tracking";
    case VFIO_UNTRACKED_MDEV:
        return "mdev without an IOMMU domain";
    case VFIO_UNTRACKED_NO_IOMMU_CAP:
        return "its IOMMU has no dirty tracking";
    case VFIO_UNTRACKED_KERNEL_REFUSED:
        return "the kernel refused a dirty-tracking HWPT (EOPNOTSUPP)";
    case VFIO_UNTRACKED_VMM_OPT_OUT:
        return "the VMM opted out of IOMMU dirty tracking";
    case VFIO_UNTRACKED_NOT_ATTACHED:
        return "not in this container";
    case VFIO_UNTRACKED_LOGGING_NOT_PREFERRED:
        return "it offers DMA logging, but the VMM did not ask for it";
    }
    return "unknown reason";
}
