/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the library's one lock type (internal; docs/concurrency.md).
 *
 * A VfiLock is a recursive POSIX mutex. Who holds which:
 *  - an address space owns one: it guards the address space, its
 *    containers, their HWPTs and the devices placed in them. A container
 *    gets the pointer when it is made (the container layer never reaches up
 *    to the address space for it); a device in a container reaches it
 *    through its owner hook (device-internal.h);
 *  - a backend (VfiIommufd) owns one for its users and its lazily opened fd.
 * Recursive, because a public call may make other public calls on the same
 * objects (an unmap with a dirty read calls the plain unmap, an attach
 * starts tracking on a new container); the order is always address space
 * first, then backend, then the installed kernel's own lock.
 *
 * A POSIX mutex and not a GMutex: GLib's GMutex is a futex of its own that
 * ThreadSanitizer cannot see, so it would report races that are not there.
 * An uncontended lock and unlock allocate nothing and do not enter the
 * kernel.
 */
#ifndef VFI_UTIL_LOCK_H
#define VFI_UTIL_LOCK_H

#include <pthread.h>
#include <glib.h>

typedef struct VfiLock {
    pthread_mutex_t mutex;    /* PTHREAD_MUTEX_RECURSIVE */
} VfiLock;

/* A new unlocked lock (vfi_lock_free()). */
VfiLock *vfi_lock_new(void);
/* Free an unlocked lock no thread waits for. NULL is accepted. */
void vfi_lock_free(VfiLock *l);
/* Take @l (again, from the thread that holds it). NULL: nothing to take. A
 * failure of the mutex is a bug (it aborts). */
void vfi_lock_acquire(VfiLock *l);
/* Give back one vfi_lock_acquire() of @l. NULL: nothing. */
void vfi_lock_release(VfiLock *l);

/* A scope that holds a lock: VFI_LOCK_GUARD(l) takes @l (NULL: none) and
 * gives it back when the enclosing block ends, on every return path. */
typedef VfiLock VfiLockGuard;

static inline VfiLockGuard *vfi_lock_guard(VfiLock *l)
{
    vfi_lock_acquire(l);
    return l;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(VfiLockGuard, vfi_lock_release)

#define VFI_LOCK_GUARD(l) \
    g_autoptr(VfiLockGuard) G_PASTE(vfi_lock_guard_, __LINE__) G_GNUC_UNUSED = \
        vfi_lock_guard(l)

#endif
