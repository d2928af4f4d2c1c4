/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: a container's DMA mappings and their record.
 *
 * Maps check their arguments against the container's IOVA ranges and
 * alignment before any ioctl. Unmaps check only size, overflow and
 * alignment, plus the edge rule below; where the range lies is the
 * kernel's business (ENOENT when nothing is there).
 *
 * The container records its mappings one by one, as made, and which level
 * made them (the address space or the container), with a merged view for
 * dirty reads and DMA logging: the kernel unmaps whole mappings only, and a
 * range whose edge cuts a mapping makes it unmap the mappings before that
 * one and then fail with ENOENT, indistinguishable from "nothing there".
 * Such a range is refused before the ioctl. A mapping belongs to the level
 * that made it: the container level neither maps over nor unmaps an
 * address-space mapping (it would be replayed into new containers, or stay
 * forgotten in this one). Both lists are B+ trees (util/ranges.h): every
 * search, insert and remove is O(log n) in the number of mappings. The
 * merged view follows each map and unmap in O(log n) while a tracking
 * session is on (dirty reads and unmaps with a dirty read use it); with
 * tracking off the first change empties it and the next read builds it
 * again from the mappings (O(n), once), so plain maps and unmaps do not
 * pay for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>

#include "config.h"
#include "vfio-iommufd/error.h"
#include "vfio-iommufd/iommufd.h"
#include "container-internal.h"
#include "util/kernel-internal.h"
#include "trace.h"

/* The kernel's PAGE_SIZE (x86): a file offset's position in its page. */
#define VFI_PAGE_SIZE 4096u

/* ---- the record -------------------------------------------------------- */

/* @c's mappings changed: keep the merged view in step (true) while
 * tracking is on, else let it go until it is read again (false). */
static bool merged_view_follows(VfiContainer *c)
{
    if (c->mapped_valid && c->dirty_tracking) {
        return true;
    }
    if (c->mapped_valid) {
        vfi_range_tree_clear(c->mapped);
        c->mapped_valid = false;
        trace_vfi_container_merged_view(c->ioas_id, "dropped (tracking off)",
                                        vfi_range_tree_len(c->maps), 0);
    }
    return false;
}

/* The merged view of @c's mappings, built again if it was let go (the
 * record is logically unchanged: the view is a cache of @maps). */
static const VfiRangeTree *merged_view(const VfiContainer *cc)
{
    VfiContainer *c = (VfiContainer *)cc;
    VfiRangeIter it;
    VfiRange cur = { 1, 0 };   /* empty */

    if (c->mapped_valid) {
        return c->mapped;
    }
    for (const VfiRange *m = vfi_range_tree_nth(c->maps, 0, &it); m;
         m = vfi_range_iter_next(&it)) {
        if (cur.iova <= cur.last && cur.last + 1 == m->iova) {
            cur.last = m->last;
            continue;
        }
        if (cur.iova <= cur.last) {
            vfi_range_tree_insert(c->mapped, &cur);
        }
        cur = *m;
    }
    if (cur.iova <= cur.last) {
        vfi_range_tree_insert(c->mapped, &cur);
    }
    c->mapped_valid = true;
    trace_vfi_container_merged_view(c->ioas_id, "built", vfi_range_tree_len(c->maps),
                                    vfi_range_tree_len(c->mapped));
    return c->mapped;
}

/* Forget every mapping of @c overlapping [iova, last] (the kernel unmapped
 * them: whole mappings only). */
static void record_remove(VfiContainer *c, uint64_t iova, uint64_t last)
{
    bool follow = merged_view_follows(c);
    VfiContainerMapping o;

    while (vfi_range_tree_remove_overlap(c->maps, iova, last, &o)) {
        c->nr_container_maps -= !o.by_as;
        if (!o.by_as) {
            vfi_container_file_close("container mapping forgotten", o.src.fd);
        }
        if (follow) {
            vfi_range_tree_remove_cut(c->mapped, o.r.iova, o.r.last);
        }
        if (o.r.last >= last) {
            break;          /* none can follow it in the range */
        }
    }
    /* The pages the library kept there are unmapped. */
    vfi_kept_forget(c->kept, iova, last);
    for (guint i = 0; i < c->devices->len; i++) {
        vfi_device_dma_logging_unmapped(g_ptr_array_index(c->devices, i), iova, last);
    }
    trace_vfi_container_ranges(c->ioas_id, "remove", iova, last - iova + 1,
                               vfi_range_tree_len(c->maps));
}

