/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd kernel model: the VfiSim object.
 *
 * Installation as the process's kernel, the table of fds open on the model,
 * dispatch of ioctls by request number, fault injection, counters, the
 * record of the last ioctl, and the test controls of <vfio-iommufd-sim/sim.h>.
 *
 * Every fd the model hands out is a real fd on a memfd of its own, so its
 * number never collides with an fd the process opened otherwise, and its
 * dups reach the same file (sim-fds.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "config.h"
#include "sim-internal.h"
#include "vfio-iommufd/error.h"
#include "vfio-iommufd/kernel.h"
#include "trace.h"

#define SIM_IOMMU_PATH "/dev/iommu"
#define SIM_CDEV_PREFIX "/dev/vfio/devices/vfio"

/* The model currently installed as the process's kernel, if any. */
static VfiSim *installed_sim;

/* ---- topology ----------------------------------------------------------- */

static void sim_iommu_free(gpointer p)
{
    SimIommu *iommu = p;

    g_free(iommu->name);
    g_free(iommu);
}

static void sim_device_free(gpointer p)
{
    SimDevice *dev = p;

    sim_device_logging_stop(dev);
    g_free(dev->name);
    g_free(dev->bdf);
    g_free(dev->uuid);
    g_free(dev->sysfs_path);
    g_free(dev->reset_group);
    g_free(dev->bar0);
    g_free(dev);
}

SimIommu *sim_find_iommu(const VfiSim *sim, const char *name)
{
    for (guint i = 0; name && i < sim->iommus->len; i++) {
        SimIommu *iommu = g_ptr_array_index(sim->iommus, i);

        if (g_str_equal(iommu->name, name)) {
            return iommu;
        }
    }
    return NULL;
}

SimDevice *sim_find_device(const VfiSim *sim, const char *name)
{
    for (guint i = 0; name && i < sim->devices->len; i++) {
        SimDevice *dev = g_ptr_array_index(sim->devices, i);

        if (g_str_equal(dev->name, name)) {
            return dev;
        }
    }
    return NULL;
}

bool vfi_sim_add_iommu(VfiSim *sim, const char *name, const VfiSimIommuConfig *cfg,
                        GError **errp)
{
    SIM_LOCKED(sim);
    SimIommu *iommu;

    if (!name || !*name) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "IOMMU instance without a name");
        return false;
    }
    if (sim_find_iommu(sim, name)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "IOMMU instance %s already exists", name);
        return false;
    }
    if (!sim_sysfs_add_iommu(sim->sysfs_root, name, errp)) {
        return false;
    }
    iommu = g_new0(SimIommu, 1);
    iommu->name = g_strdup(name);
    iommu->index = sim->iommus->len;
    if (cfg) {
        iommu->cfg = *cfg;
    }
    /* Vendor data differs between instances unless the caller sets it. */
    if (!iommu->cfg.cap_reg) {
        iommu->cfg.cap_reg = UINT64_C(0x00d2008c40660462) + iommu->index;
    }
    if (!iommu->cfg.ecap_reg) {
        iommu->cfg.ecap_reg = UINT64_C(0x0000000000f050da) |
                              ((uint64_t)(iommu->index + 1) << 32);
    }
    g_ptr_array_add(sim->iommus, iommu);
    trace_vfi_sim_iommu_added(name, iommu->cfg.dirty_tracking);
    return true;
}

bool vfi_sim_add_device(VfiSim *sim, const char *name, const char *iommu_name,
                         bool dma_logging, GError **errp)
{
    SIM_LOCKED(sim);
    return sim_add_device(sim, name, iommu_name, dma_logging, VFI_SIM_PCI_VENDOR_DEFAULT,
                          VFI_SIM_PCI_DEVICE_DEFAULT, errp);
}

