/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the iommufd backend object (see include/vfio-iommufd/iommufd.h).
 *
 * A backend is an iommufd plus a count of users. Each wrapper below checks
 * its arguments and the backend's state first (nothing reaches the kernel
 * when they are wrong: trace event vfi_iommufd_reject says why), then issues
 * exactly one IOMMUFD ioctl through the ioctl layer (util/kernel-internal.h),
 * except the IOVA ranges query which calls again with a bigger array when
 * the kernel asks for one (vfi_iommufd_ioas_iova_ranges_retry).
 *
 * The ioctl layer traces every ioctl (vfi_kernel_ioctl, arguments decoded),
 * so the wrappers add no event of their own for it. Events and messages
 * name a backend by its iommufd, never by a pointer.
 *
 * Every argument struct is zero-initialised with its size field set to
 * sizeof, and user pointers travel as u64 through uintptr_t.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>

#include <linux/iommufd.h>

#include "config.h"
#include "vfio-iommufd/error.h"
#include "vfio-iommufd/iommufd.h"
#include "util/kernel-internal.h"
#include "util/refuse.h"
#include "util/lock.h"
#include "iommufd-internal.h"
#include "trace.h"

/* Kernel versions that added the ioctls, for the ENOTTY message. */
#define KVER_IOAS          "6.2"
#define KVER_HW_INFO       "6.6"
#define KVER_DIRTY         "6.7"
#define KVER_MAP_FILE      "6.13"

/*
 * Size of the first array given to IOMMU_IOAS_IOVA_RANGES. An x86 IOAS has
 * two ranges (the MSI window splits the space), so starting with one means
 * the EMSGSIZE path is taken, and thereby exercised, on every x86 host and by
 * the kernel model; the extra ioctl only happens when a range query is made.
 */
#define IOVA_RANGES_FIRST  1
/* Bounds on the EMSGSIZE loop: attempts, and ranges we accept at all. */
#define IOVA_RANGES_TRIES  4
#define IOVA_RANGES_MAX    65536u

/*
 * Thread safety: @lock guards @users and the lazy open and close of an owned
 * @fd, so address spaces (and devices) in different threads may share one
 * backend. The ioctl wrappers read @fd without it: their caller holds a
 * user, so the fd cannot change under it, and that user's connect, made
 * under @lock, ordered the open before it.
 */
struct VfiIommufd {
    VfiLock *lock;
    int fd;            /* -1 while an owned fd is not open */
    bool borrowed;     /* fd passed in by the VMM: never closed here */
    unsigned users;
};

/* Refuse a call with INVALID_ARGUMENT (nothing sent to the kernel). */
#define reject_arg(be, func, errp, ...)                                                    \
    vfi_refuse((errp), VFI_ERROR_INVALID_ARGUMENT, trace_vfi_iommufd_reject,              \
               (be) ? (be)->fd : -1, NULL, (func), __VA_ARGS__)

/* The checks every ioctl wrapper starts with: a backend, and an open fd. */
static bool check_backend(const VfiIommufd *be, const char *func, GError **errp)
{
    if (!be) {
        return reject_arg(be, func, errp, "no backend (NULL)");
    }
    if (be->fd < 0) {
        trace_vfi_iommufd_reject(-1, func, "not connected");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "%s: the iommufd backend is not connected (no iommufd open): "
                    "call vfi_iommufd_connect() first", func);
        return false;
    }
    return true;
}

/* Does [iova, iova + size) wrap around the 64-bit space? (size != 0) */
static bool range_overflows(uint64_t iova, uint64_t size)
{
    return iova + size - 1 < iova;
}

VfiIommufd *vfi_iommufd_new(void)
{
    VfiIommufd *be = g_new0(VfiIommufd, 1);

    be->lock = vfi_lock_new();
    be->fd = -1;
    trace_vfi_iommufd_new();
    return be;
}

VfiIommufd *vfi_iommufd_new_from_fd(int fd, GError **errp)
{
    VfiIommufd *be;

    if (fd < 0) {
        trace_vfi_iommufd_reject(fd, __func__, "negative fd");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s: invalid iommufd %d", __func__, fd);
        return NULL;
    }
    be = g_new0(VfiIommufd, 1);
    be->lock = vfi_lock_new();
    be->fd = fd;
    be->borrowed = true;
    trace_vfi_iommufd_new_from_fd(fd);
    return be;
}

