/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: VfiContainer, one IOAS of one backend in one address space.
 *
 * A container is made when a device fits in no existing container of its
 * address space: it connects a backend user, allocates an IOAS, reads the
 * IOAS's allowed IOVA ranges and alignment, and replays the address space's
 * mappings. It goes away with its last device: its empty HWPTs and its IOAS
 * are destroyed (destroying the IOAS drops its mappings, so nothing is
 * unmapped explicitly) and the backend user is dropped.
 *
 * DMA maps on one container check their arguments against the
 * container's IOVA ranges and alignment before any ioctl. Those change with
 * what is attached (an IOAS without a domain allows all 64 bits with
 * alignment 1; a domain limits them to its aperture with its page size; a
 * physical device reserves its reserved regions, the x86 MSI window), so
 * they are read again after every placement and every detach. Unmaps check
 * only size, overflow and alignment, plus the edge rule below; where the
 * range lies is the kernel's business (ENOENT when nothing is there).
 *
 * The container records its mappings one by one, as made, and which level
 * made them (the address space or the container): the kernel unmaps whole
 * mappings only, and a range whose edge cuts a mapping makes it unmap the
 * mappings before that one and then fail with ENOENT, which is
 * indistinguishable from "nothing there". Such a range is refused before
 * the ioctl. A mapping belongs to the level that made it: the container
 * level neither maps over nor unmaps an address-space mapping (it would be
 * replayed into new containers, or stay forgotten in this one).
 */
#include <errno.h>
#include <inttypes.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/iommufd.h"
#include "container-internal.h"
#include "trace.h"

/* ---- argument checks --------------------------------------------------- */

bool vfi_check_range_basic(const char *what, uint64_t iova, uint64_t size, GError **errp)
{
    if (size == 0) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: size 0 at iova 0x%" PRIx64, what, iova);
        return false;
    }
    if (iova + (size - 1) < iova) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: iova 0x%" PRIx64 " + size 0x%" PRIx64 " overflows", what, iova,
                    size);
        return false;
    }
    return true;
}

/* @iova and @size multiples of @c's IOVA alignment (INVALID_ARGUMENT). */
static bool check_aligned(const VfiContainer *c, const char *what, uint64_t iova,
                          uint64_t size, GError **errp)
{
    if (iova % c->alignment || size % c->alignment) {
        trace_vfi_container_refused(c->ioas_id, what, "misaligned", iova, size);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: iova 0x%" PRIx64 " size 0x%" PRIx64 " not aligned to the IOVA "
                    "alignment 0x%" PRIx64 " of ioas %u", what, iova, size, c->alignment,
                    c->ioas_id);
        return false;
    }
    return true;
}

/* Size non-zero, no overflow, aligned to @c's IOVA alignment; *@last is
 * the range's last byte. */
static bool check_sized_aligned(const VfiContainer *c, const char *what, uint64_t iova,
                                uint64_t size, uint64_t *last, GError **errp)
{
    if (!vfi_check_range_basic(what, iova, size, errp) ||
        !check_aligned(c, what, iova, size, errp)) {
        return false;
    }
    *last = iova + (size - 1);
    return true;
}

bool vfi_container_check_range(const VfiContainer *c, const char *what, uint64_t iova,
                                uint64_t size, GError **errp)
{
    uint64_t last;

    if (!check_sized_aligned(c, what, iova, size, &last, errp)) {
        return false;
    }
    for (size_t i = 0; i < c->nr_ranges; i++) {
        if (iova >= c->ranges[i].start && last <= c->ranges[i].last) {
            return true;
        }
    }
    trace_vfi_container_refused(c->ioas_id, what, "outside the allowed IOVA ranges", iova,
                                 size);
    g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                "%s: [0x%" PRIx64 ", 0x%" PRIx64 "] is not inside one allowed IOVA range "
                "of ioas %u", what, iova, last, c->ioas_id);
    return false;
}

/* Index of the first mapping of @c whose last byte is >= @iova (the
 * mappings are sorted and disjoint): a binary search, so unmaps and
 * overlap checks do not walk every mapping of a vIOMMU-sized list. */
