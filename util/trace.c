/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: trace event switches and the "log" back end, the one trace
 * runtime of the library and of its companion libraries (the kernel model):
 * each registers its groups with vfi_trace_register_group()
 * (<vfio-iommufd/trace.h>), usually from the constructor tracetool.py makes.
 *
 * Threads: the group list and the output are guarded by a POSIX mutex (one
 * ThreadSanitizer sees); a switch is read and written with relaxed atomics,
 * so an event switched on or off while other threads emit it is seen by
 * them at their next event, at the cost of a plain load.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vfio-iommufd/trace.h"

static VfiTraceGroup *groups;
static FILE *trace_out;
static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned set_matching(VfiTraceGroup *list, const char *pattern, bool on)
{
    g_autoptr(GPatternSpec) spec = g_pattern_spec_new(pattern);
    unsigned n = 0;

    for (VfiTraceGroup *g = list; g; g = g->next) {
        for (VfiTraceEvent *ev = g->events; ev->name; ev++) {
            if (g_pattern_spec_match_string(spec, ev->name)) {
                __atomic_store_n(ev->on, on, __ATOMIC_RELAXED);
                n++;
            }
        }
    }
    return n;
}

/* Apply VFI_TRACE to one group (called as each group registers). */
static void apply_env(VfiTraceGroup *group)
{
    const char *env = getenv("VFI_TRACE");
    g_auto(GStrv) parts = NULL;
    VfiTraceGroup *saved_next = group->next;

    if (!env || !*env) {
        return;
    }
    group->next = NULL;
    parts = g_strsplit(env, ",", -1);
    for (char **p = parts; *p; p++) {
        const char *pat = g_strstrip(*p);
        bool on = true;

        if (*pat == '-') {
            on = false;
            pat++;
        }
        if (*pat) {
            set_matching(group, pat, on);
        }
    }
    group->next = saved_next;
}

void vfi_trace_register_group(VfiTraceGroup *group)
{
    pthread_mutex_lock(&trace_lock);
    apply_env(group);
    group->next = groups;
    groups = group;
    pthread_mutex_unlock(&trace_lock);
}

unsigned vfi_trace_enable(const char *pattern, bool on)
{
    unsigned n;

    g_return_val_if_fail(pattern != NULL, 0);
    pthread_mutex_lock(&trace_lock);
    n = set_matching(groups, pattern, on);
    pthread_mutex_unlock(&trace_lock);
    return n;
}

/* The event named @name, or NULL; the caller holds trace_lock. */
static const VfiTraceEvent *find_event(const char *name)
{
    for (VfiTraceGroup *g = groups; g; g = g->next) {
        for (VfiTraceEvent *ev = g->events; ev->name; ev++) {
            if (strcmp(ev->name, name) == 0) {
                return ev;
            }
        }
    }
    return NULL;
}

bool vfi_trace_is_enabled(const char *name)
{
    const VfiTraceEvent *ev;
    bool on;

    g_return_val_if_fail(name != NULL, false);
    pthread_mutex_lock(&trace_lock);
    ev = find_event(name);
    on = ev && __atomic_load_n(ev->on, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&trace_lock);
    return on;
}

void vfi_trace_set_output(FILE *fp)
{
    pthread_mutex_lock(&trace_lock);
    trace_out = fp;
    pthread_mutex_unlock(&trace_lock);
}

void vfi_trace_log(const char *event, const char *fmt, ...)
{
    gint64 now = g_get_real_time();
    va_list ap;

    pthread_mutex_lock(&trace_lock);
    FILE *out = trace_out ? trace_out : stderr;
    fprintf(out, "%" G_GINT64_FORMAT ".%06" G_GINT64_FORMAT " %d %s ",
            now / G_USEC_PER_SEC, now % G_USEC_PER_SEC, (int)getpid(), event);
    va_start(ap, fmt);
    /* (no event has a NULL format; the check keeps GCC's -Wformat-overflow
     * quiet in a -fsanitize=undefined build, whose null checks add that path) */
    vfprintf(out, fmt ? fmt : "", ap);
    va_end(ap);
    fputc('\n', out);
    fflush(out);
    pthread_mutex_unlock(&trace_lock);
}
