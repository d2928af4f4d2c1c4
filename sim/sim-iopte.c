/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd kernel model: IOPTEs and kernel-shaped dirty reads.
 *
 * With IOPTE sizes (vfi_sim_set_iopte_sizes()), a HWPT's view of each IOAS
 * mapping is a run of IOPTEs: from the mapping's start, greedily the
 * largest allowed size to which the IOVA and the user address are aligned
 * and that fits in the rest of the mapping. The dirty store keeps its 4 KiB
 * bits but only ever holds whole IOPTEs: a write marks every IOPTE it
 * touches, a clearing read clears whole IOPTEs.
 *
 * A read reports each dirty IOPTE from its start for its whole size through
 * a model of the kernel's iova_bitmap_set() (drivers/iommu/iommufd/
 * iova_bitmap.c): the bits go into the user pages the kernel would have
 * pinned, which reach past the range's last word. This is what Linux 7.3's
 * generic page table does (drivers/iommu/generic_pt/iommu_pt.h,
 * record_dirty()).
 *
 * Two ways to compute the same answer (VfiSim.dirty_cost): FAST finds the
 * dirty pages word by word in the store; KERNEL visits every IOPTE of the
 * range, one test-and-clear each (every 4 KiB page without IOPTE sizes), as
 * a page-table walk does.
 */
#include <errno.h>
#include <string.h>

#include "sim-internal.h"
#include "trace.h"

/* The kernel's PAGE_SIZE (x86) for the pinned bitmap pages, and the most
 * pages iova_bitmap_get() pins at once (one page of struct page pointers). */
#define USER_PAGE UINT64_C(4096)
#define USER_PAGE_BITS (USER_PAGE * 8)
#define MAX_PINNED (USER_PAGE / 8)

/* ---- IOPTE geometry ------------------------------------------------------ */

/*
 * The IOPTE of mapping @m that holds @x. Greedy from the mapping's start
 * with power-of-two sizes, the IOPTEs are exactly the largest aligned blocks
 * that lie inside the mapping: a size fits the user address too when it
 * divides user_va - iova. So the IOPTE holding @x is the largest allowed
 * block around @x inside the mapping.
 */
static void iopte_at(const SimMapping *m, uint64_t sizes, uint64_t x, uint64_t *base,
                     uint64_t *size)
{
    uint64_t delta = m->user_va - m->iova;
    uint64_t cap = delta ? UINT64_C(1) << __builtin_ctzll(delta) : 0;

    for (int bit = 63 - __builtin_clzll(sizes); bit >= SIM_PAGE_SHIFT; bit--) {
        uint64_t s = UINT64_C(1) << bit;
        uint64_t b = x & ~(s - 1);

        if (!(sizes & s) || (cap && s > cap)) {
            continue;
        }
        if (b >= m->iova && b + (s - 1) <= m->last) {
            *base = b;
            *size = s;
            return;
        }
    }
    /* 4096 is in every bitmap and every mapping of a domain is 4 KiB
     * aligned: not reached */
    *base = x & ~(SIM_PAGE_SIZE - 1);
    *size = SIM_PAGE_SIZE;
}

void sim_hwpt_mark(SimObj *hwpt, uint64_t iova, uint64_t len)
{
    uint64_t last = iova + len - 1;

    if (!hwpt->iopte_sizes) {
        sim_dirty_mark(hwpt->dirty, iova, len);
        return;
    }
    SIM_MAPS_FOREACH_FROM(m, hwpt->ioas->maps, iova) {
        uint64_t b0, s0, b1, s1;

        if (m->iova > last) {
            break;
        }
        iopte_at(m, hwpt->iopte_sizes, MAX(iova, m->iova), &b0, &s0);
        iopte_at(m, hwpt->iopte_sizes, MIN(last, m->last), &b1, &s1);
        sim_dirty_mark(hwpt->dirty, b0, b1 + s1 - b0);
        trace_vfi_sim_iopte_mark(hwpt->id, iova, len, b0, b1 + s1 - b0);
    }
}

/* ---- the user bitmap, as iova_bitmap_set() writes it ----------------------- */