static guint maps_first(const VfiContainer *c, uint64_t iova)
{
    guint lo = 0, hi = c->maps->len;

    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;

        if (g_array_index(c->maps, VfiContainerMapping, mid).last < iova) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* The first mapping of @c crossing an edge of [iova, last], or NULL. */
static const VfiContainerMapping *mapping_cut(const VfiContainer *c, uint64_t iova,
                                               uint64_t last)
{
    for (guint i = maps_first(c, iova); i < c->maps->len; i++) {
        const VfiContainerMapping *m = &g_array_index(c->maps, VfiContainerMapping, i);

        if (m->iova > last) {
            break;
        }
        if (m->iova < iova || m->last > last) {
            return m;
        }
    }
    return NULL;
}

bool vfi_container_check_unmap_range(const VfiContainer *c, const char *what,
                                      uint64_t iova, uint64_t size, GError **errp)
{
    const VfiContainerMapping *m;
    uint64_t last;

    if (!check_sized_aligned(c, what, iova, size, &last, errp)) {
        return false;
    }
    m = mapping_cut(c, iova, last);
    if (m) {
        trace_vfi_container_refused(c->ioas_id, what, "cuts a mapping", iova, size);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: [0x%" PRIx64 ", 0x%" PRIx64 "] cuts the %s mapping [0x%" PRIx64
                    ", 0x%" PRIx64 "] of ioas %u (an unmap must cover whole mappings)",
                    what, iova, last, m->by_as ? "address-space" : "container", m->iova,
                    m->last, c->ioas_id);
        return false;
    }
    return true;
}

/* ---- life cycle -------------------------------------------------------- */

static void container_free(VfiContainer *c)
{
    g_assert(c->devices->len == 0 && c->hwpts->len == 0);
    g_ptr_array_free(c->devices, true);
    g_ptr_array_free(c->hwpts, true);
    g_array_free(c->maps, true);
    g_array_free(c->mapped, true);
    vfi_container_dirty_free(c);
    g_free(c->ranges);
    g_free(c);
}

/* Keep a container whose kernel objects could not all be destroyed: it must
 * stay reachable from its address space. */
static void container_keep(VfiContainer *c)
{
    guint idx;

    if (!g_ptr_array_find(c->as->containers, c, &idx)) {
        g_ptr_array_add(c->as->containers, c);
    }
}

bool vfi_container_cleanup(VfiContainer *c, bool *freed, GError **errp)
{
    g_autoptr(GError) err = NULL;
    guint idx;

    *freed = false;
    /* Empty HWPTs: left over from a destroy that failed earlier. */
    for (guint i = 0; i < c->hwpts->len;) {
        VfiHwpt *h = g_ptr_array_index(c->hwpts, i);

        if (h->devices->len == 0) {
            g_autoptr(GError) herr = NULL;

            if (vfi_hwpt_destroy(h, &herr)) {
                continue;
            }
            trace_vfi_container_cleanup_failed(c->ioas_id, herr->message);
            if (!err) {
                err = g_steal_pointer(&herr);
            }
        }
        i++;
    }
    if (c->devices->len || c->hwpts->len) {
        if (err) {
            container_keep(c);
            g_propagate_error(errp, g_steal_pointer(&err));
            return false;
        }
        return true;
    }
    if (!vfi_iommufd_destroy(c->be, c->ioas_id, &err)) {
        trace_vfi_container_cleanup_failed(c->ioas_id, err->message);
        container_keep(c);
        g_propagate_prefixed_error(errp, g_steal_pointer(&err),
                                   "cannot destroy ioas %u of an empty container (kept): ",
                                   c->ioas_id);
        return false;
    }
    trace_vfi_container_destroy(c->ioas_id);
    vfi_iommufd_disconnect(c->be);
    if (g_ptr_array_find(c->as->containers, c, &idx)) {
        g_ptr_array_remove_index(c->as->containers, idx);
    }
    container_free(c);
    *freed = true;
    return true;
}

VfiContainer *vfi_container_create(VfiAddressSpace *as, VfiIommufd *be,
                                     GError **errp)
{
    VfiContainer *c;
    uint32_t ioas_id;
    bool freed;

    if (!vfi_iommufd_connect(be, errp)) {
        return NULL;
    }
    if (!vfi_iommufd_ioas_alloc(be, &ioas_id, errp)) {
        vfi_iommufd_disconnect(be);
        return NULL;
    }
    c = g_new0(VfiContainer, 1);
    c->as = as;
    c->be = be;
    c->ioas_id = ioas_id;
    c->devices = g_ptr_array_new();
    c->hwpts = g_ptr_array_new();
    c->maps = g_array_new(false, false, sizeof(VfiContainerMapping));
    c->mapped = g_array_new(false, false, sizeof(VfiRange));
    if (!vfi_iommufd_ioas_iova_ranges(be, ioas_id, &c->ranges, &c->nr_ranges,
                                         &c->alignment, errp)) {
        goto undo;
    }
    if (c->alignment == 0) {
        c->alignment = 1;
    }
    trace_vfi_container_create(ioas_id, c->nr_ranges, c->alignment, as->mappings->len);
    for (guint i = 0; i < as->mappings->len; i++) {
        VfiASMapping *m = &g_array_index(as->mappings, VfiASMapping, i);
        bool ok = vfi_container_check_range(c, "replay of an address-space mapping",
                                             m->iova, m->size, errp) &&
                  vfi_container_map_unchecked(c, m->iova, m->size, m->vaddr, m->readonly,
                                               true, errp);

        trace_vfi_container_replay(ioas_id, m->iova, m->size, ok);
        if (!ok) {
            g_prefix_error(errp, "new container (ioas %u): ", ioas_id);
            goto undo;
        }
    }
    return c;

undo:
    {
        g_autoptr(GError) err = NULL;

        if (!vfi_container_cleanup(c, &freed, &err)) {
            /* Double fault: the container stays in the address space. */
            trace_vfi_container_cleanup_failed(ioas_id, err->message);
        }
    }
    return NULL;
}

bool vfi_container_refresh_ranges(VfiContainer *c, GError **errp)
{
    g_autofree VfiIovaRange *ranges = NULL;
    g_autoptr(GError) err = NULL;
    size_t n = 0;
    uint64_t align = 0;

    if (!vfi_iommufd_ioas_iova_ranges(c->be, c->ioas_id, &ranges, &n, &align, &err)) {
        trace_vfi_container_ranges_refresh(c->ioas_id, c->nr_ranges, c->alignment,
                                            err->code);
        g_propagate_prefixed_error(errp, g_steal_pointer(&err),
                                   "re-reading the IOVA ranges of ioas %u (it keeps the "
                                   "%zu it had): ", c->ioas_id, c->nr_ranges);
        return false;
    }
    g_free(c->ranges);
    c->ranges = g_steal_pointer(&ranges);
    c->nr_ranges = n;
    c->alignment = align ? align : 1;
    trace_vfi_container_ranges_refresh(c->ioas_id, c->nr_ranges, c->alignment, 0);
    return true;
}

void vfi_container_add_device(VfiContainer *c, VfiDevice *dev)
{
    g_ptr_array_add(c->devices, dev);
    trace_vfi_container_add_device(c->ioas_id, vfi_device_get_name(dev), c->devices->len);
}

void vfi_container_remove_device(VfiContainer *c, VfiDevice *dev)
{
    bool found = g_ptr_array_remove(c->devices, dev);

    g_assert(found);
    trace_vfi_container_remove_device(c->ioas_id, vfi_device_get_name(dev),
                                       c->devices->len);
}

/* ---- public accessors -------------------------------------------------- */

uint32_t vfi_container_get_ioas_id(const VfiContainer *c)
{
    return c ? c->ioas_id : 0;
}

VfiIommufd *vfi_container_get_backend(const VfiContainer *c)
{
    return c ? c->be : NULL;
}

VfiAddressSpace *vfi_container_get_address_space(const VfiContainer *c)
{
    return c ? c->as : NULL;
}

const VfiIovaRange *vfi_container_get_iova_ranges(const VfiContainer *c, size_t *n)
{
    if (n) {
        *n = c ? c->nr_ranges : 0;
    }
    return c ? c->ranges : NULL;
}

uint64_t vfi_container_get_iova_alignment(const VfiContainer *c)
{
    return c ? c->alignment : 0;
}

unsigned vfi_container_device_count(const VfiContainer *c)
{
    return c ? c->devices->len : 0;
}

VfiDevice *vfi_container_device(const VfiContainer *c, unsigned i)
{
    if (!c || i >= c->devices->len) {
        return NULL;
    }
    return g_ptr_array_index(c->devices, i);
}

unsigned vfi_container_hwpt_count(const VfiContainer *c)
{
    return c ? c->hwpts->len : 0;
}

VfiHwpt *vfi_container_hwpt(const VfiContainer *c, unsigned i)
{
    if (!c || i >= c->hwpts->len) {
        return NULL;
    }
    return g_ptr_array_index(c->hwpts, i);
}

VfiHwpt *vfi_container_find_hwpt(const VfiContainer *c, uint32_t hwpt_id)
{
    for (guint i = 0; c && i < c->hwpts->len; i++) {
        VfiHwpt *h = g_ptr_array_index(c->hwpts, i);

        if (h->id == hwpt_id) {
            return h;
        }
    }
    return NULL;
}

VfiContainer *vfi_hwpt_get_container(const VfiHwpt *h)
{
    return h ? h->container : NULL;
}

/* ---- DMA --------------------------------------------------------------- */

bool vfi_container_check_given(const VfiContainer *c, const char *what, GError **errp)
{
    if (!c) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: no container given", what);
        return false;
    }
    return true;
}

