/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: a container across a live update (container-internal.h).
 *
 * Saved: the IOAS id, its IOVA ranges and alignment, the tracking state
 * and kept pages, each HWPT (id, flags, tracking on), each device's
 * placement (its HWPT, attach options, what placement learnt, its IOMMU hw
 * info) with the device layer's own state, and the record of mappings
 * (file mappings only: IOMMU_IOAS_CHANGE_PROCESS refuses others, so a
 * container with a mapping of process memory is not saved).
 *
 * Restored without re-attaching or re-mapping anything: the records are
 * built from the state and checked against the kernel with requests that
 * change nothing there: IOMMU_IOAS_IOVA_RANGES (the IOAS exists, and its
 * ranges, which the attached devices' domains and reserved regions shape,
 * are the saved ones), IOMMU_HWPT_GET_DIRTY_BITMAP with NO_CLEAR over one
 * page (only ENOENT says the HWPT does not exist: a HWPT without dirty
 * tracking answers EOPNOTSUPP after its lookup), the device layer's
 * VFIO_DEVICE_GET_INFO and IOMMU_GET_HW_INFO by devid (the binding, and
 * that the devid is the same IOMMU as saved). The kernel has no request
 * that tells which page table a device is attached to without changing
 * it: that one is taken from the blob.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <linux/iommufd.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/iommufd.h"
#include "util/saved-ranges.h"
#include "container-internal.h"
#include "trace.h"

/* ---- save -------------------------------------------------------------- */

/* A PASID HWPT (pasid-hwpts.c) is not handed over: the PASID tables and
 * users are not saved yet. */
static bool check_no_pasid(const VfiContainer *c, GError **errp)
{
    for (guint i = 0; i < c->hwpts->len; i++) {
        const VfiHwpt *h = g_ptr_array_index(c->hwpts, i);

        if (h->for_pasid) {
            trace_vfi_container_refused(c->ioas_id, "live-update save", "a PASID hwpt", 0, 0);
            g_set_error(errp, VFI_ERROR, VFI_ERROR_NOT_SUPPORTED,
                        "live-update save: ioas %u has PASID hwpt %u (PASIDs attached): "
                        "detach the PASIDs first (a handover of PASIDs is not supported)",
                        c->ioas_id, h->id);
            return false;
        }
    }
    return true;
}

bool vfi_container_check_savable(const VfiContainer *c, GError **errp)
{
    VfiRangeIter it;

    if (vfi_container_is_type1(c)) {
        /* (issue 12's ops table put type1 containers in the address space's
         * list: refused here, no ioctl) */
        trace_vfi_container_refused(0, "live-update save", "a type1 container", 0, 0);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_NOT_SUPPORTED,
                    "live-update save: a type1 container has no handover (the kernel "
                    "hands over an iommufd's IOAS: IOMMU_IOAS_CHANGE_PROCESS)");
        return false;
    }
    if (!check_no_pasid(c, errp)) {
        return false;
    }

    for (const VfiContainerMapping *m = vfi_range_tree_nth(c->maps, 0, &it); m;
         m = vfi_range_iter_next(&it)) {
        if (m->src.fd < 0) {
            trace_vfi_container_refused(c->ioas_id, "live-update save",
                                        "a mapping of process memory", m->r.iova,
                                        m->r.last - m->r.iova + 1);
            g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                        "live-update save: ioas %u maps [0x%" PRIx64 ", 0x%" PRIx64 "] from "
                        "process memory (not a file): IOMMU_IOAS_CHANGE_PROCESS moves only "
                        "mappings made from a file; map guest RAM with "
                        "vfi_address_space_dma_map_file() (a memfd) for a live update",
                        c->ioas_id, m->r.iova, m->r.last);
            return false;
        }
    }
    return true;
}

