/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: dirty tracking of containers and address spaces
 * (docs/dirty-tracking.md).
 *
 *  - start/stop: SET_DIRTY_TRACKING on every HWPT with the dirty flag, DMA
 *    logging on every device that uses it; whatever one call switched is
 *    switched back when a later step fails;
 *  - a device attached while tracking is on is brought into that state;
 *  - queries, syncs and unmap reads go through the container's dirty reader
 *    (dirty-reader.c: zero copy when the range starts on a byte of the log,
 *    else a scratch buffer and a word-wise shifted OR), whose sources are
 *    the container's dirty HWPTs whose tracking is on and its devices whose
 *    logging is started: the kernel refuses to read a HWPT whose tracking is
 *    off (EINVAL), so one is never read;
 *  - queries and syncs of a container not tracking are refused (WRONG_STATE);
 *    unmaps while tracking is on read the range's bits (NO_CLEAR) first or
 *    say they do not care; with tracking off they just unmap;
 *  - an address space is tracking iff it has a container and all of its
 *    containers are (derived, never stored).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <linux/iommufd.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/iommufd.h"
#include "vfio-iommufd/dirty.h"
#include "container-internal.h"
#include "dirty-reader-internal.h"
#include "trace.h"

/* Page size given to DMA_LOGGING_START (the IOMMU page size). */
#define LOGGING_PAGE_SIZE UINT64_C(4096)

static bool hwpt_is_dirty(const VfiHwpt *h)
{
    return h->flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
}

static VfiContainerDevice *cd_at(const VfiContainer *c, guint i)
{
    return vfi_container_device_state(g_ptr_array_index(c->devices, i));
}

/* @c's reader, made on first use, with @c's current IOAS alignment (it
 * changes as devices come and go). */
static VfiDirtyReader *container_reader(VfiContainer *c)
{
    if (!c->dirty_reader) {
        c->dirty_reader = vfi_dirty_reader_new(c->be);
    }
    vfi_dirty_reader_set_ioas(c->dirty_reader, c->ioas_id, c->alignment);
    return c->dirty_reader;
}

static bool check_as(const VfiAddressSpace *as, const char *what, GError **errp)
{
    if (!as) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: no address space given", what);
        return false;
    }
    return true;
}

/* ---- switching one HWPT or one device ---------------------------------- */

static bool hwpt_set(VfiContainer *c, VfiHwpt *h, bool on, GError **errp)
{
    g_autoptr(GError) err = NULL;
    bool ok = vfi_iommufd_hwpt_set_dirty_tracking(c->be, h->id, on, &err);

    trace_vfi_dirty_tracking_hwpt(c->ioas_id, h->id, on, ok);
    if (!ok) {
        g_propagate_prefixed_error(errp, g_steal_pointer(&err),
                                   "dirty tracking %s: hwpt %u of ioas %u failed: ",
                                   on ? "start" : "stop", h->id, c->ioas_id);
        return false;
    }
    h->dirty_on = on;
    /* the reader's HWPT sources are exactly the HWPTs whose tracking is on */
    if (on) {
        ok = vfi_dirty_reader_add_hwpt(container_reader(c), h->id, NULL);
    } else {
        ok = vfi_dirty_reader_remove_hwpt(container_reader(c), h->id, NULL);
    }
    g_assert(ok);
    return true;
}

typedef struct Gap {
    uint64_t size;
    guint index;              /* between range index and index + 1 */
} Gap;

