/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-ops: the fixture and the kernel wrapper.
 *
 * The fixture is a kernel model with a heterogeneous topology (two IOMMU
 * instances with dirty tracking, one without, devices that log their own
 * DMA, mdevs), one backend, one address space, and every device opened
 * either from sysfs or, as a VMM may do, from a cdev fd of its own.
 *
 * Between the library and the model sits a wrapper kernel (the seam of
 * <vfio-iommufd/kernel.h> is made for it): it passes every request on and
 * records the ioctls of the current step, which ones failed and which
 * failure was the injected one, for the reports and the known list.
 *
 * The teardown is check (d): stop tracking, detach every device, free the
 * devices, the address space and the backend: the model must hold no
 * object and no fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "fuzz.h"

static const char topology[] =
    "[iommu d1]\ndirty-tracking=true\n"
    "[iommu d2]\ndirty-tracking=true\n"
    "[iommu p]\ndirty-tracking=false\n"
    "[device a0]\niommu=d1\n"
    "[device a1]\niommu=d1\n"
    "[device b0]\niommu=d2\n"
    "[device p0]\niommu=p\n"
    "[device l0]\niommu=p\ndma-logging=true\n"
    "[device l1]\niommu=d1\ndma-logging=true\n"
    "[device m0]\nmdev=true\n"
    "[device ml]\nmdev=true\ndma-logging=true\n";

/* ---- the kernel wrapper -------------------------------------------------- */

static const VfiKernelOps *inner_ops;
static void *inner_opaque;

static const char *const io_names[FZ_IO__COUNT] = {
    [FZ_IO_DESTROY] = "DESTROY",       [FZ_IO_IOAS_ALLOC] = "IOAS_ALLOC",
    [FZ_IO_IOVA_RANGES] = "IOVA_RANGES", [FZ_IO_MAP] = "IOAS_MAP",
    [FZ_IO_UNMAP] = "IOAS_UNMAP",      [FZ_IO_HW_INFO] = "GET_HW_INFO",
    [FZ_IO_HWPT_ALLOC] = "HWPT_ALLOC", [FZ_IO_DIRTY_ON] = "SET_DIRTY(on)",
    [FZ_IO_DIRTY_OFF] = "SET_DIRTY(off)", [FZ_IO_GET_BITMAP] = "GET_DIRTY_BITMAP",
    [FZ_IO_BIND] = "BIND",             [FZ_IO_ATTACH] = "ATTACH",
    [FZ_IO_DETACH] = "DETACH",         [FZ_IO_GET_INFO] = "GET_INFO",
    [FZ_IO_LOG_PROBE] = "LOG_PROBE",   [FZ_IO_LOG_START] = "LOG_START",
    [FZ_IO_LOG_STOP] = "LOG_STOP",     [FZ_IO_LOG_REPORT] = "LOG_REPORT",
    [FZ_IO_OTHER] = "OTHER",
};

const char *fz_io_name(FzIoKind k)
{
    return k < FZ_IO__COUNT ? io_names[k] : "?";
}

static FzIoKind classify_feature(const struct vfio_device_feature *h)
{
    if (h->flags & VFIO_DEVICE_FEATURE_PROBE) {
        return FZ_IO_LOG_PROBE;
    }
    switch (h->flags & VFIO_DEVICE_FEATURE_MASK) {
    case VFIO_DEVICE_FEATURE_DMA_LOGGING_START:
        return FZ_IO_LOG_START;
    case VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP:
        return FZ_IO_LOG_STOP;
    case VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT:
        return FZ_IO_LOG_REPORT;
    default:
        return FZ_IO_OTHER;
    }
}

