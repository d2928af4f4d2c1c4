/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-iommufd: sorted IOVA range lists (util/ranges.h). */
#include <inttypes.h>
#include <stddef.h>
#include <string.h>

#include "vfio-iommufd/error.h"
#include "util/node-pool.h"
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

/* ---- VfiRangeTree: a B+ tree ------------------------------------------ */

/*
 * A leaf is VFI_RANGE_NODE_BYTES long, an internal node
 * VFI_RANGE_INNER_BYTES (a page: a descent through a large tree then
 * crosses one level fewer, one cold node and TLB entry fewer, the search in
 * a node staying cheap), both from the node pool (util/node-pool.h: large
 * trees in huge pages, a lookup without a TLB miss). A leaf holds up to lcap
 * elements in IOVA order and is linked to its neighbours; an internal node
 * holds up to icap entries, one per child: the child, the number of
 * elements under it and the last byte of its last element (the key: the
 * first child whose key is >= an IOVA holds the first element ending at or
 * after it), in three arrays (keys, counts, children) so that a search
 * reads the keys alone, densely (a few cache lines, no stride). No node but
 * the root is empty; a node under a quarter full is merged with, or takes
 * elements from, a sibling.
 */
#define VFI_RANGE_NODE_BYTES VFI_NODE_POOL_LEAF
#define VFI_RANGE_INNER_BYTES VFI_NODE_POOL_INNER
#define VFI_RANGE_MAX_HEIGHT 16      /* nodes are a quarter full: 2^32 elements need 12 */

/* One entry of an internal node, as a value (stored in three arrays). */
typedef struct VfiRangeEntry {
    uint64_t key;             /* last byte of the child's last element */
    uint64_t count;           /* elements under the child */
    VfiRangeNode *child;
} VfiRangeEntry;

struct VfiRangeNode {
    VfiRangeNode *prev, *next; /* leaves: their neighbours in IOVA order */
    uint16_t n;
    bool leaf;
    uint64_t data[];          /* elements (leaf), or icap keys, counts, children */
};

#define VFI_RANGE_NODE_DATA (VFI_RANGE_NODE_BYTES - offsetof(VfiRangeNode, data))
#define VFI_RANGE_INNER_DATA (VFI_RANGE_INNER_BYTES - offsetof(VfiRangeNode, data))
/* Entries of an internal node (3 x 8 bytes each): a multiple of 8, so that
 * inner_lower()'s rounds cover it in whole blocks. */
#define VFI_RANGE_ICAP ((guint)(VFI_RANGE_INNER_DATA / sizeof(VfiRangeEntry)) / 8 * 8)

/* The way down to a leaf: the node and child index at each level. */
typedef struct VfiRangePath {
    VfiRangeNode *node[VFI_RANGE_MAX_HEIGHT];
    guint idx[VFI_RANGE_MAX_HEIGHT];
    unsigned depth;
} VfiRangePath;

/*
 * The last descent, kept until the tree next changes: its leaf answers
 * every IOVA in (lo, hi] (from_start: no lower bound; the last leaf: no
 * upper one), so the next search there (a remove after the checks looked
 * the range up, an insert after an overlap check) reuses the leaf and the
 * way to it instead of descending again. A cache, never a second record:
 * any change drops it (finger_drop()).
 */
typedef struct VfiRangeFinger {
    VfiRangeNode *leaf;       /* NULL: none */
    uint64_t lo, hi;
    bool from_start;
    bool has_index;           /* index computed */
    guint index;              /* elements before the leaf */
    VfiRangePath path;
} VfiRangeFinger;

struct VfiRangeTree {
    size_t esize;
    guint lcap, icap;
    guint len;
    unsigned height;          /* 0: empty */
    size_t nodes;
    VfiRangeNode *root;
    size_t inners;            /* of the nodes, the internal ones */
    VfiRangeNode *spare[2];   /* one freed leaf ([1]) and internal node
                               * ([0]), for the next split */
    VfiRangeFinger finger;    /* the last descent (a cache) */
};

/* Forget the last descent: @t changes. */
static inline void finger_drop(VfiRangeTree *t)
{
    t->finger.leaf = NULL;
}