bool vfi_container_map_unchecked(VfiContainer *c, uint64_t iova, uint64_t size,
                                  void *vaddr, bool readonly, bool by_as, GError **errp)
{
    bool ok = vfi_iommufd_ioas_map(c->be, c->ioas_id, iova, size, vaddr, readonly, errp);

    trace_vfi_container_dma_map(c->ioas_id, iova, size, vaddr, readonly, ok);
    if (ok) {
        vfi_container_mapping_add(c, iova, size, by_as);
    }
    return ok;
}

/* The first mapping of @as overlapping [iova, last], or NULL. */
static const VfiASMapping *as_mapping_overlap(const VfiAddressSpace *as, uint64_t iova,
                                               uint64_t last)
{
    for (guint i = 0; i < as->mappings->len; i++) {
        const VfiASMapping *m = &g_array_index(as->mappings, VfiASMapping, i);

        if (m->iova > last) {
            break;
        }
        if (m->iova + (m->size - 1) >= iova) {
            return m;
        }
    }
    return NULL;
}

bool vfi_container_dma_map(VfiContainer *c, uint64_t iova, uint64_t size, void *vaddr,
                            bool readonly, GError **errp)
{
    const VfiASMapping *o;

    if (!vfi_container_check_given(c, "dma map", errp)) {
        return false;
    }
    if (!vaddr) {
        trace_vfi_container_refused(c->ioas_id, "dma map", "no vaddr", iova, size);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "dma map: NULL vaddr for iova 0x%" PRIx64 " in ioas %u", iova,
                    c->ioas_id);
        return false;
    }
    if (!vfi_container_check_range(c, "dma map", iova, size, errp) ||
        !vfi_container_dirty_check_map(c, "dma map", iova, size, errp)) {
        return false;
    }
    o = as_mapping_overlap(c->as, iova, iova + (size - 1));
    if (o) {
        trace_vfi_container_refused(c->ioas_id, "dma map", "overlaps an address-space "
                                     "mapping", iova, size);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "dma map: [0x%" PRIx64 ", 0x%" PRIx64 "] in ioas %u overlaps the "
                    "mapping [0x%" PRIx64 ", 0x%" PRIx64 "] made through the address space "
                    "(vfi_address_space_dma_map)", iova, iova + (size - 1), c->ioas_id,
                    o->iova, o->iova + (o->size - 1));
        return false;
    }
    return vfi_container_map_unchecked(c, iova, size, vaddr, readonly, false, errp);
}

