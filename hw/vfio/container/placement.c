/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: placement (userspace auto domains), the choice of a HWPT
 * for a device inside one container (docs/auto-domains.md).
 *
 *  - An mdev attaches to the IOAS itself: it has no IOMMU domain.
 *  - A physical device wants a dirty-tracking HWPT iff the coverage rule
 *    (coverage.c) gives it IOMMU coverage: its IOMMU reports
 *    IOMMU_HW_CAP_DIRTY_TRACKING, the VMM did not opt out, it is not covered
 *    by its own DMA logging, and the kernel has not already refused the
 *    flag for it during this placement.
 *  - Candidates: the container's HWPTs whose dirty flag is what the device
 *    wants; first those that accepted the device's fingerprint (hw info and
 *    IOMMU instance), then the others the records of the container do not
 *    rule out (placement-memo.c), in creation order. EINVAL from the attach
 *    means "incompatible": it is recorded, and the next candidate is tried.
 *    Any other error fails.
 *  - None fits: a HWPT is allocated for the device on the IOAS and the
 *    device attached to it; if that attach fails the HWPT is destroyed again.
 *    HWPT_ALLOC refusing the dirty flag with EOPNOTSUPP is recorded (the
 *    device is then "untracked: kernel refused") and the device is placed as
 *    one without the capability.
 *  - The container does not accept the device (INCOMPATIBLE) when HWPT_ALLOC
 *    or the attach to the HWPT just made for it says EINVAL, or when any
 *    HWPT_ALLOC or attach says EADDRINUSE: the IOAS's mappings conflict with
 *    the device (outside its domain's aperture, in its reserved regions such
 *    as the x86 MSI window, or not aligned for an mdev), so no HWPT of this
 *    IOAS can take it.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <linux/iommufd.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/iommufd.h"
#include "container-internal.h"
#include "trace.h"

bool vfi_placement_read_hw_info(VfiContainerDevice *cd, GError **errp)
{
    VfiHwInfo *info = &cd->hw_info;

    memset(info, 0, sizeof(*info));
    memset(cd->hw_data, 0, sizeof(cd->hw_data));
    info->data = cd->hw_data;
    info->data_len = sizeof(cd->hw_data);
    if (!vfi_device_get_hw_info(cd->dev, info, errp)) {
        g_prefix_error(errp, "device %s (devid %u): reading its IOMMU hw info: ",
                       vfi_device_get_display_name(cd->dev), vfi_device_get_devid(cd->dev));
        return false;
    }
    info->data = cd->hw_data;
    cd->has_hw_info = true;
    trace_vfi_auto_domain_hw_info(vfi_device_get_display_name(cd->dev), info->type,
                                   info->capabilities, info->data_len);
    return true;
}

static const char *dev_name(const VfiContainerDevice *cd)
{
    return vfi_device_get_display_name(cd->dev);
}

static void attach_error(GError **errp, GError *err, const VfiContainerDevice *cd,
                         uint32_t hwpt_id, uint32_t ioas_id)
{
    g_propagate_prefixed_error(errp, err, "auto domains: device %s (devid %u) to hwpt %u "
                               "of ioas %u: ", dev_name(cd), vfi_device_get_devid(cd->dev),
                               hwpt_id, ioas_id);
}

typedef enum {
    TRY_ATTACHED,   /* joined an existing HWPT */
    TRY_NONE,       /* no candidate took it */
    TRY_CONFLICT,   /* EADDRINUSE: the IOAS's mappings are in the way */
    TRY_ERROR,      /* any other failure */
} TryResult;

/* EADDRINUSE from HWPT_ALLOC or an attach: a mapping of the IOAS lies
 * outside the new domain's aperture or in the device's reserved regions
 * (the x86 MSI window). No HWPT of this IOAS can take the device. */
static bool is_conflict(const GError *err)
{
    return g_error_matches(err, VFI_KERNEL_ERROR, EADDRINUSE);
}

/* Try the HWPTs of @list in order; an EINVAL is recorded as a refusal of
 * @fp by that HWPT, a success as an acceptance. */
