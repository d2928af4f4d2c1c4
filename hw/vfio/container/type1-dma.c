/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the type1 backend's maps, unmaps and dirty reads (see
 * hw/vfio/container/type1.h).
 *
 * The record of the mappings is the VfiContainer's (mappings.c); these are
 * the kernel calls under it. A map by file mmaps the file range MAP_SHARED
 * and maps that (VFIO_IOMMU_MAP_DMA takes process memory only), the mmap
 * kept until the mapping is unmapped or the last group drops it. Dirty
 * bits are read per whole mapping at the IOMMU page (the kernel refuses a
 * range that cuts one) and folded into the caller's pages.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "vfio-iommufd/error.h"
#include "util/bitops.h"
#include "util/kept.h"
#include "util/kernel-internal.h"
#include "util/refuse.h"
#include "type1.h"
#include "trace.h"

/* Refuse @what on type1 container @c before any ioctl (util/refuse.h): the
 * trace event vfi_type1_container_refused, VFI_ERROR / @code naming its fd. */
#define refuse(c, what, code, errp, ...)                                         \
    vfi_refuse((errp), (code), trace_vfi_type1_container_refused,                \
               vfi_type1_get_fd((c)->type1->t1), "type1 container", (what), __VA_ARGS__)

/* ---- map by file ---------------------------------------------------------- */

/* mmap [offset, offset + size) of @fd MAP_SHARED (read-only as asked): a
 * regular file (memfd, tmpfs, hugetlbfs) at a page-aligned offset. */
static void *file_mmap(const VfiContainer *c, int fd, uint64_t offset, uint64_t size,
                       bool readonly, GError **errp)
{
    struct stat st;
    void *p;

    if (fstat(fd, &st) < 0) {
        vfi_kernel_error(errp, errno, "fstat", NULL, "dma map file: type1 container fd %d: "
                         "fd %d", vfi_type1_get_fd(c->type1->t1), fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        refuse(c, "dma map file", VFI_ERROR_NOT_SUPPORTED, errp, "fd %d is not a regular file "
               "(a dma-buf or device memory has no type1 form: VFIO_IOMMU_MAP_DMA maps "
               "process memory only)", fd);
        return NULL;
    }
    if (offset & (VFI_TYPE1_PAGE - 1)) {
        refuse(c, "dma map file", VFI_ERROR_INVALID_ARGUMENT, errp, "file offset 0x%"
               G_GINT64_MODIFIER "x is not aligned to the IOMMU page (4 KiB)", offset);
        return NULL;
    }
    p = mmap(NULL, size, PROT_READ | (readonly ? 0 : PROT_WRITE), MAP_SHARED, fd,
             (off_t)offset);
    if (p == MAP_FAILED) {
        vfi_kernel_error(errp, errno, "mmap", NULL, "dma map file: type1 container fd %d: "
                         "fd %d [0x%" G_GINT64_MODIFIER "x, +0x%" G_GINT64_MODIFIER "x)",
                         vfi_type1_get_fd(c->type1->t1), fd, offset, size);
        return NULL;
    }
    return p;
}

void vfi_type1_drop_mmaps(VfiContainer *c, uint64_t iova, uint64_t last)
{
    VfiRangeTree *mm = c->type1->mmaps;
    const VfiType1Mmap *f = vfi_range_tree_first(mm, iova, NULL);
    VfiType1Mmap m;

    if (f && f->r.iova < iova) {
        /* its mapping starts before the range: not one of them */
        if (f->r.last >= last) {
            return;
        }
        iova = f->r.last + 1;
    }
    while (vfi_range_tree_remove_overlap(mm, iova, last, &m)) {
        munmap(m.addr, m.r.last - m.r.iova + 1);
        trace_vfi_type1_container_mmap(vfi_type1_get_fd(c->type1->t1), -1, m.r.iova,
                                       m.r.last - m.r.iova + 1, "munmapped");
    }
}

bool vfi_type1_ops_map(VfiContainer *c, uint64_t iova, uint64_t size, const VfiMapSource *src,
                       bool readonly, uint64_t *iova_out, GError **errp)
{
    VfiType1Mmap m = { .r = { iova, iova + (size - 1) } };
    void *va = src->vaddr;

    if (iova == VFI_IOVA_ANY) {
        return refuse(c, "dma map file", VFI_ERROR_NOT_SUPPORTED, errp, "type1 has no "
                      "kernel-chosen IOVA: give the IOVA");
    }
    if (src->fd >= 0 && !(va = m.addr = file_mmap(c, src->fd, src->offset, size, readonly,
                                                    errp))) {
        return false;
    }
    if (!vfi_type1_map(c->type1->t1, iova, size, va, readonly, errp)) {
        if (m.addr) {
            munmap(m.addr, size);
        }
        return false;
    }
    if (m.addr) {
        trace_vfi_type1_container_mmap(vfi_type1_get_fd(c->type1->t1), src->fd, iova, size,
                                       "mmapped (MAP_SHARED) and mapped");
        /* the kernel just mapped the range: no mmap of a mapping is there */
        vfi_range_tree_insert(c->type1->mmaps, &m);
    }
    *iova_out = iova;
    return true;
}

/* ---- dirty bitmaps ---------------------------------------------------------- */

/* The container's bitmap for a read of @pages IOMMU pages, zeroed (grown
 * when too small, never shrunk). VFI_ERROR_HOST, before any ioctl, when
 * it cannot be allocated. */
static uint64_t *bits_reserve(VfiContainer *c, uint64_t pages, uint64_t *bytes,
                              GError **errp)
{
    VfiType1Container *t = c->type1;
    uint64_t need = (pages + 63) / 64 * 8;
    uint64_t *buf;

    if (need <= t->bits_size) {
        memset(t->bits, 0, need);
        *bytes = need;
        return t->bits;
    }
    buf = g_try_malloc0(need);
    if (!buf) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_HOST, "type1 container fd %d: no memory for "
                    "a dirty bitmap of %" G_GUINT64_FORMAT " pages (ENOMEM)",
                    vfi_type1_get_fd(t->t1), pages);
        return NULL;
    }
    trace_vfi_type1_container_bitmap_grow(vfi_type1_get_fd(t->t1), t->bits_size, need);
    g_free(t->bits);
    t->bits = buf;
    t->bits_size = need;
    *bytes = need;
    return buf;
}

