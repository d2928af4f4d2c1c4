/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the iommufd backend object (backends/iommufd.c) against the
 * kernel model: every wrapper's success, the kernel errors it reports, and
 * the bad inputs it refuses before any ioctl.
 *
 * Devices are bound and attached with raw VFIO cdev ioctls through the ioctl
 * layer, so these tests do not depend on the device layer.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "test-common.h"
#include "vfio-iommufd/iommufd.h"
#include "vfio-iommufd/kernel.h"
#include "util/kernel-internal.h"

#define PAGE 0x1000ull

static const char topology[] =
    "[iommu a]\ndirty-tracking=true\n"
    "[iommu b]\ndirty-tracking=false\n"
    "[device nic0]\niommu=a\n"
    "[device nic1]\niommu=b\n"
    "[device vgpu0]\nmdev=true\n";

/* Page-aligned memory to map. */
static uint8_t guest_ram[16 * PAGE] __attribute__((aligned(4096)));

typedef struct Fixture {
    VfiSim *sim;
    VfiIommufd *be;
    int fd;
} Fixture;

static int setup(void **state)
{
    Fixture *f = g_new0(Fixture, 1);
    g_autoptr(GError) err = NULL;

    f->sim = test_sim_new(topology);
    f->be = vfi_iommufd_new();
    assert_ok(vfi_iommufd_connect(f->be, &err), err);
    f->fd = vfi_iommufd_get_fd(f->be);
    assert_true(f->fd >= 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;

    vfi_sim_fail_clear(f->sim);
    while (vfi_iommufd_users(f->be)) {
        vfi_iommufd_disconnect(f->be);
    }
    assert_ok(vfi_iommufd_free(f->be, &err), err);
    test_sim_free_clean(f->sim);
    g_free(f);
    return 0;
}

/* Assert @err is a kernel error @code whose message contains every string
 * of the NULL-terminated list, and free it. */
static void G_GNUC_NULL_TERMINATED
assert_kerr(GError **err, int code, ...)
{
    const char *s;
    va_list ap;

    assert_non_null(*err);
    if ((*err)->domain != VFI_KERNEL_ERROR || (*err)->code != code) {
        fail_msg("expected kernel error %d, got %s/%d: %s", code,
                 g_quark_to_string((*err)->domain), (*err)->code, (*err)->message);
    }
    va_start(ap, code);
    while ((s = va_arg(ap, const char *))) {
        if (!strstr((*err)->message, s)) {
            fail_msg("message \"%s\" lacks \"%s\"", (*err)->message, s);
        }
    }
    va_end(ap);
    g_clear_error(err);
}

/* Open the model's vfio cdev of @name and bind it to @iommufd. */
static int bind_device(VfiSim *sim, const char *name, int iommufd, uint32_t *devid)
{
    g_autofree char *dir = g_build_filename(vfi_sim_device_sysfs_path(sim, name),
                                            "vfio-dev", NULL);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    g_autofree char *node = NULL;
    struct vfio_device_bind_iommufd bind = {
        .argsz = sizeof(bind),
        .iommufd = iommufd,
    };
    const char *entry;
    int fd;

    assert_non_null(d);
    entry = g_dir_read_name(d);
    assert_non_null(entry);
    node = g_strdup_printf("/dev/vfio/devices/%s", entry);
    fd = vfi_kernel_open(node, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(VFI_KERNEL_IOCTL(fd, VFIO_DEVICE_BIND_IOMMUFD, &bind), 0);
    *devid = bind.out_devid;
    return fd;
}

static void attach_device(int devfd, uint32_t pt_id)
{
    struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at), .pt_id = pt_id };

    assert_int_equal(VFI_KERNEL_IOCTL(devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), 0);
}

static void detach_device(int devfd)
{
    struct vfio_device_detach_iommufd_pt de = { .argsz = sizeof(de) };

    assert_int_equal(VFI_KERNEL_IOCTL(devfd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &de), 0);
}

static uint32_t alloc_ioas(VfiIommufd *be)
{
    g_autoptr(GError) err = NULL;
    uint32_t id = 0;

    assert_ok(vfi_iommufd_ioas_alloc(be, &id, &err), err);
    return id;
}

static void free_id(VfiIommufd *be, uint32_t id)
{
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_iommufd_destroy(be, id, &err), err);
}

/* ---- lifetime, users, fd ------------------------------------------------ */

