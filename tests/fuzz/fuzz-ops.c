/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-ops: the operations and the step.
 *
 * Each operation makes one public-API call with random arguments
 * (fuzz-gen.c); its post-processing keeps the VMM's record of mappings,
 * runs check (c) on the dirty logs (fuzz-dirty.c) and checks a few
 * promises of the API about successes (tag E-...: a plain unmap while
 * tracking is refused, a tracked device cannot be detached while tracking,
 * a no-op start or stop makes no ioctl, the bytes an unmap reports).
 *
 * The step (fz_step()) snapshots the state, maybe arms a fault, runs the
 * operation, then runs checks (a) and (b) and the invariants
 * (fuzz-check.c); a step with a violation is a finding, reported with its
 * reproducer, after which the fixture is torn down and built again (the
 * state after a finding proves nothing) and the seed's sequence goes on.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "fuzz.h"

typedef struct OpDef {
    const char *name;
    unsigned weight;
    bool lib;                        /* a library call with a result */
    bool (*can)(Fz *f);              /* NULL: always possible */
    void (*run)(Fz *f, FzOp *o);     /* choose the arguments, make the call */
    void (*post)(Fz *f, FzOp *o);    /* shadow, check (c), expectations */
} OpDef;

/* ---- devices ---------------------------------------------------------------- */

/* Random VfiAttachOptions (NULL now and then: the defaults). */
static const VfiAttachOptions *gen_opts(Fz *f, FzOp *o, VfiAttachOptions *opts)
{
    bool dflt;

    *opts = (VfiAttachOptions)VFI_ATTACH_OPTIONS_INIT();
    opts->no_iommu_dirty_tracking = fz_chance(f, 20);
    opts->prefer_device_dirty_logging = fz_chance(f, 60);
    dflt = fz_chance(f, 15);
    if (dflt) {
        g_string_append(o->detail, " opts=NULL");
        return NULL;
    }
    g_string_append_printf(o->detail, " opts={%s%s}",
                           opts->no_iommu_dirty_tracking ? " opt-out" : "",
                           opts->prefer_device_dirty_logging ? " prefer-logging" : "");
    return opts;
}

static void run_attach(Fz *f, FzOp *o)
{
    VfiAttachOptions buf;
    const VfiAttachOptions *opts;

    opts = gen_opts(f, o, &buf);
    o->slot = fz_pick_open(f, 20);
    o->vmm_fd = f->slots[o->slot].vmm_fd >= 0;
    g_string_append_printf(o->detail, " %s%s", f->slots[o->slot].name,
                           o->vmm_fd ? " (VMM fd)" : "");
    o->ok = vfi_address_space_attach_device(f->as, f->be, f->slots[o->slot].dev, opts,
                                            &o->err);
}

static void run_detach(Fz *f, FzOp *o)
{
    VfiDevice *d;
    VfiContainer *c;

    o->slot = fz_pick_open(f, 85);
    d = f->slots[o->slot].dev;
    c = vfi_device_get_container(d);
    o->was_tracking = vfi_container_dirty_tracking_is_active(c);
    o->was_tracked_dev = c && vfi_container_dirty_coverage(c, d, NULL) !=
                         VFI_DIRTY_COVERAGE_NONE;
    g_string_append_printf(o->detail, " %s%s", f->slots[o->slot].name,
                           f->slots[o->slot].vmm_fd >= 0 ? " (VMM fd)" : "");
    o->ok = vfi_address_space_detach_device(f->as, d, &o->err);
}

static void post_detach(Fz *f, FzOp *o)
{
    if (o->ok && o->was_tracking && o->was_tracked_dev) {
        fz_viol(f, "E-detach-tracked", "a tracked device was detached while its container "
                "was tracking (container.h: WRONG_STATE)");
    }
}

/* vfi_device_free() of a device, often one still in a container. */
static void run_free(Fz *f, FzOp *o)
{
    FzSlot *s;
    bool bound;

    o->slot = fz_pick_open(f, 80);
    s = &f->slots[o->slot];
    o->vmm_fd = s->vmm_fd >= 0;
    g_string_append_printf(o->detail, " %s%s%s", s->name, o->vmm_fd ? " (VMM fd)" : "",
                           vfi_device_get_container(s->dev) ? " in a container" : "");
    /* The VMM freed it: its unread pages are its own business. */
    fz_dirty_forget(f, NULL, o->slot, 0, UINT64_MAX);
    bound = vfi_device_is_bound(s->dev);
    g_clear_pointer(&s->dev, vfi_device_free);
    s->held_bound = o->vmm_fd && bound;
}

