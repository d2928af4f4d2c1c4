/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the type1 container of the container layer (see
 * hw/vfio/container/type1.h).
 *
 * A VfiType1 (backends/type1.c) and the groups of its devices (the device
 * layer's VfiGroup, one per IOMMU group, counted by the devices in it), a
 * record of the mappings (sorted VfiRange: the kernel's own record is per
 * mapping, whole unmaps only), and whether tracking is on. GET_INFO is read
 * when the first group sets the IOMMU: the IOVA ranges a map must stay in
 * and the migration capability's bitmap limit.
 */
#include <errno.h>
#include <string.h>

#include "vfio-iommufd/error.h"
#include "backends/type1.h"
#include "device/device-internal.h"
#include "util/ranges.h"
#include "type1.h"
#include "trace.h"

#define T1_PAGE 4096ull

typedef struct T1Group {
    VfiGroup *group;
    unsigned devices;           /* attached devices of the group */
} T1Group;

struct VfiType1Container {
    VfiType1 *t1;
    GPtrArray *groups;          /* T1Group *, owned */
    GPtrArray *devices;         /* VfiDevice *, not owned */
    GArray *maps;               /* VfiRange, sorted, disjoint */
    bool tracking;
    VfiType1Info info;          /* valid while the IOMMU is set */
};

static bool G_GNUC_PRINTF(4, 5)
refuse(const VfiType1Container *c, const char *what, GError **errp, const char *fmt, ...)
{
    g_autofree char *why = NULL;
    va_list ap;

    va_start(ap, fmt);
    why = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    trace_vfi_type1_container_refused(vfi_type1_get_fd(c->t1), what, why);
    g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT, "%s: type1 container fd %d: %s",
                what, vfi_type1_get_fd(c->t1), why);
    return false;
}

VfiType1Container *vfi_type1_container_new(GError **errp)
{
    VfiType1 *t1 = vfi_type1_open(errp);
    VfiType1Container *c;

    if (!t1) {
        return NULL;
    }
    c = g_new0(VfiType1Container, 1);
    c->t1 = t1;
    c->groups = g_ptr_array_new_with_free_func(g_free);
    c->devices = g_ptr_array_new();
    c->maps = g_array_new(FALSE, FALSE, sizeof(VfiRange));
    trace_vfi_type1_container_new(vfi_type1_get_fd(t1));
    return c;
}

int vfi_type1_container_get_fd(const VfiType1Container *c)
{
    return c ? vfi_type1_get_fd(c->t1) : -1;
}

unsigned vfi_type1_container_device_count(const VfiType1Container *c)
{
    return c->devices->len;
}

VfiDevice *vfi_type1_container_device(const VfiType1Container *c, unsigned i)
{
    return i < c->devices->len ? g_ptr_array_index(c->devices, i) : NULL;
}

bool vfi_type1_container_tracking(const VfiType1Container *c)
{
    return c->tracking;
}

unsigned vfi_type1_container_group_count(const VfiType1Container *c)
{
    return c->groups->len;
}

unsigned vfi_type1_container_mapping_count(const VfiType1Container *c)
{
    return c->maps->len;
}

/* ---- groups ----------------------------------------------------------------- */

static T1Group *find_group(const VfiType1Container *c, unsigned id)
{
    for (guint i = 0; i < c->groups->len; i++) {
        T1Group *g = g_ptr_array_index(c->groups, i);

        if (vfi_group_get_id(g->group) == id) {
            return g;
        }
    }
    return NULL;
}

/* The group leaves (its last device left, or its join failed): unset,
 * closed; with the last group the kernel released the IOMMU and every
 * mapping. */
static void group_leave(VfiType1Container *c, T1Group *g)
{
    g_autoptr(GError) err = NULL;

    if (!vfi_group_unset_container(g->group, &err)) {
        /* closing the group unsets it anyway */
        trace_vfi_type1_container_refused(vfi_type1_get_fd(c->t1), "unset", err->message);
    }
    trace_vfi_type1_container_group(vfi_type1_get_fd(c->t1), vfi_group_get_id(g->group),
                                    "left");
    vfi_group_close(g->group);
    g_ptr_array_remove(c->groups, g);
    if (!c->groups->len) {
        vfi_type1_iommu_released(c->t1);
        g_array_set_size(c->maps, 0);
        c->tracking = false;
        memset(&c->info, 0, sizeof(c->info));
    }
}