bool sim_add_device(VfiSim *sim, const char *name, const char *iommu_name, bool dma_logging,
                    uint16_t pci_vendor, uint16_t pci_device, GError **errp)
{
    SimIommu *iommu = NULL;
    SimDevice *dev;

    if (!name || !*name) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "device without a name");
        return false;
    }
    if (sim_find_device(sim, name)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "device %s already exists", name);
        return false;
    }
    if (iommu_name) {
        iommu = sim_find_iommu(sim, iommu_name);
        if (!iommu) {
            g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                        "device %s: unknown IOMMU instance %s", name, iommu_name);
            return false;
        }
    }
    dev = g_new0(SimDevice, 1);
    dev->name = g_strdup(name);
    dev->cdev_index = sim->devices->len;
    dev->iommu = iommu;
    dev->dma_logging = dma_logging;
    if (iommu) {
        unsigned k = sim->next_pci_slot;

        dev->pci_vendor = pci_vendor;
        dev->pci_device = pci_device;
        dev->iommu_group = k;   /* each PCI device alone in its group */

        /* 31 devices per bus, slots 1..31 */
        dev->bdf = g_strdup_printf("0000:%02x:%02x.0", k / 31, k % 31 + 1);
    } else {
        dev->uuid = g_strdup_printf("00000000-0000-0000-0000-%012x", dev->cdev_index + 1);
        /* its own group, as vfio_register_emulated_iommu_dev() makes */
        dev->iommu_group = SIM_MDEV_GROUP_BASE + dev->cdev_index;
    }
    if (!sim_sysfs_add_device(sim->sysfs_root, dev, errp)) {
        sim_device_free(dev);
        return false;
    }
    if (iommu) {
        sim->next_pci_slot++;
    }
    g_ptr_array_add(sim->devices, dev);
    trace_vfi_sim_device_added(name, iommu ? iommu->name : "(mdev)", dev->cdev_index,
                           dma_logging);
    return true;
}

const char *vfi_sim_sysfs_root(const VfiSim *sim)
{
    return sim->sysfs_root;
}

const char *vfi_sim_device_sysfs_path(const VfiSim *sim, const char *name)
{
    SIM_LOCKED(sim);
    SimDevice *dev = sim_find_device(sim, name);

    return dev ? dev->sysfs_path : NULL;
}

const char *vfi_sim_device_bdf(const VfiSim *sim, const char *name)
{
    SIM_LOCKED(sim);
    SimDevice *dev = sim_find_device(sim, name);

    return dev ? dev->bdf : NULL;
}

unsigned vfi_sim_device_reset_count(const VfiSim *sim, const char *name)
{
    SIM_LOCKED(sim);
    SimDevice *dev = sim_find_device(sim, name);

    return dev ? dev->resets : 0;
}

const char **vfi_sim_device_names(const VfiSim *sim, unsigned *n)
{
    SIM_LOCKED(sim);
    const char **names = g_new0(const char *, sim->devices->len + 1);

    for (guint i = 0; i < sim->devices->len; i++) {
        names[i] = ((SimDevice *)g_ptr_array_index(sim->devices, i))->name;
    }
    if (n) {
        *n = sim->devices->len;
    }
    return names;
}

uint32_t vfi_sim_device_attached_pt(const VfiSim *sim, const char *name)
{
    SIM_LOCKED(sim);
    SimDevice *dev = sim_find_device(sim, name);

    if (!dev || !dev->bound || !dev->bound->obj || !dev->bound->obj->attached) {
        return 0;
    }
    return dev->bound->obj->attached->id;
}

/* ---- the object --------------------------------------------------------- */

/* The model's lock is recursive: a control call may make another (loading
 * a topology adds devices; freeing the model uninstalls it). */
static void sim_lock_init(VfiSim *sim)
{
    pthread_mutexattr_t attr;

    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&sim->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    pthread_rwlock_init(&sim->readers, NULL);
}

/* VFI_SIM_DIRTY_COST=kernel (or fast) chooses the cost of dirty reads of
 * a new model, so a benchmark run switches it without a code change. */
static void sim_dirty_cost_from_env(VfiSim *sim)
{
    const char *env = g_getenv("VFI_SIM_DIRTY_COST");

    if (!env) {
        return;
    }
    if (g_str_equal(env, "kernel")) {
        sim->dirty_cost = VFI_SIM_DIRTY_COST_KERNEL;
    } else if (!g_str_equal(env, "fast")) {
        trace_vfi_sim_dirty_cost("fast", "VFI_SIM_DIRTY_COST unknown: ignored");
        return;
    }
    trace_vfi_sim_dirty_cost(env, "VFI_SIM_DIRTY_COST");
}

