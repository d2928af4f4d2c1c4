/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the ioctl layer, the one place a request leaves the library.
 *
 * By default requests go to the running Linux kernel; vfi_kernel_install()
 * puts another kernel (the model of sim/) in its place.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/kernel.h"
#include "util/kernel-internal.h"
#include "util/ioctl-table.h"
#include "trace-root.h"

static int linux_open(void *opaque, const char *path, int flags)
{
    int fd;

    (void)opaque;
    do {
        fd = open(path, flags | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : fd;
}

static int linux_close(void *opaque, int fd)
{
    (void)opaque;
    /* Linux releases the fd even when close() reports EINTR: never retry. */
    return close(fd) < 0 && errno != EINTR ? -errno : 0;
}

static int linux_ioctl(void *opaque, int fd, unsigned long request, void *arg)
{
    int ret;

    (void)opaque;
    do {
        ret = ioctl(fd, request, arg);
    } while (ret < 0 && errno == EINTR);
    return ret < 0 ? -errno : ret;
}

static ssize_t linux_read(void *opaque, int fd, void *buf, size_t len)
{
    ssize_t ret;

    (void)opaque;
    do {
        ret = read(fd, buf, len);
    } while (ret < 0 && errno == EINTR);
    return ret < 0 ? -errno : ret;
}

static ssize_t linux_write(void *opaque, int fd, const void *buf, size_t len)
{
    ssize_t ret;

    (void)opaque;
    do {
        ret = write(fd, buf, len);
    } while (ret < 0 && errno == EINTR);
    return ret < 0 ? -errno : ret;
}

static int linux_mmap(void *opaque, int fd, size_t len, uint64_t offset, void **addr)
{
    void *p;

    (void)opaque;
    p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)offset);
    if (p == MAP_FAILED) {
        return -errno;
    }
    *addr = p;
    return 0;
}

static int linux_munmap(void *opaque, void *addr, size_t len)
{
    (void)opaque;
    return munmap(addr, len) < 0 ? -errno : 0;
}

/*
 * The kind of each fd the layer opened (from its path) or a group handed
 * out (VFIO_GROUP_GET_DEVICE_FD), for the decoding of the ioctl event: VFIO
 * numbers its requests again for each kind of file. Indexed by fd, grown
 * when a larger fd is opened, up to FD_KINDS_MAX bytes (an fd beyond is
 * decoded by its request's number alone); an fd is forgotten at its close
 * and every fd when another kernel is installed (its fds are not this
 * one's). Only the traced ioctls read it.
 */
#define FD_KINDS_MAX (1u << 20)

static GMutex fd_kinds_lock;
static uint8_t *fd_kinds;
static size_t fd_kinds_len;

/* fork(): the lock is not held across it (a thread of the parent holding
 * it would leave the child's opens and closes locked for ever). */
static void fd_kinds_unlock(void)
{
    g_mutex_unlock(&fd_kinds_lock);
}

static void fd_kinds_prefork(void)
{
    g_mutex_lock(&fd_kinds_lock);
}

static void fd_kinds_init(void)
{
    pthread_atfork(fd_kinds_prefork, fd_kinds_unlock, fd_kinds_unlock);
}

static void fd_kinds_lock_take(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    pthread_once(&once, fd_kinds_init);
    g_mutex_lock(&fd_kinds_lock);
}

static void fd_kind_set(int fd, VfiFdKind kind)
{
    fd_kinds_lock_take();
    if (kind != VFI_FD_UNKNOWN && (size_t)fd >= fd_kinds_len && fd < (int)FD_KINDS_MAX) {
        size_t len = MAX(fd_kinds_len, 64);

        while (len <= (size_t)fd) {
            len *= 2;
        }
        fd_kinds = g_realloc(fd_kinds, len);
        memset(fd_kinds + fd_kinds_len, VFI_FD_UNKNOWN, len - fd_kinds_len);
        fd_kinds_len = len;
    }
    if ((size_t)fd < fd_kinds_len) {
        fd_kinds[fd] = (uint8_t)kind;
    }
    fd_kinds_unlock();
}

static VfiFdKind fd_kind_get(int fd)
{
    VfiFdKind kind = VFI_FD_UNKNOWN;

    fd_kinds_lock_take();
    if (fd >= 0 && (size_t)fd < fd_kinds_len) {
        kind = fd_kinds[fd];
    }
    fd_kinds_unlock();
    return kind;
}

