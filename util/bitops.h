/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: ORing runs of bits between 64-bit-word bitmaps (internal):
 * a dirty read's buffer into the VMM's log at any bit offset.
 */
#ifndef VFI_UTIL_BITOPS_H
#define VFI_UTIL_BITOPS_H

#include <stdbool.h>
#include <stdint.h>

/* OR the @n bits of @src from bit @from on into @dst from bit @bit on,
 * word-wise; no word of @src past those bits is read. With @atomic every
 * word of @dst is ORed with one atomic operation (other threads may be
 * ORing into the same words); zero words are skipped either way. */
void vfi_bits_or(uint64_t *dst, uint64_t bit, const uint64_t *src, uint64_t from, uint64_t n,
                 bool atomic);

#endif