VfiSim *vfi_sim_new(GError **errp)
{
    g_autoptr(GError) local = NULL;
    VfiSim *sim;
    char *root = g_dir_make_tmp("vfio-sim-XXXXXX", &local);

    if (!root) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_HOST,
                    "cannot make the simulated sysfs directory: %s", local->message);
        return NULL;
    }
    sim = g_new0(VfiSim, 1);
    sim_lock_init(sim);
    sim->sysfs_root = root;
    sim->iommus = g_ptr_array_new_with_free_func(sim_iommu_free);
    sim->devices = g_ptr_array_new_with_free_func(sim_device_free);
    sim->files = g_hash_table_new(g_direct_hash, g_direct_equal);
    sim->contexts = g_ptr_array_new();
    sim->windows = g_hash_table_new(g_direct_hash, g_direct_equal);
    if (!sim_sysfs_init(root, errp)) {
        vfi_sim_free(sim);
        return NULL;
    }
    sim_dirty_cost_from_env(sim);
    trace_vfi_sim_new(root);
    return sim;
}

void vfi_sim_free(VfiSim *sim)
{
    if (!sim) {
        return;
    }
    vfi_sim_uninstall(sim);
    sim_files_close_all(sim);
    g_assert(sim->contexts->len == 0);
    sim_type1_free(sim);
    g_ptr_array_free(sim->contexts, TRUE);
    sim_dmabuf_free_all(sim);
    g_hash_table_destroy(sim->files);
    g_hash_table_destroy(sim->windows);
    g_ptr_array_free(sim->devices, TRUE);
    g_ptr_array_free(sim->iommus, TRUE);
    sim_sysfs_remove_tree(sim->sysfs_root);
    g_free(sim->sysfs_root);
    pthread_mutex_destroy(&sim->lock);
    pthread_rwlock_destroy(&sim->readers);
    g_free(sim);
}

/* ---- fds ---------------------------------------------------------------- */

SimCtx *sim_lookup_iommufd(VfiSim *sim, int fd)
{
    SimFile *f = sim_file_lookup(sim, fd);

    return f && f->kind == SIM_FILE_IOMMUFD ? f->ctx : NULL;
}

static SimDevice *sim_device_by_cdev(VfiSim *sim, const char *path)
{
    const char *num = path + strlen(SIM_CDEV_PREFIX);
    char *end;
    unsigned long n;

    if (!g_str_has_prefix(path, SIM_CDEV_PREFIX) || !g_ascii_isdigit(*num)) {
        return NULL;
    }
    n = strtoul(num, &end, 10);
    if (*end || n >= sim->devices->len) {
        return NULL;
    }
    return g_ptr_array_index(sim->devices, n);
}

static int sim_open(void *opaque, const char *path, int flags)
{
    SIM_LOCKED((VfiSim *)opaque);
    VfiSim *sim = opaque;
    SimDevice *dev = NULL;
    SimFile *f;
    int fd;

    (void)flags;
    if (!path) {
        return -EFAULT;
    }
    if (sim_type1_is_path(path)) {
        return sim_type1_open(sim, path);
    }
    if (!g_str_equal(path, SIM_IOMMU_PATH)) {
        dev = sim_device_by_cdev(sim, path);
        if (!dev || dev->no_cdev) {
            trace_vfi_sim_open(path, -ENOENT);
            return -ENOENT;
        }
    }
    fd = sim_file_new(sim, dev ? SIM_FILE_DEVICE : SIM_FILE_IOMMUFD, &f);
    if (fd < 0) {
        return fd;
    }
    if (dev) {
        f->df = g_new0(SimDeviceFile, 1);
        f->df->sim = sim;
        f->df->fd = fd;
        f->df->dev = dev;
    } else {
        f->ctx = sim_ctx_new(sim, fd);
    }
    trace_vfi_sim_open(path, fd);
    return fd;
}

static int sim_close(void *opaque, int fd)
{
    SIM_LOCKED((VfiSim *)opaque);
    VfiSim *sim = opaque;

    return sim_fd_close(sim, fd);
}

int sim_queue_open(SimObj *obj)
{
    VfiSim *sim = obj->ctx->sim;
    SimFile *f;
    int fd = sim_file_new(sim, SIM_FILE_QUEUE, &f);

    if (fd < 0) {
        return fd;
    }
    f->queue = obj;
    obj->qfd = fd;
    obj->users++;               /* the file's reference */
    obj->ctx->queue_fds++;      /* and on the context */
    trace_vfi_sim_open(sim_obj_type_name(obj->type), fd);
    return fd;
}

/* read(2) / write(2): only a queue fd has them (/dev/iommu and a VFIO
 * device file have no read that the library uses: EINVAL). */
