/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: reading dirty bits (docs/dirty-tracking.md, "Reading dirty
 * bits"): every source (HWPTs with IOMMU_HWPT_GET_DIRTY_BITMAP, devices with
 * DMA_LOGGING_REPORT) into the caller's log, bits ORed.
 *
 *  - zero copy when the range starts on a byte of the log: the kernel gets
 *    the log's own memory (it only sets bits, and takes any byte address);
 *    it reads and writes DIV_ROUND_UP(pages, 64) whole words from there, so
 *    the tail that would run past the end of the log goes the scratch way;
 *  - else every source is read into one scratch buffer (zeroed for the
 *    range, grown when too small, never shrunk) and ORed into the log once,
 *    word by word with a shift;
 *  - everything is validated before the first ioctl.
 *
 * A container's sources are computed from its state at every read (its
 * HWPTs whose tracking is on, its devices whose DMA logging is on): nothing
 * is mirrored. The public VfiDirtyReader reads a list of HWPT ids a VMM
 * manages itself, or the sources of one container (a type1 one through its
 * ops' dirty-read primitive: vfi_dirty_reader_new_for_container()).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <linux/iommufd.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/iommufd.h"
#include "vfio-iommufd/dirty.h"
#include "util/bitops.h"
#include "migration-internal.h"
#include "trace.h"

/* A reader of HWPTs (@be set), or of a container's sources (@c set: its
 * sources, mappings, alignment and kept pages are the container's, only the
 * scratch buffer and its counters are the reader's; the fields between are
 * unused, NULL). */
struct VfiDirtyReader {
    VfiIommufd *be;           /* not owned (NULL: a container's reader) */
    VfiContainer *c;          /* not owned: the container whose sources it
                               * reads, or NULL (the HWPTs below) */
    GArray *hwpts;            /* uint32_t, order added */
    VfiRangeTree *mappings;   /* VfiRange: the IOAS's mappings the VMM told of
                               * (O(log n): a vIOMMU shadow makes many) */
    GArray *kept;             /* util/kept.h */
    uint64_t alignment;       /* minimum log page size (>= 1) */
    VfiDirtyScratch scratch;
};

VfiDirtySources vfi_dirty_sources_of(VfiContainer *c)
{
    return (VfiDirtySources){
        .be = c->be, .ioas_id = c->ioas_id, .alignment = c->alignment,
        .c = c, .kept = &c->kept, .scratch = &c->scratch,
    };
}

/* The sources of @r, a reader of HWPTs (a container's reader reads its
 * container's: vfi_dirty_query_container()). */
static VfiDirtySources reader_sources(VfiDirtyReader *r)
{
    return (VfiDirtySources){
        .be = r->be, .alignment = r->alignment, .hwpt_ids = r->hwpts,
        .mappings = r->mappings, .kept = &r->kept, .scratch = &r->scratch,
    };
}

/* @s as a VMM knows it, for messages and traces: its container's
 * description ("ioas N", "type1 container fd N": vfi_container_describe()),
 * or, for a public reader's HWPTs, "iommufd F". */
static const char *sources_describe(const VfiDirtySources *s, char *buf, size_t len)
{
    if (s->c) {
        return vfi_container_describe(s->c, buf, len);
    }
    snprintf(buf, len, "iommufd %d", vfi_iommufd_get_fd(s->be));
    return buf;
}

#define SOURCES_DESC(s) \
    sources_describe((s), (char[VFI_CONTAINER_DESC_LEN]){ 0 }, VFI_CONTAINER_DESC_LEN)
/* Emit trace event @ev whose first argument describes @s, made only while
 * the event is on. */
#define TRACE_SOURCES(ev, s, ...) \
    do { \
        if (trace_##ev##_enabled()) { \
            trace_##ev(SOURCES_DESC(s), __VA_ARGS__); \
        } \
    } while (0)

/* Whether a device's DMA logging is a source of @s. */
static bool has_logging_source(const VfiDirtySources *s)
{
    if (s->hwpt_ids) {
        return s->device && vfi_device_dma_logging_active(s->device);
    }
    for (guint i = 0; i < s->c->devices->len; i++) {
        if (vfi_device_dma_logging_active(g_ptr_array_index(s->c->devices, i))) {
            return true;
        }
    }
    return false;
}

/* ---- checks -------------------------------------------------------------- */

/* Whether the container-wide IOMMU tracking of @s's container (type1,
 * through its ops) is a source. */
bool vfi_dirty_has_iommu_source(const VfiDirtySources *s)
{
    return !s->hwpt_ids && s->c && s->c->ops->read_iommu_dirty &&
           s->c->ops->iommu_tracking_is_on(s->c);
}

/* Whether an IOMMU source (a HWPT, or the container-wide one) is a source
 * of @s. */
static bool has_hwpt_source(const VfiDirtySources *s)
{
    if (s->hwpt_ids) {
        return s->hwpt_ids->len > 0;
    }
    if (vfi_dirty_has_iommu_source(s)) {
        return true;
    }
    for (guint i = 0; i < s->c->hwpts->len; i++) {
        if (((const VfiHwpt *)g_ptr_array_index(s->c->hwpts, i))->dirty_on) {
            return true;
        }
    }
    return false;
}

/* Whether @s has any source to read now. */
static bool has_sources(const VfiDirtySources *s)
{
    return has_hwpt_source(s) || has_logging_source(s);
}

static const char *log_problem(const VfiDirtySources *s, const VfiDirtyLog *log)
{
    uint64_t ps;

    if (!log) {
        return "no dirty log given";
    } else if (!log->bitmap) {
        return "the log's bitmap is NULL";
    } else if (log->nr_pages == 0) {
        return "the log has no page";
    } else if ((ps = log->page_size) == 0 || (ps & (ps - 1))) {
        return "the log's page size is not a power of two";
    } else if (ps < s->alignment) {
        return "the log's page size is below the IOVA alignment of the IOAS";
    } else if (ps < VFI_DMA_LOGGING_MIN_PAGE_SIZE && has_logging_source(s)) {
        return "the log's page size is below 4 KiB, which DMA_LOGGING_REPORT refuses, "
               "and a device's DMA logging is a source";
    } else if (log->base_iova & (ps - 1)) {
        return "the log's base IOVA is not aligned to its page size";
    } else if (log->nr_pages - 1 > (UINT64_MAX - log->base_iova) / ps) {
        return "the log's span overflows";
    }
    return NULL;
}

bool vfi_dirty_check_log(const VfiDirtySources *s, const VfiDirtyLog *log, const char *what,
                         GError **errp)
{
    const char *why = log_problem(s, log);

    if (!why) {
        return true;
    }
    TRACE_SOURCES(vfi_dirty_refused, s, what, why);
    g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                "%s (%s): %s (base 0x%" PRIx64 " page size 0x%" PRIx64
                " pages %" PRIu64 ")", what, SOURCES_DESC(s), why, log ? log->base_iova : 0,
                log ? log->page_size : 0, log ? log->nr_pages : 0);
    return false;
}

