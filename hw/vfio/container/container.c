/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: VfiContainer, one IOAS of one backend: its life cycle, its
 * IOVA ranges, its device list and the checks its own state imposes.
 *
 * A container connects a backend user, allocates an IOAS and reads the
 * IOAS's allowed IOVA ranges and alignment. Those change with what is
 * attached (an IOAS without a domain allows all 64 bits with alignment 1;
 * a domain limits them to its aperture with its page size; a physical
 * device reserves its reserved regions, the x86 MSI window), so they are
 * read again after every placement and every detach. It goes away with its
 * last device: its empty HWPTs and its IOAS are destroyed (destroying the
 * IOAS drops its mappings) and the backend user is dropped.
 *
 * While a dirty-tracking session is on (c->dirty_tracking, written by the
 * migration layer) the container refuses what would lose dirty pages: a
 * map outside the ranges a logging device logs, a plain unmap, the detach
 * of a tracked device. Its mappings are in mappings.c, its HWPTs in hwpt.c.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <inttypes.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/iommufd.h"
#include "container-internal.h"
#include "type1.h"
#include "trace.h"

/* ---- checks ------------------------------------------------------------ */

const char *vfi_container_describe(const VfiContainer *c, char *buf, size_t len)
{
    if (!c) {
        g_strlcpy(buf, "no container", len);
    } else if (c->type1) {
        snprintf(buf, len, "type1 container fd %d", vfi_type1_get_fd(c->type1->t1));
    } else {
        snprintf(buf, len, "ioas %u", c->ioas_id);
    }
    return buf;
}

bool vfi_container_check_given(const VfiContainer *c, const char *what, GError **errp)
{
    if (!c) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: no container given", what);
        return false;
    }
    return true;
}

/* While tracking is on: [iova, last] inside the ranges of every device
 * whose DMA logging is on. */
static bool check_map_logged(const VfiContainer *c, const char *what, uint64_t iova,
                             uint64_t last, GError **errp)
{
    if (!c->dirty_tracking) {
        return true;
    }
    for (guint i = 0; i < c->devices->len; i++) {
        VfiDevice *dev = g_ptr_array_index(c->devices, i);

        if (vfi_device_dma_logging_covers(dev, iova, last)) {
            continue;
        }
        trace_vfi_container_refused(c->ioas_id, what, "outside a device's logged ranges",
                                    iova, last - iova + 1);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "%s: [0x%" PRIx64 ", 0x%" PRIx64 "] is outside the IOVA ranges "
                    "device %s logs its DMA for (given when dirty tracking of %s "
                    "started): stop tracking, map, and start it again", what, iova,
                    last, vfi_device_get_display_name(dev), VFI_CONTAINER_DESC(c));
        return false;
    }
    return true;
}

bool vfi_container_check_sized(const VfiContainer *c, const char *what, uint64_t iova,
                               uint64_t size, GError **errp)
{
    if (!vfi_range_check(what, iova, size, errp)) {
        return false;
    }
    if (iova % c->alignment || size % c->alignment) {
        trace_vfi_container_refused(c->ioas_id, what, "misaligned", iova, size);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: iova 0x%" PRIx64 " size 0x%" PRIx64 " not aligned to the IOVA "
                    "alignment 0x%" PRIx64 " of %s", what, iova, size, c->alignment,
                    VFI_CONTAINER_DESC(c));
        return false;
    }
    return true;
}

bool vfi_container_check_map(const VfiContainer *c, const char *what, uint64_t iova,
                             uint64_t size, GError **errp)
{
    uint64_t last;

    if (!vfi_container_check_sized(c, what, iova, size, errp)) {
        return false;
    }
    last = iova + (size - 1);
    for (size_t i = 0; i < c->nr_ranges; i++) {
        if (iova >= c->ranges[i].start && last <= c->ranges[i].last) {
            return check_map_logged(c, what, iova, last, errp);
        }
    }
    trace_vfi_container_refused(c->ioas_id, what, "outside the allowed IOVA ranges", iova,
                                size);
    g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                "%s: [0x%" PRIx64 ", 0x%" PRIx64 "] is not inside one allowed IOVA range "
                "of %s", what, iova, last, VFI_CONTAINER_DESC(c));
    return false;
}

bool vfi_container_check_unmap_tracking(const VfiContainer *c, const char *what,
                                        VfiUnmapFlags flags, GError **errp)
{
    if (!c->dirty_tracking || (flags & VFI_UNMAP_DISCARD_DIRTY)) {
        return true;
    }
    trace_vfi_container_refused(c->ioas_id, what, "dirty tracking is on", 0, 0);
    g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                "%s: dirty tracking is on for %s: read the range's dirty bits first "
                "(vfi_container_dma_unmap_dirty()) or pass VFI_UNMAP_DISCARD_DIRTY",
                what, VFI_CONTAINER_DESC(c));
    return false;
}

