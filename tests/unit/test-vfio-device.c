/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VFIO cdev devices (hw/vfio/device.c) against the kernel model: finding the
 * cdev through sysfs, bind / attach / detach / info, and their failures.
 */
#include "test-common.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "vfio-iommufd/iommufd.h"
#include "vfio-iommufd/kernel.h"
#include "vfio-iommufd/device.h"
#include "util/kernel-internal.h"

static const char topology[] =
    "[iommu a]\ndirty-tracking=true\n"
    "[iommu b]\n"
    "[device nic0]\niommu=a\n"
    "[device nic1]\niommu=b\n"
    "[device vgpu0]\nmdev=true\n";

typedef struct Fixture {
    VfiSim *sim;
    VfiIommufd *be;
} Fixture;

static int setup(void **state)
{
    Fixture *f = g_new0(Fixture, 1);

    f->sim = test_sim_new(topology);
    f->be = vfi_iommufd_new();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;

    assert_int_equal(vfi_iommufd_users(f->be), 0);
    assert_ok(vfi_iommufd_free(f->be, &err), err);
    test_sim_free_clean(f->sim);
    g_free(f);
    return 0;
}

static char *resolved(const char *path)
{
    char *r = realpath(path, NULL);

    assert_non_null(r);
    return r;
}

/* The vfioN entry of a model device, read from its sysfs directory. */
static char *cdev_node(VfiSim *sim, const char *name)
{
    g_autofree char *dir = g_build_filename(vfi_sim_device_sysfs_path(sim, name),
                                            "vfio-dev", NULL);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *entry;

    assert_non_null(d);
    entry = g_dir_read_name(d);
    assert_non_null(entry);
    return g_build_filename("/dev/vfio/devices", entry, NULL);
}

static VfiDevice *open_dev(VfiSim *sim, const char *name)
{
    g_autoptr(GError) err = NULL;
    VfiDevice *dev = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(sim, name), &err);

    assert_ok(dev != NULL, err);
    return dev;
}

static VfiDevice *open_bound(Fixture *f, const char *name)
{
    g_autoptr(GError) err = NULL;
    VfiDevice *dev = open_dev(f->sim, name);

    assert_ok(vfi_device_bind(dev, f->be, &err), err);
    return dev;
}

/* The VMM's own user of the backend, and an IOAS. */
static uint32_t vmm_ioas(Fixture *f)
{
    g_autoptr(GError) err = NULL;
    uint32_t ioas = 0;

    assert_ok(vfi_iommufd_connect(f->be, &err), err);
    assert_ok(vfi_iommufd_ioas_alloc(f->be, &ioas, &err), err);
    assert_int_not_equal(ioas, 0);
    return ioas;
}

static void vmm_ioas_done(Fixture *f, uint32_t ioas)
{
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_iommufd_destroy(f->be, ioas, &err), err);
    vfi_iommufd_disconnect(f->be);
}

static size_t last_ioctl(VfiSim *sim, unsigned long expect_req, void *buf, size_t len)
{
    unsigned long req = 0;
    size_t n;

    memset(buf, 0xa5, len);
    n = vfi_sim_last_ioctl(sim, &req, buf, len);
    assert_int_equal(req, expect_req);
    return n;
}

/* ------------------------------------------------------------------------ */
/* opening                                                                  */

static void test_open_by_bdf(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    const char *bdf = vfi_sim_device_bdf(f->sim, "nic0");
    g_autofree char *real = resolved(vfi_sim_device_sysfs_path(f->sim, "nic0"));
    VfiDevice *dev;

    assert_non_null(bdf);
    dev = vfi_device_open_pci(bdf, &err);
    assert_ok(dev != NULL, err);
    assert_string_equal(vfi_device_get_name(dev), bdf);
    assert_string_equal(vfi_device_get_sysfs_path(dev), real);
    assert_true(vfi_device_get_fd(dev) >= 0);
    assert_false(vfi_device_is_mdev(dev));
    assert_false(vfi_device_is_bound(dev));
    assert_null(vfi_device_get_backend(dev));
    assert_int_equal(vfi_device_get_attached_pt(dev), 0);
    assert_int_equal(vfi_sim_open_fds(f->sim), 1);
    /* Opening needs no ioctl. */
    assert_int_equal(vfi_sim_ioctl_count(f->sim), 0);
    vfi_device_free(dev);
    assert_int_equal(vfi_sim_open_fds(f->sim), 0);
}

