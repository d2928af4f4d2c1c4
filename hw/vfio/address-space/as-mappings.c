/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: DMA mappings made for a whole address space.
 *
 * Mappings made through the address space are remembered (sorted by IOVA,
 * a VfiRangeTree: O(log n) per map and unmap) so new containers get them; they are validated against every container
 * before any ioctl and rolled back from the containers already done when
 * one fails. A mapping belongs to the level that made it: the address space
 * does not map over nor unmap a mapping made in one container with
 * vfi_container_dma_map() (WRONG_STATE, naming the container), and the
 * container level leaves the address space's mappings alone.
 */
#include <errno.h>
#include <inttypes.h>

#include "vfio-iommufd/error.h"
#include "address-space-internal.h"
#include "trace.h"

/* Map @m, a mapping of @as, in @c without any check. */
static bool map_one(VfiContainer *c, const VfiAsMapping *m, GError **errp)
{
    return vfi_container_map_src_unchecked(c, m->r.iova, m->r.last - m->r.iova + 1, &m->src,
                                           m->readonly, true, NULL, errp);
}

bool vfi_as_replay(VfiAddressSpace *as, VfiContainer *c, GError **errp)
{
    const char *what = "replay of an address-space mapping";
    VfiRangeIter it;

    for (const VfiAsMapping *m = vfi_range_tree_nth(as->mappings, 0, &it); m;
         m = vfi_range_iter_next(&it)) {
        uint64_t size = m->r.last - m->r.iova + 1;
        bool ok;

        if (vfi_container_mapping_overlap(c, m->r.iova, m->r.last, true)) {
            /* mapped there already (a replay that stopped) */
            VFI_TRACE_CONTAINER(vfi_as_replay_skip, c, m->r.iova, size);
            continue;
        }
        ok = vfi_container_check_map(c, what, m->r.iova, size, errp) &&
             vfi_nest_parent_check_map(c, what, m->r.iova, size, m->readonly, NULL, errp) &&
             (m->src.fd < 0 || vfi_container_check_file_offset(c, what, m->src.offset, errp)) &&
             map_one(c, m, errp);
        VFI_TRACE_CONTAINER(vfi_as_replay, c, m->r.iova, size, ok);
        if (!ok) {
            g_prefix_error(errp, "new container (%s): ", VFI_CONTAINER_DESC(c));
            return false;
        }
    }
    return true;
}

void vfi_as_forget_all_mappings(VfiAddressSpace *as)
{
    VfiRangeIter it;

    for (const VfiAsMapping *m = vfi_range_tree_nth(as->mappings, 0, &it); m;
         m = vfi_range_iter_next(&it)) {
        vfi_container_file_close("address-space mapping forgotten", m->src.fd);
    }
    vfi_range_tree_clear(as->mappings);
}

/* A container-level mapping of @c overlapping [iova, last]: WRONG_STATE. */
static bool check_no_container_mapping(const VfiAddressSpace *as, const VfiContainer *c,
                                       const char *what, uint64_t iova, uint64_t last,
                                       GError **errp)
{
    const VfiContainerMapping *o = vfi_container_mapping_overlap(c, iova, last, false);

    if (!o) {
        return true;
    }
    trace_vfi_as_dma_refused(as->id, what, iova, last - iova + 1,
                             "overlaps a mapping made in a container", VFI_CONTAINER_DESC(c));
    g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                "%s: [0x%" PRIx64 ", 0x%" PRIx64 "] overlaps the mapping [0x%" PRIx64
                ", 0x%" PRIx64 "] made in the container (%s) (vfi_container_dma_map): "
                "unmap it with vfi_container_dma_unmap first", what, iova, last, o->r.iova,
                o->r.last, VFI_CONTAINER_DESC(c));
    return false;
}

/* Every check of a map of @src at [iova, iova + size) but the overlap with
 * the address space's own mappings (map_record()). */
