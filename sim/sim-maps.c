/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The kernel model: the mappings of one IOAS, ordered by IOVA, disjoint.
 *
 * The kernel keeps an IOAS's areas in an interval tree: a map, an unmap
 * and a lookup cost O(log n) whatever the IOAS holds. The model does the
 * same (a GSequence, a balanced tree), so a benchmark of the library's
 * mapping record beside the bare ioctl (tests/bench/bench-map.c) compares
 * it with a kernel whose cost has the kernel's shape, not with a sorted
 * array's O(n) insert.
 */
#include "sim-internal.h"

struct SimMaps {
    GSequence *seq;             /* SimMapping (owned), by IOVA */
};

SimMaps *sim_maps_new(void)
{
    SimMaps *maps = g_new0(SimMaps, 1);

    maps->seq = g_sequence_new(g_free);
    return maps;
}

void sim_maps_free(SimMaps *maps)
{
    if (maps) {
        g_sequence_free(maps->seq);
        g_free(maps);
    }
}

guint sim_maps_len(const SimMaps *maps)
{
    return (guint)g_sequence_get_length(maps->seq);
}

/* Mappings are disjoint: ordering by last orders by IOVA too. */
static gint cmp_last(gconstpointer a, gconstpointer b, gpointer data)
{
    const SimMapping *x = a, *y = b;

    (void)data;
    return x->last < y->last ? -1 : x->last > y->last;
}

static SimMapping *at(GSequenceIter *it)
{
    return g_sequence_iter_is_end(it) ? NULL : g_sequence_get(it);
}

SimMapping *sim_maps_first(const SimMaps *maps, uint64_t iova)
{
    SimMapping key = { .last = iova - 1 };

    if (iova == 0) {
        return at(g_sequence_get_begin_iter(maps->seq));
    }
    /* after every mapping whose last <= iova - 1 */
    return at(g_sequence_search(maps->seq, &key, cmp_last, NULL));
}

SimMapping *sim_maps_next(const SimMapping *m)
{
    return at(g_sequence_iter_next(m->it));
}

SimMapping *sim_maps_insert(SimMaps *maps, const SimMapping *m)
{
    SimMapping *copy = g_memdup2(m, sizeof(*m));

    copy->it = g_sequence_insert_sorted(maps->seq, copy, cmp_last, NULL);
    return copy;
}

void sim_maps_remove(SimMaps *maps, SimMapping *m)
{
    (void)maps;
    g_sequence_remove(m->it);
}

void sim_maps_clear(SimMaps *maps)
{
    g_sequence_remove_range(g_sequence_get_begin_iter(maps->seq),
                            g_sequence_get_end_iter(maps->seq));
}
