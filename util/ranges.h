/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the one helper for sorted lists of IOVA ranges (internal).
 *
 * Two forms of the same thing, a list of elements whose type starts with a
 * VfiRange (both ends inclusive), kept sorted by IOVA and disjoint:
 *  - a GArray, for the short lists (a device's logged and kept ranges, the
 *    ranges a tracking start gives a device): binary search, but inserts
 *    and removes shift the array;
 *  - a VfiRangeTree, for the lists that grow with the guest (a container's
 *    mappings and their merged view, an address space's mappings): a B+
 *    tree whose leaves hold the elements themselves, with O(log n) insert,
 *    remove, overlap, "first range ending at or after" and access by
 *    position, and no allocation per insert or remove beyond the occasional
 *    node (one freed node of each kind is kept for the next split).
 *    A tree keeps its last descent until it next changes, so lookups of
 *    the same place (checks, then the removal) descend once: even its
 *    lookups write to it, so a tree is for one thread at a time (the
 *    library's are under their owner's lock).
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

/* ---- VfiRangeTree ------------------------------------------------------ */

typedef struct VfiRangeTree VfiRangeTree;
typedef struct VfiRangeNode VfiRangeNode;

/* A position in a tree; valid until the tree next changes. */
typedef struct VfiRangeIter {
    const VfiRangeTree *t;
    VfiRangeNode *leaf;
    guint i;
} VfiRangeIter;

/* An empty tree of elements of @elem_size bytes (a multiple of 8, starting
 * with a VfiRange). */
VfiRangeTree *vfi_range_tree_new(size_t elem_size);
/* Free @t and its elements (they own nothing). NULL is accepted. */
void vfi_range_tree_free(VfiRangeTree *t);
/* Remove every element. */
void vfi_range_tree_clear(VfiRangeTree *t);
/* The number of elements. */
guint vfi_range_tree_len(const VfiRangeTree *t);
/* The heap bytes @t holds (its nodes, the spare one included). */
size_t vfi_range_tree_bytes(const VfiRangeTree *t);

/* The first element whose last byte is >= @iova, or NULL; @it (may be
 * NULL) is set to it. */
void *vfi_range_tree_first(const VfiRangeTree *t, uint64_t iova, VfiRangeIter *it);
/* The same, *@index (may be NULL) set to its position (the number of
 * elements before it; the length when there is none). */
void *vfi_range_tree_seek(const VfiRangeTree *t, uint64_t iova, VfiRangeIter *it,
                          guint *index);
/* The first element overlapping [iova, last], or NULL; @it as above. */
void *vfi_range_tree_overlap(const VfiRangeTree *t, uint64_t iova, uint64_t last,
                             VfiRangeIter *it);
/* Whether [iova, last] lies inside one element. */
bool vfi_range_tree_contain(const VfiRangeTree *t, uint64_t iova, uint64_t last);
/* The number of elements whose last byte is < @iova (the position of
 * vfi_range_tree_first()'s element). */
guint vfi_range_tree_index(const VfiRangeTree *t, uint64_t iova);
/* The element at position @i (0: the lowest), or NULL; @it as above. */
void *vfi_range_tree_nth(const VfiRangeTree *t, guint i, VfiRangeIter *it);
/* The element after (before) @it's, @it moved to it; NULL at the end. */
void *vfi_range_iter_next(VfiRangeIter *it);
void *vfi_range_iter_prev(VfiRangeIter *it);

/* Insert a copy of @elem, whose range overlaps no element of @t. */
void vfi_range_tree_insert(VfiRangeTree *t, const void *elem);
/* Insert a copy of @elem unless its range overlaps an element of @t:
 * NULL when inserted, else the first element it overlaps (@t unchanged;
 * valid until @t next changes). One search for both. */
const void *vfi_range_tree_insert_new(VfiRangeTree *t, const void *elem);
/* Remove the element whose range starts at @iova (there must be one). */
void vfi_range_tree_remove(VfiRangeTree *t, uint64_t iova);
/* Remove the first element overlapping [iova, last], copied into @out
 * (may be NULL) first: false when there is none. */
bool vfi_range_tree_remove_overlap(VfiRangeTree *t, uint64_t iova, uint64_t last, void *out);
/* Give the element starting at @iova (there must be one) the range
 * [new_iova, new_last], which must keep the elements sorted and disjoint. */
void vfi_range_tree_reshape(VfiRangeTree *t, uint64_t iova, uint64_t new_iova,
                            uint64_t new_last);
/* For a tree of plain VfiRange: add [iova, last], merged with every range
 * it overlaps or touches. */
void vfi_range_tree_add_merged(VfiRangeTree *t, uint64_t iova, uint64_t last);
/* For a tree of plain VfiRange: remove [iova, last], cutting the ranges
 * that stick out of it. */
void vfi_range_tree_remove_cut(VfiRangeTree *t, uint64_t iova, uint64_t last);

/* Check every invariant of @t (order, keys, counts, links, no empty node):
 * NULL when it holds, else what is wrong (g_free()). For the tests. */
char *vfi_range_tree_check(const VfiRangeTree *t);

/* Size non-zero and iova + size not overflowing (VFI_ERROR_INVALID_ARGUMENT
 * naming @what otherwise). */
bool vfi_range_check(const char *what, uint64_t iova, uint64_t size, GError **errp);

#endif
