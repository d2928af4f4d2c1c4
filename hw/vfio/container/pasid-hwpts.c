/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the PASIDs of a device a container placed: which PASID HWPT
 * each (device, PASID) is on.
 *
 * State: the device's PASID table says which HWPT id each of its PASIDs is
 * on (the kernel's answer, device layer); the HWPT (in the container's
 * list, so dirty tracking start/stop and dirty reads include it) counts
 * its users and is destroyed by the last one. Nothing is mirrored.
 */
#include <errno.h>

#include <linux/iommufd.h>

#include "config.h"
#include "vfio-iommufd/device-pasid.h"
#include "vfio-iommufd/error.h"
#include "vfio-iommufd/iommufd.h"
#include "util/kernel-internal.h"
#include "container-internal.h"
#include "container-pasid.h"
#include "trace.h"

#define KVER_PASID "6.15"
#define HAVE_AS_PASID (HAVE_VFIO_DEVICE_ATTACH_PASID && HAVE_IOMMU_HWPT_ALLOC_PASID)

static const char *cd_name(const VfiContainerDevice *cd)
{
    return vfi_device_get_display_name(cd->dev);
}

/* WRONG_STATE naming @what, @cd's device, @pasid and @why. */
static bool refuse_state(const VfiContainerDevice *cd, const char *what, uint32_t pasid,
                         const char *why, GError **errp)
{
    trace_vfi_container_pasid_refused(cd_name(cd), pasid, what, why);
    g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE, "%s: device %s (devid %u) PASID %u: %s",
                what, cd_name(cd), vfi_device_get_devid(cd->dev), pasid, why);
    return false;
}

/* @pasid inside @cd's device's PASID width (hw info read at placement). */
static bool check_width(const VfiContainerDevice *cd, const char *what, uint32_t pasid,
                        GError **errp)
{
    unsigned width = cd->has_hw_info ? cd->hw_info.max_pasid_log2 : 0;

    if (pasid == 0) {
        trace_vfi_container_pasid_refused(cd_name(cd), pasid, what, "PASID 0");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: device %s: PASID 0 is the device's own attach", what, cd_name(cd));
        return false;
    }
    if (width == 0) {
        trace_vfi_container_pasid_refused(cd_name(cd), pasid, what, "no PASID support");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_NOT_SUPPORTED,
                    "%s: device %s (devid %u) has no PASID support (its IOMMU reports a "
                    "max PASID width of 0)", what, cd_name(cd), vfi_device_get_devid(cd->dev));
        return false;
    }
    if (width < 32 && pasid >> width) {
        trace_vfi_container_pasid_refused(cd_name(cd), pasid, what, "beyond the width");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: device %s: PASID %u is beyond its %u-bit PASID width", what,
                    cd_name(cd), pasid, width);
        return false;
    }
    return true;
}

bool vfi_container_check_pasid(const VfiContainerDevice *cd, const char *what, uint32_t pasid,
                               bool attached, GError **errp)
{
#if HAVE_AS_PASID
    if (!check_width(cd, what, pasid, errp)) {
        return false;
    }
    if (attached != (vfi_device_get_pasid_pt(cd->dev, pasid) != 0)) {
        return refuse_state(cd, what, pasid, attached ? "not attached" :
                            "already attached (detach it first)", errp);
    }
    if (attached) {
        return true;
    }
    if (!cd->hwpt || !(cd->hwpt->flags & IOMMU_HWPT_ALLOC_PASID)) {
        /* iommufd_hwpt_pasid_compat(): the device's own domain must take PASIDs */
        return refuse_state(cd, what, pasid, "the device's own HWPT was not allocated "
                            "with IOMMU_HWPT_ALLOC_PASID (attach the device with the "
                            "pasid option)", errp);
    }
    if (cd->container->dirty_tracking) {
        return refuse_state(cd, what, pasid, "a dirty-tracking session is on (its PASID "
                            "DMA would be untracked until the next start)", errp);
    }
    return true;
#else
    (void)refuse_state, (void)check_width, (void)pasid, (void)attached, (void)cd;
    vfi_kernel_uapi_missing(errp, what, "VFIO_DEVICE_ATTACH_PASID", KVER_PASID);
    return false;
#endif
}

