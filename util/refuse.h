/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: refusing a call before any ioctl, the one way the layers
 * below the containers do it: the reason formatted once, one trace event of
 * the caller's own, one VFI_ERROR.
 */
#ifndef VFI_REFUSE_H
#define VFI_REFUSE_H

#include <stdarg.h>
#include <stdbool.h>
#include <glib.h>

/* The trace event of a refusal: the fd of the object refused (-1: none),
 * the call, the reason. A generated trace_*() of that signature fits. */
typedef void (*VfiRefuseTrace)(int fd, const char *what, const char *why);

/*
 * Refuse @what: format the reason from @fmt, emit it through @trace (with
 * @fd and @what), and set *errp to VFI_ERROR / @code (a VfiError) with the
 * message "<what>: <why>", or "<what>: <object> fd <fd>: <why>" when
 * @object (say "type1 container") is given. Returns false, so that a caller
 * can `return vfi_refuse(...)`.
 */
bool vfi_refuse(GError **errp, int code, VfiRefuseTrace trace, int fd, const char *object,
                const char *what, const char *fmt, ...) G_GNUC_PRINTF(7, 8);
/* vfi_refuse() with the format's arguments in @ap (for a variadic caller). */
bool vfi_refusev(GError **errp, int code, VfiRefuseTrace trace, int fd, const char *object,
                 const char *what, const char *fmt, va_list ap) G_GNUC_PRINTF(7, 0);

#endif