bool vfi_iommufd_free(VfiIommufd *be, GError **errp)
{
    g_autoptr(VfiLockGuard) guard = vfi_lock_guard(be ? be->lock : NULL);

    if (!be) {
        return true;
    }
    if (be->users) {
        trace_vfi_iommufd_free(be->fd, be->borrowed, be->users, false);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "iommufd backend of fd %d still has %u user(s) connected: "
                    "not freed", be->fd, be->users);
        return false;
    }
    /* An owned fd was closed by the last disconnect; a borrowed one stays. */
    trace_vfi_iommufd_free(be->fd, be->borrowed, 0, true);
    /* Given back before it is freed (no other thread may wait for it now). */
    vfi_lock_release(g_steal_pointer(&guard));
    vfi_lock_free(be->lock);
    g_free(be);
    return true;
}

bool vfi_iommufd_connect(VfiIommufd *be, GError **errp)
{
    VFI_LOCK_GUARD(be ? be->lock : NULL);

    if (!be) {
        return reject_arg(be, __func__, errp, "no backend (NULL)");
    }
    if (be->users == UINT_MAX) {
        trace_vfi_iommufd_reject(be->fd, __func__, "user count at its maximum");
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "iommufd backend of fd %d: too many users", be->fd);
        return false;
    }
    if (!be->borrowed && be->users == 0) {
        /* The open is the ioctl layer's event vfi_kernel_open. */
        int fd = vfi_kernel_open("/dev/iommu", O_RDWR);

        if (fd < 0) {
            trace_vfi_iommufd_connect(-1, false, 0, -fd);
            vfi_kernel_error(errp, -fd, "open(/dev/iommu)", NULL,
                              "iommufd backend: cannot open the iommufd");
            return false;
        }
        be->fd = fd;
    }
    be->users++;
    trace_vfi_iommufd_connect(be->fd, be->borrowed, be->users, 0);
    return true;
}

void vfi_iommufd_disconnect(VfiIommufd *be)
{
    VFI_LOCK_GUARD(be ? be->lock : NULL);

    if (!be) {
        g_critical("vfi_iommufd_disconnect: no backend (NULL)");
        return;
    }
    if (be->users == 0) {
        trace_vfi_iommufd_disconnect_unbalanced(be->fd);
        g_critical("vfi_iommufd_disconnect: iommufd backend of fd %d has no "
                   "user connected", be->fd);
        return;
    }
    be->users--;
    if (!be->borrowed && be->users == 0) {
        int fd = be->fd;

        /* The fd is gone whatever close() says (the ioctl layer's event
         * vfi_kernel_close has the result): forget it in any case. */
        (void)vfi_kernel_close(fd);
        be->fd = -1;
        trace_vfi_iommufd_disconnect(fd, false, 0, true);
        return;
    }
    trace_vfi_iommufd_disconnect(be->fd, be->borrowed, be->users, false);
}

int vfi_iommufd_get_fd(const VfiIommufd *be)
{
    VFI_LOCK_GUARD(be ? be->lock : NULL);

    return be ? be->fd : -1;
}

unsigned vfi_iommufd_users(const VfiIommufd *be)
{
    VFI_LOCK_GUARD(be ? be->lock : NULL);

    return be ? be->users : 0;
}

bool vfi_iommufd_fd_is_borrowed(const VfiIommufd *be)
{
    return be && be->borrowed;
}

bool vfi_iommufd_ioas_alloc(VfiIommufd *be, uint32_t *ioas_id, GError **errp)
{
    struct iommu_ioas_alloc arg;
    int ret;

    if (!check_backend(be, __func__, errp)) {
        return false;
    }
    if (!ioas_id) {
        return reject_arg(be, __func__, errp, "ioas_id is NULL");
    }
    memset(&arg, 0, sizeof(arg));
    arg.size = sizeof(arg);
    ret = VFI_KERNEL_IOCTL(be->fd, IOMMU_IOAS_ALLOC, &arg);
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "IOMMU_IOAS_ALLOC", KVER_IOAS, "iommufd %d", be->fd);
        return false;
    }
    *ioas_id = arg.out_ioas_id;
    return true;
}