/* ---- reading ------------------------------------------------------------- */

static bool read_hwpt(const VfiDirtySources *s, uint32_t id, uint64_t iova, uint64_t size,
                      uint64_t ps, void *data, uint64_t kflags, GError **errp)
{
    g_autoptr(GError) err = NULL;
    bool einval;

    if (vfi_iommufd_hwpt_get_dirty_bitmap(s->be, id, iova, size, ps, data, kflags, &err)) {
        return true;
    }
    /* The IOMMU drivers refuse to read a domain not tracking (EINVAL):
     * containers never read one, a VMM's own reader may. */
    einval = g_error_matches(err, VFI_KERNEL_ERROR, EINVAL);
    g_propagate_prefixed_error(errp, g_steal_pointer(&err), "dirty query of %s hwpt %u%s: ",
                               SOURCES_DESC(s), id, einval ? " (EINVAL: its dirty tracking "
                               "is off, or the range is not aligned to the IOAS)" : "");
    return false;
}

/* Which sources a read reads. */
enum { SRC_HWPTS = 1, SRC_DEVICES = 2, SRC_ALL = 3 };

/* Read [iova, iova + size) from the sources of @s in @which into @data. */
static bool read_sources(const VfiDirtySources *s, unsigned which, uint64_t iova,
                         uint64_t size, uint64_t ps, void *data, uint32_t flags,
                         bool zero_copy, GError **errp)
{
    uint64_t kflags = (flags & VFI_DIRTY_QUERY_NO_CLEAR) ?
                      IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR : 0;
    VfiDirtyStats *st = &s->scratch->stats;
    uint64_t *counter = zero_copy ? &st->zero_copy_reads : &st->scratch_reads;
    const GPtrArray *hwpts = s->hwpt_ids ? NULL : s->c->hwpts;
    guint nh = !(which & SRC_HWPTS) ? 0 : s->hwpt_ids ? s->hwpt_ids->len : hwpts->len;
    guint nd = !(which & SRC_DEVICES) ? 0 : s->hwpt_ids ? 1 : s->c->devices->len;

    if ((which & SRC_HWPTS) && !s->skip_iommu && vfi_dirty_has_iommu_source(s)) {
        (*counter)++;
        if (!s->c->ops->read_iommu_dirty(s->c, iova, size, ps, data, errp)) {
            return false;
        }
    }
    for (guint i = 0; i < nh; i++) {
        const VfiHwpt *h = hwpts ? g_ptr_array_index(hwpts, i) : NULL;
        uint32_t id = h ? h->id : g_array_index(s->hwpt_ids, uint32_t, i);

        if (h && !h->dirty_on) {
            continue;
        }
        (*counter)++;
        if (!read_hwpt(s, id, iova, size, ps, data, kflags, errp)) {
            return false;
        }
    }
    for (guint i = 0; i < nd; i++) {
        VfiDevice *dev = s->hwpt_ids ? s->device : g_ptr_array_index(s->c->devices, i);

        if (!dev || !vfi_device_dma_logging_active(dev)) {
            continue;
        }
        (*counter)++;
        if (!vfi_device_dma_logging_read(dev, iova, size, ps, data,
                                         flags & VFI_DIRTY_QUERY_NO_CLEAR, errp)) {
            g_prefix_error(errp, "dirty query of %s: ", SOURCES_DESC(s));
            return false;
        }
    }
    return true;
}

