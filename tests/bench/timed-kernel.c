/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glib.h>

#include "timed-kernel.h"

uint64_t bench_now_ns(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int timed_open(void *opaque, const char *path, int flags)
{
    TimedKernel *tk = opaque;

    return tk->inner->open(tk->inner_opaque, path, flags);
}

static int timed_close(void *opaque, int fd)
{
    TimedKernel *tk = opaque;

    return tk->inner->close(tk->inner_opaque, fd);
}

static int timed_ioctl(void *opaque, int fd, unsigned long request, void *arg)
{
    TimedKernel *tk = opaque;
    uint64_t t0;
    int ret;

    tk->ioctls++;
    if (!tk->timing) {
        return tk->inner->ioctl(tk->inner_opaque, fd, request, arg);
    }
    t0 = bench_now_ns(tk->clock);
    ret = tk->inner->ioctl(tk->inner_opaque, fd, request, arg);
    tk->ioctl_ns += bench_now_ns(tk->clock) - t0;
    return ret;
}

static const VfiKernelOps timed_ops = VFI_KERNEL_OPS_INIT(
    .open = timed_open,
    .close = timed_close,
    .ioctl = timed_ioctl,
);

void timed_kernel_install(TimedKernel *tk, clockid_t clock)
{
    vfi_kernel_get(&tk->inner, &tk->inner_opaque);
    tk->sysfs_root = g_strdup(vfi_kernel_sysfs_root());
    tk->clock = clock;
    g_assert_true(vfi_kernel_install(&timed_ops, tk, tk->sysfs_root, NULL));
}

void timed_kernel_uninstall(TimedKernel *tk)
{
    g_assert_true(vfi_kernel_install(tk->inner, tk->inner_opaque, tk->sysfs_root, NULL));
    g_clear_pointer(&tk->sysfs_root, g_free);
}
