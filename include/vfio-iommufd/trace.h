/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: switching trace events at run time.
 *
 * Every ioctl the library makes, and every decision it takes on its own
 * (which HWPT to try, why a HWPT was made, why a device is untracked), is a
 * trace event. The events are listed in the trace-events files of the
 * source tree.
 *
 * Back ends chosen at build time (meson option trace_backends):
 *  - log: events are off by default; a switched-on event is written to
 *    stderr as "<seconds.micro> <pid> <event> <message>". Switch events on
 *    with the environment variable VFI_TRACE, a comma-separated list
 *    of names or glob patterns ('*' and '?'); a leading '-' switches off, for
 *    example VFI_TRACE='vfi_kernel_*,-vfi_kernel_install,vfi_auto_domain_*'.
 *    Each ioctl is one event, vfi_kernel_ioctl, with the request's name and
 *    its arguments decoded from the UAPI struct.
 *  - dtrace: each event is also a USDT probe of provider vfi
 *    (perf probe, bpftrace usdt:...:vfi:EVENT).
 */
#ifndef VFI_TRACE_H
#define VFI_TRACE_H

#include <stdbool.h>
#include <glib.h>

#include "vfio-iommufd/visibility.h"

G_BEGIN_DECLS

/**
 * vfi_trace_enable:
 * @pattern: an event name or glob pattern ("vfi_kernel_*", "*").
 * @on: switch the matching events on or off.
 *
 * Returns: the number of events that matched.
 */
VFI_API unsigned vfi_trace_enable(const char *pattern, bool on);

/**
 * vfi_trace_is_enabled:
 *
 * Returns: whether the event named @name is switched on (false if unknown).
 */
VFI_API bool vfi_trace_is_enabled(const char *name);

/**
 * vfi_trace_set_output:
 * @fp: where the log back end writes (NULL: stderr). Not owned.
 */
VFI_API void vfi_trace_set_output(FILE *fp);

G_END_DECLS

#endif
