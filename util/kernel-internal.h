/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: internal entry points of the ioctl layer. Every request the
 * library makes to the kernel goes through these three functions; each one
 * emits a trace event with its arguments, result and errno.
 */
#ifndef VFI_KERNEL_INTERNAL_H
#define VFI_KERNEL_INTERNAL_H

#include <glib.h>
#include <stdint.h>
#include <sys/types.h>

/* Open @path through the installed kernel; the fd's kind (IOMMUFD, VFIO
 * container, group, device: util/ioctl-table.h) is kept from @path for the
 * ioctl event. Returns fd >= 0 or -errno. */
int vfi_kernel_open(const char *path, int flags);
/* Close @fd through the installed kernel (its kind forgotten). Returns 0
 * or -errno. */
int vfi_kernel_close(int fd);
/* ioctl through the installed kernel. Emits one vfi_kernel_ioctl event:
 * fd, the request's name (from the table of util/ioctl-table.c, among the
 * requests of @fd's kind: VFIO reuses its numbers per kind of file; @name
 * only for a request the table lacks), its arguments decoded from the UAPI
 * struct, result and errno. The fd VFIO_GROUP_GET_DEVICE_FD returns is
 * kept as a device's. Returns the result (>= 0) or -errno. */
int vfi_kernel_ioctl(int fd, unsigned long request, void *arg, const char *name);

/* read(2) / write(2) through the installed kernel (an fd an ioctl handed
 * out: vEVENTQ, fault queue), retried on EINTR. One vfi_kernel_read /
 * vfi_kernel_write event each. Returns the bytes done or -errno. */
ssize_t vfi_kernel_read(int fd, void *buf, size_t len);
ssize_t vfi_kernel_write(int fd, const void *buf, size_t len);

/* mmap(2) (shared, read and write) / munmap(2) through the installed kernel,
 * one vfi_kernel_mmap / vfi_kernel_munmap event each. Return 0 or -errno. */
int vfi_kernel_mmap(int fd, size_t len, uint64_t offset, void **addr);
int vfi_kernel_munmap(void *addr, size_t len);

#define VFI_KERNEL_IOCTL(fd, req, arg) vfi_kernel_ioctl((fd), (req), (arg), #req)

/* Set *errp to a VFI_KERNEL_ERROR for @err (positive errno)
 * returned by ioctl @what. The message is "<what>: <strerror> (errno N): <fmt>".
 * ENOTTY (the kernel lacks the ioctl) names the kernel version that added
 * the feature when @min_kernel is non-NULL ("6.7"). EOPNOTSUPP is reported
 * as is: it means the IOMMU cannot do what was asked, not an old kernel. */
void vfi_kernel_error(GError **errp, int err, const char *what,
                       const char *min_kernel, const char *fmt, ...)
    G_GNUC_PRINTF(5, 6);

/* Set *errp to VFI_ERROR / VFI_ERROR_NOT_SUPPORTED for a call the UAPI
 * headers of this build lack: "<what>: built against Linux UAPI headers
 * without <symbol> (<since> has it): rebuild with newer headers". One trace
 * event (vfi_uapi_missing). */
void vfi_kernel_uapi_missing(GError **errp, const char *what, const char *symbol,
                             const char *since);

/*
 * A public struct that can grow (docs/abi.md, "Structs that grow") has
 * `size_t size` first, set by the caller to the sizeof() it was compiled
 * with (the struct's VFI_..._INIT() macro does). Copy the caller's @src into
 * @dst, the library's struct of @dst_size bytes: the members beyond the caller's size
 * read as zero. A size below @min_size (the first layout, VFI_..._SIZE_VER0)
 * or above @dst_size (a layout newer than this library) is refused with
 * VFI_ERROR_INVALID_ARGUMENT naming @what, and @dst is not written. One
 * trace event (vfi_struct_size) either way.
 */
bool vfi_struct_size_copy(void *dst, size_t dst_size, const void *src, size_t min_size,
                          const char *what, GError **errp);

#endif