bool vfi_container_check_detach(const VfiContainer *c, const VfiContainerDevice *cd,
                                GError **errp)
{
    if (!c->dirty_tracking || vfi_coverage_rule(cd, NULL) == VFI_DIRTY_COVERAGE_NONE) {
        return true;
    }
    trace_vfi_container_refused(c->ioas_id, "detach", "tracked device while tracking is on",
                                0, 0);
    g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                "device %s is dirty-tracked and tracking is on for %s: its unread "
                "dirty pages would be lost; sync and stop tracking before unplugging it",
                vfi_device_get_display_name(cd->dev), VFI_CONTAINER_DESC(c));
    return false;
}

/* ---- life cycle -------------------------------------------------------- */

void vfi_container_file_close(const char *what, int fd)
{
    if (fd >= 0) {
        /* A host fd of the library's own (not a kernel-seam fd): the file
         * stays alive while the kernel's mappings reference it. */
        int ret = close(fd);

        trace_vfi_container_file_close(what, fd, ret < 0 ? errno : 0);
    }
}

void vfi_container_forget_all_mappings(VfiContainer *c)
{
    VfiRangeIter it;

    for (const VfiContainerMapping *m = vfi_range_tree_nth(c->maps, 0, &it); m;
         m = vfi_range_iter_next(&it)) {
        if (!m->by_as) {
            vfi_container_file_close("container mapping forgotten", m->src.fd);
        }
    }
    vfi_range_tree_clear(c->maps);
    c->nr_container_maps = 0;
}

void vfi_container_free_record(VfiContainer *c)
{
    g_assert(c->devices->len == 0 && c->hwpts->len == 0);
    g_ptr_array_free(c->devices, true);
    g_ptr_array_free(c->hwpts, true);
    vfi_container_forget_all_mappings(c);
    vfi_range_tree_free(c->maps);
    vfi_range_tree_free(c->mapped);
    g_clear_pointer(&c->kept, g_array_unref);
    g_free(c->scratch.buf);
    g_free(c->ranges);
    g_free(c);
}

bool vfi_container_cleanup(VfiContainer *c, bool *freed, GError **errp)
{
    return c->ops->cleanup(c, freed, errp);
}

bool vfi_container_refresh_ranges(VfiContainer *c, GError **errp)
{
    return c->ops->refresh_ranges(c, errp);
}

VfiPlaceResult vfi_container_attach_device(VfiContainer *c, VfiContainerDevice *cd,
                                           GError **errp)
{
    return c->ops->attach(c, cd, errp);
}

bool vfi_container_detach_device(VfiContainer *c, VfiContainerDevice *cd, GError **errp)
{
    return c->ops->detach(c, cd, errp);
}

/* ---- devices ----------------------------------------------------------- */

G_STATIC_ASSERT(G_STRUCT_OFFSET(VfiContainerDevice, owner) == 0);

VfiContainerDevice *vfi_container_device_new(VfiDevice *dev, const VfiAttachOptions *opts,
                                             void (*release)(VfiDeviceOwner *, VfiDevice *))
{
    VfiContainerDevice *cd = g_new0(VfiContainerDevice, 1);

    cd->owner.release = release;
    cd->dev = dev;
    if (opts) {
        cd->opts = *opts;
    }
    return cd;
}

void vfi_container_add_device(VfiContainer *c, VfiContainerDevice *cd)
{
    cd->container = c;
    cd->owner.lock = c->lock;
    g_ptr_array_add(c->devices, cd->dev);
    vfi_device_set_owner(cd->dev, &cd->owner);
    trace_vfi_container_add_device(c->ioas_id, vfi_device_get_display_name(cd->dev),
                                   cd->hwpt ? cd->hwpt->id : 0, cd->attach_attempts,
                                   c->devices->len);
}