/* The VMM opens a freed device again (closing its own fd of it first). */
static void run_reopen(Fz *f, FzOp *o)
{
    o->slot = fz_pick_closed(f);
    fz_slot_close_fd(f, o->slot);
    fz_slot_open(f, o->slot);
    g_string_append_printf(o->detail, " %s%s", f->slots[o->slot].name,
                           f->slots[o->slot].vmm_fd >= 0 ? " from the VMM's fd" : "");
}

/* Simulated DMA: devices write pages of what the VMM mapped for them. */
static void dma_one(Fz *f, FzOp *o)
{
    int slot = fz_pick_open(f, 100);
    VfiContainer *c = slot >= 0 ? vfi_device_get_container(f->slots[slot].dev) : NULL;
    g_autoptr(GArray) maps = NULL;
    const FzMap *m;
    uint64_t iova, len;

    if (!c) {
        return;
    }
    maps = fz_unmap_cands(f, fz_cont(f, c), true);
    if (!maps->len) {
        return;
    }
    m = &g_array_index(maps, FzMap, fz_below(f, maps->len));
    if (m->iova >= FZ_LOG_SPAN || m->size < FZ_PAGE || m->iova % FZ_PAGE) {
        return;
    }
    iova = m->iova + fz_below(f, m->size / FZ_PAGE) * FZ_PAGE;
    len = MIN(m->iova + m->size - iova, (1 + fz_below(f, 2)) * FZ_PAGE);
    if (vfi_sim_dma_write(f->sim, f->slots[slot].name, iova, len, NULL)) {
        g_string_append_printf(o->detail, " %s:[0x%" PRIx64 ",+0x%" PRIx64 "]",
                               f->slots[slot].name, iova, len);
        fz_dirty_written(f, slot, iova, len);
    }
}

static void run_dma(Fz *f, FzOp *o)
{
    unsigned n = 1 + fz_below(f, 4);

    for (unsigned i = 0; i < n; i++) {
        dma_one(f, o);
    }
}

/* ---- mappings --------------------------------------------------------------- */

static void run_as_map(Fz *f, FzOp *o)
{
    bool ro = fz_chance(f, 15);
    void *va;

    fz_gen_map_range(f, o, &va);
    o->flags = ro;
    o->ok = vfi_address_space_dma_map(f->as, o->iova, o->size, va, ro, &o->err);
}

/* An address-space map or unmap failed and so did its rollback: a container
 * may keep (or lack) a mapping the address space does not remember (or
 * does), as documented ("kept in the lists rather than forgotten"); the
 * VMM's record of those containers cannot say which. */
void fz_as_rollback_failed(Fz *f, const FzOp *o)
{
    if (!o->ok && fz_io_failures(f) >= 2) {
        for (guint i = 0; i < f->conts->len; i++) {
            ((FzCont *)g_ptr_array_index(f->conts, i))->diverged = true;
        }
    }
}

static void post_as_map(Fz *f, FzOp *o)
{
    fz_as_rollback_failed(f, o);
    if (o->ok) {
        fz_maps_add(f->as_maps, o->iova, o->size, o->flags);
    }
}

static void run_c_map(Fz *f, FzOp *o)
{
    FzCont *fc = fz_pick_cont(f);
    bool ro = fz_chance(f, 15);
    void *va;

    o->c = fc->c;
    g_string_append_printf(o->detail, " ioas %u", vfi_container_get_ioas_id(o->c));
    fz_gen_map_range(f, o, &va);
    o->flags = ro;
    o->ok = vfi_container_dma_map(o->c, o->iova, o->size, va, ro, &o->err);
}

static void post_c_map(Fz *f, FzOp *o)
{
    if (o->ok) {
        fz_maps_add(fz_cont(f, o->c)->maps, o->iova, o->size, o->flags);
    }
}

static void run_as_unmap(Fz *f, FzOp *o)
{
    g_autoptr(GArray) cands = fz_unmap_cands(f, fz_pick_cont(f), true);

    fz_gen_unmap_range(f, o, cands);
    fz_gen_unmap_flags(f, o, 40);
    o->was_tracking = fz_any_tracking(f);
    o->ok = vfi_address_space_dma_unmap(f->as, o->iova, o->size, o->flags, &o->err);
}

/* VFI_UNMAP_DISCARD_DIRTY: the VMM does not need the range's dirty bits,
 * whether or not the unmap then succeeds (a failed one may have unmapped
 * and mapped again part of it, which forgets the IOMMU's dirty state). */
static void discarded(Fz *f, const FzOp *o)
{
    if (o->flags & VFI_UNMAP_DISCARD_DIRTY) {
        fz_dirty_forget(f, o->c, -1, o->iova, fz_range_last(o));
    }
}