bool vfi_iommufd_destroy(VfiIommufd *be, uint32_t id, GError **errp)
{
    struct iommu_destroy arg;
    int ret;

    if (!check_backend(be, __func__, errp)) {
        return false;
    }
    memset(&arg, 0, sizeof(arg));
    arg.size = sizeof(arg);
    arg.id = id;
    ret = VFI_KERNEL_IOCTL(be->fd, IOMMU_DESTROY, &arg);
    if (ret == -EBUSY) {
        vfi_kernel_error(errp, EBUSY, "IOMMU_DESTROY", KVER_IOAS,
                          "iommufd %d: object %u is still in use (a device attached, "
                          "or a HWPT allocated on it)", be->fd, id);
        return false;
    }
    if (ret == -ENOENT) {
        vfi_kernel_error(errp, ENOENT, "IOMMU_DESTROY", KVER_IOAS,
                          "iommufd %d: no object %u", be->fd, id);
        return false;
    }
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "IOMMU_DESTROY", KVER_IOAS,
                          "iommufd %d object %u", be->fd, id);
        return false;
    }
    return true;
}

/* The arguments of a map, checked before any ioctl. */
static bool map_check(VfiIommufd *be, const char *func, uint32_t ioas_id, uint64_t iova,
                      uint64_t size, void *vaddr, bool fixed, uint64_t *out_iova,
                      GError **errp)
{
    if (!check_backend(be, func, errp)) {
        return false;
    }
    if (!vaddr) {
        return reject_arg(be, func, errp, "vaddr is NULL (ioas %u)", ioas_id);
    }
    if (size == 0) {
        return reject_arg(be, func, errp, "size 0 (ioas %u)", ioas_id);
    }
    if (range_overflows((uintptr_t)vaddr, size)) {
        return reject_arg(be, func, errp,
                          "vaddr + size 0x%" PRIx64 " overflows the address space (ioas %u)",
                          size, ioas_id);
    }
    if (fixed && range_overflows(iova, size)) {
        return reject_arg(be, func, errp,
                          "iova 0x%" PRIx64 " + size 0x%" PRIx64 " overflows (ioas %u)",
                          iova, size, ioas_id);
    }
    if (!fixed && !out_iova) {
        return reject_arg(be, func, errp, "iova out pointer is NULL (ioas %u)", ioas_id);
    }
    return true;
}

/* The error of a failed IOMMU_IOAS_MAP (@err: positive errno). */
static void map_error(const VfiIommufd *be, int err, uint32_t ioas_id, uint64_t iova,
                      uint64_t size, bool readonly, bool fixed, GError **errp)
{
    const char *hint = "";

    if (err == EEXIST) {
        hint = ": overlaps an existing mapping";
    } else if (err == ENOMEM) {
        hint = ": out of memory or over RLIMIT_MEMLOCK";
    } else if (err == ENOSPC) {
        hint = ": no free IOVA space large enough";
    }
    if (fixed) {
        vfi_kernel_error(errp, err, "IOMMU_IOAS_MAP", KVER_IOAS,
                          "iommufd %d ioas %u iova 0x%" PRIx64 " size 0x%" PRIx64
                          "%s%s", be->fd, ioas_id, iova, size,
                          readonly ? " read-only" : "", hint);
    } else {
        vfi_kernel_error(errp, err, "IOMMU_IOAS_MAP", KVER_IOAS,
                          "iommufd %d ioas %u (any iova) size 0x%" PRIx64
                          "%s%s", be->fd, ioas_id, size,
                          readonly ? " read-only" : "", hint);
    }
}

/* IOMMU_IOAS_MAP, at @iova if @fixed, else wherever the kernel likes. */
static bool map_common(VfiIommufd *be, const char *func, uint32_t ioas_id,
                       uint64_t iova, uint64_t size, void *vaddr, bool readonly,
                       bool fixed, uint64_t *out_iova, GError **errp)
{
    struct iommu_ioas_map arg;
    int ret;

    if (!map_check(be, func, ioas_id, iova, size, vaddr, fixed, out_iova, errp)) {
        return false;
    }
    memset(&arg, 0, sizeof(arg));
    arg.size = sizeof(arg);
    arg.flags = IOMMU_IOAS_MAP_READABLE;
    if (!readonly) {
        arg.flags |= IOMMU_IOAS_MAP_WRITEABLE;
    }
    if (fixed) {
        arg.flags |= IOMMU_IOAS_MAP_FIXED_IOVA;
        arg.iova = iova;
    }
    arg.ioas_id = ioas_id;
    arg.user_va = (uintptr_t)vaddr;
    arg.length = size;
    ret = VFI_KERNEL_IOCTL(be->fd, IOMMU_IOAS_MAP, &arg);
    if (ret < 0) {
        map_error(be, -ret, ioas_id, iova, size, readonly, fixed, errp);
        return false;
    }
    if (out_iova) {
        *out_iova = arg.iova;
    }
    return true;
}

