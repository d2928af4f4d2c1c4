/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-ops: choosing the arguments of the operations (valid and invalid
 * ones: ranges that cut mappings, lie in the MSI window or above the
 * aperture, are misaligned, empty or overflow), and the VMM's record of
 * its mappings.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "fuzz.h"

/* ---- choosing ------------------------------------------------------------- */

/* A slot with an open device, preferably (@pct_in %) one in a container. */
int fz_pick_open(Fz *f, unsigned pct_in)
{
    int any = -1, in = -1;
    unsigned start = fz_below(f, f->nslots);
    bool want_in = fz_chance(f, pct_in);

    for (unsigned k = 0; k < f->nslots; k++) {
        unsigned i = (start + k) % f->nslots;
        VfiDevice *d = f->slots[i].dev;

        if (d && any < 0) {
            any = (int)i;
        }
        if (d && in < 0 && vfi_device_get_container(d)) {
            in = (int)i;
        }
    }
    return want_in && in >= 0 ? in : any;
}

int fz_pick_closed(Fz *f)
{
    unsigned start = fz_below(f, f->nslots);

    for (unsigned k = 0; k < f->nslots; k++) {
        unsigned i = (start + k) % f->nslots;

        if (!f->slots[i].dev) {
            return (int)i;
        }
    }
    return -1;
}

FzCont *fz_pick_cont(Fz *f)
{
    return f->conts->len ? g_ptr_array_index(f->conts, fz_below(f, f->conts->len)) : NULL;
}

bool fz_have_cont(Fz *f)
{
    return f->conts->len > 0;
}

bool fz_have_open(Fz *f)
{
    for (unsigned i = 0; i < f->nslots; i++) {
        if (f->slots[i].dev) {
            return true;
        }
    }
    return false;
}

bool fz_have_closed(Fz *f)
{
    for (unsigned i = 0; i < f->nslots; i++) {
        if (!f->slots[i].dev) {
            return true;
        }
    }
    return false;
}

/* A range to map: mostly ordinary pages of the region, sometimes where no
 * domain can map (MSI window, above the 48-bit aperture, not page-aligned),
 * or invalid (empty, overflowing, no vaddr). */
void fz_gen_map_range(Fz *f, FzOp *o, void **va)
{
    unsigned r = fz_below(f, 100);

    o->iova = FZ_REGION + fz_below(f, FZ_REGION_PAGES) * FZ_PAGE;
    o->size = (1 + fz_below(f, 4)) * FZ_PAGE;
    if (r >= 84 && r < 88) {
        o->iova = FZ_MSI_WINDOW + fz_below(f, 4) * FZ_PAGE;
    } else if (r >= 88 && r < 91) {
        o->iova = (UINT64_C(1) << 48) + fz_below(f, 4) * FZ_PAGE;
    } else if (r >= 91 && r < 94) {
        o->iova += 0x800;
        o->size = fz_chance(f, 50) ? 0x800 : 0x1800;
    } else if (r >= 94 && r < 96) {
        o->size = 0;
    } else if (r >= 96 && r < 98) {
        o->iova = UINT64_MAX - FZ_PAGE + 1;
        o->size = 2 * FZ_PAGE;
    }
    *va = r >= 98 ? NULL : fz_va(o->iova);
    g_string_append_printf(o->detail, " [0x%" PRIx64 ", +0x%" PRIx64 "]%s", o->iova,
                           o->size, *va ? "" : " vaddr=NULL");
}

/* A range to unmap: one of @cands exactly, several of them, a random range
 * (cutting or empty), or an odd one. */