static void post_as_unmap(Fz *f, FzOp *o)
{
    fz_as_rollback_failed(f, o);
    discarded(f, o);
    if (!o->ok) {
        return;
    }
    if (o->was_tracking && !(o->flags & VFI_UNMAP_DISCARD_DIRTY)) {
        fz_viol(f, "E-unmap-while-tracking", "a plain unmap succeeded while tracking was on");
    }
    fz_maps_remove(f, f->as_maps, o->iova, fz_range_last(o));
    fz_dirty_forget(f, NULL, -1, o->iova, fz_range_last(o));
}

static void run_c_unmap(Fz *f, FzOp *o)
{
    FzCont *fc = fz_pick_cont(f);
    g_autoptr(GArray) cands = fz_unmap_cands(f, fc, fz_chance(f, 30));

    o->c = fc->c;
    g_string_append_printf(o->detail, " ioas %u", vfi_container_get_ioas_id(o->c));
    fz_gen_unmap_range(f, o, cands);
    fz_gen_unmap_flags(f, o, 40);
    o->was_tracking = vfi_container_dirty_tracking_is_active(o->c);
    o->ok = vfi_container_dma_unmap(o->c, o->iova, o->size, o->flags, &o->unmapped,
                                    &o->err);
}

/* The container-level mappings an unmap of @o took away. */
static void c_unmapped(Fz *f, FzOp *o)
{
    uint64_t bytes = fz_maps_remove(f, fz_cont(f, o->c)->maps, o->iova, fz_range_last(o));

    if (bytes != o->unmapped) {
        fz_viol(f, "E-unmapped-bytes", "the unmap says it unmapped 0x%" PRIx64 " bytes, "
                "the VMM had mapped 0x%" PRIx64 " there", o->unmapped, bytes);
    }
    fz_dirty_forget(f, o->c, -1, o->iova, fz_range_last(o));
}

static void post_c_unmap(Fz *f, FzOp *o)
{
    discarded(f, o);
    if (!o->ok) {
        return;
    }
    if (o->was_tracking && !(o->flags & VFI_UNMAP_DISCARD_DIRTY)) {
        fz_viol(f, "E-unmap-while-tracking", "a plain unmap succeeded while tracking was on");
    }
    c_unmapped(f, o);
}

static void run_c_unmap_all(Fz *f, FzOp *o)
{
    o->c = fz_pick_cont(f)->c;
    g_string_append_printf(o->detail, " ioas %u", vfi_container_get_ioas_id(o->c));
    o->iova = 0;
    o->size = UINT64_MAX;
    o->ok = vfi_container_dma_unmap_all(o->c, &o->unmapped, &o->err);
}

static void post_c_unmap_all(Fz *f, FzOp *o)
{
    if (o->ok) {
        c_unmapped(f, o);
    }
}

/* ---- the table and the step ------------------------------------------------- */

static const OpDef ops[] = {
    { "attach", 14, true, fz_have_open, run_attach, NULL },
    { "detach", 8, true, fz_have_open, run_detach, post_detach },
    { "free", 3, false, fz_have_open, run_free, NULL },
    { "reopen", 4, false, fz_have_closed, run_reopen, NULL },
    { "dma", 12, false, NULL, run_dma, NULL },
    { "as_map", 10, true, NULL, run_as_map, post_as_map },
    { "as_unmap", 5, true, NULL, run_as_unmap, post_as_unmap },
    { "c_map", 5, true, fz_have_cont, run_c_map, post_c_map },
    { "c_unmap", 4, true, fz_have_cont, run_c_unmap, post_c_unmap },
    { "c_unmap_all", 1, true, fz_have_cont, run_c_unmap_all, post_c_unmap_all },
    { "as_unmap_dirty", 6, true, NULL, fz_op_run_as_unmap_dirty, fz_op_post_as_unmap_dirty },
    { "c_unmap_dirty", 5, true, fz_have_cont, fz_op_run_c_unmap_dirty, fz_op_post_c_unmap_dirty },
    { "as_start", 6, true, NULL, fz_op_run_as_start, fz_op_post_start },
    { "as_stop", 3, true, NULL, fz_op_run_as_stop, fz_op_post_stop },
    { "c_start", 3, true, fz_have_cont, fz_op_run_c_start, fz_op_post_start },
    { "c_stop", 2, true, fz_have_cont, fz_op_run_c_stop, fz_op_post_stop },
    { "as_sync", 6, true, NULL, fz_op_run_as_sync, fz_op_post_read },
    { "c_sync", 3, true, fz_have_cont, fz_op_run_c_sync, fz_op_post_read },
    { "c_query", 4, true, fz_have_cont, fz_op_run_c_query, fz_op_post_read },
};

G_STATIC_ASSERT(G_N_ELEMENTS(ops) <= G_N_ELEMENTS(((Fz *)0)->weights));

