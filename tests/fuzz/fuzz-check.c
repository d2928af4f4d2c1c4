/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-ops: checks (a) and (b) and the invariants, from the public API and
 * the model's controls only.
 *
 * A snapshot is what the public queries and the model say before and after
 * a step: kernel objects and fds, the address space's mapping count and
 * tracking, per container its IOAS, mapping counts (library and model),
 * devices, HWPTs (flags, devices, tracking as the library says and as the
 * model answers a NO_CLEAR read of one page), per device its binding,
 * container, HWPT, attached pt (library and model) and logging.
 *
 * (b) compares the two snapshots of a failed call. The differences the API
 * documentation allows are not reported:
 *  - a failed attach leaves a device it bound bound (container.h);
 *  - a detach that detached the device but could not destroy the emptied
 *    HWPT or IOAS returns false with "detached, but" (container.h);
 *  - a failed start whose undo could not switch a HWPT off leaves that
 *    HWPT on while its container is not tracking (dirty-tracking.md);
 *  - an address-space map or unmap whose rollback failed (a second failed
 *    ioctl) leaves a container's record different, matching the kernel
 *    (container.h, auto-domains.md "Rollback");
 *  - an empty HWPT or container left over by an earlier failed destroy is
 *    destroyed by a later detach that empties the container (container.h),
 *    also the one a failed attach makes to undo itself (and the address
 *    space's tracking, derived from its containers, may change with it).
 * Everything else that differs is reported with a tag naming what.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <linux/iommufd.h>

#include "fuzz.h"

typedef struct SnapHwpt {
    const VfiHwpt *h;
    uint32_t id, flags;
    unsigned ndev;
    bool on;
    int model_on;           /* 1 on, 0 off, -errno: the read failed otherwise */
} SnapHwpt;

typedef struct SnapCont {
    const VfiContainer *c;
    uint32_t ioas;
    unsigned maps, ndev, nhwpt;
    int model_maps;
    bool tracking;
    SnapHwpt hwpt[FZ_MAX_HWPT];
} SnapCont;

typedef struct SnapDev {
    bool open, bound, logging;
    const VfiContainer *c;
    const VfiHwpt *h;
    uint32_t pt, model_pt;
} SnapDev;

struct FzSnap {
    unsigned objects, fds, bound, as_maps, ncont;
    bool be_open, as_tracking;
    SnapCont cont[FZ_MAX_CONT];
    SnapDev dev[FZ_NSLOTS];
};

/* ---- snapshots ------------------------------------------------------------- */

/* The model's answer: is the HWPT's dirty tracking on? One NO_CLEAR read of
 * one page (no state changes); EINVAL means off (docs/kernel-model.md). */
static int model_tracking(Fz *f, const VfiHwpt *h)
{
    g_autoptr(GError) err = NULL;
    uint64_t word = 0;

    if (!(vfi_hwpt_get_flags(h) & IOMMU_HWPT_ALLOC_DIRTY_TRACKING)) {
        return 0;
    }
    if (vfi_iommufd_hwpt_get_dirty_bitmap(f->be, vfi_hwpt_get_id(h), 0, FZ_PAGE, FZ_PAGE,
                                          &word, IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR,
                                          &err)) {
        return 1;
    }
    return g_error_matches(err, VFI_KERNEL_ERROR, EINVAL) ? 0 : -err->code;
}

static void snap_container(Fz *f, SnapCont *sc, const VfiContainer *c)
{
    sc->c = c;
    sc->ioas = vfi_container_get_ioas_id(c);
    sc->maps = vfi_container_mapping_count(c);
    sc->model_maps = vfi_sim_ioas_mapping_count(f->sim, vfi_iommufd_get_fd(f->be), sc->ioas);
    sc->ndev = vfi_container_device_count(c);
    sc->nhwpt = vfi_container_hwpt_count(c);
    sc->tracking = vfi_container_dirty_tracking_is_active(c);
    g_assert(sc->nhwpt <= FZ_MAX_HWPT);
    for (unsigned j = 0; j < sc->nhwpt; j++) {
        const VfiHwpt *h = vfi_container_hwpt(c, j);
        SnapHwpt *sh = &sc->hwpt[j];

        sh->h = h;
        sh->id = vfi_hwpt_get_id(h);
        sh->flags = vfi_hwpt_get_flags(h);
        sh->ndev = vfi_hwpt_device_count(h);
        sh->on = vfi_hwpt_dirty_tracking_is_on(h);
        sh->model_on = model_tracking(f, h);
    }
}

FzSnap *fz_snap_take(Fz *f)
{
    FzSnap *s = g_new0(FzSnap, 1);

    s->objects = vfi_sim_live_objects(f->sim);
    s->fds = vfi_sim_open_fds(f->sim);
    s->be_open = vfi_iommufd_get_fd(f->be) >= 0;
    s->as_maps = vfi_address_space_mapping_count(f->as);
    s->as_tracking = vfi_address_space_dirty_tracking_is_active(f->as);
    s->ncont = vfi_address_space_container_count(f->as);
    g_assert(s->ncont <= FZ_MAX_CONT);
    for (unsigned i = 0; i < s->ncont; i++) {
        snap_container(f, &s->cont[i], vfi_address_space_container(f->as, i));
    }
    for (unsigned i = 0; i < f->nslots; i++) {
        const VfiDevice *d = f->slots[i].dev;
        SnapDev *sd = &s->dev[i];

        sd->model_pt = vfi_sim_device_attached_pt(f->sim, f->slots[i].name);
        s->bound += f->slots[i].held_bound;
        if (!d) {
            continue;
        }
        sd->open = true;
        sd->bound = vfi_device_is_bound(d);
        sd->logging = vfi_device_dma_logging_active(d);
        sd->c = vfi_device_get_container(d);
        sd->h = vfi_device_get_hwpt(d);
        sd->pt = vfi_device_get_attached_pt(d);
        s->bound += sd->bound;
    }
    return s;
}

void fz_snap_free(FzSnap *s)
{
    g_free(s);
}

/* ---- (b): what a failed call changed ---------------------------------------- */

static bool op_is(const FzOp *o, const char *name)
{
    return !strcmp(o->name, name);
}

/* container.h: "the call returns false with that kernel error although the
 * device IS detached". */
static bool detached_but(const FzOp *o, const FzSnap *a)
{
    return op_is(o, "detach") && o->err->domain == VFI_KERNEL_ERROR &&
           strstr(o->err->message, "detached, but") && o->slot >= 0 && !a->dev[o->slot].c;
}

static const SnapCont *find_cont(const FzSnap *s, const VfiContainer *c)
{
    for (unsigned i = 0; i < s->ncont; i++) {
        if (s->cont[i].c == c) {
            return &s->cont[i];
        }
    }
    return NULL;
}

static const SnapHwpt *find_hwpt(const SnapCont *sc, const VfiHwpt *h)
{
    for (unsigned i = 0; sc && i < sc->nhwpt; i++) {
        if (sc->hwpt[i].h == h) {
            return &sc->hwpt[i];
        }
    }
    return NULL;
}

static uint32_t ioas_of(const FzSnap *s, const VfiContainer *c)
{
    const SnapCont *sc = find_cont(s, c);

    return sc ? sc->ioas : 0;
}

static void diff_device(Fz *f, const FzOp *o, unsigned i, const FzSnap *b, const FzSnap *a)
{
    const SnapDev *db = &b->dev[i], *da = &a->dev[i];
    const char *name = f->slots[i].name;

    if (db->open != da->open) {
        return;
    }
    if (db->c != da->c) {
        fz_viol(f, !db->c ? "B-left-in-container" : !da->c ? "B-taken-out" : "B-moved",
                "device %s: in the container of ioas %u before, of ioas %u after", name,
                ioas_of(b, db->c), ioas_of(a, da->c));
    }
    if (db->model_pt != da->model_pt) {
        fz_viol(f, "B-model-pt", "device %s: attached in the model to pt %u before, %u after",
                name, db->model_pt, da->model_pt);
    }
    if (db->pt != da->pt) {
        fz_viol(f, "B-lib-pt", "device %s: the library says attached to pt %u before, %u "
                "after", name, db->pt, da->pt);
    }
    if (db->logging != da->logging) {
        fz_viol(f, "B-logging", "device %s: DMA logging %s before, %s after", name,
                db->logging ? "on" : "off", da->logging ? "on" : "off");
    }
    if (db->bound != da->bound && !(op_is(o, "attach") && (int)i == o->slot && !db->bound)) {
        fz_viol(f, "B-bound", "device %s: bound %d before, %d after", name, db->bound,
                da->bound);
    }
}

/* dirty-tracking.md: a failed start whose undo failed leaves the HWPT on,
 * the library saying so, its container not tracking. */
static bool start_left_on(const FzOp *o, const SnapCont *ca, const SnapHwpt *ha)
{
    return (op_is(o, "as_start") || op_is(o, "c_start")) && ha->on && ha->model_on == 1 &&
           !ca->tracking;
}

/* A HWPT or container without devices before (left over by a failed
 * destroy) destroyed by an attach or detach. */
static bool leftover_gone(const FzOp *o, unsigned ndev_before)
{
    return ndev_before == 0 && (op_is(o, "attach") || op_is(o, "detach"));
}

static void diff_hwpts(Fz *f, const FzOp *o, const SnapCont *cb, const SnapCont *ca,
                       unsigned *leftovers)
{
    for (unsigned j = 0; j < cb->nhwpt; j++) {
        const SnapHwpt *hb = &cb->hwpt[j], *ha = find_hwpt(ca, hb->h);

        if (!ha && leftover_gone(o, hb->ndev)) {
            (*leftovers)++;
        } else if (!ha) {
            fz_viol(f, "B-hwpt-removed", "hwpt %u of ioas %u (%u device(s)) is gone", hb->id,
                    cb->ioas, hb->ndev);
        } else if ((hb->on != ha->on || hb->model_on != ha->model_on) &&
                   !start_left_on(o, ca, ha)) {
            fz_viol(f, "B-hwpt-on", "hwpt %u of ioas %u: tracking %d (model %d) before, %d "
                    "(model %d) after", hb->id, cb->ioas, hb->on, hb->model_on, ha->on,
                    ha->model_on);
        }
    }
    for (unsigned j = 0; j < ca->nhwpt; j++) {
        const SnapHwpt *ha = &ca->hwpt[j];

        if (!find_hwpt(cb, ha->h)) {
            fz_viol(f, ha->ndev ? "B-hwpt-added" : "B-empty-hwpt-kept",
                    "hwpt %u (flags 0x%x, %u device(s)) added to ioas %u", ha->id, ha->flags,
                    ha->ndev, ca->ioas);
        }
    }
}

/* An address-space map or unmap whose rollback failed too. */
static bool rollback_failed(const Fz *f, const FzOp *o)
{
    return (op_is(o, "as_map") || op_is(o, "as_unmap") || op_is(o, "as_unmap_dirty")) &&
           fz_io_failures(f) >= 2;
}

static void diff_container(Fz *f, const FzOp *o, const SnapCont *cb, const SnapCont *ca,
                           unsigned *leftovers)
{
    if (cb->tracking != ca->tracking) {
        fz_viol(f, "B-tracking", "container of ioas %u: tracking %s before, %s after",
                cb->ioas, cb->tracking ? "on" : "off", ca->tracking ? "on" : "off");
    }
    if ((cb->maps != ca->maps || cb->model_maps != ca->model_maps) &&
        !(rollback_failed(f, o) && ca->maps == (unsigned)ca->model_maps)) {
        fz_viol(f, "B-container-maps", "container of ioas %u: %u mapping(s) (model %d) "
                "before, %u (model %d) after", cb->ioas, cb->maps, cb->model_maps, ca->maps,
                ca->model_maps);
    }
    diff_hwpts(f, o, cb, ca, leftovers);
}

/* Returns: the kernel objects of left-overs destroyed (allowed above). */
static unsigned diff_containers(Fz *f, const FzOp *o, const FzSnap *b, const FzSnap *a)
{
    unsigned leftovers = 0;

    for (unsigned i = 0; i < b->ncont; i++) {
        const SnapCont *ca = find_cont(a, b->cont[i].c);

        if (!ca && leftover_gone(o, b->cont[i].ndev)) {
            leftovers += 1 + b->cont[i].nhwpt;
        } else if (!ca) {
            fz_viol(f, "B-container-removed", "the container of ioas %u is gone",
                    b->cont[i].ioas);
        } else {
            diff_container(f, o, &b->cont[i], ca, &leftovers);
        }
    }
    for (unsigned i = 0; i < a->ncont; i++) {
        const SnapCont *ca = &a->cont[i];

        if (!find_cont(b, ca->c)) {
            fz_viol(f, ca->ndev ? "B-container-added" : "B-empty-container-kept",
                    "a container (ioas %u, %u device(s), %u hwpt(s), %u mapping(s)) was added "
                    "to the address space", ca->ioas, ca->ndev, ca->nhwpt, ca->maps);
        }
    }
    return leftovers;
}

/* Whether @o is an attach whose ioctls only asked the kernel what the device
 * offers (the documented exception of error.h). */
static bool only_attach_queries(const Fz *f, const FzOp *o)
{
    if (strcmp(o->name, "attach") != 0) {
        return false;
    }
    for (guint i = 0; i < f->ioctls->len; i++) {
        FzIoKind k = g_array_index(f->ioctls, FzIoctl, i).kind;

        if (k != FZ_IO_BIND && k != FZ_IO_LOG_PROBE && k != FZ_IO_HW_INFO) {
            return false;
        }
    }
    return true;
}

static void diff_counts(Fz *f, const FzSnap *b, const FzSnap *a, unsigned leftovers)
{
    /* Bindings a failed attach leaves and left-overs destroyed are allowed
     * (above): compare the rest. */
    if (b->objects - b->bound - leftovers != a->objects - a->bound) {
        fz_viol(f, "B-objects", "the model holds %u object(s) (%u bindings) before, %u (%u "
                "bindings) after", b->objects, b->bound, a->objects, a->bound);
    }
    if (b->fds - b->be_open != a->fds - a->be_open) {
        fz_viol(f, "B-fds", "the model has %u fd(s) open before, %u after", b->fds, a->fds);
    }
    if (b->as_maps != a->as_maps) {
        fz_viol(f, "B-as-maps", "the address space remembers %u mapping(s) before, %u after",
                b->as_maps, a->as_maps);
    }
    if (b->as_tracking != a->as_tracking && !leftovers) {
        fz_viol(f, "B-as-tracking", "the address space is tracking: %d before, %d after",
                b->as_tracking, a->as_tracking);
    }
}

void fz_check_failed(Fz *f, const FzOp *o, const FzSnap *b, const FzSnap *a,
                     uint64_t ioctls)
{
    if (!o->lib || o->ok) {
        return;
    }
    /* (a) error.h: "VFI_ERROR: the library refused the call itself, before
     * any ioctl was made", but for the documented exception: an attach
     * asks the kernel what the device offers (bind, DMA-logging probe, hw
     * info) before the refusals that depend on it. */
    if (o->err->domain == VFI_ERROR && ioctls && !only_attach_queries(f, o)) {
        fz_viol(f, "A-vfi-error-after-ioctls", "refused with VFI_ERROR %d after %" PRIu64
                " ioctl(s)", o->err->code, ioctls);
    }
    if (detached_but(o, a)) {
        return;     /* documented; the invariants check what is left */
    }
    for (unsigned i = 0; i < f->nslots; i++) {
        diff_device(f, o, i, b, a);
    }
    diff_counts(f, b, a, diff_containers(f, o, b, a));
}

/* ---- invariants after every step ------------------------------------------- */

/* The model holds what the library's lists imply; fds and backend users. */
static void inv_counts(Fz *f)
{
    unsigned fds = vfi_iommufd_get_fd(f->be) >= 0, bound = 0, held = 0, objects;
    unsigned ncont = vfi_address_space_container_count(f->as);

    for (unsigned i = 0; i < f->nslots; i++) {
        const FzSlot *s = &f->slots[i];

        bound += s->dev && vfi_device_is_bound(s->dev);
        held += s->held_bound;
        fds += s->dev || s->vmm_fd >= 0;
    }
    objects = bound + held + ncont;
    for (unsigned i = 0; i < ncont; i++) {
        objects += vfi_container_hwpt_count(vfi_address_space_container(f->as, i));
    }
    if (vfi_sim_live_objects(f->sim) != objects) {
        fz_viol(f, "I-objects", "the model holds %u object(s), the library's lists imply %u",
                vfi_sim_live_objects(f->sim), objects);
    }
    if (vfi_sim_open_fds(f->sim) != fds) {
        fz_viol(f, "I-fds", "the model has %u fd(s) open, expected %u",
                vfi_sim_open_fds(f->sim), fds);
    }
    if (vfi_iommufd_users(f->be) != bound + ncont) {
        fz_viol(f, "I-users", "the backend has %u user(s), expected %u (bound devices and "
                "containers)", vfi_iommufd_users(f->be), bound + ncont);
    }
}

static void inv_device(Fz *f, unsigned i)
{
    const FzSlot *s = &f->slots[i];
    uint32_t model = vfi_sim_device_attached_pt(f->sim, s->name);
    const VfiContainer *c = s->dev ? vfi_device_get_container(s->dev) : NULL;
    uint32_t want = 0, lib = s->dev ? vfi_device_get_attached_pt(s->dev) : 0;

    if (!s->dev) {
        if (model) {
            fz_viol(f, "I-freed-still-attached", "device %s was freed (%s) but the model "
                    "has it attached to pt %u", s->name, s->vmm_fd >= 0 ?
                    "the VMM still holds its fd" : "its fd closed", model);
        }
        return;
    }
    if (c) {
        want = s->mdev ? vfi_container_get_ioas_id(c) : vfi_hwpt_get_id(
                   vfi_device_get_hwpt(s->dev));
    } else if (model || lib) {
        fz_viol(f, "I-attached-outside", "device %s is in no container, but attached to pt "
                "%u in the model (the library says pt %u)", s->name, model, lib);
        return;
    }
    if (model != want || lib != want) {
        fz_viol(f, "I-pt", "device %s: its container says pt %u, the model %u, the device "
                "%u", s->name, want, model, lib);
    }
}

/* While a container is tracking, every dirty HWPT holding a device and
 * every device covered by its own logging is switched on (what its reads
 * rely on; an empty HWPT left by a failed destroy sees no DMA). */
static void inv_sources(Fz *f, const VfiContainer *c)
{
    for (unsigned j = 0; j < vfi_container_hwpt_count(c); j++) {
        const VfiHwpt *h = vfi_container_hwpt(c, j);

        if ((vfi_hwpt_get_flags(h) & IOMMU_HWPT_ALLOC_DIRTY_TRACKING) &&
            vfi_hwpt_device_count(h) && !vfi_hwpt_dirty_tracking_is_on(h) &&
            vfi_container_dirty_coverage(c, vfi_hwpt_device(h, 0), NULL) ==
                VFI_DIRTY_COVERAGE_IOMMU) {
            fz_viol(f, "I-sources", "ioas %u is tracking but its dirty hwpt %u is off",
                    vfi_container_get_ioas_id(c), vfi_hwpt_get_id(h));
        }
    }
    for (unsigned j = 0; j < vfi_container_device_count(c); j++) {
        const VfiDevice *d = vfi_container_device(c, j);

        if (vfi_container_dirty_coverage(c, d, NULL) == VFI_DIRTY_COVERAGE_DEVICE_LOGGING &&
            !vfi_device_dma_logging_active(d)) {
            fz_viol(f, "I-sources", "ioas %u is tracking but %s does not log its DMA",
                    vfi_container_get_ioas_id(c), vfi_device_get_name(d));
        }
    }
}

static void inv_hwpts(Fz *f, const VfiContainer *c)
{
    int fd = vfi_iommufd_get_fd(f->be);

    for (unsigned j = 0; j < vfi_container_hwpt_count(c); j++) {
        const VfiHwpt *h = vfi_container_hwpt(c, j);
        int model = model_tracking(f, h);

        if (!vfi_sim_object_exists(f->sim, fd, vfi_hwpt_get_id(h))) {
            fz_viol(f, "I-hwpt-gone", "hwpt %u of ioas %u is in the lists but not in the "
                    "model", vfi_hwpt_get_id(h), vfi_container_get_ioas_id(c));
        } else if (model != (int)vfi_hwpt_dirty_tracking_is_on(h)) {
            fz_viol(f, "I-hwpt-on", "hwpt %u: the library says tracking %d, the model %d",
                    vfi_hwpt_get_id(h), vfi_hwpt_dirty_tracking_is_on(h), model);
        }
    }
}

static void inv_container(Fz *f, FzCont *fc)
{
    const VfiContainer *c = fc->c;
    uint32_t ioas = vfi_container_get_ioas_id(c);
    int model = vfi_sim_ioas_mapping_count(f->sim, vfi_iommufd_get_fd(f->be), ioas);
    unsigned lib = vfi_container_mapping_count(c);

    if (model < 0) {
        fz_viol(f, "I-ioas-gone", "ioas %u of a container is not in the model", ioas);
        return;
    }
    if ((unsigned)model != lib) {
        fz_viol(f, "I-maps", "ioas %u: the model holds %d mapping(s), the container records "
                "%u", ioas, model, lib);
    }
    if (!fc->diverged && lib != f->as_maps->len + fc->maps->len) {
        fz_viol(f, "I-cont-maps", "ioas %u records %u mapping(s), the VMM made %u there (%u "
                "of the address space)", ioas, lib, f->as_maps->len + fc->maps->len,
                f->as_maps->len);
    }
    inv_hwpts(f, c);
    if (vfi_container_dirty_tracking_is_active(c)) {
        inv_sources(f, c);
    }
}

void fz_check_invariants(Fz *f)
{
    inv_counts(f);
    for (unsigned i = 0; i < f->nslots; i++) {
        inv_device(f, i);
    }
    for (guint i = 0; i < f->conts->len; i++) {
        inv_container(f, g_ptr_array_index(f->conts, i));
    }
    if (vfi_address_space_mapping_count(f->as) != f->as_maps->len) {
        fz_viol(f, "I-as-maps", "the address space remembers %u mapping(s), the VMM made %u",
                vfi_address_space_mapping_count(f->as), f->as_maps->len);
    }
}
