/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: dirty-tracking policy (docs/dirty-tracking.md).
 *
 *  - start/stop of a container: SET_DIRTY_TRACKING on every HWPT with the
 *    dirty flag, DMA logging on every device the coverage rule covers by
 *    logging; whatever one call switched is switched back when a later step
 *    fails; the container's dirty_tracking says the session is on;
 *  - several containers (an address space) are switched together, with the
 *    same rollback;
 *  - a device placed while tracking is on is brought into that state.
 * The state switched lives where it belongs (the HWPT, the device, the
 * container); nothing is kept here.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/dirty.h"
#include "migration-internal.h"
#include "trace.h"

/* ---- DMA logging of one device -------------------------------------------- */

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

/* @c's mapped ranges widened to the logging page size and merged. */
static GArray *logging_pages(const VfiContainer *c)
{
    const uint64_t ps = VFI_DMA_LOGGING_MIN_PAGE_SIZE;
    GArray *in = g_array_new(false, false, sizeof(VfiRange));
    VfiRange r;

    VFI_CONTAINER_FOREACH_MAPPED(c, 0, r) {
        vfi_ranges_add_merged(in, r.iova & ~(ps - 1), r.last | (ps - 1));
    }
    return in;
}

/*
 * The ranges to give DMA_LOGGING_START: @c's mapped ranges in logging pages,
 * at most @max of them: when there are more, the neighbours with the
 * smallest gaps between them are merged (the device then also logs the
 * gaps, where nothing is mapped, so nothing is written).
 */
static GArray *logging_ranges(const VfiContainer *c, unsigned max)
{
    GArray *in = logging_pages(c);
    g_autoptr(GArray) out = NULL;
    g_autofree Gap *gaps = NULL;
    g_autofree bool *merge = NULL;
    guint n = in->len;

    if (n <= max) {
        return in;
    }
    out = g_array_new(false, false, sizeof(VfiRange));
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
    g_array_free(in, true);
    return g_steal_pointer(&out);
}

/* DMA_LOGGING_START of @dev over @c's mapped ranges (at most @max). */
static bool logging_try(VfiContainer *c, VfiDevice *dev, unsigned max, unsigned *used,
                        GError **errp)
{
    g_autoptr(GArray) ranges = logging_ranges(c, max);
    g_autofree VfiDmaLoggingRange *arg = g_new(VfiDmaLoggingRange, ranges->len);

    for (guint i = 0; i < ranges->len; i++) {
        VfiRange *r = &g_array_index(ranges, VfiRange, i);

        arg[i].iova = r->iova;
        arg[i].length = r->last - r->iova + 1;
    }
    *used = ranges->len;
    trace_vfi_dirty_logging_ranges(vfi_device_get_display_name(dev), vfi_container_mapped_count(c), ranges->len,
                                   VFI_DMA_LOGGING_MIN_PAGE_SIZE);
    return vfi_device_dma_logging_start(dev, VFI_DMA_LOGGING_MIN_PAGE_SIZE, arg,
                                        ranges->len, errp);
}

static bool logging_start(VfiContainer *c, VfiDevice *dev, GError **errp)
{
    const char *name = vfi_device_get_display_name(dev);
    unsigned max = VFI_DMA_LOGGING_MAX_RANGES, used;

    if (vfi_container_mapped_count(c) == 0) {
        VFI_TRACE_CONTAINER(vfi_dirty_refused, c, "DMA logging start", "nothing mapped");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "dirty tracking start: device %s logs its own DMA, but nothing is "
                    "mapped in %s yet (map guest memory before starting)", name,
                    VFI_CONTAINER_DESC(c));
        return false;
    }
    for (;;) {
        g_autoptr(GError) err = NULL;

        if (logging_try(c, dev, max, &used, &err)) {
            VFI_TRACE_CONTAINER(vfi_dirty_tracking_device, c, name, true, true);
            return true;
        }
        if (g_error_matches(err, VFI_KERNEL_ERROR, E2BIG) && used > 1) {
            /* a driver with a lower limit than the vfio core's */
            trace_vfi_dirty_logging_e2big(name, used, used / 2);
            max = used / 2;
            continue;
        }
        VFI_TRACE_CONTAINER(vfi_dirty_tracking_device, c, name, true, false);
        g_propagate_prefixed_error(errp, g_steal_pointer(&err),
                                   "dirty tracking start: DMA logging of device %s "
                                   "(%s) failed: ", name, VFI_CONTAINER_DESC(c));
        return false;
    }
}