static TryResult try_list(VfiContainer *c, VfiContainerDevice *cd, const VfiFingerprint *fp,
                          GPtrArray *list, bool remembered, GError **errp)
{
    for (guint i = 0; i < list->len; i++) {
        VfiHwpt *h = g_ptr_array_index(list, i);
        g_autoptr(GError) err = NULL;
        bool conflict;

        cd->attach_attempts++;
        trace_vfi_auto_domain_try(dev_name(cd), h->id, h->flags, remembered,
                                   cd->attach_attempts);
        if (vfi_device_attach(cd->dev, h->id, NULL, &err)) {
            vfi_hwpt_add_device(h, cd->dev);
            cd->hwpt = h;
            vfi_memo_accepted(h, fp, dev_name(cd));
            trace_vfi_auto_domain_attached(dev_name(cd), h->id, cd->attach_attempts, true);
            return TRY_ATTACHED;
        }
        if (g_error_matches(err, VFI_KERNEL_ERROR, EINVAL)) {
            trace_vfi_auto_domain_incompatible(dev_name(cd), h->id, c->ioas_id);
            vfi_memo_refused(h, fp, dev_name(cd));
            continue;
        }
        trace_vfi_auto_domain_failed(dev_name(cd), h->id, c->ioas_id, err->code,
                                      err->message);
        conflict = is_conflict(err);
        attach_error(errp, g_steal_pointer(&err), cd, h->id, c->ioas_id);
        return conflict ? TRY_CONFLICT : TRY_ERROR;
    }
    return TRY_NONE;
}

/* Try the existing HWPTs of @c with the dirty flag @want_dirty: those that
 * accepted @fp first, then the others the records do not rule out. */
static TryResult try_existing(VfiContainer *c, VfiContainerDevice *cd,
                              const VfiFingerprint *fp, bool want_dirty, GError **errp)
{
    g_autoptr(GPtrArray) first = vfi_memo_remembered(c, fp, want_dirty, dev_name(cd));
    g_autoptr(GPtrArray) others = NULL;
    TryResult r = try_list(c, cd, fp, first, true, errp);

    if (r != TRY_NONE) {
        return r;
    }
    others = vfi_memo_others(c, fp, want_dirty, dev_name(cd));
    return try_list(c, cd, fp, others, false, errp);
}

typedef enum {
    NEW_ATTACHED,
    NEW_INCOMPATIBLE,  /* EINVAL from HWPT_ALLOC or from the attach */
    NEW_REFUSED_DIRTY, /* EOPNOTSUPP from HWPT_ALLOC with the dirty flag */
    NEW_ERROR,
} NewResult;

/* Allocate a HWPT for the device on @c's IOAS and attach to it. */
static NewResult alloc_and_attach(VfiContainer *c, VfiContainerDevice *cd,
                                  const VfiFingerprint *fp, uint32_t flags, GError **errp)
{
    uint32_t devid = vfi_device_get_devid(cd->dev);
    g_autoptr(GError) err = NULL;
    uint32_t hwpt_id = 0;
    bool incompatible;
    VfiHwpt *h;

    if (!vfi_iommufd_hwpt_alloc(c->be, devid, c->ioas_id, flags, IOMMU_HWPT_DATA_NONE,
                                    0, NULL, &hwpt_id, &err)) {
        trace_vfi_auto_domain_alloc(dev_name(cd), devid, c->ioas_id, flags, 0, err->code);
        if ((flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) &&
            g_error_matches(err, VFI_KERNEL_ERROR, EOPNOTSUPP)) {
            g_propagate_error(errp, g_steal_pointer(&err));
            return NEW_REFUSED_DIRTY;
        }
        incompatible = g_error_matches(err, VFI_KERNEL_ERROR, EINVAL) ||
                       is_conflict(err);
        g_propagate_prefixed_error(errp, g_steal_pointer(&err),
                                   "auto domains: allocating a hwpt (flags 0x%x) for device "
                                   "%s (devid %u) on ioas %u: ", flags, dev_name(cd), devid,
                                   c->ioas_id);
        return incompatible ? NEW_INCOMPATIBLE : NEW_ERROR;
    }
    trace_vfi_auto_domain_alloc(dev_name(cd), devid, c->ioas_id, flags, hwpt_id, 0);
    h = vfi_hwpt_new(c, hwpt_id, flags);

    cd->attach_attempts++;
    trace_vfi_auto_domain_try(dev_name(cd), h->id, h->flags, false, cd->attach_attempts);
    if (vfi_device_attach(cd->dev, h->id, NULL, &err)) {
        vfi_hwpt_add_device(h, cd->dev);
        cd->hwpt = h;
        vfi_memo_accepted(h, fp, dev_name(cd));
        trace_vfi_auto_domain_attached(dev_name(cd), h->id, cd->attach_attempts, false);
        return NEW_ATTACHED;
    }
    trace_vfi_auto_domain_failed(dev_name(cd), h->id, c->ioas_id, err->code, err->message);
    {
        g_autoptr(GError) derr = NULL;

        /* If the destroy fails too, the empty HWPT stays in the container's
         * list (the kernel still has it) and is destroyed by a later cleanup. */
        if (!vfi_hwpt_destroy(h, &derr)) {
            trace_vfi_auto_domain_rollback_failed(dev_name(cd), hwpt_id, c->ioas_id,
                                                   derr->message);
            g_prefix_error(&err, "(hwpt %u made for it stays in ioas %u, empty: %s) ",
                           hwpt_id, c->ioas_id, derr->message);
        }
    }
    incompatible = g_error_matches(err, VFI_KERNEL_ERROR, EINVAL) || is_conflict(err);
    attach_error(errp, g_steal_pointer(&err), cd, hwpt_id, c->ioas_id);
    return incompatible ? NEW_INCOMPATIBLE : NEW_ERROR;
}