bool vfi_iommufd_ioas_map(VfiIommufd *be, uint32_t ioas_id, uint64_t iova,
                             uint64_t size, void *vaddr, bool readonly, GError **errp)
{
    return map_common(be, __func__, ioas_id, iova, size, vaddr, readonly, true, NULL, errp);
}

bool vfi_iommufd_ioas_map_any(VfiIommufd *be, uint32_t ioas_id, uint64_t size,
                                 void *vaddr, bool readonly, uint64_t *iova, GError **errp)
{
    return map_common(be, __func__, ioas_id, 0, size, vaddr, readonly, false, iova, errp);
}

/* The arguments of a map by file, checked before any ioctl. */
static bool map_file_check(VfiIommufd *be, const char *func, uint32_t ioas_id, uint64_t iova,
                           int fd, uint64_t start, uint64_t size, uint64_t *iova_out,
                           GError **errp)
{
    if (!check_backend(be, func, errp)) {
        return false;
    }
    if (fd < 0) {
        return reject_arg(be, func, errp, "invalid file fd %d (ioas %u)", fd, ioas_id);
    }
    if (size == 0) {
        return reject_arg(be, func, errp, "size 0 (ioas %u file fd %d)", ioas_id, fd);
    }
    if (range_overflows(start, size)) {
        return reject_arg(be, func, errp,
                          "file offset 0x%" PRIx64 " + size 0x%" PRIx64 " overflows (ioas %u "
                          "file fd %d)", start, size, ioas_id, fd);
    }
    if (iova != VFI_IOVA_ANY && range_overflows(iova, size)) {
        return reject_arg(be, func, errp,
                          "iova 0x%" PRIx64 " + size 0x%" PRIx64 " overflows (ioas %u)",
                          iova, size, ioas_id);
    }
    if (iova == VFI_IOVA_ANY && !iova_out) {
        return reject_arg(be, func, errp, "iova out pointer is NULL (ioas %u)", ioas_id);
    }
    return true;
}

#if HAVE_IOMMU_IOAS_MAP_FILE
/* The error of a failed IOMMU_IOAS_MAP_FILE (@err: positive errno). */
static void map_file_error(const VfiIommufd *be, int err, uint32_t ioas_id, uint64_t iova,
                           int fd, uint64_t start, uint64_t size, bool readonly,
                           GError **errp)
{
    g_autofree char *at = iova == VFI_IOVA_ANY ? g_strdup("(any iova)") :
                          g_strdup_printf("iova 0x%" PRIx64, iova);
    const char *hint = "";

    if (err == EBADF) {
        hint = ": the file fd is not open";
    } else if (err == EINVAL) {
        hint = ": bad alignment, a reserved range, or a file the kernel cannot pin (not "
               "a memfd, shmem or hugetlbfs file, or the range passes its end)";
    } else if (err == EEXIST) {
        hint = ": overlaps an existing mapping";
    } else if (err == ENOMEM) {
        hint = ": out of memory or over RLIMIT_MEMLOCK";
    } else if (err == ENOSPC) {
        hint = ": no free IOVA space large enough";
    }
    vfi_kernel_error(errp, err, "IOMMU_IOAS_MAP_FILE", KVER_MAP_FILE,
                     "iommufd %d ioas %u %s size 0x%" PRIx64 " file fd %d offset 0x%"
                     PRIx64 "%s%s", be->fd, ioas_id, at, size, fd, start,
                     readonly ? " read-only" : "", hint);
}
#endif

