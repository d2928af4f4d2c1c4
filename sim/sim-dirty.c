/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd kernel model: the dirty page store.
 *
 * Dirty state is one bit per 4 KiB IOVA page, kept in chunks of 1 GiB
 * (2^18 pages, 4096 64-bit words, 32 KiB) allocated the first time a page
 * of the chunk is dirtied. A report at 4 KiB granularity is a word-wise OR
 * of the stored words into the caller's bitmap (shifted when the range does
 * not start on a 64-page boundary); larger page sizes fold groups of bits.
 * Chunks with nothing dirty are skipped, so reading a large, mostly clean
 * range costs little.
 */
#include <string.h>

#include "sim-internal.h"

#define CHUNK_SHIFT 18                          /* pages per chunk: 2^18 */
#define CHUNK_PAGES (UINT64_C(1) << CHUNK_SHIFT)
#define CHUNK_WORDS (CHUNK_PAGES / 64)

typedef struct SimDirtyChunk {
    uint64_t index;             /* hash key: first page >> CHUNK_SHIFT */
    bool any;                   /* false: certainly nothing dirty */
    uint64_t words[CHUNK_WORDS];
} SimDirtyChunk;

struct SimDirty {
    GHashTable *chunks;         /* &chunk->index -> SimDirtyChunk (owned) */
};

SimDirty *sim_dirty_new(void)
{
    SimDirty *d = g_new0(SimDirty, 1);

    d->chunks = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
    return d;
}

void sim_dirty_free(SimDirty *d)
{
    if (!d) {
        return;
    }
    g_hash_table_destroy(d->chunks);
    g_free(d);
}

static SimDirtyChunk *chunk_get(const SimDirty *d, uint64_t index)
{
    return g_hash_table_lookup(d->chunks, &index);
}

static SimDirtyChunk *chunk_get_or_new(SimDirty *d, uint64_t index)
{
    SimDirtyChunk *c = chunk_get(d, index);

    if (!c) {
        c = g_new0(SimDirtyChunk, 1);
        c->index = index;
        g_hash_table_insert(d->chunks, &c->index, c);
    }
    return c;
}

/* The stored words and flags are read and cleared by dirty reads of one
 * HWPT that may run at once (sim-internal.h, VfiSim.readers; marks run
 * alone): every access is atomic, relaxed (two readers clearing the same
 * word at once may both report it: over-reporting, never a lost bit). */
static inline uint64_t wload(const uint64_t *w)
{
    return __atomic_load_n(w, __ATOMIC_RELAXED);
}

static inline void wstore(uint64_t *w, uint64_t v)
{
    __atomic_store_n(w, v, __ATOMIC_RELAXED);
}

static inline bool any_of(const SimDirtyChunk *c)
{
    return __atomic_load_n(&c->any, __ATOMIC_RELAXED);
}

static inline void set_any(SimDirtyChunk *c, bool v)
{
    __atomic_store_n(&c->any, v, __ATOMIC_RELAXED);
}

/* Mask of bits [lo, hi] of one word (0 <= lo <= hi <= 63). */
static inline uint64_t word_mask(unsigned lo, unsigned hi)
{
    uint64_t upper = hi == 63 ? ~UINT64_C(0) : (UINT64_C(1) << (hi + 1)) - 1;

    return upper & ~((UINT64_C(1) << lo) - 1);
}

/* Set or clear bits [lo, hi] (chunk-local page numbers) of @c. */
static void chunk_bits(SimDirtyChunk *c, uint64_t lo, uint64_t hi, bool set)
{
    uint64_t w;

    for (w = lo / 64; w <= hi / 64; w++) {
        unsigned b0 = w == lo / 64 ? lo % 64 : 0;
        unsigned b1 = w == hi / 64 ? hi % 64 : 63;
        uint64_t m = word_mask(b0, b1);

        if (set) {
            __atomic_fetch_or(&c->words[w], m, __ATOMIC_RELAXED);
        } else {
            __atomic_fetch_and(&c->words[w], ~m, __ATOMIC_RELAXED);
        }
    }
    if (set) {
        set_any(c, true);
    } else if (lo == 0 && hi == CHUNK_PAGES - 1) {
        set_any(c, false);
    }
}

