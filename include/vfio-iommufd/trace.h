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
#include <stdio.h>
#include <glib.h>

#include "vfio-iommufd/visibility.h"

G_BEGIN_DECLS

/**
 * vfi_trace_enable:
 * @pattern: an event name or glob pattern ("vfi_kernel_*", "*").
 * @on: switch the matching events on or off.
 *
 * Thread-safe, also while other threads emit the events (a switch is an
 * atomic flag: they see it at their next event).
 * Returns: the number of events that matched.
 */
VFI_API unsigned vfi_trace_enable(const char *pattern, bool on);

/**
 * vfi_trace_is_enabled:
 *
 * Thread-safe.
 * Returns: whether the event named @name is switched on (false if unknown).
 */
VFI_API bool vfi_trace_is_enabled(const char *name);

/**
 * vfi_trace_set_output:
 * @fp: where the log back end writes (NULL: stderr). Not owned.
 *
 * Thread-safe: each event is written whole, to the output set before it.
 */
VFI_API void vfi_trace_set_output(FILE *fp);

/*
 * For companion libraries: one switchboard for every library.
 *
 * A library built on this one (the kernel model libvfio-iommufd-sim is one)
 * declares its events in a trace-events file of its own and registers
 * them here, so that VFI_TRACE, vfi_trace_enable() and
 * vfi_trace_is_enabled() switch its events together with the library's,
 * and its "log" output goes to the same place in the same format. There is
 * no second runtime: scripts/tracetool.py generates the table and the
 * registering constructor below; a hand-written table works the same way.
 */

/* One event: its name (unique over all groups) and its switch, read by the
 * generated trace_<name>() inline function before it logs. */
typedef struct VfiTraceEvent {
    const char *name;             /* the event's name, unique over all groups */
    bool *on;                     /* its switch (set by the runtime) */
} VfiTraceEvent;

/* The events of one trace-events file. */
typedef struct VfiTraceGroup {
    const char *name;             /* the group (folder or library) name */
    VfiTraceEvent *events;        /* terminated by { NULL, NULL } */
    struct VfiTraceGroup *next;   /* owned by the runtime: leave it NULL */
} VfiTraceGroup;

/**
 * vfi_trace_register_group:
 * @group: the group to add (not copied: it, its events and their names and
 *   switches must stay valid for the rest of the process, so a shared
 *   library that registers must not be unloadable; libvfio-iommufd-sim is
 *   linked with -z nodelete). Register each group once.
 *
 * Adds @group's events to the switchboard and applies VFI_TRACE to them
 * (later patterns of vfi_trace_enable() reach them too). Thread-safe;
 * usually called from a constructor.
 */
VFI_API void vfi_trace_register_group(VfiTraceGroup *group);

/**
 * vfi_trace_log:
 * @event: the event's name.
 * @fmt: printf format of the event's arguments.
 *
 * The "log" back end: writes one line "<seconds.micro> <pid> <event>
 * <message>" to the trace output (vfi_trace_set_output()). It does not
 * check the switch; the generated trace_<name>() calls it only when the
 * event is on.
 */
VFI_API void vfi_trace_log(const char *event, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

G_END_DECLS

#endif