bool vfi_iommufd_ioas_map_file(VfiIommufd *be, uint32_t ioas_id, uint64_t iova, int fd,
                               uint64_t start, uint64_t size, bool readonly,
                               uint64_t *iova_out, GError **errp)
{
    if (!map_file_check(be, __func__, ioas_id, iova, fd, start, size, iova_out, errp)) {
        return false;
    }
#if HAVE_IOMMU_IOAS_MAP_FILE
    struct iommu_ioas_map_file arg;
    int ret;

    memset(&arg, 0, sizeof(arg));
    arg.size = sizeof(arg);
    arg.flags = IOMMU_IOAS_MAP_READABLE | (readonly ? 0 : IOMMU_IOAS_MAP_WRITEABLE);
    if (iova != VFI_IOVA_ANY) {
        arg.flags |= IOMMU_IOAS_MAP_FIXED_IOVA;
        arg.iova = iova;
    }
    arg.ioas_id = ioas_id;
    arg.fd = fd;
    arg.start = start;
    arg.length = size;
    ret = VFI_KERNEL_IOCTL(be->fd, IOMMU_IOAS_MAP_FILE, &arg);
    if (ret < 0) {
        map_file_error(be, -ret, ioas_id, iova, fd, start, size, readonly, errp);
        return false;
    }
    if (iova_out) {
        *iova_out = arg.iova;
    }
    return true;
#else
    trace_vfi_iommufd_reject(be->fd, __func__, "built without IOMMU_IOAS_MAP_FILE");
    vfi_kernel_uapi_missing(errp, __func__, "IOMMU_IOAS_MAP_FILE", KVER_MAP_FILE);
    return false;
#endif
}

/*
 * IOMMU_IOAS_UNMAP; @all: the whole space (iova 0, length UINT64_MAX).
 *
 * ENOENT: for a range, nothing mapped there, a mapping that sticks out of
 * the range (the kernel never splits one; mappings before it in the range
 * are already gone then), or no such IOAS. For unmap-all, the kernel
 * (iopt_unmap_all(), since 6.2) turns "nothing mapped" into success with
 * length 0, so ENOENT can only mean that @ioas_id is not an IOAS: it is an
 * error, not an empty IOAS, lest a wrong id pass unnoticed.
 */
static bool unmap_common(VfiIommufd *be, const char *func, uint32_t ioas_id,
                         uint64_t iova, uint64_t size, bool all, uint64_t *unmapped,
                         GError **errp)
{
    struct iommu_ioas_unmap arg;
    int ret;

    if (!check_backend(be, func, errp)) {
        return false;
    }
    if (size == 0) {
        return reject_arg(be, func, errp, "size 0 (ioas %u iova 0x%" PRIx64 ")",
                          ioas_id, iova);
    }
    if (range_overflows(iova, size)) {
        return reject_arg(be, func, errp,
                          "iova 0x%" PRIx64 " + size 0x%" PRIx64 " overflows (ioas %u)",
                          iova, size, ioas_id);
    }

    memset(&arg, 0, sizeof(arg));
    arg.size = sizeof(arg);
    arg.ioas_id = ioas_id;
    arg.iova = iova;
    arg.length = size;
    ret = VFI_KERNEL_IOCTL(be->fd, IOMMU_IOAS_UNMAP, &arg);
    if (ret == -ENOENT && all) {
        vfi_kernel_error(errp, ENOENT, "IOMMU_IOAS_UNMAP", KVER_IOAS,
                          "iommufd %d: unmap-all of ioas %u: no IOAS %u", be->fd,
                          ioas_id, ioas_id);
        return false;
    }
    if (ret == -ENOENT) {
        vfi_kernel_error(errp, ENOENT, "IOMMU_IOAS_UNMAP", KVER_IOAS,
                          "iommufd %d: nothing mapped in ioas %u at [0x%" PRIx64
                          ", 0x%" PRIx64 "] (or a mapping there sticks out of the "
                          "range, the mappings before it being unmapped already; or "
                          "no IOAS %u)", be->fd, ioas_id, iova, iova + size - 1, ioas_id);
        return false;
    }
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "IOMMU_IOAS_UNMAP", KVER_IOAS,
                          "iommufd %d ioas %u iova 0x%" PRIx64 " size 0x%" PRIx64,
                          be->fd, ioas_id, iova, size);
        return false;
    }
    if (unmapped) {
        *unmapped = arg.length;
    }
    return true;
}

bool vfi_iommufd_ioas_unmap(VfiIommufd *be, uint32_t ioas_id, uint64_t iova,
                               uint64_t size, uint64_t *unmapped, GError **errp)
{
    return unmap_common(be, __func__, ioas_id, iova, size, false, unmapped, errp);
}

bool vfi_iommufd_ioas_unmap_all(VfiIommufd *be, uint32_t ioas_id, uint64_t *unmapped,
                               GError **errp)
{
    return unmap_common(be, __func__, ioas_id, 0, UINT64_MAX, true, unmapped, errp);
}