static void record_add(VfiContainer *c, uint64_t iova, uint64_t size,
                       const VfiMapSource *src, bool readonly, bool by_as, bool made_rw)
{
    VfiContainerMapping n = { .r = { iova, iova + (size - 1) }, .src = *src,
                              .readonly = readonly, .by_as = by_as,
                              .made_writeable = made_rw };

    const VfiContainerMapping *o;

    /* The kernel just mapped the range, so nothing is mapped there: a
     * recorded mapping overlapping it is stale (gone behind the record's
     * back), and forgotten. */
    while ((o = vfi_range_tree_insert_new(c->maps, &n))) {
        VfiRange stale = o->r;

        trace_vfi_container_record_stale(c->ioas_id, stale.iova, stale.last - stale.iova + 1);
        record_remove(c, stale.iova, stale.last);
    }
    if (merged_view_follows(c)) {
        vfi_range_tree_add_merged(c->mapped, n.r.iova, n.r.last);
    }
    c->nr_container_maps += !by_as;
    trace_vfi_container_ranges(c->ioas_id, "add", iova, size, vfi_range_tree_len(c->maps));
}

const VfiContainerMapping *vfi_container_mapping_overlap(const VfiContainer *c,
                                                         uint64_t iova, uint64_t last,
                                                         bool by_as)
{
    guint mine = by_as ? vfi_range_tree_len(c->maps) - c->nr_container_maps :
                 c->nr_container_maps;
    VfiRangeIter it;

    if (mine == 0) {
        return NULL;        /* none made by that level: nothing to look for */
    }
    for (const VfiContainerMapping *m = vfi_range_tree_overlap(c->maps, iova, last, &it);
         m && m->r.iova <= last; m = vfi_range_iter_next(&it)) {
        if (m->by_as == by_as) {
            return m;
        }
    }
    return NULL;
}

const VfiContainerMapping *vfi_container_mapping_at(const VfiContainer *c, uint64_t iova)
{
    return vfi_range_tree_overlap(c->maps, iova, iova, NULL);
}

bool vfi_container_mapped_next(const VfiContainer *c, uint64_t iova, VfiRange *r)
{
    const VfiRange *m = vfi_range_tree_first(merged_view(c), iova, NULL);

    if (!m) {
        return false;
    }
    *r = *m;
    return true;
}

guint vfi_container_mapped_count(const VfiContainer *c)
{
    return vfi_range_tree_len(merged_view(c));
}

/* The first mapping of @c crossing an edge of [iova, last], or NULL: the
 * one holding @iova when it starts before, else the one holding @last when
 * it ends after (mappings are disjoint: only those two can). */
static const VfiContainerMapping *mapping_cut(const VfiContainer *c, uint64_t iova,
                                              uint64_t last)
{
    const VfiContainerMapping *m = vfi_range_tree_overlap(c->maps, iova, last, NULL);

    if (!m) {
        return NULL;
    }
    if (m->r.iova < iova || m->r.last >= last) {
        return m->r.iova < iova || m->r.last > last ? m : NULL;
    }
    m = vfi_range_tree_overlap(c->maps, last, last, NULL);
    return m && m->r.last > last ? m : NULL;
}

/* Bytes and number of the mappings of @c inside [iova, last]. */
static unsigned mappings_in(const VfiContainer *c, uint64_t iova, uint64_t last,
                            uint64_t *bytes)
{
    unsigned n = 0;

    VfiRangeIter it;

    *bytes = 0;
    for (const VfiRange *m = vfi_range_tree_overlap(c->maps, iova, last, &it);
         m && m->iova <= last; m = vfi_range_iter_next(&it)) {
        *bytes += m->last - m->iova + 1;
        n++;
    }
    return n;
}

/*
 * The kernel said ENOENT to an unmap of [iova, last] although @c records
 * mappings there and none crosses its edges: either they are gone already,
 * or a mapping the library does not know of (made on the IOAS directly)
 * crosses an edge, the kernel having unmapped the recorded ones before it
 * but not those after. Unmap each recorded one alone: whether it was still
 * there (now unmapped) or already gone, it is not mapped any more, and the
 * record says so (one whose own unmap fails otherwise stays recorded).
 *
 * Each of those unmaps is given the caller's @log (NULL: none): an unmap
 * that reads IOMMU dirty bits itself (type1 while its IOMMU tracks) puts
 * the bits of the mappings it removes there, so none is lost. In practice
 * the ENOENT comes from IOMMU_IOAS_UNMAP, whose unmaps read no bits (the
 * HWPTs were read before); type1's VFIO_IOMMU_UNMAP_DMA answers "nothing
 * there" with success and 0 bytes, so only a kernel (or a fault injected
 * by a test) that said ENOENT there reaches this on type1.
 */
