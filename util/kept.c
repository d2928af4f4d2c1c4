/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-iommufd: kept dirty pages (util/kept.h). */
#include <string.h>

#include "util/kept.h"

static bool bit_at(const uint64_t *bits, uint64_t b)
{
    return (bits[b / 64] >> (b % 64)) & 1;
}

void vfi_kept_add(GArray **kept, uint64_t iova, uint64_t ps, const uint64_t *bits,
                  uint64_t first, uint64_t n)
{
    uint64_t b = first, end = first + n;

    while (b < end) {
        uint64_t run;

        if (!bits[b / 64] && b % 64 == 0 && end - b >= 64) {
            b += 64;            /* a clean word */
            continue;
        }
        if (!bit_at(bits, b)) {
            b++;
            continue;
        }
        for (run = b; run < end && bit_at(bits, run); run++) {
        }
        if (!*kept) {
            *kept = g_array_new(false, false, sizeof(VfiRange));
        }
        vfi_ranges_add_merged(*kept, iova + b * ps, iova + run * ps - 1);
        b = run;
    }
}

static void set_bit_at(void *bitmap, uint64_t p)
{
    uint8_t *w = (uint8_t *)bitmap + p / 64 * 8;
    uint64_t v;

    memcpy(&v, w, sizeof(v));
    v |= UINT64_C(1) << (p % 64);
    memcpy(w, &v, sizeof(v));
}

void vfi_kept_report(const GArray *kept, uint64_t iova, uint64_t last, uint64_t ps,
                     void *bitmap, uint64_t bitmap_iova)
{
    for (guint i = kept ? vfi_ranges_first(kept, iova) : 0; kept && i < kept->len; i++) {
        const VfiRange *r = &g_array_index(kept, VfiRange, i);

        if (r->iova > last) {
            break;
        }
        for (uint64_t p = (MAX(r->iova, iova) - bitmap_iova) / ps;
             p <= (MIN(r->last, last) - bitmap_iova) / ps; p++) {
            set_bit_at(bitmap, p);
        }
    }
}

void vfi_kept_forget(GArray *kept, uint64_t iova, uint64_t last)
{
    if (kept) {
        vfi_ranges_remove(kept, iova, last);
    }
}

bool vfi_kept_any(const GArray *kept, uint64_t iova, uint64_t last)
{
    return kept && vfi_ranges_find_overlap(kept, iova, last) >= 0;
}