/*
 * IOMMU_IOAS_IOVA_RANGES into a growing array: on EMSGSIZE call again with
 * the size the kernel asks for, at most IOVA_RANGES_TRIES times. On success
 * *@buf holds @arg->num_iovas ranges (no more than the array's size).
 */
static bool query_ranges(VfiIommufd *be, uint32_t ioas_id, struct iommu_iova_range **buf,
                         struct iommu_ioas_iova_ranges *arg, GError **errp)
{
    uint32_t capacity = IOVA_RANGES_FIRST;
    int ret;

    for (unsigned tries = 1;; tries++) {
        *buf = g_renew(struct iommu_iova_range, *buf, capacity);
        memset(*buf, 0, sizeof(**buf) * capacity);
        memset(arg, 0, sizeof(*arg));
        arg->size = sizeof(*arg);
        arg->ioas_id = ioas_id;
        arg->num_iovas = capacity;
        arg->allowed_iovas = (uintptr_t)*buf;
        ret = VFI_KERNEL_IOCTL(be->fd, IOMMU_IOAS_IOVA_RANGES, arg);
        if (ret != -EMSGSIZE) {
            break;
        }
        if (tries == IOVA_RANGES_TRIES || arg->num_iovas > IOVA_RANGES_MAX) {
            /* The ranges keep changing under us, or an absurd count. */
            trace_vfi_iommufd_ioas_iova_ranges_give_up(be->fd, ioas_id, arg->num_iovas,
                                                       capacity, tries);
            vfi_kernel_error(errp, EMSGSIZE, "IOMMU_IOAS_IOVA_RANGES", KVER_IOAS,
                              "iommufd %d ioas %u: still %u ranges for an array of %u "
                              "after %u calls", be->fd, ioas_id, arg->num_iovas,
                              capacity, tries);
            return false;
        }
        /* The kernel fills num_iovas with the count it needs; a reply that
         * does not ask for more still gets a bigger array. */
        uint32_t grown = arg->num_iovas > capacity ? arg->num_iovas : capacity * 2;

        trace_vfi_iommufd_ioas_iova_ranges_retry(be->fd, ioas_id, capacity, grown);
        capacity = grown;
    }
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "IOMMU_IOAS_IOVA_RANGES", KVER_IOAS,
                          "iommufd %d ioas %u", be->fd, ioas_id);
        return false;
    }
    if (arg->num_iovas > capacity) {
        /* Success must fit the array: a kernel bug, do not read past it. */
        vfi_kernel_error(errp, EMSGSIZE, "IOMMU_IOAS_IOVA_RANGES", KVER_IOAS,
                          "iommufd %d ioas %u: kernel reports %u ranges for an array "
                          "of %u", be->fd, ioas_id, arg->num_iovas, capacity);
        return false;
    }
    return true;
}

bool vfi_iommufd_ioas_iova_ranges(VfiIommufd *be, uint32_t ioas_id,
                                     VfiIovaRange **ranges, size_t *nr_ranges,
                                     uint64_t *alignment, GError **errp)
{
    g_autofree struct iommu_iova_range *buf = NULL;
    struct iommu_ioas_iova_ranges arg;
    VfiIovaRange *out;

    if (!check_backend(be, __func__, errp)) {
        return false;
    }
    if (!ranges || !nr_ranges) {
        return reject_arg(be, __func__, errp, "ranges or nr_ranges is NULL (ioas %u)",
                          ioas_id);
    }
    if (!query_ranges(be, ioas_id, &buf, &arg, errp)) {
        return false;
    }
    out = g_new0(VfiIovaRange, arg.num_iovas);
    for (uint32_t i = 0; i < arg.num_iovas; i++) {
        out[i].start = buf[i].start;
        out[i].last = buf[i].last;
    }
    *ranges = out;
    *nr_ranges = arg.num_iovas;
    if (alignment) {
        *alignment = arg.out_iova_alignment;
    }
    return true;
}