/* Read before the call: the model writes outputs into @arg. */
static FzIoKind classify(unsigned long req, const void *arg)
{
    static const struct { unsigned long req; FzIoKind kind; } plain[] = {
        { IOMMU_DESTROY, FZ_IO_DESTROY },           { IOMMU_IOAS_ALLOC, FZ_IO_IOAS_ALLOC },
        { IOMMU_IOAS_IOVA_RANGES, FZ_IO_IOVA_RANGES }, { IOMMU_IOAS_MAP, FZ_IO_MAP },
        { IOMMU_IOAS_UNMAP, FZ_IO_UNMAP },          { IOMMU_GET_HW_INFO, FZ_IO_HW_INFO },
        { IOMMU_HWPT_ALLOC, FZ_IO_HWPT_ALLOC },
        { IOMMU_HWPT_GET_DIRTY_BITMAP, FZ_IO_GET_BITMAP },
        { VFIO_DEVICE_BIND_IOMMUFD, FZ_IO_BIND },
        { VFIO_DEVICE_ATTACH_IOMMUFD_PT, FZ_IO_ATTACH },
        { VFIO_DEVICE_DETACH_IOMMUFD_PT, FZ_IO_DETACH },
        { VFIO_DEVICE_GET_INFO, FZ_IO_GET_INFO },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(plain); i++) {
        if (plain[i].req == req) {
            return plain[i].kind;
        }
    }
    if (req == IOMMU_HWPT_SET_DIRTY_TRACKING && arg) {
        const struct iommu_hwpt_set_dirty_tracking *d = arg;

        return d->flags & IOMMU_HWPT_DIRTY_TRACKING_ENABLE ? FZ_IO_DIRTY_ON : FZ_IO_DIRTY_OFF;
    }
    if (req == VFIO_DEVICE_FEATURE && arg) {
        return classify_feature(arg);
    }
    return FZ_IO_OTHER;
}

/* The model's counter (VfiSimOp) an ioctl kind falls under. */
static int sim_op_of(FzIoKind k)
{
    static const int ops[FZ_IO__COUNT] = {
        [FZ_IO_DESTROY] = VFI_SIM_OP_DESTROY,       [FZ_IO_IOAS_ALLOC] = VFI_SIM_OP_IOAS_ALLOC,
        [FZ_IO_IOVA_RANGES] = VFI_SIM_OP_IOAS_IOVA_RANGES, [FZ_IO_MAP] = VFI_SIM_OP_IOAS_MAP,
        [FZ_IO_UNMAP] = VFI_SIM_OP_IOAS_UNMAP,      [FZ_IO_HW_INFO] = VFI_SIM_OP_GET_HW_INFO,
        [FZ_IO_HWPT_ALLOC] = VFI_SIM_OP_HWPT_ALLOC,
        [FZ_IO_DIRTY_ON] = VFI_SIM_OP_HWPT_SET_DIRTY_TRACKING,
        [FZ_IO_DIRTY_OFF] = VFI_SIM_OP_HWPT_SET_DIRTY_TRACKING,
        [FZ_IO_GET_BITMAP] = VFI_SIM_OP_HWPT_GET_DIRTY_BITMAP,
        [FZ_IO_BIND] = VFI_SIM_OP_DEVICE_BIND,      [FZ_IO_ATTACH] = VFI_SIM_OP_DEVICE_ATTACH,
        [FZ_IO_DETACH] = VFI_SIM_OP_DEVICE_DETACH,  [FZ_IO_GET_INFO] = VFI_SIM_OP_DEVICE_GET_INFO,
        [FZ_IO_LOG_PROBE] = VFI_SIM_OP_DEVICE_FEATURE, [FZ_IO_LOG_START] = VFI_SIM_OP_DEVICE_FEATURE,
        [FZ_IO_LOG_STOP] = VFI_SIM_OP_DEVICE_FEATURE, [FZ_IO_LOG_REPORT] = VFI_SIM_OP_DEVICE_FEATURE,
        [FZ_IO_OTHER] = VFI_SIM_OP_OTHER,
    };

    return ops[k];
}

/* Which failure the model injected: the same rule as its fault injection
 * (the n-th ioctl first, else the next one of the armed kind). */
static bool was_injected(Fz *f, FzIoKind kind, int ret)
{
    f->io_seen++;
    if (f->fault_n && f->io_seen == f->fault_n) {
        return ret == -f->fault_err;
    }
    if (f->fault2_kind >= 0 && !f->fault2_taken && sim_op_of(kind) == f->fault2_kind) {
        f->fault2_taken = true;
        return ret == -f->fault2_err;
    }
    return false;
}

static int wrap_open(void *opaque, const char *path, int flags)
{
    return inner_ops->open(inner_opaque, path, flags);
}

static int wrap_close(void *opaque, int fd)
{
    return inner_ops->close(inner_opaque, fd);
}