static int cmp_gap(const void *a, const void *b)
{
    const Gap *x = a, *y = b;

    if (x->size != y->size) {
        return x->size < y->size ? -1 : 1;
    }
    return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * The ranges to give DMA_LOGGING_START: @c's mapped ranges widened to the
 * logging page size and merged, at most @max of them: when there are more,
 * the neighbours with the smallest gaps between them are merged (the device
 * then also logs the gaps, where nothing is mapped, so nothing is written).
 */
static GArray *logging_ranges(const VfiContainer *c, unsigned max)
{
    GArray *out = g_array_new(false, false, sizeof(VfiRange));
    g_autoptr(GArray) in = g_array_new(false, false, sizeof(VfiRange));
    g_autofree Gap *gaps = NULL;
    g_autofree bool *merge = NULL;
    guint n;

    for (guint i = 0; i < c->mapped->len; i++) {
        VfiRange r = g_array_index(c->mapped, VfiRange, i);

        r.iova &= ~(LOGGING_PAGE_SIZE - 1);
        r.last |= LOGGING_PAGE_SIZE - 1;
        if (in->len) {
            VfiRange *prev = &g_array_index(in, VfiRange, in->len - 1);

            if (r.iova <= prev->last + 1) {
                prev->last = MAX(prev->last, r.last);
                continue;
            }
        }
        g_array_append_val(in, r);
    }
    n = in->len;
    if (n <= max) {
        g_array_append_vals(out, in->data, n);
        return out;
    }
    gaps = g_new(Gap, n - 1);
    merge = g_new0(bool, n - 1);
    for (guint i = 0; i + 1 < n; i++) {
        gaps[i].size = g_array_index(in, VfiRange, i + 1).iova -
                       g_array_index(in, VfiRange, i).last;
        gaps[i].index = i;
    }
    qsort(gaps, n - 1, sizeof(Gap), cmp_gap);
    for (guint k = 0; k < n - max; k++) {
        merge[gaps[k].index] = true;   /* merge that range with the next one */
    }
    for (guint i = 0; i < n; i++) {
        VfiRange r = g_array_index(in, VfiRange, i);

        if (i > 0 && merge[i - 1]) {
            g_array_index(out, VfiRange, out->len - 1).last = r.last;
        } else {
            g_array_append_val(out, r);
        }
    }
    return out;
}

static bool logging_start(VfiContainer *c, VfiContainerDevice *cd, GError **errp)
{
    const char *name = vfi_device_get_name(cd->dev);
    unsigned max = VFI_DMA_LOGGING_MAX_RANGES;

    if (c->mapped->len == 0) {
        trace_vfi_dirty_refused(c->ioas_id, "DMA logging start", "nothing mapped");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "dirty tracking start: device %s logs its own DMA, but nothing is "
                    "mapped in ioas %u yet (map guest memory before starting)", name,
                    c->ioas_id);
        return false;
    }
    for (;;) {
        g_autoptr(GArray) ranges = logging_ranges(c, max);
        g_autofree VfiDmaLoggingRange *arg = g_new(VfiDmaLoggingRange, ranges->len);
        g_autoptr(GError) err = NULL;

        for (guint i = 0; i < ranges->len; i++) {
            VfiRange *r = &g_array_index(ranges, VfiRange, i);

            arg[i].iova = r->iova;
            arg[i].length = r->last - r->iova + 1;
        }
        trace_vfi_dirty_logging_ranges(name, c->mapped->len, ranges->len, LOGGING_PAGE_SIZE);
        if (vfi_device_dma_logging_start(cd->dev, LOGGING_PAGE_SIZE, arg, ranges->len,
                                          &err)) {
            trace_vfi_dirty_tracking_device(c->ioas_id, name, true, true);
            cd->logging_started = true;
            vfi_dirty_reader_add_device(container_reader(c), cd->dev);
            if (cd->logged) {
                g_array_free(cd->logged, true);
            }
            cd->logged = g_steal_pointer(&ranges);
            return true;
        }
        if (g_error_matches(err, VFI_KERNEL_ERROR, E2BIG) && ranges->len > 1) {
            /* a driver with a lower limit than the vfio core's */
            trace_vfi_dirty_logging_e2big(name, ranges->len, ranges->len / 2);
            max = ranges->len / 2;
            continue;
        }
        trace_vfi_dirty_tracking_device(c->ioas_id, name, true, false);
        g_propagate_prefixed_error(errp, g_steal_pointer(&err),
                                   "dirty tracking start: DMA logging of device %s "
                                   "(ioas %u) failed: ", name, c->ioas_id);
        return false;
    }
}

