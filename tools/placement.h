/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd tool: the placement of an address space's devices (its
 * containers, their HWPTs with flags and devices, the mdevs on an IOAS),
 * copied out so it can be printed after the teardown; as text or JSON.
 * Used by plan, migration-check and the demo.
 */
#ifndef VFI_TOOL_PLACEMENT_H
#define VFI_TOOL_PLACEMENT_H

#include <stdint.h>
#include <stdio.h>
#include <glib.h>

#include "vfio-iommufd/container.h"
#include "json.h"

typedef struct PlacedHwpt {
    uint32_t id;
    uint32_t flags;            /* IOMMU_HWPT_ALLOC_* */
    GPtrArray *devices;        /* char * labels */
} PlacedHwpt;

typedef struct PlacedContainer {
    uint32_t ioas_id;
    GArray *hwpts;             /* PlacedHwpt */
    GPtrArray *ioas_devices;   /* char * labels of the mdevs on the IOAS */
} PlacedContainer;

/* How a device is named in the copy. */
typedef const char *(*PlacementLabelFn)(const VfiDevice *dev, void *data);

/* The containers of @as (GArray of PlacedContainer, freed with it). @label
 * NULL: vfi_device_get_name(). */
GArray *placement_snapshot(VfiAddressSpace *as, PlacementLabelFn label, void *data);
/* Member "containers": [{"ioas_id", "hwpts": [{"hwpt_id", "dirty_tracking",
 * "nest_parent", "devices"}], "ioas_devices"}]. */
void placement_json(const GArray *containers, Json *j);
/* "  container 0: IOAS 1" and a line per HWPT and for the IOAS's mdevs. */
void placement_text(const GArray *containers, FILE *out);
/* Returns: "iommu", "device-logging" or "none". */
const char *placement_coverage_str(VfiDirtyCoverage c);

#endif