static void test_open_by_sysfs(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    const char *bdf = vfi_sim_device_bdf(f->sim, "nic1");
    g_autofree char *real = resolved(vfi_sim_device_sysfs_path(f->sim, "nic1"));
    g_autofree char *link = g_build_filename(vfi_kernel_sysfs_root(), "bus", "pci",
                                             "devices", bdf, NULL);
    VfiDevice *dev;

    dev = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(f->sim, "nic1"), &err);
    assert_ok(dev != NULL, err);
    assert_string_equal(vfi_device_get_name(dev), bdf);
    assert_string_equal(vfi_device_get_sysfs_path(dev), real);
    vfi_device_free(dev);

    /* Through the bus's symlink: the same device, the resolved path kept. */
    dev = vfi_device_open_sysfs(link, &err);
    assert_ok(dev != NULL, err);
    assert_string_equal(vfi_device_get_name(dev), bdf);
    assert_string_equal(vfi_device_get_sysfs_path(dev), real);
    assert_false(vfi_device_is_mdev(dev));
    vfi_device_free(dev);
    assert_int_equal(vfi_sim_open_fds(f->sim), 0);
}

static void test_open_mdev(void **state)
{
    Fixture *f = *state;
    const char *path = vfi_sim_device_sysfs_path(f->sim, "vgpu0");
    g_autofree char *base = g_path_get_basename(path);
    VfiDevice *dev;

    assert_null(vfi_sim_device_bdf(f->sim, "vgpu0"));
    dev = open_dev(f->sim, "vgpu0");
    assert_true(vfi_device_is_mdev(dev));
    assert_string_equal(vfi_device_get_name(dev), base);
    vfi_device_free(dev);

    dev = open_dev(f->sim, "nic0");
    assert_false(vfi_device_is_mdev(dev));
    vfi_device_free(dev);
}