static void unmap_resync(VfiContainer *c, uint64_t iova, uint64_t last,
                         const VfiDirtyLog *log)
{
    const VfiContainerMapping *o;

    while ((o = vfi_range_tree_overlap(c->maps, iova, last, NULL))) {
        VfiRange m = o->r;
        g_autoptr(GError) err = NULL;
        uint64_t size = m.last - m.iova + 1;
        bool ok = c->ops->unmap(c, m.iova, size, log, NULL, &err);

        VFI_TRACE_CONTAINER(vfi_container_unmap_resync, c, m.iova, size, ok ? 0 : err->code);
        if (ok || g_error_matches(err, VFI_KERNEL_ERROR, ENOENT)) {
            record_remove(c, m.iova, m.last);
        }
        if (m.last >= last) {
            break;
        }
        iova = m.last + 1;  /* on to the next one (this one stays on a failure) */
    }
}

/* ---- checks ------------------------------------------------------------ */

bool vfi_container_check_unmap_range(const VfiContainer *c, const char *what,
                                     uint64_t iova, uint64_t size, GError **errp)
{
    const VfiContainerMapping *m;
    uint64_t last;

    if (!vfi_container_check_sized(c, what, iova, size, errp)) {
        return false;
    }
    last = iova + (size - 1);
    m = mapping_cut(c, iova, last);
    if (m) {
        trace_vfi_container_refused(c->ioas_id, what, "cuts a mapping", iova, size);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: [0x%" PRIx64 ", 0x%" PRIx64 "] cuts the %s mapping [0x%" PRIx64
                    ", 0x%" PRIx64 "] of %s (an unmap must cover whole mappings)",
                    what, iova, last, m->by_as ? "address-space" : "container", m->r.iova,
                    m->r.last, VFI_CONTAINER_DESC(c));
        return false;
    }
    return true;
}

/* Refuse (WRONG_STATE) a container-level call touching a mapping made
 * through the address space. */
static bool check_no_as_mapping(const VfiContainer *c, const char *what, uint64_t iova,
                                uint64_t last, const char *use, GError **errp)
{
    const VfiContainerMapping *m = vfi_container_mapping_overlap(c, iova, last, true);

    if (!m) {
        return true;
    }
    trace_vfi_container_refused(c->ioas_id, what, "address-space mapping", iova,
                                last - iova + 1);
    g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                "%s: [0x%" PRIx64 ", 0x%" PRIx64 "] in %s %s the mapping [0x%" PRIx64
                ", 0x%" PRIx64 "] made through the address space: use %s", what, iova, last,
                VFI_CONTAINER_DESC(c), use ? "holds" : "overlaps", m->r.iova, m->r.last,
                use ? use : "vfi_address_space_dma_map/_unmap for it");
    return false;
}

bool vfi_container_check_unmap(const VfiContainer *c, const char *what, uint64_t iova,
                               uint64_t size, VfiUnmapFlags flags, GError **errp)
{
    if (flags & ~(VFI_UNMAP_ALLOW_ABSENT | VFI_UNMAP_DISCARD_DIRTY)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: unknown flags 0x%x", what, (unsigned)flags);
        return false;
    }
    return vfi_container_check_unmap_range(c, what, iova, size, errp) &&
           check_no_as_mapping(c, what, iova, iova + (size - 1),
                               "vfi_address_space_dma_unmap", errp) &&
           vfi_container_check_unmap_tracking(c, what, flags, errp);
}

/* ---- map --------------------------------------------------------------- */

bool vfi_container_map_src_unchecked(VfiContainer *c, uint64_t iova, uint64_t size,
                                     const VfiMapSource *src, bool readonly, bool by_as,
                                     uint64_t *iova_out, GError **errp)
{
    uint64_t at = iova;
    bool made_rw = false;

    /* the caller checked it (a refusal cannot happen here): a read-only
     * request where a nest parent forbids it, opted in, is made read-write */
    if (!vfi_nest_parent_check_map(c, "dma map", iova, size, readonly, &made_rw, errp)) {
        return false;
    }
    /* the backend's kernel call (container-ops.h) */
    if (!c->ops->map(c, iova, size, src, readonly && !made_rw, &at, errp)) {
        return false;
    }
    record_add(c, at, size, src, readonly, by_as, made_rw);
    if (iova_out) {
        *iova_out = at;
    }
    return true;
}