/* The kernel may set bits past a read's end, up to the end of the memory
 * page holding the bitmap's last byte (a dirty IOPTE larger than the log's
 * page that the range ends inside: Linux 7.3's generic page table, huge
 * IOPTEs): the scratch buffer is page-aligned and whole pages long, so such
 * bits land in it and are never ORed into the log. */
#define SCRATCH_ALIGN 4096

/* The bytes of a scratch bitmap for @pages bits (0: too many for memory)
 * and of its allocation (*@alloc, whole SCRATCH_ALIGN pages). */
static size_t scratch_bytes(uint64_t pages, size_t *alloc)
{
    size_t bytes = pages <= (uint64_t)(SIZE_MAX / 8 - 1) * 64 - SCRATCH_ALIGN * 8 ?
                   (pages + 63) / 64 * 8 : 0;

    *alloc = (bytes + SCRATCH_ALIGN - 1) / SCRATCH_ALIGN * SCRATCH_ALIGN;
    return bytes;
}

/* @sc zeroed for @pages bits when it is large enough (no allocation). */
static bool scratch_fits(VfiDirtyScratch *sc, uint64_t pages)
{
    size_t alloc, bytes = scratch_bytes(pages, &alloc);

    if (bytes && alloc <= sc->size) {
        memset(sc->buf, 0, bytes);
        return true;
    }
    return false;
}

/* @sc grown for @pages bits (it does not fit: scratch_fits()), zeroed;
 * @owner names the sources it reads for (messages and traces). */
static bool scratch_grow(VfiDirtyScratch *sc, const char *owner, uint64_t pages,
                         GError **errp)
{
    size_t alloc, bytes = scratch_bytes(pages, &alloc);
    void *buf = NULL;

    if (!bytes || posix_memalign(&buf, SCRATCH_ALIGN, alloc) != 0) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_HOST,
                    "dirty query of %s: cannot allocate a %zu-byte scratch bitmap "
                    "for %" PRIu64 " pages (ENOMEM): read a smaller range or align it to "
                    "a byte of the log", owner, alloc, pages);
        return false;
    }
    memset(buf, 0, bytes);
    trace_vfi_dirty_scratch_grow(owner, sc->size, alloc);
    free(sc->buf);
    sc->buf = buf;
    sc->size = alloc;
    sc->stats.scratch_grows++;
    sc->stats.scratch_bytes = alloc;
    return true;
}

/* A zeroed scratch bitmap for @pages bits (the buffer grown, never shrunk).
 * A range too large for memory fails (VFI_ERROR_HOST, before any ioctl of
 * the range) instead of aborting the process. */
bool vfi_dirty_scratch_reserve(VfiDirtyScratch *sc, uint32_t ioas_id, uint64_t pages,
                               GError **errp)
{
    char owner[VFI_CONTAINER_DESC_LEN];

    if (scratch_fits(sc, pages)) {
        return true;
    }
    snprintf(owner, sizeof(owner), "ioas %u", ioas_id);
    return scratch_grow(sc, owner, pages, errp);
}

static bool scratch_reserve(const VfiDirtySources *s, uint64_t pages, GError **errp)
{
    return scratch_fits(s->scratch, pages) ||
           scratch_grow(s->scratch, SOURCES_DESC(s), pages, errp);
}

/* Zero copy of as much of [*iova, + *n pages) as the log holds whole words
 * for from bit *bit (a byte boundary); advances the three past it. */
