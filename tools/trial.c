/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd tool: a trial placement (trial.h).
 */
#include "vfio-iommufd/dirty.h"
#include "placement.h"
#include "trial.h"

static void clear_device(gpointer p)
{
    TrialDevice *d = p;

    g_clear_pointer(&d->dev, vfi_device_free);
    g_free(d->name);
}

Trial *trial_new(void)
{
    Trial *t = g_new0(Trial, 1);

    t->be = vfi_iommufd_new();
    t->as = vfi_address_space_new(t);
    t->devices = g_array_new(FALSE, TRUE, sizeof(TrialDevice));
    g_array_set_clear_func(t->devices, clear_device);
    t->objects_left = -1;
    return t;
}

void trial_free(Trial *t)
{
    if (!t) {
        return;
    }
    if (t->as) {
        g_autoptr(GError) err = NULL;

        trial_teardown(t, NULL, &err);
    }
    g_array_unref(t->devices);
    if (t->containers) {
        g_array_unref(t->containers);
    }
    g_free(t->blocker);
    g_free(t->backend.first);
    g_free(t);
}

static bool open_device(Trial *t, const ToolKernel *k, const char *arg, GError **errp)
{
    g_autofree char *path = NULL, *name = NULL;
    TrialDevice d = { 0 };

    if (!tool_device_path(k, arg, &path, &name, errp)) {
        return false;
    }
    for (guint i = 0; i < t->devices->len; i++) {
        if (g_str_equal(g_array_index(t->devices, TrialDevice, i).name, name)) {
            return tool_usage_error(errp, "device %s is given twice", name);
        }
    }
    d.dev = vfi_device_open_sysfs(path, errp);
    if (!d.dev) {
        return false;
    }
    d.name = g_steal_pointer(&name);
    d.mdev = vfi_device_is_mdev(d.dev);
    g_array_append_val(t->devices, d);
    return true;
}

/* @d's placement and coverage (@report: the address space's coverage
 * report, which covers devices of a type1 container too). */
static void record_device(TrialDevice *d, const VfiDirtyDeviceReport *report, unsigned n)
{
    VfiHwpt *hwpt = vfi_device_get_hwpt(d->dev);

    d->hwpt_id = hwpt ? vfi_hwpt_get_id(hwpt) : 0;
    d->attach_attempts = vfi_device_get_attach_attempts(d->dev);
    d->offers_logging = vfi_device_offers_dma_logging(d->dev);
    d->coverage = VFI_DIRTY_COVERAGE_NONE;
    d->why = VFI_COVERED;
    for (unsigned i = 0; i < n; i++) {
        if (report[i].device == d->dev) {
            d->coverage = report[i].coverage;
            d->why = report[i].reason;
        }
    }
}

static void record_devices(Trial *t)
{
    unsigned n = 0;
    g_autofree VfiDirtyDeviceReport *report = vfi_address_space_dirty_report(t->as, &n);

    for (guint i = 0; i < t->devices->len; i++) {
        record_device(&g_array_index(t->devices, TrialDevice, i), report, n);
    }
}

bool trial_place(Trial *t, const ToolKernel *k, char **args, int n, VfiBackendKind backend,
                 const VfiAttachOptions *opts, GError **errp)
{
    t->backend.asked = backend;
    if (!vfi_address_space_set_backend(t->as, backend, errp)) {
        return false;
    }
    for (int i = 0; i < n; i++) {
        if (!open_device(t, k, args[i], errp)) {
            return false;
        }
    }
    for (guint i = 0; i < t->devices->len; i++) {
        TrialDevice *d = &g_array_index(t->devices, TrialDevice, i);

        tool_backend_first(&t->backend, d->name);
        if (!vfi_address_space_attach_device(t->as, t->be, d->dev, opts, errp)) {
            g_prefix_error(errp, "attaching %s: ", d->name);
            return false;
        }
    }
    record_devices(t);
    tool_backend_read(&t->backend, t->as);
    t->containers = placement_snapshot(t->as, NULL, NULL);
    t->blocker = vfi_address_space_migration_blocker(t->as);
    return true;
}

/* Detach every attached device; the first error is kept. */
static bool detach_all(Trial *t, GError **errp)
{
    bool ok = true;

    for (guint i = t->devices->len; i-- > 0;) {
        TrialDevice *d = &g_array_index(t->devices, TrialDevice, i);
        g_autoptr(GError) err = NULL;

        if (d->dev && vfi_device_get_container(d->dev) &&
            !vfi_address_space_detach_device(t->as, d->dev, &err)) {
            if (ok) {
                g_propagate_prefixed_error(errp, g_steal_pointer(&err), "detaching %s: ",
                                           d->name);
            }
            ok = false;
        }
    }
    return ok;
}

bool trial_teardown(Trial *t, const ToolKernel *k, GError **errp)
{
    bool ok = detach_all(t, errp);
    g_autoptr(GError) err = NULL;

    for (guint i = 0; i < t->devices->len; i++) {
        g_clear_pointer(&g_array_index(t->devices, TrialDevice, i).dev, vfi_device_free);
    }
    if (!vfi_address_space_free(t->as, ok ? errp : &err)) {
        ok = false;
    }
    t->as = NULL;
    if (!vfi_iommufd_free(t->be, ok ? errp : &err)) {
        ok = false;
    }
    t->be = NULL;
    t->objects_left = k ? tool_kernel_objects_left(k) : -1;
    if (ok && t->objects_left > 0) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_WRONG_STATE,
                    "%" G_GINT64_FORMAT " kernel objects left after the teardown",
                    t->objects_left);
        ok = false;
    }
    t->torn_down = ok;
    return ok;
}