static inline guint node_cap(const VfiRangeTree *t, const VfiRangeNode *n)
{
    return n->leaf ? t->lcap : t->icap;
}

/* Element @i of leaf @n. */
static inline void *node_at(const VfiRangeTree *t, const VfiRangeNode *n, guint i)
{
    return (char *)n->data + (size_t)i * t->esize;
}

/* The keys, counts and children of internal node @n. */
static inline uint64_t *ikeys(const VfiRangeNode *n)
{
    return (uint64_t *)n->data;
}

static inline uint64_t *icounts(const VfiRangeTree *t, const VfiRangeNode *n)
{
    return (uint64_t *)n->data + t->icap;
}

static inline VfiRangeNode **ichildren(const VfiRangeTree *t, const VfiRangeNode *n)
{
    return (VfiRangeNode **)(void *)((uint64_t *)n->data + 2 * (size_t)t->icap);
}

static inline const VfiRange *leaf_range(const VfiRangeTree *t, const VfiRangeNode *n,
                                         guint i)
{
    return (const VfiRange *)(const void *)((const char *)n->data + (size_t)i * t->esize);
}

/* The key of @n (not empty): the last byte of its last element. */
static uint64_t node_key(const VfiRangeTree *t, const VfiRangeNode *n)
{
    return n->leaf ? leaf_range(t, n, n->n - 1)->last : ikeys(n)[n->n - 1];
}

/* The number of elements under @n. */
static uint64_t node_total(const VfiRangeTree *t, const VfiRangeNode *n)
{
    uint64_t total = 0;

    if (n->leaf) {
        return n->n;
    }
    for (guint i = 0; i < n->n; i++) {
        total += icounts(t, n)[i];
    }
    return total;
}

/* Ask for the cache lines of [p, p + bytes) at once: a search of a leaf
 * not in the cache then waits for memory once, not once per round (done
 * for the leaf a descent enters; an internal node's first round loads one
 * key of each of its lines at once already). */
static inline void prefetch_node(const void *p, size_t bytes)
{
#pragma GCC unroll 16
    for (size_t off = 0; off < bytes; off += 64) {
        __builtin_prefetch((const char *)p + off);
    }
}

/*
 * The first of @n keys @stride bytes apart from @base that is >= @iova (@n
 * if none), keys sorted: two rounds of independent compares, not a chain
 * of dependent ones (a binary search waits for each probe before the next,
 * and mispredicted branches would cost more than the search): the blocks
 * of 8 keys whose last key is below @iova, then the keys below it in the
 * next block. Past the last key (an append, at every level of its way
 * down), one compare.
 */
static inline guint lower_bound(const char *base, guint n, size_t stride, uint64_t iova)
{
#define KEY_AT(i) (*(const uint64_t *)(const void *)(base + (size_t)(i) * stride))
    guint block = 0, below, end;

    if (n == 0 || KEY_AT(n - 1) < iova) {
        return n;
    }
    for (guint i = 7; i < n; i += 8) {
        block += KEY_AT(i) < iova;
    }
    below = block * 8;
    end = MIN(below + 8, n);
    for (guint i = below; i < end; i++) {
        below += KEY_AT(i) < iova;
    }
    return below;
#undef KEY_AT
}

/* The first element of leaf @n ending at or after @iova (n->n if none). */
static guint leaf_lower(const VfiRangeTree *t, const VfiRangeNode *n, uint64_t iova)
{
    return lower_bound((const char *)n->data + offsetof(VfiRange, last), n->n, t->esize, iova);
}

/*
 * The first child of internal @n whose key is >= @iova (n->n if none): the
 * same two rounds as lower_bound(), over the whole capacity, unrolled: the
 * keys past n->n are UINT64_MAX (node_shrink()), so no loop's length
 * depends on the node and no branch but the append's can be mispredicted
 * (a loop whose length changes from node to node costs a mispredicted exit
 * per round, about as much as the compares).
 */