/* Refuse (WRONG_STATE) an unmap at container level touching a mapping made
 * through the address space. */
static bool check_no_as_mapping(const VfiContainer *c, const char *what, uint64_t iova,
                                uint64_t last, GError **errp)
{
    const VfiContainerMapping *m = vfi_container_mapping_overlap(c, iova, last, true);

    if (!m) {
        return true;
    }
    trace_vfi_container_refused(c->ioas_id, what, "address-space mapping", iova,
                                 last - iova + 1);
    g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                "%s: [0x%" PRIx64 ", 0x%" PRIx64 "] holds the mapping [0x%" PRIx64 ", 0x%"
                PRIx64 "] made through the address space in ioas %u: use "
                "vfi_address_space_dma_unmap for it", what, iova, last, m->iova, m->last,
                c->ioas_id);
    return false;
}

/* Bytes and number of the mappings of @c inside [iova, last]. */
static unsigned mappings_in(const VfiContainer *c, uint64_t iova, uint64_t last,
                            uint64_t *bytes)
{
    unsigned n = 0;

    *bytes = 0;
    for (guint i = maps_first(c, iova); i < c->maps->len; i++) {
        const VfiContainerMapping *m = &g_array_index(c->maps, VfiContainerMapping, i);

        if (m->iova > last) {
            break;
        }
        *bytes += m->last - m->iova + 1;
        n++;
    }
    return n;
}

