/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: kept dirty pages (internal).
 *
 * Pages whose dirty state the library read from a source, and so cleared
 * there, but could not deliver to the log that asked: a device's pages read
 * with NO_CLEAR (DMA_LOGGING_REPORT always clears), or the pages of a
 * mapping around a range that a HWPT read had to cover whole (an IOPTE
 * never crosses a mapping, but may cross any other edge). The next read of
 * those pages delivers them. A kept set is a GArray of VfiRange (both ends
 * inclusive, sorted, merged: util/ranges.h), NULL while nothing was kept.
 */
#ifndef VFI_UTIL_KEPT_H
#define VFI_UTIL_KEPT_H

#include <stdint.h>
#include <glib.h>

#include "util/ranges.h"

/* Keep the pages whose bits are set among bits [first, first + n) of @bits
 * (bit b stands for the page at @iova + b * @ps), one range per run of set
 * bits; *@kept is created on the first page kept. */
void vfi_kept_add(GArray **kept, uint64_t iova, uint64_t ps, const uint64_t *bits,
                  uint64_t first, uint64_t n);

/* OR into @bitmap (any byte address, 64-bit words; bit b stands for the
 * page at @bitmap_iova + b * @ps) a bit for each page of [iova, last] (both
 * aligned to @ps, no lower than @bitmap_iova) that overlaps a kept range.
 * @kept may be NULL. */
void vfi_kept_report(const GArray *kept, uint64_t iova, uint64_t last, uint64_t ps,
                     void *bitmap, uint64_t bitmap_iova);

/* Forget the kept pages in [iova, last] (delivered, or unmapped). @kept may
 * be NULL. */
void vfi_kept_forget(GArray *kept, uint64_t iova, uint64_t last);

/* Whether any page of [iova, last] is kept. */
bool vfi_kept_any(const GArray *kept, uint64_t iova, uint64_t last);

#endif
