/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the IOMMUFD backend of a container (container-ops.h): the
 * making of an IOMMUFD container (a backend user, an IOAS) and the ops its
 * record uses (placement for an attach, IOMMU_IOAS_MAP/MAP_FILE/UNMAP, the
 * IOAS's ranges, the destroy of its empty HWPTs and IOAS). Apart from
 * container.c so that the generic record never names a backend (the
 * layer's file graph stays without a circle).
 */
#include <errno.h>
#include <inttypes.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/iommufd.h"
#include "container-internal.h"
#include "trace.h"

/* Destroy @c's HWPTs without devices (left over from a destroy that failed
 * earlier). Returns: the first error, or NULL. */
static GError *destroy_empty_hwpts(VfiContainer *c)
{
    GError *err = NULL;

    for (guint i = 0; i < c->hwpts->len;) {
        VfiHwpt *h = g_ptr_array_index(c->hwpts, i);
        g_autoptr(GError) herr = NULL;

        if (h->devices->len == 0 && h->pasid_users == 0 && vfi_hwpt_destroy(h, &herr)) {
            continue;
        }
        if (herr) {
            trace_vfi_container_cleanup_failed(c->ioas_id, herr->message);
            if (!err) {
                err = g_steal_pointer(&herr);
            }
        }
        i++;
    }
    return err;
}

static bool iommufd_cleanup(VfiContainer *c, bool *freed, GError **errp)
{
    g_autoptr(GError) err = destroy_empty_hwpts(c);

    *freed = false;
    if (c->devices->len || c->hwpts->len) {
        if (err) {
            g_propagate_error(errp, g_steal_pointer(&err));
            return false;
        }
        return true;
    }
    if (!vfi_iommufd_destroy(c->be, c->ioas_id, &err)) {
        trace_vfi_container_cleanup_failed(c->ioas_id, err->message);
        g_propagate_prefixed_error(errp, g_steal_pointer(&err),
                                   "cannot destroy ioas %u of an empty container (kept): ",
                                   c->ioas_id);
        return false;
    }
    trace_vfi_container_destroy(c->ioas_id);
    vfi_iommufd_disconnect(c->be);
    vfi_container_free_record(c);
    *freed = true;
    return true;
}

static bool iommufd_refresh_ranges(VfiContainer *c, GError **errp)
{
    g_autofree VfiIovaRange *ranges = NULL;
    g_autoptr(GError) err = NULL;
    size_t n = 0;
    uint64_t align = 0;

    if (!vfi_iommufd_ioas_iova_ranges(c->be, c->ioas_id, &ranges, &n, &align, &err)) {
        trace_vfi_container_ranges_refresh(c->ioas_id, c->nr_ranges, c->alignment,
                                            err->code);
        g_propagate_prefixed_error(errp, g_steal_pointer(&err),
                                   "re-reading the IOVA ranges of ioas %u (it keeps the "
                                   "%zu it had): ", c->ioas_id, c->nr_ranges);
        return false;
    }
    g_free(c->ranges);
    c->ranges = g_steal_pointer(&ranges);
    c->nr_ranges = n;
    c->alignment = align ? align : 1;
    trace_vfi_container_ranges_refresh(c->ioas_id, c->nr_ranges, c->alignment, 0);
    return true;
}

/* ---- the IOMMUFD backend's ops (container-ops.h) ------------------------ */

static bool iommufd_detach(VfiContainer *c, VfiContainerDevice *cd, GError **errp)
{
    (void)c;
    return vfi_device_detach(cd->dev, errp);
}

static bool iommufd_map(VfiContainer *c, uint64_t iova, uint64_t size, const VfiMapSource *src,
                        bool readonly, uint64_t *iova_out, GError **errp)
{
    *iova_out = iova;
    if (src->fd < 0) {
        return vfi_iommufd_ioas_map(c->be, c->ioas_id, iova, size, src->vaddr, readonly, errp);
    }
    return vfi_iommufd_ioas_map_file(c->be, c->ioas_id, iova, src->fd, src->offset, size,
                                     readonly, iova_out, errp);
}

static bool iommufd_unmap(VfiContainer *c, uint64_t iova, uint64_t size, const VfiDirtyLog *log,
                          uint64_t *done, GError **errp)
{
    (void)log;      /* the migration layer read the HWPTs before */
    if (iova == 0 && size == 0) {
        return vfi_iommufd_ioas_unmap_all(c->be, c->ioas_id, done, errp);
    }
    return vfi_iommufd_ioas_unmap(c->be, c->ioas_id, iova, size, done, errp);
}

static const VfiContainerOps iommufd_ops = {
    .name = "iommufd",
    .kind = VFI_BACKEND_IOMMUFD,
    .attach = vfi_placement_place,
    .detach = iommufd_detach,
    .map = iommufd_map,
    .unmap = iommufd_unmap,
    .refresh_ranges = iommufd_refresh_ranges,
    .cleanup = iommufd_cleanup,
};

VfiContainer *vfi_container_new(VfiAddressSpace *as, VfiLock *lock, VfiIommufd *be,
                                GError **errp)
{
    VfiContainer *c;
    uint32_t ioas_id;

    if (!vfi_iommufd_connect(be, errp)) {
        return NULL;
    }
    if (!vfi_iommufd_ioas_alloc(be, &ioas_id, errp)) {
        vfi_iommufd_disconnect(be);
        return NULL;
    }
    c = vfi_container_wrap(as, lock, be, ioas_id);
    trace_vfi_container_create(ioas_id);
    return c;
}

VfiContainer *vfi_container_wrap(VfiAddressSpace *as, VfiLock *lock, VfiIommufd *be,
                                 uint32_t ioas_id)
{
    VfiContainer *c = g_new0(VfiContainer, 1);

    c->ops = &iommufd_ops;
    c->lock = lock;
    c->as = as;
    c->be = be;
    c->ioas_id = ioas_id;
    c->alignment = 1;
    c->devices = g_ptr_array_new();
    c->hwpts = g_ptr_array_new();
    c->maps = vfi_range_tree_new(sizeof(VfiContainerMapping));
    c->mapped = vfi_range_tree_new(sizeof(VfiRange));
    c->mapped_valid = true;
    return c;
}

