/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the run-time side of tracing (internal).
 *
 * Each folder's trace-events file is turned by scripts/tracetool.py into a
 * trace.h of inline trace_<event>() functions and a table of the folder's
 * events, registered here by a constructor. The "log" back end prints an
 * event only while its switch is on; switches are set from the
 * VFI_TRACE environment variable when the events are registered and
 * at run time with vfi_trace_enable().
 */
#ifndef VFI_TRACE_RUNTIME_H
#define VFI_TRACE_RUNTIME_H

#include <stdbool.h>
#include <glib.h>

typedef struct VfiTraceEvent {
    const char *name;
    bool *on;
} VfiTraceEvent;

typedef struct VfiTraceGroup {
    const char *name;
    VfiTraceEvent *events;      /* terminated by { NULL, NULL } */
    struct VfiTraceGroup *next;
} VfiTraceGroup;

void vfi_trace_register_group(VfiTraceGroup *group);
void vfi_trace_log(const char *event, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

#endif