/*
 * Call @fn for each existing chunk overlapping pages [first, last], with the
 * chunk-local page bounds. Walks the table instead of the index range when
 * the range spans more chunks than the table holds.
 */
typedef void (*ChunkFn)(SimDirtyChunk *c, uint64_t lo, uint64_t hi, void *opaque);

static void for_each_chunk(const SimDirty *d, uint64_t first, uint64_t last,
                           ChunkFn fn, void *opaque)
{
    uint64_t c0 = first >> CHUNK_SHIFT, c1 = last >> CHUNK_SHIFT;

    if (c1 - c0 >= g_hash_table_size(d->chunks)) {
        GHashTableIter it;
        gpointer value;

        g_hash_table_iter_init(&it, d->chunks);
        while (g_hash_table_iter_next(&it, NULL, &value)) {
            SimDirtyChunk *c = value;

            if (c->index < c0 || c->index > c1) {
                continue;
            }
            fn(c, c->index == c0 ? first % CHUNK_PAGES : 0,
               c->index == c1 ? last % CHUNK_PAGES : CHUNK_PAGES - 1, opaque);
        }
        return;
    }
    for (uint64_t i = c0; i <= c1; i++) {
        SimDirtyChunk *c = chunk_get(d, i);

        if (c) {
            fn(c, i == c0 ? first % CHUNK_PAGES : 0,
               i == c1 ? last % CHUNK_PAGES : CHUNK_PAGES - 1, opaque);
        }
    }
}

void sim_dirty_mark(SimDirty *d, uint64_t iova, uint64_t len)
{
    uint64_t first = iova >> SIM_PAGE_SHIFT;
    uint64_t last = (iova + len - 1) >> SIM_PAGE_SHIFT;

    for (uint64_t i = first >> CHUNK_SHIFT; i <= last >> CHUNK_SHIFT; i++) {
        SimDirtyChunk *c = chunk_get_or_new(d, i);

        chunk_bits(c, i == first >> CHUNK_SHIFT ? first % CHUNK_PAGES : 0,
                   i == last >> CHUNK_SHIFT ? last % CHUNK_PAGES : CHUNK_PAGES - 1, true);
    }
}

static void clear_fn(SimDirtyChunk *c, uint64_t lo, uint64_t hi, void *opaque)
{
    (void)opaque;
    if (any_of(c)) {
        chunk_bits(c, lo, hi, false);
    }
}

void sim_dirty_clear(SimDirty *d, uint64_t iova, uint64_t len)
{
    for_each_chunk(d, iova >> SIM_PAGE_SHIFT, (iova + len - 1) >> SIM_PAGE_SHIFT,
                   clear_fn, NULL);
}

void sim_dirty_clear_all(SimDirty *d)
{
    g_hash_table_remove_all(d->chunks);
}

bool sim_dirty_test(const SimDirty *d, uint64_t iova)
{
    uint64_t page = iova >> SIM_PAGE_SHIFT;
    SimDirtyChunk *c = chunk_get(d, page >> CHUNK_SHIFT);
    uint64_t bit = page % CHUNK_PAGES;

    return c && (wload(&c->words[bit / 64]) >> (bit % 64)) & 1;
}

typedef struct ReportCtx {
    uint64_t first;             /* first 4 KiB page of the report */
    unsigned shift;             /* log2(page_size / 4096) */
    uint8_t *bitmap;            /* any byte address: no alignment required */
    bool clear;
} ReportCtx;

/* OR @v into 64-bit word @idx of a bitmap that may be at any byte address
 * (the kernel accepts any user pointer). Only the words of the report are
 * touched: 0 .. DIV_ROUND_UP(npages, 64) - 1. */
static inline void out_or(uint8_t *bitmap, uint64_t idx, uint64_t v)
{
    uint64_t w;

    memcpy(&w, bitmap + idx * 8, sizeof(w));
    w |= v;
    memcpy(bitmap + idx * 8, &w, sizeof(w));
}

static inline void out_set(uint8_t *bitmap, uint64_t bit)
{
    out_or(bitmap, bit / 64, UINT64_C(1) << (bit % 64));
}

