/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd plan / migration-check: the placement the library chooses
 * for a set of devices and whether their migration is possible, tried for
 * real on a fresh iommufd and address space and torn down again (trial.h).
 */
#include <stdio.h>
#include <string.h>

#include "backend.h"
#include "cli.h"
#include "placement.h"
#include "trial.h"

enum {
    OPT_NO_IOMMU_DIRTY = 256,
    OPT_NO_DEVICE_LOGGING,
    OPT_NEST_PARENT,
    OPT_BACKEND,
};

/* What the options ask for: the attach options, the backend. */
typedef struct PlanOptions {
    VfiAttachOptions attach;
    VfiBackendKind backend;
} PlanOptions;

static const struct option plan_options[] = {
    { "no-iommu-dirty-tracking", no_argument, NULL, OPT_NO_IOMMU_DIRTY },
    { "no-device-logging", no_argument, NULL, OPT_NO_DEVICE_LOGGING },
    { "nest-parent", no_argument, NULL, OPT_NEST_PARENT },
    { "backend", required_argument, NULL, OPT_BACKEND },
    { NULL, 0, NULL, 0 },
};

#define PLAN_OPTIONS_HELP \
    "Options:\n" \
    "  --no-iommu-dirty-tracking\n" \
    "                   place every device in a plain HWPT, as a VMM that does\n" \
    "                   not migrate (VfiAttachOptions.no_iommu_dirty_tracking)\n" \
    "  --no-device-logging\n" \
    "                   do not use the devices' own DMA logging (by default a\n" \
    "                   device offering it is tracked that way, in a plain HWPT:\n" \
    "                   VfiAttachOptions.prefer_device_dirty_logging)\n" \
    "  --nest-parent    place every device in a nest-parent HWPT, as a VMM whose\n" \
    "                   guest has a vIOMMU (VfiAttachOptions.nest_parent): with\n" \
    "                   dirty tracking where the kernel takes both flags\n" \
    "  --backend auto|iommufd|type1\n" \
    "                   the host backend of the address space\n" \
    "                   (vfi_address_space_set_backend()): auto (the default)\n" \
    "                   takes type1 for a device without a VFIO cdev or on a\n" \
    "                   host without /dev/iommu, IOMMUFD otherwise\n"

static bool plan_option(int val, const char *arg, void *data, GError **errp)
{
    PlanOptions *po = data;
    VfiAttachOptions *opts = &po->attach;

    if (val == OPT_BACKEND) {
        return tool_backend_parse(arg, &po->backend, errp);
    }
    if (val == OPT_NO_IOMMU_DIRTY) {
        opts->no_iommu_dirty_tracking = true;
    } else if (val == OPT_NEST_PARENT) {
        opts->nest_parent = true;
    } else {
        opts->prefer_device_dirty_logging = false;
    }
    return true;
}

static const char *why_str(const TrialDevice *d)
{
    return d->why == VFI_COVERED ? NULL : vfi_untracked_reason_str(d->why);
}

static void devices_json(const Trial *t, Json *j, bool placement)
{
    json_begin_array(j, "devices");
    for (guint i = 0; i < t->devices->len; i++) {
        const TrialDevice *d = &g_array_index(t->devices, TrialDevice, i);

        json_begin_object(j, NULL);
        json_string(j, "address", d->name);
        json_string(j, "kind", d->mdev ? "mdev" : "pci");
        if (placement) {
            if (d->hwpt_id) {
                json_uint(j, "hwpt_id", d->hwpt_id);
            } else {
                json_null(j, "hwpt_id");
            }
            json_uint(j, "attach_attempts", d->attach_attempts);
        }
        json_bool(j, "dma_logging", d->offers_logging);
        json_string(j, "dirty_coverage", placement_coverage_str(d->coverage));
        json_string(j, "dirty_granularity", vfi_dirty_coverage_granularity(d->coverage, NULL));
        json_string(j, "untracked_reason", why_str(d));
        json_end_object(j);
    }
    json_end_array(j);
}

static void trial_json(const ToolOptions *o, const ToolKernel *k, const Trial *t,
                       const PlanOptions *po, bool placement)
{
    g_autoptr(Json) j = tool_json_begin(o, k);
    const VfiAttachOptions *opts = &po->attach;
    g_autofree char *reason = tool_backend_reason(&t->backend);

    json_begin_object(j, "options");
    json_bool(j, "iommu_dirty_tracking", !opts->no_iommu_dirty_tracking);
    json_bool(j, "device_logging", opts->prefer_device_dirty_logging);
    json_bool(j, "nest_parent", opts->nest_parent);
    json_string(j, "backend", tool_backend_str(po->backend));
    json_end_object(j);
    json_string(j, "backend", tool_backend_str(t->backend.used));
    json_string(j, "backend_reason", reason);
    if (placement) {
        placement_json(t->containers, j);
    }
    devices_json(t, j, placement);
    json_bool(j, "migration_possible", t->blocker == NULL);
    json_string(j, "migration_blocker", t->blocker);
    json_bool(j, "torn_down", t->torn_down);
    if (t->objects_left >= 0) {
        json_int(j, "kernel_objects_left", t->objects_left);
    } else {
        json_null(j, "kernel_objects_left");
    }
    json_end_object(j);
    json_print(j, stdout);
}

