/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd tool: a trial placement, done for real and undone.
 *
 * The devices are opened and attached, as a VMM would, to one fresh guest
 * address space on a fresh iommufd (the library picks or makes the HWPTs);
 * the placement, each device's dirty-tracking coverage and the migration
 * blocker are copied out; then every device is detached and closed and the
 * address space and iommufd freed, so every object made in the kernel is
 * destroyed and the kernel is as before. No memory is mapped. Used by plan
 * and migration-check.
 */
#ifndef VFI_TOOL_TRIAL_H
#define VFI_TOOL_TRIAL_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vfio-iommufd/container.h"
#include "backend.h"
#include "cli.h"

typedef struct TrialDevice {
    char *name;                 /* PCI address or mdev UUID */
    VfiDevice *dev;             /* NULL after the teardown */
    bool mdev;
    uint32_t hwpt_id;           /* 0: on the IOAS (an mdev) */
    unsigned attach_attempts;
    bool offers_logging;        /* VFIO DMA logging, probed at attach */
    VfiDirtyCoverage coverage;
    VfiUntrackedReason why;
} TrialDevice;

typedef struct Trial {
    ToolBackend backend;        /* asked, used, and the first device (why) */
    VfiIommufd *be;
    VfiAddressSpace *as;
    GArray *devices;            /* TrialDevice, argument order */
    GArray *containers;         /* PlacedContainer (placement.h) */
    char *blocker;              /* NULL: migration possible */
    bool torn_down;             /* every object destroyed without error */
    int64_t objects_left;       /* kernel objects after it (model), -1 */
} Trial;

Trial *trial_new(void);
/* Tears down first if needed (errors only traced). */
void trial_free(Trial *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Trial, trial_free)

/* Attach the devices @args[0..n) (device arguments, cli.h) with @opts to
 * an address space on @backend and copy out the result. On failure what
 * was done stays for the teardown. */
bool trial_place(Trial *t, const ToolKernel *k, char **args, int n, VfiBackendKind backend,
                 const VfiAttachOptions *opts, GError **errp);
/* Detach and close every device, free the address space and the iommufd;
 * on the model also check that no kernel object is left. */
bool trial_teardown(Trial *t, const ToolKernel *k, GError **errp);

#endif