static int wrap_ioctl(void *opaque, int fd, unsigned long request, void *arg)
{
    Fz *f = opaque;
    FzIoKind kind = classify(request, arg);
    int ret = inner_ops->ioctl(inner_opaque, fd, request, arg);

    if (f->recording) {
        FzIoctl io = { .kind = kind, .ret = ret < 0 ? ret : 0, .fd = fd,
                       .injected = was_injected(f, kind, ret) };

        if (kind == FZ_IO_GET_BITMAP) {
            io.hwpt = ((const struct iommu_hwpt_get_dirty_bitmap *)arg)->hwpt_id;
        }

        g_array_append_val(f->ioctls, io);
    }
    return ret;
}

static const VfiKernelOps wrap_ops = VFI_KERNEL_OPS_INIT(
    .open = wrap_open,
    .close = wrap_close,
    .ioctl = wrap_ioctl,
);

bool fz_io_failed(const Fz *f, unsigned kinds_mask, bool injected_only)
{
    for (guint i = 0; i < f->ioctls->len; i++) {
        const FzIoctl *io = &g_array_index(f->ioctls, FzIoctl, i);

        if (io->ret && (kinds_mask & FZ_BIT(io->kind)) && (io->injected || !injected_only)) {
            return true;
        }
    }
    return false;
}

unsigned fz_io_failures(const Fz *f)
{
    unsigned n = 0;

    for (guint i = 0; i < f->ioctls->len; i++) {
        n += g_array_index(f->ioctls, FzIoctl, i).ret != 0;
    }
    return n;
}

const FzIoctl *fz_io_first_failure(const Fz *f)
{
    for (guint i = 0; i < f->ioctls->len; i++) {
        const FzIoctl *io = &g_array_index(f->ioctls, FzIoctl, i);

        if (io->ret) {
            return io;
        }
    }
    return NULL;
}

/* ---- fault injection ----------------------------------------------------- */

const char *fz_sim_op_name(int op)
{
    static const char *const names[VFI_SIM_OP__COUNT] = {
        [VFI_SIM_OP_DESTROY] = "DESTROY", [VFI_SIM_OP_IOAS_ALLOC] = "IOAS_ALLOC",
        [VFI_SIM_OP_IOAS_IOVA_RANGES] = "IOVA_RANGES", [VFI_SIM_OP_IOAS_MAP] = "IOAS_MAP",
        [VFI_SIM_OP_IOAS_UNMAP] = "IOAS_UNMAP", [VFI_SIM_OP_GET_HW_INFO] = "GET_HW_INFO",
        [VFI_SIM_OP_HWPT_ALLOC] = "HWPT_ALLOC",
        [VFI_SIM_OP_HWPT_SET_DIRTY_TRACKING] = "SET_DIRTY_TRACKING",
        [VFI_SIM_OP_HWPT_GET_DIRTY_BITMAP] = "GET_DIRTY_BITMAP",
        [VFI_SIM_OP_DEVICE_BIND] = "BIND", [VFI_SIM_OP_DEVICE_ATTACH] = "ATTACH",
        [VFI_SIM_OP_DEVICE_DETACH] = "DETACH", [VFI_SIM_OP_DEVICE_GET_INFO] = "GET_INFO",
        [VFI_SIM_OP_DEVICE_FEATURE] = "DEVICE_FEATURE", [VFI_SIM_OP_OTHER] = "OTHER",
        [VFI_SIM_OP_IOAS_MAP_FILE] = "IOAS_MAP_FILE",
        [VFI_SIM_OP_DEVICE_HOT_RESET_INFO] = "HOT_RESET_INFO",
        [VFI_SIM_OP_DEVICE_HOT_RESET] = "HOT_RESET",
    };

    return op >= 0 && op < VFI_SIM_OP__COUNT ? names[op] : "?";
}

static const int fault_errnos[] = { EINVAL, ENOMEM, EIO, EBUSY, EFAULT, EADDRINUSE };

/* Undo paths fail most where a second fault can reach them. */
static const int second_kinds[] = {
    VFI_SIM_OP_DEVICE_DETACH, VFI_SIM_OP_DESTROY, VFI_SIM_OP_HWPT_SET_DIRTY_TRACKING,
    VFI_SIM_OP_DEVICE_FEATURE, VFI_SIM_OP_IOAS_UNMAP, VFI_SIM_OP_IOAS_MAP,
};