static bool logging_stop(VfiContainer *c, VfiContainerDevice *cd, GError **errp)
{
    const char *name = vfi_device_get_name(cd->dev);
    g_autoptr(GError) err = NULL;
    bool ok = vfi_device_dma_logging_stop(cd->dev, &err);

    trace_vfi_dirty_tracking_device(c->ioas_id, name, false, ok);
    if (!ok) {
        g_propagate_prefixed_error(errp, g_steal_pointer(&err),
                                   "dirty tracking stop: DMA logging of device %s "
                                   "(ioas %u) failed: ", name, c->ioas_id);
        return false;
    }
    cd->logging_started = false;
    vfi_dirty_reader_remove_device(container_reader(c), cd->dev);
    g_clear_pointer(&cd->logged, g_array_unref);
    return true;
}

/* ---- one container ----------------------------------------------------- */

/* What one start or stop switched, to switch it back. */
typedef struct Switched {
    GPtrArray *hwpts;     /* VfiHwpt * */
    GPtrArray *devs;      /* VfiContainerDevice * */
} Switched;

static void switched_undo(VfiContainer *c, Switched *s, bool was_on)
{
    /* Reverse order of the forward pass: devices, then HWPTs for a start;
     * HWPTs, then devices for a stop. */
    if (!was_on) {
        for (guint i = s->devs->len; i-- > 0;) {
            VfiContainerDevice *cd = g_ptr_array_index(s->devs, i);
            bool ok = logging_stop(c, cd, NULL);

            trace_vfi_dirty_tracking_rollback(c->ioas_id, "logging start of devid",
                                               vfi_device_get_devid(cd->dev), ok);
        }
    }
    for (guint i = s->hwpts->len; i-- > 0;) {
        VfiHwpt *h = g_ptr_array_index(s->hwpts, i);
        bool ok = hwpt_set(c, h, was_on, NULL);

        trace_vfi_dirty_tracking_rollback(c->ioas_id, was_on ? "stop of hwpt" :
                                           "start of hwpt", h->id, ok);
    }
    if (was_on) {
        for (guint i = s->devs->len; i-- > 0;) {
            VfiContainerDevice *cd = g_ptr_array_index(s->devs, i);
            bool ok = logging_start(c, cd, NULL);

            trace_vfi_dirty_tracking_rollback(c->ioas_id, "logging stop of devid",
                                               vfi_device_get_devid(cd->dev), ok);
        }
    }
}

static bool container_start(VfiContainer *c, GError **errp)
{
    Switched s = { g_ptr_array_new(), g_ptr_array_new() };
    bool ok = false;

    for (guint i = 0; i < c->devices->len; i++) {
        if (vfi_cd_uses_logging(cd_at(c, i)) && c->mapped->len == 0) {
            /* refused before any ioctl */
            ok = logging_start(c, cd_at(c, i), errp);
            g_assert(!ok);
            goto out;
        }
    }
    for (guint i = 0; i < c->hwpts->len; i++) {
        VfiHwpt *h = g_ptr_array_index(c->hwpts, i);

        if (!hwpt_is_dirty(h) || h->dirty_on) {
            continue;
        }
        if (!hwpt_set(c, h, true, errp)) {
            switched_undo(c, &s, false);
            goto out;
        }
        g_ptr_array_add(s.hwpts, h);
    }
    for (guint i = 0; i < c->devices->len; i++) {
        VfiContainerDevice *cd = cd_at(c, i);

        if (!vfi_cd_uses_logging(cd) || cd->logging_started) {
            continue;
        }
        if (!logging_start(c, cd, errp)) {
            switched_undo(c, &s, false);
            goto out;
        }
        g_ptr_array_add(s.devs, cd);
    }
    c->dirty_tracking = true;
    ok = true;
out:
    trace_vfi_dirty_tracking(c->ioas_id, "start", ok);
    g_ptr_array_free(s.hwpts, true);
    g_ptr_array_free(s.devs, true);
    return ok;
}