static guint inner_lower(const VfiRangeNode *n, uint64_t iova)
{
    const uint64_t *k = ikeys(n);
    guint block = 0, below;

    if (k[n->n - 1] < iova) {
        return n->n;
    }
#pragma GCC unroll 32
    for (guint i = 7; i < VFI_RANGE_ICAP; i += 8) {
        block += k[i] < iova;
    }
    below = block * 8;          /* block < ICAP / 8: k[ICAP - 1] >= iova */
#pragma GCC unroll 8
    for (guint i = 0; i < 8; i++) {
        below += k[block * 8 + i] < iova;
    }
    return below;
}

/* Set @n's count to @m <= n->n: the keys an internal node no longer uses
 * become UINT64_MAX (inner_lower()). */
static void node_shrink(VfiRangeNode *n, guint m)
{
    if (!n->leaf) {
        for (guint i = m; i < n->n; i++) {
            ikeys(n)[i] = UINT64_MAX;
        }
    }
    n->n = m;
}

static VfiRangeNode *node_new(VfiRangeTree *t, bool leaf)
{
    VfiRangeNode *n = t->spare[leaf];

    if (!n) {
        n = vfi_node_pool_alloc(leaf ? VFI_RANGE_NODE_BYTES : VFI_RANGE_INNER_BYTES);
    }
    t->spare[leaf] = NULL;
    n->prev = n->next = NULL;
    n->n = 0;
    n->leaf = leaf;
    if (!leaf) {
        memset(ikeys(n), 0xff, VFI_RANGE_ICAP * sizeof(uint64_t));
    }
    t->nodes++;
    t->inners += !leaf;
    return n;
}

/* Free @n, unlinked from its neighbours first (a leaf). */
static void node_drop(VfiRangeTree *t, VfiRangeNode *n)
{
    if (n->prev) {
        n->prev->next = n->next;
    }
    if (n->next) {
        n->next->prev = n->prev;
    }
    t->nodes--;
    t->inners -= !n->leaf;
    if (t->spare[n->leaf]) {
        vfi_node_pool_free(n, n->leaf ? VFI_RANGE_NODE_BYTES : VFI_RANGE_INNER_BYTES);
    } else {
        t->spare[n->leaf] = n;
    }
}

VfiRangeTree *vfi_range_tree_new(size_t elem_size)
{
    VfiRangeTree *t = g_new0(VfiRangeTree, 1);

    g_assert(elem_size >= sizeof(VfiRange) && elem_size % 8 == 0);
    t->esize = elem_size;
    t->lcap = VFI_RANGE_NODE_DATA / elem_size;
    t->icap = VFI_RANGE_ICAP;
    g_assert(t->lcap >= 4 && t->lcap <= UINT16_MAX);
    return t;
}

static void free_subtree(VfiRangeTree *t, VfiRangeNode *n)
{
    if (!n->leaf) {
        for (guint i = 0; i < n->n; i++) {
            free_subtree(t, ichildren(t, n)[i]);
        }
    }
    n->prev = n->next = NULL;   /* the whole level goes: no relinking */
    node_drop(t, n);
}

void vfi_range_tree_clear(VfiRangeTree *t)
{
    finger_drop(t);
    if (t->root) {
        free_subtree(t, t->root);
    }
    t->root = NULL;
    t->height = 0;
    t->len = 0;
}

void vfi_range_tree_free(VfiRangeTree *t)
{
    if (!t) {
        return;
    }
    vfi_range_tree_clear(t);
    vfi_node_pool_free(t->spare[0], VFI_RANGE_INNER_BYTES);
    vfi_node_pool_free(t->spare[1], VFI_RANGE_NODE_BYTES);
    g_free(t);
}

guint vfi_range_tree_len(const VfiRangeTree *t)
{
    return t->len;
}

size_t vfi_range_tree_bytes(const VfiRangeTree *t)
{
    return sizeof(*t) + (t->nodes - t->inners + (t->spare[1] ? 1 : 0)) * VFI_RANGE_NODE_BYTES +
           (t->inners + (t->spare[0] ? 1 : 0)) * VFI_RANGE_INNER_BYTES;
}

/* ---- searches ---------------------------------------------------------- */