static bool map_check(const VfiAddressSpace *as, const char *what, uint64_t iova,
                      uint64_t size, const VfiMapSource *src, bool readonly, GError **errp)
{
    uint64_t last = iova + (size - 1);

    if (!vfi_as_check_given(as, what, errp) || !vfi_range_check(what, iova, size, errp)) {
        return false;
    }
    if (src->fd < 0 && !src->vaddr) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: NULL vaddr for iova 0x%" PRIx64, what, iova);
        return false;
    }
    for (guint i = 0; i < as->containers->len; i++) {
        VfiContainer *c = g_ptr_array_index(as->containers, i);

        if (!vfi_container_check_map(c, what, iova, size, errp) ||
            !vfi_nest_parent_check_map(c, what, iova, size, readonly, NULL, errp) ||
            (src->fd >= 0 && !vfi_container_check_file_offset(c, what, src->offset, errp)) ||
            !check_no_container_mapping(as, c, what, iova, last, errp)) {
            return false;
        }
    }
    return true;
}

/* Record @m in @as unless it overlaps one of its mappings
 * (INVALID_ARGUMENT): the check and the insert in one search. */
static bool map_record(VfiAddressSpace *as, const VfiAsMapping *m, GError **errp)
{
    const VfiRange *o = vfi_range_tree_insert_new(as->mappings, m);

    if (!o) {
        return true;
    }
    trace_vfi_as_dma_refused(as->id, "address space dma map", m->r.iova,
                             m->r.last - m->r.iova + 1, "overlaps one of its mappings",
                             "the address space's own");
    g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                "address space dma map: [0x%" PRIx64 ", 0x%" PRIx64 "] overlaps the mapping "
                "[0x%" PRIx64 ", 0x%" PRIx64 "]", m->r.iova, m->r.last, o->iova, o->last);
    return false;
}

bool vfi_address_space_mapping(const VfiAddressSpace *as, unsigned i, VfiMappingInfo *out)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));
    const VfiAsMapping *m;

    if (!as || !out || !(m = vfi_range_tree_nth(as->mappings, i, NULL))) {
        return false;
    }
    *out = (VfiMappingInfo){
        .iova = m->r.iova, .size = m->r.last - m->r.iova + 1, .vaddr = m->src.vaddr,
        .readonly = m->readonly, .owner = VFI_MAPPING_BY_ADDRESS_SPACE,
        .by_file = m->src.fd >= 0, .fd = m->src.fd, .offset = m->src.offset,
    };
    return true;
}

/* Map the recorded @m in the containers of @as from the @from-th on (all
 * checked); on a failure unmap it from the containers before the failing
 * one (those before @from included) and forget it. */
static bool map_containers(VfiAddressSpace *as, const VfiAsMapping *m, guint from,
                           GError **errp)
{
    uint64_t size = m->r.last - m->r.iova + 1;

    for (guint i = from; i < as->containers->len; i++) {
        VfiContainer *c = g_ptr_array_index(as->containers, i);

        if (map_one(c, m, errp)) {
            continue;
        }
        for (guint j = 0; j < i; j++) {
            VfiContainer *done = g_ptr_array_index(as->containers, j);
            bool ok = vfi_container_unmap_unchecked(done, m->r.iova, size, NULL);

            VFI_TRACE_CONTAINER(vfi_as_dma_rollback, done, "map", m->r.iova, size, ok);
        }
        vfi_range_tree_remove(as->mappings, m->r.iova);
        return false;
    }
    return true;
}

bool vfi_address_space_dma_map(VfiAddressSpace *as, uint64_t iova, uint64_t size,
                               void *vaddr, bool readonly, GError **errp)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));
    VfiAsMapping m = { .r = { iova, iova + (size - 1) }, .src = VFI_MAP_SOURCE_MEM(vaddr),
                       .readonly = readonly };

    /* Every container checked first: then mapped without checking again. */
    if (!map_check(as, "address space dma map", iova, size, &m.src, readonly, errp) ||
        !map_record(as, &m, errp) || !map_containers(as, &m, 0, errp)) {
        return false;
    }
    trace_vfi_as_dma_map(as->id, iova, size, readonly, as->containers->len);
    return true;
}

/* A map by file at a kernel-chosen IOVA: chosen in the first container,
 * then checked against the others and the address space's mappings as a
 * fixed one (a refusal unmaps it there again), recorded and mapped at the
 * same IOVA in the others. */