/* The first group sets the IOMMU and reads what it offers. */
static bool iommu_up(VfiType1Container *c, GError **errp)
{
    if (vfi_type1_iommu_set(c->t1)) {
        return true;
    }
    return vfi_type1_set_iommu(c->t1, errp) && vfi_type1_get_info(c->t1, &c->info, errp);
}

/* Group @id joins (once): open, viable, into the container. */
static T1Group *group_join(VfiType1Container *c, unsigned id, GError **errp)
{
    T1Group *g = find_group(c, id);
    VfiGroup *vg;

    if (g) {
        return g;
    }
    vg = vfi_group_open(id, errp);
    if (!vg) {
        return NULL;
    }
    g = g_new0(T1Group, 1);
    g->group = vg;
    g_ptr_array_add(c->groups, g);
    if (!vfi_group_check_viable(vg, errp) ||
        !vfi_group_set_container(vg, vfi_type1_get_fd(c->t1), errp) || !iommu_up(c, errp)) {
        group_leave(c, g);
        return NULL;
    }
    trace_vfi_type1_container_group(vfi_type1_get_fd(c->t1), id, "joined");
    return g;
}

/* ---- devices ---------------------------------------------------------------- */

bool vfi_type1_container_attach(VfiType1Container *c, VfiDevice *dev, GError **errp)
{
    T1Group *g;
    int id;

    if (!dev) {
        return refuse(c, "attach", errp, "no device given");
    }
    if (g_ptr_array_find(c->devices, dev, NULL)) {
        return refuse(c, "attach", errp, "device %s is attached already",
                      vfi_device_get_display_name(dev));
    }
    id = vfi_device_iommu_group(dev, errp);
    if (id < 0 || !vfi_device_release_cdev(dev, errp)) {
        return false;
    }
    g = group_join(c, (unsigned)id, errp);
    if (!g || !vfi_device_open_in_group(dev, g->group, errp)) {
        if (g && !g->devices) {
            group_leave(c, g);
        }
        vfi_device_reopen_cdev(dev);
        return false;
    }
    g->devices++;
    g_ptr_array_add(c->devices, dev);
    trace_vfi_type1_container_device(vfi_type1_get_fd(c->t1), vfi_device_get_display_name(dev),
                                     (unsigned)id, "attached");
    return true;
}

bool vfi_type1_container_detach(VfiType1Container *c, VfiDevice *dev, GError **errp)
{
    VfiGroup *vg = vfi_device_get_group(dev);
    T1Group *g = vg ? find_group(c, vfi_group_get_id(vg)) : NULL;

    if (!g || !g_ptr_array_remove(c->devices, dev)) {
        return refuse(c, "detach", errp, "device %s is not attached here",
                      dev ? vfi_device_get_display_name(dev) : "(null)");
    }
    trace_vfi_type1_container_device(vfi_type1_get_fd(c->t1), vfi_device_get_display_name(dev),
                                     vfi_group_get_id(vg), "detached");
    vfi_device_leave_group(dev);
    if (--g->devices == 0) {
        group_leave(c, g);
    }
    /* the cdevs of the group's devices open again once it is closed */
    vfi_device_reopen_cdev(dev);
    return true;
}

bool vfi_type1_container_free(VfiType1Container *c, GError **errp)
{
    bool ok = true;

    if (!c) {
        return true;
    }
    while (c->devices->len) {
        ok = vfi_type1_container_detach(c, g_ptr_array_index(c->devices, 0),
                                        ok ? errp : NULL) && ok;
    }
    trace_vfi_type1_container_free(vfi_type1_get_fd(c->t1));
    vfi_type1_close(c->t1);
    g_ptr_array_free(c->groups, TRUE);
    g_ptr_array_free(c->devices, TRUE);
    g_array_free(c->maps, TRUE);
    g_free(c);
    return ok;
}

