/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd tool: the host backend of an address space (IOMMUFD or the
 * VFIO type1 container, vfi_address_space_set_backend()), its --backend
 * option and the sentence saying why an address space uses the one it
 * does. Used by plan, migration-check and the demo.
 */
#ifndef VFI_TOOL_BACKEND_H
#define VFI_TOOL_BACKEND_H

#include <stdbool.h>
#include <glib.h>

#include "vfio-iommufd/container.h"

/* What the tool saw of an address space's backend. */
typedef struct ToolBackend {
    VfiBackendKind asked;       /* --backend (VFI_BACKEND_AUTO by default) */
    VfiBackendKind used;        /* vfi_address_space_get_backend() after the attaches */
    const char *why;            /* vfi_address_space_get_backend_reason() with it */
    char *first;                /* the first device attached (AUTO decides on it) */
} ToolBackend;

/* Returns: "auto", "iommufd" or "type1". */
const char *tool_backend_str(VfiBackendKind kind);
/* The value of --backend into @out; a usage error naming the kinds. */
bool tool_backend_parse(const char *arg, VfiBackendKind *out, GError **errp);
/* Record the first device @name attached to an address space: the first
 * call only. */
void tool_backend_first(ToolBackend *b, const char *name);
/* b->used and b->why off @as (after its attaches). */
void tool_backend_read(ToolBackend *b, const VfiAddressSpace *as);
/* Why the address space uses b->used: asked for (--backend), or the
 * library's reason for AUTO's choice (b->why) on the first device, named.
 * Newly allocated. */
char *tool_backend_reason(const ToolBackend *b);
/* "type1 (the VFIO group + type1 container: ...)" or "iommufd (...)". */
const char *tool_backend_describe(VfiBackendKind used);

#endif