static bool read_zero_copy(const VfiDirtySources *s, unsigned which, uint64_t *iova,
                           uint64_t *bit, uint64_t *n, const VfiDirtyLog *log,
                           uint32_t flags, GError **errp)
{
    uint64_t ps = log->page_size;
    /* The kernel may read and write DIV_ROUND_UP(n, 64) whole words from the
     * start byte on: only as many as the log holds from there; the rest
     * (less than 64 pages) goes through the scratch buffer. */
    uint64_t log_bytes = (log->nr_pages + 63) / 64 * 8;
    uint64_t avail = (log_bytes - *bit / 8) / 8 * 64;
    uint64_t zc = MIN(*n, avail);

    TRACE_SOURCES(vfi_dirty_query, s, *iova, zc * ps, ps, *bit, true, flags);
    if (zc && !read_sources(s, which, *iova, zc * ps, ps, (uint8_t *)log->bitmap + *bit / 8,
                            flags, true, errp)) {
        return false;
    }
    *iova += zc * ps;
    *bit += zc;
    *n -= zc;
    return true;
}

/* Read [iova, iova + size) from the sources of @s in @which into @log. */
static bool read_plain(const VfiDirtySources *s, unsigned which, uint64_t iova,
                       uint64_t size, const VfiDirtyLog *log, uint32_t flags, GError **errp)
{
    uint64_t ps = log->page_size;
    uint64_t bit = (iova - log->base_iova) / ps;
    uint64_t n = size / ps;
    bool ok;

    if (bit % 8 == 0 && !read_zero_copy(s, which, &iova, &bit, &n, log, flags, errp)) {
        return false;
    }
    if (n == 0) {
        return true;
    }
    TRACE_SOURCES(vfi_dirty_query, s, iova, n * ps, ps, bit, false, flags);
    if (!scratch_reserve(s, n, errp)) {
        return false;
    }
    ok = read_sources(s, which, iova, n * ps, ps, s->scratch->buf, flags, false, errp);
    /* Also after a failure: bits already read (and cleared) must not be lost. */
    vfi_bits_or(log->bitmap, bit, s->scratch->buf, 0, n, false);
    return ok;
}

/* The mapping of @s's IOAS holding @iova into *@m, as far as @s knows. */
static bool mapping_at(const VfiDirtySources *s, uint64_t iova, VfiRange *m)
{
    const VfiContainerMapping *cm;
    const VfiRange *t;

    if (s->c) {
        cm = vfi_container_mapping_at(s->c, iova);
        if (cm) {
            *m = cm->r;
        }
        return cm != NULL;
    }
    t = s->mappings ? vfi_range_tree_overlap(s->mappings, iova, iova, NULL) : NULL;
    if (t) {
        *m = *t;
    }
    return t != NULL;
}

/*
 * The window the HWPTs must read for [iova, last]: from the start of the
 * mapping holding @iova to the end of the one holding @last (those @s
 * knows: its container's, or those a public reader was told of), in the
 * log's pages. The IOMMU records dirtiness per IOPTE, and an
 * IOPTE never crosses a mapping's edge but may cross any other IOVA; a read
 * whose edge cuts a dirty IOPTE larger than the log's page loses it (Linux
 * 7.3: one starting before the read is cleared unreported) or spills its
 * bits past the read's end. Returns whether the window exceeds the range.
 */
static bool hwpt_window(const VfiDirtySources *s, uint64_t iova, uint64_t last, uint64_t ps,
                        uint64_t *wi, uint64_t *wl)
{
    VfiRange m;

    *wi = iova;
    *wl = last;
    if (mapping_at(s, iova, &m) && m.iova < iova) {
        *wi = m.iova & ~(ps - 1);
    }
    if (mapping_at(s, last, &m) && m.last > last) {
        *wl = m.last | (ps - 1);
    }
    return *wi != iova || *wl != last;
}

/* The HWPTs read over the window [wi, wl] around [iova, last] into the
 * scratch buffer: the range's bits ORed into @log, the others kept (unless
 * NO_CLEAR: then the kernel still has them), to be delivered by the read of
 * their pages. */
static bool read_hwpt_window(const VfiDirtySources *s, uint64_t iova, uint64_t last,
                             uint64_t wi, uint64_t wl, const VfiDirtyLog *log,
                             uint32_t flags, GError **errp)
{
    uint64_t ps = log->page_size;
    uint64_t n = (wl - wi) / ps + 1;
    uint64_t head = (iova - wi) / ps, mid = (last - iova) / ps + 1;
    bool ok;

    TRACE_SOURCES(vfi_dirty_window, s, iova, last, wi, wl);
    TRACE_SOURCES(vfi_dirty_query, s, wi, n * ps, ps, (iova - log->base_iova) / ps, false,
                  flags);
    if (!scratch_reserve(s, n, errp)) {
        return false;
    }
    ok = read_sources(s, SRC_HWPTS, wi, n * ps, ps, s->scratch->buf, flags, false, errp);
    /* Also after a failure: bits already read (and cleared) must not be lost. */
    vfi_bits_or(log->bitmap, (iova - log->base_iova) / ps, s->scratch->buf, head, mid, false);
    /* (a type1 read clears whatever the flags: its pages are kept too) */
    if (!(flags & VFI_DIRTY_QUERY_NO_CLEAR) || vfi_dirty_has_iommu_source(s)) {
        vfi_kept_add(s->kept, wi, ps, s->scratch->buf, 0, head);
        vfi_kept_add(s->kept, wi, ps, s->scratch->buf, head + mid, n - head - mid);
    }
    return ok;
}