/* The sum of @c[from, to), four at a time (independent adds). */
static uint64_t sum_counts(const uint64_t *c, guint from, guint to)
{
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    guint i = from;

    for (; i + 4 <= to; i += 4) {
        s0 += c[i];
        s1 += c[i + 1];
        s2 += c[i + 2];
        s3 += c[i + 3];
    }
    for (; i < to; i++) {
        s0 += c[i];
    }
    return s0 + s1 + s2 + s3;
}

/*
 * Go down from the root to the leaf holding the first element ending at or
 * after @iova, or, when there is none, to the last leaf (where such an
 * element would be appended), recording the way and the IOVAs the leaf
 * answers in the finger; *@index (may be NULL) gets the elements of the
 * leaves before it.
 */
static VfiRangeNode *descend_from_root(VfiRangeTree *t, uint64_t iova, guint *index)
{
    VfiRangeFinger *f = &t->finger;
    VfiRangeNode *n = t->root;
    unsigned level = 1;
    guint before = 0;
    uint64_t under = t->len;      /* elements under n */

    f->from_start = true;        /* set field by field: the path is long */
    f->hi = UINT64_MAX;
    f->has_index = index != NULL;
    f->path.depth = 0;
    while (n && !n->leaf) {
        const uint64_t *key = ikeys(n);
        guint j = MIN(inner_lower(n, iova), n->n - 1u);

        if (index) {
            const uint64_t *count = icounts(t, n);

            /* those before child j: summed from the nearer end */
            before += (guint)(j <= n->n / 2 ? sum_counts(count, 0, j) :
                              under - sum_counts(count, j, n->n));
            under = count[j];
        }
        if (j > 0) {
            f->lo = key[j - 1];   /* the deepest is the leaf before's key */
            f->from_start = false;
        }
        f->hi = key[j];
        f->path.node[f->path.depth] = n;
        f->path.idx[f->path.depth++] = j;
        n = ichildren(t, n)[j];
        if (++level == t->height) {
            prefetch_node(n, VFI_RANGE_NODE_BYTES);
        }
    }
    if (n && !n->next) {
        f->hi = UINT64_MAX;      /* the last leaf: where appends go */
    }
    f->leaf = n;
    f->index = before;
    if (index) {
        *index += before;
    }
    return n;
}

/*
 * The leaf holding the first element ending at or after @iova, or the last
 * leaf when there is none (NULL: the tree is empty); *@p (may be NULL) is
 * set to the way down to it, valid until @t next changes; *@index as for
 * descend_from_root(). The last descent is reused when it answers @iova.
 * (@t is written: the finger is a cache; a tree is for one thread at a
 * time.)
 */
static VfiRangeNode *descend(const VfiRangeTree *ct, uint64_t iova, VfiRangePath **p,
                             guint *index)
{
    VfiRangeTree *t = (VfiRangeTree *)ct;
    VfiRangeFinger *f = &t->finger;
    VfiRangeNode *n;

    if (f->leaf && iova <= f->hi && (f->from_start || iova > f->lo) &&
        (!index || f->has_index)) {
        n = f->leaf;
        if (index) {
            *index += f->index;
        }
    } else {
        n = descend_from_root(t, iova, index);
    }
    if (p) {
        *p = &f->path;
    }
    return n;
}

void *vfi_range_tree_seek(const VfiRangeTree *t, uint64_t iova, VfiRangeIter *it,
                          guint *index)
{
    VfiRangeNode *leaf;
    guint i;

    if (index) {
        *index = 0;
    }
    leaf = descend(t, iova, NULL, index);
    if (!leaf || (i = leaf_lower(t, leaf, iova)) == leaf->n) {
        if (index) {
            *index = t->len;
        }
        return NULL;
    }
    if (index) {
        *index += i;
    }
    if (it) {
        *it = (VfiRangeIter){ .t = t, .leaf = leaf, .i = i };
    }
    return node_at(t, leaf, i);
}

void *vfi_range_tree_first(const VfiRangeTree *t, uint64_t iova, VfiRangeIter *it)
{
    return vfi_range_tree_seek(t, iova, it, NULL);
}

void *vfi_range_tree_overlap(const VfiRangeTree *t, uint64_t iova, uint64_t last,
                             VfiRangeIter *it)
{
    VfiRange *r = vfi_range_tree_first(t, iova, it);

    return r && r->iova <= last ? r : NULL;
}

