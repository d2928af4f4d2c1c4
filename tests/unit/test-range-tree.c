/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * util/ranges.h's VfiRangeTree against a plain sorted GArray doing the same
 * operations (the GArray helpers of the same header): random inserts and
 * removes of elements with a payload, reshapes, searches, positions and
 * iteration both ways, merged adds and cuts, every invariant of the tree
 * checked as it goes; sequential fills packing the leaves; nodes given back.
 */
#include <string.h>

#include "test-common.h"
#include "util/ranges.h"

/* An element with a payload, as the mapping records have. */
typedef struct Elem {
    VfiRange r;
    uint64_t payload;
    uint64_t pad;
} Elem;

#define SLOT UINT64_C(0x1000)

static uint64_t rng_next(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void assert_valid(const VfiRangeTree *t)
{
    g_autofree char *err = vfi_range_tree_check(t);

    if (err) {
        fail_msg("tree invalid: %s", err);
    }
}

/* The tree holds exactly @ref's elements (forward, backward, by position). */
static void assert_same(const VfiRangeTree *t, const GArray *ref)
{
    VfiRangeIter it;
    const Elem *e = vfi_range_tree_nth(t, 0, &it);

    assert_valid(t);
    assert_int_equal(vfi_range_tree_len(t), ref->len);
    for (guint i = 0; i < ref->len; i++, e = vfi_range_iter_next(&it)) {
        const Elem *x = &g_array_index(ref, Elem, i);

        assert_non_null(e);
        assert_memory_equal(e, x, sizeof(*x));
        assert_memory_equal(vfi_range_tree_nth(t, i, NULL), x, sizeof(*x));
    }
    assert_null(e);
    if (ref->len) {
        e = vfi_range_tree_nth(t, ref->len - 1, &it);
        for (guint i = ref->len; i-- > 0; e = vfi_range_iter_prev(&it)) {
            assert_memory_equal(e, &g_array_index(ref, Elem, i), sizeof(Elem));
        }
        assert_null(e);
    }
    assert_null(vfi_range_tree_nth(t, ref->len, NULL));
}

/* first/overlap/index/contain of a few IOVAs, against the GArray: every
 * other one near the one before (within a few slots, either way), where the
 * tree reuses its last descent when the leaf answers it (and must not when
 * it does not: the leaf's edges are crossed too). */
static void assert_searches(const VfiRangeTree *t, const GArray *ref, uint64_t *rng)
{
    uint64_t prev = 0;

    for (int k = 0; k < 8; k++) {
        uint64_t near = prev + rng_next(rng) % (8 * SLOT) - 4 * SLOT;
        uint64_t iova = k % 2 && near < 4096 * SLOT ? near : rng_next(rng) % (4096 * SLOT);
        uint64_t last = iova + rng_next(rng) % (4 * SLOT);
        guint i = vfi_ranges_first(ref, iova);
        gint o = vfi_ranges_find_overlap(ref, iova, last);
        const Elem *f = vfi_range_tree_first(t, iova, NULL);
        const Elem *ov = vfi_range_tree_overlap(t, iova, last, NULL);

        assert_int_equal(vfi_range_tree_index(t, iova), i);
        if (i < ref->len) {
            assert_memory_equal(f, vfi_ranges_at(ref, i), sizeof(Elem));
        } else {
            assert_null(f);
        }
        if (o >= 0) {
            assert_memory_equal(ov, vfi_ranges_at(ref, o), sizeof(Elem));
        } else {
            assert_null(ov);
        }
        assert_int_equal(vfi_range_tree_contain(t, iova, last),
                         vfi_ranges_contain(ref, iova, last));
        prev = iova;
    }
}

/* One random step on 4096 slots: insert into a free slot (an element of 1
 * to 3 quarters of it), remove a used one, or reshape one in place. */
static void random_step(VfiRangeTree *t, GArray *ref, bool *used, uint64_t *rng)
{
    uint64_t s = rng_next(rng) % 4096, op = rng_next(rng) % 8;
    uint64_t base = s * SLOT;

    if (!used[s]) {
        Elem e = { { base, base + (1 + s % 3) * (SLOT / 4) - 1 }, rng_next(rng), 0 };

        vfi_range_tree_insert(t, &e);
        vfi_ranges_insert(ref, &e);
        used[s] = true;
    } else if (op < 6) {
        guint i = vfi_ranges_first(ref, base);

        vfi_range_tree_remove(t, base);
        g_array_remove_index(ref, i);
        used[s] = false;
    } else {
        Elem *x = &g_array_index(ref, Elem, vfi_ranges_first(ref, base));

        vfi_range_tree_reshape(t, base, base, base + SLOT - 1 - op);
        x->r.last = base + SLOT - 1 - op;
    }
}

/* Random operations against the GArray, with heavy growth then shrinking
 * (splits, merges, shares, root growth and collapse). */
static void test_random_ops(void **state)
{
    VfiRangeTree *t = vfi_range_tree_new(sizeof(Elem));
    g_autoptr(GArray) ref = g_array_new(false, false, sizeof(Elem));
    g_autofree bool *used = g_new0(bool, 4096);
    uint64_t rng = 42;

    for (int step = 0; step < 60000; step++) {
        random_step(t, ref, used, &rng);
        if (step % 997 == 0) {
            assert_same(t, ref);
        }
        assert_searches(t, ref, &rng);
    }
    assert_same(t, ref);
    /* empty it, in random order */
    while (ref->len) {
        guint i = rng_next(&rng) % ref->len;

        vfi_range_tree_remove(t, g_array_index(ref, Elem, i).r.iova);
        g_array_remove_index(ref, i);
        if (ref->len % 101 == 0) {
            assert_same(t, ref);
        }
    }
    assert_same(t, ref);
    /* nothing but the spare nodes left */
    assert_true(vfi_range_tree_bytes(t) <= 1024 + 4096 + 512);   /* spare leaf, inner, tree */
    vfi_range_tree_free(t);
}

/* Appends fill the leaves: about as many nodes as full leaves need. */
static void test_append_packs(void **state)
{
    VfiRangeTree *t = vfi_range_tree_new(sizeof(Elem));
    const guint n = 100000;
    size_t per_elem;

    for (guint i = 0; i < n; i++) {
        Elem e = { { i * SLOT, i * SLOT + 7 }, i, 0 };

        vfi_range_tree_insert(t, &e);
    }
    assert_valid(t);
    per_elem = vfi_range_tree_bytes(t) / n;
    print_message("appends: %zu bytes per %zu-byte element\n", per_elem, sizeof(Elem));
    assert_true(per_elem <= sizeof(Elem) + sizeof(Elem) / 4);
    for (guint i = 0; i < n; i += 7) {
        assert_int_equal(((Elem *)vfi_range_tree_nth(t, i, NULL))->payload, i);
        assert_int_equal(vfi_range_tree_index(t, i * SLOT + 3), i);
    }
    /* removing from the front keeps it valid and gives the nodes back */
    for (guint i = 0; i < n; i++) {
        vfi_range_tree_remove(t, i * SLOT);
        if (i % 9973 == 0) {
            assert_valid(t);
        }
    }
    assert_int_equal(vfi_range_tree_len(t), 0);
    assert_null(vfi_range_tree_first(t, 0, NULL));
    assert_true(vfi_range_tree_bytes(t) <= 1024 + 4096 + 512);   /* spare leaf, inner, tree */
    vfi_range_tree_free(t);
}

static void assert_same_ranges(const VfiRangeTree *t, const GArray *ref)
{
    VfiRangeIter it;
    const VfiRange *r = vfi_range_tree_nth(t, 0, &it);

    assert_valid(t);
    assert_int_equal(vfi_range_tree_len(t), ref->len);
    for (guint i = 0; i < ref->len; i++, r = vfi_range_iter_next(&it)) {
        assert_non_null(r);
        assert_int_equal(r->iova, g_array_index(ref, VfiRange, i).iova);
        assert_int_equal(r->last, g_array_index(ref, VfiRange, i).last);
    }
    assert_null(r);
}

/* Merged adds and cuts of random (overlapping, touching) ranges, against
 * the GArray helpers, the edges of the IOVA space included. */
static void test_merged(void **state)
{
    VfiRangeTree *t = vfi_range_tree_new(sizeof(VfiRange));
    g_autoptr(GArray) ref = g_array_new(false, false, sizeof(VfiRange));
    uint64_t rng = 7;

    for (int step = 0; step < 40000; step++) {
        uint64_t iova = (rng_next(&rng) % 20000) * 16, len = 16 * (1 + rng_next(&rng) % 40);
        uint64_t last = iova + len - 1;

        if (step % 500 == 0) {
            iova = step % 1000 ? UINT64_MAX - 31 : 0;
            last = step % 1000 ? UINT64_MAX : 15;
        }
        if (rng_next(&rng) % 3) {
            vfi_range_tree_add_merged(t, iova, last);
            vfi_ranges_add_merged(ref, iova, last);
        } else {
            vfi_range_tree_remove_cut(t, iova, last);
            vfi_ranges_remove(ref, iova, last);
        }
        if (step % 401 == 0) {
            assert_same_ranges(t, ref);
        }
    }
    assert_same_ranges(t, ref);
    vfi_range_tree_remove_cut(t, 0, UINT64_MAX);
    assert_int_equal(vfi_range_tree_len(t), 0);
    vfi_range_tree_add_merged(t, 0, UINT64_MAX);
    assert_true(vfi_range_tree_contain(t, 0, UINT64_MAX));
    vfi_range_tree_clear(t);
    assert_int_equal(vfi_range_tree_len(t), 0);
    vfi_range_tree_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_ops),
        cmocka_unit_test(test_append_packs),
        cmocka_unit_test(test_merged),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