/* Deliver the pages of [iova, last] that an earlier read kept into @log
 * (and forget them unless NO_CLEAR). */
void vfi_dirty_deliver_kept(const VfiDirtySources *s, uint64_t iova, uint64_t last,
                            const VfiDirtyLog *log, uint32_t flags)
{
    bool forget = !(flags & VFI_DIRTY_QUERY_NO_CLEAR);

    if (!s->kept || !vfi_kept_any(*s->kept, iova, last)) {
        return;
    }
    TRACE_SOURCES(vfi_dirty_kept_deliver, s, iova, last, forget);
    vfi_kept_report(*s->kept, iova, last, log->page_size, log->bitmap, log->base_iova);
    if (forget) {
        vfi_kept_forget(*s->kept, iova, last);
    }
}

bool vfi_dirty_read_devices(const VfiDirtySources *s, uint64_t iova, uint64_t size,
                            const VfiDirtyLog *log, uint32_t flags, GError **errp)
{
    return !has_logging_source(s) ||
           read_plain(s, SRC_DEVICES, iova, size, log, flags, errp);
}

bool vfi_dirty_read(const VfiDirtySources *s, uint64_t iova, uint64_t size,
                    const VfiDirtyLog *log, uint32_t flags, GError **errp)
{
    uint64_t last = iova + (size - 1), wi, wl;

    if (!has_sources(s)) {
        return true;
    }
    vfi_dirty_deliver_kept(s, iova, last, log, flags);
    if (!has_hwpt_source(s) || !hwpt_window(s, iova, last, log->page_size, &wi, &wl)) {
        return read_plain(s, SRC_ALL, iova, size, log, flags, errp);
    }
    if (!vfi_dirty_read_devices(s, iova, size, log, flags, errp)) {
        return false;
    }
    return read_hwpt_window(s, iova, last, wi, wl, log, flags, errp);
}

/* Fold the set bits of @fine (bit i: the page of @g bytes at @a + i * @g,
 * @n of them) into @log's pages. */
static void fold_into(const VfiDirtyLog *log, const uint64_t *fine, uint64_t a, uint64_t g,
                      uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        if (fine[i / 64] >> (i % 64) & 1) {
            uint64_t bit = (a + i * g - log->base_iova) / log->page_size;

            log->bitmap[bit / 64] |= UINT64_C(1) << (bit % 64);
        }
    }
}

bool vfi_dirty_read_piece(const VfiDirtySources *s, uint64_t a, uint64_t b,
                          const VfiDirtyLog *log, uint32_t flags, GError **errp)
{
    uint64_t ps = log->page_size, g = ps;
    g_autofree uint64_t *fine = NULL;
    VfiDirtyLog tmp;
    bool ok;

    if (!(a & (ps - 1)) && !((b + 1) & (ps - 1))) {
        return vfi_dirty_read(s, a, b - a + 1, log, flags, errp);
    }
    while (g > s->alignment && ((a | (b + 1)) & (g - 1))) {
        g >>= 1;
    }
    tmp = (VfiDirtyLog){ .base_iova = a, .page_size = g, .nr_pages = (b - a + 1) / g };
    fine = g_try_new0(uint64_t, (tmp.nr_pages + 63) / 64);
    if (!fine) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_HOST,
                    "dirty read of %s [0x%" PRIx64 ", 0x%" PRIx64 "]: no memory for its "
                    "%" PRIu64 "-page bitmap (ENOMEM)", SOURCES_DESC(s), a, b, tmp.nr_pages);
        return false;
    }
    tmp.bitmap = fine;
    TRACE_SOURCES(vfi_dirty_fine_read, s, a, b, ps, g);
    ok = vfi_dirty_read(s, a, b - a + 1, &tmp, flags, errp);
    /* also after a failure: the bits read are cleared in the kernel */
    fold_into(log, fine, a, g, tmp.nr_pages);
    return ok;
}

/* ---- the public reader ---------------------------------------------------- */

static bool check_reader(const VfiDirtyReader *r, const char *what, GError **errp)
{
    if (!r) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: no dirty reader given", what);
        return false;
    }
    return true;
}

