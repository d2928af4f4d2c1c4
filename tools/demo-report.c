/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd demo: collecting and printing what the demo did.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo-report.h"
#include "placement.h"

static void clear_device(gpointer p)
{
    DemoDevice *d = p;

    g_free(d->name);
}

DemoReport *demo_report_new(const char *kernel)
{
    DemoReport *r = g_new0(DemoReport, 1);

    r->kernel = kernel;
    r->devices = g_array_new(FALSE, TRUE, sizeof(DemoDevice));
    g_array_set_clear_func(r->devices, clear_device);
    r->log = g_ptr_array_new_with_free_func(g_free);
    r->leaked_objects = -1;
    return r;
}

void demo_report_free(DemoReport *r)
{
    if (!r) {
        return;
    }
    if (r->containers) {
        g_array_unref(r->containers);
    }
    g_array_unref(r->devices);
    g_ptr_array_unref(r->log);
    g_free(r->replugged);
    g_free(r->backend.first);
    g_free(r->migration_blocker);
    g_free(r);
}

void demo_report_log(DemoReport *r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_ptr_array_add(r->log, g_strdup_vprintf(fmt, ap));
    va_end(ap);
}

/* Devices are named by their topology name (or the argument given). */
static const char *device_label(const VfiDevice *dev, void *data)
{
    const DemoReport *r = data;

    for (guint i = 0; i < r->devices->len; i++) {
        const DemoDevice *d = &g_array_index(r->devices, DemoDevice, i);
        if (d->dev == dev) {
            return d->name;
        }
    }
    return vfi_device_get_name(dev);
}

int demo_device_iommu_group(const VfiDevice *dev)
{
    const char *dir = vfi_device_get_sysfs_path(dev);
    g_autofree char *link = dir ? g_build_filename(dir, "iommu_group", NULL) : NULL;
    g_autofree char *target = link ? g_file_read_link(link, NULL) : NULL;
    const char *num = target ? strrchr(target, '/') : NULL;

    return num && g_ascii_isdigit(num[1]) ? atoi(num + 1) : -1;
}

void demo_report_snapshot(DemoReport *r, VfiAddressSpace *as)
{
    if (r->containers) {
        g_array_unref(r->containers);
    }
    r->containers = placement_snapshot(as, device_label, r);
    tool_backend_read(&r->backend, as);
    r->type1 = r->backend.used == VFI_BACKEND_TYPE1;
    for (guint i = 0; i < r->devices->len; i++) {
        DemoDevice *d = &g_array_index(r->devices, DemoDevice, i);

        d->iommu_group = r->type1 && d->attached ? demo_device_iommu_group(d->dev) : -1;
    }
}

/* The type1 container: each IOMMU group with its devices. */
static void print_type1(const DemoReport *r, FILE *out)
{
    fprintf(out, "  type1 container (/dev/vfio/vfio, VFIO_TYPE1v2_IOMMU): no IOAS, no HWPTs\n");
    for (guint i = 0; i < r->devices->len; i++) {
        const DemoDevice *d = &g_array_index(r->devices, DemoDevice, i);

        if (d->iommu_group >= 0) {
            fprintf(out, "    IOMMU group %d (/dev/vfio/%d): %s\n", d->iommu_group,
                    d->iommu_group, d->name);
        }
    }
}

static void print_devices(const DemoReport *r, FILE *out)
{
    int w = 15;

    for (guint i = 0; i < r->devices->len; i++) {
        const DemoDevice *d = &g_array_index(r->devices, DemoDevice, i);

        w = MAX(w, (int)strlen(placement_coverage_str(d->coverage)));
    }
    fprintf(out, "\nDevices:\n");
    fprintf(out, "  %-12s %-8s %-9s %-*s %-13s %s\n", "name", "kind", "attempts", w, "dirty",
            "found/written", "why not tracked");
    for (guint i = 0; i < r->devices->len; i++) {
        const DemoDevice *d = &g_array_index(r->devices, DemoDevice, i);
        g_autofree char *pages = g_strdup_printf("%u/%u", d->pages_found, d->pages_written);

        fprintf(out, "  %-12s %-8s %-9u %-*s %-13s %s\n", d->name,
                d->mdev ? "mdev" : "physical", d->attach_attempts, w,
                placement_coverage_str(d->coverage), r->migration_ran ? pages : "-",
                d->why == VFI_COVERED ? "-" : vfi_untracked_reason_str(d->why));
    }
}