static void test_open_by_fd(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    g_autofree char *node = cdev_node(f->sim, "nic0");
    g_autofree char *mnode = cdev_node(f->sim, "vgpu0");
    g_autofree char *name = NULL;
    g_autofree char *mbase = g_path_get_basename(vfi_sim_device_sysfs_path(f->sim, "vgpu0"));
    int fd = vfi_kernel_open(node, O_RDWR);
    int mfd = vfi_kernel_open(mnode, O_RDWR);
    VfiDevice *dev;

    assert_true(fd >= 0);
    assert_true(mfd >= 0);

    /* Without sysfs: named after the fd, physical. */
    dev = vfi_device_new_from_fd(fd, NULL, &err);
    assert_ok(dev != NULL, err);
    name = g_strdup_printf("fd%d", fd);
    assert_string_equal(vfi_device_get_name(dev), name);
    assert_int_equal(vfi_device_get_fd(dev), fd);
    assert_null(vfi_device_get_sysfs_path(dev));
    assert_false(vfi_device_is_mdev(dev));
    vfi_device_free(dev);
    /* Never closed by the library. */
    assert_int_equal(vfi_sim_open_fds(f->sim), 2);

    /* With sysfs: name and mdev-ness from there. */
    dev = vfi_device_new_from_fd(mfd, vfi_sim_device_sysfs_path(f->sim, "vgpu0"), &err);
    assert_ok(dev != NULL, err);
    assert_string_equal(vfi_device_get_name(dev), mbase);
    assert_true(vfi_device_is_mdev(dev));
    vfi_device_free(dev);
    assert_int_equal(vfi_sim_open_fds(f->sim), 2);

    /* A bound borrowed fd: our backend user is dropped, the fd stays open. */
    dev = vfi_device_new_from_fd(fd, vfi_sim_device_sysfs_path(f->sim, "nic0"), &err);
    assert_ok(dev != NULL, err);
    assert_string_equal(vfi_device_get_name(dev), vfi_sim_device_bdf(f->sim, "nic0"));
    assert_ok(vfi_device_bind(dev, f->be, &err), err);
    assert_int_equal(vfi_iommufd_users(f->be), 1);
    vfi_device_free(dev);
    assert_int_equal(vfi_iommufd_users(f->be), 0);
    assert_int_equal(vfi_sim_open_fds(f->sim), 2);

    /* Bad input. */
    assert_null(vfi_device_new_from_fd(-1, NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_null(vfi_device_new_from_fd(fd, "/etc", &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);

    assert_int_equal(vfi_kernel_close(fd), 0);
    assert_int_equal(vfi_kernel_close(mfd), 0);
}

static void test_malformed_address(void **state)
{
    Fixture *f = *state;
    static const char *const bad[] = {
        "", "0000:00:01", "0000:0:01.0", "000g:00:01.0", "0000:00:20.0", "0000:00:01.8",
        "0000:00:01.0x", "../../etc", "0000:00:01.0/..", " 0000:00:01.0", "00000:00:01.0",
        "0000-00:01.0", "0000:00:01:0", "0000:00:ff.0", "0000:00:01.-",
    };

    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;
        g_autofree char *expect = g_strdup_printf("malformed PCI address '%s'", bad[i]);

        assert_null(vfi_device_open_pci(bad[i], &err));
        assert_non_null(err);
        if (!g_error_matches(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT)) {
            fail_msg("'%s': %s", bad[i], err->message);
        }
        assert_non_null(strstr(err->message, expect));
    }
    {
        g_autoptr(GError) err = NULL;

        assert_null(vfi_device_open_pci(NULL, &err));
        assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
        assert_null(vfi_device_open_sysfs(NULL, &err));
        assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    }
    assert_int_equal(vfi_sim_ioctl_count(f->sim), 0);
    assert_int_equal(vfi_sim_open_fds(f->sim), 0);
}

static void test_unknown_bdf(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    g_autofree char *missing = g_build_filename(vfi_kernel_sysfs_root(), "bus", "pci",
                                                "devices", "0000:00:1e.7", NULL);

    assert_null(vfi_device_open_pci("0000:00:1e.7", &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_NOT_FOUND);
    assert_null(vfi_device_open_sysfs(missing, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_NOT_FOUND);
    assert_int_equal(vfi_sim_open_fds(f->sim), 0);
}

static void test_outside_sysfs(void **state)
{
    Fixture *f = *state;
    const char *root = vfi_kernel_sysfs_root();
    g_autofree char *up = g_build_filename(root, "..", "..", NULL);
    g_autofree char *file = g_build_filename(root, "not-a-dir", NULL);
    const char *const bad[] = { "/tmp", "/etc", "/", up, root, file };

    assert_string_equal(root, vfi_sim_sysfs_root(f->sim));
    assert_true(g_file_set_contents(file, "x", 1, NULL));
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;

        assert_null(vfi_device_open_sysfs(bad[i], &err));
        assert_non_null(err);
        if (!g_error_matches(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT)) {
            fail_msg("'%s': %s", bad[i], err->message);
        }
        assert_non_null(strstr(err->message, "is not a device directory inside sysfs"));
    }
    assert_int_equal(g_unlink(file), 0);
    assert_int_equal(vfi_sim_open_fds(f->sim), 0);
}

static void test_no_cdev(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_build_filename(vfi_kernel_sysfs_root(), "bus", "pci",
                                            "devices", "0000:00:1f.0", NULL);
    g_autofree char *vfio_dev = g_build_filename(dir, "vfio-dev", NULL);
    g_autofree char *other = g_build_filename(vfio_dev, "not-vfio", NULL);

    assert_int_equal(g_mkdir(dir, 0755), 0);

    /* No vfio-dev directory at all. */
    assert_null(vfi_device_open_pci("0000:00:1f.0", &err));
    assert_non_null(err);
    assert_non_null(strstr(err->message, "has no VFIO cdev"));
    assert_non_null(strstr(err->message, "0000:00:1f.0"));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_NOT_FOUND);
    assert_null(vfi_device_open_sysfs(dir, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_NOT_FOUND);

    /* An empty one, or one holding no vfioN entry. */
    assert_int_equal(g_mkdir(vfio_dev, 0755), 0);
    assert_null(vfi_device_open_sysfs(dir, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_NOT_FOUND);
    assert_int_equal(g_mkdir(other, 0755), 0);
    assert_null(vfi_device_open_sysfs(dir, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_NOT_FOUND);

    assert_int_equal(g_rmdir(other), 0);
    assert_int_equal(g_rmdir(vfio_dev), 0);
    assert_int_equal(g_rmdir(dir), 0);
    assert_int_equal(vfi_sim_open_fds(f->sim), 0);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), 0);
}

static void test_two_cdevs(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_build_filename(vfi_kernel_sysfs_root(), "bus", "pci",
                                            "devices", "0000:00:1f.1", NULL);
    g_autofree char *vfio_dev = g_build_filename(dir, "vfio-dev", NULL);
    g_autofree char *a = g_build_filename(vfio_dev, "vfio70", NULL);
    g_autofree char *b = g_build_filename(vfio_dev, "vfio71", NULL);

    assert_int_equal(g_mkdir_with_parents(a, 0755), 0);
    assert_int_equal(g_mkdir(b, 0755), 0);
    assert_null(vfi_device_open_pci("0000:00:1f.1", &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_HOST);

    /* One entry whose device node does not exist: the open's errno. */
    assert_int_equal(g_rmdir(b), 0);
    assert_null(vfi_device_open_pci("0000:00:1f.1", &err));
    assert_non_null(err);
    assert_non_null(strstr(err->message, "/dev/vfio/devices/vfio70"));
    assert_gerror(err, VFI_KERNEL_ERROR, ENOENT);

    assert_int_equal(g_rmdir(a), 0);
    assert_int_equal(g_rmdir(vfio_dev), 0);
    assert_int_equal(g_rmdir(dir), 0);
    assert_int_equal(vfi_sim_open_fds(f->sim), 0);
}

/* ------------------------------------------------------------------------ */
/* bind                                                                     */

static void test_bind(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    VfiDevice *dev = open_dev(f->sim, "nic0");
    VfiDevice *dev1 = open_dev(f->sim, "nic1");
    struct vfio_device_bind_iommufd arg;

    assert_ok(vfi_device_bind(dev, f->be, &err), err);
    assert_true(vfi_device_is_bound(dev));
    assert_ptr_equal(vfi_device_get_backend(dev), f->be);
    assert_int_not_equal(vfi_device_get_devid(dev), 0);
    assert_int_equal(vfi_iommufd_users(f->be), 1);
    assert_int_equal(last_ioctl(f->sim, VFIO_DEVICE_BIND_IOMMUFD, &arg, sizeof(arg)),
                     sizeof(arg));
    assert_int_equal(arg.argsz, sizeof(arg));
    assert_int_equal(arg.flags, 0);
    assert_int_equal(arg.iommufd, vfi_iommufd_get_fd(f->be));
    assert_true(vfi_sim_object_exists(f->sim, vfi_iommufd_get_fd(f->be),
                                       vfi_device_get_devid(dev)));

    /* A second device on the same backend: another user, another id. */
    assert_ok(vfi_device_bind(dev1, f->be, &err), err);
    assert_int_equal(vfi_iommufd_users(f->be), 2);
    assert_int_not_equal(vfi_device_get_devid(dev1), vfi_device_get_devid(dev));

    vfi_device_free(dev);
    assert_int_equal(vfi_iommufd_users(f->be), 1);
    vfi_device_free(dev1);
    assert_int_equal(vfi_iommufd_users(f->be), 0);
}

static void test_bind_twice(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    VfiDevice *dev = open_bound(f, "nic0");
    uint32_t devid = vfi_device_get_devid(dev);
    uint64_t n = vfi_sim_ioctl_count(f->sim);

    assert_false(vfi_device_bind(dev, f->be, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), n);
    assert_int_equal(vfi_iommufd_users(f->be), 1);
    assert_int_equal(vfi_device_get_devid(dev), devid);

    /* Bad arguments. */
    assert_false(vfi_device_bind(NULL, f->be, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    vfi_device_free(dev);
    dev = open_dev(f->sim, "nic0");
    assert_false(vfi_device_bind(dev, NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_device_is_bound(dev));
    vfi_device_free(dev);
}

static void test_bind_fails(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    VfiDevice *dev = open_dev(f->sim, "nic0");

    vfi_sim_fail_next(f->sim, VFI_SIM_OP_DEVICE_BIND, EFAULT);
    assert_false(vfi_device_bind(dev, f->be, &err));
    assert_non_null(err);
    assert_non_null(strstr(err->message, "VFIO_DEVICE_BIND_IOMMUFD"));
    assert_non_null(strstr(err->message, vfi_device_get_name(dev)));
    assert_gerror(err, VFI_KERNEL_ERROR, EFAULT);
    assert_false(vfi_device_is_bound(dev));
    assert_null(vfi_device_get_backend(dev));
    /* No user left behind: the backend's /dev/iommu is closed again. */
    assert_int_equal(vfi_iommufd_users(f->be), 0);
    assert_int_equal(vfi_sim_open_fds(f->sim), 1);
    assert_int_equal(vfi_sim_live_objects(f->sim), 0);

    /* Not supported by the kernel: the message names the version. */
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_DEVICE_BIND, ENOTTY);
    assert_false(vfi_device_bind(dev, f->be, &err));
    assert_non_null(err);
    assert_non_null(strstr(err->message, "6.6"));
    assert_gerror(err, VFI_KERNEL_ERROR, ENOTTY);
    assert_int_equal(vfi_iommufd_users(f->be), 0);

    /* Then it works. */
    assert_ok(vfi_device_bind(dev, f->be, &err), err);
    vfi_device_free(dev);
}

/* ------------------------------------------------------------------------ */
/* attach / detach                                                          */

static void test_attach_ioas(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    uint32_t ioas = vmm_ioas(f);
    VfiDevice *dev = open_bound(f, "nic0");
    struct vfio_device_attach_iommufd_pt arg;
    struct vfio_device_detach_iommufd_pt darg;
    uint32_t pt = 0;

    assert_ok(vfi_device_attach(dev, ioas, &pt, &err), err);
    assert_int_equal(last_ioctl(f->sim, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &arg, sizeof(arg)),
                     sizeof(arg));
    assert_int_equal(arg.argsz, sizeof(arg));
    assert_int_equal(arg.flags, 0);
    assert_int_equal(arg.pt_id, ioas);
    /* The kernel's auto domain, not the IOAS. */
    assert_int_not_equal(pt, 0);
    assert_int_not_equal(pt, ioas);
    assert_int_equal(vfi_device_get_attached_pt(dev), pt);
    assert_int_equal(vfi_sim_device_attached_pt(f->sim, "nic0"), pt);

    assert_ok(vfi_device_detach(dev, &err), err);
    assert_int_equal(last_ioctl(f->sim, VFIO_DEVICE_DETACH_IOMMUFD_PT, &darg, sizeof(darg)),
                     sizeof(darg));
    assert_int_equal(darg.argsz, sizeof(darg));
    assert_int_equal(darg.flags, 0);
    assert_int_equal(vfi_device_get_attached_pt(dev), 0);
    assert_int_equal(vfi_sim_device_attached_pt(f->sim, "nic0"), 0);

    /* Attach again (out pointer optional). */
    assert_ok(vfi_device_attach(dev, ioas, NULL, &err), err);
    assert_int_not_equal(vfi_device_get_attached_pt(dev), 0);
    assert_ok(vfi_device_detach(dev, &err), err);

    vfi_device_free(dev);
    vmm_ioas_done(f, ioas);
}

static void test_attach_hwpt_incompatible(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    uint32_t ioas = vmm_ioas(f);
    VfiDevice *nic0 = open_bound(f, "nic0");
    VfiDevice *nic1 = open_bound(f, "nic1");
    g_autofree char *devid_str = NULL;
    g_autofree char *pt_str = NULL;
    uint32_t hwpt = 0, pt = 0;

    assert_ok(vfi_iommufd_hwpt_alloc(f->be, vfi_device_get_devid(nic0), ioas, 0,
                                         IOMMU_HWPT_DATA_NONE, 0, NULL, &hwpt, &err), err);
    assert_ok(vfi_device_attach(nic0, hwpt, &pt, &err), err);
    assert_int_equal(pt, hwpt);
    assert_int_equal(vfi_sim_device_attached_pt(f->sim, "nic0"), hwpt);

    /* nic1 sits behind another IOMMU instance. */
    pt = 12345;
    assert_false(vfi_device_attach(nic1, hwpt, &pt, &err));
    assert_non_null(err);
    devid_str = g_strdup_printf("devid %u", vfi_device_get_devid(nic1));
    pt_str = g_strdup_printf("pt %u", hwpt);
    assert_non_null(strstr(err->message, vfi_device_get_name(nic1)));
    assert_non_null(strstr(err->message, devid_str));
    assert_non_null(strstr(err->message, pt_str));
    assert_gerror(err, VFI_KERNEL_ERROR, EINVAL);
    assert_int_equal(pt, 12345);
    assert_int_equal(vfi_device_get_attached_pt(nic1), 0);
    assert_int_equal(vfi_sim_device_attached_pt(f->sim, "nic1"), 0);

    /* The failure left nic1 usable: it attaches to the IOAS. */
    assert_ok(vfi_device_attach(nic1, ioas, &pt, &err), err);
    assert_int_not_equal(pt, hwpt);

    assert_ok(vfi_device_detach(nic0, &err), err);
    assert_ok(vfi_iommufd_destroy(f->be, hwpt, &err), err);
    vfi_device_free(nic0);
    vfi_device_free(nic1);
    vmm_ioas_done(f, ioas);
}

static void test_attach_wrong_state(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    uint32_t ioas = vmm_ioas(f);
    VfiDevice *dev = open_dev(f->sim, "nic0");
    uint32_t pt = 0, pt2 = 777;
    uint64_t n = vfi_sim_ioctl_count(f->sim);

    /* Unbound. */
    assert_false(vfi_device_attach(dev, ioas, &pt, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_false(vfi_device_detach(dev, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_false(vfi_device_attach(NULL, ioas, &pt, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_device_detach(NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), n);

    /* Bound, not attached. */
    assert_ok(vfi_device_bind(dev, f->be, &err), err);
    n = vfi_sim_ioctl_count(f->sim);
    assert_false(vfi_device_detach(dev, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), n);

    /* Attached: a second attach is refused. */
    assert_ok(vfi_device_attach(dev, ioas, &pt, &err), err);
    n = vfi_sim_ioctl_count(f->sim);
    assert_false(vfi_device_attach(dev, ioas, &pt2, &err));
    assert_non_null(err);
    assert_non_null(strstr(err->message, "detach first"));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_int_equal(pt2, 777);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), n);
    assert_int_equal(vfi_device_get_attached_pt(dev), pt);
    assert_int_equal(vfi_sim_device_attached_pt(f->sim, "nic0"), pt);

    /* Detached twice. */
    assert_ok(vfi_device_detach(dev, &err), err);
    assert_false(vfi_device_detach(dev, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);

    vfi_device_free(dev);
    vmm_ioas_done(f, ioas);
}

static void test_attach_faults(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    uint32_t ioas = vmm_ioas(f);
    VfiDevice *dev = open_bound(f, "nic0");
    uint32_t pt = 0;

    vfi_sim_fail_next(f->sim, VFI_SIM_OP_DEVICE_ATTACH, ENOTTY);
    assert_false(vfi_device_attach(dev, ioas, &pt, &err));
    assert_non_null(err);
    assert_non_null(strstr(err->message, "6.6"));
    assert_gerror(err, VFI_KERNEL_ERROR, ENOTTY);
    assert_int_equal(vfi_device_get_attached_pt(dev), 0);
    assert_int_equal(vfi_sim_device_attached_pt(f->sim, "nic0"), 0);

    /* An unknown pt id: the kernel's ENOENT. */
    assert_false(vfi_device_attach(dev, 0xdead, &pt, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, ENOENT);

    assert_ok(vfi_device_attach(dev, ioas, &pt, &err), err);
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_DEVICE_DETACH, ENOTTY);
    assert_false(vfi_device_detach(dev, &err));
    assert_non_null(err);
    assert_non_null(strstr(err->message, "6.6"));
    assert_gerror(err, VFI_KERNEL_ERROR, ENOTTY);
    /* Still attached. */
    assert_int_equal(vfi_device_get_attached_pt(dev), pt);
    assert_int_equal(vfi_sim_device_attached_pt(f->sim, "nic0"), pt);

    /* A detach failing in free does not stop the free (the close unbinds). */
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_DEVICE_DETACH, EIO);
    vfi_device_free(dev);
    assert_int_equal(vfi_sim_device_attached_pt(f->sim, "nic0"), 0);
    vmm_ioas_done(f, ioas);
}

static void test_mdev_attach(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    uint32_t ioas = vmm_ioas(f);
    VfiDevice *nic0 = open_bound(f, "nic0");
    VfiDevice *vgpu = open_bound(f, "vgpu0");
    uint32_t hwpt = 0, pt = 0;

    assert_ok(vfi_iommufd_hwpt_alloc(f->be, vfi_device_get_devid(nic0), ioas, 0,
                                         IOMMU_HWPT_DATA_NONE, 0, NULL, &hwpt, &err), err);

    /* An mdev attaches to the IOAS itself (an access object). */
    assert_ok(vfi_device_attach(vgpu, ioas, &pt, &err), err);
    assert_int_equal(pt, ioas);
    assert_int_equal(vfi_device_get_attached_pt(vgpu), ioas);
    assert_int_equal(vfi_sim_device_attached_pt(f->sim, "vgpu0"), ioas);
    assert_ok(vfi_device_detach(vgpu, &err), err);

    /* Not to a HWPT. */
    assert_false(vfi_device_attach(vgpu, hwpt, &pt, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, ENOENT);
    assert_int_equal(vfi_device_get_attached_pt(vgpu), 0);

    assert_ok(vfi_iommufd_destroy(f->be, hwpt, &err), err);
    vfi_device_free(vgpu);
    vfi_device_free(nic0);
    vmm_ioas_done(f, ioas);
}

/* ------------------------------------------------------------------------ */
/* info                                                                     */

static void test_get_info(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    VfiDevice *dev = open_dev(f->sim, "nic0");
    VfiDeviceInfo info = { 0 };
    struct vfio_device_info arg;
    uint64_t n = vfi_sim_ioctl_count(f->sim);

    assert_false(vfi_device_get_info(dev, &info, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_false(vfi_device_get_info(NULL, &info, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), n);

    assert_ok(vfi_device_bind(dev, f->be, &err), err);
    n = vfi_sim_ioctl_count(f->sim);
    assert_false(vfi_device_get_info(dev, NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), n);

    assert_ok(vfi_device_get_info(dev, &info, &err), err);
    assert_true(last_ioctl(f->sim, VFIO_DEVICE_GET_INFO, &arg, sizeof(arg)) >= 4);
    assert_int_equal(arg.argsz, sizeof(arg));
    assert_true(info.flags & VFIO_DEVICE_FLAGS_PCI);
    assert_int_equal(info.num_regions, VFIO_PCI_NUM_REGIONS);
    assert_int_equal(info.num_irqs, VFIO_PCI_NUM_IRQS);

    vfi_sim_fail_next(f->sim, VFI_SIM_OP_DEVICE_GET_INFO, EIO);
    memset(&info, 0x5a, sizeof(info));
    assert_false(vfi_device_get_info(dev, &info, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, EIO);
    assert_int_equal(info.flags, 0x5a5a5a5a);

    vfi_device_free(dev);
}

static void test_get_hw_info(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    VfiDevice *nic0 = open_dev(f->sim, "nic0");
    VfiDevice *nic1 = open_bound(f, "nic1");
    VfiDevice *vgpu = open_bound(f, "vgpu0");
    VfiHwInfo info = { 0 };
    uint64_t n = vfi_sim_ioctl_count(f->sim);

    assert_false(vfi_device_get_hw_info(nic0, &info, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_false(vfi_device_get_hw_info(NULL, &info, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), n);

    assert_ok(vfi_device_bind(nic0, f->be, &err), err);
    assert_ok(vfi_device_get_hw_info(nic0, &info, &err), err);
    assert_true(info.capabilities & IOMMU_HW_CAP_DIRTY_TRACKING);

    memset(&info, 0, sizeof(info));
    assert_ok(vfi_device_get_hw_info(nic1, &info, &err), err);
    assert_false(info.capabilities & IOMMU_HW_CAP_DIRTY_TRACKING);

    memset(&info, 0, sizeof(info));
    assert_false(vfi_device_get_hw_info(vgpu, &info, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, ENOENT);

    vfi_device_free(nic0);
    vfi_device_free(nic1);
    vfi_device_free(vgpu);
}

/* ------------------------------------------------------------------------ */
/* free                                                                     */

static void test_device_free(void **state)
{
    Fixture *f = *state;
    g_autoptr(GError) err = NULL;
    VfiDevice *dev;
    uint32_t ioas, pt = 0;

    vfi_device_free(NULL);

    /* Freed while attached and bound: detached, closed (unbound), user dropped. */
    ioas = vmm_ioas(f);
    dev = open_bound(f, "nic0");
    assert_ok(vfi_device_attach(dev, ioas, &pt, &err), err);
    assert_int_equal(vfi_iommufd_users(f->be), 2);
    vfi_device_free(dev);
    assert_int_equal(vfi_sim_device_attached_pt(f->sim, "nic0"), 0);
    assert_int_equal(vfi_iommufd_users(f->be), 1);
    /* Only the VMM's iommufd is left, holding only the IOAS. */
    assert_int_equal(vfi_sim_open_fds(f->sim), 1);
    assert_int_equal(vfi_sim_live_objects(f->sim), 1);
    vmm_ioas_done(f, ioas);

    /* A borrowed fd stays open (and bound), but is detached. */
    {
        g_autofree char *node = cdev_node(f->sim, "nic0");
        int fd = vfi_kernel_open(node, O_RDWR);
        uint64_t detaches;

        assert_true(fd >= 0);
        ioas = vmm_ioas(f);
        dev = vfi_device_new_from_fd(fd, NULL, &err);
        assert_ok(dev != NULL, err);
        assert_ok(vfi_device_bind(dev, f->be, &err), err);
        assert_ok(vfi_device_attach(dev, ioas, &pt, &err), err);
        detaches = vfi_sim_op_count(f->sim, VFI_SIM_OP_DEVICE_DETACH);
        vfi_device_free(dev);
        assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_DEVICE_DETACH), detaches + 1);
        assert_int_equal(vfi_sim_device_attached_pt(f->sim, "nic0"), 0);
        assert_int_equal(vfi_iommufd_users(f->be), 1);
        assert_int_equal(vfi_sim_open_fds(f->sim), 2);
        vmm_ioas_done(f, ioas);
        assert_int_equal(vfi_kernel_close(fd), 0);
        assert_int_equal(vfi_sim_open_fds(f->sim), 0);
        assert_int_equal(vfi_sim_live_objects(f->sim), 0);
    }

    /* Through g_autoptr. */
    {
        g_autoptr(VfiDevice) d = open_bound(f, "nic1");

        assert_int_equal(vfi_sim_open_fds(f->sim), 2);
    }
    assert_int_equal(vfi_sim_open_fds(f->sim), 0);
    assert_int_equal(vfi_iommufd_users(f->be), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_by_bdf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_by_sysfs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_mdev, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_by_fd, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_bdf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outside_sysfs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_cdev, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_cdevs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach_ioas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach_hwpt_incompatible, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach_wrong_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mdev_attach, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_hw_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_free, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