/* OR the 4 KiB bits of @bits (bit 0: @iova, @pages bits) inside
 * [span_first, span_last] (within @log's span) into @log: at the log's own
 * 4 KiB pages word by word (shifted to the log's bit), else set bit by set
 * bit, the rest of a log page's bits skipped; zero words are skipped
 * either way. */
static void fold_span(const uint64_t *bits, uint64_t iova, uint64_t pages,
                      const VfiDirtyLog *log, uint64_t span_first, uint64_t span_last)
{
    uint64_t ps = log->page_size, per = ps / VFI_TYPE1_PAGE;
    uint64_t from = 0, to = pages, p;

    g_assert(per >= 1);         /* a log page is never below the IOMMU page */
    if (!pages || iova > span_last || iova + (pages * VFI_TYPE1_PAGE - 1) < span_first) {
        return;
    }
    if (iova < span_first) {
        from = (span_first - iova) / VFI_TYPE1_PAGE;
    }
    to = MIN(to, (span_last - iova) / VFI_TYPE1_PAGE + 1);
    if (per == 1) {
        vfi_bits_or(log->bitmap, (iova + from * VFI_TYPE1_PAGE - log->base_iova) /
                    VFI_TYPE1_PAGE, bits, from, to - from, false);
        return;
    }
    for (p = from; p < to;) {
        uint64_t w = bits[p / 64] & (~UINT64_C(0) << (p % 64)), rel, bit;

        if (!w) {
            p = (p / 64 + 1) * 64;
            continue;
        }
        p = p / 64 * 64 + (uint64_t)__builtin_ctzll(w);
        if (p >= to) {
            break;
        }
        rel = (iova + p * VFI_TYPE1_PAGE - log->base_iova) / VFI_TYPE1_PAGE;
        bit = rel / per;
        log->bitmap[bit / 64] |= UINT64_C(1) << (bit % 64);
        p += per - rel % per;       /* the log page's other bits add nothing */
    }
}

/* fold_span() over the whole of @log's span. */
static void fold_into_log(const uint64_t *bits, uint64_t iova, uint64_t pages,
                          const VfiDirtyLog *log)
{
    fold_span(bits, iova, pages, log, log->base_iova,
              log->base_iova + (log->nr_pages - 1) * log->page_size + (log->page_size - 1));
}

/* ---- unmap ------------------------------------------------------------------ */

static uint64_t max_tracked(const VfiContainer *c);

/* One unmap of [iova, iova + size) (*@done: the bytes the kernel unmapped);
 * with @log, its bitmap (VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP) is folded
 * into @log, failed or not: the kernel may have unmapped (and copied the
 * bits of) mappings before it failed, and nothing read them before (the
 * zeroed buffer's bits: at worst none). */
static bool unmap_one(VfiContainer *c, uint64_t iova, uint64_t size, const VfiDirtyLog *log,
                      uint64_t *done, GError **errp)
{
    uint64_t pages = size / VFI_TYPE1_PAGE, bytes = 0;
    uint64_t *bits = NULL;
    bool ok;

    *done = 0;
    if (log && !(bits = bits_reserve(c, pages, &bytes, errp))) {
        return false;
    }
    ok = vfi_type1_unmap(c->type1->t1, iova, size, VFI_TYPE1_PAGE, bits, bytes, done, errp);
    if (bits) {
        fold_into_log(bits, iova, pages, log);
    }
    return ok;
}

