/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the one helper for sorted lists of IOVA ranges (internal).
 *
 * Every sorted list of the library (a container's mappings and their merged
 * view, an address space's mappings, a device's logged ranges) is a GArray
 * whose element type starts with a VfiRange (both ends inclusive), kept
 * sorted by IOVA and disjoint. The search is a binary search, so map, unmap
 * and overlap checks stay O(log n) in the number of ranges.
 */
#ifndef VFI_UTIL_RANGES_H
#define VFI_UTIL_RANGES_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

/* An IOVA range, both ends inclusive. */
typedef struct VfiRange {
    uint64_t iova;
    uint64_t last;
} VfiRange;

/* The element @i of @a (whose element type starts with a VfiRange). */
static inline VfiRange *vfi_ranges_at(const GArray *a, guint i)
{
    return (VfiRange *)(void *)(a->data + (gsize)i * g_array_get_element_size((GArray *)a));
}

/* Index of the first element of @a whose last byte is >= @iova (a->len
 * when none is). */
guint vfi_ranges_first(const GArray *a, uint64_t iova);

/* Index of the first element of @a overlapping [iova, last], or -1. */
gint vfi_ranges_find_overlap(const GArray *a, uint64_t iova, uint64_t last);

/* Whether [iova, last] lies inside one element of @a. */
bool vfi_ranges_contain(const GArray *a, uint64_t iova, uint64_t last);

/* Insert @elem (its type is @a's element type, starting with a VfiRange that
 * overlaps none of @a) at its sorted place. */
void vfi_ranges_insert(GArray *a, const void *elem);

/* For a GArray of plain VfiRange: add [iova, last], merging it with every
 * range it overlaps or touches. */
void vfi_ranges_add_merged(GArray *a, uint64_t iova, uint64_t last);

/* For a GArray of plain VfiRange: remove [iova, last], cutting the ranges
 * that stick out of it. */
void vfi_ranges_remove(GArray *a, uint64_t iova, uint64_t last);

/* Size non-zero and iova + size not overflowing (VFI_ERROR_INVALID_ARGUMENT
 * naming @what otherwise). */
bool vfi_range_check(const char *what, uint64_t iova, uint64_t size, GError **errp);

#endif
