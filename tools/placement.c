/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd tool: copying and printing a placement (placement.h).
 */
#include <linux/iommufd.h>

#include "placement.h"

static void clear_hwpt(gpointer p)
{
    g_ptr_array_unref(((PlacedHwpt *)p)->devices);
}

static void clear_container(gpointer p)
{
    PlacedContainer *c = p;

    g_array_unref(c->hwpts);
    g_ptr_array_unref(c->ioas_devices);
}

static const char *label_of(const VfiDevice *dev, PlacementLabelFn label, void *data)
{
    return label ? label(dev, data) : vfi_device_get_name(dev);
}

static PlacedHwpt copy_hwpt(VfiHwpt *hwpt, PlacementLabelFn label, void *data)
{
    PlacedHwpt h = {
        .id = vfi_hwpt_get_id(hwpt),
        .flags = vfi_hwpt_get_flags(hwpt),
        .devices = g_ptr_array_new_with_free_func(g_free),
    };

    for (unsigned d = 0; d < vfi_hwpt_device_count(hwpt); d++) {
        g_ptr_array_add(h.devices, g_strdup(label_of(vfi_hwpt_device(hwpt, d), label, data)));
    }
    return h;
}

GArray *placement_snapshot(VfiAddressSpace *as, PlacementLabelFn label, void *data)
{
    GArray *out = g_array_new(FALSE, TRUE, sizeof(PlacedContainer));

    g_array_set_clear_func(out, clear_container);
    for (unsigned i = 0; i < vfi_address_space_container_count(as); i++) {
        VfiContainer *c = vfi_address_space_container(as, i);
        PlacedContainer pc = {
            .ioas_id = vfi_container_get_ioas_id(c),
            .hwpts = g_array_new(FALSE, TRUE, sizeof(PlacedHwpt)),
            .ioas_devices = g_ptr_array_new_with_free_func(g_free),
        };

        g_array_set_clear_func(pc.hwpts, clear_hwpt);
        for (unsigned h = 0; h < vfi_container_hwpt_count(c); h++) {
            PlacedHwpt ph = copy_hwpt(vfi_container_hwpt(c, h), label, data);

            g_array_append_val(pc.hwpts, ph);
        }
        for (unsigned d = 0; d < vfi_container_device_count(c); d++) {
            VfiDevice *dev = vfi_container_device(c, d);

            if (!vfi_device_get_hwpt(dev)) {
                g_ptr_array_add(pc.ioas_devices, g_strdup(label_of(dev, label, data)));
            }
        }
        g_array_append_val(out, pc);
    }
    return out;
}

static bool dirty_flag(const PlacedHwpt *h)
{
    return h->flags & IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
}

void placement_json(const GArray *containers, Json *j)
{
    json_begin_array(j, "containers");
    for (guint i = 0; i < containers->len; i++) {
        const PlacedContainer *c = &g_array_index(containers, PlacedContainer, i);

        json_begin_object(j, NULL);
        json_uint(j, "ioas_id", c->ioas_id);
        json_begin_array(j, "hwpts");
        for (guint h = 0; h < c->hwpts->len; h++) {
            const PlacedHwpt *ph = &g_array_index(c->hwpts, PlacedHwpt, h);

            json_begin_object(j, NULL);
            json_uint(j, "hwpt_id", ph->id);
            json_bool(j, "dirty_tracking", dirty_flag(ph));
            json_bool(j, "nest_parent", ph->flags & IOMMU_HWPT_ALLOC_NEST_PARENT);
            json_strings(j, "devices", ph->devices);
            json_end_object(j);
        }
        json_end_array(j);
        json_strings(j, "ioas_devices", c->ioas_devices);
        json_end_object(j);
    }
    json_end_array(j);
}

static void print_names(const GPtrArray *names, FILE *out)
{
    for (guint d = 0; d < names->len; d++) {
        fprintf(out, " %s", (char *)g_ptr_array_index(names, d));
    }
    fputc('\n', out);
}

void placement_text(const GArray *containers, FILE *out)
{
    for (guint i = 0; i < containers->len; i++) {
        const PlacedContainer *c = &g_array_index(containers, PlacedContainer, i);

        fprintf(out, "  container %u: IOAS %u\n", i, c->ioas_id);
        for (guint h = 0; h < c->hwpts->len; h++) {
            const PlacedHwpt *ph = &g_array_index(c->hwpts, PlacedHwpt, h);

            fprintf(out, "    HWPT %u [%s%s]:", ph->id,
                    dirty_flag(ph) ? "dirty-tracking" : "plain",
                    (ph->flags & IOMMU_HWPT_ALLOC_NEST_PARENT) ? ", nest-parent" : "");
            print_names(ph->devices, out);
        }
        if (c->ioas_devices->len) {
            fprintf(out, "    on the IOAS itself (mdev):");
            print_names(c->ioas_devices, out);
        }
    }
}

const char *placement_coverage_str(VfiDirtyCoverage c)
{
    switch (c) {
    case VFI_DIRTY_COVERAGE_IOMMU:
        return "iommu";
    case VFI_DIRTY_COVERAGE_DEVICE_LOGGING:
        return "device-logging";
    case VFI_DIRTY_COVERAGE_TYPE1:
        return "type1: all mapped pages reported dirty";
    default:
        return "none";
    }
}