static GVariant *hwpts_save(const VfiContainer *c)
{
    GVariantBuilder b;

    g_variant_builder_init(&b, G_VARIANT_TYPE("a(uub)"));
    for (guint i = 0; i < c->hwpts->len; i++) {
        const VfiHwpt *h = g_ptr_array_index(c->hwpts, i);

        g_variant_builder_add(&b, "(uub)", h->id, h->flags, h->dirty_on);
    }
    return g_variant_builder_end(&b);
}

static GVariant *device_save(const VfiContainer *c, const VfiContainerDevice *cd, GArray *fds)
{
    int fd = vfi_device_get_fd(cd->dev);
    guint idx = 0;
    gint32 hwpt = cd->hwpt && g_ptr_array_find(c->hwpts, cd->hwpt, &idx) ? (gint32)idx : -1;

    g_array_append_val(fds, fd);
    return g_variant_new("(@" VFI_PLACEMENT_STATE ")",
                         vfi_device_state_save(cd->dev, fds->len - 1),
                         hwpt, cd->opts.no_iommu_dirty_tracking,
                         cd->opts.prefer_device_dirty_logging, cd->opts.nest_parent,
                         cd->bound_here, cd->refused_flags, cd->has_hw_info, cd->hw_info.type,
                         (guint64)cd->hw_info.capabilities,
                         g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, cd->hw_data,
                                                   cd->has_hw_info ?
                                                   MIN(cd->hw_info.data_len,
                                                       sizeof(cd->hw_data)) : 0, 1),
                         cd->attach_attempts);
}

static GVariant *maps_save(const VfiContainer *c, GArray *fds)
{
    GVariantBuilder b;
    VfiRangeIter it;

    g_variant_builder_init(&b, G_VARIANT_TYPE("a(ttutbb)"));
    for (const VfiContainerMapping *m = vfi_range_tree_nth(c->maps, 0, &it); m;
         m = vfi_range_iter_next(&it)) {
        guint32 idx = VFI_SAVED_FD_OF_AS;

        if (!m->by_as) {
            g_array_append_val(fds, m->src.fd);
            idx = fds->len - 1;
        }
        g_variant_builder_add(&b, "(ttutbb)", (guint64)m->r.iova, (guint64)m->r.last, idx,
                              (guint64)m->src.offset, m->readonly, m->by_as);
    }
    return g_variant_builder_end(&b);
}

GVariant *vfi_container_state_save(const VfiContainer *c, GArray *fds)
{
    GVariantBuilder devs;
    GVariant *ranges;

    g_variant_builder_init(&devs, G_VARIANT_TYPE("a(" VFI_PLACEMENT_TYPE ")"));
    for (guint i = 0; i < c->devices->len; i++) {
        const VfiContainerDevice *cd =
            vfi_container_device_state(g_ptr_array_index(c->devices, i));

        g_variant_builder_add_value(&devs, device_save(c, cd, fds));
    }
    {
        GVariantBuilder rb;

        g_variant_builder_init(&rb, G_VARIANT_TYPE(VFI_SAVED_RANGES));
        for (size_t i = 0; i < c->nr_ranges; i++) {
            g_variant_builder_add(&rb, "(tt)", (guint64)c->ranges[i].start,
                                  (guint64)c->ranges[i].last);
        }
        ranges = g_variant_builder_end(&rb);
    }
    trace_vfi_container_saved(c->ioas_id, c->hwpts->len, c->devices->len,
                              vfi_range_tree_len(c->maps), c->dirty_tracking);
    return g_variant_new("(u@" VFI_SAVED_RANGES "tb@" VFI_SAVED_RANGES "@a(uub)@a("
                         VFI_PLACEMENT_TYPE ")@a(ttutbb))", c->ioas_id, ranges,
                         (guint64)c->alignment, c->dirty_tracking, vfi_saved_ranges(c->kept),
                         hwpts_save(c), g_variant_builder_end(&devs), maps_save(c, fds));
}

/* ---- the saved state, read ------------------------------------------- */

