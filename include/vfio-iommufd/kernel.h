/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the ioctl layer, and how to test a VMM without hardware.
 *
 * Every request the library sends to the kernel (open of /dev/iommu or of a
 * VFIO cdev, close of such an fd, every ioctl) goes through one table of
 * operations.  By default it is the running Linux kernel.  This seam is the
 * one way to run the library, and a VMM's passthrough and migration code on
 * top of it, without IOMMU hardware or VFIO devices; there is no other hook:
 *
 *  - install the kernel model: link libvfio-iommufd-sim (pkg-config
 *    vfio-iommufd-sim), #include <vfio-iommufd-sim/sim.h>, build a topology
 *    and call vfi_sim_install(), which calls vfi_kernel_install() with the
 *    model's operations and its simulated sysfs tree.  The model is a
 *    separate library and talks to this one only through this header: the
 *    production library holds none of its code;
 *  - or install your own VfiKernelOps (a recording or fault-injecting
 *    kernel, a wrapper around the installed one from vfi_kernel_get()).
 *    The operations see what Linux would see: paths, fds, ioctl request
 *    numbers and the UAPI structs of <linux/iommufd.h> and <linux/vfio.h>.
 *    Sysfs lookups (the cdev of a PCI address or a sysfs path) read the
 *    real files under the sysfs root given to vfi_kernel_install().
 *
 * The table is process-wide: install it before creating any backend or
 * device, and do not switch it while objects made under the previous one are
 * alive (nor while another thread calls the library). Its operations are
 * called from the VMM's threads, for different address spaces at the same
 * time, with the library's locks held: an installed kernel must be
 * thread-safe when the VMM uses threads (Linux and the kernel model are) and
 * must not call back into the library.
 */
#ifndef VFI_KERNEL_H
#define VFI_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <glib.h>

#include "vfio-iommufd/visibility.h"

G_BEGIN_DECLS

/* The kernel as the library sees it: every request goes through these
 * operations (vfi_kernel_install()). The struct grows at its end from one
 * release to the next (docs/abi.md, "Structs that grow"): initialize it with
 * VFI_KERNEL_OPS_INIT(), which sets @size; an operation beyond the size the
 * caller was compiled with is absent (NULL). */
typedef struct VfiKernelOps {
    /* sizeof(VfiKernelOps) as the caller was compiled (VFI_KERNEL_OPS_INIT()
     * sets it): from VFI_KERNEL_OPS_SIZE_VER0 to this library's sizeof;
     * vfi_kernel_install() refuses any other. */
    size_t size;
    /* Open a device node (/dev/iommu, /dev/vfio/devices/vfioN).
     * Returns an fd >= 0, or a negative errno. */
    int (*open)(void *opaque, const char *path, int flags);
    /* Close an fd returned by open. Returns 0 or a negative errno. */
    int (*close)(void *opaque, int fd);
    /* Issue an ioctl. Returns the (non-negative) result or a negative errno. */
    int (*ioctl)(void *opaque, int fd, unsigned long request, void *arg);
    /* read(2) on an fd an ioctl returned (a vEVENTQ or a fault queue).
     * Returns the bytes read (0: nothing queued) or a negative errno. NULL:
     * the running Linux kernel's read(2) on the fd. */
    ssize_t (*read)(void *opaque, int fd, void *buf, size_t len);
    /* write(2) on such an fd (a fault queue's page responses). Returns the
     * bytes written or a negative errno. NULL: Linux's write(2). */
    ssize_t (*write)(void *opaque, int fd, const void *buf, size_t len);
    /* mmap(2) of @len bytes at @offset of an iommufd (a vIOMMU's window),
     * shared, readable and writeable. Returns 0 with *@addr set, or a
     * negative errno. NULL: Linux's mmap(2). */
    int (*mmap)(void *opaque, int fd, size_t len, uint64_t offset, void **addr);
    /* munmap(2) of such a mapping. Returns 0 or a negative errno. NULL:
     * Linux's munmap(2). */
    int (*munmap)(void *opaque, void *addr, size_t len);
} VfiKernelOps;

/**
 * VFI_KERNEL_OPS_SIZE_VER0:
 *
 * The smallest VfiKernelOps the library takes: @size, @open, @close and
 * @ioctl (the operations every kernel must have). The later members (@read,
 * @write, @mmap, @munmap, and whatever a later release appends) are optional:
 * outside the caller's @size they are NULL (Linux's).
 */
#define VFI_KERNEL_OPS_SIZE_VER0 \
    (offsetof(VfiKernelOps, ioctl) + sizeof(((VfiKernelOps *)0)->ioctl))

/**
 * VFI_KERNEL_OPS_INIT:
 * @...: designated initializers of the operations (may be empty).
 *
 * An initializer of a VfiKernelOps with @size set to the sizeof() of the
 * headers compiled against: `static const VfiKernelOps ops =
 * VFI_KERNEL_OPS_INIT(.open = my_open, .close = my_close, .ioctl = my_ioctl);`
 */
#define VFI_KERNEL_OPS_INIT(...) { .size = sizeof(VfiKernelOps), __VA_ARGS__ }

/**
 * vfi_kernel_install:
 * @ops: the operations (must stay valid while installed); NULL restores the
 *       running Linux kernel.
 * @opaque: passed to every operation.
 * @sysfs_root: where sysfs is mounted for this kernel ("/sys" for Linux);
 *              copied. NULL means "/sys".
 * @errp: where to put the error.
 *
 * Make @ops the kernel of this process. Refused with
 * VFI_ERROR_INVALID_ARGUMENT, the installed kernel kept, when @ops->size is
 * below VFI_KERNEL_OPS_SIZE_VER0 or above this library's sizeof(VfiKernelOps)
 * (a newer layout), or @open, @close or @ioctl is NULL. Installing NULL (Linux)
 * never fails.
 *
 * Returns: true when @ops is installed.
 */
VFI_API bool vfi_kernel_install(const VfiKernelOps *ops, void *opaque,
                                const char *sysfs_root, GError **errp);

/**
 * vfi_kernel_get:
 * @ops: out: the installed operations as given to vfi_kernel_install()
 *       (the Linux ones by default); a wrapper calls only the members within
 *       their @size, and treats NULL ones as Linux's.
 * @opaque: out (may be NULL): their opaque pointer.
 *
 * Lets a caller wrap the installed kernel (to time or log every request)
 * and install the wrapper with vfi_kernel_install().
 */
VFI_API void vfi_kernel_get(const VfiKernelOps **ops, void **opaque);

/**
 * vfi_kernel_sysfs_root:
 *
 * Returns: the sysfs mount point of the installed kernel (owned by the
 * library, valid until the next vfi_kernel_install()).
 */
VFI_API const char *vfi_kernel_sysfs_root(void);

/**
 * vfi_kernel_is_linux:
 *
 * Returns: true when the running Linux kernel is installed (the default).
 */
VFI_API bool vfi_kernel_is_linux(void);

G_END_DECLS

#endif