/* Each seed runs its own mix ("swarm" testing): every weight times 1 to 4,
 * and now and then an operation left out (never attach or dma), so
 * that rare states (several containers with nothing mapped, long tracking
 * sessions without sync, ...) come up in some seeds. */
static void choose_weights(Fz *f)
{
    for (size_t i = 0; i < G_N_ELEMENTS(ops); i++) {
        bool keep = i == 0 || !strcmp(ops[i].name, "dma");

        f->weights[i] = !keep && fz_chance(f, 15) ? 0 : ops[i].weight * (1 + fz_below(f, 4));
    }
    f->weighted = true;
}

static const OpDef *pick_op(Fz *f)
{
    unsigned total = 0, r;

    if (!f->weighted) {
        choose_weights(f);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(ops); i++) {
        total += f->weights[i];
    }
    for (;;) {
        r = fz_below(f, total);
        for (size_t i = 0; i < G_N_ELEMENTS(ops); i++) {
            if (r < f->weights[i]) {
                if (!ops[i].can || ops[i].can(f)) {
                    return &ops[i];
                }
                break;
            }
            r -= f->weights[i];
        }
    }
}

/* The address space's containers, with the VMM's record of each: new ones
 * hold only the address space's mappings, gone ones are forgotten. */
static void reconcile(Fz *f)
{
    GPtrArray *now = g_ptr_array_new();

    for (unsigned i = 0; i < vfi_address_space_container_count(f->as); i++) {
        VfiContainer *c = vfi_address_space_container(f->as, i);
        FzCont *fc = fz_cont(f, c);

        if (!fc) {
            fc = g_new0(FzCont, 1);
            fc->c = c;
            fc->maps = g_array_new(false, false, sizeof(FzMap));
        }
        g_ptr_array_add(now, fc);
    }
    for (guint i = 0; i < f->conts->len; i++) {
        FzCont *fc = g_ptr_array_index(f->conts, i);

        if (!g_ptr_array_find(now, fc, NULL)) {
            g_array_free(fc->maps, true);
            g_free(fc);
        }
    }
    g_ptr_array_free(f->conts, true);
    f->conts = now;
}

static void print_step(Fz *f, const FzOp *o)
{
    g_autoptr(GString) io = g_string_new(NULL);

    for (guint i = 0; i < f->ioctls->len; i++) {
        const FzIoctl *x = &g_array_index(f->ioctls, FzIoctl, i);

        g_string_append_printf(io, " %s%s%s%s", fz_io_name(x->kind), x->injected ? "!" : "",
                               x->ret ? "=" : "", x->ret ? g_strerror(-x->ret) : "");
    }
    g_printerr("step %u: %s%s -> %s%s%s |%s\n", f->step, o->name, o->detail->str,
               !o->lib ? "done" : o->ok ? "ok" : "failed", o->err ? ": " : "",
               o->err ? o->err->message : "", io->str);
}

/* Whether the step broke only check (a): the state is still what the
 * checks expect, so the run can go on from it. */
static bool only_check_a(const Fz *f)
{
    for (guint i = 0; i < f->viols->len; i++) {
        if (strncmp(((FzViol *)g_ptr_array_index(f->viols, i))->tag, "A-", 2)) {
            return false;
        }
    }
    return true;
}

/* A finding: report it, then (unless the state is intact) start again from
 * a fresh fixture. */
static void finding(Fz *f, const FzOp *o)
{
    if (fz_report(f, o)) {
        f->findings_new++;
    } else {
        f->findings_known++;
    }
    if (only_check_a(f)) {
        g_ptr_array_set_size(f->viols, 0);
        return;
    }
    fz_fixture_free(f, false);
    fz_fixture_new(f);
    f->resets++;
}

void fz_step(Fz *f)
{
    const OpDef *d = pick_op(f);
    FzOp o = { .name = d->name, .lib = d->lib, .detail = g_string_new(NULL), .slot = -1 };
    FzSnap *before = fz_snap_take(f), *after;
    uint64_t n0;

    g_array_set_size(f->ioctls, 0);
    fz_arm_faults(f, !strcmp(d->name, "attach"));
    f->recording = true;
    n0 = vfi_sim_ioctl_count(f->sim);
    d->run(f, &o);
    o.ioctls = vfi_sim_ioctl_count(f->sim) - n0;
    f->recording = false;
    fz_disarm_faults(f);
    if (d->post) {
        d->post(f, &o);
    }
    reconcile(f);
    after = fz_snap_take(f);
    fz_check_failed(f, &o, before, after, o.ioctls);
    fz_check_invariants(f);
    if (f->verbose) {
        print_step(f, &o);
    }
    if (f->viols->len) {
        finding(f, &o);
    }
    fz_snap_free(before);
    fz_snap_free(after);
    g_clear_error(&o.err);
    g_string_free(o.detail, true);
    fz_log_free(o.log);
}
