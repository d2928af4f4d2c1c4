/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The benchmarks' statistics: the median of a sample (sorted in place). */
#ifndef VFI_BENCH_STATS_H
#define VFI_BENCH_STATS_H

#include <stdlib.h>

static inline int bench_cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;

    return a < b ? -1 : a > b;
}

/* The median of the @n (> 0) values of @v, which it sorts. */
static inline double median(double *v, unsigned n)
{
    qsort(v, n, sizeof(*v), bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

#endif