#if HAVE_AS_PASID
/* The HWPT_ALLOC flags of @cd's PASID HWPTs. */
static uint32_t pasid_flags(const VfiContainerDevice *cd)
{
    bool dirty = cd->has_hw_info && (cd->hw_info.capabilities & IOMMU_HW_CAP_DIRTY_TRACKING) &&
                 !cd->opts.no_iommu_dirty_tracking;

    return IOMMU_HWPT_ALLOC_PASID | (dirty ? IOMMU_HWPT_ALLOC_DIRTY_TRACKING : 0);
}

/* Whether @h was made for @cd's IOMMU instance. */
static bool same_iommu(const VfiHwpt *h, const VfiContainerDevice *cd)
{
    const char *inst = vfi_device_get_iommu_instance(cd->dev);

    return inst ? g_strcmp0(inst, h->pasid_instance) == 0
                : h->pasid_devid == vfi_device_get_devid(cd->dev);
}

static VfiHwpt *hwpt_by_id(const VfiContainer *c, uint32_t id)
{
    for (guint i = 0; i < c->hwpts->len; i++) {
        VfiHwpt *h = g_ptr_array_index(c->hwpts, i);

        if (h->id == id) {
            return h;
        }
    }
    return NULL;
}

/* A PASID HWPT of @c for @cd with @flags some (device, PASID) uses, or NULL. */
static VfiHwpt *pick_shared(const VfiContainer *c, const VfiContainerDevice *cd,
                            uint32_t flags)
{
    for (guint i = 0; i < c->hwpts->len; i++) {
        VfiHwpt *h = g_ptr_array_index(c->hwpts, i);

        if (h->for_pasid && h->flags == flags && h->pasid_users && same_iommu(h, cd)) {
            return h;
        }
    }
    return NULL;
}

/* IOMMU_HWPT_ALLOC of a new PASID HWPT on @c's IOAS for @cd. */
static VfiHwpt *alloc_pasid_hwpt(VfiContainer *c, VfiContainerDevice *cd, uint32_t flags,
                                 GError **errp)
{
    uint32_t devid = vfi_device_get_devid(cd->dev), id = 0;

    if (!vfi_iommufd_hwpt_alloc(c->be, devid, c->ioas_id, flags, IOMMU_HWPT_DATA_NONE, 0,
                                NULL, &id, errp)) {
        g_prefix_error(errp, "attach_pasid: allocating a PASID hwpt (flags 0x%x) for device "
                       "%s (devid %u) on ioas %u: ", flags, cd_name(cd), devid, c->ioas_id);
        return NULL;
    }
    trace_vfi_container_pasid_hwpt(cd_name(cd), c->ioas_id, id, flags, "allocated");
    return vfi_hwpt_new_for_pasid(c, id, flags, vfi_device_get_iommu_instance(cd->dev), devid);
}

/* One user fewer of @h; the last destroys it. */
static bool pasid_unuse(VfiHwpt *h, GError **errp)
{
    g_assert(h->pasid_users > 0);
    h->pasid_users--;
    trace_vfi_container_pasid_users(h->id, h->pasid_users);
    if (h->pasid_users || h->devices->len) {
        return true;
    }
    return vfi_hwpt_destroy(h, errp);
}

/* @pasid of @cd's device onto a PASID HWPT of its container, shared or
 * made (destroyed again on failure): an attach, or a @replace of the
 * nested HWPT it is on. */
static bool onto_pasid_hwpt(VfiContainerDevice *cd, uint32_t pasid, bool replace,
                            GError **errp)
{
    VfiContainer *c = cd->container;
    uint32_t flags = pasid_flags(cd);
    VfiHwpt *h = pick_shared(c, cd, flags);
    bool made = !h;
    g_autoptr(GError) err = NULL;

    if (h) {
        trace_vfi_container_pasid_hwpt(cd_name(cd), c->ioas_id, h->id, flags, "shared");
    } else if (replace && c->dirty_tracking) {
        return refuse_state(cd, "replace_pasid", pasid, "a dirty-tracking session is on and "
                            "no PASID HWPT is shared (a new one would be untracked until "
                            "the next start)", errp);
    } else if (!(h = alloc_pasid_hwpt(c, cd, flags, errp))) {
        return false;
    }
    if (!vfi_device_attach_pasid_owned(cd->dev, pasid, h->id, replace, errp)) {
        if (made && !vfi_hwpt_destroy(h, &err)) {
            /* kept in the list without users: the container's cleanup retries */
            trace_vfi_container_pasid_rollback_failed(h->id, err->message);
        }
        return false;
    }
    h->pasid_users++;
    trace_vfi_container_pasid_users(h->id, h->pasid_users);
    return true;
}

