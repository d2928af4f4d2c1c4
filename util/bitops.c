/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-iommufd: ORing runs of bits (util/bitops.h). */
#include "util/bitops.h"

/* The 64 bits of @src from bit @pos on, of which only the first @n (1..64)
 * are read: no word past them is touched. */
static uint64_t bits_at(const uint64_t *src, uint64_t pos, unsigned n)
{
    uint64_t k = pos / 64;
    unsigned sh = pos % 64;
    uint64_t v = src[k] >> sh;

    if (sh && n > 64 - sh) {
        v |= src[k + 1] << (64 - sh);
    }
    return n == 64 ? v : v & ((UINT64_C(1) << n) - 1);
}

static void or_word(uint64_t *w, uint64_t v, bool atomic)
{
    if (atomic) {
        __atomic_fetch_or(w, v, __ATOMIC_RELAXED);
    } else {
        *w |= v;
    }
}

void vfi_bits_or(uint64_t *dst, uint64_t bit, const uint64_t *src, uint64_t from, uint64_t n,
                 bool atomic)
{
    unsigned sh = bit % 64;

    for (uint64_t done = 0; done < n; done += 64) {
        unsigned take = n - done < 64 ? (unsigned)(n - done) : 64;
        uint64_t v = bits_at(src, from + done, take);
        uint64_t idx = (bit + done) / 64;

        if (!v) {
            continue;
        }
        or_word(&dst[idx], v << sh, atomic);
        if (sh && (v >> (64 - sh))) {
            or_word(&dst[idx + 1], v >> (64 - sh), atomic);
        }
    }
}