const char *vfi_type1_container_coverage(const VfiType1Container *c, const VfiDevice *dev)
{
    return c && g_ptr_array_find(c->devices, dev, NULL) ? VFI_TYPE1_COVERAGE : NULL;
}

/* ---- mappings ----------------------------------------------------------------- */

static bool check_range(const VfiType1Container *c, const char *what, uint64_t iova,
                        uint64_t size, GError **errp)
{
    if (!vfi_range_check(what, iova, size, errp)) {
        return false;
    }
    if ((iova | size) & (T1_PAGE - 1)) {
        return refuse(c, what, errp, "0x%" G_GINT64_MODIFIER "x+0x%" G_GINT64_MODIFIER "x is "
                      "not aligned to the IOMMU page (4 KiB)", iova, size);
    }
    if (!vfi_type1_iommu_set(c->t1)) {
        return refuse(c, what, errp, "no device attached yet (the IOMMU is set with the "
                      "first group)");
    }
    return true;
}

static bool in_ranges(const VfiType1Container *c, uint64_t iova, uint64_t last)
{
    for (unsigned i = 0; i < c->info.n_ranges; i++) {
        if (iova >= c->info.ranges[i].start && last <= c->info.ranges[i].last) {
            return true;
        }
    }
    return c->info.n_ranges == 0;
}

bool vfi_type1_container_map(VfiType1Container *c, uint64_t iova, uint64_t size, void *vaddr,
                             bool readonly, GError **errp)
{
    VfiRange r = { .iova = iova, .last = iova + size - 1 };

    if (!check_range(c, "map", iova, size, errp)) {
        return false;
    }
    if (vfi_ranges_find_overlap(c->maps, r.iova, r.last) >= 0) {
        return refuse(c, "map", errp, "0x%" G_GINT64_MODIFIER "x+0x%" G_GINT64_MODIFIER
                      "x overlaps a mapping", iova, size);
    }
    if (!in_ranges(c, r.iova, r.last)) {
        return refuse(c, "map", errp, "0x%" G_GINT64_MODIFIER "x+0x%" G_GINT64_MODIFIER
                      "x is outside the container's IOVA ranges", iova, size);
    }
    if (!vfi_type1_map(c->t1, iova, size, vaddr, readonly, errp)) {
        return false;
    }
    vfi_ranges_insert(c->maps, &r);
    return true;
}

/* The whole mappings [iova, last] covers, first index and count; false
 * when the range cuts one or holds none. */
static bool whole_maps(const VfiType1Container *c, uint64_t iova, uint64_t last, guint *first,
                       guint *n)
{
    guint i = vfi_ranges_first(c->maps, iova);

    *first = i;
    for (*n = 0; i < c->maps->len && vfi_ranges_at(c->maps, i)->iova <= last; i++, (*n)++) {
        const VfiRange *m = vfi_ranges_at(c->maps, i);

        if (m->iova < iova || m->last > last) {
            return false;
        }
    }
    return *n > 0;
}

/* OR the 4 KiB bits of @bits (bit 0: @iova, @pages bits) into @log. */
static void fold_into_log(const uint64_t *bits, uint64_t iova, uint64_t pages, VfiDirtyLog *log)
{
    for (uint64_t p = 0; p < pages; p++) {
        uint64_t at = iova + p * T1_PAGE, bit;

        if (!(bits[p / 64] & (UINT64_C(1) << (p % 64))) || at < log->base_iova) {
            continue;
        }
        bit = (at - log->base_iova) / log->page_size;
        if (bit < log->nr_pages) {
            log->bitmap[bit / 64] |= UINT64_C(1) << (bit % 64);
        }
    }
}