void vfi_container_unmap_resync(VfiContainer *c, uint64_t iova, uint64_t last)
{
    for (guint i = maps_first(c, iova); i < c->maps->len;) {
        VfiContainerMapping m = g_array_index(c->maps, VfiContainerMapping, i);
        g_autoptr(GError) err = NULL;
        uint64_t size = m.last - m.iova + 1;
        bool ok;

        if (m.iova > last) {
            break;
        }
        ok = vfi_iommufd_ioas_unmap(c->be, c->ioas_id, m.iova, size, NULL, &err);
        trace_vfi_container_unmap_resync(c->ioas_id, m.iova, size, ok ? 0 : err->code);
        if (ok || g_error_matches(err, VFI_KERNEL_ERROR, ENOENT)) {
            vfi_container_mappings_remove(c, m.iova, size);
            continue;
        }
        i++;
    }
}

bool vfi_container_dma_unmap(VfiContainer *c, uint64_t iova, uint64_t size,
                              VfiUnmapFlags flags, uint64_t *unmapped, GError **errp)
{
    g_autoptr(GError) err = NULL;
    uint64_t done = 0, recorded = 0, last;
    unsigned n;

    if (!vfi_container_check_given(c, "dma unmap", errp)) {
        return false;
    }
    if (flags & ~(VFI_UNMAP_ALLOW_ABSENT | VFI_UNMAP_DISCARD_DIRTY)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "dma unmap: unknown flags 0x%x", (unsigned)flags);
        return false;
    }
    if (!vfi_container_check_unmap_range(c, "dma unmap", iova, size, errp) ||
        !check_no_as_mapping(c, "dma unmap", iova, iova + (size - 1), errp) ||
        !vfi_container_dirty_check_unmap(c, "dma unmap", flags, errp)) {
        return false;
    }
    last = iova + (size - 1);
    n = mappings_in(c, iova, last, &recorded);
    if (!vfi_iommufd_ioas_unmap(c->be, c->ioas_id, iova, size, &done, &err)) {
        bool enoent = g_error_matches(err, VFI_KERNEL_ERROR, ENOENT);

        if (enoent && n == 0 && (flags & VFI_UNMAP_ALLOW_ABSENT)) {
            trace_vfi_container_dma_unmap_absent(c->ioas_id, iova, size);
            done = 0;
        } else {
            trace_vfi_container_dma_unmap(c->ioas_id, iova, size, flags, 0, err->code);
            if (enoent && n) {
                vfi_container_unmap_resync(c, iova, last);
                g_prefix_error(&err, "dma unmap: ioas %u had %u recorded mapping(s) in "
                               "[0x%" PRIx64 ", 0x%" PRIx64 "], now unmapped; a mapping "
                               "not made through this library crosses an edge of the "
                               "range: ", c->ioas_id, n, iova, last);
            }
            g_propagate_error(errp, g_steal_pointer(&err));
            return false;
        }
    }
    trace_vfi_container_dma_unmap(c->ioas_id, iova, size, flags, done, 0);
    if (done != recorded) {
        trace_vfi_container_unmap_mismatch(c->ioas_id, iova, size, recorded, done);
    }
    if (n) {
        vfi_container_mappings_remove(c, iova, size);
    }
    if (unmapped) {
        *unmapped = done;
    }
    return true;
}

bool vfi_container_dma_unmap_all(VfiContainer *c, uint64_t *unmapped, GError **errp)
{
    uint64_t done = 0;

    if (!vfi_container_check_given(c, "dma unmap all", errp) ||
        !check_no_as_mapping(c, "dma unmap all", 0, UINT64_MAX, errp) ||
        !vfi_container_dirty_check_unmap(c, "dma unmap all", 0, errp)) {
        return false;
    }
    if (!vfi_iommufd_ioas_unmap_all(c->be, c->ioas_id, &done, errp)) {
        return false;
    }
    g_array_set_size(c->maps, 0);
    g_array_set_size(c->mapped, 0);
    trace_vfi_container_dma_unmap_all(c->ioas_id, done);
    if (unmapped) {
        *unmapped = done;
    }
    return true;
}

