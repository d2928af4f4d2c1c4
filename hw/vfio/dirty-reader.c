/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the dirty reader (docs/dirty-tracking.md, "Reading dirty
 * bits"): read every source (HWPTs with IOMMU_HWPT_GET_DIRTY_BITMAP, devices
 * with DMA_LOGGING_REPORT) into the caller's log, bits ORed.
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
 * Containers own one (dirty.c); VMMs and the real-kernel tests use it on
 * HWPTs of their own through the public API.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <linux/iommufd.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/iommufd.h"
#include "vfio-iommufd/dirty.h"
#include "container-internal.h"
#include "dirty-reader-internal.h"
#include "trace.h"

/* DMA_LOGGING_REPORT refuses pages below 4 KiB (EINVAL in the vfio core). */
#define DMA_LOGGING_MIN_PAGE UINT64_C(4096)

struct VfiDirtyReader {
    VfiIommufd *be;       /* not owned */
    GArray *hwpts;            /* uint32_t, order added */
    GPtrArray *devices;       /* VfiDevice *, order added, not owned */
    uint32_t ioas_id;         /* for messages and traces, 0: not known */
    uint64_t alignment;       /* minimum log page size (>= 1) */
    char label[32];           /* "ioas N" or "reader" */
    uint64_t *scratch;        /* for ranges not byte-aligned in the log */
    size_t scratch_size;
    VfiDirtyStats stats;
};

static bool check_reader(const VfiDirtyReader *r, const char *what, GError **errp)
{
    if (!r) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: no dirty reader given", what);
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
    r->devices = g_ptr_array_new();
    r->alignment = 1;
    g_strlcpy(r->label, "reader", sizeof(r->label));
    trace_vfi_dirty_reader_new(r, be);
    return r;
}

void vfi_dirty_reader_free(VfiDirtyReader *r)
{
    if (!r) {
        return;
    }
    trace_vfi_dirty_reader_free(r, r->ioas_id, r->hwpts->len, r->devices->len,
                                 r->scratch_size);
    g_array_free(r->hwpts, true);
    g_ptr_array_free(r->devices, true);
    g_free(r->scratch);
    g_free(r);
}

void vfi_dirty_reader_set_ioas(VfiDirtyReader *r, uint32_t ioas_id, uint64_t alignment)
{
    if (r->ioas_id != ioas_id) {
        r->ioas_id = ioas_id;
        g_snprintf(r->label, sizeof(r->label), "ioas %u", ioas_id);
    }
    r->alignment = alignment ? alignment : 1;
}

bool vfi_dirty_reader_set_iova_alignment(VfiDirtyReader *r, uint64_t alignment,
                                          GError **errp)
{
    if (!check_reader(r, "dirty reader alignment", errp)) {
        return false;
    }
    if (alignment == 0 || (alignment & (alignment - 1))) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "dirty reader alignment (%s): 0x%" PRIx64 " is not a power of two",
                    r->label, alignment);
        return false;
    }
    r->alignment = alignment;
    return true;
}

/* ---- sources ------------------------------------------------------------- */

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

    if (!check_reader(r, "dirty reader: add hwpt", errp)) {
        return false;
    }
    if (hwpt_id == 0 || find_hwpt(r, hwpt_id, &idx)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "dirty reader (%s): add hwpt %u: %s", r->label, hwpt_id,
                    hwpt_id ? "already a source" : "not a valid object id");
        return false;
    }
    g_array_append_val(r->hwpts, hwpt_id);
    trace_vfi_dirty_reader_source(r, r->ioas_id, "hwpt", hwpt_id, "", true);
    return true;
}

bool vfi_dirty_reader_remove_hwpt(VfiDirtyReader *r, uint32_t hwpt_id, GError **errp)
{
    guint idx;

    if (!check_reader(r, "dirty reader: remove hwpt", errp)) {
        return false;
    }
    if (!find_hwpt(r, hwpt_id, &idx)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_NOT_FOUND,
                    "dirty reader (%s): hwpt %u is not one of its sources", r->label,
                    hwpt_id);
        return false;
    }
    g_array_remove_index(r->hwpts, idx);
    trace_vfi_dirty_reader_source(r, r->ioas_id, "hwpt", hwpt_id, "", false);
    return true;
}

unsigned vfi_dirty_reader_hwpt_count(const VfiDirtyReader *r)
{
    return r ? r->hwpts->len : 0;
}