bool vfi_iommufd_get_hw_info(VfiIommufd *be, uint32_t dev_id,
                                     VfiHwInfo *info, GError **errp)
{
    struct iommu_hw_info arg;
    unsigned max_pasid_log2 = 0;
    int ret;

    if (!check_backend(be, __func__, errp)) {
        return false;
    }
    if (!info) {
        return reject_arg(be, __func__, errp, "info is NULL (dev %u)", dev_id);
    }
    if (!info->data && info->data_len) {
        return reject_arg(be, __func__, errp, "data is NULL with data_len %u (dev %u)",
                          info->data_len, dev_id);
    }

    memset(&arg, 0, sizeof(arg));
    arg.size = sizeof(arg);
    arg.dev_id = dev_id;
    arg.data_len = info->data_len;
    arg.data_uptr = (uintptr_t)info->data;
    ret = VFI_KERNEL_IOCTL(be->fd, IOMMU_GET_HW_INFO, &arg);
#if HAVE_IOMMU_HW_INFO_MAX_PASID
    max_pasid_log2 = arg.out_max_pasid_log2;
#endif
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "IOMMU_GET_HW_INFO", KVER_HW_INFO,
                          "iommufd %d dev %u%s", be->fd, dev_id,
                          ret == -ENOENT ? ": no such bound device, or an emulated "
                                           "(mdev) device, which has no IOMMU" : "");
        return false;
    }
    info->type = arg.out_data_type;
    info->capabilities = arg.out_capabilities;
    info->max_pasid_log2 = max_pasid_log2;
    info->data_len = arg.data_len;
    return true;
}

bool vfi_iommufd_hwpt_alloc(VfiIommufd *be, uint32_t dev_id, uint32_t pt_id,
                                uint32_t flags, uint32_t data_type, uint32_t data_len,
                                void *data, uint32_t *out_hwpt_id, GError **errp)
{
    struct iommu_hwpt_alloc arg;
    int ret;

    if (!check_backend(be, __func__, errp)) {
        return false;
    }
    if (!out_hwpt_id) {
        return reject_arg(be, __func__, errp, "out_hwpt_id is NULL (dev %u pt %u)",
                          dev_id, pt_id);
    }
    if (!data && data_len) {
        return reject_arg(be, __func__, errp, "data is NULL with data_len %u (dev %u pt %u)",
                          data_len, dev_id, pt_id);
    }

    memset(&arg, 0, sizeof(arg));
    arg.size = sizeof(arg);
    arg.flags = flags;
    arg.dev_id = dev_id;
    arg.pt_id = pt_id;
    arg.data_type = data_type;
    arg.data_len = data_len;
    arg.data_uptr = (uintptr_t)data;
    ret = VFI_KERNEL_IOCTL(be->fd, IOMMU_HWPT_ALLOC, &arg);
    if (ret < 0) {
        const char *hint = "";

        if (ret == -EOPNOTSUPP) {
            hint = (flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING)
                   ? ": the device's IOMMU cannot do what the flags ask (dirty "
                     "tracking needs IOMMU_HW_CAP_DIRTY_TRACKING)"
                   : ": the device's IOMMU cannot do what the flags ask";
        }
        vfi_kernel_error(errp, -ret, "IOMMU_HWPT_ALLOC", KVER_HW_INFO,
                          "iommufd %d dev %u pt %u flags 0x%x data_type %u data_len %u%s",
                          be->fd, dev_id, pt_id, flags, data_type, data_len, hint);
        return false;
    }
    *out_hwpt_id = arg.out_hwpt_id;
    return true;
}

bool vfi_iommufd_hwpt_set_dirty_tracking(VfiIommufd *be, uint32_t hwpt_id, bool start,
                                        GError **errp)
{
    struct iommu_hwpt_set_dirty_tracking arg;
    int ret;

    if (!check_backend(be, __func__, errp)) {
        return false;
    }
    memset(&arg, 0, sizeof(arg));
    arg.size = sizeof(arg);
    arg.flags = start ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0;
    arg.hwpt_id = hwpt_id;
    ret = VFI_KERNEL_IOCTL(be->fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &arg);
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "IOMMU_HWPT_SET_DIRTY_TRACKING", KVER_DIRTY,
                          "iommufd %d hwpt %u %s%s", be->fd, hwpt_id,
                          start ? "start" : "stop",
                          ret == -EINVAL || ret == -EOPNOTSUPP
                          ? ": dirty tracking unsupported on this HWPT (not allocated "
                            "with IOMMU_HWPT_ALLOC_DIRTY_TRACKING?)" : "");
        return false;
    }
    return true;
}