/* The second fault of the step, if any. */
static void arm_second(Fz *f, bool attach)
{
    if (f->fault2_mode != FZ_FAULT2_NONE && f->fault_n && fz_chance(f, 25)) {
        unsigned k = fz_below(f, G_N_ELEMENTS(second_kinds));

        f->fault2_kind = f->fault2_mode == FZ_FAULT2_ALL ? second_kinds[k] :
                         VFI_SIM_OP_DEVICE_DETACH;
        f->fault2_err = fault_errnos[fz_below(f, G_N_ELEMENTS(fault_errnos))];
    } else if (attach && fz_chance(f, 12)) {
        /* "incompatible": the device goes to another (maybe a new) container,
         * so that address spaces of several containers are common */
        f->fault2_kind = VFI_SIM_OP_HWPT_ALLOC;
        f->fault2_err = EINVAL;
    }
    if (f->fault2_kind >= 0) {
        vfi_sim_fail_next(f->sim, f->fault2_kind, f->fault2_err);
    }
}

void fz_arm_faults(Fz *f, bool attach)
{
    f->fault_n = 0;
    f->fault2_kind = -1;
    f->fault2_taken = false;
    f->io_seen = 0;
    if (fz_chance(f, 30)) {
        /* Small n are likelier (most calls make a few ioctls), but the last
         * undo steps of an attach with a conflict diagnosis are 20 or so in. */
        f->fault_n = fz_chance(f, 25) ? 1 + fz_below(f, 24) :
                     1 + fz_below(f, 1 + fz_below(f, 14));
        f->fault_err = fault_errnos[fz_below(f, G_N_ELEMENTS(fault_errnos))];
        vfi_sim_fail_nth(f->sim, f->fault_n, f->fault_err);
    }
    arm_second(f, attach);
}

void fz_disarm_faults(Fz *f)
{
    vfi_sim_fail_clear(f->sim);
}

/* ---- devices --------------------------------------------------------------- */

/* /dev/vfio/devices/vfioN of a device, from its sysfs directory. */
static char *cdev_path(const char *sysfs)
{
    g_autofree char *dir = g_build_filename(sysfs, "vfio-dev", NULL);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *entry = d ? g_dir_read_name(d) : NULL;

    g_assert(entry);
    return g_build_filename("/dev/vfio/devices", entry, NULL);
}

/* Open slot @i: from sysfs, or (as a VMM may) from a cdev fd of the VMM's,
 * with or without its sysfs path (an mdev always with it). */
void fz_slot_open(Fz *f, unsigned i)
{
    FzSlot *s = &f->slots[i];
    const char *sysfs = vfi_sim_device_sysfs_path(f->sim, s->name);
    g_autoptr(GError) err = NULL;
    g_autofree char *path = NULL;

    g_assert(!s->dev && s->vmm_fd < 0);
    if (fz_chance(f, 60)) {
        s->dev = vfi_device_open_sysfs(sysfs, &err);
        g_assert_no_error(err);
        return;
    }
    path = cdev_path(sysfs);
    s->vmm_fd = wrap_ops.open(f, path, O_RDWR);
    g_assert(s->vmm_fd >= 0);
    s->dev = vfi_device_new_from_fd(s->vmm_fd, s->mdev || fz_chance(f, 50) ? sysfs : NULL,
                                    &err);
    g_assert_no_error(err);
}

/* The VMM closes its own fd of a freed device (the kernel unbinds it). */
void fz_slot_close_fd(Fz *f, unsigned i)
{
    FzSlot *s = &f->slots[i];

    g_assert(!s->dev);
    if (s->vmm_fd >= 0 && wrap_ops.close(f, s->vmm_fd) != 0) {
        g_error("closing the VMM's fd %d of %s failed", s->vmm_fd, s->name);
    }
    s->vmm_fd = -1;
    s->held_bound = false;
}

/* ---- the fixture ------------------------------------------------------------ */

static void viol_free(gpointer p)
{
    FzViol *v = p;

    g_free(v->tag);
    g_free(v->text);
    g_free(v);
}