void demo_report_print_text(const DemoReport *r, FILE *out)
{
    g_autofree char *why = tool_backend_reason(&r->backend);

    fprintf(out, "vfio-iommufd demo on the %s kernel\n\n", r->kernel);
    fprintf(out, "Backend: %s\n  why: %s\n\n", tool_backend_describe(r->backend.used), why);
    for (guint i = 0; i < r->log->len; i++) {
        fprintf(out, "  %s\n", (char *)g_ptr_array_index(r->log, i));
    }
    fprintf(out, "\nPlacement (after every device was plugged):\n");
    if (r->containers) {
        placement_text(r->containers, out);
    }
    if (r->type1) {
        print_type1(r, out);
    }
    print_devices(r, out);
    if (r->migration_ran) {
        fprintf(out, "\nMigration: %s\n",
                r->migration_blocker ? r->migration_blocker : "every device is dirty-tracked");
    }
    for (guint i = 0; r->replugged && i < r->devices->len; i++) {
        const DemoDevice *d = &g_array_index(r->devices, DemoDevice, i);

        if (g_str_equal(d->name, r->replugged) && r->type1) {
            fprintf(out, "\nRe-plugged %s: its IOMMU group joined the type1 container again\n",
                    d->name);
        } else if (g_str_equal(d->name, r->replugged)) {
            fprintf(out, "\nRe-plugged %s: %u attach attempt(s)\n", d->name,
                    d->replug_attempts);
        }
    }
    if (r->leaked_objects >= 0) {
        fprintf(out, "\nKernel objects left after teardown: %" PRId64 "\n", r->leaked_objects);
    }
}

static void device_json(const DemoDevice *d, Json *j)
{
    json_begin_object(j, NULL);
    json_string(j, "name", d->name);
    json_bool(j, "mdev", d->mdev);
    json_uint(j, "attach_attempts", d->attach_attempts);
    if (d->iommu_group >= 0) {
        json_int(j, "iommu_group", d->iommu_group);
    } else {
        json_null(j, "iommu_group");
    }
    json_bool(j, "iommu_dirty_tracking", d->coverage == VFI_DIRTY_COVERAGE_IOMMU);
    json_string(j, "dirty_coverage", placement_coverage_str(d->coverage));
    json_string(j, "dirty_granularity", vfi_dirty_coverage_granularity(d->coverage, NULL));
    json_uint(j, "pages_written", d->pages_written);
    json_uint(j, "pages_found", d->pages_found);
    json_string(j, "untracked_reason",
                d->why == VFI_COVERED ? NULL : vfi_untracked_reason_str(d->why));
    json_end_object(j);
}

/* "options", "backend", "backend_reason", "type1_container". */
static void backend_json(const DemoReport *r, Json *j)
{
    g_autofree char *why = tool_backend_reason(&r->backend);

    json_begin_object(j, "options");
    json_string(j, "backend", tool_backend_str(r->backend.asked));
    json_end_object(j);
    json_string(j, "backend", tool_backend_str(r->backend.used));
    json_string(j, "backend_reason", why);
    if (!r->type1) {
        json_null(j, "type1_container");
        return;
    }
    json_begin_object(j, "type1_container");
    json_begin_array(j, "iommu_groups");
    for (guint i = 0; i < r->devices->len; i++) {
        const DemoDevice *d = &g_array_index(r->devices, DemoDevice, i);
        bool seen = false;

        for (guint k = 0; k < i; k++) {
            seen |= g_array_index(r->devices, DemoDevice, k).iommu_group == d->iommu_group;
        }
        if (d->iommu_group >= 0 && !seen) {
            json_int(j, NULL, d->iommu_group);
        }
    }
    json_end_array(j);
    json_end_object(j);
}

void demo_report_json(const DemoReport *r, Json *j)
{
    backend_json(r, j);
    if (r->containers) {
        placement_json(r->containers, j);
    } else {
        json_begin_array(j, "containers");
        json_end_array(j);
    }
    json_begin_array(j, "devices");
    for (guint i = 0; i < r->devices->len; i++) {
        device_json(&g_array_index(r->devices, DemoDevice, i), j);
    }
    json_end_array(j);
    json_string(j, "replugged", r->replugged);
    json_uint(j, "mapped_bytes", r->mapped_bytes);
    json_string(j, "migration_blocker", r->migration_blocker);
    if (r->leaked_objects >= 0) {
        json_int(j, "leaked_objects", r->leaked_objects);
    } else {
        json_null(j, "leaked_objects");
    }
    json_strings(j, "log", r->log);
}