typedef struct BitmapWriter {
    uint64_t iova;              /* bit 0 */
    uint64_t last;              /* the range's last IOVA */
    unsigned pgshift;
    uint8_t *data;
    uint64_t total;             /* bytes of the range's bits */
    /* the pinned window (iova_bitmap_get()); npages 0: none */
    uint64_t npages;
    uint8_t *pages;             /* start of the first pinned page */
    uint64_t pgoff;             /* offset of the window's first byte in it */
    uint64_t map_iova, map_last;    /* IOVAs the window covers, capped at last */
} BitmapWriter;

/*
 * Pin the window starting at the byte of @iova (iova_bitmap_advance_to()):
 * as many pages as the rest of the bitmap needs, one more when that byte is
 * not page-aligned, at most MAX_PINNED. The model assumes every user page
 * can be pinned. Returns false for an IOVA outside the range's bits.
 */
static bool writer_pin(BitmapWriter *w, uint64_t iova)
{
    uint64_t byte, rem, bits;
    uintptr_t addr;

    if (iova < w->iova) {
        return false;           /* the kernel's index wraps: out of bounds */
    }
    byte = ((iova - w->iova) >> w->pgshift) / 8;
    if (byte >= w->total) {
        return false;
    }
    addr = (uintptr_t)(w->data + byte);
    w->pgoff = addr % USER_PAGE;
    w->pages = (uint8_t *)(addr - w->pgoff);
    w->npages = MIN((w->total - byte + USER_PAGE - 1) / USER_PAGE + (w->pgoff != 0),
                    MAX_PINNED);
    w->map_iova = w->iova + ((byte * 8) << w->pgshift);
    rem = MIN(w->total - byte, w->npages * USER_PAGE - w->pgoff);
    bits = rem * 8;
    w->map_last = bits > ((w->last - w->map_iova) >> w->pgshift) ?
                  w->last : w->map_iova + (bits << w->pgshift) - 1;
    return true;
}

/* Set bits [off, off + n) of @p (little-endian bit order, as bitmap_set()). */
static void set_bits(uint8_t *p, uint64_t off, uint64_t n)
{
    while (n && off % 8) {
        p[off / 8] |= (uint8_t)(1u << (off % 8));
        off++;
        n--;
    }
    if (n >= 8) {
        memset(p + off / 8, 0xff, n / 8);
        off += n / 8 * 8;
        n %= 8;
    }
    while (n) {
        p[off / 8] |= (uint8_t)(1u << (off % 8));
        off++;
        n--;
    }
}

/* iova_bitmap_set(): the bits of [iova, iova + len) that fall into pinned
 * pages, re-pinning when they run past them; the rest is dropped. */
static void writer_set(BitmapWriter *w, uint64_t iova, uint64_t len)
{
    for (;;) {
        uint64_t cur, lastbit;
        bool again = false;

        if (!(w->npages && iova >= w->map_iova && iova + (len - 1) <= w->map_last) &&
            !writer_pin(w, iova)) {
            return;
        }
        cur = ((iova - w->map_iova) >> w->pgshift) + w->pgoff * 8;
        lastbit = ((iova + (len - 1) - w->map_iova) >> w->pgshift) + w->pgoff * 8;
        while (cur <= lastbit) {
            uint64_t page = cur / USER_PAGE_BITS, off = cur % USER_PAGE_BITS;
            uint64_t n = MIN(USER_PAGE_BITS - off, lastbit - cur + 1);

            if (page >= w->npages) {
                /* the kernel's arithmetic, wrapping included */
                uint64_t left = (lastbit - cur + 1) << w->pgshift;

                iova += len - left;
                len = left;
                again = true;
                break;
            }
            set_bits(w->pages + page * USER_PAGE, off, n);
            cur += n;
        }
        if (!again) {
            return;
        }
    }
}

/* ---- reads ------------------------------------------------------------------ */

typedef struct DirtyRead {
    SimObj *hwpt;
    uint64_t iova, last;
    bool clear;
    BitmapWriter w;
    uint64_t visited;           /* entries looked at */
    uint64_t dirty;             /* dirty IOPTEs (pages) reported or dropped */
} DirtyRead;