void fz_gen_unmap_range(Fz *f, FzOp *o, const GArray *cands)
{
    unsigned r = fz_below(f, 100), n = cands->len;

    if (r < 40 && n) {
        const FzMap *m = &g_array_index(cands, FzMap, fz_below(f, n));

        o->iova = m->iova;
        o->size = m->size;
    } else if (r < 55 && n >= 2) {
        const FzMap *a = &g_array_index(cands, FzMap, fz_below(f, n));
        const FzMap *b = &g_array_index(cands, FzMap, fz_below(f, n));

        o->iova = MIN(a->iova, b->iova);
        o->size = MAX(a->iova + a->size, b->iova + b->size) - o->iova;
    } else if (r < 88) {
        o->iova = FZ_REGION + fz_below(f, FZ_REGION_PAGES) * FZ_PAGE;
        o->size = (1 + fz_below(f, 6)) * FZ_PAGE;
    } else if (r < 92) {
        o->iova = 0;
        o->size = FZ_LOG_SPAN;
    } else if (r < 94) {
        o->iova = FZ_REGION;
        o->size = 0;
    } else if (r < 96) {
        o->iova = UINT64_MAX - FZ_PAGE + 1;
        o->size = 2 * FZ_PAGE;
    } else if (r < 98) {
        o->iova = FZ_REGION + 0x800;
        o->size = FZ_PAGE;
    } else {
        o->iova = 0;
        o->size = UINT64_MAX;
    }
    g_string_append_printf(o->detail, " [0x%" PRIx64 ", +0x%" PRIx64 "]", o->iova, o->size);
}

unsigned fz_gen_unmap_flags(Fz *f, FzOp *o, unsigned discard_pct)
{
    o->flags = (fz_chance(f, 30) ? VFI_UNMAP_ALLOW_ABSENT : 0) |
               (fz_chance(f, discard_pct) ? VFI_UNMAP_DISCARD_DIRTY : 0);
    g_string_append_printf(o->detail, " flags=%s%s", o->flags & VFI_UNMAP_ALLOW_ABSENT ?
                           "ALLOW_ABSENT," : "", o->flags & VFI_UNMAP_DISCARD_DIRTY ?
                           "DISCARD_DIRTY" : "");
    return o->flags;
}

/* Candidates to unmap in @fc: its own mappings, and (@with_as) the address
 * space's, so that a call at one level meets the other's. */
GArray *fz_unmap_cands(Fz *f, const FzCont *fc, bool with_as)
{
    GArray *a = g_array_new(false, false, sizeof(FzMap));

    if (fc) {
        g_array_append_vals(a, fc->maps->data, fc->maps->len);
    }
    if (with_as) {
        g_array_append_vals(a, f->as_maps->data, f->as_maps->len);
    }
    return a;
}

/* ---- the shadow's mappings -------------------------------------------------- */

void fz_maps_add(GArray *maps, uint64_t iova, uint64_t size, bool readonly)
{
    FzMap m = { iova, size, readonly };

    g_array_append_val(maps, m);
}

/* Forget the mappings inside [lo, hi]; a success over a mapping that sticks
 * out of the range is reported (the library refuses such ranges). */
uint64_t fz_maps_remove(Fz *f, GArray *maps, uint64_t lo, uint64_t hi)
{
    uint64_t bytes = 0;

    for (guint i = 0; i < maps->len;) {
        const FzMap *m = &g_array_index(maps, FzMap, i);
        uint64_t last = m->iova + (m->size - 1);

        if (last < lo || m->iova > hi) {
            i++;
            continue;
        }
        if (m->iova < lo || last > hi) {
            fz_viol(f, "E-cut-succeeded", "an unmap of [0x%" PRIx64 ", 0x%" PRIx64 "] "
                    "succeeded over the mapping [0x%" PRIx64 ", 0x%" PRIx64 "]", lo, hi,
                    m->iova, last);
        }
        bytes += m->size;
        g_array_remove_index(maps, i);
    }
    return bytes;
}

uint64_t fz_range_last(const FzOp *o)
{
    return o->size ? o->iova + (o->size - 1) : o->iova;
}

bool fz_any_tracking(Fz *f)
{
    for (guint i = 0; i < f->conts->len; i++) {
        if (vfi_container_dirty_tracking_is_active(((FzCont *)g_ptr_array_index(f->conts,
                                                                                 i))->c)) {
            return true;
        }
    }
    return false;
}