bool vfi_range_tree_contain(const VfiRangeTree *t, uint64_t iova, uint64_t last)
{
    const VfiRange *r = vfi_range_tree_first(t, iova, NULL);

    return r && r->iova <= iova && r->last >= last;
}

guint vfi_range_tree_index(const VfiRangeTree *t, uint64_t iova)
{
    guint index;

    vfi_range_tree_seek(t, iova, NULL, &index);
    return index;
}

void *vfi_range_tree_nth(const VfiRangeTree *t, guint i, VfiRangeIter *it)
{
    VfiRangeNode *n = t->root;

    if (i >= t->len) {
        return NULL;
    }
    while (!n->leaf) {
        const uint64_t *count = icounts(t, n);
        guint j = 0;

        while (i >= count[j]) {
            i -= (guint)count[j++];
        }
        n = ichildren(t, n)[j];
    }
    if (it) {
        *it = (VfiRangeIter){ .t = t, .leaf = n, .i = i };
    }
    return node_at(t, n, i);
}

void *vfi_range_iter_next(VfiRangeIter *it)
{
    if (++it->i >= it->leaf->n) {
        it->leaf = it->leaf->next;
        it->i = 0;
    }
    return it->leaf ? node_at(it->t, it->leaf, it->i) : NULL;
}

void *vfi_range_iter_prev(VfiRangeIter *it)
{
    if (it->i == 0) {
        it->leaf = it->leaf->prev;
        it->i = it->leaf ? it->leaf->n : 0;
    }
    if (!it->leaf) {
        return NULL;
    }
    return node_at(it->t, it->leaf, --it->i);
}

/* ---- insert ------------------------------------------------------------ */

/* Copy one element or entry of @es bytes (the usual sizes inlined). */
static inline void copy_one(void *dst, const void *src, size_t es)
{
    switch (es) {
    case 16: memcpy(dst, src, 16); break;
    case 24: memcpy(dst, src, 24); break;
    case 32: memcpy(dst, src, 32); break;
    default: memcpy(dst, src, es); break;
    }
}

/* Move @k elements or entries from position @si of @src to position @di of
 * @dst (a node of the same kind, possibly @src itself: memmove). */
static void node_move(const VfiRangeTree *t, VfiRangeNode *dst, guint di,
                      const VfiRangeNode *src, guint si, guint k)
{
    if (k == 0) {
        return;
    }
    if (src->leaf) {
        memmove(node_at(t, dst, di), node_at(t, src, si), (size_t)k * t->esize);
        return;
    }
    memmove(ikeys(dst) + di, ikeys(src) + si, k * sizeof(uint64_t));
    memmove(icounts(t, dst) + di, icounts(t, src) + si, k * sizeof(uint64_t));
    memmove(ichildren(t, dst) + di, ichildren(t, src) + si, k * sizeof(VfiRangeNode *));
}

/* Set entry @i of internal node @n to @e. */
static inline void inner_set(const VfiRangeTree *t, VfiRangeNode *n, guint i,
                             const VfiRangeEntry *e)
{
    ikeys(n)[i] = e->key;
    icounts(t, n)[i] = e->count;
    ichildren(t, n)[i] = e->child;
}

/* Put @src (an element, or a VfiRangeEntry for an internal node) at
 * position @i of @n, which has room. */
static void node_put(const VfiRangeTree *t, VfiRangeNode *n, guint i, const void *src)
{
    if (i < n->n) {
        node_move(t, n, i + 1, n, i, n->n - i);
    }
    if (n->leaf) {
        copy_one(node_at(t, n, i), src, t->esize);
    } else {
        inner_set(t, n, i, src);
    }
    n->n++;
}

/*
 * Insert @src at position @i of @n; when @n is full, split it first and
 * return the new right half (linked after it): in the middle, or, for an
 * append at the end of the tree (@at_end), leaving @n full.
 */