unsigned vfi_container_mapping_count(const VfiContainer *c)
{
    return c ? c->maps->len : 0;
}

/* ---- the set of mapped ranges ------------------------------------------ */

/* Index of the first merged range whose last byte is >= @iova (binary
 * search: map and unmap must not walk every range). */
static guint ranges_first(const VfiContainer *c, uint64_t iova)
{
    guint lo = 0, hi = c->mapped->len;

    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;

        if (g_array_index(c->mapped, VfiRange, mid).last < iova) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static void ranges_add(VfiContainer *c, uint64_t iova, uint64_t size)
{
    VfiRange n = { .iova = iova, .last = iova + (size - 1) };
    /* the first range ending at or after the byte before the new one: it
     * may be adjacent, and every one before it is neither adjacent nor
     * overlapping */
    guint i = ranges_first(c, iova ? iova - 1 : 0), j;
    /* Absorb every range overlapping or adjacent to it. */
    for (j = i; j < c->mapped->len; j++) {
        VfiRange *r = &g_array_index(c->mapped, VfiRange, j);

        if (n.last != UINT64_MAX && r->iova > n.last + 1) {
            break;
        }
        n.iova = MIN(n.iova, r->iova);
        n.last = MAX(n.last, r->last);
    }
    if (j > i) {
        g_array_remove_range(c->mapped, i, j - i);
    }
    g_array_insert_val(c->mapped, i, n);
    trace_vfi_container_ranges(c->ioas_id, "add", iova, size, c->mapped->len);
}

static void ranges_remove(VfiContainer *c, uint64_t iova, uint64_t size)
{
    uint64_t last = iova + (size - 1);

    for (guint i = ranges_first(c, iova); i < c->mapped->len;) {
        VfiRange *r = &g_array_index(c->mapped, VfiRange, i);
        VfiRange head, tail;
        bool keep_head, keep_tail;

        if (r->iova > last) {
            break;
        }
        head = (VfiRange){ r->iova, iova - 1 };
        tail = (VfiRange){ last + 1, r->last };
        keep_head = r->iova < iova;
        keep_tail = r->last > last;
        g_array_remove_index(c->mapped, i);
        if (keep_head) {
            g_array_insert_val(c->mapped, i++, head);
        }
        if (keep_tail) {
            g_array_insert_val(c->mapped, i++, tail);
        }
    }
    trace_vfi_container_ranges(c->ioas_id, "remove", iova, size, c->mapped->len);
}

void vfi_container_mapping_add(VfiContainer *c, uint64_t iova, uint64_t size, bool by_as)
{
    VfiContainerMapping n = { .iova = iova, .last = iova + (size - 1), .by_as = by_as };
    guint i = c->maps->len;

    /* Mostly appended in ascending order: search from the end. */
    while (i > 0 && g_array_index(c->maps, VfiContainerMapping, i - 1).iova > iova) {
        i--;
    }
    g_array_insert_val(c->maps, i, n);
    ranges_add(c, iova, size);
}

void vfi_container_mappings_remove(VfiContainer *c, uint64_t iova, uint64_t size)
{
    uint64_t last = iova + (size - 1);

    for (guint i = maps_first(c, iova); i < c->maps->len;) {
        VfiContainerMapping m = g_array_index(c->maps, VfiContainerMapping, i);

        if (m.iova > last) {
            break;
        }
        g_array_remove_index(c->maps, i);
        ranges_remove(c, m.iova, m.last - m.iova + 1);
    }
}

const VfiContainerMapping *vfi_container_mapping_overlap(const VfiContainer *c,
                                                           uint64_t iova, uint64_t last,
                                                           bool by_as)
{
    for (guint i = maps_first(c, iova); i < c->maps->len; i++) {
        const VfiContainerMapping *m = &g_array_index(c->maps, VfiContainerMapping, i);

        if (m->iova > last) {
            break;
        }
        if (m->by_as == by_as) {
            return m;
        }
    }
    return NULL;
}