/* @r given and a reader of HWPTs: a container's reader takes its sources,
 * mappings and alignment from the container (WRONG_STATE). No ioctl. */
static bool check_hwpt_reader(const VfiDirtyReader *r, const char *what, GError **errp)
{
    if (!check_reader(r, what, errp)) {
        return false;
    }
    if (r->c) {
        VFI_TRACE_CONTAINER(vfi_dirty_refused, r->c, what, "a container's reader");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "%s: the reader reads the sources of a container (%s): its "
                    "sources, mappings and alignment are the container's", what,
                    VFI_CONTAINER_DESC(r->c));
        return false;
    }
    return true;
}

VfiDirtyReader *vfi_dirty_reader_new(VfiIommufd *be)
{
    VfiDirtyReader *r;

    if (!be) {
        return NULL;
    }
    r = g_new0(VfiDirtyReader, 1);
    r->be = be;
    r->hwpts = g_array_new(false, false, sizeof(uint32_t));
    r->mappings = vfi_range_tree_new(sizeof(VfiRange));
    r->alignment = 1;
    trace_vfi_dirty_reader_new(vfi_iommufd_get_fd(be));
    return r;
}

VfiDirtyReader *vfi_dirty_reader_new_for_container(VfiContainer *c, GError **errp)
{
    VfiDirtyReader *r;

    if (!vfi_container_check_given(c, "dirty reader of a container", errp)) {
        return NULL;
    }
    /* its sources, mappings, alignment and kept pages are @c's: a page a
     * read by the reader or by @c took around its range is delivered by
     * the next read of its pages, whoever makes it */
    r = g_new0(VfiDirtyReader, 1);
    r->c = c;
    VFI_TRACE_CONTAINER(vfi_dirty_reader_container, c, c->ops->name);
    return r;
}

void vfi_dirty_reader_free(VfiDirtyReader *r)
{
    if (!r) {
        return;
    }
    if (r->c) {
        VFI_TRACE_CONTAINER(vfi_dirty_reader_container_free, r->c, r->scratch.size);
    } else {
        trace_vfi_dirty_reader_free(vfi_iommufd_get_fd(r->be), r->hwpts->len,
                                    r->scratch.size);
        g_array_free(r->hwpts, true);
        vfi_range_tree_free(r->mappings);
        g_clear_pointer(&r->kept, g_array_unref);
    }
    g_free(r->scratch.buf);
    g_free(r);
}

bool vfi_dirty_reader_set_iova_alignment(VfiDirtyReader *r, uint64_t alignment,
                                         GError **errp)
{
    if (!check_hwpt_reader(r, "dirty reader alignment", errp)) {
        return false;
    }
    if (alignment == 0 || (alignment & (alignment - 1))) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "dirty reader alignment (iommufd %d): 0x%" PRIx64 " is not a power of "
                    "two", vfi_iommufd_get_fd(r->be), alignment);
        return false;
    }
    r->alignment = alignment;
    return true;
}

static bool find_hwpt(const VfiDirtyReader *r, uint32_t id, guint *idx)
{
    for (guint i = 0; i < r->hwpts->len; i++) {
        if (g_array_index(r->hwpts, uint32_t, i) == id) {
            *idx = i;
            return true;
        }
    }
    return false;
}

bool vfi_dirty_reader_add_hwpt(VfiDirtyReader *r, uint32_t hwpt_id, GError **errp)
{
    guint idx;

    if (!check_hwpt_reader(r, "dirty reader: add hwpt", errp)) {
        return false;
    }
    if (hwpt_id == 0 || find_hwpt(r, hwpt_id, &idx)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "dirty reader (iommufd %d): add hwpt %u: %s", vfi_iommufd_get_fd(r->be),
                    hwpt_id, hwpt_id ? "already a source" : "not a valid object id");
        return false;
    }
    g_array_append_val(r->hwpts, hwpt_id);
    trace_vfi_dirty_reader_source(vfi_iommufd_get_fd(r->be), hwpt_id, true);
    return true;
}

bool vfi_dirty_reader_remove_hwpt(VfiDirtyReader *r, uint32_t hwpt_id, GError **errp)
{
    guint idx;

    if (!check_hwpt_reader(r, "dirty reader: remove hwpt", errp)) {
        return false;
    }
    if (!find_hwpt(r, hwpt_id, &idx)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_NOT_FOUND,
                    "dirty reader (iommufd %d): hwpt %u is not one of its sources",
                    vfi_iommufd_get_fd(r->be), hwpt_id);
        return false;
    }
    g_array_remove_index(r->hwpts, idx);
    trace_vfi_dirty_reader_source(vfi_iommufd_get_fd(r->be), hwpt_id, false);
    return true;
}

