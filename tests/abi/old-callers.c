/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Structs that grow (docs/abi.md): VfiAttachOptions and VfiKernelOps carry
 * the size the caller was compiled with. This program plays callers of
 * other layouts, through the public headers and the shared library:
 *  - an old caller, whose VfiAttachOptions ends after @label (size
 *    VFI_ATTACH_OPTIONS_SIZE_VER0): what lies beyond is not its struct (here
 *    nest_parent set), and the library reads it as false: a plain HWPT;
 *  - a caller of this layout (VFI_ATTACH_OPTIONS_INIT()): a nest parent;
 *  - sizes the library does not know (0, below VER0, a newer layout):
 *    INVALID_ARGUMENT before any ioctl, the label not applied, nothing
 *    attached; the same for VfiKernelOps at vfi_kernel_install().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/iommufd.h>

#include <vfio-iommufd/container.h>
#include <vfio-iommufd/error.h>
#include <vfio-iommufd/kernel.h>
#include VFI_SIM_HEADER

#define CHECK(cond) check((cond), #cond, __LINE__)

static void check(bool ok, const char *what, int line)
{
    if (!ok) {
        fprintf(stderr, "old-callers.c:%d: %s failed\n", line, what);
        exit(1);
    }
}

typedef struct Run {
    VfiSim *sim;
    VfiIommufd *be;
    VfiAddressSpace *as;
    VfiDevice *dev[2];
} Run;

/* @opts refused before any ioctl, @dev left as it was. */
static void attach_refused(Run *r, VfiDevice *dev, const VfiAttachOptions *opts)
{
    g_autoptr(GError) err = NULL;
    uint64_t ioctls = vfi_sim_ioctl_count(r->sim);

    CHECK(!vfi_address_space_attach_device(r->as, r->be, dev, opts, &err));
    CHECK(err && err->domain == VFI_ERROR && err->code == VFI_ERROR_INVALID_ARGUMENT);
    printf("old-callers: size %zu: %s\n", opts->size, err->message);
    CHECK(strstr(err->message, "VfiAttachOptions") != NULL);
    CHECK(vfi_sim_ioctl_count(r->sim) == ioctls);
    CHECK(vfi_device_get_label(dev) == NULL);
    CHECK(vfi_device_get_container(dev) == NULL);
}

static void unknown_sizes(Run *r)
{
    VfiAttachOptions o = VFI_ATTACH_OPTIONS_INIT(.label = "refused");

    o.size = 0;
    attach_refused(r, r->dev[0], &o);
    o.size = VFI_ATTACH_OPTIONS_SIZE_VER0 - 1;
    attach_refused(r, r->dev[0], &o);
    o.size = sizeof(o) + 8;     /* a layout newer than the library's */
    attach_refused(r, r->dev[0], &o);
}

static uint32_t hwpt_flags(VfiDevice *dev)
{
    VfiHwpt *h = vfi_device_get_hwpt(dev);

    CHECK(h != NULL);
    return vfi_hwpt_get_flags(h);
}

static void old_and_new_callers(Run *r)
{
    g_autoptr(GError) err = NULL;
    VfiAttachOptions old = VFI_ATTACH_OPTIONS_INIT(.label = "old", .nest_parent = true);
    static const VfiAttachOptions now = VFI_ATTACH_OPTIONS_INIT(.nest_parent = true);

    old.size = VFI_ATTACH_OPTIONS_SIZE_VER0;
    CHECK(vfi_address_space_attach_device(r->as, r->be, r->dev[0], &old, &err));
    CHECK(strcmp(vfi_device_get_label(r->dev[0]), "old") == 0);
    CHECK(!(hwpt_flags(r->dev[0]) & IOMMU_HWPT_ALLOC_NEST_PARENT));
    CHECK(vfi_address_space_attach_device(r->as, r->be, r->dev[1], &now, &err));
    CHECK(hwpt_flags(r->dev[1]) & IOMMU_HWPT_ALLOC_NEST_PARENT);
    printf("old-callers: a VER0 VfiAttachOptions got a plain HWPT, this layout's a nest "
           "parent\n");
}

/* VfiKernelOps of unknown sizes: refused, the model stays installed. */
static void kernel_ops_refused(Run *r)
{
    const VfiKernelOps *sim_ops, *ops_now;
    g_autofree char *root = g_strdup(vfi_kernel_sysfs_root());
    VfiKernelOps ops;
    size_t sizes[] = { 0, VFI_KERNEL_OPS_SIZE_VER0 - 1, sizeof(ops) + 8 };

    vfi_kernel_get(&sim_ops, NULL);
    for (unsigned i = 0; i < G_N_ELEMENTS(sizes); i++) {
        g_autoptr(GError) err = NULL;

        ops = *sim_ops;
        ops.size = sizes[i];
        CHECK(!vfi_kernel_install(&ops, NULL, "/nonexistent", &err));
        CHECK(err && err->domain == VFI_ERROR && err->code == VFI_ERROR_INVALID_ARGUMENT);
        printf("old-callers: %s\n", err->message);
        vfi_kernel_get(&ops_now, NULL);
        CHECK(ops_now == sim_ops && !vfi_kernel_is_linux());
        CHECK(strcmp(vfi_kernel_sysfs_root(), root) == 0);
    }
    (void)r;
}

int main(void)
{
    g_autoptr(GError) err = NULL;
    Run r = { .sim = vfi_sim_new(&err) };

    CHECK(r.sim && vfi_sim_load_topology_data(r.sim, "[iommu vtd]\nnesting=true\n"
                                              "[device a]\niommu=vtd\n"
                                              "[device b]\niommu=vtd\n", &err));
    vfi_sim_install(r.sim);
    r.be = vfi_iommufd_new();
    r.as = vfi_address_space_new(NULL);
    for (int i = 0; i < 2; i++) {
        r.dev[i] = vfi_device_open_pci(vfi_sim_device_bdf(r.sim, i ? "b" : "a"), &err);
        CHECK(r.dev[i] != NULL);
    }
    unknown_sizes(&r);
    old_and_new_callers(&r);
    kernel_ops_refused(&r);
    for (int i = 0; i < 2; i++) {
        CHECK(vfi_address_space_detach_device(r.as, r.dev[i], &err));
        vfi_device_free(r.dev[i]);
    }
    CHECK(vfi_address_space_free(r.as, &err) && vfi_iommufd_free(r.be, &err));
    CHECK(vfi_sim_live_objects(r.sim) == 0);
    vfi_sim_free(r.sim);
    return 0;
}