bool vfi_container_attach_pasid(VfiContainerDevice *cd, uint32_t pasid, GError **errp)
{
    return onto_pasid_hwpt(cd, pasid, false, errp);
}

/* @pasid of @cd's device from the PASID HWPT @old (NULL: a nested HWPT)
 * onto the nested HWPT @to_id. */
static bool onto_nested(VfiContainerDevice *cd, uint32_t pasid, VfiHwpt *old, uint32_t to_id,
                        GError **errp)
{
    g_autoptr(GError) err = NULL;

    if (!vfi_device_attach_pasid_owned(cd->dev, pasid, to_id, true, errp)) {
        return false;
    }
    if (old && !pasid_unuse(old, &err)) {
        /* the PASID moved: the call succeeded; the HWPT it left stays in
         * the list without users and the container's cleanup retries */
        trace_vfi_container_pasid_hwpt_kept(old->id, err->message);
    }
    return true;
}

bool vfi_container_replace_pasid(VfiContainerDevice *cd, uint32_t pasid, uint32_t to_id,
                                 GError **errp)
{
    uint32_t cur = vfi_device_get_pasid_pt(cd->dev, pasid);
    VfiHwpt *old = hwpt_by_id(cd->container, cur);

    old = old && old->for_pasid ? old : NULL;
    if (to_id ? cur == to_id : old != NULL) {
        trace_vfi_container_pasid_hwpt(cd_name(cd), cd->container->ioas_id, cur, 0,
                                       "replace: already there");
        return true;
    }
    if (to_id) {
        return onto_nested(cd, pasid, old, to_id, errp);
    }
    return onto_pasid_hwpt(cd, pasid, true, errp);
}

bool vfi_container_detach_pasid(VfiContainerDevice *cd, uint32_t pasid, GError **errp)
{
    VfiHwpt *h = hwpt_by_id(cd->container, vfi_device_get_pasid_pt(cd->dev, pasid));

    if (!vfi_device_detach_pasid_owned(cd->dev, pasid, errp)) {
        return false;
    }
    return !h || !h->for_pasid || pasid_unuse(h, errp);
}

bool vfi_container_detach_pasids(VfiContainerDevice *cd, GError **errp)
{
    g_autoptr(GList) keys = cd->dev->pasids ? g_hash_table_get_keys(cd->dev->pasids) : NULL;

    for (GList *l = keys; l; l = l->next) {
        uint32_t pasid = GPOINTER_TO_UINT(l->data);

        trace_vfi_container_pasid_drop(cd_name(cd), pasid);
        if (!vfi_container_detach_pasid(cd, pasid, errp)) {
            return false;
        }
    }
    return true;
}

bool vfi_container_device_uses_pt(const VfiContainerDevice *cd, uint32_t pt_id)
{
    GHashTableIter it;
    gpointer value;

    if (!cd || !pt_id) {
        return false;
    }
    if (cd->stage1_id == pt_id) {
        return true;
    }
    if (cd->dev->pasids) {
        g_hash_table_iter_init(&it, cd->dev->pasids);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
            if (GPOINTER_TO_UINT(value) == pt_id) {
                return true;
            }
        }
    }
    return false;
}
#else
bool vfi_container_attach_pasid(VfiContainerDevice *cd, uint32_t pasid, GError **errp)
{
    return vfi_container_check_pasid(cd, "attach_pasid", pasid, false, errp);
}

bool vfi_container_detach_pasid(VfiContainerDevice *cd, uint32_t pasid, GError **errp)
{
    return vfi_container_check_pasid(cd, "detach_pasid", pasid, true, errp);
}

bool vfi_container_detach_pasids(VfiContainerDevice *cd, GError **errp)
{
    (void)cd, (void)errp;
    return true;            /* without the UAPI no PASID was ever attached */
}

bool vfi_container_replace_pasid(VfiContainerDevice *cd, uint32_t pasid, uint32_t to_id,
                                 GError **errp)
{
    (void)to_id;
    return vfi_container_check_pasid(cd, "replace_pasid", pasid, true, errp);
}

bool vfi_container_device_uses_pt(const VfiContainerDevice *cd, uint32_t pt_id)
{
    return cd && pt_id && cd->stage1_id == pt_id;
}
#endif
