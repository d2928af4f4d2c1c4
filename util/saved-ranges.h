/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: sorted range lists in a live-update blob (internal).
 *
 * A GArray of VfiRange (util/ranges.h: sorted, disjoint, both ends
 * inclusive) as the GVariant "a(tt)" every layer's saved state uses for
 * its range lists (a device's logged and kept pages, a container's kept
 * pages), and back, checked.
 */
#ifndef VFI_UTIL_SAVED_RANGES_H
#define VFI_UTIL_SAVED_RANGES_H

#include <stdbool.h>
#include <glib.h>

#include "util/ranges.h"

/* The GVariant type string of a saved range list. */
#define VFI_SAVED_RANGES "a(tt)"

/* @a (NULL: empty) as a floating "a(tt)". */
GVariant *vfi_saved_ranges(const GArray *a);
/* Whether @v (an "a(tt)") is sorted, disjoint, each iova <= last; @what
 * names the list in the INVALID_ARGUMENT error. No ioctl. */
bool vfi_saved_ranges_check(GVariant *v, const char *what, GError **errp);
/* @v (checked) as a new GArray of VfiRange, NULL when empty. */
GArray *vfi_saved_ranges_array(GVariant *v);

#endif