static bool map_file_any(VfiAddressSpace *as, const char *what, VfiAsMapping *m,
                         uint64_t size, GError **errp)
{
    VfiContainer *c0;
    uint64_t at;

    if (as->containers->len == 0) {
        trace_vfi_as_dma_refused(as->id, what, VFI_IOVA_ANY, size,
                                 "a kernel-chosen IOVA needs a container", "none");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "%s: a kernel-chosen IOVA needs a container (attach a device first, "
                    "or give the IOVA)", what);
        return false;
    }
    c0 = g_ptr_array_index(as->containers, 0);
    if (!vfi_container_check_file_offset(c0, what, m->src.offset, errp) ||
        !vfi_container_check_sized(c0, what, 0, size, errp) ||
        !vfi_container_map_src_unchecked(c0, VFI_IOVA_ANY, size, &m->src, m->readonly, true,
                                         &at, errp)) {
        return false;
    }
    m->r = (VfiRange){ at, at + (size - 1) };
    if (!map_check(as, what, at, size, &m->src, m->readonly, errp) ||
        !map_record(as, m, errp)) {
        bool ok = vfi_container_unmap_unchecked(c0, at, size, NULL);

        VFI_TRACE_CONTAINER(vfi_as_dma_rollback, c0, "map", at, size, ok);
        return false;
    }
    return map_containers(as, m, 1, errp);
}

bool vfi_address_space_dma_map_file(VfiAddressSpace *as, uint64_t iova, uint64_t size,
                                    int fd, uint64_t offset, bool readonly,
                                    uint64_t *iova_out, GError **errp)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));
    const char *what = "address space dma map file";
    VfiAsMapping m = { .r = { iova, iova + (size - 1) }, .src = { .fd = -1, .offset = offset },
                       .readonly = readonly };
    bool ok;

    if (!vfi_as_check_given(as, what, errp) ||
        !(vfi_as_is_type1(as) ? vfi_container_file_dup_any
          : vfi_container_file_dup)(what, fd, offset, size, &m.src.fd, errp)) {
        return false;
    }
    ok = iova == VFI_IOVA_ANY ? map_file_any(as, what, &m, size, errp) :
         map_check(as, what, iova, size, &m.src, readonly, errp) && map_record(as, &m, errp) &&
         map_containers(as, &m, 0, errp);
    if (!ok) {
        vfi_container_file_close(what, m.src.fd);
        return false;
    }
    /* From here the remembered mapping owns the duplicate. */
    trace_vfi_as_dma_map_file(as->id, m.r.iova, size, fd, m.src.fd, offset, readonly,
                              as->containers->len);
    if (iova_out) {
        *iova_out = m.r.iova;
    }
    return true;
}

/* The number of the address space's mappings inside [iova, last] (*@n); a
 * mapping cut by the range is INVALID_ARGUMENT. */
static bool unmap_find(const VfiAddressSpace *as, uint64_t iova, uint64_t last,
                       guint *n, GError **errp)
{
    VfiRangeIter it;

    *n = 0;
    for (const VfiRange *o = vfi_range_tree_first(as->mappings, iova, &it);
         o && o->iova <= last; o = vfi_range_iter_next(&it)) {
        if (o->iova < iova || o->last > last) {
            g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                        "address space dma unmap: [0x%" PRIx64 ", 0x%" PRIx64 "] cuts the "
                        "mapping [0x%" PRIx64 ", 0x%" PRIx64 "] (unmaps must cover whole "
                        "mappings)", iova, last, o->iova, o->last);
            return false;
        }
        (*n)++;
    }
    return true;
}

static bool unmap_check(const VfiAddressSpace *as, uint64_t iova, uint64_t size,
                        VfiUnmapFlags flags, GError **errp)
{
    const char *what = "address space dma unmap";

    if (!vfi_as_check_given(as, what, errp)) {
        return false;
    }
    if (flags & ~(VFI_UNMAP_ALLOW_ABSENT | VFI_UNMAP_DISCARD_DIRTY)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: unknown flags 0x%x", what, (unsigned)flags);
        return false;
    }
    if (!vfi_range_check(what, iova, size, errp)) {
        return false;
    }
    for (guint i = 0; i < as->containers->len; i++) {
        if (!vfi_container_check_unmap_tracking(g_ptr_array_index(as->containers, i), what,
                                                flags, errp)) {
            return false;
        }
    }
    return true;
}

/* Put the @n address space's mappings from @iova on (still in the tree)
 * back into the first @upto containers of @as that had them (@unmapped_in). */
