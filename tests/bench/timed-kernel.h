/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Benchmarks: a kernel wrapper that counts every ioctl of the installed
 * kernel and, while @timing is set, adds up the time spent in them.
 */
#ifndef VFI_BENCH_TIMED_KERNEL_H
#define VFI_BENCH_TIMED_KERNEL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "vfio-iommufd/kernel.h"

typedef struct TimedKernel {
    const VfiKernelOps *inner;
    void *inner_opaque;
    char *sysfs_root;
    clockid_t clock;          /* of the ioctl timing */
    bool timing;              /* time the ioctls (counting is always on) */
    uint64_t ioctl_ns;
    uint64_t ioctls;
} TimedKernel;

/* Nanoseconds on @clock. */
uint64_t bench_now_ns(clockid_t clock);

/* Wrap the installed kernel with @tk (zeroed by the caller, timing off). */
void timed_kernel_install(TimedKernel *tk, clockid_t clock);
/* Put the wrapped kernel back. */
void timed_kernel_uninstall(TimedKernel *tk);

#endif