bool vfi_container_map_unchecked(VfiContainer *c, uint64_t iova, uint64_t size,
                                 void *vaddr, bool readonly, bool by_as, GError **errp)
{
    VfiMapSource src = VFI_MAP_SOURCE_MEM(vaddr);

    return vfi_container_map_src_unchecked(c, iova, size, &src, readonly, by_as, NULL, errp);
}

/* ---- files ------------------------------------------------------------- */

bool vfi_container_file_dup(const char *what, int fd, uint64_t offset, uint64_t size,
                            int *dup, GError **errp)
{
    if (!HAVE_IOMMU_IOAS_MAP_FILE) {
        vfi_kernel_uapi_missing(errp, what, "IOMMU_IOAS_MAP_FILE", "6.13");
        return false;
    }
    return vfi_container_file_dup_any(what, fd, offset, size, dup, errp);
}

bool vfi_container_file_dup_any(const char *what, int fd, uint64_t offset, uint64_t size,
                                int *dup, GError **errp)
{
    if (fd < 0 || size == 0 || offset + (size - 1) < offset) {
        trace_vfi_container_file_refused(what, fd, offset, size);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: file fd %d offset 0x%" PRIx64 " size 0x%" PRIx64 ": %s", what, fd,
                    offset, size, fd < 0 ? "invalid fd" : size == 0 ? "size 0" :
                    "offset + size overflows");
        return false;
    }
    *dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    trace_vfi_container_file_dup(what, fd, *dup, *dup < 0 ? errno : 0);
    if (*dup < 0) {
        int err = errno;

        g_set_error(errp, VFI_ERROR, err == EBADF ? VFI_ERROR_INVALID_ARGUMENT : VFI_ERROR_HOST,
                    "%s: cannot duplicate file fd %d (F_DUPFD_CLOEXEC): %s (errno %d)%s",
                    what, fd, g_strerror(err), err, err == EBADF ? ": not an open fd" : "");
        return false;
    }
    return true;
}

bool vfi_container_check_file_offset(const VfiContainer *c, const char *what,
                                     uint64_t offset, GError **errp)
{
    if ((offset % VFI_PAGE_SIZE) % c->alignment == 0) {
        return true;
    }
    trace_vfi_container_refused(c->ioas_id, what, "file offset's page offset not aligned",
                                offset, 0);
    g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                "%s: file offset 0x%" PRIx64 ": its offset in its page is not aligned to "
                "the IOVA alignment 0x%" PRIx64 " of %s", what, offset, c->alignment,
                VFI_CONTAINER_DESC(c));
    return false;
}

bool vfi_container_dma_map(VfiContainer *c, uint64_t iova, uint64_t size, void *vaddr,
                           bool readonly, GError **errp)
{
    VFI_LOCK_GUARD(vfi_container_lock(c));

    if (!vfi_container_check_given(c, "dma map", errp)) {
        return false;
    }
    if (!vaddr) {
        trace_vfi_container_refused(c->ioas_id, "dma map", "no vaddr", iova, size);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "dma map: NULL vaddr for iova 0x%" PRIx64 " in %s", iova,
                    VFI_CONTAINER_DESC(c));
        return false;
    }
    if (!vfi_container_check_map(c, "dma map", iova, size, errp) ||
        !check_no_as_mapping(c, "dma map", iova, iova + (size - 1), NULL, errp) ||
        !vfi_nest_parent_check_map(c, "dma map", iova, size, readonly, NULL, errp)) {
        return false;
    }
    return vfi_container_map_unchecked(c, iova, size, vaddr, readonly, false, errp);
}

/* The checks of a container-level map by file at a fixed @iova, or of
 * @size alone for a kernel-chosen one (no ioctl). */
static bool map_file_check(const VfiContainer *c, const char *what, uint64_t iova,
                           uint64_t size, uint64_t offset, GError **errp)
{
    if (!vfi_container_check_file_offset(c, what, offset, errp)) {
        return false;
    }
    if (iova == VFI_IOVA_ANY) {
        return vfi_container_check_sized(c, what, 0, size, errp);
    }
    return vfi_container_check_map(c, what, iova, size, errp) &&
           check_no_as_mapping(c, what, iova, iova + (size - 1), NULL, errp);
}