static VfiRangeNode *node_insert(VfiRangeTree *t, VfiRangeNode *n, guint i,
                                 const void *src, bool at_end)
{
    guint cap = node_cap(t, n), m;
    VfiRangeNode *r;

    if (n->n < cap) {
        node_put(t, n, i, src);
        return NULL;
    }
    m = at_end && i == cap ? cap : cap / 2;
    r = node_new(t, n->leaf);
    node_move(t, r, 0, n, m, n->n - m);
    r->n = n->n - m;
    node_shrink(n, m);
    if (n->leaf) {
        r->prev = n;
        r->next = n->next;
        if (n->next) {
            n->next->prev = r;
        }
        n->next = r;
    }
    if (i < m || (i == m && m < cap)) {
        node_put(t, n, i, src);
    } else {
        node_put(t, r, i - m, src);
    }
    return r;
}

void vfi_range_tree_insert(VfiRangeTree *t, const void *elem)
{
    G_GNUC_UNUSED const void *o = vfi_range_tree_insert_new(t, elem);

    g_assert(!o);
}

const void *vfi_range_tree_insert_new(VfiRangeTree *t, const void *elem)
{
    const VfiRange *r = elem;
    VfiRangePath *p;
    VfiRangeNode *leaf, *split;
    guint i;
    bool at_end;

    if (!t->root) {
        t->root = node_new(t, true);
        t->height = 1;
    }
    leaf = descend(t, r->iova, &p, NULL);
    i = leaf_lower(t, leaf, r->iova);
    if (i < leaf->n && leaf_range(t, leaf, i)->iova <= r->last) {
        return node_at(t, leaf, i);     /* the first it overlaps: not inserted */
    }
    finger_drop(t);
    at_end = !leaf->next && i == leaf->n;
    split = node_insert(t, leaf, i, elem, at_end);
    t->len++;
    /* Up the way: counts and keys, the new halves entered in their parents. */
    while (p->depth--) {
        VfiRangeNode *parent = p->node[p->depth];
        guint j = p->idx[p->depth];
        VfiRangeNode *child = ichildren(t, parent)[j];

        ikeys(parent)[j] = node_key(t, child);
        icounts(t, parent)[j] = split ? node_total(t, child) : icounts(t, parent)[j] + 1;
        if (split) {
            VfiRangeEntry ne = { node_key(t, split), node_total(t, split), split };

            split = node_insert(t, parent, j + 1, &ne, at_end);
        }
    }
    if (split) {
        VfiRangeNode *root = node_new(t, false);
        VfiRangeEntry l = { node_key(t, t->root), node_total(t, t->root), t->root };
        VfiRangeEntry h = { node_key(t, split), node_total(t, split), split };

        node_put(t, root, 0, &l);
        node_put(t, root, 1, &h);
        t->root = root;
        t->height++;
        g_assert(t->height < VFI_RANGE_MAX_HEIGHT);
    }
    return NULL;
}

/* ---- remove ------------------------------------------------------------ */

static void node_cut(const VfiRangeTree *t, VfiRangeNode *n, guint i)
{
    node_move(t, n, i, n, i + 1, n->n - i - 1);
    node_shrink(n, n->n - 1);
}

/* Move the first (@to_left) or last @k elements of @from to the end or the
 * start of its sibling @to. */
static void node_shift(const VfiRangeTree *t, VfiRangeNode *from, VfiRangeNode *to, guint k,
                       bool to_left)
{
    if (to_left) {
        node_move(t, to, to->n, from, 0, k);
        node_move(t, from, 0, from, k, from->n - k);
    } else {
        node_move(t, to, k, to, 0, to->n);
        node_move(t, to, 0, from, from->n - k, k);
    }
    to->n += k;
    node_shrink(from, from->n - k);
}

/* Children @a and @a + 1 of @parent: merge them when they fit in one node,
 * else share their elements evenly. */