bool vfi_container_forget_device(VfiContainer *c, VfiContainerDevice *cd, GError **errp)
{
    g_autofree char *name = g_strdup(vfi_device_get_display_name(cd->dev));
    g_autoptr(GError) err = NULL;
    VfiHwpt *h = cd->hwpt;
    bool found;

    if (h) {
        vfi_hwpt_remove_device(h, cd->dev);
    }
    found = g_ptr_array_remove(c->devices, cd->dev);
    g_assert(found);
    vfi_device_set_owner(cd->dev, NULL);
    trace_vfi_container_remove_device(c->ioas_id, name, c->devices->len);
    g_free(cd);
    if (h && h->devices->len == 0 && !vfi_hwpt_destroy(h, &err)) {
        g_propagate_prefixed_error(errp, g_steal_pointer(&err), "device %s detached, but: ",
                                   name);
        return false;
    }
    /* The device's reservations (and its domain's aperture with the last
     * HWPT) went away: read what the IOAS allows now. On failure the
     * container keeps its older, stricter ranges until the next re-read. */
    if (c->devices->len && !vfi_container_refresh_ranges(c, &err)) {
        g_propagate_prefixed_error(errp, g_steal_pointer(&err), "device %s detached, but: ",
                                   name);
        return false;
    }
    return true;
}

/* ---- public accessors -------------------------------------------------- */

uint32_t vfi_container_get_ioas_id(const VfiContainer *c)
{
    return c ? c->ioas_id : 0;
}

VfiIommufd *vfi_container_get_backend(const VfiContainer *c)
{
    return c ? c->be : NULL;
}

VfiBackendKind vfi_container_get_backend_kind(const VfiContainer *c)
{
    return c ? c->ops->kind : VFI_BACKEND_AUTO;
}

VfiAddressSpace *vfi_container_get_address_space(const VfiContainer *c)
{
    return c ? c->as : NULL;
}

const VfiIovaRange *vfi_container_get_iova_ranges(const VfiContainer *c, size_t *n)
{
    VFI_LOCK_GUARD(vfi_container_lock(c));

    if (n) {
        *n = c ? c->nr_ranges : 0;
    }
    return c ? c->ranges : NULL;
}

uint64_t vfi_container_get_iova_alignment(const VfiContainer *c)
{
    VFI_LOCK_GUARD(vfi_container_lock(c));

    return c ? c->alignment : 0;
}

unsigned vfi_container_device_count(const VfiContainer *c)
{
    VFI_LOCK_GUARD(vfi_container_lock(c));

    return c ? c->devices->len : 0;
}

VfiDevice *vfi_container_device(const VfiContainer *c, unsigned i)
{
    VFI_LOCK_GUARD(vfi_container_lock(c));

    if (!c || i >= c->devices->len) {
        return NULL;
    }
    return g_ptr_array_index(c->devices, i);
}

unsigned vfi_container_hwpt_count(const VfiContainer *c)
{
    VFI_LOCK_GUARD(vfi_container_lock(c));

    return c ? c->hwpts->len : 0;
}

VfiHwpt *vfi_container_hwpt(const VfiContainer *c, unsigned i)
{
    VFI_LOCK_GUARD(vfi_container_lock(c));

    if (!c || i >= c->hwpts->len) {
        return NULL;
    }
    return g_ptr_array_index(c->hwpts, i);
}

VfiHwpt *vfi_container_find_hwpt(const VfiContainer *c, uint32_t hwpt_id)
{
    VFI_LOCK_GUARD(vfi_container_lock(c));

    for (guint i = 0; c && i < c->hwpts->len; i++) {
        VfiHwpt *h = g_ptr_array_index(c->hwpts, i);

        if (h->id == hwpt_id) {
            return h;
        }
    }
    return NULL;
}

VfiContainer *vfi_hwpt_get_container(const VfiHwpt *h)
{
    return h ? h->container : NULL;
}

VfiContainer *vfi_device_get_container(const VfiDevice *dev)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));
    VfiContainerDevice *cd = vfi_container_device_state(dev);

    return cd ? cd->container : NULL;
}

VfiHwpt *vfi_device_get_hwpt(const VfiDevice *dev)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));
    VfiContainerDevice *cd = vfi_container_device_state(dev);

    return cd ? cd->hwpt : NULL;
}

unsigned vfi_device_get_attach_attempts(const VfiDevice *dev)
{
    VFI_LOCK_GUARD(vfi_device_lock(dev));
    VfiContainerDevice *cd = vfi_container_device_state(dev);

    return cd ? cd->attach_attempts : 0;
}

void vfi_container_get_dirty_stats(const VfiContainer *c, VfiDirtyStats *st)
{
    VFI_LOCK_GUARD(vfi_container_lock(c));

    if (st) {
        *st = c ? c->scratch.stats : (VfiDirtyStats){ 0 };
    }
}

bool vfi_container_dirty_tracking_is_active(const VfiContainer *c)
{
    VFI_LOCK_GUARD(vfi_container_lock(c));

    return c && c->dirty_tracking;
}