static ssize_t sim_read(void *opaque, int fd, void *buf, size_t len)
{
    SIM_LOCKED((VfiSim *)opaque);
    SimFile *f = g_hash_table_lookup(((VfiSim *)opaque)->files, GINT_TO_POINTER(fd));

    if (!f) {
        return -EBADF;
    }
    return f->kind == SIM_FILE_QUEUE ? sim_queue_read(f->queue, buf, len) : -EINVAL;
}

static ssize_t sim_write(void *opaque, int fd, const void *buf, size_t len)
{
    SIM_LOCKED((VfiSim *)opaque);
    SimFile *f = g_hash_table_lookup(((VfiSim *)opaque)->files, GINT_TO_POINTER(fd));

    if (!f) {
        return -EBADF;
    }
    return f->kind == SIM_FILE_QUEUE ? sim_queue_write(f->queue, buf, len) : -EINVAL;
}

static int sim_mmap(void *opaque, int fd, size_t len, uint64_t offset, void **addr)
{
    SIM_LOCKED((VfiSim *)opaque);
    SimFile *f = g_hash_table_lookup(((VfiSim *)opaque)->files, GINT_TO_POINTER(fd));

    if (!f) {
        return -EBADF;
    }
    /* only an iommufd has windows (a VFIO device's regions are not modelled) */
    return f->kind == SIM_FILE_IOMMUFD ? sim_window_mmap(f->ctx, len, offset, addr) : -ENODEV;
}

static int sim_munmap(void *opaque, void *addr, size_t len)
{
    SIM_LOCKED((VfiSim *)opaque);
    return sim_window_munmap(opaque, addr, len);
}

unsigned vfi_sim_open_fds(const VfiSim *sim)
{
    SIM_LOCKED(sim);
    return sim_files_count((VfiSim *)sim);
}

/* ---- ioctl dispatch ----------------------------------------------------- */

static VfiSimOp sim_classify(unsigned long request)
{
    switch (request) {
    case IOMMU_DESTROY:
        return VFI_SIM_OP_DESTROY;
    case IOMMU_IOAS_ALLOC:
        return VFI_SIM_OP_IOAS_ALLOC;
    case IOMMU_IOAS_IOVA_RANGES:
        return VFI_SIM_OP_IOAS_IOVA_RANGES;
    case IOMMU_IOAS_MAP:
        return VFI_SIM_OP_IOAS_MAP;
    case IOMMU_IOAS_UNMAP:
        return VFI_SIM_OP_IOAS_UNMAP;
#if HAVE_IOMMU_IOAS_MAP_FILE
    case IOMMU_IOAS_MAP_FILE:
        return VFI_SIM_OP_IOAS_MAP_FILE;
#endif
    case IOMMU_GET_HW_INFO:
        return VFI_SIM_OP_GET_HW_INFO;
    case IOMMU_HWPT_ALLOC:
        return VFI_SIM_OP_HWPT_ALLOC;
    case IOMMU_HWPT_SET_DIRTY_TRACKING:
        return VFI_SIM_OP_HWPT_SET_DIRTY_TRACKING;
    case IOMMU_HWPT_GET_DIRTY_BITMAP:
        return VFI_SIM_OP_HWPT_GET_DIRTY_BITMAP;
    case VFIO_DEVICE_BIND_IOMMUFD:
        return VFI_SIM_OP_DEVICE_BIND;
    case VFIO_DEVICE_ATTACH_IOMMUFD_PT:
        return VFI_SIM_OP_DEVICE_ATTACH;
    case VFIO_DEVICE_DETACH_IOMMUFD_PT:
        return VFI_SIM_OP_DEVICE_DETACH;
    case VFIO_DEVICE_GET_INFO:
        return VFI_SIM_OP_DEVICE_GET_INFO;
    case VFIO_DEVICE_FEATURE:
        return VFI_SIM_OP_DEVICE_FEATURE;
    case VFIO_DEVICE_GET_PCI_HOT_RESET_INFO:
        return VFI_SIM_OP_DEVICE_HOT_RESET_INFO;
    case VFIO_DEVICE_PCI_HOT_RESET:
        return VFI_SIM_OP_DEVICE_HOT_RESET;
    default:
        return sim_type1_classify(request);
    }
}

/*
 * Keep a copy of the argument as the caller passed it. Its size is the
 * request's _IOC_SIZE, or for the _IO-numbered IOMMUFD and VFIO ioctls the
 * struct's own leading size/argsz field.
 */