/* One dirty IOPTE [b, b + s): record it, clear it. */
static void read_one(DirtyRead *r, uint64_t b, uint64_t s)
{
    r->dirty++;
    if (b < r->iova) {
        trace_vfi_sim_iopte_edge(r->hwpt->id, b, s, "starts before the read: not reported",
                                 r->clear);
    } else if (b + (s - 1) > r->last) {
        trace_vfi_sim_iopte_edge(r->hwpt->id, b, s,
                                 "ends past the read: bits set past it into the pinned pages",
                                 r->clear);
    }
    writer_set(&r->w, b, s);
    if (r->clear) {
        sim_dirty_clear(r->hwpt->dirty, b, s);
    }
}

/* The dirty IOPTEs of [lo, hi] inside mapping @m, found in the store. */
static void read_piece_fast(DirtyRead *r, const SimMapping *m, uint64_t lo, uint64_t hi)
{
    uint64_t x, b, s;

    while (sim_dirty_next(r->hwpt->dirty, lo, hi, &x)) {
        r->visited++;
        iopte_at(m, r->hwpt->iopte_sizes, x, &b, &s);
        read_one(r, b, s);
        if (b + (s - 1) >= hi) {
            return;
        }
        lo = b + s;
    }
}

/* Every IOPTE of [lo, hi] inside mapping @m, one test-and-clear each. */
static void read_piece_kernel(DirtyRead *r, const SimMapping *m, uint64_t lo, uint64_t hi)
{
    uint64_t b, s;

    for (;;) {
        iopte_at(m, r->hwpt->iopte_sizes, lo, &b, &s);
        r->visited++;
        if (sim_dirty_test(r->hwpt->dirty, b)) {
            read_one(r, b, s);
        }
        if (b + (s - 1) >= hi) {
            return;
        }
        lo = b + s;
    }
}

static void read_ioptes(DirtyRead *r, bool kernel)
{
    SIM_MAPS_FOREACH_FROM(m, r->hwpt->ioas->maps, r->iova) {
        uint64_t lo = MAX(r->iova, m->iova), hi = MIN(r->last, m->last);

        if (m->iova > r->last) {
            break;
        }
        if (kernel) {
            read_piece_kernel(r, m, lo, hi);
        } else {
            read_piece_fast(r, m, lo, hi);
        }
    }
}

/* Without IOPTE sizes, the kernel's way: every 4 KiB page of the range. */
static void read_pages_kernel(DirtyRead *r)
{
    for (uint64_t p = r->iova;; p += SIM_PAGE_SIZE) {
        r->visited++;
        if (sim_dirty_test(r->hwpt->dirty, p)) {
            read_one(r, p, SIM_PAGE_SIZE);
        }
        if (p + (SIM_PAGE_SIZE - 1) >= r->last) {
            return;
        }
    }
}

int sim_hwpt_read_dirty(SimObj *hwpt, uint64_t iova, uint64_t len, uint64_t page_size,
                        void *data, bool no_clear)
{
    bool kernel = hwpt->ctx->sim->dirty_cost == VFI_SIM_DIRTY_COST_KERNEL;
    unsigned pgshift = (unsigned)__builtin_ctzll(page_size);
    DirtyRead r = {
        .hwpt = hwpt, .iova = iova, .last = iova + (len - 1), .clear = !no_clear,
        .w = {
            .iova = iova, .last = iova + (len - 1), .pgshift = pgshift, .data = data,
            .total = (((len - 1) >> pgshift) / 8) + 1,
        },
    };

    if (!hwpt->iopte_sizes && !kernel) {
        sim_dirty_report(hwpt->dirty, iova, len, page_size, data, !no_clear);
        return 0;
    }
    if (!hwpt->iopte_sizes) {
        read_pages_kernel(&r);
    } else {
        uint64_t mapped = sim_ioas_contig_len(hwpt->ioas, iova, len);

        if (mapped < len) {
            /* __iommu_read_and_clear_dirty() stops at the hole with -EINVAL,
             * which iommu_read_and_clear_dirty() drops: the call succeeds */
            trace_vfi_sim_dirty_hole(hwpt->id, iova, len, mapped);
            r.last = iova + mapped - 1;
        }
        if (mapped) {
            read_ioptes(&r, kernel);
        }
    }
    trace_vfi_sim_dirty_walk(hwpt->id, kernel ? "kernel" : "fast", r.visited, r.dirty);
    return 0;
}