/* unmap_one() with a bitmap of the run of whole mappings [first, end],
 * its bytes added to *@done. */
static bool unmap_run(VfiContainer *c, uint64_t first, uint64_t end, const VfiDirtyLog *log,
                      uint64_t *done, GError **errp)
{
    uint64_t d = 0;
    bool ok;

    trace_vfi_type1_container_unmap_run(vfi_type1_get_fd(c->type1->t1), first, end - first + 1);
    ok = unmap_one(c, first, end - first + 1, log, &d, errp);
    *done += d;
    return ok;
}

/*
 * With a bitmap: the recorded mappings inside [iova, last] (none crosses
 * either end: the container checked), unmapped in runs of whole mappings,
 * each run within the kernel's bitmap limit: a bitmap of the range asked
 * for, holes included, could be far over the limit (EINVAL) or memory (a
 * VMM unmapping a whole window). No mapping recorded there: one unmap
 * without a bitmap, as without tracking. *@done: the bytes unmapped.
 */
static bool unmap_tracked(VfiContainer *c, uint64_t iova, uint64_t last,
                          const VfiDirtyLog *log, uint64_t *done, GError **errp)
{
    uint64_t max = max_tracked(c) ? max_tracked(c) : UINT64_MAX, first = 0, end = 0;
    const VfiRange *m;
    VfiRangeIter it;
    bool in_run = false;

    *done = 0;
    for (m = vfi_range_tree_first(c->maps, iova, &it); m && m->iova <= last;
         m = vfi_range_iter_next(&it)) {
        if (in_run && m->last - first >= max) {
            if (!unmap_run(c, first, end, log, done, errp)) {
                return false;
            }
            in_run = false;
        }
        first = in_run ? first : m->iova;
        end = m->last;
        in_run = true;
    }
    return in_run ? unmap_run(c, first, end, log, done, errp) :
           unmap_one(c, iova, last - iova + 1, NULL, done, errp);
}

bool vfi_type1_ops_unmap(VfiContainer *c, uint64_t iova, uint64_t size, const VfiDirtyLog *log,
                         uint64_t *done, GError **errp)
{
    g_autoptr(GError) err = NULL;
    uint64_t unmapped = 0;
    VfiRange first, lastm;
    bool ok;

    if (iova == 0 && size == 0) {
        /* everything: from the first mapping to the end of the last */
        if (!vfi_container_mapped_next(c, 0, &first)) {
            if (done) {
                *done = 0;
            }
            return true;
        }
        lastm = *(const VfiRange *)vfi_range_tree_nth(c->maps, vfi_range_tree_len(c->maps) - 1,
                                                      NULL);
        iova = first.iova;
        size = lastm.last - iova + 1;
        log = NULL;
    }
    /* with a log while tracking, the unmap's own read is the exact one (the
     * read before it left the IOMMU's bits to it) */
    ok = c->type1->tracking && log ?
         unmap_tracked(c, iova, iova + (size - 1), log, &unmapped, &err) :
         unmap_one(c, iova, size, NULL, &unmapped, &err);
    if (done) {
        *done = unmapped;
    }
    if (!ok && !g_error_matches(err, VFI_KERNEL_ERROR, ENOENT)) {
        g_propagate_error(errp, g_steal_pointer(&err));
        return false;
    }
    /* done, or not mapped in the kernel (ENOENT: the record forgets it):
     * the mmaps of the range go */
    vfi_type1_drop_mmaps(c, iova, iova + (size - 1));
    if (!ok) {
        g_propagate_error(errp, g_steal_pointer(&err));
    }
    return ok;
}

/* ---- dirty tracking ------------------------------------------------------------- */

/* Each read covers one whole mapping: the largest must fit the kernel's
 * bitmap limit (both figures named when it does not). */
static bool check_limit(const VfiContainer *c, GError **errp)
{
    uint64_t largest = 0;
    VfiRangeIter it;

    for (const VfiRange *m = vfi_range_tree_nth(c->maps, 0, &it); m;
         m = vfi_range_iter_next(&it)) {
        largest = MAX(largest, m->last - m->iova + 1);
    }
    return vfi_type1_container_check_guest_size(c, largest, errp);
}