static void test_owned_fd_users(void **state)
{
    g_autoptr(VfiSim) sim = test_sim_new(topology);
    g_autoptr(GError) err = NULL;
    VfiIommufd *be = vfi_iommufd_new();
    int fd;

    (void)state;
    assert_non_null(be);
    assert_int_equal(vfi_iommufd_get_fd(be), -1);
    assert_int_equal(vfi_iommufd_users(be), 0);
    assert_false(vfi_iommufd_fd_is_borrowed(be));
    assert_int_equal(vfi_sim_open_fds(sim), 0);

    /* The first connect opens /dev/iommu, the second only counts. */
    assert_ok(vfi_iommufd_connect(be, &err), err);
    fd = vfi_iommufd_get_fd(be);
    assert_true(fd >= 0);
    assert_int_equal(vfi_sim_open_fds(sim), 1);
    assert_int_equal(vfi_sim_live_objects_fd(sim, fd), 0);
    assert_ok(vfi_iommufd_connect(be, &err), err);
    assert_int_equal(vfi_iommufd_users(be), 2);
    assert_int_equal(vfi_iommufd_get_fd(be), fd);
    assert_int_equal(vfi_sim_open_fds(sim), 1);

    /* Freeing with users left is refused and changes nothing. */
    assert_false(vfi_iommufd_free(be, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_int_equal(vfi_iommufd_users(be), 2);
    assert_int_equal(vfi_iommufd_get_fd(be), fd);

    vfi_iommufd_disconnect(be);
    assert_int_equal(vfi_iommufd_users(be), 1);
    assert_int_equal(vfi_iommufd_get_fd(be), fd);
    assert_int_equal(vfi_sim_open_fds(sim), 1);
    assert_false(vfi_iommufd_free(be, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);

    /* The last disconnect closes it; a new connect opens a new one. */
    vfi_iommufd_disconnect(be);
    assert_int_equal(vfi_iommufd_users(be), 0);
    assert_int_equal(vfi_iommufd_get_fd(be), -1);
    assert_int_equal(vfi_sim_open_fds(sim), 0);
    assert_ok(vfi_iommufd_connect(be, &err), err);
    assert_true(vfi_iommufd_get_fd(be) >= 0);
    assert_int_equal(vfi_sim_open_fds(sim), 1);
    vfi_iommufd_disconnect(be);
    assert_int_equal(vfi_sim_open_fds(sim), 0);

    /* No ioctl for any of it. */
    assert_int_equal(vfi_sim_ioctl_count(sim), 0);
    assert_ok(vfi_iommufd_free(be, &err), err);
    assert_ok(vfi_iommufd_free(NULL, &err), err);
    test_sim_free_clean(g_steal_pointer(&sim));
}

static int failing_open(void *opaque, const char *path, int flags)
{
    (void)opaque, (void)path, (void)flags;
    return -EACCES;
}

static int unused_close(void *opaque, int fd)
{
    (void)opaque, (void)fd;
    fail_msg("close called");
    return -EBADF;
}

static int unused_ioctl(void *opaque, int fd, unsigned long request, void *arg)
{
    (void)opaque, (void)fd, (void)request, (void)arg;
    fail_msg("ioctl called");
    return -ENOTTY;
}

static const VfiKernelOps failing_kernel = VFI_KERNEL_OPS_INIT(
    .open = failing_open,
    .close = unused_close,
    .ioctl = unused_ioctl,
);

static void test_connect_open_fails(void **state)
{
    g_autoptr(GError) err = NULL;
    VfiIommufd *be = vfi_iommufd_new();

    (void)state;
    assert_true(vfi_kernel_install(&failing_kernel, NULL, NULL, NULL));
    assert_false(vfi_iommufd_connect(be, &err));
    assert_kerr(&err, EACCES, "/dev/iommu", NULL);
    assert_int_equal(vfi_iommufd_users(be), 0);
    assert_int_equal(vfi_iommufd_get_fd(be), -1);
    assert_true(vfi_kernel_install(NULL, NULL, NULL, NULL));
    assert_ok(vfi_iommufd_free(be, &err), err);
}

static void test_borrowed_fd(void **state)
{
    g_autoptr(VfiSim) sim = test_sim_new(topology);
    g_autoptr(GError) err = NULL;
    VfiIommufd *be;
    uint32_t ioas;
    int fd;

    (void)state;
    assert_null(vfi_iommufd_new_from_fd(-1, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);

    fd = vfi_kernel_open("/dev/iommu", O_RDWR);
    assert_true(fd >= 0);
    be = vfi_iommufd_new_from_fd(fd, &err);
    assert_non_null(be);
    assert_true(vfi_iommufd_fd_is_borrowed(be));
    assert_int_equal(vfi_iommufd_get_fd(be), fd);
    assert_int_equal(vfi_iommufd_users(be), 0);

    /* Connect only counts users: the VMM's fd is never closed. */
    assert_ok(vfi_iommufd_connect(be, &err), err);
    assert_ok(vfi_iommufd_connect(be, &err), err);
    assert_int_equal(vfi_iommufd_users(be), 2);
    assert_int_equal(vfi_sim_open_fds(sim), 1);
    ioas = alloc_ioas(be);
    assert_true(vfi_sim_object_exists(sim, fd, ioas));
    free_id(be, ioas);
    assert_false(vfi_iommufd_free(be, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    vfi_iommufd_disconnect(be);
    vfi_iommufd_disconnect(be);
    assert_int_equal(vfi_iommufd_users(be), 0);
    assert_int_equal(vfi_iommufd_get_fd(be), fd);
    assert_int_equal(vfi_sim_open_fds(sim), 1);
    assert_ok(vfi_iommufd_free(be, &err), err);
    assert_int_equal(vfi_sim_open_fds(sim), 1);

    assert_int_equal(vfi_kernel_close(fd), 0);
    test_sim_free_clean(g_steal_pointer(&sim));
}

static void test_disconnect_unbalanced(void **state)
{
    g_autoptr(GError) err = NULL;
    VfiIommufd *be = vfi_iommufd_new();

    (void)state;
    g_test_expect_message(NULL, G_LOG_LEVEL_CRITICAL, "*no user connected*");
    vfi_iommufd_disconnect(be);
    g_test_assert_expected_messages();
    assert_int_equal(vfi_iommufd_users(be), 0);
    assert_ok(vfi_iommufd_free(be, &err), err);
}

/* Every wrapper on a NULL backend (INVALID_ARGUMENT) or on an owned backend
 * that is not connected (WRONG_STATE): no ioctl, nothing changed. */
static void check_all_refused(VfiIommufd *be, GQuark domain, int code)
{
    g_autoptr(GError) err = NULL;
    uint64_t bitmap[1] = { 0 };
    VfiIovaRange *ranges = NULL;
    size_t nr = 0;
    uint64_t u64 = 0;
    uint32_t u32 = 0;
    VfiHwInfo info = { 0 };

    assert_false(vfi_iommufd_ioas_alloc(be, &u32, &err));
    assert_gerror(err, domain, code);
    assert_false(vfi_iommufd_destroy(be, 1, &err));
    assert_gerror(err, domain, code);
    assert_false(vfi_iommufd_ioas_map(be, 1, 0x100000, PAGE, guest_ram, false, &err));
    assert_gerror(err, domain, code);
    assert_false(vfi_iommufd_ioas_map_any(be, 1, PAGE, guest_ram, false, &u64, &err));
    assert_gerror(err, domain, code);
    assert_false(vfi_iommufd_ioas_unmap(be, 1, 0x100000, PAGE, &u64, &err));
    assert_gerror(err, domain, code);
    assert_false(vfi_iommufd_ioas_unmap_all(be, 1, &u64, &err));
    assert_gerror(err, domain, code);
    assert_false(vfi_iommufd_ioas_iova_ranges(be, 1, &ranges, &nr, &u64, &err));
    assert_gerror(err, domain, code);
    assert_false(vfi_iommufd_get_hw_info(be, 1, &info, &err));
    assert_gerror(err, domain, code);
    assert_false(vfi_iommufd_hwpt_alloc(be, 1, 2, 0, IOMMU_HWPT_DATA_NONE, 0, NULL,
                                            &u32, &err));
    assert_gerror(err, domain, code);
    assert_false(vfi_iommufd_hwpt_set_dirty_tracking(be, 1, true, &err));
    assert_gerror(err, domain, code);
    assert_false(vfi_iommufd_hwpt_get_dirty_bitmap(be, 1, 0, PAGE, PAGE, bitmap, 0, &err));
    assert_gerror(err, domain, code);
    assert_null(ranges);
    assert_int_equal(nr, 0);
    assert_int_equal(u64, 0);
    assert_int_equal(u32, 0);
    assert_int_equal(bitmap[0], 0);
}

static void test_null_backend(void **state)
{
    g_autoptr(VfiSim) sim = test_sim_new(topology);
    g_autoptr(GError) err = NULL;

    (void)state;
    check_all_refused(NULL, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_iommufd_connect(NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfi_iommufd_get_fd(NULL), -1);
    assert_int_equal(vfi_iommufd_users(NULL), 0);
    assert_false(vfi_iommufd_fd_is_borrowed(NULL));
    assert_int_equal(vfi_sim_ioctl_count(sim), 0);
    test_sim_free_clean(g_steal_pointer(&sim));
}

static void test_not_connected(void **state)
{
    g_autoptr(VfiSim) sim = test_sim_new(topology);
    g_autoptr(GError) err = NULL;
    VfiIommufd *be = vfi_iommufd_new();

    (void)state;
    check_all_refused(be, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    /* The same once connected and disconnected again. */
    assert_ok(vfi_iommufd_connect(be, &err), err);
    vfi_iommufd_disconnect(be);
    check_all_refused(be, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_int_equal(vfi_sim_ioctl_count(sim), 0);
    assert_int_equal(vfi_sim_open_fds(sim), 0);
    assert_ok(vfi_iommufd_free(be, &err), err);
    test_sim_free_clean(g_steal_pointer(&sim));
}

/* ---- IOAS and DESTROY ------------------------------------------------- */

static void test_alloc_free_ioas(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    struct iommu_ioas_alloc a;
    struct iommu_destroy d;
    unsigned long req = 0;
    g_autofree char *msg = NULL;
    uint32_t ioas, ioas2;
    uint64_t count;

    ioas = alloc_ioas(f->be);
    assert_true(vfi_sim_object_exists(f->sim, f->fd, ioas));
    assert_int_equal(vfi_sim_last_ioctl(f->sim, &req, &a, sizeof(a)), sizeof(a));
    assert_int_equal(req, IOMMU_IOAS_ALLOC);
    assert_int_equal(a.size, sizeof(a));
    assert_int_equal(a.flags, 0);
    ioas2 = alloc_ioas(f->be);
    assert_int_not_equal(ioas, ioas2);
    assert_int_equal(vfi_sim_live_objects_fd(f->sim, f->fd), 2);

    free_id(f->be, ioas);
    assert_false(vfi_sim_object_exists(f->sim, f->fd, ioas));
    assert_int_equal(vfi_sim_last_ioctl(f->sim, &req, &d, sizeof(d)), sizeof(d));
    assert_int_equal(req, IOMMU_DESTROY);
    assert_int_equal(d.size, sizeof(d));
    assert_int_equal(d.id, ioas);

    /* Unknown id: ENOENT naming it. */
    msg = g_strdup_printf("no object %u", ioas);
    assert_false(vfi_iommufd_destroy(f->be, ioas, &err));
    assert_kerr(&err, ENOENT, "IOMMU_DESTROY", msg, NULL);
    assert_true(vfi_sim_object_exists(f->sim, f->fd, ioas2));

    /* A NULL out pointer: nothing sent. */
    count = vfi_sim_ioctl_count(f->sim);
    assert_false(vfi_iommufd_ioas_alloc(f->be, NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), count);
    assert_int_equal(vfi_sim_live_objects_fd(f->sim, f->fd), 1);

    /* Kernels before 6.2 have no IOMMUFD at all. */
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_IOAS_ALLOC, ENOTTY);
    ioas = 0xdead;
    assert_false(vfi_iommufd_ioas_alloc(f->be, &ioas, &err));
    assert_kerr(&err, ENOTTY, "IOMMU_IOAS_ALLOC", "not supported by this kernel",
                "from Linux 6.2", NULL);
    assert_int_equal(ioas, 0xdead);
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_DESTROY, ENOTTY);
    assert_false(vfi_iommufd_destroy(f->be, ioas2, &err));
    assert_kerr(&err, ENOTTY, "IOMMU_DESTROY", "from Linux 6.2", NULL);
    assert_true(vfi_sim_object_exists(f->sim, f->fd, ioas2));
    assert_int_equal(vfi_sim_live_objects_fd(f->sim, f->fd), 1);

    free_id(f->be, ioas2);
}

static void test_free_busy(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    g_autofree char *ioas_msg = NULL, *hwpt_msg = NULL;
    uint32_t ioas, hwpt, devid;
    int devfd;

    ioas = alloc_ioas(f->be);
    devfd = bind_device(f->sim, "nic0", f->fd, &devid);
    assert_ok(vfi_iommufd_hwpt_alloc(f->be, devid, ioas, 0, IOMMU_HWPT_DATA_NONE, 0,
                                         NULL, &hwpt, &err), err);

    /* An IOAS with a HWPT on it. */
    ioas_msg = g_strdup_printf("object %u is still in use", ioas);
    assert_false(vfi_iommufd_destroy(f->be, ioas, &err));
    assert_kerr(&err, EBUSY, "IOMMU_DESTROY", ioas_msg, NULL);
    assert_true(vfi_sim_object_exists(f->sim, f->fd, ioas));

    /* A HWPT with a device attached. */
    attach_device(devfd, hwpt);
    hwpt_msg = g_strdup_printf("object %u is still in use", hwpt);
    assert_false(vfi_iommufd_destroy(f->be, hwpt, &err));
    assert_kerr(&err, EBUSY, "IOMMU_DESTROY", hwpt_msg, NULL);
    assert_true(vfi_sim_object_exists(f->sim, f->fd, hwpt));
    assert_int_equal(vfi_sim_device_attached_pt(f->sim, "nic0"), hwpt);

    detach_device(devfd);
    free_id(f->be, hwpt);
    free_id(f->be, ioas);
    assert_int_equal(vfi_kernel_close(devfd), 0);
}

/* ---- map / unmap -------------------------------------------------------- */

static void check_last_map(VfiSim *sim, uint32_t ioas, uint32_t flags, uint64_t iova,
                           uint64_t size, void *vaddr)
{
    struct iommu_ioas_map m;
    unsigned long req = 0;

    assert_int_equal(vfi_sim_last_ioctl(sim, &req, &m, sizeof(m)), sizeof(m));
    assert_int_equal(req, IOMMU_IOAS_MAP);
    assert_int_equal(m.size, sizeof(m));
    assert_int_equal(m.flags, flags);
    assert_int_equal(m.ioas_id, ioas);
    assert_int_equal(m.__reserved, 0);
    assert_int_equal(m.user_va, (uintptr_t)vaddr);
    assert_int_equal(m.length, size);
    assert_int_equal(m.iova, iova);
}

static void check_last_unmap(VfiSim *sim, uint32_t ioas, uint64_t iova, uint64_t size)
{
    struct iommu_ioas_unmap u;
    unsigned long req = 0;

    assert_int_equal(vfi_sim_last_ioctl(sim, &req, &u, sizeof(u)), sizeof(u));
    assert_int_equal(req, IOMMU_IOAS_UNMAP);
    assert_int_equal(u.size, sizeof(u));
    assert_int_equal(u.ioas_id, ioas);
    assert_int_equal(u.iova, iova);
    assert_int_equal(u.length, size);
}

/* IOAS_MAP at a fixed IOVA: read-write, read-only, an overlap refused. */
static void map_fixed_iova(Fixture *f, uint32_t ioas)
{
    g_autoptr(GError) err = NULL;

    /* Fixed IOVA, read-write. */
    assert_ok(vfi_iommufd_ioas_map(f->be, ioas, 0x100000, 4 * PAGE, guest_ram, false,
                                      &err), err);
    check_last_map(f->sim, ioas, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
                   IOMMU_IOAS_MAP_WRITEABLE, 0x100000, 4 * PAGE, guest_ram);
    assert_int_equal(vfi_sim_ioas_mapping_count(f->sim, f->fd, ioas), 1);

    /* Fixed IOVA, read-only: READABLE without WRITEABLE. */
    assert_ok(vfi_iommufd_ioas_map(f->be, ioas, 0x200000, 2 * PAGE, guest_ram + 4 * PAGE,
                                      true, &err), err);
    check_last_map(f->sim, ioas, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
                   0x200000, 2 * PAGE, guest_ram + 4 * PAGE);
    assert_int_equal(vfi_sim_ioas_mapping_count(f->sim, f->fd, ioas), 2);

    /* Overlap: EEXIST, nothing added. */
    assert_false(vfi_iommufd_ioas_map(f->be, ioas, 0x101000, PAGE, guest_ram, false,
                                         &err));
    assert_kerr(&err, EEXIST, "IOMMU_IOAS_MAP", "0x101000", NULL);
    assert_int_equal(vfi_sim_ioas_mapping_count(f->sim, f->fd, ioas), 2);
}

static void map_any_iova(Fixture *f, uint32_t ioas)
{
    g_autoptr(GError) err = NULL;
    uint64_t unmapped = 0, iova = 0;

    /* Kernel-chosen IOVA: no FIXED_IOVA, the IOVA comes back and is real. */
    assert_ok(vfi_iommufd_ioas_map_any(f->be, ioas, 2 * PAGE, guest_ram + 8 * PAGE,
                                          false, &iova, &err), err);
    check_last_map(f->sim, ioas, IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE, 0,
                   2 * PAGE, guest_ram + 8 * PAGE);
    assert_int_equal(iova % PAGE, 0);
    assert_int_equal(vfi_sim_ioas_mapping_count(f->sim, f->fd, ioas), 3);
    assert_ok(vfi_iommufd_ioas_map_any(f->be, ioas, PAGE, guest_ram + 12 * PAGE, true,
                                          &unmapped, &err), err);
    check_last_map(f->sim, ioas, IOMMU_IOAS_MAP_READABLE, 0, PAGE, guest_ram + 12 * PAGE);
    assert_ok(vfi_iommufd_ioas_unmap(f->be, ioas, unmapped, PAGE, NULL, &err), err);
    unmapped = 0;
    assert_ok(vfi_iommufd_ioas_unmap(f->be, ioas, iova, 2 * PAGE, &unmapped, &err), err);
    assert_int_equal(unmapped, 2 * PAGE);
    assert_int_equal(vfi_sim_ioas_mapping_count(f->sim, f->fd, ioas), 2);
}

/* Unmap reports the length; nothing mapped or a cut mapping is ENOENT. */
static void unmap_length_and_holes(Fixture *f, uint32_t ioas)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *msg = NULL;
    uint64_t unmapped;

    /* Unmap returns the length unmapped. */
    unmapped = 0;
    assert_ok(vfi_iommufd_ioas_unmap(f->be, ioas, 0x100000, 4 * PAGE, &unmapped, &err),
              err);
    check_last_unmap(f->sim, ioas, 0x100000, 4 * PAGE);
    assert_int_equal(unmapped, 4 * PAGE);
    assert_int_equal(vfi_sim_ioas_mapping_count(f->sim, f->fd, ioas), 1);

    /* Nothing mapped there any more: ENOENT, said so. */
    unmapped = 0x1234;
    msg = g_strdup_printf("nothing mapped in ioas %u at [0x100000, 0x103fff]", ioas);
    assert_false(vfi_iommufd_ioas_unmap(f->be, ioas, 0x100000, 4 * PAGE, &unmapped,
                                           &err));
    assert_kerr(&err, ENOENT, "IOMMU_IOAS_UNMAP", msg, NULL);
    assert_int_equal(unmapped, 0x1234);
    assert_int_equal(vfi_sim_ioas_mapping_count(f->sim, f->fd, ioas), 1);

    /* A range that cuts a mapping: ENOENT too, the mapping stays whole. */
    assert_false(vfi_iommufd_ioas_unmap(f->be, ioas, 0x201000, PAGE, &unmapped, &err));
    assert_kerr(&err, ENOENT, "IOMMU_IOAS_UNMAP", "sticks out", NULL);
    assert_int_equal(unmapped, 0x1234);
    assert_int_equal(vfi_sim_ioas_mapping_count(f->sim, f->fd, ioas), 1);
}

/* An unknown IOAS, a kernel without IOMMUFD, any other kernel error. */
static void map_unmap_kernel_errors(Fixture *f, uint32_t ioas)
{
    g_autoptr(GError) err = NULL;
    uint64_t unmapped = 0x1234;        /* as unmap_length_and_holes left it */

    /* Unknown IOAS. */
    assert_false(vfi_iommufd_ioas_map(f->be, ioas + 100, 0x100000, PAGE, guest_ram, false,
                                         &err));
    assert_kerr(&err, ENOENT, "IOMMU_IOAS_MAP", NULL);

    /* ENOTTY from a kernel without IOMMUFD. */
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_IOAS_MAP, ENOTTY);
    assert_false(vfi_iommufd_ioas_map(f->be, ioas, 0x300000, PAGE, guest_ram, false,
                                         &err));
    assert_kerr(&err, ENOTTY, "IOMMU_IOAS_MAP", "from Linux 6.2", NULL);
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_IOAS_UNMAP, ENOTTY);
    assert_false(vfi_iommufd_ioas_unmap(f->be, ioas, 0x200000, 2 * PAGE, &unmapped,
                                           &err));
    assert_kerr(&err, ENOTTY, "IOMMU_IOAS_UNMAP", "from Linux 6.2", NULL);
    /* Any other kernel error of unmap is not reported as "nothing mapped". */
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_IOAS_UNMAP, EINVAL);
    assert_false(vfi_iommufd_ioas_unmap(f->be, ioas, 0x200000, 2 * PAGE, &unmapped,
                                           &err));
    assert_non_null(err);
    assert_null(strstr(err->message, "nothing mapped"));
    assert_kerr(&err, EINVAL, "IOMMU_IOAS_UNMAP", NULL);
    assert_int_equal(unmapped, 0x1234);
    assert_int_equal(vfi_sim_ioas_mapping_count(f->sim, f->fd, ioas), 1);
}

static void test_map_unmap(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    uint32_t ioas = alloc_ioas(f->be);

    map_fixed_iova(f, ioas);
    map_any_iova(f, ioas);
    unmap_length_and_holes(f, ioas);
    map_unmap_kernel_errors(f, ioas);
    assert_ok(vfi_iommufd_ioas_unmap(f->be, ioas, 0x200000, 2 * PAGE, NULL, &err), err);
    assert_int_equal(vfi_sim_ioas_mapping_count(f->sim, f->fd, ioas), 0);
    free_id(f->be, ioas);
}

static void test_map_unmap_bad_args(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    uint32_t ioas = alloc_ioas(f->be);
    uint64_t count, out = 0x77;

    assert_ok(vfi_iommufd_ioas_map(f->be, ioas, 0x100000, PAGE, guest_ram, false, &err),
              err);
    count = vfi_sim_ioctl_count(f->sim);

    assert_false(vfi_iommufd_ioas_map(f->be, ioas, 0x200000, PAGE, NULL, false, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_iommufd_ioas_map(f->be, ioas, 0x200000, 0, guest_ram, false, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_iommufd_ioas_map(f->be, ioas, UINT64_MAX - PAGE + 1, 2 * PAGE,
                                         guest_ram, false, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_iommufd_ioas_map_any(f->be, ioas, PAGE, guest_ram, false, NULL,
                                             &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_iommufd_ioas_map_any(f->be, ioas, 0, guest_ram, false, &out, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_iommufd_ioas_map_any(f->be, ioas, PAGE, NULL, false, &out, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_iommufd_ioas_unmap(f->be, ioas, 0x100000, 0, &out, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_iommufd_ioas_unmap(f->be, ioas, UINT64_MAX - PAGE + 1, 2 * PAGE,
                                           &out, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), count);
    assert_int_equal(out, 0x77);
    assert_int_equal(vfi_sim_ioas_mapping_count(f->sim, f->fd, ioas), 1);

    assert_ok(vfi_iommufd_ioas_unmap(f->be, ioas, 0x100000, PAGE, NULL, &err), err);
    free_id(f->be, ioas);
}

static void test_unmap_all(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    g_autofree char *msg = NULL;
    uint32_t ioas = alloc_ioas(f->be);
    uint64_t unmapped = 0x55;

    /* An empty IOAS: success, 0 bytes. */
    assert_ok(vfi_iommufd_ioas_unmap_all(f->be, ioas, &unmapped, &err), err);
    check_last_unmap(f->sim, ioas, 0, UINT64_MAX);
    assert_int_equal(unmapped, 0);

    assert_ok(vfi_iommufd_ioas_map(f->be, ioas, 0x100000, 4 * PAGE, guest_ram, false,
                                      &err), err);
    assert_ok(vfi_iommufd_ioas_map(f->be, ioas, 0x10000000, 2 * PAGE, guest_ram, true,
                                      &err), err);
    assert_ok(vfi_iommufd_ioas_unmap_all(f->be, ioas, &unmapped, &err), err);
    check_last_unmap(f->sim, ioas, 0, UINT64_MAX);
    assert_int_equal(unmapped, 6 * PAGE);
    assert_int_equal(vfi_sim_ioas_mapping_count(f->sim, f->fd, ioas), 0);

    assert_ok(vfi_iommufd_ioas_unmap_all(f->be, ioas, NULL, &err), err);

    /* The kernel reports an empty IOAS as success: ENOENT is a bad id. */
    unmapped = 0x55;
    msg = g_strdup_printf("no IOAS %u", ioas + 100);
    assert_false(vfi_iommufd_ioas_unmap_all(f->be, ioas + 100, &unmapped, &err));
    assert_kerr(&err, ENOENT, "IOMMU_IOAS_UNMAP", msg, NULL);
    assert_int_equal(unmapped, 0x55);

    /* Other errors are errors. */
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_IOAS_UNMAP, ENOTTY);
    unmapped = 0x55;
    assert_false(vfi_iommufd_ioas_unmap_all(f->be, ioas, &unmapped, &err));
    assert_kerr(&err, ENOTTY, "IOMMU_IOAS_UNMAP", "from Linux 6.2", NULL);
    assert_int_equal(unmapped, 0x55);

    free_id(f->be, ioas);
}

/* ---- IOVA ranges -------------------------------------------------------- */

/* With a device attached: two ranges, read in two calls (the first array too small). */
static void iova_ranges_attached(Fixture *f, uint32_t ioas)
{
    g_autoptr(GError) err = NULL;
    g_autofree VfiIovaRange *ranges = NULL;
    struct iommu_ioas_iova_ranges r;
    unsigned long req = 0;
    uint64_t calls, align = 0;
    size_t nr = 0;

    calls = vfi_sim_op_count(f->sim, VFI_SIM_OP_IOAS_IOVA_RANGES);
    assert_ok(vfi_iommufd_ioas_iova_ranges(f->be, ioas, &ranges, &nr, &align, &err), err);
    assert_int_equal(nr, 2);
    assert_int_equal(ranges[0].start, 0);
    assert_int_equal(ranges[0].last, 0xfedfffffull);
    assert_int_equal(ranges[1].start, 0xfef00000ull);
    assert_int_equal(ranges[1].last, (1ull << 48) - 1);
    assert_int_equal(align, 4096);
    /* The first array was too small: EMSGSIZE, then a second call. */
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_IOAS_IOVA_RANGES), calls + 2);
    assert_int_equal(vfi_sim_last_ioctl(f->sim, &req, &r, sizeof(r)), sizeof(r));
    assert_int_equal(req, IOMMU_IOAS_IOVA_RANGES);
    assert_int_equal(r.size, sizeof(r));
    assert_int_equal(r.ioas_id, ioas);
    assert_int_equal(r.num_iovas, 2);
    assert_int_equal(r.__reserved, 0);
    assert_true(r.allowed_iovas != 0);
    g_clear_pointer(&ranges, g_free);

    /* alignment may be NULL. */
    assert_ok(vfi_iommufd_ioas_iova_ranges(f->be, ioas, &ranges, &nr, NULL, &err), err);
    assert_int_equal(nr, 2);
    g_clear_pointer(&ranges, g_free);
}

static void iova_ranges_errors(Fixture *f, uint32_t ioas)
{
    g_autoptr(GError) err = NULL;
    g_autofree VfiIovaRange *ranges = NULL;
    VfiIovaRange *none = NULL;
    uint64_t calls, count, align = 0;
    size_t nr = 0;

    /* An EMSGSIZE that does not ask for more (injected) still grows. */
    calls = vfi_sim_op_count(f->sim, VFI_SIM_OP_IOAS_IOVA_RANGES);
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_IOAS_IOVA_RANGES, EMSGSIZE);
    assert_ok(vfi_iommufd_ioas_iova_ranges(f->be, ioas, &ranges, &nr, &align, &err), err);
    assert_int_equal(nr, 2);
    assert_int_equal(ranges[1].start, 0xfef00000ull);
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_IOAS_IOVA_RANGES), calls + 2);
    g_clear_pointer(&ranges, g_free);

    /* Unknown IOAS; outputs untouched. */
    nr = 99;
    align = 99;
    assert_false(vfi_iommufd_ioas_iova_ranges(f->be, ioas + 100, &none, &nr, &align,
                                                 &err));
    assert_kerr(&err, ENOENT, "IOMMU_IOAS_IOVA_RANGES", NULL);
    assert_null(none);
    assert_int_equal(nr, 99);
    assert_int_equal(align, 99);

    vfi_sim_fail_next(f->sim, VFI_SIM_OP_IOAS_IOVA_RANGES, ENOTTY);
    assert_false(vfi_iommufd_ioas_iova_ranges(f->be, ioas, &none, &nr, &align, &err));
    assert_kerr(&err, ENOTTY, "IOMMU_IOAS_IOVA_RANGES", "from Linux 6.2", NULL);
    assert_null(none);

    count = vfi_sim_ioctl_count(f->sim);
    assert_false(vfi_iommufd_ioas_iova_ranges(f->be, ioas, NULL, &nr, &align, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_iommufd_ioas_iova_ranges(f->be, ioas, &none, NULL, &align, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), count);
    assert_null(none);
}

static void test_iova_ranges(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    g_autofree VfiIovaRange *ranges = NULL;
    uint32_t ioas = alloc_ioas(f->be);
    uint64_t calls, align = 0;
    size_t nr = 0;
    uint32_t devid;
    int devfd;

    /* An IOAS without a domain: the whole 64-bit space, alignment 1, read
     * with one call. */
    calls = vfi_sim_op_count(f->sim, VFI_SIM_OP_IOAS_IOVA_RANGES);
    assert_ok(vfi_iommufd_ioas_iova_ranges(f->be, ioas, &ranges, &nr, &align, &err), err);
    assert_int_equal(nr, 1);
    assert_int_equal(ranges[0].start, 0);
    assert_int_equal(ranges[0].last, UINT64_MAX);
    assert_int_equal(align, 1);
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_IOAS_IOVA_RANGES), calls + 1);
    g_clear_pointer(&ranges, g_free);

    /* A physical device attached (kernel auto domain): the aperture less
     * the MSI window, two ranges. */
    devfd = bind_device(f->sim, "nic0", f->fd, &devid);
    attach_device(devfd, ioas);
    iova_ranges_attached(f, ioas);
    iova_ranges_errors(f, ioas);
    /* Detached: the auto domain and the reservation are gone. */
    detach_device(devfd);
    assert_ok(vfi_iommufd_ioas_iova_ranges(f->be, ioas, &ranges, &nr, &align, &err), err);
    assert_int_equal(nr, 1);
    assert_int_equal(ranges[0].last, UINT64_MAX);
    assert_int_equal(align, 1);
    g_clear_pointer(&ranges, g_free);
    assert_int_equal(vfi_kernel_close(devfd), 0);
    free_id(f->be, ioas);
}

/* ---- GET_HW_INFO -------------------------------------------------------- */

static void device_info_refused(Fixture *f, uint32_t dev0, uint32_t vgpu, uint8_t *buf)
{
    g_autoptr(GError) err = NULL;
    VfiHwInfo info;
    uint64_t count;

    /* An mdev has no IOMMU; an unknown id neither. Info is left alone. */
    info = (VfiHwInfo){ .type = 77, .capabilities = 77, .data = buf, .data_len = 8 };
    assert_false(vfi_iommufd_get_hw_info(f->be, vgpu, &info, &err));
    assert_kerr(&err, ENOENT, "IOMMU_GET_HW_INFO", NULL);
    assert_false(vfi_iommufd_get_hw_info(f->be, 4242, &info, &err));
    assert_kerr(&err, ENOENT, "IOMMU_GET_HW_INFO", "dev 4242", NULL);
    assert_int_equal(info.type, 77);
    assert_int_equal(info.capabilities, 77);
    assert_int_equal(info.data_len, 8);

    vfi_sim_fail_next(f->sim, VFI_SIM_OP_GET_HW_INFO, ENOTTY);
    assert_false(vfi_iommufd_get_hw_info(f->be, dev0, &info, &err));
    assert_kerr(&err, ENOTTY, "IOMMU_GET_HW_INFO", "from Linux 6.6", NULL);
    assert_int_equal(info.type, 77);

    count = vfi_sim_ioctl_count(f->sim);
    assert_false(vfi_iommufd_get_hw_info(f->be, dev0, NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    info = (VfiHwInfo){ .data = NULL, .data_len = 8 };
    assert_false(vfi_iommufd_get_hw_info(f->be, dev0, &info, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), count);
}

static void test_device_info(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    struct iommu_hw_info hw;
    unsigned long req = 0;
    uint8_t buf[64];
    VfiHwInfo info;
    uint32_t dev0, dev1, vgpu;
    int fd0, fd1, fdv;

    fd0 = bind_device(f->sim, "nic0", f->fd, &dev0);
    fd1 = bind_device(f->sim, "nic1", f->fd, &dev1);
    fdv = bind_device(f->sim, "vgpu0", f->fd, &vgpu);

    memset(buf, 0xaa, sizeof(buf));
    info = (VfiHwInfo){ .data = buf, .data_len = sizeof(buf) };
    assert_ok(vfi_iommufd_get_hw_info(f->be, dev0, &info, &err), err);
    assert_int_equal(vfi_sim_last_ioctl(f->sim, &req, &hw, sizeof(hw)), sizeof(hw));
    assert_int_equal(req, IOMMU_GET_HW_INFO);
    assert_int_equal(hw.size, sizeof(hw));
    assert_int_equal(hw.flags, 0);
    assert_int_equal(hw.dev_id, dev0);
    assert_int_equal(hw.data_len, sizeof(buf));
    assert_int_equal(hw.data_uptr, (uintptr_t)buf);
    assert_int_equal(info.type, IOMMU_HW_INFO_TYPE_INTEL_VTD);
    assert_true(info.capabilities & IOMMU_HW_CAP_DIRTY_TRACKING);
    assert_int_equal(info.data_len, sizeof(struct iommu_hw_info_vtd));
    assert_ptr_equal(info.data, buf);

    /* The other IOMMU has no dirty tracking. */
    info = (VfiHwInfo){ .data = buf, .data_len = sizeof(buf) };
    assert_ok(vfi_iommufd_get_hw_info(f->be, dev1, &info, &err), err);
    assert_false(info.capabilities & IOMMU_HW_CAP_DIRTY_TRACKING);

    /* No buffer: only the fixed part (and the length the kernel has). */
    info = (VfiHwInfo){ .data = NULL, .data_len = 0 };
    assert_ok(vfi_iommufd_get_hw_info(f->be, dev0, &info, &err), err);
    assert_int_equal(vfi_sim_last_ioctl(f->sim, NULL, &hw, sizeof(hw)), sizeof(hw));
    assert_int_equal(hw.data_uptr, 0);
    assert_int_equal(hw.data_len, 0);
    assert_true(info.capabilities & IOMMU_HW_CAP_DIRTY_TRACKING);

    device_info_refused(f, dev0, vgpu, buf);
    assert_int_equal(vfi_kernel_close(fdv), 0);
    assert_int_equal(vfi_kernel_close(fd1), 0);
    assert_int_equal(vfi_kernel_close(fd0), 0);
}

/* ---- HWPT_ALLOC --------------------------------------------------------- */

/* Refused allocations leave the output and the kernel's objects alone. */
static void alloc_hwpt_refused(Fixture *f, uint32_t dev0, uint32_t dev1, uint32_t ioas,
                               unsigned objects)
{
    g_autoptr(GError) err = NULL;
    uint32_t out = 0x99;

    assert_false(vfi_iommufd_hwpt_alloc(f->be, dev1, ioas,
                                            IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
                                            IOMMU_HWPT_DATA_NONE, 0, NULL, &out, &err));
    assert_kerr(&err, EOPNOTSUPP, "IOMMU_HWPT_ALLOC", "dirty tracking", NULL);
    /* Unknown flags. */
    assert_false(vfi_iommufd_hwpt_alloc(f->be, dev0, ioas, 1u << 30,
                                            IOMMU_HWPT_DATA_NONE, 0, NULL, &out, &err));
    assert_kerr(&err, EOPNOTSUPP, "IOMMU_HWPT_ALLOC", NULL);
    /* Unknown pt id. */
    assert_false(vfi_iommufd_hwpt_alloc(f->be, dev0, ioas + 100, 0,
                                            IOMMU_HWPT_DATA_NONE, 0, NULL, &out, &err));
    assert_kerr(&err, ENOENT, "IOMMU_HWPT_ALLOC", NULL);
    assert_int_equal(out, 0x99);
    assert_int_equal(vfi_sim_live_objects(f->sim), objects);
}

static void alloc_hwpt_data_and_args(Fixture *f, uint32_t dev0, uint32_t ioas, uint32_t hwpt,
                                     unsigned objects)
{
    g_autoptr(GError) err = NULL;
    struct iommu_hwpt_alloc h;
    uint8_t data[32] = { 0 };
    uint32_t out = 0x99;
    uint64_t count;

    /* Driver data is passed through as a user pointer (the model has no
     * nesting: whatever it answers, check what it was given). */
    assert_false(vfi_iommufd_hwpt_alloc(f->be, dev0, hwpt, 0, IOMMU_HWPT_DATA_VTD_S1,
                                            sizeof(data), data, &out, &err));
    assert_non_null(err);
    assert_true(err->domain == VFI_KERNEL_ERROR);
    g_clear_error(&err);
    assert_int_equal(vfi_sim_last_ioctl(f->sim, NULL, &h, sizeof(h)), sizeof(h));
    assert_int_equal(h.pt_id, hwpt);
    assert_int_equal(h.data_type, IOMMU_HWPT_DATA_VTD_S1);
    assert_int_equal(h.data_len, sizeof(data));
    assert_int_equal(h.data_uptr, (uintptr_t)data);
    assert_int_equal(vfi_sim_live_objects(f->sim), objects);

    vfi_sim_fail_next(f->sim, VFI_SIM_OP_HWPT_ALLOC, ENOTTY);
    assert_false(vfi_iommufd_hwpt_alloc(f->be, dev0, ioas, 0, IOMMU_HWPT_DATA_NONE, 0,
                                            NULL, &out, &err));
    assert_kerr(&err, ENOTTY, "IOMMU_HWPT_ALLOC", "from Linux 6.6", NULL);

    count = vfi_sim_ioctl_count(f->sim);
    assert_false(vfi_iommufd_hwpt_alloc(f->be, dev0, ioas, 0, IOMMU_HWPT_DATA_NONE, 0,
                                            NULL, NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_iommufd_hwpt_alloc(f->be, dev0, ioas, 0, IOMMU_HWPT_DATA_VTD_S1, 8,
                                            NULL, &out, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), count);
    assert_int_equal(vfi_sim_live_objects(f->sim), objects);
    assert_int_equal(out, 0x99);
}

static void test_alloc_hwpt(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    struct iommu_hwpt_alloc h;
    unsigned long req = 0;
    uint32_t ioas = alloc_ioas(f->be);
    uint32_t dev0, dev1, hwpt, dirty;
    unsigned objects;
    int fd0, fd1;

    fd0 = bind_device(f->sim, "nic0", f->fd, &dev0);
    fd1 = bind_device(f->sim, "nic1", f->fd, &dev1);

    assert_ok(vfi_iommufd_hwpt_alloc(f->be, dev0, ioas, 0, IOMMU_HWPT_DATA_NONE, 0, NULL,
                                         &hwpt, &err), err);
    assert_true(vfi_sim_object_exists(f->sim, f->fd, hwpt));
    assert_int_equal(vfi_sim_last_ioctl(f->sim, &req, &h, sizeof(h)), sizeof(h));
    assert_int_equal(req, IOMMU_HWPT_ALLOC);
    assert_int_equal(h.size, sizeof(struct iommu_hwpt_alloc));
    assert_int_equal(h.flags, 0);
    assert_int_equal(h.dev_id, dev0);
    assert_int_equal(h.pt_id, ioas);
    assert_int_equal(h.data_type, IOMMU_HWPT_DATA_NONE);
    assert_int_equal(h.data_len, 0);
    assert_int_equal(h.data_uptr, 0);
    assert_int_equal(h.__reserved, 0);

    assert_ok(vfi_iommufd_hwpt_alloc(f->be, dev0, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
                                         IOMMU_HWPT_DATA_NONE, 0, NULL, &dirty, &err), err);
    assert_int_equal(vfi_sim_last_ioctl(f->sim, NULL, &h, sizeof(h)), sizeof(h));
    assert_int_equal(h.flags, IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
    assert_int_not_equal(dirty, hwpt);

    /* Dirty tracking behind an incapable IOMMU: EOPNOTSUPP, nothing made. */
    objects = vfi_sim_live_objects(f->sim);
    alloc_hwpt_refused(f, dev0, dev1, ioas, objects);
    alloc_hwpt_data_and_args(f, dev0, ioas, hwpt, objects);
    free_id(f->be, dirty);
    free_id(f->be, hwpt);
    free_id(f->be, ioas);
    assert_int_equal(vfi_kernel_close(fd1), 0);
    assert_int_equal(vfi_kernel_close(fd0), 0);
}

/* ---- dirty tracking ----------------------------------------------------- */

#define DIRTY_IOVA 0x100000ull

typedef struct DirtySetup {
    uint32_t ioas, hwpt, plain, devid;
    int devfd;
} DirtySetup;

/* nic0 attached to a dirty-tracking HWPT over an IOAS with 16 pages mapped;
 * plus a HWPT without dirty tracking. */
static void dirty_setup(Fixture *f, DirtySetup *d)
{
    g_autoptr(GError) err = NULL;

    d->ioas = alloc_ioas(f->be);
    assert_ok(vfi_iommufd_ioas_map(f->be, d->ioas, DIRTY_IOVA, sizeof(guest_ram),
                                      guest_ram, false, &err), err);
    d->devfd = bind_device(f->sim, "nic0", f->fd, &d->devid);
    assert_ok(vfi_iommufd_hwpt_alloc(f->be, d->devid, d->ioas,
                                         IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
                                         IOMMU_HWPT_DATA_NONE, 0, NULL, &d->hwpt, &err), err);
    assert_ok(vfi_iommufd_hwpt_alloc(f->be, d->devid, d->ioas, 0, IOMMU_HWPT_DATA_NONE,
                                         0, NULL, &d->plain, &err), err);
    attach_device(d->devfd, d->hwpt);
}

static void dirty_teardown(Fixture *f, DirtySetup *d)
{
    g_autoptr(GError) err = NULL;

    detach_device(d->devfd);
    assert_int_equal(vfi_kernel_close(d->devfd), 0);
    free_id(f->be, d->plain);
    free_id(f->be, d->hwpt);
    assert_ok(vfi_iommufd_ioas_unmap_all(f->be, d->ioas, NULL, &err), err);
    free_id(f->be, d->ioas);
}

static void mark_dirty(Fixture *f, uint32_t hwpt, unsigned page)
{
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_sim_hwpt_mark_dirty(f->sim, f->fd, hwpt, DIRTY_IOVA + page * PAGE, PAGE,
                                       &err), err);
}

static void test_set_dirty_tracking(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    struct iommu_hwpt_set_dirty_tracking s;
    unsigned long req = 0;
    DirtySetup d;

    dirty_setup(f, &d);
    assert_ok(vfi_iommufd_hwpt_set_dirty_tracking(f->be, d.hwpt, true, &err), err);
    assert_int_equal(vfi_sim_last_ioctl(f->sim, &req, &s, sizeof(s)), sizeof(s));
    assert_int_equal(req, IOMMU_HWPT_SET_DIRTY_TRACKING);
    assert_int_equal(s.size, sizeof(s));
    assert_int_equal(s.flags, IOMMU_HWPT_DIRTY_TRACKING_ENABLE);
    assert_int_equal(s.hwpt_id, d.hwpt);
    assert_int_equal(s.__reserved, 0);
    /* Twice is harmless. */
    assert_ok(vfi_iommufd_hwpt_set_dirty_tracking(f->be, d.hwpt, true, &err), err);

    assert_ok(vfi_iommufd_hwpt_set_dirty_tracking(f->be, d.hwpt, false, &err), err);
    assert_int_equal(vfi_sim_last_ioctl(f->sim, NULL, &s, sizeof(s)), sizeof(s));
    assert_int_equal(s.flags, 0);
    assert_int_equal(s.hwpt_id, d.hwpt);
    assert_ok(vfi_iommufd_hwpt_set_dirty_tracking(f->be, d.hwpt, false, &err), err);

    /* A HWPT without the flag: EINVAL or EOPNOTSUPP. */
    assert_false(vfi_iommufd_hwpt_set_dirty_tracking(f->be, d.plain, true, &err));
    assert_non_null(err);
    assert_true(err->domain == VFI_KERNEL_ERROR);
    assert_true(err->code == EINVAL || err->code == EOPNOTSUPP);
    assert_non_null(strstr(err->message, "IOMMU_HWPT_SET_DIRTY_TRACKING"));
    assert_non_null(strstr(err->message, "dirty tracking unsupported"));
    g_clear_error(&err);

    /* Unknown HWPT. */
    assert_false(vfi_iommufd_hwpt_set_dirty_tracking(f->be, d.hwpt + 100, true, &err));
    assert_kerr(&err, ENOENT, "IOMMU_HWPT_SET_DIRTY_TRACKING", NULL);

    vfi_sim_fail_next(f->sim, VFI_SIM_OP_HWPT_SET_DIRTY_TRACKING, ENOTTY);
    assert_false(vfi_iommufd_hwpt_set_dirty_tracking(f->be, d.hwpt, true, &err));
    assert_kerr(&err, ENOTTY, "IOMMU_HWPT_SET_DIRTY_TRACKING", "not supported by this kernel",
                "from Linux 6.7", NULL);

    dirty_teardown(f, &d);
}

static void check_last_bitmap(VfiSim *sim, uint32_t hwpt, uint64_t iova, uint64_t size,
                              uint64_t page_size, uint64_t *bitmap, uint32_t flags)
{
    struct iommu_hwpt_get_dirty_bitmap g;
    unsigned long req = 0;

    assert_int_equal(vfi_sim_last_ioctl(sim, &req, &g, sizeof(g)), sizeof(g));
    assert_int_equal(req, IOMMU_HWPT_GET_DIRTY_BITMAP);
    assert_int_equal(g.size, sizeof(g));
    assert_int_equal(g.hwpt_id, hwpt);
    assert_int_equal(g.flags, flags);
    assert_int_equal(g.__reserved, 0);
    assert_int_equal(g.iova, iova);
    assert_int_equal(g.length, size);
    assert_int_equal(g.page_size, page_size);
    assert_int_equal(g.data, (uintptr_t)bitmap);
}

static void test_get_dirty_bitmap(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    uint64_t bitmap[1];
    DirtySetup d;

    dirty_setup(f, &d);
    assert_ok(vfi_iommufd_hwpt_set_dirty_tracking(f->be, d.hwpt, true, &err), err);
    mark_dirty(f, d.hwpt, 1);
    mark_dirty(f, d.hwpt, 3);

    /* The kernel ORs into the buffer; NO_CLEAR keeps the dirty state. */
    bitmap[0] = 1ull << 10;
    assert_ok(vfi_iommufd_hwpt_get_dirty_bitmap(f->be, d.hwpt, DIRTY_IOVA, sizeof(guest_ram),
                                               PAGE, bitmap,
                                               IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, &err),
              err);
    check_last_bitmap(f->sim, d.hwpt, DIRTY_IOVA, sizeof(guest_ram), PAGE, bitmap,
                      IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
    assert_int_equal(bitmap[0], (1ull << 10) | (1ull << 1) | (1ull << 3));

    /* Still there; the default read clears it. */
    bitmap[0] = 0;
    assert_ok(vfi_iommufd_hwpt_get_dirty_bitmap(f->be, d.hwpt, DIRTY_IOVA, sizeof(guest_ram),
                                               PAGE, bitmap, 0, &err), err);
    check_last_bitmap(f->sim, d.hwpt, DIRTY_IOVA, sizeof(guest_ram), PAGE, bitmap, 0);
    assert_int_equal(bitmap[0], (1ull << 1) | (1ull << 3));
    bitmap[0] = 0;
    assert_ok(vfi_iommufd_hwpt_get_dirty_bitmap(f->be, d.hwpt, DIRTY_IOVA, sizeof(guest_ram),
                                               PAGE, bitmap, 0, &err), err);
    assert_int_equal(bitmap[0], 0);

    /* A sub-range: bit 0 is the page at iova. */
    mark_dirty(f, d.hwpt, 5);
    bitmap[0] = 0;
    assert_ok(vfi_iommufd_hwpt_get_dirty_bitmap(f->be, d.hwpt, DIRTY_IOVA + 4 * PAGE,
                                               4 * PAGE, PAGE, bitmap, 0, &err), err);
    assert_int_equal(bitmap[0], 1ull << 1);

    /* A HWPT without dirty tracking, an unknown HWPT. */
    bitmap[0] = 0;
    assert_false(vfi_iommufd_hwpt_get_dirty_bitmap(f->be, d.plain, DIRTY_IOVA, PAGE, PAGE,
                                                  bitmap, 0, &err));
    assert_kerr(&err, EOPNOTSUPP, "IOMMU_HWPT_GET_DIRTY_BITMAP", NULL);
    assert_false(vfi_iommufd_hwpt_get_dirty_bitmap(f->be, d.hwpt + 100, DIRTY_IOVA, PAGE,
                                                  PAGE, bitmap, 0, &err));
    assert_kerr(&err, ENOENT, "IOMMU_HWPT_GET_DIRTY_BITMAP", NULL);

    vfi_sim_fail_next(f->sim, VFI_SIM_OP_HWPT_GET_DIRTY_BITMAP, ENOTTY);
    assert_false(vfi_iommufd_hwpt_get_dirty_bitmap(f->be, d.hwpt, DIRTY_IOVA, PAGE, PAGE,
                                                  bitmap, 0, &err));
    assert_kerr(&err, ENOTTY, "IOMMU_HWPT_GET_DIRTY_BITMAP", "from Linux 6.7", NULL);
    assert_int_equal(bitmap[0], 0);

    assert_ok(vfi_iommufd_hwpt_set_dirty_tracking(f->be, d.hwpt, false, &err), err);
    dirty_teardown(f, &d);
}

static void test_get_dirty_bitmap_bad_args(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    uint64_t bitmap[1] = { 0x5a };
    uint64_t count;
    DirtySetup d;
    static const struct {
        uint64_t iova, size, page_size, flags;
        bool null_bitmap;
    } bad[] = {
        { DIRTY_IOVA, PAGE, PAGE, 0, true },                    /* NULL bitmap */
        { DIRTY_IOVA, PAGE, 0, 0, false },                      /* page_size 0 */
        { DIRTY_IOVA, 3 * PAGE, 3 * PAGE, 0, false },           /* not a power of 2 */
        { DIRTY_IOVA + 0x800, PAGE, PAGE, 0, false },           /* iova misaligned */
        { DIRTY_IOVA, PAGE + 0x800, PAGE, 0, false },           /* size misaligned */
        { DIRTY_IOVA, 0, PAGE, 0, false },                      /* size 0 */
        { UINT64_MAX - PAGE + 1, 2 * PAGE, PAGE, 0, false },    /* overflow */
        { DIRTY_IOVA, PAGE, PAGE, 2, false },                   /* unknown flag */
        { DIRTY_IOVA, PAGE, PAGE, 1ull << 32, false },          /* beyond u32 */
    };

    dirty_setup(f, &d);
    assert_ok(vfi_iommufd_hwpt_set_dirty_tracking(f->be, d.hwpt, true, &err), err);
    mark_dirty(f, d.hwpt, 0);
    count = vfi_sim_ioctl_count(f->sim);
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        assert_false(vfi_iommufd_hwpt_get_dirty_bitmap(f->be, d.hwpt, bad[i].iova,
                                                      bad[i].size, bad[i].page_size,
                                                      bad[i].null_bitmap ? NULL : bitmap,
                                                      bad[i].flags, &err));
        assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    }
    assert_int_equal(vfi_sim_ioctl_count(f->sim), count);
    assert_int_equal(bitmap[0], 0x5a);

    /* The dirty state was not consumed by any of them. */
    bitmap[0] = 0;
    assert_ok(vfi_iommufd_hwpt_get_dirty_bitmap(f->be, d.hwpt, DIRTY_IOVA, PAGE, PAGE, bitmap,
                                               0, &err), err);
    assert_int_equal(bitmap[0], 1);

    assert_ok(vfi_iommufd_hwpt_set_dirty_tracking(f->be, d.hwpt, false, &err), err);
    dirty_teardown(f, &d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_owned_fd_users),
        cmocka_unit_test(test_connect_open_fails),
        cmocka_unit_test(test_borrowed_fd),
        cmocka_unit_test(test_disconnect_unbalanced),
        cmocka_unit_test(test_null_backend),
        cmocka_unit_test(test_not_connected),
        cmocka_unit_test_setup_teardown(test_alloc_free_ioas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_unmap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_map_unmap_bad_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unmap_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iova_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alloc_hwpt, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_dirty_tracking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_dirty_bitmap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_dirty_bitmap_bad_args, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