void vfi_dirty_reader_add_device(VfiDirtyReader *r, VfiDevice *dev)
{
    guint idx;

    if (g_ptr_array_find(r->devices, dev, &idx)) {
        return;
    }
    g_ptr_array_add(r->devices, dev);
    trace_vfi_dirty_reader_source(r, r->ioas_id, "device", vfi_device_get_devid(dev),
                                   vfi_device_get_name(dev), true);
}

void vfi_dirty_reader_remove_device(VfiDirtyReader *r, VfiDevice *dev)
{
    if (g_ptr_array_remove(r->devices, dev)) {
        trace_vfi_dirty_reader_source(r, r->ioas_id, "device", vfi_device_get_devid(dev),
                                       vfi_device_get_name(dev), false);
    }
}

void vfi_dirty_reader_get_stats(const VfiDirtyReader *r, VfiDirtyStats *st)
{
    if (!st) {
        return;
    }
    memset(st, 0, sizeof(*st));
    if (r) {
        *st = r->stats;
    }
}

/* ---- checks -------------------------------------------------------------- */

bool vfi_dirty_reader_check_log(const VfiDirtyReader *r, const VfiDirtyLog *log,
                                 const char *what, GError **errp)
{
    const char *why = NULL;
    uint64_t ps;

    if (!log) {
        why = "no dirty log given";
    } else if (!log->bitmap) {
        why = "the log's bitmap is NULL";
    } else if (log->nr_pages == 0) {
        why = "the log has no page";
    } else if ((ps = log->page_size) == 0 || (ps & (ps - 1))) {
        why = "the log's page size is not a power of two";
    } else if (ps < r->alignment) {
        why = "the log's page size is below the IOVA alignment of the IOAS";
    } else if (ps < DMA_LOGGING_MIN_PAGE && r->devices->len) {
        why = "the log's page size is below 4 KiB, which DMA_LOGGING_REPORT refuses, "
              "and a device's DMA logging is a source";
    } else if (log->base_iova & (ps - 1)) {
        why = "the log's base IOVA is not aligned to its page size";
    } else if (log->nr_pages - 1 > (UINT64_MAX - log->base_iova) / ps) {
        why = "the log's span overflows";
    }
    if (why) {
        trace_vfi_dirty_refused(r->ioas_id, what, why);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s (%s): %s (base 0x%" PRIx64 " page size 0x%" PRIx64
                    " pages %" PRIu64 ")", what, r->label, why,
                    log ? log->base_iova : 0, log ? log->page_size : 0,
                    log ? log->nr_pages : 0);
        return false;
    }
    return true;
}

/* ---- reading ------------------------------------------------------------- */

/* Read [iova, iova + size) from every source of @r into @data. */
static bool read_sources(VfiDirtyReader *r, uint64_t iova, uint64_t size, uint64_t ps,
                         void *data, uint32_t flags, bool zero_copy, GError **errp)
{
    uint64_t kflags = (flags & VFI_DIRTY_QUERY_NO_CLEAR) ?
                      IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR : 0;
    uint64_t *counter = zero_copy ? &r->stats.zero_copy_reads : &r->stats.scratch_reads;

    for (guint i = 0; i < r->hwpts->len; i++) {
        uint32_t id = g_array_index(r->hwpts, uint32_t, i);
        g_autoptr(GError) err = NULL;

        (*counter)++;
        if (!vfi_iommufd_hwpt_get_dirty_bitmap(r->be, id, iova, size, ps, data, kflags,
                                              &err)) {
            /* The IOMMU drivers refuse to read a domain not tracking (EINVAL):
             * containers never read one, a VMM's own reader may. */
            bool einval = g_error_matches(err, VFI_KERNEL_ERROR, EINVAL);

            g_propagate_prefixed_error(errp, g_steal_pointer(&err),
                                       "dirty query of %s hwpt %u%s: ", r->label, id,
                                       einval ? " (EINVAL: its dirty tracking is off, or "
                                       "the range is not aligned to the IOAS)" : "");
            return false;
        }
    }
    for (guint i = 0; i < r->devices->len; i++) {
        (*counter)++;
        if (!vfi_device_dma_logging_report(g_ptr_array_index(r->devices, i), iova, size, ps,
                                            data, errp)) {
            g_prefix_error(errp, "dirty query of %s: ", r->label);
            return false;
        }
    }
    return true;
}