static void rebalance(VfiRangeTree *t, VfiRangeNode *parent, guint a)
{
    uint64_t *key = ikeys(parent), *count = icounts(t, parent);
    VfiRangeNode *l = ichildren(t, parent)[a], *r = ichildren(t, parent)[a + 1];
    guint sum = l->n + r->n;

    if (sum <= node_cap(t, l)) {
        node_shift(t, r, l, r->n, true);
        count[a] += count[a + 1];
        key[a] = key[a + 1];
        node_drop(t, r);
        node_cut(t, parent, a + 1);
        return;
    }
    if (l->n < sum / 2) {
        node_shift(t, r, l, sum / 2 - l->n, true);
    } else {
        node_shift(t, l, r, l->n - sum / 2, false);
    }
    key[a] = node_key(t, l);
    count[a] = node_total(t, l);
    count[a + 1] = node_total(t, r);
}

/* After a removal under child @j of @parent: its count and key, and the
 * child dropped when empty or rebalanced when under a quarter full. */
static void fix_child(VfiRangeTree *t, VfiRangeNode *parent, guint j)
{
    VfiRangeNode *c = ichildren(t, parent)[j];

    icounts(t, parent)[j]--;
    if (c->n == 0) {
        node_drop(t, c);
        node_cut(t, parent, j);
        return;
    }
    ikeys(parent)[j] = node_key(t, c);
    if (c->n < node_cap(t, c) / 4 && parent->n > 1) {
        rebalance(t, parent, j + 1 < parent->n ? j : j - 1);
    }
}

/* Remove element @i of @leaf, reached by @p. */
static void remove_at(VfiRangeTree *t, VfiRangePath *p, VfiRangeNode *leaf, guint i)
{
    finger_drop(t);
    node_cut(t, leaf, i);
    t->len--;
    while (p->depth--) {
        fix_child(t, p->node[p->depth], p->idx[p->depth]);
    }
    while (!t->root->leaf && t->root->n == 1) {
        VfiRangeNode *old = t->root;

        t->root = ichildren(t, old)[0];
        node_drop(t, old);
        t->height--;
    }
    if (t->root->n == 0) {
        node_drop(t, t->root);
        t->root = NULL;
        t->height = 0;
    }
}

void vfi_range_tree_remove(VfiRangeTree *t, uint64_t iova)
{
    VfiRangePath *p;
    VfiRangeNode *leaf = descend(t, iova, &p, NULL);
    guint i = leaf ? leaf_lower(t, leaf, iova) : 0;

    g_assert(leaf && i < leaf->n && leaf_range(t, leaf, i)->iova == iova);
    remove_at(t, p, leaf, i);
}

bool vfi_range_tree_remove_overlap(VfiRangeTree *t, uint64_t iova, uint64_t last, void *out)
{
    VfiRangePath *p;
    VfiRangeNode *leaf = descend(t, iova, &p, NULL);
    guint i = leaf ? leaf_lower(t, leaf, iova) : 0;

    if (!leaf || i == leaf->n || leaf_range(t, leaf, i)->iova > last) {
        return false;
    }
    if (out) {
        copy_one(out, node_at(t, leaf, i), t->esize);
    }
    remove_at(t, p, leaf, i);
    return true;
}

void vfi_range_tree_reshape(VfiRangeTree *t, uint64_t iova, uint64_t new_iova,
                            uint64_t new_last)
{
    VfiRangePath *p;
    VfiRangeNode *leaf = descend(t, iova, &p, NULL);
    guint i = leaf ? leaf_lower(t, leaf, iova) : 0;
    VfiRange *r = leaf ? node_at(t, leaf, i) : NULL;

    g_assert(r && i < leaf->n && r->iova == iova);
    r->iova = new_iova;
    r->last = new_last;
    finger_drop(t);
    while (p->depth--) {
        VfiRangeNode *n = p->node[p->depth];
        guint j = p->idx[p->depth];

        ikeys(n)[j] = node_key(t, ichildren(t, n)[j]);
    }
}

/* ---- merged lists ------------------------------------------------------ */

static bool touches(const VfiRange *r, uint64_t last)
{
    return last == UINT64_MAX || r->iova <= last + 1;
}