bool vfi_type1_ops_tracking(VfiContainer *c, bool on, GError **errp)
{
    VfiType1Container *t = c->type1;

    if (!vfi_type1_iommu_set(t->t1)) {
        return refuse(c, on ? "dirty tracking start" : "dirty tracking stop",
                      VFI_ERROR_INVALID_ARGUMENT, errp, "no device attached");
    }
    if (t->tracking == on) {
        return true;
    }
    if ((on && !check_limit(c, errp)) || !vfi_type1_dirty_tracking(t->t1, on, errp)) {
        return false;
    }
    t->tracking = on;
    trace_vfi_type1_container_tracking(vfi_type1_get_fd(t->t1), on);
    return true;
}

bool vfi_type1_ops_tracking_is_on(const VfiContainer *c)
{
    return c->type1->tracking;
}

/* The pages of mapping @m read outside [iova, last] (the read cleared them
 * in the kernel): kept in @c for the read of their pages (util/kept.h). */
static void keep_outside(VfiContainer *c, const VfiRange *m, const uint64_t *bits,
                         uint64_t iova, uint64_t last)
{
    uint64_t pages = (m->last - m->iova + 1) / VFI_TYPE1_PAGE;

    if (m->iova < iova) {
        vfi_kept_add(&c->kept, m->iova, VFI_TYPE1_PAGE, bits, 0,
                     (iova - m->iova) / VFI_TYPE1_PAGE);
    }
    if (m->last > last) {
        uint64_t from = (last + 1 - m->iova) / VFI_TYPE1_PAGE;

        vfi_kept_add(&c->kept, m->iova, VFI_TYPE1_PAGE, bits, from, pages - from);
    }
}

/* Read the whole mapping @m at 4 KiB (into the container's bitmap) and
 * fold it into @into (its own log); its pages outside [iova, last] kept. */
static bool read_mapping(VfiContainer *c, const VfiRange *m, const VfiDirtyLog *into,
                         uint64_t iova, uint64_t last, GError **errp)
{
    uint64_t size = m->last - m->iova + 1, pages = size / VFI_TYPE1_PAGE, bytes;
    uint64_t *bits = bits_reserve(c, pages, &bytes, errp);

    if (!bits || !vfi_type1_dirty_get(c->type1->t1, m->iova, size, VFI_TYPE1_PAGE, bits, bytes,
                                      errp)) {
        return false;
    }
    fold_span(bits, m->iova, pages, into, iova, last);
    keep_outside(c, m, bits, iova, last);
    return true;
}

bool vfi_type1_ops_read_dirty(VfiContainer *c, uint64_t iova, uint64_t size, uint64_t ps,
                              uint64_t *bits, GError **errp)
{
    /* @bits is byte-addressed (a zero-copy read starts at the log's byte of
     * @iova, as the kernel's bitmaps do): the view starts at its word, the
     * bits before @iova in it (the caller's) left as they are */
    unsigned skew = (unsigned)((uintptr_t)bits % 8) * 8;
    const VfiDirtyLog into = {
        .base_iova = iova - skew * ps, .page_size = ps,
        .bitmap = (uint64_t *)(void *)((uintptr_t)bits - skew / 8),
        .nr_pages = size / ps + skew,
    };
    uint64_t last = iova + (size - 1);
    VfiRangeIter it;

    for (const VfiRange *m = vfi_range_tree_overlap(c->maps, iova, last, &it);
         m && m->iova <= last; m = vfi_range_iter_next(&it)) {
        if (!read_mapping(c, m, &into, iova, last, errp)) {
            g_prefix_error(errp, "dirty read of type1 container fd %d: ",
                           vfi_type1_get_fd(c->type1->t1));
            return false;
        }
    }
    return true;
}

/* The largest mapping (bytes) one dirty read can cover; 0 before the
 * first device. */
static uint64_t max_tracked(const VfiContainer *c)
{
    const VfiType1Info *info = &c->type1->info;

    return info->has_migration ? info->max_dirty_bitmap_size * 8 * VFI_TYPE1_PAGE : 0;
}

bool vfi_type1_container_check_guest_size(const VfiContainer *c, uint64_t guest_bytes,
                                          GError **errp)
{
    const VfiType1Info *info = &c->type1->info;
    uint64_t max = max_tracked(c);
    int fd = vfi_type1_get_fd(c->type1->t1);

    if (guest_bytes <= max) {
        return true;
    }
    trace_vfi_type1_container_refused(fd, "guest size", "over the limit");
    g_set_error(errp, VFI_ERROR, VFI_ERROR_NOT_SUPPORTED,
                "type1 container fd %d: a guest of %" G_GUINT64_FORMAT " bytes is larger than "
                "the type1 dirty bitmap limit covers (%" G_GUINT64_FORMAT " bytes: a bitmap of "
                "at most %" G_GUINT64_FORMAT " bytes at 4 KiB pages)%s", fd, guest_bytes, max,
                info->max_dirty_bitmap_size,
                info->has_migration ? "" : "; the kernel has no migration capability");
    return false;
}