typedef struct SavedContainer {
    guint32 ioas_id;
    guint64 alignment;
    gboolean tracking;
    GVariant *ranges, *kept, *hwpts, *devices, *maps;   /* references */
} SavedContainer;

static void saved_container(GVariant *v, SavedContainer *s)
{
    g_variant_get(v, "(u@" VFI_SAVED_RANGES "tb@" VFI_SAVED_RANGES "@a(uub)@a("
                  VFI_PLACEMENT_TYPE ")@a(ttutbb))", &s->ioas_id, &s->ranges,
                  &s->alignment, &s->tracking, &s->kept, &s->hwpts, &s->devices, &s->maps);
}

static void saved_container_clear(SavedContainer *s)
{
    g_clear_pointer(&s->ranges, g_variant_unref);
    g_clear_pointer(&s->kept, g_variant_unref);
    g_clear_pointer(&s->hwpts, g_variant_unref);
    g_clear_pointer(&s->devices, g_variant_unref);
    g_clear_pointer(&s->maps, g_variant_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SavedContainer, saved_container_clear)

/* One saved placement: "(" VFI_PLACEMENT_TYPE ")". */
typedef struct SavedPlacement {
    GVariant *dev, *hw_data;  /* references */
    gint32 hwpt;
    gboolean no_dirty, prefer_logging, nest_parent, bound_here, has_hw_info;
    guint32 refused_flags, hw_type, attempts;
    guint64 hw_caps;
} SavedPlacement;

static void saved_placement(GVariant *devices, gsize i, SavedPlacement *p)
{
    g_variant_get_child(devices, i, "(@" VFI_PLACEMENT_STATE ")", &p->dev, &p->hwpt,
                        &p->no_dirty, &p->prefer_logging, &p->nest_parent, &p->bound_here,
                        &p->refused_flags,
                        &p->has_hw_info, &p->hw_type, &p->hw_caps, &p->hw_data, &p->attempts);
}

static void saved_placement_clear(SavedPlacement *p)
{
    g_clear_pointer(&p->dev, g_variant_unref);
    g_clear_pointer(&p->hw_data, g_variant_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SavedPlacement, saved_placement_clear)

static bool refuse(GError **errp, guint32 ioas_id, const char *why)
{
    g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                "live-update blob: ioas %u: %s", ioas_id, why);
    return false;
}

/* The devices of a saved container: their own state, a HWPT of the
 * container or none (an mdev), hw info that fits. */
static bool check_placements(const SavedContainer *s, guint n_fds, GError **errp)
{
    gsize nh = g_variant_n_children(s->hwpts);

    for (gsize i = 0; i < g_variant_n_children(s->devices); i++) {
        g_auto(SavedPlacement) p = { 0 };

        saved_placement(s->devices, i, &p);
        if (!vfi_device_state_check(p.dev, n_fds, errp)) {
            return false;
        }
        if (p.hwpt < -1 || p.hwpt >= (gint64)nh) {
            return refuse(errp, s->ioas_id, "a device's HWPT index is out of its HWPTs");
        }
        if (g_variant_n_children(p.hw_data) > VFI_HW_INFO_DATA_MAX) {
            return refuse(errp, s->ioas_id, "a device's hw info is too long");
        }
    }
    return true;
}

static bool check_maps(const SavedContainer *s, guint n_fds,
                       bool (*as_has)(void *, uint64_t, uint64_t), void *opaque,
                       GError **errp)
{
    guint64 prev = 0;

    for (gsize i = 0; i < g_variant_n_children(s->maps); i++) {
        guint64 iova, last, offset;
        gboolean ro, by_as;
        guint32 idx;

        g_variant_get_child(s->maps, i, "(ttutbb)", &iova, &last, &idx, &offset, &ro, &by_as);
        if (iova > last || (i && iova <= prev)) {
            return refuse(errp, s->ioas_id, "its mappings are not sorted and disjoint");
        }
        if (by_as ? idx != VFI_SAVED_FD_OF_AS || !as_has(opaque, iova, last) :
                    idx == 0 || idx >= n_fds) {
            return refuse(errp, s->ioas_id, "a mapping names no fd of the list (or no "
                          "mapping of the address space)");
        }
        prev = last;
    }
    return true;
}

bool vfi_container_state_check(GVariant *v, guint n_fds,
                               bool (*as_has)(void *opaque, uint64_t iova, uint64_t last),
                               void *opaque, GError **errp)
{
    g_auto(SavedContainer) s = { 0 };

    saved_container(v, &s);
    if (!s.ioas_id || !s.alignment || (s.alignment & (s.alignment - 1))) {
        return refuse(errp, s.ioas_id, "ioas id 0 or an alignment not a power of two");
    }
    for (gsize i = 0; i < g_variant_n_children(s.hwpts); i++) {
        guint32 id, flags;
        gboolean on;

        g_variant_get_child(s.hwpts, i, "(uub)", &id, &flags, &on);
        if (!id || (on && !(flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING))) {
            return refuse(errp, s.ioas_id, "a HWPT of id 0, or tracking without the flag");
        }
    }
    return vfi_saved_ranges_check(s.ranges, "the IOVA ranges", errp) &&
           vfi_saved_ranges_check(s.kept, "a container's kept pages", errp) &&
           check_placements(&s, n_fds, errp) && check_maps(&s, n_fds, as_has, opaque, errp);
}

/* ---- restore ----------------------------------------------------------- */

/* The IOAS exists and allows what it allowed when saved. */
static bool restore_ranges(VfiContainer *c, const SavedContainer *s, GError **errp)
{
    g_autoptr(GError) err = NULL;
    gsize n = g_variant_n_children(s->ranges);
    bool same = true;

    if (!vfi_container_refresh_ranges(c, &err)) {
        g_propagate_prefixed_error(errp, g_steal_pointer(&err),
                                   "live update: ioas %u of iommufd %d, as the blob says: ",
                                   c->ioas_id, vfi_iommufd_get_fd(c->be));
        return false;
    }
    same = n == c->nr_ranges && s->alignment == c->alignment;
    for (gsize i = 0; same && i < n; i++) {
        guint64 start, last;

        g_variant_get_child(s->ranges, i, "(tt)", &start, &last);
        same = start == c->ranges[i].start && last == c->ranges[i].last;
    }
    if (!same) {
        trace_vfi_container_restore_mismatch(c->ioas_id, "IOVA ranges", 0);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "live update: ioas %u of iommufd %d allows %zu IOVA range(s) with "
                    "alignment 0x%" PRIx64 ", the blob says %" G_GSIZE_FORMAT " with 0x%"
                    PRIx64 ": the devices are not attached as saved (or this is another "
                    "IOAS)", c->ioas_id, vfi_iommufd_get_fd(c->be), c->nr_ranges,
                    c->alignment, n, (uint64_t)s->alignment);
        return false;
    }
    return true;
}

