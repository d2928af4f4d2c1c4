/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-iommufd: VfiLock, a recursive POSIX mutex (util/lock.h). */
#include <string.h>

#include "util/lock.h"

VfiLock *vfi_lock_new(void)
{
    VfiLock *l = g_new0(VfiLock, 1);
    pthread_mutexattr_t attr;
    int err = pthread_mutexattr_init(&attr);

    if (!err) {
        err = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    }
    if (!err) {
        err = pthread_mutex_init(&l->mutex, &attr);
    }
    if (err) {
        g_error("vfi_lock_new: cannot make a recursive mutex: %s", g_strerror(err));
    }
    pthread_mutexattr_destroy(&attr);
    return l;
}

void vfi_lock_free(VfiLock *l)
{
    int err;

    if (!l) {
        return;
    }
    err = pthread_mutex_destroy(&l->mutex);
    if (err) {
        g_error("vfi_lock_free: %s (freed while held?)", g_strerror(err));
    }
    g_free(l);
}

void vfi_lock_acquire(VfiLock *l)
{
    int err = l ? pthread_mutex_lock(&l->mutex) : 0;

    if (G_UNLIKELY(err)) {
        g_error("vfi_lock_acquire: %s", g_strerror(err));
    }
}

void vfi_lock_release(VfiLock *l)
{
    int err = l ? pthread_mutex_unlock(&l->mutex) : 0;

    if (G_UNLIKELY(err)) {
        g_error("vfi_lock_release: %s (not held by this thread)", g_strerror(err));
    }
}