void vfi_range_tree_add_merged(VfiRangeTree *t, uint64_t iova, uint64_t last)
{
    VfiRangeIter it;
    VfiRange *e = vfi_range_tree_first(t, iova ? iova - 1 : 0, &it), n = { iova, last };
    uint64_t e_iova, e_last;
    guint absorbed = 0;

    g_assert(t->esize == sizeof(VfiRange));
    if (!e || !touches(e, last)) {
        vfi_range_tree_insert(t, &n);
        return;
    }
    e_iova = e->iova;
    e_last = e->last;
    n.iova = MIN(n.iova, e->iova);
    n.last = MAX(n.last, e->last);
    for (VfiRange *x = vfi_range_iter_next(&it); x && touches(x, n.last);
         x = vfi_range_iter_next(&it)) {
        n.last = MAX(n.last, x->last);
        absorbed++;
    }
    while (absorbed--) {
        vfi_range_tree_remove(t, ((VfiRange *)vfi_range_tree_first(t, e_last + 1, NULL))->iova);
    }
    vfi_range_tree_reshape(t, e_iova, n.iova, n.last);
}

void vfi_range_tree_remove_cut(VfiRangeTree *t, uint64_t iova, uint64_t last)
{
    g_assert(t->esize == sizeof(VfiRange));
    for (;;) {
        VfiRange *e = vfi_range_tree_overlap(t, iova, last, NULL), r;

        if (!e) {
            return;
        }
        r = *e;
        if (r.iova < iova && r.last > last) {
            VfiRange tail = { last + 1, r.last };

            vfi_range_tree_reshape(t, r.iova, r.iova, iova - 1);
            vfi_range_tree_insert(t, &tail);
            return;
        }
        if (r.iova < iova) {
            vfi_range_tree_reshape(t, r.iova, r.iova, iova - 1);
        } else if (r.last > last) {
            vfi_range_tree_reshape(t, r.iova, last + 1, r.last);
            return;
        } else {
            vfi_range_tree_remove(t, r.iova);
        }
        if (r.last >= last) {
            return;
        }
    }
}

/* ---- self-check (tests) ------------------------------------------------ */

typedef struct CheckState {
    const VfiRangeNode *prev_leaf;
    const VfiRange *prev;
    guint seen;
} CheckState;

static char *check_node(const VfiRangeTree *t, const VfiRangeNode *n, unsigned depth,
                        CheckState *st)
{
    if (n->n == 0 || n->n > node_cap(t, n)) {
        return g_strdup_printf("node at depth %u holds %u", depth, n->n);
    }
    if (n->leaf != (depth == t->height - 1)) {
        return g_strdup_printf("leaf at depth %u of %u", depth, t->height);
    }
    if (n->leaf) {
        if (n->prev != st->prev_leaf || (st->prev_leaf && st->prev_leaf->next != n)) {
            return g_strdup("leaf links broken");
        }
        for (guint i = 0; i < n->n; i++) {
            const VfiRange *r = leaf_range(t, n, i);

            if (r->last < r->iova || (st->prev && st->prev->last >= r->iova)) {
                return g_strdup_printf("element %u out of order", st->seen);
            }
            st->prev = r;
            st->seen++;
        }
        st->prev_leaf = n;
        return NULL;
    }
    for (guint i = 0; i < n->n; i++) {
        const VfiRangeNode *child = ichildren(t, n)[i];
        char *err = check_node(t, child, depth + 1, st);

        if (err) {
            return err;
        }
        if (ikeys(n)[i] != node_key(t, child) || icounts(t, n)[i] != node_total(t, child)) {
            return g_strdup_printf("stale key or count at depth %u", depth);
        }
    }
    for (guint i = n->n; i < VFI_RANGE_ICAP; i++) {
        if (ikeys(n)[i] != UINT64_MAX) {
            return g_strdup_printf("unused key %u at depth %u not UINT64_MAX", i, depth);
        }
    }
    return NULL;
}

char *vfi_range_tree_check(const VfiRangeTree *t)
{
    CheckState st = { 0 };
    char *err;

    if (!t->root) {
        return t->len || t->height ? g_strdup("empty root, elements counted") : NULL;
    }
    err = check_node(t, t->root, 0, &st);
    if (!err && st.seen != t->len) {
        err = g_strdup_printf("%u elements found, %u counted", st.seen, t->len);
    }
    if (!err && st.prev_leaf->next) {
        err = g_strdup("last leaf has a next");
    }
    return err;
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