static bool restore_maps(VfiContainer *c, const SavedContainer *s, VfiContainerRestore *r,
                         GError **errp)
{
    for (gsize i = 0; i < g_variant_n_children(s->maps); i++) {
        VfiContainerMapping m = { 0 };
        guint64 iova, last, offset;
        gboolean ro, by_as;
        guint32 idx;

        g_variant_get_child(s->maps, i, "(ttutbb)", &iova, &last, &idx, &offset, &ro, &by_as);
        m.r.iova = iova;
        m.r.last = last;
        m.src.offset = offset;
        m.readonly = ro;
        m.by_as = by_as;
        if (by_as) {
            m.src.fd = r->as_fd(r->opaque, iova);
        } else if (!vfi_container_file_dup("live-update restore", r->fds[idx], offset,
                                           last - iova + 1, &m.src.fd, errp)) {
            return false;
        }
        vfi_range_tree_insert_new(c->maps, &m);
        c->nr_container_maps += !by_as;
    }
    /* the merged view is built again from the record when next read */
    vfi_range_tree_clear(c->mapped);
    c->mapped_valid = false;
    return true;
}

/* HWPT @id exists (a paging HWPT of this iommufd): a dirty read of one page
 * that clears nothing; only ENOENT means there is none. */
static bool check_hwpt(VfiContainer *c, uint32_t id, GError **errp)
{
    g_autoptr(GError) err = NULL;
    uint64_t ps = MAX(c->alignment, UINT64_C(4096));
    uint64_t bits = 0;

    if (vfi_iommufd_hwpt_get_dirty_bitmap(c->be, id, 0, ps, ps, &bits,
                                          IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, &err) ||
        g_error_matches(err, VFI_KERNEL_ERROR, EOPNOTSUPP) ||
        g_error_matches(err, VFI_KERNEL_ERROR, EINVAL)) {
        return true;
    }
    if (g_error_matches(err, VFI_KERNEL_ERROR, ENOENT)) {
        trace_vfi_container_restore_mismatch(c->ioas_id, "no such HWPT", id);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "live update: hwpt %u of ioas %u does not exist in iommufd %d (%s)", id,
                    c->ioas_id, vfi_iommufd_get_fd(c->be), err->message);
        return false;
    }
    g_propagate_prefixed_error(errp, g_steal_pointer(&err), "live update: checking hwpt %u "
                               "of ioas %u: ", id, c->ioas_id);
    return false;
}