/* Join an existing HWPT with the dirty flag @want_dirty, or make one. On
 * *@refused (HWPT_ALLOC refused the dirty flag with EOPNOTSUPP) nothing was
 * placed and @errp is not set. */
static VfiPlaceResult join_or_alloc(VfiContainer *c, VfiContainerDevice *cd,
                                    const VfiFingerprint *fp, bool want_dirty, bool *refused,
                                    GError **errp)
{
    g_autoptr(GError) err = NULL;

    *refused = false;
    switch (try_existing(c, cd, fp, want_dirty, errp)) {
    case TRY_ATTACHED:
        return VFI_PLACE_OK;
    case TRY_CONFLICT:
        return VFI_PLACE_INCOMPATIBLE;
    case TRY_ERROR:
        return VFI_PLACE_ERROR;
    case TRY_NONE:
        break;
    }
    switch (alloc_and_attach(c, cd, fp, want_dirty ? IOMMU_HWPT_ALLOC_DIRTY_TRACKING : 0, &err)) {
    case NEW_ATTACHED:
        return VFI_PLACE_OK;
    case NEW_INCOMPATIBLE:
        g_propagate_error(errp, g_steal_pointer(&err));
        return VFI_PLACE_INCOMPATIBLE;
    case NEW_ERROR:
        g_propagate_error(errp, g_steal_pointer(&err));
        return VFI_PLACE_ERROR;
    case NEW_REFUSED_DIRTY:
        break;
    }
    *refused = true;
    trace_vfi_auto_domain_kernel_refused(dev_name(cd), vfi_device_get_devid(cd->dev),
                                         c->ioas_id, err->message);
    return VFI_PLACE_ERROR;
}

static VfiPlaceResult place_physical(VfiContainer *c, VfiContainerDevice *cd,
                                     GError **errp)
{
    bool cap = cd->hw_info.capabilities & IOMMU_HW_CAP_DIRTY_TRACKING;
    /* The coverage rule decides: a device covered by its own DMA logging, or
     * one that cannot have IOMMU tracking, joins a plain HWPT. */
    bool want_dirty = vfi_coverage_rule(cd, NULL) == VFI_DIRTY_COVERAGE_IOMMU;
    VfiFingerprint fp;
    VfiPlaceResult r;
    bool refused;

    vfi_fingerprint_init(&fp, cd);
    trace_vfi_auto_domain_fingerprint(dev_name(cd), fp.hash, fp.instance ? fp.instance : "(unknown)");
    trace_vfi_auto_domain_want(dev_name(cd), c->ioas_id, cap,
                               cd->opts.no_iommu_dirty_tracking, cd->kernel_refused_dirty,
                               want_dirty);
    r = join_or_alloc(c, cd, &fp, want_dirty, &refused, errp);
    if (!refused) {
        return r;
    }
    /* The IOMMU reports the capability but the kernel refused the flag:
     * place the device as one without it (the rule now says so too). */
    cd->kernel_refused_dirty = true;
    r = join_or_alloc(c, cd, &fp, false, &refused, errp);
    g_assert(!refused);
    return r;
}

VfiPlaceResult vfi_placement_place(VfiContainer *c, VfiContainerDevice *cd,
                                       GError **errp)
{
    g_autoptr(GError) err = NULL;

    if (!vfi_device_is_mdev(cd->dev)) {
        return place_physical(c, cd, errp);
    }
    cd->attach_attempts++;
    if (!vfi_device_attach(cd->dev, c->ioas_id, NULL, &err)) {
        bool conflict = is_conflict(err);

        trace_vfi_auto_domain_mdev(dev_name(cd), c->ioas_id, err->code);
        g_propagate_prefixed_error(errp, g_steal_pointer(&err),
                                   "auto domains: mdev %s (devid %u) to ioas %u: ",
                                   dev_name(cd), vfi_device_get_devid(cd->dev), c->ioas_id);
        return conflict ? VFI_PLACE_INCOMPATIBLE : VFI_PLACE_ERROR;
    }
    trace_vfi_auto_domain_mdev(dev_name(cd), c->ioas_id, 0);
    cd->hwpt = NULL;
    return VFI_PLACE_OK;
}
