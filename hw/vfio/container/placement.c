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
 *  - Candidates: the container's HWPTs whose kind flags (dirty tracking,
 *    nest parent) are what the device wants; first those that accepted the
 *    device's fingerprint (hw info and IOMMU instance), then the others the records of the container do not
 *    rule out (placement-memo.c), in creation order. EINVAL from the attach
 *    means "incompatible": it is recorded, and the next candidate is tried.
 *    Any other error fails.
 *  - None fits: a HWPT is allocated for the device on the IOAS and the
 *    device attached to it; if that attach fails the HWPT is destroyed again.
 *    HWPT_ALLOC refusing the dirty flag with EOPNOTSUPP (or the pair
 *    NEST_PARENT | DIRTY_TRACKING with EOPNOTSUPP or EINVAL) is recorded in
 *    the device's placement state (the device is then "untracked: kernel
 *    refused", or "nest parent refused the flag") and in the container's
 *    memo (the next device of the same fingerprint does not ask again), and
 *    the device is placed as one without the dirty flag.
 *  - A device the VMM asked a nest parent for (VfiAttachOptions.nest_parent,
 *    vfi_address_space_set_nesting()) wants IOMMU_HWPT_ALLOC_NEST_PARENT
 *    too; a device joins only HWPTs whose NEST_PARENT and DIRTY_TRACKING
 *    flags are exactly what it wants. NEST_PARENT refused (EOPNOTSUPP)
 *    fails the attach: it is never placed in a plain HWPT instead. A nest
 *    parent with the VT-d erratum 772415 does not join a container holding
 *    read-only mappings (nest-parent.c).
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

/* Try the existing HWPTs of @c whose kind flags are @want: those that
 * accepted @fp first, then the others the records do not rule out. */
static TryResult try_existing(VfiContainer *c, VfiContainerDevice *cd,
                              const VfiFingerprint *fp, uint32_t want, GError **errp)
{
    g_autoptr(GPtrArray) first = vfi_memo_remembered(c, fp, want, dev_name(cd));
    g_autoptr(GPtrArray) others = NULL;
    TryResult r = try_list(c, cd, fp, first, true, errp);

    if (r != TRY_NONE) {
        return r;
    }
    others = vfi_memo_others(c, fp, want, dev_name(cd));
    return try_list(c, cd, fp, others, false, errp);
}

typedef enum {
    NEW_ATTACHED,
    NEW_INCOMPATIBLE,  /* EINVAL from HWPT_ALLOC or from the attach */
    NEW_REFUSED_DIRTY, /* EOPNOTSUPP from HWPT_ALLOC with the dirty flag, or
                        * EINVAL with the nest-parent pair */
    NEW_ERROR,
} NewResult;

/* Whether HWPT_ALLOC's @err refuses the dirty flag of @flags: EOPNOTSUPP,
 * or EINVAL for the pair NEST_PARENT | DIRTY_TRACKING (drivers differ:
 * ARM SMMUv3 says EOPNOTSUPP, others EINVAL). */
static bool refuses_dirty(uint32_t flags, const GError *err)
{
    if (!(flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING)) {
        return false;
    }
    return g_error_matches(err, VFI_KERNEL_ERROR, EOPNOTSUPP) ||
           ((flags & IOMMU_HWPT_ALLOC_NEST_PARENT) &&
            g_error_matches(err, VFI_KERNEL_ERROR, EINVAL));
}

/* HWPT_ALLOC's @err for @flags as the attach's error. */
static NewResult alloc_error(VfiContainer *c, VfiContainerDevice *cd, uint32_t flags,
                             GError *err, GError **errp)
{
    uint32_t devid = vfi_device_get_devid(cd->dev);
    bool incompatible = g_error_matches(err, VFI_KERNEL_ERROR, EINVAL) || is_conflict(err);

    if ((flags & IOMMU_HWPT_ALLOC_NEST_PARENT) &&
        g_error_matches(err, VFI_KERNEL_ERROR, EOPNOTSUPP)) {
        trace_vfi_auto_domain_nest_unsupported(dev_name(cd), devid, c->ioas_id, flags);
        g_propagate_prefixed_error(errp, err, "auto domains: device %s (devid %u) cannot "
                                   "have the nest-parent HWPT the VMM asked for (its IOMMU "
                                   "has no nesting): allocating a hwpt (flags 0x%x) on ioas "
                                   "%u: ", dev_name(cd), devid, flags, c->ioas_id);
        return NEW_ERROR;
    }
    g_propagate_prefixed_error(errp, err, "auto domains: allocating a hwpt (flags 0x%x) for "
                               "device %s (devid %u) on ioas %u: ", flags, dev_name(cd),
                               devid, c->ioas_id);
    return incompatible ? NEW_INCOMPATIBLE : NEW_ERROR;
}

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
        if (refuses_dirty(flags, err)) {
            g_propagate_error(errp, g_steal_pointer(&err));
            return NEW_REFUSED_DIRTY;
        }
        return alloc_error(c, cd, flags, g_steal_pointer(&err), errp);
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

