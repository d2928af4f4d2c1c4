/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: queries, syncs and unmaps during migration
 * (docs/dirty-tracking.md).
 *
 *  - queries and syncs read through the container's sources (dirty-reader.c)
 *    and are refused while its tracking is off (WRONG_STATE): the kernel
 *    refuses to read a HWPT whose tracking is off (EINVAL);
 *  - a sync reads every mapped range of the container, clipped to the log
 *    and widened to its pages;
 *  - an unmap while tracking is on reads the range's bits with NO_CLEAR
 *    first (or the caller says it does not care), but for the IOMMU bits
 *    of a type1 container, which the unmap itself reads (it is given the
 *    log: VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP); with tracking off it just
 *    unmaps.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/dirty.h"
#include "migration-internal.h"
#include "trace.h"

static bool check_log(VfiContainer *c, const VfiDirtyLog *log, const char *what,
                      GError **errp)
{
    VfiDirtySources s = vfi_dirty_sources_of(c);

    return vfi_dirty_check_log(&s, log, what, errp);
}

/* The parts of @c's mapped ranges inside [lo, hi] and the log's span
 * (dirty-reader.c). */
static bool read_window(VfiContainer *c, const VfiDirtySources *s, uint64_t lo, uint64_t hi,
                        const VfiDirtyLog *log, uint32_t flags, GError **errp)
{
    return vfi_dirty_read_mapped(c, s, lo, hi, log, flags, errp);
}

bool vfi_container_query_dirty(VfiContainer *c, uint64_t iova, uint64_t size,
                               const VfiDirtyLog *log, uint32_t flags, GError **errp)
{
    return vfi_dirty_query_container(c, NULL, iova, size, log, flags, errp);
}

bool vfi_container_sync_dirty(VfiContainer *c, const VfiDirtyLog *log, GError **errp)
{
    VFI_LOCK_GUARD(vfi_container_lock(c));

    if (!vfi_container_check_given(c, "dirty sync", errp)) {
        return false;
    }
    return vfi_dirty_sync_all(&c, 1, log, errp);
}

bool vfi_dirty_sync_check_all(VfiContainer *const *cs, guint n, const VfiDirtyLog *log,
                              const char *what, GError **errp)
{
    for (guint i = 0; i < n; i++) {
        if (!vfi_dirty_check_tracking(cs[i], what, errp) ||
            !check_log(cs[i], log, what, errp)) {
            return false;
        }
    }
    return true;
}