static void unmap_rollback(VfiAddressSpace *as, guint upto, const bool *unmapped_in,
                           uint64_t iova, guint n)
{
    for (guint j = 0; j < upto; j++) {
        VfiContainer *done = g_ptr_array_index(as->containers, j);
        VfiRangeIter it;
        const VfiAsMapping *o = unmapped_in[j] ? vfi_range_tree_first(as->mappings, iova, &it)
                                               : NULL;

        for (guint k = 0; o && k < n; k++, o = vfi_range_iter_next(&it)) {
            bool ok = map_one(done, o, NULL);

            VFI_TRACE_CONTAINER(vfi_as_dma_rollback, done, "unmap", o->r.iova,
                                o->r.last - o->r.iova + 1, ok);
        }
    }
}

/* Unmap [iova, last] from every container holding the address space's
 * mappings there; on a failure the ones done are mapped again. */
static bool unmap_containers(VfiAddressSpace *as, uint64_t iova, uint64_t last, guint n,
                             const VfiDirtyLog *log, GError **errp)
{
    bool on_stack[8] = { false };
    g_autofree bool *on_heap = as->containers->len > G_N_ELEMENTS(on_stack) ?
                               g_new0(bool, as->containers->len) : NULL;
    bool *unmapped_in = on_heap ? on_heap : on_stack;

    for (guint i = 0; i < as->containers->len; i++) {
        VfiContainer *c = g_ptr_array_index(as->containers, i);
        g_autoptr(GError) err = NULL;

        if (!vfi_container_mapping_overlap(c, iova, last, true)) {
            /* It does not hold them (a rollback that failed): nothing to do. */
            VFI_TRACE_CONTAINER(vfi_as_dma_unmap_skip, c, iova, last - iova + 1);
            continue;
        }
        unmapped_in[i] = true;
        if (vfi_container_unmap_unchecked_dirty(c, iova, last - iova + 1, log, &err)) {
            continue;
        }
        unmap_rollback(as, i, unmapped_in, iova, n);
        g_propagate_prefixed_error(errp, g_steal_pointer(&err),
                                   "address space dma unmap (%s): ", VFI_CONTAINER_DESC(c));
        return false;
    }
    return true;
}

bool vfi_as_unmap_prepare(const VfiAddressSpace *as, uint64_t iova, uint64_t size,
                          VfiUnmapFlags flags, guint *n, GError **errp)
{
    uint64_t last = iova + (size - 1);

    if (!unmap_check(as, iova, size, flags, errp) ||
        !unmap_find(as, iova, last, n, errp)) {
        return false;
    }
    /* Mappings made at container level are the containers' business. */
    for (guint i = 0; i < as->containers->len; i++) {
        if (!check_no_container_mapping(as, g_ptr_array_index(as->containers, i),
                                        "address space dma unmap", iova, last, errp)) {
            return false;
        }
    }
    if (*n == 0) {
        trace_vfi_as_dma_unmap_absent(as->id, iova, size, flags);
        if (!(flags & VFI_UNMAP_ALLOW_ABSENT)) {
            g_set_error(errp, VFI_KERNEL_ERROR, ENOENT,
                        "address space dma unmap: nothing mapped in [0x%" PRIx64 ", 0x%"
                        PRIx64 "]", iova, last);
            return false;
        }
    }
    return true;
}

bool vfi_as_unmap_commit(VfiAddressSpace *as, uint64_t iova, uint64_t size, guint n,
                         const VfiDirtyLog *log, GError **errp)
{
    if (n == 0) {
        return true;
    }
    if (!unmap_containers(as, iova, iova + (size - 1), n, log, errp)) {
        return false;
    }
    for (guint k = 0; k < n; k++) {
        VfiAsMapping o;

        if (vfi_range_tree_remove_overlap(as->mappings, iova, iova + (size - 1), &o)) {
            vfi_container_file_close("address-space mapping unmapped", o.src.fd);
        }
    }
    trace_vfi_as_dma_unmap(as->id, iova, size, n, as->containers->len);
    return true;
}

bool vfi_address_space_dma_unmap(VfiAddressSpace *as, uint64_t iova, uint64_t size,
                                 VfiUnmapFlags flags, GError **errp)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));
    guint n;

    /* One hold of the lock over both: nothing may change in between. */
    return vfi_as_unmap_prepare(as, iova, size, flags, &n, errp) &&
           vfi_as_unmap_commit(as, iova, size, n, NULL, errp);
}

size_t vfi_address_space_get_mapping_bytes(const VfiAddressSpace *as)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));

    return as ? vfi_range_tree_bytes(as->mappings) : 0;
}