static bool logging_stop(VfiContainer *c, VfiDevice *dev, GError **errp)
{
    bool ok = vfi_device_dma_logging_stop(dev, errp);

    VFI_TRACE_CONTAINER(vfi_dirty_tracking_device, c, vfi_device_get_display_name(dev), false,
                        ok);
    if (!ok) {
        g_prefix_error(errp, "dirty tracking stop: DMA logging of device %s (%s) "
                       "failed: ", vfi_device_get_display_name(dev), VFI_CONTAINER_DESC(c));
    }
    return ok;
}

/* Whether the coverage rule covers @dev (in @c) by its own DMA logging. */
static bool logs_itself(const VfiDevice *dev)
{
    return vfi_coverage_uses_logging(vfi_container_device_state(dev));
}

/* ---- one container ----------------------------------------------------- */

/* What one start or stop switched, to switch it back. */
typedef struct Switched {
    bool iommu;           /* the container-wide IOMMU tracking (type1) */
    GPtrArray *hwpts;     /* VfiHwpt * */
    GPtrArray *devs;      /* VfiDevice * */
    GArray *logged;       /* SavedLogging, per device of @devs a stop stopped */
} Switched;

/* What a device logged before a stop stopped it: an undo restarts exactly
 * that (the mapped ranges may be gone since). */
typedef struct SavedLogging {
    VfiDmaLoggingRange *ranges;
    unsigned n;
    uint64_t page_size;
} SavedLogging;

static void saved_logging_clear(gpointer p)
{
    g_free(((SavedLogging *)p)->ranges);
}

/* Restart the logging of the @i-th device a stop stopped. */
static bool logging_restart(VfiContainer *c, Switched *s, guint i, GError **errp)
{
    VfiDevice *dev = g_ptr_array_index(s->devs, i);
    SavedLogging *l = &g_array_index(s->logged, SavedLogging, i);
    bool ok = vfi_device_dma_logging_start(dev, l->page_size, l->ranges, l->n, errp);

    VFI_TRACE_CONTAINER(vfi_dirty_tracking_device, c, vfi_device_get_display_name(dev), true,
                        ok);
    return ok;
}

static void undo_devices(VfiContainer *c, Switched *s, bool was_on, GError **errp)
{
    for (guint i = s->devs->len; i-- > 0;) {
        VfiDevice *dev = g_ptr_array_index(s->devs, i);
        g_autoptr(GError) err = NULL;
        bool ok = was_on ? logging_restart(c, s, i, &err) : logging_stop(c, dev, &err);

        VFI_TRACE_CONTAINER(vfi_dirty_tracking_rollback, c, was_on ? "logging stop of devid" :
                            "logging start of devid", vfi_device_get_devid(dev), ok);
        if (!ok) {
            g_prefix_error(errp, "(undo failed: the DMA logging of device %s stays %s) ",
                           vfi_device_get_display_name(dev), was_on ? "off" : "on");
        }
    }
}

/* Switch back what one start (@was_on false) or stop switched; what cannot
 * be switched back keeps the state the kernel has, and @errp says so. */
static void switched_undo(VfiContainer *c, Switched *s, bool was_on, GError **errp)
{
    /* Reverse order of the forward pass: devices, then HWPTs for a start;
     * HWPTs, then devices for a stop. */
    if (!was_on) {
        undo_devices(c, s, was_on, errp);
    }
    if (s->iommu) {
        bool ok = c->ops->iommu_tracking(c, was_on, NULL);

        VFI_TRACE_CONTAINER(vfi_dirty_tracking_rollback, c, was_on ?
                            "stop of the container's IOMMU" :
                            "start of the container's IOMMU", 0, ok);
        if (!ok) {
            g_prefix_error(errp, "(undo failed: the IOMMU dirty tracking of %s stays %s) ",
                           VFI_CONTAINER_DESC(c), was_on ? "off" : "on");
        }
    }
    for (guint i = s->hwpts->len; i-- > 0;) {
        VfiHwpt *h = g_ptr_array_index(s->hwpts, i);
        bool ok = vfi_hwpt_set_dirty_tracking(h, was_on, NULL);

        VFI_TRACE_CONTAINER(vfi_dirty_tracking_rollback, c, was_on ? "stop of hwpt" :
                            "start of hwpt", h->id, ok);
        if (!ok) {
            g_prefix_error(errp, "(undo failed: the dirty tracking of hwpt %u stays %s) ",
                           h->id, was_on ? "off" : "on");
        }
    }
    if (was_on) {
        undo_devices(c, s, was_on, errp);
    }
}