static void devices_text(const Trial *t, bool placement, FILE *out)
{
    if (placement) {
        fprintf(out, "  %-36s %-5s %-5s %-9s %-15s %s\n", "ADDRESS", "KIND", "HWPT",
                "ATTEMPTS", "DIRTY", "WHY NOT TRACKED");
    } else {
        fprintf(out, "  %-36s %-5s %-15s %s\n", "ADDRESS", "KIND", "DIRTY", "WHY NOT TRACKED");
    }
    for (guint i = 0; i < t->devices->len; i++) {
        const TrialDevice *d = &g_array_index(t->devices, TrialDevice, i);
        g_autofree char *hwpt = t->backend.used == VFI_BACKEND_TYPE1 ? g_strdup("-") :
                                d->hwpt_id ? g_strdup_printf("%u", d->hwpt_id) :
                                g_strdup("IOAS");
        const char *why = why_str(d);

        if (placement) {
            fprintf(out, "  %-36s %-5s %-5s %-9u %-15s %s\n", d->name,
                    d->mdev ? "mdev" : "pci", hwpt, d->attach_attempts,
                    placement_coverage_str(d->coverage), why ? why : "-");
        } else {
            fprintf(out, "  %-36s %-5s %-15s %s\n", d->name, d->mdev ? "mdev" : "pci",
                    placement_coverage_str(d->coverage), why ? why : "-");
        }
    }
}

static void trial_text(const Trial *t, bool placement, FILE *out)
{
    g_autofree char *reason = tool_backend_reason(&t->backend);

    fprintf(out, "Backend: %s\n  why: %s\n\n", tool_backend_describe(t->backend.used), reason);
    if (placement && t->backend.used != VFI_BACKEND_TYPE1) {
        fprintf(out, "Placement on a fresh iommufd and address space:\n");
        placement_text(t->containers, out);
        fputc('\n', out);
    }
    fprintf(out, "Devices:\n");
    devices_text(t, placement, out);
    fprintf(out, "\nMigration: %s%s\n", t->blocker ? "not possible: " : "possible",
            t->blocker ? t->blocker : " (every device is dirty-tracked)");
    fprintf(out, "Torn down: every object made was destroyed");
    if (t->objects_left >= 0) {
        fprintf(out, " (kernel objects left: %" G_GINT64_FORMAT ")", t->objects_left);
    }
    fputc('\n', out);
}

/* plan (@placement) or migration-check. */
static int run_trial(ToolOptions *o, const ToolCommand *cmd, int argc, char **argv,
                     bool placement)
{
    g_autoptr(GError) err = NULL;
    PlanOptions opts = { .attach = VFI_ATTACH_OPTIONS_INIT(.prefer_device_dirty_logging = true) };
    g_autoptr(Trial) t = NULL;
    ToolKernel k = { 0 };
    int first, r = tool_parse_options(o, cmd, argc, argv, plan_options, plan_option, &opts,
                                      &first, &err);
    bool ok;

    if (r <= 0) {
        return r == 0 ? TOOL_EXIT_OK : tool_fail(o, err);
    }
    if (first == argc) {
        tool_usage_error(&err, "%s takes one or more devices", cmd->name);
        return tool_fail(o, err);
    }
    if (!tool_kernel_open(o, &k, &err)) {
        return tool_fail(o, err);
    }
    t = trial_new();
    ok = trial_place(t, &k, argv + first, argc - first, opts.backend, &opts.attach, &err);
    ok = trial_teardown(t, &k, ok ? &err : NULL) && ok;
    if (ok) {
        if (o->json) {
            trial_json(o, &k, t, &opts, placement);
        } else {
            trial_text(t, placement, stdout);
        }
        r = placement || !t->blocker ? TOOL_EXIT_OK : TOOL_EXIT_CHECK_FAILED;
    } else {
        r = tool_fail(o, err);
    }
    g_clear_pointer(&t, trial_free);
    tool_kernel_close(&k);
    return r;
}

static int run_plan(ToolOptions *o, int argc, char **argv)
{
    return run_trial(o, &tool_cmd_plan, argc, argv, true);
}

static int run_migration_check(ToolOptions *o, int argc, char **argv)
{
    return run_trial(o, &tool_cmd_migration_check, argc, argv, false);
}

const ToolCommand tool_cmd_plan = {
    .name = "plan",
    .synopsis = "[OPTIONS] DEVICE...",
    .brief = "the placement the library chooses for a set of devices",
    .summary = "Show the placement the library chooses for these devices in one guest\n"
               "address space: the containers (IOAS), which devices share a HWPT, the\n"
               "HWPTs' dirty-tracking and nest-parent flags, the attach attempts, each device's\n"
               "dirty-tracking coverage and the migration blocker.",
    .help = "It is done for real: the devices are opened and attached to a fresh\n"
            "iommufd and address space (no memory is mapped), the result is read, and\n"
            "everything is detached, closed and destroyed again, so the kernel is left\n"
            "as it was. The devices must be bound to a VFIO driver and not in use by a\n"
            "VMM. The HWPT and IOAS ids are those of the trial. DEVICE: as for 'info'.\n"
            "\n" PLAN_OPTIONS_HELP,
    .run = run_plan,
};

const ToolCommand tool_cmd_migration_check = {
    .name = "migration-check",
    .synopsis = "[OPTIONS] DEVICE...",
    .brief = "can a guest with these devices be live-migrated",
    .summary = "Say whether a guest with these devices can be live-migrated: each\n"
               "device's dirty-tracking coverage (IOMMU, device DMA logging or none,\n"
               "and why) and the migration blocker message. Exit status 0 when\n"
               "migration is possible, 1 when it is not.",
    .help = "Done for real and undone as 'plan' does: the kernel is left as it was.\n"
            "\n" PLAN_OPTIONS_HELP,
    .run = run_migration_check,
};
