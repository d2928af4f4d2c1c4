/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the ioctl layer's table of requests (internal).
 *
 * For each IOMMUFD request and each VFIO device, group and type1 container
 * request it knows, the table gives the request's name and how to describe
 * its argument struct in the trace event vfi_kernel_ioctl: the inputs that
 * matter (object ids, iova, length, flags, page size, feature and range
 * count) before the call, the outputs (new ids, the iova the kernel chose,
 * the length unmapped, ...) after it. Only numbers are described, never a
 * user pointer.
 *
 * VFIO numbers its requests VFIO_BASE + n for each kind of file again
 * (VFIO_IOMMU_MAP_DMA on a container is VFIO_DEVICE_PCI_HOT_RESET on a
 * device, VFIO_IOMMU_DIRTY_PAGES is VFIO_DEVICE_FEATURE): a request is
 * looked up among those of the kind of file it goes to (VfiFdKind), which
 * the ioctl layer knows of the fds it opened.
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

/* The kind of file an fd is, for the table (the ioctl layer records it). */
typedef enum {
    VFI_FD_UNKNOWN,         /* not opened by the library (a VMM's fd, a dup):
                             * looked up by number alone, the IOMMUFD and
                             * device requests first */
    VFI_FD_IOMMUFD,         /* /dev/iommu */
    VFI_FD_VFIO_CONTAINER,  /* /dev/vfio/vfio: VFIO_GET_API_VERSION,
                             * VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU, VFIO_IOMMU_* */
    VFI_FD_VFIO_GROUP,      /* /dev/vfio/N, /dev/vfio/noiommu-N: VFIO_GROUP_* */
    VFI_FD_VFIO_DEVICE,     /* /dev/vfio/devices/vfioN, or VFIO_GROUP_GET_DEVICE_FD's */
} VfiFdKind;

/* The kind of file @path opens (by the Linux device node names above);
 * VFI_FD_UNKNOWN for any other path. */
VfiFdKind vfi_fd_kind_of_path(const char *path);

/* The name of @request on an fd of @kind ("VFIO_IOMMU_MAP_DMA"), or NULL if
 * the table lacks it. A request the table lacks for @kind is looked up by
 * number alone, as on an fd of unknown kind. */
const char *vfi_ioctl_name(VfiFdKind kind, unsigned long request);

/* Start @t with the inputs of @request on an fd of @kind read from @arg
 * (may be NULL); an unknown request is described by its number. */
void vfi_ioctl_describe_in(VfiIoctlText *t, VfiFdKind kind, unsigned long request,
                           const void *arg);

/* Append " -> outputs" of @request read from @arg after the call returned
 * @ret (>= 0, or -errno); nothing when the call failed, except the outputs
 * a failure sets (the count IOMMU_IOAS_IOVA_RANGES asks for with EMSGSIZE). */
void vfi_ioctl_describe_out(VfiIoctlText *t, VfiFdKind kind, unsigned long request,
                            const void *arg, int ret);

#endif