/* A kernel-chosen IOVA for @c's new mapping [iova, iova + size): checked as
 * a fixed one would have been; a refusal unmaps it again. */
static bool map_file_chosen(VfiContainer *c, const char *what, uint64_t iova, uint64_t size,
                            GError **errp)
{
    if (vfi_container_check_map(c, what, iova, size, errp)) {
        return true;
    }
    if (!vfi_container_unmap_unchecked(c, iova, size, NULL)) {
        /* It stays recorded as the kernel has it: the VMM may unmap it. */
        g_prefix_error(errp, "(the mapping at the kernel-chosen iova 0x%" PRIx64
                       " could not be unmapped again and stays) ", iova);
    }
    return false;
}

bool vfi_container_dma_map_file(VfiContainer *c, uint64_t iova, uint64_t size, int fd,
                                uint64_t offset, bool readonly, uint64_t *iova_out,
                                GError **errp)
{
    VFI_LOCK_GUARD(vfi_container_lock(c));
    const char *what = "dma map file";
    VfiMapSource src = { .fd = -1, .offset = offset };
    uint64_t at = iova;

    if (!vfi_container_check_given(c, what, errp) ||
        !(vfi_container_is_type1(c) ? vfi_container_file_dup_any :
          vfi_container_file_dup)(what, fd, offset, size, &src.fd, errp)) {
        return false;
    }
    if (!map_file_check(c, what, iova, size, offset, errp) ||
        !vfi_nest_parent_check_map(c, what, iova, size, readonly, NULL, errp) ||
        !vfi_container_map_src_unchecked(c, iova, size, &src, readonly, false, &at, errp)) {
        vfi_container_file_close(what, src.fd);
        return false;
    }
    /* From here the record owns the duplicate. */
    if (iova == VFI_IOVA_ANY && !map_file_chosen(c, what, at, size, errp)) {
        return false;
    }
    trace_vfi_container_dma_map_file(c->ioas_id, at, size, fd, src.fd, offset, readonly);
    if (iova_out) {
        *iova_out = at;
    }
    return true;
}

/* ---- unmap ------------------------------------------------------------- */

bool vfi_container_unmap_unchecked(VfiContainer *c, uint64_t iova, uint64_t size,
                                   GError **errp)
{
    return vfi_container_unmap_unchecked_dirty(c, iova, size, NULL, errp);
}

bool vfi_container_unmap_unchecked_dirty(VfiContainer *c, uint64_t iova, uint64_t size,
                                         const VfiDirtyLog *log, GError **errp)
{
    uint64_t last = iova + (size - 1);
    g_autoptr(GError) err = NULL;

    if (c->ops->unmap(c, iova, size, log, NULL, &err)) {
        record_remove(c, iova, last);
        return true;
    }
    if (g_error_matches(err, VFI_KERNEL_ERROR, ENOENT)) {
        /* No recorded mapping crosses the edges: gone already, or a mapping
         * made behind the library's back does. Unmap the recorded ones one
         * by one; those still recorded after that could not be unmapped. */
        unmap_resync(c, iova, last, log);
        if (!vfi_range_tree_overlap(c->maps, iova, last, NULL)) {
            return true;
        }
    }
    g_propagate_error(errp, g_steal_pointer(&err));
    return false;
}

/* The kernel refused an unmap of [iova, last] of @c holding @n recorded
 * mappings there: absent (ENOENT, nothing recorded) is fine with
 * ALLOW_ABSENT; otherwise resync the record (its unmaps given @log) and
 * fail. */
static bool unmap_failed(VfiContainer *c, uint64_t iova, uint64_t last, unsigned n,
                         VfiUnmapFlags flags, const VfiDirtyLog *log, GError *err,
                         GError **errp)
{
    bool enoent = g_error_matches(err, VFI_KERNEL_ERROR, ENOENT);

    if (enoent && n == 0 && (flags & VFI_UNMAP_ALLOW_ABSENT)) {
        VFI_TRACE_CONTAINER(vfi_container_dma_unmap_absent, c, iova, last - iova + 1);
        g_error_free(err);
        return true;
    }
    if (enoent && n) {
        unmap_resync(c, iova, last, log);
        g_prefix_error(&err, "dma unmap: %s had %u recorded mapping(s) in "
                       "[0x%" PRIx64 ", 0x%" PRIx64 "], now unmapped; a mapping "
                       "not made through this library crosses an edge of the "
                       "range: ", VFI_CONTAINER_DESC(c), n, iova, last);
    }
    g_propagate_error(errp, err);
    return false;
}

