/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: VFIOHwpt, one HWPT the container layer allocated: its id,
 * its allocation flags and the list of devices attached to it.
 */
#include <inttypes.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/iommufd.h"
#include "container-internal.h"
#include "trace.h"

VFIOHwpt *vfio_hwpt_new(VFIOContainer *c, uint32_t id, uint32_t flags)
{
    VFIOHwpt *h = g_new0(VFIOHwpt, 1);

    h->container = c;
    h->id = id;
    h->flags = flags;
    h->devices = g_ptr_array_new();
    g_ptr_array_add(c->hwpts, h);
    vfio_container_dirty_hwpt_added(c, h);
    trace_vfio_hwpt_new(c->ioas_id, id, flags, c->hwpts->len);
    return h;
}

bool vfio_hwpt_destroy(VFIOHwpt *h, GError **errp)
{
    VFIOContainer *c = h->container;
    g_autoptr(GError) err = NULL;

    g_assert(h->devices->len == 0);
    if (!iommufd_backend_free_id(c->be, h->id, &err)) {
        trace_vfio_hwpt_destroy(c->ioas_id, h->id, false);
        g_propagate_prefixed_error(errp, g_steal_pointer(&err),
                                   "cannot destroy hwpt %u of ioas %u (kept in the "
                                   "container's list): ", h->id, c->ioas_id);
        return false;
    }
    trace_vfio_hwpt_destroy(c->ioas_id, h->id, true);
    vfio_container_dirty_hwpt_removed(c, h);
    g_ptr_array_remove(c->hwpts, h);
    g_ptr_array_free(h->devices, true);
    g_free(h);
    return true;
}

void vfio_hwpt_add_device(VFIOHwpt *h, VFIODevice *dev)
{
    g_ptr_array_add(h->devices, dev);
    trace_vfio_hwpt_add_device(h->id, vfio_device_get_name(dev), h->devices->len);
}

void vfio_hwpt_remove_device(VFIOHwpt *h, VFIODevice *dev)
{
    bool found = g_ptr_array_remove(h->devices, dev);

    g_assert(found);
    trace_vfio_hwpt_remove_device(h->id, vfio_device_get_name(dev), h->devices->len);
}

/* ---- public accessors -------------------------------------------------- */

uint32_t vfio_hwpt_get_id(const VFIOHwpt *h)
{
    return h ? h->id : 0;
}

uint32_t vfio_hwpt_get_flags(const VFIOHwpt *h)
{
    return h ? h->flags : 0;
}

unsigned vfio_hwpt_device_count(const VFIOHwpt *h)
{
    return h ? h->devices->len : 0;
}

VFIODevice *vfio_hwpt_device(const VFIOHwpt *h, unsigned i)
{
    if (!h || i >= h->devices->len) {
        return NULL;
    }
    return g_ptr_array_index(h->devices, i);
}
