/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: what backends/viommu.c and backends/eventq.c share: the
 * common part of every vIOMMU-related object.
 */
#ifndef VFI_VIOMMU_INTERNAL_H
#define VFI_VIOMMU_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vfio-iommufd/viommu.h"

/* One kernel object of an iommufd, owned: the first member of each object
 * of viommu.h (VfiViommu, ...). */
typedef struct ViObj {
    VfiIommufd *be;     /* we hold one user of it */
    uint32_t id;        /* the kernel object */
    int fd;             /* the queue's fd, or -1 */
    const char *kind;   /* "viommu", ... for messages and events */
} ViObj;

/* Fill @o for the new kernel object @id (and @fd, or -1) and take the
 * backend user; on failure the kernel object is destroyed and @fd closed. */
bool vfi_viobj_init(ViObj *o, VfiIommufd *be, const char *kind, uint32_t id, int fd,
                    GError **errp);
/* Close of @o's fd (the kernel's fd holds the object), IOMMU_DESTROY, the
 * user dropped. @gone_ok: ENOENT (the kernel destroyed it already) is not
 * an error. False when the kernel refuses: the object stays (fd closed). */
bool vfi_viobj_destroy(ViObj *o, bool gone_ok, GError **errp);
/* vfi_viobj_destroy(), then g_free() of the object @o is the first member
 * of. NULL: true. */
bool vfi_viobj_free(ViObj *o, bool gone_ok, GError **errp);
/* The backend and id of a vIOMMU (non-NULL). */
VfiIommufd *vfi_viommu_backend_of(const VfiViommu *viommu);
uint32_t vfi_viommu_id_of(const VfiViommu *viommu);

#endif
