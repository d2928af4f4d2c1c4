/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-ops: the dirty-tracking operations (start/stop at both levels,
 * syncs, queries, unmaps that read dirty bits first) and what their logs
 * mean for check (c) (fuzz-dirty.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "vfio-iommufd/error.h"
#include "fuzz.h"

/* ---- start and stop ---------------------------------------------------------- */

void fz_op_run_as_start(Fz *f, FzOp *o)
{
    o->was_tracking = vfi_address_space_dirty_tracking_is_active(f->as);
    o->ok = vfi_address_space_dirty_tracking_start(f->as, &o->err);
}

void fz_op_run_as_stop(Fz *f, FzOp *o)
{
    o->was_tracking = fz_any_tracking(f);
    o->ok = vfi_address_space_dirty_tracking_stop(f->as, &o->err);
}

void fz_op_run_c_start(Fz *f, FzOp *o)
{
    o->c = fz_pick_cont(f)->c;
    g_string_append_printf(o->detail, " ioas %u", vfi_container_get_ioas_id(o->c));
    o->was_tracking = vfi_container_dirty_tracking_is_active(o->c);
    o->ok = vfi_container_dirty_tracking_start(o->c, &o->err);
}

void fz_op_run_c_stop(Fz *f, FzOp *o)
{
    o->c = fz_pick_cont(f)->c;
    g_string_append_printf(o->detail, " ioas %u", vfi_container_get_ioas_id(o->c));
    o->was_tracking = vfi_container_dirty_tracking_is_active(o->c);
    o->ok = vfi_container_dirty_tracking_stop(o->c, &o->err);
}

/* dirty.h: "Already on: a no-op, no ioctl" (and the same for a stop). */
void fz_op_post_start(Fz *f, FzOp *o)
{
    if (o->ok && o->was_tracking && o->ioctls) {
        fz_viol(f, "E-noop-ioctls", "a start of what was tracking already made %" PRIu64
                " ioctl(s)", o->ioctls);
    }
}

void fz_op_post_stop(Fz *f, FzOp *o)
{
    if (o->ok && !o->was_tracking && o->ioctls) {
        fz_viol(f, "E-noop-ioctls", "a stop of what was not tracking made %" PRIu64
                " ioctl(s)", o->ioctls);
    }
    /* Stopped (or failed to: "treat a failed stop as resync everything"):
     * no page of those containers is owed any more. */
    fz_dirty_forget(f, o->c, -1, 0, UINT64_MAX);
}

/* ---- reads ----------------------------------------------------------------- */

void fz_op_run_as_sync(Fz *f, FzOp *o)
{
    o->log = fz_log_new(f, o->detail);
    o->iova = 0;
    o->size = UINT64_MAX;
    o->ok = vfi_address_space_sync_dirty(f->as, o->log, &o->err);
}

void fz_op_run_c_sync(Fz *f, FzOp *o)
{
    o->c = fz_pick_cont(f)->c;
    g_string_append_printf(o->detail, " ioas %u", vfi_container_get_ioas_id(o->c));
    o->log = fz_log_new(f, o->detail);
    o->iova = 0;
    o->size = UINT64_MAX;
    o->ok = vfi_container_sync_dirty(o->c, o->log, &o->err);
}

void fz_op_run_c_query(Fz *f, FzOp *o)
{
    uint64_t ps;

    o->c = fz_pick_cont(f)->c;
    g_string_append_printf(o->detail, " ioas %u", vfi_container_get_ioas_id(o->c));
    o->log = fz_log_new(f, o->detail);
    ps = o->log && o->log->page_size >= FZ_PAGE ? o->log->page_size : FZ_PAGE;
    o->iova = (FZ_REGION + fz_below(f, FZ_REGION_PAGES) * FZ_PAGE) & ~(ps - 1);
    o->size = (1 + fz_below(f, 8)) * ps;
    if (fz_chance(f, 5)) {
        o->iova += FZ_PAGE / 2;         /* not aligned to the log's pages */
    }
    o->flags = (fz_chance(f, 50) ? VFI_DIRTY_QUERY_NO_CLEAR : 0) |
               (fz_chance(f, 3) ? 0x80 : 0);
    g_string_append_printf(o->detail, " [0x%" PRIx64 ", +0x%" PRIx64 "] flags=0x%x", o->iova,
                           o->size, o->flags);
    o->ok = vfi_container_query_dirty(o->c, o->iova, o->size, o->log, o->flags, &o->err);
}

/* The log of a failed read: a refusal changed nothing, so the VMM drops
 * the log; after a kernel error "the bits already read are in @log". */
static void failed_log(Fz *f, FzOp *o, const char *why)
{
    if (o->err->domain == VFI_ERROR) {
        fz_dirty_dropped(f, o->log, why);
    } else {
        fz_dirty_found(f, o->log);
    }
}

void fz_op_post_read(Fz *f, FzOp *o)
{
    if (!o->ok) {
        failed_log(f, o, "the log of a refused read, dropped by the VMM");
        return;
    }
    fz_dirty_found(f, o->log);
    fz_dirty_expect(f, o, o->c, o->log, o->iova, o->size ? o->iova + (o->size - 1) : 0);
}

/* ---- unmaps that read first --------------------------------------------------- */

void fz_op_run_as_unmap_dirty(Fz *f, FzOp *o)
{
    g_autoptr(GArray) cands = fz_unmap_cands(f, fz_pick_cont(f), true);

    fz_gen_unmap_range(f, o, cands);
    fz_gen_unmap_flags(f, o, 12);
    o->log = fz_log_new(f, o->detail);
    o->ok = vfi_address_space_dma_unmap_dirty(f->as, o->iova, o->size, o->log, o->flags,
                                              &o->err);
}

/* The container a dirty read of the step was about (a HWPT's, or a logging
 * device's), or NULL. */
static VfiContainer *read_container(Fz *f, const FzIoctl *io)
{
    for (guint i = 0; io->kind == FZ_IO_GET_BITMAP && i < f->conts->len; i++) {
        VfiContainer *c = ((FzCont *)g_ptr_array_index(f->conts, i))->c;

        if (vfi_container_find_hwpt(c, io->hwpt)) {
            return c;
        }
    }
    for (unsigned i = 0; io->kind == FZ_IO_LOG_REPORT && i < f->nslots; i++) {
        if (f->slots[i].dev && vfi_device_get_fd(f->slots[i].dev) == io->fd) {
            return vfi_device_get_container(f->slots[i].dev);
        }
    }
    return NULL;
}

/* dirty.h: "If the read of a later container fails, false is returned with
 * nothing unmapped, but the bits of the containers read before it were
 * already ORed into @log: they are true dirty bits (read with NO_CLEAR, so
 * they are read again by the next sync), and the VMM may keep or clear
 * them". Whether this failure is that case: the failed read is the first
 * of its container, after reads of other containers. */
static bool later_container_failed(Fz *f)
{
    const FzIoctl *fail = fz_io_first_failure(f);
    VfiContainer *cf = fail ? read_container(f, fail) : NULL;
    bool others = false;

    if (!cf) {
        return false;
    }
    for (guint i = 0; i < f->ioctls->len; i++) {
        const FzIoctl *io = &g_array_index(f->ioctls, FzIoctl, i);
        VfiContainer *c;

        if (io == fail) {
            break;
        }
        c = read_container(f, io);
        if (c == cf) {
            return false;
        }
        others = others || c;
    }
    return others;
}

void fz_op_post_as_unmap_dirty(Fz *f, FzOp *o)
{
    fz_as_rollback_failed(f, o);
    if (o->flags & VFI_UNMAP_DISCARD_DIRTY) {
        fz_dirty_forget(f, NULL, -1, o->iova, fz_range_last(o));
    }
    if (!o->ok && o->err->domain == VFI_KERNEL_ERROR && later_container_failed(f)) {
        fz_dirty_dropped(f, o->log, "the log of an address-space unmap-dirty whose read of "
                         "a later container failed, cleared by the VMM as dirty.h allows");
        return;
    }
    if (!o->ok) {
        failed_log(f, o, "the log of a refused address-space unmap-dirty, dropped by the "
                   "VMM");
        return;
    }
    fz_dirty_found(f, o->log);
    if (!(o->flags & VFI_UNMAP_DISCARD_DIRTY)) {
        fz_dirty_expect(f, o, NULL, o->log, o->iova, fz_range_last(o));
    }
    fz_maps_remove(f, f->as_maps, o->iova, fz_range_last(o));
    fz_dirty_forget(f, NULL, -1, o->iova, fz_range_last(o));
}

void fz_op_run_c_unmap_dirty(Fz *f, FzOp *o)
{
    FzCont *fc = fz_pick_cont(f);
    g_autoptr(GArray) cands = fz_unmap_cands(f, fc, fz_chance(f, 30));

    o->c = fc->c;
    g_string_append_printf(o->detail, " ioas %u", vfi_container_get_ioas_id(o->c));
    fz_gen_unmap_range(f, o, cands);
    fz_gen_unmap_flags(f, o, 12);
    o->log = fz_log_new(f, o->detail);
    o->ok = vfi_container_dma_unmap_dirty(o->c, o->iova, o->size, o->log, o->flags,
                                          &o->unmapped, &o->err);
}

void fz_op_post_c_unmap_dirty(Fz *f, FzOp *o)
{
    uint64_t bytes;

    if (o->flags & VFI_UNMAP_DISCARD_DIRTY) {
        fz_dirty_forget(f, o->c, -1, o->iova, fz_range_last(o));
    }
    if (!o->ok) {
        /* dirty.h: "If the unmap fails the bits read stay in @log". */
        failed_log(f, o, "the log of a refused container unmap-dirty, dropped by the VMM");
        return;
    }
    fz_dirty_found(f, o->log);
    if (!(o->flags & VFI_UNMAP_DISCARD_DIRTY)) {
        fz_dirty_expect(f, o, o->c, o->log, o->iova, fz_range_last(o));
    }
    bytes = fz_maps_remove(f, fz_cont(f, o->c)->maps, o->iova, fz_range_last(o));
    if (bytes != o->unmapped) {
        fz_viol(f, "E-unmapped-bytes", "the unmap says it unmapped 0x%" PRIx64 " bytes, "
                "the VMM had mapped 0x%" PRIx64 " there", o->unmapped, bytes);
    }
    fz_dirty_forget(f, o->c, -1, o->iova, fz_range_last(o));
}
