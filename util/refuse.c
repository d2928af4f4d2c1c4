/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: refusing a call before any ioctl (refuse.h).
 */
#include "vfio-iommufd/error.h"
#include "util/refuse.h"

bool vfi_refusev(GError **errp, int code, VfiRefuseTrace trace, int fd, const char *object,
                 const char *what, const char *fmt, va_list ap)
{
    g_autofree char *why = g_strdup_vprintf(fmt, ap);

    trace(fd, what, why);
    if (object) {
        g_set_error(errp, VFI_ERROR, code, "%s: %s fd %d: %s", what, object, fd, why);
    } else {
        g_set_error(errp, VFI_ERROR, code, "%s: %s", what, why);
    }
    return false;
}

bool vfi_refuse(GError **errp, int code, VfiRefuseTrace trace, int fd, const char *object,
                const char *what, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfi_refusev(errp, code, trace, fd, object, what, fmt, ap);
    va_end(ap);
    return false;
}