static bool container_stop(VfiContainer *c, GError **errp)
{
    Switched s = { g_ptr_array_new(), g_ptr_array_new() };
    bool ok = false;

    for (guint i = 0; i < c->devices->len; i++) {
        VfiContainerDevice *cd = cd_at(c, i);

        if (!cd->logging_started) {
            continue;
        }
        if (!logging_stop(c, cd, errp)) {
            switched_undo(c, &s, true);
            goto out;
        }
        g_ptr_array_add(s.devs, cd);
    }
    for (guint i = 0; i < c->hwpts->len; i++) {
        VfiHwpt *h = g_ptr_array_index(c->hwpts, i);

        if (!h->dirty_on) {
            continue;
        }
        if (!hwpt_set(c, h, false, errp)) {
            switched_undo(c, &s, true);
            goto out;
        }
        g_ptr_array_add(s.hwpts, h);
    }
    c->dirty_tracking = false;
    ok = true;
out:
    trace_vfi_dirty_tracking(c->ioas_id, "stop", ok);
    g_ptr_array_free(s.hwpts, true);
    g_ptr_array_free(s.devs, true);
    return ok;
}

bool vfi_container_dirty_tracking_start(VfiContainer *c, GError **errp)
{
    if (!vfi_container_check_given(c, "dirty tracking start", errp)) {
        return false;
    }
    if (c->dirty_tracking) {
        trace_vfi_dirty_tracking_noop(c->ioas_id, "start");
        return true;
    }
    return container_start(c, errp);
}

bool vfi_container_dirty_tracking_stop(VfiContainer *c, GError **errp)
{
    if (!vfi_container_check_given(c, "dirty tracking stop", errp)) {
        return false;
    }
    if (!c->dirty_tracking) {
        trace_vfi_dirty_tracking_noop(c->ioas_id, "stop");
        return true;
    }
    return container_stop(c, errp);
}

bool vfi_container_dirty_tracking_is_active(const VfiContainer *c)
{
    return c && c->dirty_tracking;
}

/* ---- an address space -------------------------------------------------- */

/* Whether @as is tracking: it has a container other than @except and every
 * one of those is tracking. Derived from the containers on every call, so a
 * container-level stop is seen at once. */
static bool as_tracking(const VfiAddressSpace *as, const VfiContainer *except)
{
    guint n = 0;

    for (guint i = 0; i < as->containers->len; i++) {
        const VfiContainer *c = g_ptr_array_index(as->containers, i);

        if (c == except) {
            continue;
        }
        if (!c->dirty_tracking) {
            return false;
        }
        n++;
    }
    return n > 0;
}

bool vfi_address_space_dirty_tracking_start(VfiAddressSpace *as, GError **errp)
{
    g_autoptr(GPtrArray) started = NULL;

    if (!check_as(as, "dirty tracking start", errp)) {
        return false;
    }
    if (as_tracking(as, NULL)) {
        trace_vfi_dirty_tracking_noop(0, "address space start");
        return true;
    }
    started = g_ptr_array_new();
    for (guint i = 0; i < as->containers->len; i++) {
        VfiContainer *c = g_ptr_array_index(as->containers, i);

        if (c->dirty_tracking) {
            continue;
        }
        if (!container_start(c, errp)) {
            for (guint j = started->len; j-- > 0;) {
                VfiContainer *done = g_ptr_array_index(started, j);
                bool ok = container_stop(done, NULL);

                trace_vfi_dirty_tracking_rollback(done->ioas_id, "start of ioas",
                                                   done->ioas_id, ok);
            }
            g_prefix_error(errp, "address space %p: ", as->handle);
            return false;
        }
        g_ptr_array_add(started, c);
    }
    return true;
}

bool vfi_address_space_dirty_tracking_stop(VfiAddressSpace *as, GError **errp)
{
    g_autoptr(GPtrArray) stopped = NULL;

    if (!check_as(as, "dirty tracking stop", errp)) {
        return false;
    }
    stopped = g_ptr_array_new();
    for (guint i = 0; i < as->containers->len; i++) {
        VfiContainer *c = g_ptr_array_index(as->containers, i);

        if (!c->dirty_tracking) {
            continue;
        }
        if (!container_stop(c, errp)) {
            for (guint j = stopped->len; j-- > 0;) {
                VfiContainer *done = g_ptr_array_index(stopped, j);
                bool ok = container_start(done, NULL);

                trace_vfi_dirty_tracking_rollback(done->ioas_id, "stop of ioas",
                                                   done->ioas_id, ok);
            }
            g_prefix_error(errp, "address space %p: ", as->handle);
            return false;
        }
        g_ptr_array_add(stopped, c);
    }
    if (!stopped->len) {
        trace_vfi_dirty_tracking_noop(0, "address space stop");
    }
    return true;
}