static void sim_record(VfiSim *sim, unsigned long request, const void *arg)
{
    size_t size = _IOC_SIZE(request);

    if (sim_type1_arg_size(request, arg, &size)) {
        arg = size ? arg : NULL;
    } else if (!size && arg) {
        uint32_t first;

        memcpy(&first, arg, sizeof(first));
        size = first;
    }
    sim->last_request = request;
    sim->last_size = arg ? size : 0;
    memset(sim->last_arg, 0, sizeof(sim->last_arg));
    if (arg) {
        memcpy(sim->last_arg, arg, MIN(size, sizeof(sim->last_arg)));
    }
}

/* Returns: the errno to inject into this ioctl of kind @op, or 0. */
static int sim_take_fault(VfiSim *sim, VfiSimOp op)
{
    if (sim->fail_nth && --sim->fail_nth == 0) {
        return sim->fail_nth_err;
    }
    if (sim->fail_op_err[op]) {
        int err = sim->fail_op_err[op];

        sim->fail_op_err[op] = 0;
        return err;
    }
    return 0;
}

static int sim_ioctl(void *opaque, int fd, unsigned long request, void *arg)
{
    g_autoptr(SimLocked) guard G_GNUC_UNUSED =
        request == IOMMU_HWPT_GET_DIRTY_BITMAP ? sim_lock_reader(opaque) : sim_lock(opaque);
    VfiSim *sim = opaque;
    SimFile *f = sim_file_lookup(sim, fd);
    /* type1's numbers are VFIO_BASE + n as the device ioctls' (MAP_DMA is
     * PCI_HOT_RESET's): the kind of file tells them apart */
    VfiSimOp op = f && (f->kind == SIM_FILE_CONTAINER || f->kind == SIM_FILE_GROUP) ?
                  sim_type1_classify(request) : sim_classify(request);
    int err;

    sim->ioctl_count++;
    sim->op_count[op]++;
    sim_record(sim, request, arg);

    err = sim_take_fault(sim, op);
    if (err) {
        trace_vfi_sim_fault_injected(request, err);
        return -err;
    }
    if (!f) {
        return -EBADF;
    }
    if (f->kind == SIM_FILE_CONTAINER || f->kind == SIM_FILE_GROUP) {
        /* some take an integer argument, 0 included */
        return sim_type1_ioctl(f, request, arg);
    }
    if (!arg) {
        return op == VFI_SIM_OP_OTHER ? -ENOTTY : -EFAULT;
    }
    if (f->kind == SIM_FILE_IOMMUFD) {
        return sim_iommufd_ioctl(f->ctx, request, arg);
    }
    return sim_vfio_ioctl(f->df, request, arg);
}

static const VfiKernelOps sim_ops = VFI_KERNEL_OPS_INIT(
    .open = sim_open,
    .close = sim_close,
    .ioctl = sim_ioctl,
    .read = sim_read,
    .write = sim_write,
    .mmap = sim_mmap,
    .munmap = sim_munmap,
);

void vfi_sim_install(VfiSim *sim)
{
    SIM_LOCKED(sim);
    g_autoptr(GError) err = NULL;

    /* sim_ops has this library's layout: the install cannot be refused */
    if (!vfi_kernel_install(&sim_ops, sim, sim->sysfs_root, &err)) {
        g_error("installing the kernel model: %s", err->message);
    }
    installed_sim = sim;
    trace_vfi_sim_install(sim->sysfs_root);
}

void vfi_sim_uninstall(VfiSim *sim)
{
    SIM_LOCKED(sim);
    if (installed_sim == sim) {
        vfi_kernel_install(NULL, NULL, NULL, NULL);
        installed_sim = NULL;
        trace_vfi_sim_uninstall(sim->sysfs_root);
    }
}

/* ---- fault injection and counters -------------------------------------- */

void vfi_sim_fail_nth(VfiSim *sim, unsigned n, int err)
{
    SIM_LOCKED(sim);
    sim->fail_nth = n;
    sim->fail_nth_err = err;
}

void vfi_sim_fail_next(VfiSim *sim, VfiSimOp op, int err)
{
    SIM_LOCKED(sim);
    g_return_if_fail(op >= 0 && op < VFI_SIM_OP__COUNT);
    sim->fail_op_err[op] = err;
}