static bool restore_hwpts(VfiContainer *c, const SavedContainer *s, GError **errp)
{
    for (gsize i = 0; i < g_variant_n_children(s->hwpts); i++) {
        guint32 id, flags;
        gboolean on;

        g_variant_get_child(s->hwpts, i, "(uub)", &id, &flags, &on);
        if (!check_hwpt(c, id, errp)) {
            return false;
        }
        vfi_hwpt_new(c, id, flags)->dirty_on = on;
    }
    return true;
}

/* The IOMMU the kernel reports for @cd's devid is the one saved. */
static bool hw_info_same(const VfiContainerDevice *cd, const SavedPlacement *p, GError **errp)
{
    gsize len = 0;
    const guint8 *data = g_variant_get_fixed_array(p->hw_data, &len, 1);
    guint32 got = MIN(cd->hw_info.data_len, (guint32)sizeof(cd->hw_data));

    if (cd->hw_info.type == p->hw_type && cd->hw_info.capabilities == p->hw_caps &&
        got == len && (!len || memcmp(cd->hw_data, data, len) == 0)) {
        return true;
    }
    trace_vfi_container_restore_mismatch(cd->container ? cd->container->ioas_id : 0,
                                         "IOMMU hw info", vfi_device_get_devid(cd->dev));
    g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                "live update: device %s (devid %u): the iommufd reports IOMMU type %u "
                "capabilities 0x%" PRIx64 " for this devid, the blob type %u capabilities "
                "0x%" PRIx64 " (or other vendor data): another device?",
                vfi_device_get_display_name(cd->dev), vfi_device_get_devid(cd->dev),
                cd->hw_info.type, (uint64_t)cd->hw_info.capabilities, p->hw_type,
                (uint64_t)p->hw_caps);
    return false;
}