bool vfi_type1_container_unmap(VfiType1Container *c, uint64_t iova, uint64_t size,
                               VfiDirtyLog *log, GError **errp)
{
    uint64_t last = iova + size - 1, pages = size / T1_PAGE, bytes = (pages + 63) / 64 * 8;
    g_autofree uint64_t *bits = NULL;
    guint first, n;

    if (!check_range(c, "unmap", iova, size, errp)) {
        return false;
    }
    if (!whole_maps(c, iova, last, &first, &n)) {
        return refuse(c, "unmap", errp, "0x%" G_GINT64_MODIFIER "x+0x%" G_GINT64_MODIFIER
                      "x cuts a mapping or holds none (whole mappings only)", iova, size);
    }
    if (c->tracking && !log) {
        return refuse(c, "unmap", errp, "tracking is on: the unmap needs a dirty log for the "
                      "pages it reads");
    }
    if (c->tracking) {
        bits = g_malloc0(bytes);
    }
    if (!vfi_type1_unmap(c->t1, iova, size, T1_PAGE, bits, bits ? bytes : 0, NULL, errp)) {
        return false;
    }
    if (bits) {
        fold_into_log(bits, iova, pages, log);
    }
    g_array_remove_range(c->maps, first, n);
    return true;
}

/* ---- dirty tracking ------------------------------------------------------------- */

bool vfi_type1_container_dirty_tracking(VfiType1Container *c, bool start, GError **errp)
{
    if (!vfi_type1_iommu_set(c->t1)) {
        return refuse(c, start ? "dirty tracking start" : "dirty tracking stop", errp,
                      "no device attached");
    }
    if (c->tracking == start) {
        return true;
    }
    if (!vfi_type1_dirty_tracking(c->t1, start, errp)) {
        return false;
    }
    c->tracking = start;
    trace_vfi_type1_container_tracking(vfi_type1_get_fd(c->t1), start);
    return true;
}

bool vfi_type1_container_sync_dirty(VfiType1Container *c, VfiDirtyLog *log, GError **errp)
{
    uint64_t log_last;

    if (!c->tracking) {
        return refuse(c, "sync dirty", errp, "dirty tracking is not on");
    }
    if (!log || !log->bitmap || !log->nr_pages || log->page_size < T1_PAGE ||
        (log->page_size & (log->page_size - 1))) {
        return refuse(c, "sync dirty", errp, "no log, or a log page that is no power of two "
                      ">= 4 KiB");
    }
    log_last = log->base_iova + log->nr_pages * log->page_size - 1;
    for (guint i = 0; i < c->maps->len; i++) {
        const VfiRange *m = vfi_ranges_at(c->maps, i);
        uint64_t pages = (m->last - m->iova + 1) / T1_PAGE, bytes = (pages + 63) / 64 * 8;
        g_autofree uint64_t *bits = NULL;

        if (m->last < log->base_iova || m->iova > log_last) {
            continue;
        }
        /* a whole mapping per read: type1 refuses a range that cuts one */
        bits = g_malloc0(bytes);
        if (!vfi_type1_dirty_get(c->t1, m->iova, m->last - m->iova + 1, T1_PAGE, bits, bytes,
                                 errp)) {
            return false;
        }
        fold_into_log(bits, m->iova, pages, log);
    }
    return true;
}

uint64_t vfi_type1_container_max_tracked(const VfiType1Container *c)
{
    if (!c->info.has_migration) {
        return 0;
    }
    return c->info.max_dirty_bitmap_size * 8 * T1_PAGE;
}

bool vfi_type1_container_check_guest_size(const VfiType1Container *c, uint64_t guest_bytes,
                                          GError **errp)
{
    uint64_t max = vfi_type1_container_max_tracked(c);

    if (guest_bytes <= max) {
        return true;
    }
    trace_vfi_type1_container_refused(vfi_type1_get_fd(c->t1), "guest size", "over the limit");
    g_set_error(errp, VFI_ERROR, VFI_ERROR_NOT_SUPPORTED,
                "type1 container fd %d: a guest of %" G_GUINT64_FORMAT " bytes is larger than "
                "the type1 dirty bitmap limit covers (%" G_GUINT64_FORMAT " bytes: a bitmap of "
                "at most %" G_GUINT64_FORMAT " bytes at 4 KiB pages)%s", vfi_type1_get_fd(c->t1),
                guest_bytes, max, c->info.max_dirty_bitmap_size,
                c->info.has_migration ? "" : "; the kernel has no migration capability");
    return false;
}