/* Join an existing HWPT whose kind flags are @want, or make one. On
 * *@refused (HWPT_ALLOC refused the dirty flag of @want: refuses_dirty())
 * nothing was placed and @errp is not set. */
static VfiPlaceResult join_or_alloc(VfiContainer *c, VfiContainerDevice *cd,
                                    const VfiFingerprint *fp, uint32_t want, bool *refused,
                                    GError **errp)
{
    g_autoptr(GError) err = NULL;

    *refused = false;
    switch (try_existing(c, cd, fp, want, errp)) {
    case TRY_ATTACHED:
        return VFI_PLACE_OK;
    case TRY_CONFLICT:
        return VFI_PLACE_INCOMPATIBLE;
    case TRY_ERROR:
        return VFI_PLACE_ERROR;
    case TRY_NONE:
        break;
    }
    switch (alloc_and_attach(c, cd, fp, want, &err)) {
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
                                         c->ioas_id, want, err->code, err->message);
    return VFI_PLACE_ERROR;
}

/* The kind flags @cd's device wants: NEST_PARENT when the VMM asked for
 * it, DIRTY_TRACKING when the coverage rule gives it IOMMU coverage. */
static uint32_t wanted_flags(const VfiContainerDevice *cd)
{
    return (cd->opts.nest_parent ? IOMMU_HWPT_ALLOC_NEST_PARENT : 0) |
           (cd->opts.pasid ? VFI_HWPT_ALLOC_PASID : 0) |
           (vfi_coverage_rule(cd, NULL) == VFI_DIRTY_COVERAGE_IOMMU ?
            IOMMU_HWPT_ALLOC_DIRTY_TRACKING : 0);
}

/* Place @cd as one the kernel refused @want for: without the dirty flag
 * (the rule now says so too). When the container does not take it that
 * way either, the refusal of the pair may have been the container's (an
 * EINVAL says both): forgotten, the next container asks again. */
static VfiPlaceResult place_refused(VfiContainer *c, VfiContainerDevice *cd,
                                    const VfiFingerprint *fp, uint32_t want, GError **errp)
{
    uint32_t without = want & ~(uint32_t)IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
    VfiPlaceResult r;
    bool refused;

    cd->refused_flags = want;
    trace_vfi_auto_domain_retry(dev_name(cd), c->ioas_id, want, without);
    r = join_or_alloc(c, cd, fp, without, &refused, errp);
    g_assert(!refused);
    if (r == VFI_PLACE_INCOMPATIBLE && (want & IOMMU_HWPT_ALLOC_NEST_PARENT)) {
        trace_vfi_auto_domain_unrefuse(dev_name(cd), c->ioas_id, want);
        cd->refused_flags = 0;
        vfi_memo_alloc_unrefuse(c, fp, want);
    }
    return r;
}

static VfiPlaceResult place_physical(VfiContainer *c, VfiContainerDevice *cd,
                                     GError **errp)
{
    bool cap = cd->hw_info.capabilities & IOMMU_HW_CAP_DIRTY_TRACKING;
    uint32_t want = wanted_flags(cd);
    VfiFingerprint fp;
    VfiPlaceResult r;
    bool refused;

    vfi_fingerprint_init(&fp, cd);
    trace_vfi_auto_domain_fingerprint(dev_name(cd), fp.hash, fp.instance ? fp.instance : "(unknown)");
    trace_vfi_auto_domain_want(dev_name(cd), c->ioas_id, cap,
                               cd->opts.no_iommu_dirty_tracking, cd->refused_flags,
                               cd->opts.nest_parent, want);
    if ((want & IOMMU_HWPT_ALLOC_NEST_PARENT) && !vfi_nest_parent_check_join(c, cd, errp)) {
        return VFI_PLACE_INCOMPATIBLE;
    }
    if ((want & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) && vfi_memo_alloc_was_refused(c, &fp, want)) {
        /* the kernel refused this flag set for this fingerprint: not again */
        trace_vfi_auto_domain_memo_alloc_known(dev_name(cd), c->ioas_id, want);
        r = place_refused(c, cd, &fp, want, errp);
    } else {
        r = join_or_alloc(c, cd, &fp, want, &refused, errp);
        if (refused) {
            /* The pair is the driver's design (ARM SMMUv3 has none): the
             * same fingerprint gets the same answer. The dirty flag alone
             * refused while the capability is reported is no such rule: the
             * next device asks again. */
            if (want & IOMMU_HWPT_ALLOC_NEST_PARENT) {
                vfi_memo_alloc_refused(c, &fp, want, dev_name(cd));
            }
            r = place_refused(c, cd, &fp, want, errp);
        }
    }
    vfi_memo_release_if_unused(c);
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