/* Switch every dirty-capable HWPT of @c not in state @on. */
static bool switch_hwpts(VfiContainer *c, bool on, Switched *s, GError **errp)
{
    for (guint i = 0; i < c->hwpts->len; i++) {
        VfiHwpt *h = g_ptr_array_index(c->hwpts, i);

        if (!vfi_hwpt_is_dirty_capable(h) || h->dirty_on == on) {
            continue;
        }
        if (!vfi_hwpt_set_dirty_tracking(h, on, errp)) {
            return false;
        }
        g_ptr_array_add(s->hwpts, h);
    }
    return true;
}

/* Whether @c's container-wide IOMMU tracking (type1) is wanted: a device
 * of @c does not log its own DMA (when all do, the IOMMU side, which
 * reports every mapped page, would only drown their logs). */
static bool iommu_wanted(const VfiContainer *c)
{
    for (guint i = 0; i < c->devices->len; i++) {
        if (!logs_itself(g_ptr_array_index(c->devices, i))) {
            return true;
        }
    }
    return false;
}

/* Switch @c's container-wide IOMMU tracking (the ops' primitive; none on
 * IOMMUFD, whose HWPTs switch_hwpts() does) to @on where wanted. */
static bool switch_iommu(VfiContainer *c, bool on, Switched *s, GError **errp)
{
    if (!c->ops->iommu_tracking || c->ops->iommu_tracking_is_on(c) == on ||
        (on && !iommu_wanted(c))) {
        return true;
    }
    if (!c->ops->iommu_tracking(c, on, errp)) {
        VFI_TRACE_CONTAINER(vfi_dirty_iommu_tracking, c, on, false);
        return false;
    }
    VFI_TRACE_CONTAINER(vfi_dirty_iommu_tracking, c, on, true);
    s->iommu = true;
    return true;
}

/* Start (@on) the logging of every device of @c that logs itself, or stop
 * every device logging. */
static bool switch_devices(VfiContainer *c, bool on, Switched *s, GError **errp)
{
    for (guint i = 0; i < c->devices->len; i++) {
        VfiDevice *dev = g_ptr_array_index(c->devices, i);

        SavedLogging l = { 0 };

        if (vfi_device_dma_logging_active(dev) == on || (on && !logs_itself(dev))) {
            continue;
        }
        if (!on) {
            l.ranges = vfi_device_dma_logging_ranges(dev, &l.n, &l.page_size);
        }
        if (!(on ? logging_start(c, dev, errp) : logging_stop(c, dev, errp))) {
            g_free(l.ranges);
            return false;
        }
        g_ptr_array_add(s->devs, dev);
        g_array_append_val(s->logged, l);
    }
    return true;
}

/* A logging device of @c with nothing mapped: refused before any ioctl. */
static bool check_start(VfiContainer *c, GError **errp)
{
    for (guint i = 0; i < c->devices->len; i++) {
        VfiDevice *dev = g_ptr_array_index(c->devices, i);

        if (logs_itself(dev) && vfi_container_mapped_count(c) == 0) {
            return logging_start(c, dev, errp);   /* refuses */
        }
    }
    return true;
}

static bool container_switch(VfiContainer *c, bool on, GError **errp)
{
    Switched s = { false, g_ptr_array_new(), g_ptr_array_new(),
                   g_array_new(false, true, sizeof(SavedLogging)) };
    bool ok;

    if (on) {
        ok = check_start(c, errp) && switch_hwpts(c, true, &s, errp) &&
             switch_iommu(c, true, &s, errp) && switch_devices(c, true, &s, errp);
    } else {
        ok = switch_devices(c, false, &s, errp) && switch_hwpts(c, false, &s, errp) &&
             switch_iommu(c, false, &s, errp);
    }
    if (ok) {
        c->dirty_tracking = on;
        /* a new session starts clean; a stopped one has nothing to read */
        VFI_TRACE_CONTAINER(vfi_dirty_kept_drop, c, c->kept ? c->kept->len : 0);
        g_clear_pointer(&c->kept, g_array_unref);
    } else {
        switched_undo(c, &s, !on, errp);
    }
    VFI_TRACE_CONTAINER(vfi_dirty_tracking, c, on ? "start" : "stop", ok);
    g_ptr_array_free(s.hwpts, true);
    g_ptr_array_free(s.devs, true);
    g_array_set_clear_func(s.logged, saved_logging_clear);
    g_array_free(s.logged, true);
    return ok;
}

static bool container_set(VfiContainer *c, bool on, GError **errp)
{
    if (!vfi_container_check_given(c, on ? "dirty tracking start" : "dirty tracking stop",
                                   errp)) {
        return false;
    }
    if (c->dirty_tracking == on) {
        VFI_TRACE_CONTAINER(vfi_dirty_tracking_noop, c, on ? "start" : "stop");
        return true;
    }
    return container_switch(c, on, errp);
}

