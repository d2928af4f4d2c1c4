/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: what the files of backends/ share of backends/iommufd.c.
 */
#ifndef VFI_IOMMUFD_INTERNAL_H
#define VFI_IOMMUFD_INTERNAL_H

#include <stdbool.h>
#include <glib.h>

#include "vfio-iommufd/iommufd.h"

/* The checks every ioctl wrapper starts with: a backend (INVALID_ARGUMENT)
 * with an open fd (WRONG_STATE). @func names the call in the message. */
bool vfi_iommufd_check(const VfiIommufd *be, const char *func, GError **errp);
/* Refuse @func with INVALID_ARGUMENT, saying @why (trace vfi_iommufd_reject).
 * Returns: false. */
bool vfi_iommufd_reject(const VfiIommufd *be, const char *func, GError **errp,
                        const char *why);

#endif