bool vfi_address_space_dirty_tracking_is_active(const VfiAddressSpace *as)
{
    return as && as_tracking(as, NULL);
}

/* ---- hooks of the container layer -------------------------------------- */

bool vfi_container_dirty_check_map(const VfiContainer *c, const char *what, uint64_t iova,
                                    uint64_t size, GError **errp)
{
    uint64_t last = iova + (size - 1);

    if (!c->dirty_tracking) {
        return true;
    }
    for (guint i = 0; i < c->devices->len; i++) {
        VfiContainerDevice *cd = cd_at(c, i);
        bool inside = false;

        if (!cd->logging_started) {
            continue;
        }
        for (guint j = 0; j < cd->logged->len && !inside; j++) {
            VfiRange *r = &g_array_index(cd->logged, VfiRange, j);

            inside = iova >= r->iova && last <= r->last;
        }
        if (!inside) {
            trace_vfi_dirty_refused(c->ioas_id, what, "outside a device's logged ranges");
            g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                        "%s: [0x%" PRIx64 ", 0x%" PRIx64 "] is outside the IOVA ranges "
                        "device %s logs its DMA for (given when dirty tracking of ioas %u "
                        "started): stop tracking, map, and start it again", what, iova,
                        last, vfi_device_get_name(cd->dev), c->ioas_id);
            return false;
        }
    }
    return true;
}

bool vfi_container_dirty_check_unmap(const VfiContainer *c, const char *what,
                                      VfiUnmapFlags flags, GError **errp)
{
    if (!c->dirty_tracking || (flags & VFI_UNMAP_DISCARD_DIRTY)) {
        return true;
    }
    trace_vfi_dirty_refused(c->ioas_id, what, "dirty tracking is on");
    g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                "%s: dirty tracking is on for ioas %u: read the range's dirty bits first "
                "(vfi_container_dma_unmap_dirty()) or pass VFI_UNMAP_DISCARD_DIRTY",
                what, c->ioas_id);
    return false;
}

bool vfi_container_dirty_check_detach(const VfiContainerDevice *cd, GError **errp)
{
    VfiContainer *c = cd->container;

    if (!c->dirty_tracking ||
        vfi_container_dirty_coverage(c, cd->dev, NULL) == VFI_DIRTY_COVERAGE_NONE) {
        return true;
    }
    trace_vfi_dirty_refused(c->ioas_id, "detach", "tracked device while tracking is on");
    g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                "device %s is dirty-tracked and tracking is on for ioas %u: its unread "
                "dirty pages would be lost; sync and stop tracking before unplugging it",
                vfi_device_get_name(cd->dev), c->ioas_id);
    return false;
}

bool vfi_container_dirty_catch_up(VfiContainer *c, VfiContainerDevice *cd,
                                   bool new_container, GError **errp)
{
    VfiHwpt *h = cd->hwpt;
    bool hwpt_switched = false;

    if (new_container) {
        /* the address space is tracking without @c: @c joins in */
        if (c->as && as_tracking(c->as, c)) {
            return container_start(c, errp);
        }
        return true;
    }
    if (!c->dirty_tracking) {
        return true;
    }
    if (h && hwpt_is_dirty(h) && !h->dirty_on) {
        if (!hwpt_set(c, h, true, errp)) {
            return false;
        }
        hwpt_switched = true;
    }
    if (vfi_cd_uses_logging(cd) && !cd->logging_started && !logging_start(c, cd, errp)) {
        if (hwpt_switched) {
            bool ok = hwpt_set(c, h, false, NULL);

            trace_vfi_dirty_tracking_rollback(c->ioas_id, "start of hwpt", h->id, ok);
        }
        return false;
    }
    trace_vfi_dirty_catch_up(c->ioas_id, vfi_device_get_name(cd->dev), hwpt_switched,
                              cd->logging_started);
    return true;
}