void vfi_sim_fail_clear(VfiSim *sim)
{
    SIM_LOCKED(sim);
    sim->fail_nth = 0;
    sim->fail_nth_err = 0;
    memset(sim->fail_op_err, 0, sizeof(sim->fail_op_err));
}

uint64_t vfi_sim_op_count(const VfiSim *sim, VfiSimOp op)
{
    SIM_LOCKED(sim);
    g_return_val_if_fail(op >= 0 && op < VFI_SIM_OP__COUNT, 0);
    return sim->op_count[op];
}

uint64_t vfi_sim_ioctl_count(const VfiSim *sim)
{
    SIM_LOCKED(sim);
    return sim->ioctl_count;
}

size_t vfi_sim_last_ioctl(const VfiSim *sim, unsigned long *request, void *buf, size_t len)
{
    SIM_LOCKED(sim);
    if (request) {
        *request = sim->last_request;
    }
    if (buf && len) {
        memcpy(buf, sim->last_arg, MIN(len, MIN(sim->last_size, sizeof(sim->last_arg))));
    }
    return sim->last_size;
}

/* ---- object inspection -------------------------------------------------- */

unsigned vfi_sim_live_objects(const VfiSim *sim)
{
    SIM_LOCKED(sim);
    unsigned n = 0;

    for (guint i = 0; i < sim->contexts->len; i++) {
        SimCtx *ctx = g_ptr_array_index(sim->contexts, i);

        n += g_hash_table_size(ctx->objects);
    }
    return n;
}

int vfi_sim_live_objects_fd(const VfiSim *sim, int iommufd)
{
    SIM_LOCKED(sim);
    SimCtx *ctx = sim_lookup_iommufd((VfiSim *)sim, iommufd);

    return ctx ? (int)g_hash_table_size(ctx->objects) : -1;
}

bool vfi_sim_object_exists(const VfiSim *sim, int iommufd, uint32_t id)
{
    SIM_LOCKED(sim);
    SimCtx *ctx = sim_lookup_iommufd((VfiSim *)sim, iommufd);

    return ctx && sim_ctx_lookup(ctx, id);
}

int vfi_sim_ioas_mapping_count(const VfiSim *sim, int iommufd, uint32_t ioas_id)
{
    SIM_LOCKED(sim);
    SimCtx *ctx = sim_lookup_iommufd((VfiSim *)sim, iommufd);
    SimObj *obj = ctx ? sim_ctx_lookup(ctx, ioas_id) : NULL;

    return obj && obj->type == SIM_OBJ_IOAS ? (int)sim_maps_len(obj->maps) : -1;
}

/* ---- simulated DMA ------------------------------------------------------ */

static bool sim_check_range(uint64_t iova, uint64_t len, GError **errp)
{
    uint64_t last;

    if (!len || __builtin_add_overflow(iova, len - 1, &last)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "bad IOVA range 0x%" G_GINT64_MODIFIER "x+0x%" G_GINT64_MODIFIER "x",
                    iova, len);
        return false;
    }
    return true;
}

/* A DMA write of @dev at [iova, iova + len) in its own DMA log (the parts
 * inside its logged ranges). Returns whether anything was marked. */
static bool device_log_mark(SimDevice *dev, uint64_t iova, uint64_t len)
{
    uint64_t last = iova + len - 1;
    bool marked = false;

    for (guint i = 0; i < dev->log_ranges->len; i++) {
        SimLogRange *r = &g_array_index(dev->log_ranges, SimLogRange, i);
        uint64_t lo = MAX(iova, r->iova), hi = MIN(last, r->last);

        if (lo <= hi) {
            sim_dirty_mark(dev->log, lo, hi - lo + 1);
            marked = true;
        }
    }
    return marked;
}