static void scratch_reserve(VfiDirtyReader *r, size_t bytes)
{
    if (bytes <= r->scratch_size) {
        return;
    }
    trace_vfi_dirty_scratch_grow(r->ioas_id, r->scratch_size, bytes);
    g_free(r->scratch);
    r->scratch = g_malloc(bytes);
    r->scratch_size = bytes;
    r->stats.scratch_grows++;
    r->stats.scratch_bytes = bytes;
}

/* OR @n bits of @src (bit 0 first) into @dst from bit @bit on, word-wise. */
static void or_shifted(uint64_t *dst, uint64_t bit, const uint64_t *src, uint64_t n)
{
    uint64_t words = (n + 63) / 64;
    unsigned sh = bit % 64;

    for (uint64_t w = 0; w < words; w++) {
        uint64_t v = src[w];
        uint64_t idx = bit / 64 + w;

        if (w == words - 1 && n % 64) {
            v &= (UINT64_C(1) << (n % 64)) - 1;
        }
        if (!v) {
            continue;
        }
        dst[idx] |= v << sh;
        if (sh && (v >> (64 - sh))) {
            dst[idx + 1] |= v >> (64 - sh);
        }
    }
}

bool vfi_dirty_reader_read(VfiDirtyReader *r, uint64_t iova, uint64_t size,
                            const VfiDirtyLog *log, uint32_t flags, GError **errp)
{
    uint64_t ps = log->page_size;
    uint64_t bit = (iova - log->base_iova) / ps;
    uint64_t n = size / ps;
    bool ok;

    if (r->hwpts->len == 0 && r->devices->len == 0) {
        return true;
    }
    if (bit % 8 == 0) {
        /* Zero copy: the kernel ORs into the log itself. It may read and
         * write DIV_ROUND_UP(n, 64) whole words from the start byte on: only
         * as many as the log holds from there; the rest (less than 64
         * pages) goes through the scratch buffer. */
        uint64_t log_bytes = (log->nr_pages + 63) / 64 * 8;
        uint64_t avail = (log_bytes - bit / 8) / 8 * 64;
        uint64_t zc = MIN(n, avail);

        trace_vfi_dirty_query(r->ioas_id, iova, zc * ps, ps, bit, true, flags);
        if (zc && !read_sources(r, iova, zc * ps, ps, (uint8_t *)log->bitmap + bit / 8,
                                flags, true, errp)) {
            return false;
        }
        if (zc == n) {
            return true;
        }
        iova += zc * ps;
        bit += zc;
        n -= zc;
    }
    trace_vfi_dirty_query(r->ioas_id, iova, n * ps, ps, bit, false, flags);
    scratch_reserve(r, (n + 63) / 64 * 8);
    memset(r->scratch, 0, (n + 63) / 64 * 8);
    ok = read_sources(r, iova, n * ps, ps, r->scratch, flags, false, errp);
    /* Also after a failure: bits already read (and cleared) must not be lost. */
    or_shifted(log->bitmap, bit, r->scratch, n);
    return ok;
}

bool vfi_dirty_reader_query(VfiDirtyReader *r, uint64_t iova, uint64_t size,
                             const VfiDirtyLog *log, uint32_t flags, GError **errp)
{
    const char *what = "dirty query";

    if (!check_reader(r, what, errp) || !vfi_dirty_reader_check_log(r, log, what, errp)) {
        return false;
    }
    if (flags & ~(uint32_t)VFI_DIRTY_QUERY_NO_CLEAR) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s (%s): unknown flags 0x%x", what, r->label, flags);
        return false;
    }
    if (!vfi_check_range_basic(what, iova, size, errp)) {
        return false;
    }
    if ((iova | size) & (log->page_size - 1)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s (%s): iova 0x%" PRIx64 " size 0x%" PRIx64 " not aligned to "
                    "the log's page size 0x%" PRIx64, what, r->label, iova, size,
                    log->page_size);
        return false;
    }
    if (iova < log->base_iova || iova + (size - 1) > vfi_dirty_log_last(log)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s (%s): [0x%" PRIx64 ", 0x%" PRIx64 "] is not inside the log's "
                    "span [0x%" PRIx64 ", 0x%" PRIx64 "]", what, r->label, iova,
                    iova + (size - 1), log->base_iova, vfi_dirty_log_last(log));
        return false;
    }
    return vfi_dirty_reader_read(r, iova, size, log, flags, errp);
}