bool vfi_container_dma_unmap_checked(VfiContainer *c, uint64_t iova, uint64_t size,
                                     const VfiDirtyLog *log, VfiUnmapFlags flags,
                                     uint64_t *unmapped, GError **errp)
{
    GError *err = NULL;
    uint64_t done = 0, recorded = 0, last = iova + (size - 1);
    unsigned n = mappings_in(c, iova, last, &recorded);

    if (!c->ops->unmap(c, iova, size, log, &done, &err)) {
        if (!unmap_failed(c, iova, last, n, flags, log, err, errp)) {
            return false;
        }
        done = 0;           /* nothing was there, and that is allowed */
    } else {
        if (done != recorded) {
            VFI_TRACE_CONTAINER(vfi_container_unmap_mismatch, c, iova, size, recorded, done);
        }
        if (n) {
            record_remove(c, iova, last);
        }
    }
    if (unmapped) {
        *unmapped = done;
    }
    return true;
}

bool vfi_container_dma_unmap(VfiContainer *c, uint64_t iova, uint64_t size,
                             VfiUnmapFlags flags, uint64_t *unmapped, GError **errp)
{
    VFI_LOCK_GUARD(vfi_container_lock(c));

    if (!vfi_container_check_given(c, "dma unmap", errp) ||
        !vfi_container_check_unmap(c, "dma unmap", iova, size, flags, errp)) {
        return false;
    }
    return vfi_container_dma_unmap_checked(c, iova, size, NULL, flags, unmapped, errp);
}

bool vfi_container_dma_unmap_all(VfiContainer *c, uint64_t *unmapped, GError **errp)
{
    VFI_LOCK_GUARD(vfi_container_lock(c));
    uint64_t done = 0;

    if (!vfi_container_check_given(c, "dma unmap all", errp) ||
        !check_no_as_mapping(c, "dma unmap all", 0, UINT64_MAX, "vfi_address_space_dma_unmap",
                             errp) ||
        !vfi_container_check_unmap_tracking(c, "dma unmap all", 0, errp)) {
        return false;
    }
    if (!c->ops->unmap(c, 0, 0, NULL, &done, errp)) {
        return false;
    }
    vfi_container_forget_all_mappings(c);
    vfi_range_tree_clear(c->mapped);
    c->mapped_valid = true;
    for (guint i = 0; i < c->devices->len; i++) {
        vfi_device_dma_logging_unmapped(g_ptr_array_index(c->devices, i), 0, UINT64_MAX);
    }
    trace_vfi_container_ranges(c->ioas_id, "remove all", 0, done, 0);
    if (unmapped) {
        *unmapped = done;
    }
    return true;
}

unsigned vfi_container_mapping_count(const VfiContainer *c)
{
    VFI_LOCK_GUARD(vfi_container_lock(c));

    return c ? vfi_range_tree_len(c->maps) : 0;
}

guint vfi_container_as_mapping_count(const VfiContainer *c)
{
    return vfi_range_tree_len(c->maps) - c->nr_container_maps;
}

size_t vfi_container_get_mapping_bytes(const VfiContainer *c)
{
    VFI_LOCK_GUARD(vfi_container_lock(c));

    return c ? vfi_range_tree_bytes(c->maps) + vfi_range_tree_bytes(c->mapped) : 0;
}

bool vfi_container_mapping(const VfiContainer *c, unsigned i, VfiMappingInfo *out)
{
    VFI_LOCK_GUARD(vfi_container_lock(c));
    const VfiContainerMapping *m;

    if (!c || !out || !(m = vfi_range_tree_nth(c->maps, i, NULL))) {
        return false;
    }
    *out = (VfiMappingInfo){
        .iova = m->r.iova, .size = m->r.last - m->r.iova + 1, .vaddr = m->src.vaddr,
        .readonly = m->readonly && !m->made_writeable,
        .owner = m->by_as ? VFI_MAPPING_BY_ADDRESS_SPACE : VFI_MAPPING_BY_CONTAINER,
        .by_file = m->src.fd >= 0, .fd = m->src.fd, .offset = m->src.offset,
    };
    return true;
}