void vfi_container_dirty_forget_device(VfiContainerDevice *cd)
{
    if (cd->logging_started) {
        g_autoptr(GError) err = NULL;

        if (!vfi_device_dma_logging_stop(cd->dev, &err)) {
            trace_vfi_dirty_forget_device(vfi_device_get_name(cd->dev), err->message);
        }
        cd->logging_started = false;
    }
    if (cd->container && cd->container->dirty_reader) {
        vfi_dirty_reader_remove_device(cd->container->dirty_reader, cd->dev);
    }
    g_clear_pointer(&cd->logged, g_array_unref);
}

void vfi_container_dirty_free(VfiContainer *c)
{
    g_clear_pointer(&c->dirty_reader, vfi_dirty_reader_free);
}

void vfi_container_dirty_hwpt_added(VfiContainer *c, VfiHwpt *h)
{
    /* A new HWPT's tracking is off: it becomes a source of the reader when
     * hwpt_set() switches it on (catch-up or start). */
    (void)c;
    g_assert(!h->dirty_on);
}

void vfi_container_dirty_hwpt_removed(VfiContainer *c, VfiHwpt *h)
{
    if (h->dirty_on) {
        bool ok = vfi_dirty_reader_remove_hwpt(container_reader(c), h->id, NULL);

        g_assert(ok);
        h->dirty_on = false;
    }
}

/* ---- reading (the container's dirty reader, hw/vfio/dirty-reader.c) ------ */

static bool check_log(VfiContainer *c, const VfiDirtyLog *log, const char *what,
                      GError **errp)
{
    return vfi_dirty_reader_check_log(container_reader(c), log, what, errp);
}

/* The index of the first of @c's mapped ranges (sorted, disjoint) that ends
 * at or after @lo (c->mapped->len when none does): binary search. */
static guint first_mapped_from(const VfiContainer *c, uint64_t lo)
{
    guint a = 0, b = c->mapped->len;

    while (a < b) {
        guint mid = a + (b - a) / 2;

        if (g_array_index(c->mapped, VfiRange, mid).last < lo) {
            a = mid + 1;
        } else {
            b = mid;
        }
    }
    return a;
}

/* WRONG_STATE unless @c is tracking: reading a HWPT whose tracking is off is
 * EINVAL in the kernel, and a device log not started has nothing. */
static bool check_tracking(const VfiContainer *c, const char *what, GError **errp)
{
    if (c->dirty_tracking) {
        return true;
    }
    trace_vfi_dirty_refused(c->ioas_id, what, "dirty tracking is off");
    g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                "%s: dirty tracking is off for ioas %u: there are no dirty bits to read "
                "(start tracking first)", what, c->ioas_id);
    return false;
}

/*
 * Query the parts of @c's mapped ranges inside [lo, hi] and the log's span,
 * each widened to the log's pages (a page queried twice is not read again).
 */
static bool query_window(VfiContainer *c, uint64_t lo, uint64_t hi,
                         const VfiDirtyLog *log, uint32_t flags, GError **errp)
{
    uint64_t ps = log->page_size;
    uint64_t done_last = 0;
    bool any_done = false;

    lo = MAX(lo, log->base_iova);
    hi = MIN(hi, vfi_dirty_log_last(log));
    if (lo > hi) {
        return true;
    }
    for (guint i = first_mapped_from(c, lo); i < c->mapped->len; i++) {
        VfiRange *r = &g_array_index(c->mapped, VfiRange, i);
        uint64_t a, b;

        if (r->iova > hi) {
            break;
        }
        a = MAX(r->iova, lo) & ~(ps - 1);
        b = MIN(r->last, hi) | (ps - 1);
        if (any_done) {
            if (b <= done_last) {
                continue;
            }
            a = MAX(a, done_last + 1);
        }
        if (!vfi_dirty_reader_read(container_reader(c), a, b - a + 1, log, flags, errp)) {
            return false;
        }
        done_last = b;
        any_done = true;
    }
    return true;
}

bool vfi_container_query_dirty(VfiContainer *c, uint64_t iova, uint64_t size,
                                const VfiDirtyLog *log, uint32_t flags, GError **errp)
{
    if (!vfi_container_check_given(c, "dirty query", errp) ||
        !check_tracking(c, "dirty query", errp)) {
        return false;
    }
    return vfi_dirty_reader_query(container_reader(c), iova, size, log, flags, errp);
}

