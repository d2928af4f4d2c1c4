/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd tool: collecting and printing what the demo did.
 */
#include <inttypes.h>
#include <stdio.h>
#include <linux/iommufd.h>

#include "demo-report.h"

static void clear_hwpt(gpointer p)
{
    DemoHwpt *h = p;

    g_ptr_array_unref(h->devices);
}

static void clear_container(gpointer p)
{
    DemoContainer *c = p;

    g_array_unref(c->hwpts);
    g_ptr_array_unref(c->ioas_devices);
}

static void clear_device(gpointer p)
{
    DemoDevice *d = p;

    g_free(d->name);
}

DemoReport *demo_report_new(const char *kernel)
{
    DemoReport *r = g_new0(DemoReport, 1);

    r->kernel = kernel;
    r->containers = g_array_new(FALSE, TRUE, sizeof(DemoContainer));
    g_array_set_clear_func(r->containers, clear_container);
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
    g_array_unref(r->containers);
    g_array_unref(r->devices);
    g_ptr_array_unref(r->log);
    g_free(r->replugged);
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

static const char *device_label(const DemoReport *r, const VfiDevice *dev)
{
    for (guint i = 0; i < r->devices->len; i++) {
        const DemoDevice *d = &g_array_index(r->devices, DemoDevice, i);
        if (d->dev == dev) {
            return d->name;
        }
    }
    return vfi_device_get_name(dev);
}

void demo_report_snapshot(DemoReport *r, VfiAddressSpace *as)
{
    g_array_set_size(r->containers, 0);
    for (unsigned i = 0; i < vfi_address_space_container_count(as); i++) {
        VfiContainer *c = vfi_address_space_container(as, i);
        DemoContainer dc = {
            .ioas_id = vfi_container_get_ioas_id(c),
            .hwpts = g_array_new(FALSE, TRUE, sizeof(DemoHwpt)),
            .ioas_devices = g_ptr_array_new_with_free_func(g_free),
        };

        g_array_set_clear_func(dc.hwpts, clear_hwpt);
        for (unsigned h = 0; h < vfi_container_hwpt_count(c); h++) {
            VfiHwpt *hwpt = vfi_container_hwpt(c, h);
            DemoHwpt dh = {
                .id = vfi_hwpt_get_id(hwpt),
                .flags = vfi_hwpt_get_flags(hwpt),
                .devices = g_ptr_array_new_with_free_func(g_free),
            };
            for (unsigned d = 0; d < vfi_hwpt_device_count(hwpt); d++) {
                g_ptr_array_add(dh.devices,
                                g_strdup(device_label(r, vfi_hwpt_device(hwpt, d))));
            }
            g_array_append_val(dc.hwpts, dh);
        }
        for (unsigned d = 0; d < vfi_container_device_count(c); d++) {
            VfiDevice *dev = vfi_container_device(c, d);
            if (!vfi_device_get_hwpt(dev)) {
                g_ptr_array_add(dc.ioas_devices, g_strdup(device_label(r, dev)));
            }
        }
        g_array_append_val(r->containers, dc);
    }
}

static const char *coverage_str(VfiDirtyCoverage c)
{
    switch (c) {
    case VFI_DIRTY_COVERAGE_IOMMU:
        return "iommu";
    case VFI_DIRTY_COVERAGE_DEVICE_LOGGING:
        return "device-logging";
    default:
        return "none";
    }
}

void demo_report_print_text(const DemoReport *r, FILE *out)
{
    fprintf(out, "vfio-iommufd demo on the %s kernel\n\n", r->kernel);
    for (guint i = 0; i < r->log->len; i++) {
        fprintf(out, "  %s\n", (char *)g_ptr_array_index(r->log, i));
    }
    fprintf(out, "\nPlacement (after every device was plugged):\n");
    for (guint i = 0; i < r->containers->len; i++) {
        const DemoContainer *c = &g_array_index(r->containers, DemoContainer, i);

        fprintf(out, "  container %u: IOAS %u\n", i, c->ioas_id);
        for (guint h = 0; h < c->hwpts->len; h++) {
            const DemoHwpt *dh = &g_array_index(c->hwpts, DemoHwpt, h);

            fprintf(out, "    HWPT %u [%s]:", dh->id,
                    dh->flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING ? "dirty-tracking" : "plain");
            for (guint d = 0; d < dh->devices->len; d++) {
                fprintf(out, " %s", (char *)g_ptr_array_index(dh->devices, d));
            }
            fputc('\n', out);
        }
        if (c->ioas_devices->len) {
            fprintf(out, "    on the IOAS itself (mdev):");
            for (guint d = 0; d < c->ioas_devices->len; d++) {
                fprintf(out, " %s", (char *)g_ptr_array_index(c->ioas_devices, d));
            }
            fputc('\n', out);
        }
    }
    fprintf(out, "\nDevices:\n");
    fprintf(out, "  %-12s %-8s %-9s %-15s %-13s %s\n", "name", "kind", "attempts", "dirty",
            "found/written", "why not tracked");
    for (guint i = 0; i < r->devices->len; i++) {
        const DemoDevice *d = &g_array_index(r->devices, DemoDevice, i);
        g_autofree char *pages = g_strdup_printf("%u/%u", d->pages_found, d->pages_written);

        fprintf(out, "  %-12s %-8s %-9u %-15s %-13s %s\n", d->name,
                d->mdev ? "mdev" : "physical", d->attach_attempts, coverage_str(d->coverage),
                r->migration_ran ? pages : "-",
                d->why == VFI_COVERED ? "-" : vfi_untracked_reason_str(d->why));
    }
    if (r->migration_ran) {
        fprintf(out, "\nMigration: %s\n",
                r->migration_blocker ? r->migration_blocker : "every device is dirty-tracked");
    }
    if (r->replugged) {
        for (guint i = 0; i < r->devices->len; i++) {
            const DemoDevice *d = &g_array_index(r->devices, DemoDevice, i);
            if (g_str_equal(d->name, r->replugged)) {
                fprintf(out, "\nRe-plugged %s: %u attach attempt(s)\n", d->name,
                        d->replug_attempts);
            }
        }
    }
    if (r->leaked_objects >= 0) {
        fprintf(out, "\nKernel objects left after teardown: %" PRId64 "\n", r->leaked_objects);
    }
}

static void json_string(GString *s, const char *str)
{
    g_string_append_c(s, '"');
    for (const char *p = str; *p; p++) {
        unsigned char ch = (unsigned char)*p;

        if (ch == '"' || ch == '\\') {
            g_string_append_printf(s, "\\%c", ch);
        } else if (ch < 0x20) {
            g_string_append_printf(s, "\\u%04x", ch);
        } else {
            g_string_append_c(s, ch);
        }
    }
    g_string_append_c(s, '"');
}

static void json_names(GString *s, GPtrArray *names)
{
    g_string_append_c(s, '[');
    for (guint i = 0; i < names->len; i++) {
        if (i) {
            g_string_append(s, ", ");
        }
        json_string(s, g_ptr_array_index(names, i));
    }
    g_string_append_c(s, ']');
}

void demo_report_print_json(const DemoReport *r, FILE *out)
{
    g_autoptr(GString) s = g_string_new("{\n  \"kernel\": ");

    json_string(s, r->kernel);
    g_string_append(s, ",\n  \"containers\": [");
    for (guint i = 0; i < r->containers->len; i++) {
        const DemoContainer *c = &g_array_index(r->containers, DemoContainer, i);

        g_string_append_printf(s, "%s\n    {\"ioas_id\": %u, \"hwpts\": [", i ? "," : "",
                               c->ioas_id);
        for (guint h = 0; h < c->hwpts->len; h++) {
            const DemoHwpt *dh = &g_array_index(c->hwpts, DemoHwpt, h);

            g_string_append_printf(s, "%s{\"hwpt_id\": %u, \"dirty_tracking\": %s, "
                                   "\"devices\": ", h ? ", " : "", dh->id,
                                   dh->flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING ? "true" : "false");
            json_names(s, dh->devices);
            g_string_append_c(s, '}');
        }
        g_string_append(s, "], \"ioas_devices\": ");
        json_names(s, c->ioas_devices);
        g_string_append_c(s, '}');
    }
    g_string_append(s, "\n  ],\n  \"devices\": [");
    for (guint i = 0; i < r->devices->len; i++) {
        const DemoDevice *d = &g_array_index(r->devices, DemoDevice, i);

        g_string_append_printf(s, "%s\n    {\"name\": ", i ? "," : "");
        json_string(s, d->name);
        g_string_append_printf(s, ", \"mdev\": %s, \"attach_attempts\": %u, "
                               "\"iommu_dirty_tracking\": %s, \"dirty_coverage\": \"%s\", "
                               "\"pages_written\": %u, \"pages_found\": %u, "
                               "\"untracked_reason\": ",
                               d->mdev ? "true" : "false", d->attach_attempts,
                               d->coverage == VFI_DIRTY_COVERAGE_IOMMU ? "true" : "false",
                               coverage_str(d->coverage), d->pages_written, d->pages_found);
        if (d->why == VFI_COVERED) {
            g_string_append(s, "null");
        } else {
            json_string(s, vfi_untracked_reason_str(d->why));
        }
        g_string_append_c(s, '}');
    }
    g_string_append(s, "\n  ],\n  \"replugged\": ");
    if (r->replugged) {
        json_string(s, r->replugged);
    } else {
        g_string_append(s, "null");
    }
    g_string_append_printf(s, ",\n  \"mapped_bytes\": %" PRIu64, r->mapped_bytes);
    g_string_append(s, ",\n  \"migration_blocker\": ");
    if (r->migration_blocker) {
        json_string(s, r->migration_blocker);
    } else {
        g_string_append(s, "null");
    }
    g_string_append(s, ",\n  \"leaked_objects\": ");
    if (r->leaked_objects >= 0) {
        g_string_append_printf(s, "%" PRId64, r->leaked_objects);
    } else {
        g_string_append(s, "null");
    }
    g_string_append(s, ",\n  \"log\": ");
    json_names(s, r->log);
    g_string_append(s, "\n}\n");
    fputs(s->str, out);
}