bool vfi_sim_dma_write(VfiSim *sim, const char *name, uint64_t iova, uint64_t len,
                        GError **errp)
{
    SIM_LOCKED(sim);
    SimDevice *dev = sim_find_device(sim, name);
    SimObj *target, *ioas, *hwpt = NULL;
    bool marked_hwpt = false, marked_log = false;

    if (!dev) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "DMA from unknown device %s", name ? name : "(null)");
        return false;
    }
    if (!sim_check_range(iova, len, errp)) {
        return false;
    }
    target = dev->bound && dev->bound->obj ? dev->bound->obj->attached : NULL;
    if (!target) {
        int t1 = sim_type1_dma_write(sim, dev, iova, len, errp);

        if (t1 >= 0) {
            /* the device's own DMA log is the device's, whatever its IOMMU */
            if (t1 > 0 && dev->logging) {
                device_log_mark(dev, iova, len);
            }
            return t1 > 0;
        }
    }
    if (!target) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "DMA from device %s, which is not attached: blocked", name);
        return false;
    }
    if (target->type == SIM_OBJ_HWPT) {
        /* On a nested HWPT the model's stage 1 is the identity; the
         * nest parent's stage 2 translates and takes the dirty bits (the
         * kernel's IOMMU sets them in the parent's page table). */
        hwpt = target->nested ? target->parent : target;
        ioas = hwpt->ioas;
    } else {
        ioas = target;
    }
    if (!sim_ioas_covers(ioas, iova, len, true) ||
        sim_dmabuf_revoked_in(sim, ioas, iova, len)) {     /* sim-dmabuf.c */
        trace_vfi_sim_dma_fault(name, iova, len);
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "DMA write of device %s to 0x%" G_GINT64_MODIFIER "x+0x%"
                    G_GINT64_MODIFIER "x: IOMMU fault (not mapped writeable)",
                    name, iova, len);
        return false;
    }
    if (hwpt && hwpt->dirty_enabled) {
        sim_hwpt_mark(hwpt, iova, len);
        marked_hwpt = true;
    }
    marked_log = dev->logging && device_log_mark(dev, iova, len);
    trace_vfi_sim_dma_write(name, iova, len, marked_hwpt, marked_log);
    return true;
}

bool vfi_sim_hwpt_mark_dirty(VfiSim *sim, int iommufd, uint32_t hwpt_id, uint64_t iova,
                              uint64_t len, GError **errp)
{
    SIM_LOCKED(sim);
    SimCtx *ctx = sim_lookup_iommufd(sim, iommufd);
    SimObj *obj = ctx ? sim_ctx_lookup(ctx, hwpt_id) : NULL;

    if (!obj || obj->type != SIM_OBJ_HWPT) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "no HWPT %u on iommufd %d", hwpt_id, iommufd);
        return false;
    }
    if (!sim_check_range(iova, len, errp)) {
        return false;
    }
    sim_hwpt_mark(obj, iova, len);
    trace_vfi_sim_hwpt_mark_dirty(hwpt_id, iova, len);
    return true;
}

/* ---- dirty read options ------------------------------------------------- */

bool vfi_sim_set_iopte_sizes(VfiSim *sim, uint64_t pgsize_bitmap, GError **errp)
{
    SIM_LOCKED(sim);

    if (pgsize_bitmap &&
        (!(pgsize_bitmap & SIM_PAGE_SIZE) || (pgsize_bitmap & (SIM_PAGE_SIZE - 1)))) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "IOPTE sizes 0x%" G_GINT64_MODIFIER "x: must hold 4096 and "
                    "nothing smaller", pgsize_bitmap);
        return false;
    }
    sim->iopte_sizes = pgsize_bitmap;
    trace_vfi_sim_iopte_sizes(pgsize_bitmap);
    return true;
}

bool vfi_sim_set_dirty_cost(VfiSim *sim, VfiSimDirtyCost cost, GError **errp)
{
    SIM_LOCKED(sim);

    if (cost != VFI_SIM_DIRTY_COST_FAST && cost != VFI_SIM_DIRTY_COST_KERNEL) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "unknown dirty read cost %d", (int)cost);
        return false;
    }
    sim->dirty_cost = cost;
    trace_vfi_sim_dirty_cost(cost == VFI_SIM_DIRTY_COST_KERNEL ? "kernel" : "fast",
                             "vfi_sim_set_dirty_cost");
    return true;
}

VfiSimDirtyCost vfi_sim_get_dirty_cost(const VfiSim *sim)
{
    SIM_LOCKED(sim);
    return sim->dirty_cost;
}

bool vfi_sim_set_device_max_pasid_log2(VfiSim *sim, const char *name, unsigned log2,
                                       GError **errp)
{
    SIM_LOCKED(sim);
    SimDevice *dev = sim_find_device(sim, name);

    if (!dev || !dev->iommu) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "%s is no PCI device of the model", name ? name : "(null)");
        return false;
    }
    if (log2 > 20) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "device %s: a PASID is at most 20 bits, not %u", name, log2);
        return false;
    }
    dev->max_pasid_log2 = (uint8_t)log2;
    trace_vfi_sim_device_max_pasid(name, log2);
    return true;
}
