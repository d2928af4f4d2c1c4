/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-iommufd: range lists in a live-update blob (util/saved-ranges.h). */
#include <inttypes.h>

#include "vfio-iommufd/error.h"
#include "util/saved-ranges.h"

GVariant *vfi_saved_ranges(const GArray *a)
{
    GVariantBuilder b;

    g_variant_builder_init(&b, G_VARIANT_TYPE(VFI_SAVED_RANGES));
    for (guint i = 0; a && i < a->len; i++) {
        const VfiRange *r = &g_array_index(a, VfiRange, i);

        g_variant_builder_add(&b, "(tt)", (guint64)r->iova, (guint64)r->last);
    }
    return g_variant_builder_end(&b);
}

bool vfi_saved_ranges_check(GVariant *v, const char *what, GError **errp)
{
    gsize n = g_variant_n_children(v);
    guint64 prev_last = 0;

    for (gsize i = 0; i < n; i++) {
        guint64 iova, last;

        g_variant_get_child(v, i, "(tt)", &iova, &last);
        if (iova > last || (i && iova <= prev_last)) {
            g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                        "live-update blob: %s: range %" G_GSIZE_FORMAT " [0x%" PRIx64
                        ", 0x%" PRIx64 "] is empty or not after the one before it", what, i,
                        (uint64_t)iova, (uint64_t)last);
            return false;
        }
        prev_last = last;
    }
    return true;
}

GArray *vfi_saved_ranges_array(GVariant *v)
{
    gsize n = g_variant_n_children(v);
    GArray *a;

    if (!n) {
        return NULL;
    }
    a = g_array_sized_new(false, false, sizeof(VfiRange), n);
    for (gsize i = 0; i < n; i++) {
        guint64 iova, last;
        VfiRange r;

        g_variant_get_child(v, i, "(tt)", &iova, &last);
        r.iova = iova;
        r.last = last;
        g_array_append_val(a, r);
    }
    return a;
}