/* Report pages [lo, hi] of @c word by word, bit group by bit group. */
static void report_bits(SimDirtyChunk *c, uint64_t lo, uint64_t hi, ReportCtx *r)
{
    uint64_t base = c->index << CHUNK_SHIFT;

    for (uint64_t w = lo / 64; w <= hi / 64; w++) {
        unsigned b0 = w == lo / 64 ? lo % 64 : 0;
        unsigned b1 = w == hi / 64 ? hi % 64 : 63;
        uint64_t bits = wload(&c->words[w]) & word_mask(b0, b1);
        uint64_t page0 = base + w * 64;     /* page of bit 0 of this word */

        if (!bits) {
            continue;
        }
        if (r->shift == 0) {
            /* 4 KiB pages: the word lands at bit offset page0 - first. */
            if (page0 >= r->first) {
                uint64_t off = page0 - r->first;
                unsigned sh = off % 64;

                out_or(r->bitmap, off / 64, bits << sh);
                if (sh && bits >> (64 - sh)) {
                    out_or(r->bitmap, off / 64 + 1, bits >> (64 - sh));
                }
            } else {
                /* only the first word of the report: bits below first are masked */
                out_or(r->bitmap, 0, bits >> (r->first - page0));
            }
            continue;
        }
        /* Larger pages: one output bit per group of 2^shift stored bits. */
        while (bits) {
            unsigned b = __builtin_ctzll(bits);
            uint64_t page = page0 + b;
            uint64_t group_last = page | ((UINT64_C(1) << r->shift) - 1);

            out_set(r->bitmap, (page - r->first) >> r->shift);
            if (group_last >= page0 + 63) {
                /* the group covers the rest of this word and maybe more */
                uint64_t next_w = (group_last - base) / 64;

                if (next_w > w) {
                    w = next_w;     /* the loop's w++ moves past the group */
                }
                break;
            }
            bits &= ~word_mask(b, (unsigned)(group_last - page0));
        }
    }
}

/*
 * OR @n whole stored words into the output at bit offset @off (the bit of
 * the first word's page 0), zeroing them when @clear: the bulk of a 4 KiB
 * report, one load and one or two read-modify-writes per word.
 */
static void report_words(uint8_t *bitmap, uint64_t off, uint64_t *words, uint64_t n,
                         bool clear)
{
    unsigned sh = off % 64;
    uint8_t *out = bitmap + off / 64 * 8;

    if (!sh) {
        for (uint64_t k = 0; k < n; k++) {
            uint64_t v = wload(&words[k]);

            if (clear && v) {
                wstore(&words[k], 0);
            }
            out_or(out, k, v);
        }
        return;
    }
    /* every bit of these words is inside the report, so is word k + 1 */
    for (uint64_t k = 0; k < n; k++) {
        uint64_t v = wload(&words[k]);

        if (clear && v) {
            wstore(&words[k], 0);
        }
        out_or(out, k, v << sh);
        out_or(out, k + 1, v >> (64 - sh));
    }
}

/*
 * The words strictly between the edge words of [lo, hi] are whole and lie
 * inside the report: at 4 KiB they are ORed in word by word; when a page
 * spans whole words (page_size >= 256 KiB) a non-zero word sets its page's
 * bit. Edge words, and page sizes of 8-128 KiB, go bit group by bit group.
 * Clearing is done on the way (edges with masks): same result as reporting
 * everything first and clearing [lo, hi] afterwards.
 */
