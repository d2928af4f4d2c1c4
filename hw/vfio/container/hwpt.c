/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: VfiHwpt, one HWPT the container layer allocated: its id,
 * its allocation flags, the list of devices attached to it, and whether its
 * dirty tracking is on (switched by the migration layer through
 * vfi_hwpt_set_dirty_tracking(), which keeps the state with the kernel's).
 * The placement records naming it (placement-memo.c) are made with it and
 * forgotten by its destroy.
 */
#include <inttypes.h>

#include <linux/iommufd.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/iommufd.h"
#include "container-internal.h"
#include "trace.h"

/* The record, before it enters the memo and the list. */
static VfiHwpt *hwpt_alloc_record(VfiContainer *c, uint32_t id, uint32_t flags)
{
    VfiHwpt *h = g_new0(VfiHwpt, 1);

    h->container = c;
    h->id = id;
    h->flags = flags;
    h->devices = g_ptr_array_new();
    return h;
}

VfiHwpt *vfi_hwpt_new_for_pasid(VfiContainer *c, uint32_t id, uint32_t flags,
                                const char *instance, uint32_t devid)
{
    VfiHwpt *h = hwpt_alloc_record(c, id, flags);

    h->for_pasid = true;
    h->pasid_instance = g_strdup(instance);
    h->pasid_devid = devid;
    vfi_memo_hwpt_new(h);
    g_ptr_array_add(c->hwpts, h);
    trace_vfi_hwpt_new(c->ioas_id, id, flags, c->hwpts->len);
    return h;
}

VfiHwpt *vfi_hwpt_new(VfiContainer *c, uint32_t id, uint32_t flags)
{
    VfiHwpt *h = hwpt_alloc_record(c, id, flags);

    vfi_memo_hwpt_new(h);
    g_ptr_array_add(c->hwpts, h);
    trace_vfi_hwpt_new(c->ioas_id, id, flags, c->hwpts->len);
    return h;
}

bool vfi_hwpt_destroy(VfiHwpt *h, GError **errp)
{
    VfiContainer *c = h->container;
    g_autoptr(GError) err = NULL;

    g_assert(h->devices->len == 0);
    if (!vfi_iommufd_destroy(c->be, h->id, &err)) {
        trace_vfi_hwpt_destroy(c->ioas_id, h->id, false);
        g_propagate_prefixed_error(errp, g_steal_pointer(&err),
                                   "cannot destroy hwpt %u of ioas %u (kept in the "
                                   "container's list): ", h->id, c->ioas_id);
        return false;
    }
    trace_vfi_hwpt_destroy(c->ioas_id, h->id, true);
    /* its id may come back for another HWPT: what it said goes with it */
    vfi_memo_hwpt_forget(h);
    g_ptr_array_remove(c->hwpts, h);
    g_ptr_array_free(h->devices, true);
    g_free(h->pasid_instance);
    g_free(h);
    return true;
}

void vfi_hwpt_add_device(VfiHwpt *h, VfiDevice *dev)
{
    g_ptr_array_add(h->devices, dev);
    trace_vfi_hwpt_add_device(h->id, vfi_device_get_display_name(dev), h->devices->len);
}

void vfi_hwpt_remove_device(VfiHwpt *h, VfiDevice *dev)
{
    bool found = g_ptr_array_remove(h->devices, dev);

    g_assert(found);
    trace_vfi_hwpt_remove_device(h->id, vfi_device_get_display_name(dev), h->devices->len);
}

bool vfi_hwpt_is_dirty_capable(const VfiHwpt *h)
{
    return h->flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
}

bool vfi_hwpt_set_dirty_tracking(VfiHwpt *h, bool on, GError **errp)
{
    VfiContainer *c = h->container;

    if (!vfi_iommufd_hwpt_set_dirty_tracking(c->be, h->id, on, errp)) {
        g_prefix_error(errp, "dirty tracking %s: hwpt %u of ioas %u failed: ",
                       on ? "start" : "stop", h->id, c->ioas_id);
        return false;
    }
    h->dirty_on = on;
    return true;
}

/* ---- public accessors -------------------------------------------------- */

uint32_t vfi_hwpt_get_id(const VfiHwpt *h)
{
    return h ? h->id : 0;
}

uint32_t vfi_hwpt_get_flags(const VfiHwpt *h)
{
    return h ? h->flags : 0;
}

unsigned vfi_hwpt_device_count(const VfiHwpt *h)
{
    VFI_LOCK_GUARD(vfi_hwpt_lock(h));

    return h ? h->devices->len : 0;
}

VfiDevice *vfi_hwpt_device(const VfiHwpt *h, unsigned i)
{
    VFI_LOCK_GUARD(vfi_hwpt_lock(h));

    if (!h || i >= h->devices->len) {
        return NULL;
    }
    return g_ptr_array_index(h->devices, i);
}

bool vfi_hwpt_dirty_tracking_is_on(const VfiHwpt *h)
{
    VFI_LOCK_GUARD(vfi_hwpt_lock(h));

    return h && h->dirty_on;
}
