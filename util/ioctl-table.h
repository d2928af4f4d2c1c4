/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the ioctl layer's table of requests (internal).
 *
 * For each IOMMUFD request and each VFIO device request it knows, the table
 * gives the request's name and how to describe its argument struct in the
 * trace event vfi_kernel_ioctl: the inputs that matter (object ids, iova,
 * length, flags, page size, feature and range count) before the call, the
 * outputs (new ids, the iova the kernel chose, the length unmapped, ...)
 * after it. Only numbers are described, never a user pointer.
 *
 * The description reads the caller's struct, so it is made only while the
 * event is switched on, and only up to the struct's own size field.
 */
#ifndef VFI_IOCTL_TABLE_H
#define VFI_IOCTL_TABLE_H

#include <stddef.h>
#include <stdint.h>

/* Longest description kept; a longer one ends in "...". */
#define VFI_IOCTL_TEXT_MAX 384

/* A description being built: " key value" fields, NUL-terminated. */
typedef struct VfiIoctlText {
    char buf[VFI_IOCTL_TEXT_MAX];
    size_t len;
    uint64_t kept;   /* an input the outputs need (the array size of a query) */
} VfiIoctlText;

/* The name of @request ("IOMMU_IOAS_MAP"), or NULL if the table lacks it. */
const char *vfi_ioctl_name(unsigned long request);

/* Start @t with the inputs of @request read from @arg (may be NULL); an
 * unknown request is described by its number. */
void vfi_ioctl_describe_in(VfiIoctlText *t, unsigned long request, const void *arg);

/* Append " -> outputs" of @request read from @arg after the call returned
 * @ret (>= 0, or -errno); nothing when the call failed, except the outputs
 * a failure sets (the count IOMMU_IOAS_IOVA_RANGES asks for with EMSGSIZE). */
void vfi_ioctl_describe_out(VfiIoctlText *t, unsigned long request, const void *arg,
                            int ret);

#endif
