/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Linked into the README's sample program (test readme-vmm) so that it runs
 * unchanged on the kernel model: before main() it installs a VfiSim with one
 * PCI device, 0000:00:01.0 (the test passes that address), behind an IOMMU
 * with dirty tracking. When the program switches dirty tracking on, the
 * device writes 8 pages by DMA (the program then reports 8 dirty pages).
 * At exit it fails the program if it left a kernel object or an fd open, or
 * did not read the dirty bits after that DMA.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/iommufd.h>

#include <vfio-iommufd/kernel.h>
#include <vfio-iommufd-sim/sim.h>

static VfiSim *model;
static const VfiKernelOps *model_ops;
static void *model_opaque;
static bool dma_done;
static uint64_t bitmap_reads_before;

static int shim_open(void *opaque, const char *path, int flags)
{
    return model_ops->open(model_opaque, path, flags);
}

static int shim_close(void *opaque, int fd)
{
    return model_ops->close(model_opaque, fd);
}

static int shim_ioctl(void *opaque, int fd, unsigned long request, void *arg)
{
    int ret = model_ops->ioctl(model_opaque, fd, request, arg);

    if (ret >= 0 && request == IOMMU_HWPT_SET_DIRTY_TRACKING && !dma_done &&
        (((struct iommu_hwpt_set_dirty_tracking *)arg)->flags &
         IOMMU_HWPT_DIRTY_TRACKING_ENABLE)) {
        GError *err = NULL;

        /* The guest's device writes 8 pages at 1 MiB. */
        if (!vfi_sim_dma_write(model, "nic0", 1 << 20, 8 * 4096, &err)) {
            fprintf(stderr, "kernel-model-shim: DMA: %s\n", err->message);
            _exit(1);
        }
        dma_done = true;
        bitmap_reads_before = vfi_sim_op_count(model, VFI_SIM_OP_HWPT_GET_DIRTY_BITMAP);
    }
    return ret;
}

static const VfiKernelOps shim_ops = VFI_KERNEL_OPS_INIT(
    .open = shim_open,
    .close = shim_close,
    .ioctl = shim_ioctl,
);

static void check_nothing_left(void)
{
    unsigned objects = vfi_sim_live_objects(model);
    unsigned fds = vfi_sim_open_fds(model);

    if (objects || fds) {
        fprintf(stderr, "kernel-model-shim: the program left %u kernel object(s) and "
                "%u fd(s) behind\n", objects, fds);
        _exit(1);
    }
    if (dma_done &&
        vfi_sim_op_count(model, VFI_SIM_OP_HWPT_GET_DIRTY_BITMAP) == bitmap_reads_before) {
        fprintf(stderr, "kernel-model-shim: the program did not read the dirty bits\n");
        _exit(1);
    }
    vfi_kernel_install(NULL, NULL, NULL, NULL);
    vfi_sim_free(model);
    printf("kernel-model-shim: nothing left in the kernel model\n");
}

__attribute__((constructor)) static void install_model(void)
{
    GError *err = NULL;
    const char *bdf;

    model = vfi_sim_new(&err);
    if (!model || !vfi_sim_load_topology_data(model,
            "[iommu dmar0]\ndirty-tracking=true\n[device nic0]\niommu=dmar0\n", &err)) {
        fprintf(stderr, "kernel-model-shim: %s\n", err->message);
        exit(1);
    }
    bdf = vfi_sim_device_bdf(model, "nic0");
    if (!bdf || strcmp(bdf, "0000:00:01.0") != 0) {
        fprintf(stderr, "kernel-model-shim: the device is at %s, not 0000:00:01.0\n",
                bdf ? bdf : "(none)");
        exit(1);
    }
    vfi_sim_install(model);
    vfi_kernel_get(&model_ops, &model_opaque);
    if (!vfi_kernel_install(&shim_ops, NULL, vfi_sim_sysfs_root(model), NULL)) {
        fprintf(stderr, "kernel-model-shim: the shim's operations were refused\n");
        _exit(1);
    }
    atexit(check_nothing_left);
}
