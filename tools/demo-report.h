/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd demo: what the demo saw, printed as text or JSON.
 */
#ifndef VFI_DEMO_REPORT_H
#define VFI_DEMO_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vfio-iommufd/container.h"
#include "backend.h"
#include "json.h"

typedef struct DemoDevice {
    char *name;                /* topology name, or the BDF/path given */
    VfiDevice *dev;
    bool want_dirty;           /* the VMM's wish (want-dirty-tracking) */
    bool prefer_logging;       /* the VMM's wish (prefer-device-logging) */
    bool nest_parent;          /* the VMM's wish (nest-parent: a guest vIOMMU) */
    bool attached;             /* in the address space now */
    int iommu_group;           /* its IOMMU group in a type1 container, or -1 */
    unsigned attach_attempts;  /* of its first placement */
    unsigned replug_attempts;  /* of its re-plug (0 if not re-plugged) */
    bool mdev;
    VfiDirtyCoverage coverage;
    VfiUntrackedReason why;
    unsigned pages_written;    /* by simulated DMA in the migration round */
    unsigned pages_found;      /* of those, found dirty by the sync */
} DemoDevice;

typedef struct DemoReport {
    const char *kernel;        /* "simulated" or "linux" */
    ToolBackend backend;       /* asked (--backend), used, why */
    GArray *containers;        /* PlacedContainer, snapshot after plugging */
    bool type1;                /* the snapshot: the devices in a type1 container */
    GArray *devices;           /* DemoDevice */
    char *replugged;           /* name of the re-plugged device, or NULL */
    int64_t leaked_objects;    /* -1 when not known (real kernel) */
    uint64_t mapped_bytes;
    bool migration_ran;        /* the dirty-tracking round took place */
    char *migration_blocker;   /* NULL: every device covered */
    GPtrArray *log;            /* char * lines: what happened, in order */
} DemoReport;

DemoReport *demo_report_new(const char *kernel);
void demo_report_free(DemoReport *r);
/* Record the backend and containers of @as (with device names from
 * r->devices; a type1 container: each device's IOMMU group). */
void demo_report_snapshot(DemoReport *r, VfiAddressSpace *as);
/* The IOMMU group of @dev (its sysfs iommu_group link), or -1. */
int demo_device_iommu_group(const VfiDevice *dev);
void demo_report_log(DemoReport *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
void demo_report_print_text(const DemoReport *r, FILE *out);
/* The report's members into the open object @j. */
void demo_report_json(const DemoReport *r, Json *j);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(DemoReport, demo_report_free)

#endif