static void report_fn(SimDirtyChunk *c, uint64_t lo, uint64_t hi, void *opaque)
{
    ReportCtx *r = opaque;
    uint64_t base = c->index << CHUNK_SHIFT;
    uint64_t w0 = lo / 64, w1 = hi / 64;

    if (!any_of(c)) {
        return;
    }
    if (r->shift != 0 && r->shift < 6) {
        report_bits(c, lo, hi, r);
        if (r->clear) {
            chunk_bits(c, lo, hi, false);
        }
        return;
    }
    report_bits(c, lo, MIN(hi, w0 * 64 + 63), r);
    if (w1 > w0) {
        report_bits(c, w1 * 64, hi, r);
    }
    if (w1 > w0 + 1) {
        uint64_t *words = &c->words[w0 + 1];
        uint64_t n = w1 - w0 - 1;
        uint64_t page0 = base + (w0 + 1) * 64;      /* > lo's page >= r->first */

        if (r->shift == 0) {
            report_words(r->bitmap, page0 - r->first, words, n, r->clear);
        } else {
            for (uint64_t k = 0; k < n; k++) {
                if (wload(&words[k])) {
                    out_set(r->bitmap, (page0 + k * 64 - r->first) >> r->shift);
                    if (r->clear) {
                        wstore(&words[k], 0);
                    }
                }
            }
        }
    }
    if (r->clear) {
        chunk_bits(c, lo, MIN(hi, w0 * 64 + 63), false);
        if (w1 > w0) {
            chunk_bits(c, w1 * 64, hi, false);
        }
        if (lo == 0 && hi == CHUNK_PAGES - 1) {
            set_any(c, false);
        }
    }
}

/* Pages smaller than the store's 4 KiB: @iova and @len are 4 KiB aligned
 * (the IOAS alignment); a dirty 4 KiB page sets all its sub-page bits. */
static void report_small_pages(SimDirty *d, uint64_t iova, uint64_t len, uint64_t page_size,
                               void *bitmap, bool clear)
{
    uint64_t per = SIM_PAGE_SIZE / page_size;

    for (uint64_t off = 0; off < len; off += SIM_PAGE_SIZE) {
        if (sim_dirty_test(d, iova + off)) {
            uint64_t first = off / page_size;

            for (uint64_t b = first; b < first + per; b++) {
                out_set(bitmap, b);
            }
        }
    }
    if (clear) {
        sim_dirty_clear(d, iova, len);
    }
}

void sim_dirty_report(SimDirty *d, uint64_t iova, uint64_t len, uint64_t page_size,
                      void *bitmap, bool clear)
{
    if (page_size < SIM_PAGE_SIZE) {
        report_small_pages(d, iova, len, page_size, bitmap, clear);
        return;
    }
    ReportCtx r = {
        .first = iova >> SIM_PAGE_SHIFT,
        .shift = (unsigned)(__builtin_ctzll(page_size) - SIM_PAGE_SHIFT),
        .bitmap = bitmap,
        .clear = clear,
    };

    for_each_chunk(d, r.first, (iova + len - 1) >> SIM_PAGE_SHIFT, report_fn, &r);
}

/* The first set bit of chunk-local pages [lo, hi] of @c, or -1. */
static int64_t chunk_next(const SimDirtyChunk *c, uint64_t lo, uint64_t hi)
{
    for (uint64_t w = lo / 64; w <= hi / 64; w++) {
        unsigned b0 = w == lo / 64 ? lo % 64 : 0;
        unsigned b1 = w == hi / 64 ? hi % 64 : 63;
        uint64_t bits = wload(&c->words[w]) & word_mask(b0, b1);

        if (bits) {
            return (int64_t)(w * 64 + (uint64_t)__builtin_ctzll(bits));
        }
    }
    return -1;
}

bool sim_dirty_next(const SimDirty *d, uint64_t iova, uint64_t last, uint64_t *found)
{
    uint64_t first = iova >> SIM_PAGE_SHIFT, lastp = last >> SIM_PAGE_SHIFT;

    for (uint64_t i = first >> CHUNK_SHIFT; i <= lastp >> CHUNK_SHIFT; i++) {
        SimDirtyChunk *c = chunk_get(d, i);
        int64_t b;

        if (!c || !any_of(c)) {
            continue;
        }
        b = chunk_next(c, i == first >> CHUNK_SHIFT ? first % CHUNK_PAGES : 0,
                       i == lastp >> CHUNK_SHIFT ? lastp % CHUNK_PAGES : CHUNK_PAGES - 1);
        if (b >= 0) {
            *found = ((i << CHUNK_SHIFT) + (uint64_t)b) << SIM_PAGE_SHIFT;
            return true;
        }
    }
    return false;
}