bool vfi_container_sync_dirty(VfiContainer *c, const VfiDirtyLog *log, GError **errp)
{
    if (!vfi_container_check_given(c, "dirty sync", errp) ||
        !check_tracking(c, "dirty sync", errp) ||
        !check_log(c, log, "dirty sync", errp)) {
        return false;
    }
    return query_window(c, 0, UINT64_MAX, log, 0, errp);
}

bool vfi_address_space_sync_dirty(VfiAddressSpace *as, const VfiDirtyLog *log,
                                   GError **errp)
{
    if (!check_as(as, "dirty sync", errp)) {
        return false;
    }
    for (guint i = 0; i < as->containers->len; i++) {
        VfiContainer *c = g_ptr_array_index(as->containers, i);

        if (!check_tracking(c, "address space dirty sync", errp) ||
            !check_log(c, log, "address space dirty sync", errp)) {
            return false;
        }
    }
    for (guint i = 0; i < as->containers->len; i++) {
        if (!query_window(g_ptr_array_index(as->containers, i), 0, UINT64_MAX, log, 0,
                          errp)) {
            return false;
        }
    }
    return true;
}

/* ---- unmap during migration ---------------------------------------------- */

/* The mapped parts of [iova, last] in @c must lie inside @log's span. */
static bool check_log_covers(const VfiContainer *c, const VfiDirtyLog *log, uint64_t iova,
                             uint64_t last, const char *what, GError **errp)
{
    for (guint i = first_mapped_from(c, iova); i < c->mapped->len; i++) {
        VfiRange *r = &g_array_index(c->mapped, VfiRange, i);
        uint64_t a = MAX(r->iova, iova), b = MIN(r->last, last);

        if (a > b) {
            break;      /* this range and the ones after it start after @last */
        }
        if (a < log->base_iova || b > vfi_dirty_log_last(log)) {
            g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                        "%s (ioas %u): mapped [0x%" PRIx64 ", 0x%" PRIx64 "] is outside the "
                        "log's span [0x%" PRIx64 ", 0x%" PRIx64 "]: its dirty bits would be "
                        "lost", what, c->ioas_id, a, b, log->base_iova,
                        vfi_dirty_log_last(log));
            return false;
        }
    }
    return true;
}

static bool check_unmap_dirty_args(const VfiDirtyLog *log, VfiUnmapFlags flags,
                                   const char *what, GError **errp)
{
    if (flags & ~(VFI_UNMAP_ALLOW_ABSENT | VFI_UNMAP_DISCARD_DIRTY)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: unknown flags 0x%x", what, (unsigned)flags);
        return false;
    }
    if (!log && !(flags & VFI_UNMAP_DISCARD_DIRTY)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: no dirty log given (pass VFI_UNMAP_DISCARD_DIRTY to drop the "
                    "range's dirty bits)", what);
        return false;
    }
    return true;
}

bool vfi_container_dma_unmap_dirty(VfiContainer *c, uint64_t iova, uint64_t size,
                                    const VfiDirtyLog *log, VfiUnmapFlags flags,
                                    uint64_t *unmapped, GError **errp)
{
    const char *what = "dma unmap with dirty read";

    if (!vfi_container_check_given(c, what, errp) ||
        !check_unmap_dirty_args(log, flags, what, errp) ||
        !vfi_container_check_unmap_range(c, what, iova, size, errp)) {
        return false;
    }
    if (log) {
        if (!check_log(c, log, what, errp) ||
            !check_log_covers(c, log, iova, iova + (size - 1), what, errp)) {
            return false;
        }
        /* tracking off: nothing to read (and the kernel would say EINVAL) */
        if (c->dirty_tracking &&
            !query_window(c, iova, iova + (size - 1), log, VFI_DIRTY_QUERY_NO_CLEAR,
                          errp)) {
            return false;
        }
    }
    trace_vfi_dirty_unmap(c->ioas_id, iova, size, log && c->dirty_tracking);
    return vfi_container_dma_unmap(c, iova, size, flags | VFI_UNMAP_DISCARD_DIRTY,
                                    unmapped, errp);
}