bool vfi_dirty_reader_add_mapping(VfiDirtyReader *r, uint64_t iova, uint64_t size,
                                  GError **errp)
{
    const char *what = "dirty reader: add mapping";
    VfiRange n;

    if (!check_hwpt_reader(r, what, errp) || !vfi_range_check(what, iova, size, errp)) {
        return false;
    }
    n = (VfiRange){ iova, iova + (size - 1) };
    if (vfi_range_tree_insert_new(r->mappings, &n)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s (iommufd %d): [0x%" PRIx64 ", 0x%" PRIx64 "] overlaps a mapping "
                    "already told", what, vfi_iommufd_get_fd(r->be), n.iova, n.last);
        return false;
    }
    trace_vfi_dirty_reader_mapping(vfi_iommufd_get_fd(r->be), iova, size, true);
    return true;
}

bool vfi_dirty_reader_remove_mapping(VfiDirtyReader *r, uint64_t iova, uint64_t size,
                                     GError **errp)
{
    const char *what = "dirty reader: remove mapping";
    const VfiRange *m;

    if (!check_hwpt_reader(r, what, errp) || !vfi_range_check(what, iova, size, errp)) {
        return false;
    }
    m = vfi_range_tree_overlap(r->mappings, iova, iova, NULL);
    if (!m || m->iova != iova || m->last != iova + (size - 1)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_NOT_FOUND,
                    "%s (iommufd %d): [0x%" PRIx64 ", +0x%" PRIx64 ") is not a mapping "
                    "told", what, vfi_iommufd_get_fd(r->be), iova, size);
        return false;
    }
    vfi_range_tree_remove(r->mappings, iova);
    /* its pages are unmapped: what was kept of them goes */
    vfi_kept_forget(r->kept, iova, iova + (size - 1));
    trace_vfi_dirty_reader_mapping(vfi_iommufd_get_fd(r->be), iova, size, false);
    return true;
}

unsigned vfi_dirty_reader_hwpt_count(const VfiDirtyReader *r)
{
    return r && r->hwpts ? r->hwpts->len : 0;
}

void vfi_dirty_reader_get_stats(const VfiDirtyReader *r, VfiDirtyStats *st)
{
    if (st) {
        *st = r ? r->scratch.stats : (VfiDirtyStats){ 0 };
    }
}

/* The range checks of a query (INVALID_ARGUMENT), the log already checked:
 * flags known, size non-zero, no overflow, aligned to the log's pages,
 * inside its span. No ioctl. */
static bool check_range(const VfiDirtyLog *log, uint64_t iova, uint64_t size,
                        uint32_t flags, const char *what, GError **errp)
{
    if (flags & ~(uint32_t)VFI_DIRTY_QUERY_NO_CLEAR) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: unknown flags 0x%x", what, flags);
        return false;
    }
    if (!vfi_range_check(what, iova, size, errp)) {
        return false;
    }
    if ((iova | size) & (log->page_size - 1)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: iova 0x%" PRIx64 " size 0x%" PRIx64 " not aligned to the log's "
                    "page size 0x%" PRIx64, what, iova, size, log->page_size);
        return false;
    }
    if (iova < log->base_iova || iova + (size - 1) > vfi_dirty_log_last(log)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: [0x%" PRIx64 ", 0x%" PRIx64 "] is not inside the log's span "
                    "[0x%" PRIx64 ", 0x%" PRIx64 "]", what, iova, iova + (size - 1),
                    log->base_iova, vfi_dirty_log_last(log));
        return false;
    }
    return true;
}

bool vfi_dirty_split_told(const VfiDirtySources *s, uint64_t iova, uint64_t last,
                          VfiDirtyPieceFn fn, void *opaque, GError **errp)
{
    uint64_t x = iova, b;

    for (;;) {
        const VfiRange *m = vfi_range_tree_first(s->mappings, x, NULL);

        if (m && m->iova <= x) {
            b = MIN(m->last, last);
        } else {
            b = m && m->iova <= last ? m->iova - 1 : last;
            m = NULL;
        }
        if (!fn(opaque, s, m, x, b, errp)) {
            return false;
        }
        if (b == last) {
            return true;
        }
        x = b + 1;
    }
}

/* A piece of a serial query: read as it is. */
static bool read_told_piece(void *opaque, const VfiDirtySources *s, const VfiRange *m,
                            uint64_t a, uint64_t b, GError **errp)
{
    const VfiDirtyQueryArgs *q = opaque;

    return vfi_dirty_read_piece(s, a, b, q->log, q->flags, errp);
}

