/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-ops: check (c), no dirty page is lost.
 *
 * The shadow: every 4 KiB page a device wrote (vfi_sim_dma_write()
 * succeeded) while its container was tracking and the coverage report
 * covered the device is pending until a dirty log returned by the library
 * holds it (a sync, a query, the read of an unmap-dirty: over-reporting is
 * fine). A page is no longer owed when tracking of its container stops
 * (after a failed stop too: dirty-tracking.md says "treat a failed stop as
 * resync everything"), when the VMM unmaps it with VFI_UNMAP_DISCARD_DIRTY
 * (whether or not that unmap succeeds: the VMM said it does not need the
 * bits), or when its device is freed.
 *
 * A log the test does not trust is dropped instead of read: the log of a
 * call refused with VFI_ERROR ("nothing was changed", error.h), and the
 * log of an address-space unmap-dirty whose read of a later container
 * failed ("the VMM may keep or clear them", dirty.h: the test clears). A
 * kernel error elsewhere leaves "the bits already read" in the log, as the
 * API says, and the test keeps them. Pages such a dropped log held are
 * marked, so a loss found later names the step that dropped them.
 *
 * When a successful sync, query or unmap-dirty covers a pending page (its
 * device's container was read, the page is in the range and in the log's
 * span and still mapped), the page is lost: a finding.
 */
#include <inttypes.h>
#include <string.h>

#include "fuzz.h"

/* ---- logs ------------------------------------------------------------------ */

/* A VMM's log of [0, FZ_LOG_SPAN) with a random page size, or now and then
 * one the library must refuse (or NULL). */
VfiDirtyLog *fz_log_new(Fz *f, GString *detail)
{
    static const uint64_t sizes[] = { 4096, 4096, 4096, 4096, 8192, 16384, 16384 };
    VfiDirtyLog *log = g_new0(VfiDirtyLog, 1);
    unsigned r = fz_below(f, 100);

    log->page_size = sizes[fz_below(f, G_N_ELEMENTS(sizes))];
    if (r < 3) {
        log->page_size = 2048;              /* below the IOVA alignment */
    } else if (r < 5) {
        log->page_size = 12288;             /* not a power of two */
    } else if (r < 7) {
        log->base_iova = 4096;              /* not aligned to 16 KiB pages */
        log->page_size = 16384;
    } else if (r < 9) {
        g_free(log);
        g_string_append(detail, " log=NULL");
        return NULL;
    }
    log->nr_pages = (FZ_LOG_SPAN - log->base_iova) / log->page_size;
    if (r >= 9 && r < 12) {
        log->nr_pages = 16;                 /* a short log: most mappings outside */
    }
    log->bitmap = g_new0(uint64_t, (log->nr_pages + 63) / 64);
    g_string_append_printf(detail, " log=[0x%" PRIx64 ", %" PRIu64 " x 0x%" PRIx64 "]",
                           log->base_iova, log->nr_pages, log->page_size);
    return log;
}

void fz_log_free(VfiDirtyLog *log)
{
    if (log) {
        g_free(log->bitmap);
        g_free(log);
    }
}

/* Whether @log holds @page (a bit of a page containing it is set). */
static bool log_has(const VfiDirtyLog *log, uint64_t page)
{
    uint64_t bit;

    if (!log || log->page_size < 4096 || (log->page_size & (log->page_size - 1)) ||
        page < log->base_iova) {
        return false;
    }
    bit = (page - log->base_iova) / log->page_size;
    return bit < log->nr_pages && ((log->bitmap[bit / 64] >> (bit % 64)) & 1);
}

static bool in_log_span(const VfiDirtyLog *log, uint64_t page)
{
    return log && page >= log->base_iova &&
           (page - log->base_iova) / log->page_size < log->nr_pages;
}

/* ---- the shadow ----------------------------------------------------------- */

static VfiContainer *container_of_slot(Fz *f, unsigned slot)
{
    return f->slots[slot].dev ? vfi_device_get_container(f->slots[slot].dev) : NULL;
}

/* Whether the address space's coverage report says @dev is covered. */
static bool reported_covered(Fz *f, const VfiDevice *dev)
{
    unsigned n = 0;
    g_autofree VfiDirtyDeviceReport *rep = vfi_address_space_dirty_report(f->as, &n);

    for (unsigned i = 0; i < n; i++) {
        if (rep[i].device == dev) {
            return rep[i].coverage != VFI_DIRTY_COVERAGE_NONE;
        }
    }
    return false;
}

void fz_dirty_written(Fz *f, unsigned slot, uint64_t iova, uint64_t len)
{
    VfiContainer *c = container_of_slot(f, slot);

    if (!c || !vfi_container_dirty_tracking_is_active(c) ||
        !reported_covered(f, f->slots[slot].dev)) {
        return;
    }
    for (uint64_t p = iova & ~(FZ_PAGE - 1); p < iova + len; p += FZ_PAGE) {
        FzPending n = { slot, p, f->step, -1, NULL };
        bool dup = false;

        for (guint i = 0; i < f->pending->len && !dup; i++) {
            const FzPending *o = &g_array_index(f->pending, FzPending, i);

            dup = o->slot == slot && o->page == p;
        }
        if (!dup) {
            g_array_append_val(f->pending, n);
        }
    }
}

void fz_dirty_found(Fz *f, const VfiDirtyLog *log)
{
    for (guint i = 0; i < f->pending->len;) {
        if (log_has(log, g_array_index(f->pending, FzPending, i).page)) {
            g_array_remove_index(f->pending, i);
        } else {
            i++;
        }
    }
}

void fz_dirty_dropped(Fz *f, const VfiDirtyLog *log, const char *why)
{
    for (guint i = 0; i < f->pending->len; i++) {
        FzPending *p = &g_array_index(f->pending, FzPending, i);

        if (log_has(log, p->page)) {
            p->dropped_step = (int)f->step;
            p->dropped_why = why;
        }
    }
}

static void report_lost(Fz *f, const FzOp *o, const FzPending *p)
{
    g_autofree char *dropped = NULL;

    if (p->dropped_step >= 0) {
        dropped = g_strdup_printf("; a log holding it was dropped at step %d (%s)",
                                  p->dropped_step, p->dropped_why);
    }
    fz_viol(f, "C-lost-page", "page 0x%" PRIx64 " written by %s at step %u while tracked "
            "is not in any log up to this %s%s", p->page, f->slots[p->slot].name, p->step,
            o->name, dropped ? dropped : "");
}

void fz_dirty_expect(Fz *f, const FzOp *o, const VfiContainer *c, const VfiDirtyLog *log,
                     uint64_t lo, uint64_t hi)
{
    for (guint i = 0; i < f->pending->len;) {
        const FzPending *p = &g_array_index(f->pending, FzPending, i);
        VfiContainer *pc = container_of_slot(f, p->slot);

        if (pc && (!c || pc == c) && vfi_container_dirty_tracking_is_active(pc) &&
            p->page >= lo && p->page <= hi && in_log_span(log, p->page) &&
            fz_shadow_mapped(f, pc, p->page)) {
            report_lost(f, o, p);
            g_array_remove_index(f->pending, i);
        } else {
            i++;
        }
    }
}

void fz_dirty_forget(Fz *f, const VfiContainer *c, int slot, uint64_t lo, uint64_t hi)
{
    for (guint i = 0; i < f->pending->len;) {
        const FzPending *p = &g_array_index(f->pending, FzPending, i);

        if ((slot < 0 || (int)p->slot == slot) &&
            (!c || container_of_slot(f, p->slot) == c) && p->page >= lo && p->page <= hi) {
            g_array_remove_index(f->pending, i);
        } else {
            i++;
        }
    }
}