static void fd_kinds_forget_all(void)
{
    fd_kinds_lock_take();
    if (fd_kinds_len) {
        memset(fd_kinds, VFI_FD_UNKNOWN, fd_kinds_len);
    }
    fd_kinds_unlock();
}

static const VfiKernelOps linux_ops = VFI_KERNEL_OPS_INIT(
    .open = linux_open,
    .close = linux_close,
    .ioctl = linux_ioctl,
    .read = linux_read,
    .write = linux_write,
    .mmap = linux_mmap,
    .munmap = linux_munmap,
);

/* What the VMM installed (vfi_kernel_get() returns it), and the copy the
 * calls go through: this library's layout, the operations beyond the
 * caller's size NULL. */
static const VfiKernelOps *kernel_given = &linux_ops;
static VfiKernelOps kernel_copy;
static const VfiKernelOps *kernel_ops = &linux_ops;
static void *kernel_opaque;
static char *kernel_sysfs_root;

bool vfi_kernel_install(const VfiKernelOps *ops, void *opaque, const char *sysfs_root,
                        GError **errp)
{
    VfiKernelOps copy;
    char *root;

    if (ops && !vfi_struct_size_copy(&copy, sizeof(copy), ops, VFI_KERNEL_OPS_SIZE_VER0,
                                     "VfiKernelOps", errp)) {
        return false;
    }
    if (ops && (!copy.open || !copy.close || !copy.ioctl)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "VfiKernelOps without %s: open, close and ioctl are required",
                    !copy.open ? "open" : !copy.close ? "close" : "ioctl");
        return false;
    }
    /* Copy first: @sysfs_root may be vfi_kernel_sysfs_root() itself. */
    root = g_strdup(sysfs_root && ops ? sysfs_root : "/sys");
    if (ops) {
        kernel_copy = copy;
    }
    kernel_given = ops ? ops : &linux_ops;
    kernel_ops = ops ? &kernel_copy : &linux_ops;
    kernel_opaque = ops ? opaque : NULL;
    g_free(kernel_sysfs_root);
    kernel_sysfs_root = root;
    fd_kinds_forget_all();
    trace_vfi_kernel_install(ops ? "installed" : "linux", kernel_sysfs_root);
    return true;
}

void vfi_kernel_get(const VfiKernelOps **ops, void **opaque)
{
    *ops = kernel_given;
    if (opaque) {
        *opaque = kernel_opaque;
    }
}

const char *vfi_kernel_sysfs_root(void)
{
    return kernel_sysfs_root ? kernel_sysfs_root : "/sys";
}

bool vfi_kernel_is_linux(void)
{
    return kernel_ops == &linux_ops;
}

int vfi_kernel_open(const char *path, int flags)
{
    int ret = kernel_ops->open(kernel_opaque, path, flags);

    if (ret >= 0) {
        fd_kind_set(ret, vfi_fd_kind_of_path(path));
    }
    trace_vfi_kernel_open(path, flags, ret);
    return ret;
}

int vfi_kernel_close(int fd)
{
    int ret;

    /* forgotten first: once closed, its number may be another thread's */
    if (fd >= 0) {
        fd_kind_set(fd, VFI_FD_UNKNOWN);
    }
    ret = kernel_ops->close(kernel_opaque, fd);

    trace_vfi_kernel_close(fd, ret);
    return ret;
}

ssize_t vfi_kernel_read(int fd, void *buf, size_t len)
{
    ssize_t ret = kernel_ops->read ? kernel_ops->read(kernel_opaque, fd, buf, len) :
                  linux_read(NULL, fd, buf, len);

    trace_vfi_kernel_read(fd, len, ret < 0 ? -1 : ret, ret < 0 ? (int)-ret : 0);
    return ret;
}

ssize_t vfi_kernel_write(int fd, const void *buf, size_t len)
{
    ssize_t ret = kernel_ops->write ? kernel_ops->write(kernel_opaque, fd, buf, len) :
                  linux_write(NULL, fd, buf, len);

    trace_vfi_kernel_write(fd, len, ret < 0 ? -1 : ret, ret < 0 ? (int)-ret : 0);
    return ret;
}