bool vfi_iommufd_hwpt_get_dirty_bitmap(VfiIommufd *be, uint32_t hwpt_id, uint64_t iova,
                                      uint64_t size, uint64_t page_size, void *bitmap,
                                      uint64_t flags, GError **errp)
{
    struct iommu_hwpt_get_dirty_bitmap arg;
    int ret;

    if (!check_backend(be, __func__, errp)) {
        return false;
    }
    if (!bitmap) {
        return reject_arg(be, __func__, errp, "bitmap is NULL (hwpt %u)", hwpt_id);
    }
    if (page_size == 0 || (page_size & (page_size - 1))) {
        return reject_arg(be, __func__, errp,
                          "page_size 0x%" PRIx64 " is not a power of two (hwpt %u)",
                          page_size, hwpt_id);
    }
    if (size == 0) {
        return reject_arg(be, __func__, errp, "size 0 (hwpt %u iova 0x%" PRIx64 ")",
                          hwpt_id, iova);
    }
    if (range_overflows(iova, size)) {
        return reject_arg(be, __func__, errp,
                          "iova 0x%" PRIx64 " + size 0x%" PRIx64 " overflows (hwpt %u)",
                          iova, size, hwpt_id);
    }
    if ((iova | size) & (page_size - 1)) {
        return reject_arg(be, __func__, errp,
                          "iova 0x%" PRIx64 " or size 0x%" PRIx64 " not aligned to "
                          "page_size 0x%" PRIx64 " (hwpt %u)", iova, size, page_size,
                          hwpt_id);
    }
    if (flags & ~(uint64_t)IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR) {
        return reject_arg(be, __func__, errp, "unknown flags 0x%" PRIx64 " (hwpt %u)",
                          flags, hwpt_id);
    }

    memset(&arg, 0, sizeof(arg));
    arg.size = sizeof(arg);
    arg.hwpt_id = hwpt_id;
    arg.flags = (uint32_t)flags;
    arg.iova = iova;
    arg.length = size;
    arg.page_size = page_size;
    arg.data = (uintptr_t)bitmap;
    ret = VFI_KERNEL_IOCTL(be->fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &arg);
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "IOMMU_HWPT_GET_DIRTY_BITMAP", KVER_DIRTY,
                          "iommufd %d hwpt %u iova 0x%" PRIx64 " size 0x%" PRIx64
                          " page_size 0x%" PRIx64 " flags 0x%" PRIx64 "%s", be->fd,
                          hwpt_id, iova, size, page_size, flags,
                          ret == -EOPNOTSUPP ? ": the HWPT does no dirty tracking" : "");
        return false;
    }
    return true;
}

/* ---- for the other files of backends/ (iommufd-internal.h) --------------- */

bool vfi_iommufd_check(const VfiIommufd *be, const char *func, GError **errp)
{
    return check_backend(be, func, errp);
}

bool vfi_iommufd_reject(const VfiIommufd *be, const char *func, GError **errp,
                        const char *why)
{
    return reject_arg(be, func, errp, "%s", why);
}

/*
 * IOMMU_IOAS_CHANGE_PROCESS (Linux 6.13): the pinned-page accounting of
 * every mapping of every IOAS of the iommufd moves to the calling process
 * (live update: the new process takes over). The kernel refuses with
 * EINVAL when a mapping was not made with IOMMU_IOAS_MAP_FILE, and changes
 * nothing on any failure.
 */
bool vfi_iommufd_ioas_change_process(VfiIommufd *be, GError **errp)
{
    if (!check_backend(be, __func__, errp)) {
        return false;
    }
#if HAVE_IOMMU_IOAS_CHANGE_PROCESS
    struct iommu_ioas_change_process arg;
    int ret;

    memset(&arg, 0, sizeof(arg));
    arg.size = sizeof(arg);
    ret = VFI_KERNEL_IOCTL(be->fd, IOMMU_IOAS_CHANGE_PROCESS, &arg);
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "IOMMU_IOAS_CHANGE_PROCESS", "6.13",
                         "iommufd %d%s", be->fd,
                         ret == -EINVAL ? ": a mapping of one of its IOASes was not made "
                         "from a file (IOMMU_IOAS_MAP_FILE): its pages cannot change "
                         "process" : "");
        return false;
    }
    return true;
#else
    trace_vfi_iommufd_reject(be->fd, __func__, "built without IOMMU_IOAS_CHANGE_PROCESS");
    vfi_kernel_uapi_missing(errp, __func__, "IOMMU_IOAS_CHANGE_PROCESS", "6.13");
    return false;
#endif
}
