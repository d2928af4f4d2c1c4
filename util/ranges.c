/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-iommufd: sorted IOVA range lists (util/ranges.h). */
#include <inttypes.h>
#include <string.h>

#include "vfio-iommufd/error.h"
#include "util/ranges.h"

guint vfi_ranges_first(const GArray *a, uint64_t iova)
{
    guint lo = 0, hi = a->len;

    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;

        if (vfi_ranges_at(a, mid)->last < iova) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

gint vfi_ranges_find_overlap(const GArray *a, uint64_t iova, uint64_t last)
{
    guint i = vfi_ranges_first(a, iova);

    return i < a->len && vfi_ranges_at(a, i)->iova <= last ? (gint)i : -1;
}

bool vfi_ranges_contain(const GArray *a, uint64_t iova, uint64_t last)
{
    guint i = vfi_ranges_first(a, iova);

    return i < a->len && vfi_ranges_at(a, i)->iova <= iova &&
           vfi_ranges_at(a, i)->last >= last;
}

void vfi_ranges_insert(GArray *a, const void *elem)
{
    const VfiRange *r = elem;

    g_array_insert_vals(a, vfi_ranges_first(a, r->iova), elem, 1);
}

void vfi_ranges_add_merged(GArray *a, uint64_t iova, uint64_t last)
{
    VfiRange n = { .iova = iova, .last = last };
    /* The first range ending at or after the byte before the new one: it
     * may touch it, and none before it does. */
    guint i = vfi_ranges_first(a, iova ? iova - 1 : 0), j;

    for (j = i; j < a->len; j++) {
        VfiRange *r = &g_array_index(a, VfiRange, j);

        if (n.last != UINT64_MAX && r->iova > n.last + 1) {
            break;
        }
        n.iova = MIN(n.iova, r->iova);
        n.last = MAX(n.last, r->last);
    }
    if (j > i) {
        g_array_remove_range(a, i, j - i);
    }
    g_array_insert_val(a, i, n);
}

void vfi_ranges_remove(GArray *a, uint64_t iova, uint64_t last)
{
    for (guint i = vfi_ranges_first(a, iova); i < a->len;) {
        VfiRange r = g_array_index(a, VfiRange, i);
        VfiRange head = { r.iova, iova - 1 }, tail = { last + 1, r.last };

        if (r.iova > last) {
            break;
        }
        g_array_remove_index(a, i);
        if (r.iova < iova) {
            g_array_insert_val(a, i++, head);
        }
        if (r.last > last) {
            g_array_insert_val(a, i++, tail);
        }
    }
}

bool vfi_range_check(const char *what, uint64_t iova, uint64_t size, GError **errp)
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