int vfi_kernel_mmap(int fd, size_t len, uint64_t offset, void **addr)
{
    int ret = kernel_ops->mmap ? kernel_ops->mmap(kernel_opaque, fd, len, offset, addr) :
              linux_mmap(NULL, fd, len, offset, addr);

    trace_vfi_kernel_mmap(fd, len, offset, ret < 0 ? -ret : 0);
    return ret;
}

int vfi_kernel_munmap(void *addr, size_t len)
{
    int ret = kernel_ops->munmap ? kernel_ops->munmap(kernel_opaque, addr, len) :
              linux_munmap(NULL, addr, len);

    trace_vfi_kernel_munmap(len, ret < 0 ? -ret : 0);
    return ret;
}

/* The fd a group handed out is a device's (the only request returning one
 * of the files the table knows). */
static void note_new_fd(unsigned long request, int ret)
{
    if (request == VFIO_GROUP_GET_DEVICE_FD && ret >= 0) {
        fd_kind_set(ret, VFI_FD_VFIO_DEVICE);
    }
}

/*
 * One event per ioctl, described from the UAPI struct of the request as
 * the kind of @fd names it: the inputs before the call (the kernel
 * overwrites in/out fields), the outputs after it. Nothing is read or
 * formatted while the event is off.
 */
int vfi_kernel_ioctl(int fd, unsigned long request, void *arg, const char *name)
{
    bool traced = trace_vfi_kernel_ioctl_enabled();
    VfiIoctlText text;
    const char *known;
    VfiFdKind kind;
    int ret;

    if (!traced) {
        ret = kernel_ops->ioctl(kernel_opaque, fd, request, arg);
        note_new_fd(request, ret);
        return ret;
    }
    kind = fd_kind_get(fd);
    vfi_ioctl_describe_in(&text, kind, request, arg);
    ret = kernel_ops->ioctl(kernel_opaque, fd, request, arg);
    note_new_fd(request, ret);
    vfi_ioctl_describe_out(&text, kind, request, arg, ret);
    known = vfi_ioctl_name(kind, request);
    trace_vfi_kernel_ioctl(fd, known ? known : name ? name : "?", text.buf,
                           ret < 0 ? -1 : ret, ret < 0 ? -ret : 0);
    return ret;
}

G_DEFINE_QUARK(vfi-error-quark, vfi_error)
G_DEFINE_QUARK(vfi-kernel-error-quark, vfi_kernel_error)

void vfi_kernel_uapi_missing(GError **errp, const char *what, const char *symbol,
                             const char *since)
{
    trace_vfi_uapi_missing(what, symbol, since);
    g_set_error(errp, VFI_ERROR, VFI_ERROR_NOT_SUPPORTED,
                "%s: built against Linux UAPI headers without %s (%s has it): rebuild "
                "with newer headers (meson -Duapi_include=DIR)", what, symbol, since);
}

void vfi_kernel_error(GError **errp, int err, const char *what, const char *min_kernel,
                       const char *fmt, ...)
{
    g_autofree char *detail = NULL;
    va_list ap;

    va_start(ap, fmt);
    detail = g_strdup_vprintf(fmt, ap);
    va_end(ap);

    if (err == ENOTTY && min_kernel) {
        g_set_error(errp, VFI_KERNEL_ERROR, err,
                    "%s: not supported by this kernel (errno %d, ENOTTY): it exists "
                    "from Linux %s: %s", what, err, min_kernel, detail);
        return;
    }
    g_set_error(errp, VFI_KERNEL_ERROR, err, "%s: %s (errno %d): %s",
                what, g_strerror(err), err, detail);
}

bool vfi_struct_size_copy(void *dst, size_t dst_size, const void *src, size_t min_size,
                          const char *what, GError **errp)
{
    size_t size;

    memcpy(&size, src, sizeof(size));
    trace_vfi_struct_size(what, size, min_size, dst_size);
    if (size < min_size || size > dst_size) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s of size %zu: this library takes %zu to %zu bytes (%s)", what,
                    size, min_size, dst_size,
                    size < min_size ? "too small: initialize it with its _INIT() macro"
                                    : "a newer layout than this library's: built against "
                                      "newer headers");
        return false;
    }
    memset(dst, 0, dst_size);
    memcpy(dst, src, size);
    return true;
}