void fz_fixture_new(Fz *f)
{
    g_autoptr(GError) err = NULL;
    g_autofree const char **names = NULL;
    unsigned n = 0;

    f->sim = vfi_sim_new(&err);
    g_assert_no_error(err);
    if (!vfi_sim_load_topology_data(f->sim, topology, &err)) {
        g_error("topology: %s", err->message);
    }
    vfi_sim_install(f->sim);
    vfi_kernel_get(&inner_ops, &inner_opaque);
    g_assert_true(vfi_kernel_install(&wrap_ops, f, vfi_sim_sysfs_root(f->sim), NULL));
    f->be = vfi_iommufd_new();
    f->as = vfi_address_space_new(f);
    f->as_maps = g_array_new(false, false, sizeof(FzMap));
    f->conts = g_ptr_array_new();
    f->pending = g_array_new(false, false, sizeof(FzPending));
    f->viols = g_ptr_array_new_with_free_func(viol_free);
    f->ioctls = g_array_new(false, false, sizeof(FzIoctl));
    f->fault2_kind = -1;
    names = vfi_sim_device_names(f->sim, &n);
    g_assert(n == FZ_NSLOTS);
    f->nslots = n;
    for (unsigned i = 0; i < n; i++) {
        f->slots[i] = (FzSlot){ .name = names[i], .vmm_fd = -1,
                                .mdev = vfi_sim_device_bdf(f->sim, names[i]) == NULL };
        fz_slot_open(f, i);
    }
}

static void teardown_stop_and_detach(Fz *f)
{
    g_autoptr(GError) err = NULL;

    if (!vfi_address_space_dirty_tracking_stop(f->as, &err)) {
        fz_viol(f, "D-teardown", "address space tracking stop: %s", err->message);
        g_clear_error(&err);
    }
    for (unsigned i = 0; i < vfi_address_space_container_count(f->as); i++) {
        if (!vfi_container_dirty_tracking_stop(vfi_address_space_container(f->as, i), &err)) {
            fz_viol(f, "D-teardown", "container tracking stop: %s", err->message);
            g_clear_error(&err);
        }
    }
    for (unsigned i = 0; i < f->nslots; i++) {
        VfiDevice *d = f->slots[i].dev;

        if (d && vfi_device_get_container(d) &&
            !vfi_address_space_detach_device(f->as, d, &err)) {
            fz_viol(f, "D-teardown", "detach of %s: %s", f->slots[i].name, err->message);
            g_clear_error(&err);
        }
    }
}

static void teardown_free(Fz *f)
{
    g_autoptr(GError) err = NULL;

    for (unsigned i = 0; i < f->nslots; i++) {
        g_clear_pointer(&f->slots[i].dev, vfi_device_free);
        fz_slot_close_fd(f, i);
    }
    if (!vfi_address_space_free(f->as, &err)) {
        fz_viol(f, "D-teardown", "address space free: %s", err->message);
        g_clear_error(&err);
        if (!vfi_address_space_free(f->as, &err)) {
            g_printerr("fuzz-ops: the address space cannot be freed: %s\n", err->message);
            g_clear_error(&err);
        }
    }
    if (!vfi_iommufd_free(f->be, &err)) {
        fz_viol(f, "D-teardown", "backend free: %s", err->message);
    }
}

static void fixture_release(Fz *f)
{
    vfi_sim_uninstall(f->sim);
    vfi_sim_free(f->sim);
    f->sim = NULL;
    g_array_free(f->as_maps, true);
    for (guint i = 0; i < f->conts->len; i++) {
        FzCont *fc = g_ptr_array_index(f->conts, i);

        g_array_free(fc->maps, true);
        g_free(fc);
    }
    g_ptr_array_free(f->conts, true);
    g_array_free(f->pending, true);
    g_ptr_array_free(f->viols, true);
    g_array_free(f->ioctls, true);
}

void fz_fixture_free(Fz *f, bool report)
{
    FzOp o = { .name = "teardown", .detail = g_string_new("(check d)"), .slot = -1 };
    unsigned objects, fds;

    fz_disarm_faults(f);
    f->recording = false;
    f->fault_n = 0;
    f->fault2_kind = -1;
    g_array_set_size(f->ioctls, 0);
    g_ptr_array_set_size(f->viols, 0);
    teardown_stop_and_detach(f);
    teardown_free(f);
    objects = vfi_sim_live_objects(f->sim);
    fds = vfi_sim_open_fds(f->sim);
    if (objects || fds) {
        fz_viol(f, "D-leak", "the model holds %u object(s) and %u fd(s) after the teardown",
                objects, fds);
    }
    if (report && f->viols->len) {
        if (fz_report(f, &o)) {
            f->findings_new++;
        } else {
            f->findings_known++;
        }
    }
    for (guint i = 0; !report && i < f->viols->len; i++) {
        const FzViol *v = g_ptr_array_index(f->viols, i);

        g_printerr("  teardown after the finding: %s: %s\n", v->tag, v->text);
    }
    g_ptr_array_set_size(f->viols, 0);
    g_string_free(o.detail, true);
    fixture_release(f);
}