bool vfi_container_dirty_tracking_start(VfiContainer *c, GError **errp)
{
    VFI_LOCK_GUARD(vfi_container_lock(c));

    return container_set(c, true, errp);
}

bool vfi_container_dirty_tracking_stop(VfiContainer *c, GError **errp)
{
    VFI_LOCK_GUARD(vfi_container_lock(c));

    return container_set(c, false, errp);
}

/* ---- several containers ------------------------------------------------- */

/* Switch back the containers of @done (an undo): one that cannot be keeps
 * the state the kernel has, and @errp says which. */
static void switch_back(GPtrArray *done, bool on, GError **errp)
{
    for (guint j = done->len; j-- > 0;) {
        VfiContainer *c = g_ptr_array_index(done, j);
        g_autoptr(GError) err = NULL;
        bool ok = container_switch(c, !on, &err);

        VFI_TRACE_CONTAINER(vfi_dirty_tracking_rollback, c, on ? "start of the container" :
                            "stop of the container", 0, ok);
        if (!ok) {
            g_prefix_error(errp, "(undo failed: %s stays %s: %s) ", VFI_CONTAINER_DESC(c),
                           on ? "tracking" : "not tracking", err->message);
        }
    }
}

bool vfi_dirty_tracking_switch_all(VfiContainer *const *cs, guint n, bool on,
                                   GError **errp)
{
    g_autoptr(GPtrArray) done = g_ptr_array_new();

    /* Every refusal first, before any container is switched. */
    for (guint i = 0; on && i < n; i++) {
        if (!cs[i]->dirty_tracking && !check_start(cs[i], errp)) {
            return false;
        }
    }
    for (guint i = 0; i < n; i++) {
        if (cs[i]->dirty_tracking == on) {
            continue;
        }
        if (!container_switch(cs[i], on, errp)) {
            switch_back(done, on, errp);
            return false;
        }
        g_ptr_array_add(done, cs[i]);
    }
    if (done->len == 0) {
        trace_vfi_dirty_tracking_noop("every container", on ? "start" : "stop");
    }
    return true;
}

/* ---- catch-up and leave ------------------------------------------------- */

bool vfi_dirty_tracking_catch_up(VfiContainer *c, VfiContainerDevice *cd, GError **errp)
{
    VfiHwpt *h = cd->hwpt;
    bool hwpt_switched = false;

    if (!c->dirty_tracking) {
        return true;
    }
    /* type1: a device not logging its own DMA needs the IOMMU side (left
     * on when it leaves: it reads more, never less) */
    if (c->ops->iommu_tracking && !vfi_coverage_uses_logging(cd) &&
        !c->ops->iommu_tracking_is_on(c)) {
        bool ok = c->ops->iommu_tracking(c, true, errp);

        VFI_TRACE_CONTAINER(vfi_dirty_iommu_catch_up, c, vfi_device_get_display_name(cd->dev),
                            ok);
        if (!ok) {
            return false;
        }
    }
    if (h && vfi_hwpt_is_dirty_capable(h) && !h->dirty_on) {
        if (!vfi_hwpt_set_dirty_tracking(h, true, errp)) {
            return false;
        }
        hwpt_switched = true;
    }
    if (vfi_coverage_uses_logging(cd) && !vfi_device_dma_logging_active(cd->dev) &&
        !logging_start(c, cd->dev, errp)) {
        if (hwpt_switched) {
            bool ok = vfi_hwpt_set_dirty_tracking(h, false, NULL);

            VFI_TRACE_CONTAINER(vfi_dirty_tracking_rollback, c, "start of hwpt", h->id, ok);
            if (!ok) {
                g_prefix_error(errp, "(undo failed: the dirty tracking of hwpt %u stays "
                               "on) ", h->id);
            }
        }
        return false;
    }
    VFI_TRACE_CONTAINER(vfi_dirty_catch_up, c, vfi_device_get_display_name(cd->dev),
                        hwpt_switched, vfi_device_dma_logging_active(cd->dev));
    return true;
}

void vfi_dirty_tracking_drop_device(VfiDevice *dev)
{
    g_autoptr(GError) err = NULL;

    if (vfi_device_dma_logging_active(dev) && !vfi_device_dma_logging_stop(dev, &err)) {
        trace_vfi_dirty_forget_device(vfi_device_get_display_name(dev), err->message);
        vfi_device_dma_logging_forget(dev);
    }
}