bool vfi_address_space_dma_unmap_dirty(VfiAddressSpace *as, uint64_t iova, uint64_t size,
                                        const VfiDirtyLog *log, VfiUnmapFlags flags,
                                        GError **errp)
{
    const char *what = "address space dma unmap with dirty read";

    if (!check_as(as, what, errp) || !check_unmap_dirty_args(log, flags, what, errp) ||
        !vfi_check_range_basic(what, iova, size, errp)) {
        return false;
    }
    if (log) {
        for (guint i = 0; i < as->containers->len; i++) {
            VfiContainer *c = g_ptr_array_index(as->containers, i);

            if (!check_log(c, log, what, errp) ||
                !check_log_covers(c, log, iova, iova + (size - 1), what, errp)) {
                return false;
            }
        }
        for (guint i = 0; i < as->containers->len; i++) {
            VfiContainer *c = g_ptr_array_index(as->containers, i);

            trace_vfi_dirty_unmap(c->ioas_id, iova, size, c->dirty_tracking);
            if (!c->dirty_tracking) {
                continue;       /* nothing to read */
            }
            if (!query_window(c, iova, iova + (size - 1), log, VFI_DIRTY_QUERY_NO_CLEAR,
                              errp)) {
                return false;
            }
        }
    }
    return vfi_address_space_dma_unmap(as, iova, size, flags | VFI_UNMAP_DISCARD_DIRTY,
                                        errp);
}

/* ---- coverage report ----------------------------------------------------- */

VfiDirtyDeviceReport *vfi_address_space_dirty_report(const VfiAddressSpace *as,
                                                       unsigned *n)
{
    VfiDirtyDeviceReport *out;
    unsigned total = 0, k = 0;

    for (guint i = 0; as && i < as->containers->len; i++) {
        total += ((VfiContainer *)g_ptr_array_index(as->containers, i))->devices->len;
    }
    if (n) {
        *n = total;
    }
    if (!total) {
        return NULL;
    }
    out = g_new0(VfiDirtyDeviceReport, total);
    for (guint i = 0; i < as->containers->len; i++) {
        VfiContainer *c = g_ptr_array_index(as->containers, i);

        for (guint j = 0; j < c->devices->len; j++) {
            VfiDirtyDeviceReport *e = &out[k++];

            e->device = g_ptr_array_index(c->devices, j);
            e->container = c;
            e->coverage = vfi_container_dirty_coverage(c, e->device, &e->reason);
        }
    }
    return out;
}

char *vfi_address_space_migration_blocker(const VfiAddressSpace *as)
{
    g_autofree VfiDirtyDeviceReport *rep = NULL;
    g_autoptr(GString) list = NULL;
    unsigned n = 0, untracked = 0;

    rep = vfi_address_space_dirty_report(as, &n);
    for (unsigned i = 0; i < n; i++) {
        if (rep[i].coverage != VFI_DIRTY_COVERAGE_NONE) {
            continue;
        }
        if (!list) {
            list = g_string_new(NULL);
        } else {
            g_string_append(list, ", ");
        }
        g_string_append_printf(list, "%s (%s)", vfi_device_get_name(rep[i].device),
                               vfi_untracked_reason_str(rep[i].reason));
        untracked++;
    }
    if (!untracked) {
        return NULL;
    }
    return g_strdup_printf("dirty tracking does not cover %u device%s: %s", untracked,
                           untracked == 1 ? "" : "s", list->str);
}

bool vfi_hwpt_dirty_tracking_is_on(const VfiHwpt *h)
{
    return h && h->dirty_on;
}

bool vfi_device_offers_dma_logging(const VfiDevice *dev)
{
    VfiContainerDevice *cd = vfi_container_device_state(dev);

    return cd && cd->logging_offered;
}

bool vfi_device_dma_logging_active(const VfiDevice *dev)
{
    VfiContainerDevice *cd = vfi_container_device_state(dev);

    return cd && cd->logging_started;
}

void vfi_container_get_dirty_stats(const VfiContainer *c, VfiDirtyStats *st)
{
    vfi_dirty_reader_get_stats(c ? c->dirty_reader : NULL, st);
}