bool vfi_dirty_check_tracking(const VfiContainer *c, const char *what, GError **errp)
{
    if (c->dirty_tracking) {
        return true;
    }
    VFI_TRACE_CONTAINER(vfi_dirty_refused, c, what, "dirty tracking is off");
    g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                "%s: dirty tracking is off for %s: there are no dirty bits to read "
                "(start tracking first)", what, VFI_CONTAINER_DESC(c));
    return false;
}

/*
 * Every kernel read covers mapped IOVAs only: one starting in a hole reads
 * nothing, one crossing a hole stops there (and says nothing).
 */
bool vfi_dirty_read_mapped(VfiContainer *c, const VfiDirtySources *s, uint64_t lo,
                           uint64_t hi, const VfiDirtyLog *log, uint32_t flags, GError **errp)
{
    VfiRange r;

    lo = MAX(lo, log->base_iova);
    hi = MIN(hi, vfi_dirty_log_last(log));
    if (lo > hi) {
        return true;
    }
    VFI_CONTAINER_FOREACH_MAPPED(c, lo, r) {
        if (r.iova > hi) {
            break;
        }
        if (!vfi_dirty_read_piece(s, MAX(r.iova, lo), MIN(r.last, hi), log, flags, errp)) {
            return false;
        }
    }
    return true;
}

bool vfi_dirty_query_container(VfiContainer *c, VfiDirtyScratch *scratch, uint64_t iova,
                               uint64_t size, const VfiDirtyLog *log, uint32_t flags,
                               GError **errp)
{
    VFI_LOCK_GUARD(vfi_container_lock(c));
    const char *what = "dirty query";
    VfiDirtySources s;

    if (!vfi_container_check_given(c, what, errp) || !vfi_dirty_check_tracking(c, what, errp)) {
        return false;
    }
    s = vfi_dirty_sources_of(c);
    if (scratch) {
        s.scratch = scratch;
    }
    return vfi_dirty_check_query(&s, iova, size, log, flags, what, errp) &&
           vfi_dirty_read_mapped(c, &s, iova, iova + (size - 1), log, flags, errp);
}

bool vfi_dirty_reader_query(VfiDirtyReader *r, uint64_t iova, uint64_t size,
                            const VfiDirtyLog *log, uint32_t flags, GError **errp)
{
    const char *what = "dirty query";
    VfiDirtyQueryArgs q;
    VfiDirtySources s;

    if (!check_reader(r, what, errp)) {
        return false;
    }
    if (r->c) {
        /* the container's query, into the reader's scratch and counters */
        return vfi_dirty_query_container(r->c, &r->scratch, iova, size, log, flags, errp);
    }
    s = reader_sources(r);
    if (!vfi_range_tree_len(r->mappings)) {
        return vfi_dirty_query(&s, iova, size, log, flags, what, errp);
    }
    if (!vfi_dirty_check_log(&s, log, what, errp) ||
        !check_range(log, iova, size, flags, what, errp)) {
        return false;
    }
    q = (VfiDirtyQueryArgs){ log, flags };
    return !has_sources(&s) ||
           vfi_dirty_split_told(&s, iova, iova + (size - 1), read_told_piece, &q, errp);
}

bool vfi_dirty_query(const VfiDirtySources *s, uint64_t iova, uint64_t size,
                     const VfiDirtyLog *log, uint32_t flags, const char *what, GError **errp)
{
    if (!vfi_dirty_check_log(s, log, what, errp) ||
        !check_range(log, iova, size, flags, what, errp)) {
        return false;
    }
    return vfi_dirty_read(s, iova, size, log, flags, errp);
}

bool vfi_dirty_reader_sources(VfiDirtyReader *r, const char *what, VfiDirtySources *out,
                              GError **errp)
{
    if (!check_reader(r, what, errp)) {
        return false;
    }
    if (r->c) {
        /* (a parallel query of a container's reader: the container's own
         * parallel sync does it, with the container's lock) */
        VFI_TRACE_CONTAINER(vfi_dirty_refused, r->c, what, "a container's reader");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_NOT_SUPPORTED,
                    "%s: the reader reads a container (%s): query it with "
                    "vfi_dirty_reader_query(), or sync the container in parallel "
                    "(vfi_container_sync_dirty_parallel())", what, VFI_CONTAINER_DESC(r->c));
        return false;
    }
    *out = reader_sources(r);
    return true;
}

bool vfi_dirty_check_query(const VfiDirtySources *s, uint64_t iova, uint64_t size,
                           const VfiDirtyLog *log, uint32_t flags, const char *what,
                           GError **errp)
{
    return vfi_dirty_check_log(s, log, what, errp) &&
           check_range(log, iova, size, flags, what, errp);
}

bool vfi_dirty_has_sources(const VfiDirtySources *s)
{
    return has_sources(s);
}