bool vfi_dirty_sync_all(VfiContainer *const *cs, guint n, const VfiDirtyLog *log,
                        GError **errp)
{
    const char *what = n == 1 ? "dirty sync" : "address space dirty sync";

    if (!vfi_dirty_sync_check_all(cs, n, log, what, errp)) {
        return false;
    }
    for (guint i = 0; i < n; i++) {
        VfiDirtySources s = vfi_dirty_sources_of(cs[i]);

        if (!read_window(cs[i], &s, 0, UINT64_MAX, log, 0, errp)) {
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
    VfiRange r;

    VFI_CONTAINER_FOREACH_MAPPED(c, iova, r) {
        uint64_t a = MAX(r.iova, iova), b = MIN(r.last, last);

        if (a > b) {
            break;      /* this range and the ones after it start after @last */
        }
        if (a < log->base_iova || b > vfi_dirty_log_last(log)) {
            g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                        "%s (%s): mapped [0x%" PRIx64 ", 0x%" PRIx64 "] is outside the "
                        "log's span [0x%" PRIx64 ", 0x%" PRIx64 "]: its dirty bits would be "
                        "lost", what, VFI_CONTAINER_DESC(c), a, b, log->base_iova,
                        vfi_dirty_log_last(log));
            return false;
        }
    }
    return true;
}

bool vfi_dirty_check_unmap_args(const VfiDirtyLog *log, VfiUnmapFlags flags,
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

bool vfi_dirty_check_before_unmap(VfiContainer *const *cs, guint n, uint64_t iova,
                                  uint64_t size, const VfiDirtyLog *log, const char *what,
                                  GError **errp)
{
    for (guint i = 0; log && i < n; i++) {
        if (!check_log(cs[i], log, what, errp) ||
            !check_log_covers(cs[i], log, iova, iova + (size - 1), what, errp)) {
            return false;
        }
    }
    return true;
}

bool vfi_dirty_read_before_unmap(VfiContainer *const *cs, guint n, uint64_t iova,
                                 uint64_t size, const VfiDirtyLog *log, bool unmap_reads,
                                 GError **errp)
{
    for (guint i = 0; log && i < n; i++) {
        VfiDirtySources s = vfi_dirty_sources_of(cs[i]);

        VFI_TRACE_CONTAINER(vfi_dirty_unmap, cs[i], iova, size, cs[i]->dirty_tracking);
        /* tracking off: nothing to read (and the kernel would say EINVAL) */
        if (!cs[i]->dirty_tracking) {
            continue;
        }
        /* An unmap given @log reads the container-wide IOMMU bits itself
         * (type1: GET_DIRTY_BITMAP), and exactly: bits set after a read
         * here would reach the log through it anyway. Read only what it
         * cannot: the pages kept of earlier reads and the device logs. */
        s.skip_iommu = unmap_reads && vfi_dirty_has_iommu_source(&s);
        if (s.skip_iommu) {
            VFI_TRACE_CONTAINER(vfi_dirty_unmap_iommu_left, cs[i], iova, size);
        }
        if (!read_window(cs[i], &s, iova, iova + (size - 1), log, VFI_DIRTY_QUERY_NO_CLEAR,
                         errp)) {
            return false;
        }
    }
    return true;
}

bool vfi_container_dma_unmap_dirty(VfiContainer *c, uint64_t iova, uint64_t size,
                                   const VfiDirtyLog *log, VfiUnmapFlags flags,
                                   uint64_t *unmapped, GError **errp)
{
    VFI_LOCK_GUARD(vfi_container_lock(c));
    const char *what = "dma unmap with dirty read";

    /* Every refusal before the read: a refused call must not have read (and
     * so, for device logs, cleared) dirty bits. */
    if (!vfi_container_check_given(c, what, errp) ||
        !vfi_dirty_check_unmap_args(log, flags, what, errp) ||
        !vfi_container_check_unmap_range(c, what, iova, size, errp) ||
        !vfi_dirty_check_before_unmap(&c, 1, iova, size, log, what, errp) ||
        !vfi_container_check_unmap(c, what, iova, size, flags | VFI_UNMAP_DISCARD_DIRTY,
                                   errp)) {
        return false;
    }
    /* The unmap is given @log: a type1 unmap reads its IOMMU bits itself,
     * exactly (a read here, then an unmap dropping its bits, would lose the
     * pages dirtied between them); the rest is read here. */
    return vfi_dirty_read_before_unmap(&c, 1, iova, size, log, true, errp) &&
           vfi_container_dma_unmap_checked(c, iova, size, log, flags, unmapped, errp);
}

bool vfi_dirty_read_leaving(VfiContainer *c, VfiContainerDevice *cd, const VfiDirtyLog *log,
                            GError **errp)
{
    g_autoptr(GArray) ids = g_array_new(false, false, sizeof(uint32_t));
    VfiDirtySources s = vfi_dirty_sources_of(c);
    VfiHwpt *h = cd->hwpt;

    if (c->ops->read_iommu_dirty && c->devices->len == 1) {
        /* type1: the kernel drops every mapping with the last group, so the
         * last device reads all the container has (its own log with it) */
        VFI_TRACE_CONTAINER(vfi_dirty_leaving, c, vfi_device_get_display_name(cd->dev), 1,
                            vfi_device_dma_logging_active(cd->dev));
        return read_window(c, &s, 0, UINT64_MAX, log, 0, errp);
    }
    if (h && h->dirty_on && h->devices->len == 1) {
        g_array_append_val(ids, h->id);
    }
    s.hwpt_ids = ids;
    s.device = cd->dev;
    VFI_TRACE_CONTAINER(vfi_dirty_leaving, c, vfi_device_get_display_name(cd->dev), ids->len,
                        vfi_device_dma_logging_active(cd->dev));
    return read_window(c, &s, 0, UINT64_MAX, log, 0, errp);
}