/* The placement of a restored @dev in @c, as saved, checked. */
static bool restore_placement(VfiContainer *c, VfiDevice *dev, const SavedPlacement *p,
                              VfiContainerRestore *r, GError **errp)
{
    VfiAttachOptions opts = VFI_ATTACH_OPTIONS_INIT(
        .no_iommu_dirty_tracking = p->no_dirty, .prefer_device_dirty_logging = p->prefer_logging,
        .nest_parent = p->nest_parent);
    VfiContainerDevice *cd = vfi_container_device_new(dev, &opts, r->release);
    VfiHwpt *h = p->hwpt >= 0 ? g_ptr_array_index(c->hwpts, p->hwpt) : NULL;
    uint32_t pt = h ? h->id : c->ioas_id;

    cd->bound_here = p->bound_here;
    cd->refused_flags = p->refused_flags;
    cd->attach_attempts = p->attempts;
    if (vfi_device_get_attached_pt(dev) != pt) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "live-update blob: device %s is attached to pt %u, but placed on %s %u "
                    "of ioas %u", vfi_device_get_display_name(dev),
                    vfi_device_get_attached_pt(dev), h ? "hwpt" : "the ioas itself", pt,
                    c->ioas_id);
        g_free(cd);
        return false;
    }
    if (p->has_hw_info &&
        (!vfi_placement_read_hw_info(cd, errp) || !hw_info_same(cd, p, errp))) {
        g_prefix_error(errp, "live update: ioas %u: ", c->ioas_id);
        g_free(cd);
        return false;
    }
    cd->hwpt = h;
    if (h) {
        vfi_hwpt_add_device(h, dev);
    }
    vfi_container_add_device(c, cd);
    return true;
}

static bool restore_devices(VfiContainer *c, const SavedContainer *s, VfiContainerRestore *r,
                            GError **errp)
{
    for (gsize i = 0; i < g_variant_n_children(s->devices); i++) {
        g_auto(SavedPlacement) p = { 0 };
        VfiDevice *dev;

        saved_placement(s->devices, i, &p);
        dev = vfi_device_state_restore(p.dev, r->fds, c->be, errp);
        if (!dev) {
            return false;
        }
        g_ptr_array_add(r->devices, dev);
        if (!restore_placement(c, dev, &p, r, errp)) {
            return false;
        }
    }
    return true;
}

VfiContainer *vfi_container_state_restore(GVariant *v, VfiAddressSpace *as, VfiLock *lock,
                                          VfiIommufd *be, VfiContainerRestore *r,
                                          GError **errp)
{
    g_auto(SavedContainer) s = { 0 };
    VfiContainer *c;

    saved_container(v, &s);
    if (!vfi_iommufd_connect(be, errp)) {
        return NULL;
    }
    c = vfi_container_wrap(as, lock, be, s.ioas_id);
    if (!restore_ranges(c, &s, errp) || !restore_maps(c, &s, r, errp) ||
        !restore_hwpts(c, &s, errp) || !restore_devices(c, &s, r, errp)) {
        vfi_container_let_go(c);
        return NULL;
    }
    c->dirty_tracking = s.tracking;
    c->kept = vfi_saved_ranges_array(s.kept);
    trace_vfi_container_restored(c->ioas_id, c->hwpts->len, c->devices->len,
                                 vfi_range_tree_len(c->maps), c->dirty_tracking);
    return c;
}

/* ---- the old process lets go ----------------------------------------- */

void vfi_container_let_go(VfiContainer *c)
{
    trace_vfi_container_let_go(c->ioas_id, c->hwpts->len, c->devices->len,
                               vfi_range_tree_len(c->maps));
    while (c->devices->len) {
        VfiDevice *dev = g_ptr_array_index(c->devices, c->devices->len - 1);
        VfiContainerDevice *cd = vfi_container_device_state(dev);

        if (cd->hwpt) {
            vfi_hwpt_remove_device(cd->hwpt, dev);
        }
        g_ptr_array_remove_index(c->devices, c->devices->len - 1);
        vfi_device_let_go(dev);
        g_free(cd);
    }
    while (c->hwpts->len) {
        VfiHwpt *h = g_ptr_array_index(c->hwpts, c->hwpts->len - 1);

        vfi_memo_hwpt_forget(h);
        g_ptr_array_remove_index(c->hwpts, c->hwpts->len - 1);
        g_ptr_array_free(h->devices, true);
        g_free(h);
    }
    vfi_iommufd_disconnect(c->be);
    vfi_container_free_record(c);
}
