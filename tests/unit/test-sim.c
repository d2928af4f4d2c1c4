/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the kernel model itself (sim/): driven through the ioctl
 * layer (vfi_kernel_open/close/ioctl) with raw UAPI structs, as the
 * library's own code does, errno by errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>
#include <glib/gstdio.h>

#include "config.h"
#include "test-common.h"
#include "vfio-iommufd/kernel.h"
#include "util/kernel-internal.h"

#define TOPOLOGY \
    "[iommu a]\n" \
    "dirty-tracking=true\n" \
    "[iommu b]\n" \
    "[device d1]\n" \
    "iommu=a\n" \
    "dma-logging=true\n" \
    "[device d2]\n" \
    "iommu=a\n" \
    "[device d3]\n" \
    "iommu=b\n" \
    "[device m1]\n" \
    "mdev=true\n" \
    "want-dirty-tracking=true\n"

#define UVA UINT64_C(0x7f0000000000)     /* never dereferenced by the model */
#define PAGE UINT64_C(4096)
#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)
#define RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)
#define BM_WORDS 4                       /* test_dirty_bitmap's bitmap */

/* ---- helpers ------------------------------------------------------------ */

static int io(int fd, unsigned long request, void *arg)
{
    return vfi_kernel_ioctl(fd, request, arg, "test");
}

static int iommufd_open(void)
{
    int fd = vfi_kernel_open("/dev/iommu", O_RDWR);

    assert_true(fd >= 0);
    return fd;
}

/* The cdev path of @name, found through sysfs as the library does. */
static char *cdev_path(VfiSim *sim, const char *name)
{
    g_autofree char *dir = g_build_filename(vfi_sim_device_sysfs_path(sim, name),
                                            "vfio-dev", NULL);
    GDir *d = g_dir_open(dir, 0, NULL);
    char *path;

    assert_non_null(d);
    path = g_strdup_printf("/dev/vfio/devices/%s", g_dir_read_name(d));
    assert_null(g_dir_read_name(d));
    g_dir_close(d);
    return path;
}

static int dev_open(VfiSim *sim, const char *name)
{
    g_autofree char *path = cdev_path(sim, name);
    int fd = vfi_kernel_open(path, O_RDWR);

    assert_true(fd >= 0);
    return fd;
}

static uint32_t ioas_alloc(int fd)
{
    struct iommu_ioas_alloc a = { .size = sizeof(a) };

    assert_int_equal(io(fd, IOMMU_IOAS_ALLOC, &a), 0);
    assert_int_not_equal(a.out_ioas_id, 0);
    return a.out_ioas_id;
}

static uint32_t bind(int devfd, int iommufd)
{
    struct vfio_device_bind_iommufd b = { .argsz = sizeof(b), .iommufd = iommufd };

    assert_int_equal(io(devfd, VFIO_DEVICE_BIND_IOMMUFD, &b), 0);
    return b.out_devid;
}

static int attach(int devfd, uint32_t *pt_id)
{
    struct vfio_device_attach_iommufd_pt a = { .argsz = sizeof(a), .pt_id = *pt_id };
    int rc = io(devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &a);

    *pt_id = a.pt_id;
    return rc;
}

static int detach(int devfd)
{
    struct vfio_device_detach_iommufd_pt d = { .argsz = sizeof(d) };

    return io(devfd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &d);
}

static int map(int fd, uint32_t ioas, uint32_t flags, uint64_t uva, uint64_t *iova,
               uint64_t len)
{
    struct iommu_ioas_map m = {
        .size = sizeof(m), .flags = flags, .ioas_id = ioas, .user_va = uva,
        .length = len, .iova = *iova,
    };
    int rc = io(fd, IOMMU_IOAS_MAP, &m);

    *iova = m.iova;
    return rc;
}

static int map_fixed(int fd, uint32_t ioas, uint64_t iova, uint64_t len)
{
    return map(fd, ioas, IOMMU_IOAS_MAP_FIXED_IOVA | RW, UVA, &iova, len);
}

static int unmap(int fd, uint32_t ioas, uint64_t iova, uint64_t *len)
{
    struct iommu_ioas_unmap u = { .size = sizeof(u), .ioas_id = ioas, .iova = iova,
                                  .length = *len };
    int rc = io(fd, IOMMU_IOAS_UNMAP, &u);

    *len = u.length;
    return rc;
}

static int destroy(int fd, uint32_t id)
{
    struct iommu_destroy d = { .size = sizeof(d), .id = id };

    return io(fd, IOMMU_DESTROY, &d);
}

static int hwpt_alloc(int fd, uint32_t dev_id, uint32_t pt_id, uint32_t flags, uint32_t *out)
{
    struct iommu_hwpt_alloc h = { .size = sizeof(h), .flags = flags, .dev_id = dev_id,
                                  .pt_id = pt_id };
    int rc = io(fd, IOMMU_HWPT_ALLOC, &h);

    if (out) {
        *out = h.out_hwpt_id;
    }
    return rc;
}

static int set_dirty(int fd, uint32_t hwpt, bool enable)
{
    struct iommu_hwpt_set_dirty_tracking s = {
        .size = sizeof(s), .hwpt_id = hwpt,
        .flags = enable ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
    };

    return io(fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &s);
}

static int get_dirty(int fd, uint32_t hwpt, uint64_t iova, uint64_t len, uint64_t page_size,
                     uint32_t flags, uint64_t *bitmap)
{
    struct iommu_hwpt_get_dirty_bitmap g = {
        .size = sizeof(g), .hwpt_id = hwpt, .flags = flags, .iova = iova, .length = len,
        .page_size = page_size, .data = (uintptr_t)bitmap,
    };

    return io(fd, IOMMU_HWPT_GET_DIRTY_BITMAP, &g);
}

static void dma(VfiSim *sim, const char *dev, uint64_t iova, uint64_t len)
{
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_sim_dma_write(sim, dev, iova, len, &err), err);
}

/* A model with TOPOLOGY, an iommufd, an IOAS and d1 bound and attached to a
 * dirty-tracking HWPT, 1 GiB mapped at 0. */
typedef struct Fixture {
    VfiSim *sim;
    int fd;
    uint32_t ioas;
    int d1;
    uint32_t d1_id;
    uint32_t hwpt;
} Fixture;

static void fixture_init(Fixture *f)
{
    uint32_t pt;

    f->sim = test_sim_new(TOPOLOGY);
    f->fd = iommufd_open();
    f->ioas = ioas_alloc(f->fd);
    f->d1 = dev_open(f->sim, "d1");
    f->d1_id = bind(f->d1, f->fd);
    assert_int_equal(hwpt_alloc(f->fd, f->d1_id, f->ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
                                &f->hwpt), 0);
    pt = f->hwpt;
    assert_int_equal(attach(f->d1, &pt), 0);
    assert_int_equal(pt, f->hwpt);
    assert_int_equal(map_fixed(f->fd, f->ioas, 0, GiB), 0);
}

static void fixture_fini(Fixture *f)
{
    assert_int_equal(vfi_kernel_close(f->d1), 0);
    assert_int_equal(vfi_kernel_close(f->fd), 0);
    test_sim_free_clean(f->sim);
}

/* ---- topology and sysfs ------------------------------------------------- */

static char *resolve(const char *path)
{
    char *r = realpath(path, NULL);

    assert_non_null(r);
    return r;
}

/* <dir>/<link> resolved, compared with <root>/<rel>. */
static void assert_link(const char *dir, const char *link, const char *root, const char *rel)
{
    g_autofree char *path = g_build_filename(dir, link, NULL);
    g_autofree char *got = resolve(path);
    g_autofree char *want = g_build_filename(root, rel, NULL);

    assert_string_equal(got, want);
}

/* PCI devices as Linux shows a device bound to vfio-pci: the driver link
 * and the driver's list, one IOMMU group each (kernel/iommu_groups), the
 * iommu link to their IOMMU instance (devices/virtual/iommu, class/iommu). */
static void test_topology_sysfs_links(void **state)
{
    VfiSim *sim = test_sim_new(TOPOLOGY);
    g_autofree char *root = resolve(vfi_sim_sysfs_root(sim));
    g_autofree char *d1 = resolve(vfi_sim_device_sysfs_path(sim, "d1"));
    g_autofree char *d3 = resolve(vfi_sim_device_sysfs_path(sim, "d3"));
    g_autofree char *m1 = resolve(vfi_sim_device_sysfs_path(sim, "m1"));
    g_autofree char *drv = g_build_filename(root, "bus/pci/drivers/vfio-pci", NULL);
    g_autofree char *grp = g_build_filename(root, "kernel/iommu_groups/2/devices", NULL);
    g_autofree char *cls = g_build_filename(root, "class/iommu", NULL);
    g_autofree char *mdrv = g_build_filename(m1, "driver", NULL);

    assert_link(d1, "driver", root, "bus/pci/drivers/vfio-pci");
    assert_link(drv, "0000:00:03.0", root, "devices/pci0000:00/0000:00:03.0");
    assert_link(d1, "iommu_group", root, "kernel/iommu_groups/0");
    assert_link(d3, "iommu_group", root, "kernel/iommu_groups/2");
    assert_link(grp, "0000:00:03.0", root, "devices/pci0000:00/0000:00:03.0");
    assert_link(d1, "iommu", root, "devices/virtual/iommu/a");
    assert_link(d3, "iommu", root, "devices/virtual/iommu/b");
    assert_link(cls, "a", root, "devices/virtual/iommu/a");
    assert_link(cls, "b", root, "devices/virtual/iommu/b");
    assert_false(g_file_test(mdrv, G_FILE_TEST_EXISTS));
    test_sim_free_clean(sim);
}

static void test_topology_sysfs(void **state)
{
    VfiSim *sim = test_sim_new(TOPOLOGY);
    g_autofree char *sub = NULL, *bus = NULL, *msub = NULL;
    g_autofree char *d1 = resolve(vfi_sim_device_sysfs_path(sim, "d1"));
    g_autofree char *m1 = resolve(vfi_sim_device_sysfs_path(sim, "m1"));
    g_autofree const char **names = NULL;
    g_autofree char *root = resolve(vfi_sim_sysfs_root(sim));
    g_autofree char *link = NULL, *path = NULL;
    unsigned n;

    names = vfi_sim_device_names(sim, &n);
    assert_int_equal(n, 4);
    assert_string_equal(names[0], "d1");
    assert_string_equal(names[3], "m1");
    assert_string_equal(vfi_sim_device_bdf(sim, "d1"), "0000:00:01.0");
    assert_string_equal(vfi_sim_device_bdf(sim, "d3"), "0000:00:03.0");
    assert_null(vfi_sim_device_bdf(sim, "m1"));
    assert_null(vfi_sim_device_sysfs_path(sim, "nope"));

    /* PCI: subsystem resolves to bus/pci, bus/pci/devices/BDF to the device */
    sub = g_build_filename(d1, "subsystem", NULL);
    link = resolve(sub);
    path = g_build_filename(root, "bus", "pci", NULL);
    assert_string_equal(link, path);
    g_clear_pointer(&link, g_free);
    g_clear_pointer(&path, g_free);
    bus = g_build_filename(root, "bus", "pci", "devices", "0000:00:01.0", NULL);
    link = resolve(bus);
    assert_string_equal(link, d1);
    g_clear_pointer(&link, g_free);
    path = g_build_filename(d1, "vfio-dev", "vfio0", NULL);
    assert_true(g_file_test(path, G_FILE_TEST_IS_DIR));
    g_clear_pointer(&path, g_free);

    /* mdev: subsystem resolves to bus/mdev */
    msub = g_build_filename(m1, "subsystem", NULL);
    link = resolve(msub);
    path = g_build_filename(root, "bus", "mdev", NULL);
    assert_string_equal(link, path);
    g_clear_pointer(&link, g_free);
    g_clear_pointer(&path, g_free);
    path = g_build_filename(root, "bus", "mdev", "devices",
                            "00000000-0000-0000-0000-000000000004", NULL);
    link = resolve(path);
    assert_string_equal(link, m1);
    g_clear_pointer(&link, g_free);

    test_sim_free_clean(sim);
    /* the tree is gone */
    assert_false(g_file_test(root, G_FILE_TEST_EXISTS));
}

static void assert_attr(const char *dir, const char *file, const char *want)
{
    g_autofree char *path = g_build_filename(dir, file, NULL);
    g_autofree char *text = NULL;

    assert_true(g_file_get_contents(path, &text, NULL, NULL));
    assert_string_equal(text, want);
}

/* PCI devices have sysfs vendor/device files (pci-id=, or the default);
 * an mdev has none. */
static void test_topology_pci_id(void **state)
{
    VfiSim *sim = test_sim_new("[iommu a]\n[device edu]\niommu=a\npci-id=1234:11E8\n"
                                "[device plain]\niommu=a\n[device m]\nmdev=true\n");
    g_autofree char *mv = g_build_filename(vfi_sim_device_sysfs_path(sim, "m"), "vendor", NULL);
    static const char *const bad[] = {
        "1234", "1234:11e", "1234:11e8:0", "0x12:11e8", "12 4:11e8", "+234:11e8", "g234:11e8",
        "",
    };

    assert_attr(vfi_sim_device_sysfs_path(sim, "edu"), "vendor", "0x1234\n");
    assert_attr(vfi_sim_device_sysfs_path(sim, "edu"), "device", "0x11e8\n");
    assert_attr(vfi_sim_device_sysfs_path(sim, "plain"), "vendor", "0x1b36\n");
    assert_attr(vfi_sim_device_sysfs_path(sim, "plain"), "device", "0x0005\n");
    assert_false(g_file_test(mv, G_FILE_TEST_EXISTS));
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;
        g_autofree char *topo = g_strdup_printf("[device x]\niommu=a\npci-id=%s\n", bad[i]);
        unsigned n;
        g_autofree const char **names = NULL;

        assert_false(vfi_sim_load_topology_data(sim, topo, &err));
        assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
        names = vfi_sim_device_names(sim, &n);
        assert_int_equal(n, 3);
    }
    {
        g_autoptr(GError) err = NULL;

        assert_false(vfi_sim_load_topology_data(sim, "[device y]\nmdev=true\npci-id=1234:11e8\n",
                                                 &err));
        assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    }
    test_sim_free_clean(sim);
}

static void test_topology_errors(void **state)
{
    g_autoptr(GError) err = NULL;
    VfiSim *sim = vfi_sim_new(&err);
    g_autofree char *file = NULL;
    unsigned n;
    g_autofree const char **names = NULL;

    assert_ok(sim != NULL, err);
    assert_false(vfi_sim_load_topology_data(sim, "[bus x]\n", &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_sim_load_topology_data(sim, "[device d]\niommu=none\n", &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_sim_load_topology_data(sim, "[device d]\ndma-logging=true\n", &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_sim_load_topology_data(sim, "[iommu a]\ndirty-tracking=maybe\n", &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_sim_load_topology_data(sim, "this is not a key file", &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_HOST);
    /* atomic: the good IOMMU and device before the bad one are not added */
    assert_false(vfi_sim_load_topology_data(sim, "[iommu a]\n[device x]\niommu=a\n"
                                             "[device y]\niommu=zz\n", &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    names = vfi_sim_device_names(sim, &n);
    assert_int_equal(n, 0);
    /* a device may name an IOMMU of a later section */
    assert_ok(vfi_sim_load_topology_data(sim, "[device x]\niommu=a\n[iommu a]\n", &err), err);
    /* duplicates */
    assert_false(vfi_sim_load_topology_data(sim, "[iommu a]\n", &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_sim_add_device(sim, "x", NULL, false, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_sim_add_device(sim, "y", "nope", false, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    /* from a file */
    assert_false(vfi_sim_load_topology(sim, "/nonexistent/topology.ini", &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_HOST);
    file = g_build_filename(g_get_tmp_dir(), "test-sim-topology.ini", NULL);
    assert_true(g_file_set_contents(file, "[device m]\nmdev=true\n", -1, NULL));
    assert_ok(vfi_sim_load_topology(sim, file, &err), err);
    g_unlink(file);
    assert_non_null(vfi_sim_device_sysfs_path(sim, "m"));
    vfi_sim_free(sim);
}

/* ---- fds ---------------------------------------------------------------- */

static void test_open_close(void **state)
{
    VfiSim *sim = test_sim_new(TOPOLOGY);
    uint32_t dummy = 0;
    int fd, dfd;

    assert_int_equal(vfi_kernel_open("/dev/vfio/devices/vfio99", O_RDWR), -ENOENT);
    assert_int_equal(vfi_kernel_open("/dev/vfio/devices/vfio", O_RDWR), -ENOENT);
    assert_int_equal(vfi_kernel_open("/dev/null", O_RDWR), -ENOENT);
    fd = iommufd_open();
    dfd = dev_open(sim, "d2");
    assert_int_equal(vfi_sim_open_fds(sim), 2);
    assert_int_equal(vfi_sim_live_objects_fd(sim, fd), 0);
    assert_int_equal(vfi_sim_live_objects_fd(sim, dfd), -1);
    assert_int_equal(io(fd, VFIO_DEVICE_GET_INFO, &dummy), -ENOTTY);
    assert_int_equal(io(9999, IOMMU_IOAS_ALLOC, &dummy), -EBADF);
    assert_int_equal(vfi_kernel_close(9999), -EBADF);
    assert_int_equal(vfi_kernel_close(dfd), 0);
    assert_int_equal(vfi_kernel_close(dfd), -EBADF);
    assert_int_equal(vfi_kernel_close(fd), 0);
    test_sim_free_clean(sim);
}

static void test_sizes(void **state)
{
    VfiSim *sim = test_sim_new(TOPOLOGY);
    int fd = iommufd_open();
    struct {
        struct iommu_ioas_alloc a;
        uint32_t extra[2];
    } big = { .a.size = sizeof(big) };

    struct iommu_ioas_alloc small = { .size = 8 };

    assert_int_equal(io(fd, IOMMU_IOAS_ALLOC, &small), -EINVAL);
    /* a larger struct with zero trailing bytes is accepted */
    assert_int_equal(io(fd, IOMMU_IOAS_ALLOC, &big), 0);
    assert_int_equal(big.a.out_ioas_id, 1);
    big.extra[1] = 1;
    assert_int_equal(io(fd, IOMMU_IOAS_ALLOC, &big), -E2BIG);
    small.size = sizeof(small);
    small.flags = 1;
    assert_int_equal(io(fd, IOMMU_IOAS_ALLOC, &small), -EOPNOTSUPP);
    assert_int_equal(vfi_kernel_close(fd), 0);
    test_sim_free_clean(sim);
}

/* ---- IOMMU_DESTROY ------------------------------------------------------ */

static void test_destroy(void **state)
{
    VfiSim *sim = test_sim_new(TOPOLOGY);
    int fd = iommufd_open();
    int d1 = dev_open(sim, "d1"), m1 = dev_open(sim, "m1");
    uint32_t ioas = ioas_alloc(fd), ioas2 = ioas_alloc(fd);
    uint32_t d1_id = bind(d1, fd), m1_id = bind(m1, fd);
    uint32_t hwpt, pt;

    assert_int_equal(destroy(fd, 777), -ENOENT);
    assert_int_equal(hwpt_alloc(fd, d1_id, ioas, 0, &hwpt), 0);
    assert_int_equal(destroy(fd, ioas), -EBUSY);       /* a HWPT is on it */
    pt = hwpt;
    assert_int_equal(attach(d1, &pt), 0);
    assert_int_equal(destroy(fd, hwpt), -EBUSY);       /* a device is attached */
    assert_int_equal(destroy(fd, d1_id), -EBUSY);      /* device bindings */
    assert_int_equal(destroy(fd, m1_id), -EBUSY);
    pt = ioas2;
    assert_int_equal(attach(m1, &pt), 0);
    assert_int_equal(destroy(fd, ioas2), -EBUSY);      /* an access is attached */
    assert_int_equal(detach(m1), 0);
    assert_int_equal(destroy(fd, ioas2), 0);
    assert_int_equal(detach(d1), 0);
    assert_int_equal(destroy(fd, hwpt), 0);
    assert_int_equal(destroy(fd, hwpt), -ENOENT);
    assert_int_equal(destroy(fd, ioas), 0);
    assert_int_equal(vfi_sim_live_objects_fd(sim, fd), 2);
    /* New objects get the lowest free id, as the kernel's xa_alloc(): the
     * first IOAS's, then the HWPT's (the real kernel in tests/vm agrees). */
    {
        uint32_t a = ioas_alloc(fd), b = ioas_alloc(fd);

        assert_int_equal(a, ioas);          /* 1 */
        assert_int_equal(b, ioas2);         /* 2, not after hwpt */
        assert_int_equal(destroy(fd, a), 0);
        assert_int_equal(destroy(fd, b), 0);
    }
    assert_int_equal(vfi_kernel_close(d1), 0);
    assert_int_equal(vfi_kernel_close(m1), 0);
    assert_int_equal(vfi_sim_live_objects(sim), 0);
    assert_int_equal(vfi_kernel_close(fd), 0);
    test_sim_free_clean(sim);
}

/* ---- IOAS --------------------------------------------------------------- */

/* A physical device attached (auto domain) restricts and aligns IOAS_MAP. */
static void ioas_map_with_domain(VfiSim *sim, int fd, uint32_t ioas, int d1)
{
    uint32_t pt = ioas;
    uint64_t iova;

    /* A physical device attached (auto domain): aperture, MSI window, 4096. */
    bind(d1, fd);
    assert_int_equal(attach(d1, &pt), 0);
    assert_int_equal(map_fixed(fd, ioas, 0, 100), -EINVAL);
    assert_int_equal(map_fixed(fd, ioas, 0x800, PAGE), -EINVAL);
    assert_int_equal(map_fixed(fd, ioas, 0xfee00000, PAGE), -EINVAL);    /* MSI window */
    assert_int_equal(map_fixed(fd, ioas, 0xfed00000, 2 * MiB), -EINVAL); /* runs into it */
    assert_int_equal(map_fixed(fd, ioas, UINT64_C(1) << 48, PAGE), -EINVAL);
    assert_int_equal(map_fixed(fd, ioas, 0xfef00000, PAGE), 0);          /* just above */
    assert_int_equal(map_fixed(fd, ioas, MiB, MiB), 0);
    assert_int_equal(map_fixed(fd, ioas, MiB + PAGE, PAGE), -EEXIST);
    assert_int_equal(map_fixed(fd, ioas, MiB - PAGE, 2 * PAGE), -EEXIST);
    assert_int_equal(vfi_sim_ioas_mapping_count(sim, fd, ioas), 2);

    /* kernel-chosen IOVA: the lowest free one from 4096 up, aligned */
    iova = 12345;
    assert_int_equal(map(fd, ioas, RW, UVA, &iova, PAGE), 0);
    assert_int_equal(iova, PAGE);
    assert_int_equal(map(fd, ioas, RW, UVA, &iova, 2 * PAGE), 0);
    assert_int_equal(iova, 2 * PAGE);
    assert_int_equal(map(fd, ioas, RW, UVA, &iova, MiB), 0);
    assert_int_equal(iova, 2 * MiB);
    assert_int_equal(map(fd, ioas, RW, UVA + 0x10, &iova, PAGE), -EINVAL);
    assert_int_equal(map(fd, ioas, RW, UVA, &iova, UINT64_C(1) << 47), 0);
    /* aligned as user_va (2^40) capped at the huge page size (2 MiB): the
     * first 2 MiB boundary past the page mapped at 0xfef00000 */
    assert_int_equal(iova, UINT64_C(0xff000000));
    assert_int_equal(map(fd, ioas, RW, UVA, &iova, UINT64_C(1) << 47), -ENOSPC);
    assert_int_equal(vfi_sim_ioas_mapping_count(sim, fd, ioas), 6);
    assert_int_equal(vfi_sim_ioas_mapping_count(sim, fd, 99), -1);
}

static void test_ioas_map(void **state)
{
    VfiSim *sim = test_sim_new(TOPOLOGY);
    int fd = iommufd_open();
    uint32_t ioas = ioas_alloc(fd);
    int d1 = dev_open(sim, "d1");
    uint64_t iova = 0, len;
    struct iommu_ioas_map m = { .size = sizeof(m), .ioas_id = ioas, .user_va = UVA,
                                .length = PAGE, .__reserved = 1 };

    assert_int_equal(map(fd, ioas, 1u << 7, UVA, &iova, PAGE), -EOPNOTSUPP);
    assert_int_equal(io(fd, IOMMU_IOAS_MAP, &m), -EOPNOTSUPP);
    assert_int_equal(map_fixed(fd, 99, 0, PAGE), -ENOENT);
    assert_int_equal(map_fixed(fd, ioas, 0, 0), -EINVAL);
    iova = 0;
    assert_int_equal(map(fd, ioas, IOMMU_IOAS_MAP_FIXED_IOVA | RW, 0, &iova, PAGE), -EFAULT);
    assert_int_equal(map_fixed(fd, ioas, UINT64_MAX - PAGE + 1, 2 * PAGE), -EOVERFLOW);

    /* No domain on the IOAS: a software table, all 64 bits, alignment 1. */
    assert_int_equal(map_fixed(fd, ioas, 0x800, 100), 0);
    assert_int_equal(map_fixed(fd, ioas, 0xfee00000, PAGE), 0);          /* MSI window */
    assert_int_equal(map_fixed(fd, ioas, UINT64_C(1) << 48, PAGE), 0);   /* above 2^48 */
    assert_int_equal(map_fixed(fd, ioas, UINT64_MAX - PAGE + 1, PAGE), 0);
    /* kernel-chosen IOVA: never 0 */
    assert_int_equal(map(fd, ioas, RW, UVA, &iova, PAGE), 0);
    assert_int_equal(iova, PAGE);
    assert_int_equal(vfi_sim_ioas_mapping_count(sim, fd, ioas), 5);
    len = UINT64_MAX;
    assert_int_equal(unmap(fd, ioas, 0, &len), 0);

    ioas_map_with_domain(sim, fd, ioas, d1);
    assert_int_equal(vfi_kernel_close(d1), 0);
    assert_int_equal(vfi_kernel_close(fd), 0);
    test_sim_free_clean(sim);
}

/* Ranges and alignment follow the IOAS's state; conflicting mappings make
 * domain creation and attaches fail with EADDRINUSE, changing nothing. */
static void get_ranges(int fd, uint32_t ioas, uint32_t *n, struct iommu_iova_range *out,
                       uint64_t *align)
{
    struct iommu_ioas_iova_ranges r = { .size = sizeof(r), .ioas_id = ioas, .num_iovas = 4,
                                        .allowed_iovas = (uintptr_t)out };

    assert_int_equal(io(fd, IOMMU_IOAS_IOVA_RANGES, &r), 0);
    *n = r.num_iovas;
    *align = r.out_iova_alignment;
}

static void assert_full_space(int fd, uint32_t ioas, uint64_t want_align)
{
    struct iommu_iova_range rg[4];
    uint32_t n;
    uint64_t align;

    get_ranges(fd, ioas, &n, rg, &align);
    assert_int_equal(n, 1);
    assert_int_equal(rg[0].start, 0);
    assert_int_equal(rg[0].last, UINT64_MAX);
    assert_int_equal(align, want_align);
}

/* Mappings no domain can hold: allocating or attaching one fails, changing nothing. */
static void iova_state_rejected_mappings(VfiSim *sim, int fd, uint32_t ioas, int d1, int m1,
                                         uint32_t d1_id)
{
    uint64_t objs, len;
    uint32_t pt;

    /* A mapping above the aperture: no domain can be added. */
    assert_int_equal(map_fixed(fd, ioas, UINT64_C(1) << 48, PAGE), 0);
    objs = vfi_sim_live_objects(sim);
    assert_int_equal(hwpt_alloc(fd, d1_id, ioas, 0, NULL), -EADDRINUSE);
    pt = ioas;
    assert_int_equal(attach(d1, &pt), -EADDRINUSE);     /* the auto domain */
    assert_int_equal(vfi_sim_live_objects(sim), objs);
    assert_int_equal(vfi_sim_device_attached_pt(sim, "d1"), 0);
    len = UINT64_MAX;
    assert_int_equal(unmap(fd, ioas, 0, &len), 0);

    /* A mapping not page aligned: no domain, no mdev. */
    assert_int_equal(map_fixed(fd, ioas, 0x800, 0x800), 0);
    assert_int_equal(hwpt_alloc(fd, d1_id, ioas, 0, NULL), -EADDRINUSE);
    pt = ioas;
    assert_int_equal(attach(m1, &pt), -EADDRINUSE);
    assert_int_equal(vfi_sim_live_objects(sim), objs);
    len = UINT64_MAX;
    assert_int_equal(unmap(fd, ioas, 0, &len), 0);
}

/* A domain on the IOAS (hwpt) narrows it to the aperture. */
static void iova_state_domain_aperture(VfiSim *sim, int fd, uint32_t ioas, int d1, int d2,
                                       uint32_t hwpt)
{
    struct iommu_iova_range rg[4];
    uint32_t n, pt;
    uint64_t align, objs, len;

    get_ranges(fd, ioas, &n, rg, &align);
    assert_int_equal(n, 1);
    assert_int_equal(rg[0].start, 0);
    assert_int_equal(rg[0].last, (UINT64_C(1) << 48) - 1);
    assert_int_equal(align, PAGE);
    /* ...but no physical device can attach over it. */
    objs = vfi_sim_live_objects(sim);
    pt = hwpt;
    assert_int_equal(attach(d1, &pt), -EADDRINUSE);
    pt = ioas;
    assert_int_equal(attach(d2, &pt), -EADDRINUSE);     /* auto-domain path too */
    assert_int_equal(vfi_sim_live_objects(sim), objs);
    assert_int_equal(vfi_sim_device_attached_pt(sim, "d1"), 0);
    assert_int_equal(vfi_sim_device_attached_pt(sim, "d2"), 0);
    len = PAGE;
    assert_int_equal(unmap(fd, ioas, 0xfee00000, &len), 0);
}

/* Attached physical devices reserve the MSI window; detaching gives it back. */
static void iova_state_msi_reserved(int fd, uint32_t ioas, int d1, int d2, int m1,
                                    uint32_t hwpt)
{
    struct iommu_iova_range rg[4];
    uint32_t n, pt;
    uint64_t align;

    /* Attached: the MSI window is reserved. */
    pt = hwpt;
    assert_int_equal(attach(d1, &pt), 0);
    get_ranges(fd, ioas, &n, rg, &align);
    assert_int_equal(n, 2);
    assert_int_equal(rg[0].last, 0xfedfffff);
    assert_int_equal(rg[1].start, 0xfef00000);
    assert_int_equal(rg[1].last, (UINT64_C(1) << 48) - 1);
    assert_int_equal(align, PAGE);
    assert_int_equal(map_fixed(fd, ioas, 0xfee00000, PAGE), -EINVAL);
    /* a second device's auto domain on the same IOAS: still two ranges */
    pt = ioas;
    assert_int_equal(attach(d2, &pt), 0);
    assert_int_not_equal(pt, hwpt);
    assert_int_equal(detach(d1), 0);
    get_ranges(fd, ioas, &n, rg, &align);
    assert_int_equal(n, 2);                             /* d2 still reserves it */
    assert_int_equal(detach(d2), 0);                    /* its auto domain goes */
    get_ranges(fd, ioas, &n, rg, &align);
    assert_int_equal(n, 1);                             /* hwpt still there */
    assert_int_equal(rg[0].last, (UINT64_C(1) << 48) - 1);
    assert_int_equal(align, PAGE);
    assert_int_equal(destroy(fd, hwpt), 0);
    assert_full_space(fd, ioas, PAGE);                  /* m1 still attached */
    assert_int_equal(detach(m1), 0);
    assert_full_space(fd, ioas, 1);
}

static void test_iova_state(void **state)
{
    VfiSim *sim = test_sim_new(TOPOLOGY);
    int fd = iommufd_open();
    uint32_t ioas = ioas_alloc(fd);
    int d1 = dev_open(sim, "d1"), d2 = dev_open(sim, "d2"), m1 = dev_open(sim, "m1");
    uint32_t d1_id = bind(d1, fd), d2_id = bind(d2, fd);
    uint32_t pt, hwpt = 0;

    bind(m1, fd);
    assert_full_space(fd, ioas, 1);

    iova_state_rejected_mappings(sim, fd, ioas, d1, m1, d1_id);

    /* An mdev: alignment 4096, no range restriction. */
    pt = ioas;
    assert_int_equal(attach(m1, &pt), 0);
    assert_full_space(fd, ioas, PAGE);
    assert_int_equal(map_fixed(fd, ioas, 0x800, PAGE), -EINVAL);
    assert_int_equal(map_fixed(fd, ioas, 0xfee00000, PAGE), 0);      /* MSI window: fine */

    /* A domain: the aperture applies; the MSI mapping may stay... */
    assert_int_equal(hwpt_alloc(fd, d1_id, ioas, 0, &hwpt), 0);
    iova_state_domain_aperture(sim, fd, ioas, d1, d2, hwpt);
    iova_state_msi_reserved(fd, ioas, d1, d2, m1, hwpt);
    (void)d2_id;

    assert_int_equal(vfi_kernel_close(d1), 0);
    assert_int_equal(vfi_kernel_close(d2), 0);
    assert_int_equal(vfi_kernel_close(m1), 0);
    assert_int_equal(vfi_kernel_close(fd), 0);
    test_sim_free_clean(sim);
}

static void test_ioas_unmap(void **state)
{
    VfiSim *sim = test_sim_new(TOPOLOGY);
    int fd = iommufd_open();
    uint32_t ioas = ioas_alloc(fd);
    uint64_t len;

    len = UINT64_MAX;
    assert_int_equal(unmap(fd, ioas, 0, &len), 0);     /* all of nothing */
    assert_int_equal(len, 0);
    len = PAGE;
    assert_int_equal(unmap(fd, 99, 0, &len), -ENOENT);
    len = 0;
    assert_int_equal(unmap(fd, ioas, 0, &len), -EINVAL);
    len = 2 * PAGE;
    assert_int_equal(unmap(fd, ioas, UINT64_MAX - PAGE + 1, &len), -EOVERFLOW);
    len = PAGE;
    assert_int_equal(unmap(fd, ioas, 0, &len), -ENOENT);

    assert_int_equal(map_fixed(fd, ioas, 0, 2 * PAGE), 0);
    assert_int_equal(map_fixed(fd, ioas, 4 * PAGE, PAGE), 0);
    assert_int_equal(map_fixed(fd, ioas, 8 * PAGE, 2 * PAGE), 0);
    /* cutting into a mapping */
    len = PAGE;
    assert_int_equal(unmap(fd, ioas, 0, &len), -ENOENT);
    len = PAGE;
    assert_int_equal(unmap(fd, ioas, PAGE, &len), -ENOENT);
    assert_int_equal(vfi_sim_ioas_mapping_count(sim, fd, ioas), 3);
    /* whole mappings with holes around them */
    len = 6 * PAGE;
    assert_int_equal(unmap(fd, ioas, 0, &len), 0);
    assert_int_equal(len, 3 * PAGE);
    assert_int_equal(vfi_sim_ioas_mapping_count(sim, fd, ioas), 1);
    assert_int_equal(map_fixed(fd, ioas, 0, PAGE), 0);
    len = UINT64_MAX;
    assert_int_equal(unmap(fd, ioas, 0, &len), 0);
    assert_int_equal(len, 3 * PAGE);
    assert_int_equal(vfi_sim_ioas_mapping_count(sim, fd, ioas), 0);
    assert_int_equal(vfi_kernel_close(fd), 0);
    test_sim_free_clean(sim);
}

static void test_iova_ranges(void **state)
{
    VfiSim *sim = test_sim_new(TOPOLOGY);
    int fd = iommufd_open();
    int d1 = dev_open(sim, "d1");
    struct iommu_iova_range ranges[4] = { 0 };
    struct iommu_ioas_iova_ranges r = { .size = sizeof(r), .ioas_id = ioas_alloc(fd) };
    uint32_t pt = r.ioas_id;

    /* No domain: one range, the whole 64-bit space, alignment 1. */
    assert_int_equal(io(fd, IOMMU_IOAS_IOVA_RANGES, &r), -EMSGSIZE);
    assert_int_equal(r.num_iovas, 1);
    r.allowed_iovas = (uintptr_t)ranges;
    assert_int_equal(io(fd, IOMMU_IOAS_IOVA_RANGES, &r), 0);
    assert_int_equal(r.num_iovas, 1);
    assert_int_equal(r.out_iova_alignment, 1);
    assert_int_equal(ranges[0].start, 0);
    assert_int_equal(ranges[0].last, UINT64_MAX);

    /* A physical device on an auto domain: two ranges. */
    bind(d1, fd);
    assert_int_equal(attach(d1, &pt), 0);
    memset(ranges, 0, sizeof(ranges));
    r.num_iovas = 0;
    r.allowed_iovas = 0;
    assert_int_equal(io(fd, IOMMU_IOAS_IOVA_RANGES, &r), -EMSGSIZE);
    assert_int_equal(r.num_iovas, 2);
    r.num_iovas = 1;
    r.allowed_iovas = (uintptr_t)ranges;
    assert_int_equal(io(fd, IOMMU_IOAS_IOVA_RANGES, &r), -EMSGSIZE);
    assert_int_equal(r.num_iovas, 2);
    assert_int_equal(ranges[0].last, 0xfedfffff);
    assert_int_equal(ranges[1].last, 0);
    r.num_iovas = 4;
    assert_int_equal(io(fd, IOMMU_IOAS_IOVA_RANGES, &r), 0);
    assert_int_equal(r.num_iovas, 2);
    assert_int_equal(r.out_iova_alignment, 4096);
    assert_int_equal(ranges[0].start, 0);
    assert_int_equal(ranges[1].start, 0xfef00000);
    assert_int_equal(ranges[1].last, (UINT64_C(1) << 48) - 1);
    r.ioas_id = 42;
    assert_int_equal(io(fd, IOMMU_IOAS_IOVA_RANGES, &r), -ENOENT);
    assert_int_equal(vfi_kernel_close(d1), 0);
    assert_int_equal(vfi_kernel_close(fd), 0);
    test_sim_free_clean(sim);
}

/* ---- GET_HW_INFO, HWPT_ALLOC ------------------------------------------- */

static void test_hw_info(void **state)
{
    VfiSim *sim = test_sim_new(TOPOLOGY);
    int fd = iommufd_open();
    int d1 = dev_open(sim, "d1"), d3 = dev_open(sim, "d3"), m1 = dev_open(sim, "m1");
    uint32_t d1_id = bind(d1, fd), d3_id = bind(d3, fd), m1_id = bind(m1, fd);
    uint8_t buf[64];
    struct iommu_hw_info_vtd vtd1, vtd3;
    struct iommu_hw_info h = { .size = sizeof(h), .dev_id = d1_id, .data_len = sizeof(buf),
                               .data_uptr = (uintptr_t)buf };

    memset(buf, 0xff, sizeof(buf));
    assert_int_equal(io(fd, IOMMU_GET_HW_INFO, &h), 0);
    assert_int_equal(h.out_data_type, IOMMU_HW_INFO_TYPE_INTEL_VTD);
    assert_int_equal(h.data_len, sizeof(struct iommu_hw_info_vtd));
    assert_int_equal(h.out_capabilities, IOMMU_HW_CAP_DIRTY_TRACKING);
    assert_int_equal(h.out_max_pasid_log2, 0);
    memcpy(&vtd1, buf, sizeof(vtd1));
    assert_int_not_equal(vtd1.cap_reg, 0);
    for (size_t i = sizeof(vtd1); i < sizeof(buf); i++) {
        assert_int_equal(buf[i], 0);        /* the rest zero-filled */
    }

    h.dev_id = d3_id;
    h.data_len = sizeof(vtd3);
    h.data_uptr = (uintptr_t)&vtd3;
    assert_int_equal(io(fd, IOMMU_GET_HW_INFO, &h), 0);
    assert_int_equal(h.out_capabilities, 0);
    assert_int_not_equal(vtd1.cap_reg, vtd3.cap_reg);

    h.dev_id = m1_id;
    assert_int_equal(io(fd, IOMMU_GET_HW_INFO, &h), -ENOENT);
    h.dev_id = ioas_alloc(fd);
    assert_int_equal(io(fd, IOMMU_GET_HW_INFO, &h), -ENOENT);
    h.dev_id = d1_id;
    h.flags = 2;                /* unknown to 6.12 and 7.3 alike */
    assert_int_equal(io(fd, IOMMU_GET_HW_INFO, &h), -EOPNOTSUPP);

    assert_int_equal(vfi_kernel_close(d1), 0);
    assert_int_equal(vfi_kernel_close(d3), 0);
    assert_int_equal(vfi_kernel_close(m1), 0);
    assert_int_equal(vfi_kernel_close(fd), 0);
    test_sim_free_clean(sim);
}

/* out_max_pasid_log2 from the device's setting (6.12 and 7.3 alike:
 * ilog2(dev->iommu->max_pasids)); 7.3's IOMMU_HW_INFO_FLAG_INPUT_TYPE. */
static void test_hw_info_pasid(void **state)
{
    VfiSim *sim = test_sim_new(TOPOLOGY);
    int fd = iommufd_open();
    int d1 = dev_open(sim, "d1"), d2 = dev_open(sim, "d2");
    uint32_t d1_id = bind(d1, fd), d2_id = bind(d2, fd);
    struct iommu_hw_info_vtd vtd;
    struct iommu_hw_info h = { .size = sizeof(h), .dev_id = d1_id, .data_len = sizeof(vtd),
                               .data_uptr = (uintptr_t)&vtd };
    g_autoptr(GError) err = NULL;

    assert_int_equal(io(fd, IOMMU_GET_HW_INFO, &h), 0);
    assert_int_equal(h.out_max_pasid_log2, 0);
    assert_ok(vfi_sim_set_device_max_pasid_log2(sim, "d1", 20, &err), err);
    assert_int_equal(io(fd, IOMMU_GET_HW_INFO, &h), 0);
    assert_int_equal(h.out_max_pasid_log2, 20);
    assert_int_equal(h.out_capabilities, IOMMU_HW_CAP_DIRTY_TRACKING);
    h.dev_id = d2_id;
    assert_int_equal(io(fd, IOMMU_GET_HW_INFO, &h), 0);
    assert_int_equal(h.out_max_pasid_log2, 0);
    assert_false(vfi_sim_set_device_max_pasid_log2(sim, "d1", 21, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_sim_set_device_max_pasid_log2(sim, "m1", 5, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_sim_set_device_max_pasid_log2(sim, "nope", 5, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
#if HAVE_IOMMU_HW_INFO_FLAG_INPUT_TYPE
    /* iommufd_get_hw_info(): in_data_type counts only with the flag; the
     * driver refuses a type other than the default or its own */
    h.dev_id = d1_id;
    h.in_data_type = IOMMU_HW_INFO_TYPE_ARM_SMMUV3;
    assert_int_equal(io(fd, IOMMU_GET_HW_INFO, &h), 0);        /* no flag: ignored */
    assert_int_equal(h.out_data_type, IOMMU_HW_INFO_TYPE_INTEL_VTD);
    h.flags = IOMMU_HW_INFO_FLAG_INPUT_TYPE;
    h.in_data_type = IOMMU_HW_INFO_TYPE_ARM_SMMUV3;
    assert_int_equal(io(fd, IOMMU_GET_HW_INFO, &h), -EOPNOTSUPP);
    h.in_data_type = IOMMU_HW_INFO_TYPE_INTEL_VTD;
    assert_int_equal(io(fd, IOMMU_GET_HW_INFO, &h), 0);
    assert_int_equal(h.out_data_type, IOMMU_HW_INFO_TYPE_INTEL_VTD);
    assert_int_equal(h.data_len, sizeof(struct iommu_hw_info_vtd));
    h.in_data_type = IOMMU_HW_INFO_TYPE_DEFAULT;
    assert_int_equal(io(fd, IOMMU_GET_HW_INFO, &h), 0);
    assert_int_equal(h.out_data_type, IOMMU_HW_INFO_TYPE_INTEL_VTD);
    /* the flag is checked before the device: an unknown one first */
    h.flags = IOMMU_HW_INFO_FLAG_INPUT_TYPE | 2;
    assert_int_equal(io(fd, IOMMU_GET_HW_INFO, &h), -EOPNOTSUPP);
    h.flags = IOMMU_HW_INFO_FLAG_INPUT_TYPE;
    h.in_data_type = IOMMU_HW_INFO_TYPE_ARM_SMMUV3;
    h.dev_id = 999;
    assert_int_equal(io(fd, IOMMU_GET_HW_INFO, &h), -ENOENT);
#else
    h.flags = 1;                /* 6.12: no flag known */
    assert_int_equal(io(fd, IOMMU_GET_HW_INFO, &h), -EOPNOTSUPP);
#endif
    assert_int_equal(vfi_kernel_close(d1), 0);
    assert_int_equal(vfi_kernel_close(d2), 0);
    assert_int_equal(vfi_kernel_close(fd), 0);
    test_sim_free_clean(sim);
}

/* Requests the model does not implement yet: ENOTTY (the kernel's answer
 * where it lacks them); other ATTACH/DETACH flags: EINVAL; a PASID attach
 * to an IOAS: EINVAL (test-viommu.c has the rest). */
static void test_not_modelled(void **state)
{
    VfiSim *sim = test_sim_new(TOPOLOGY);
    int fd = iommufd_open();
    int d1 = dev_open(sim, "d1");
    uint64_t zero[16] = { 0 };
    const unsigned long requests[] = {
        IOMMU_IOAS_COPY, IOMMU_OPTION,
    };
    struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at), .pt_id = ioas_alloc(fd) };
    struct vfio_device_detach_iommufd_pt de = { .argsz = sizeof(de) };

    for (size_t i = 0; i < G_N_ELEMENTS(requests); i++) {
        zero[0] = 64;           /* a size, as a caller would pass */
        assert_int_equal(io(fd, requests[i], zero), -ENOTTY);
    }
    bind(d1, fd);
    at.flags = 2;
    assert_int_equal(io(d1, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), -EINVAL);
    de.flags = 2;
    assert_int_equal(io(d1, VFIO_DEVICE_DETACH_IOMMUFD_PT, &de), -EINVAL);
#if HAVE_VFIO_DEVICE_ATTACH_PASID
    /* a PASID attach to an IOAS: its auto domain takes no PASID; a detach
     * of a PASID that is not attached does nothing (sim-viommu.c) */
    at.flags = VFIO_DEVICE_ATTACH_PASID;
    at.pasid = 1;
    assert_int_equal(io(d1, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), -EINVAL);
    de.flags = VFIO_DEVICE_DETACH_PASID;
    de.pasid = 1;
    assert_int_equal(io(d1, VFIO_DEVICE_DETACH_IOMMUFD_PT, &de), 0);
#endif
    assert_int_equal(vfi_sim_device_attached_pt(sim, "d1"), 0);
    at.flags = 0;
    assert_int_equal(io(d1, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), 0);
    assert_int_equal(vfi_kernel_close(d1), 0);
    assert_int_equal(vfi_kernel_close(fd), 0);
    test_sim_free_clean(sim);
}

static void test_hwpt_alloc(void **state)
{
    VfiSim *sim = test_sim_new(TOPOLOGY);
    int fd = iommufd_open();
    int d1 = dev_open(sim, "d1"), d3 = dev_open(sim, "d3"), m1 = dev_open(sim, "m1");
    uint32_t d1_id = bind(d1, fd), d3_id = bind(d3, fd), m1_id = bind(m1, fd);
    uint32_t ioas = ioas_alloc(fd), hwpt, out;
    struct iommu_hwpt_alloc h = { .size = sizeof(h), .dev_id = d1_id, .pt_id = ioas,
                                  .data_type = IOMMU_HWPT_DATA_VTD_S1 };

    assert_int_equal(hwpt_alloc(fd, d1_id, ioas, 1u << 9, NULL), -EOPNOTSUPP);
    assert_int_equal(hwpt_alloc(fd, d1_id, ioas, IOMMU_HWPT_ALLOC_NEST_PARENT, NULL),
                     -EOPNOTSUPP);
    assert_int_equal(hwpt_alloc(fd, d3_id, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, NULL),
                     -EOPNOTSUPP);
    assert_int_equal(hwpt_alloc(fd, m1_id, ioas, 0, NULL), -ENOENT);
    assert_int_equal(hwpt_alloc(fd, 99, ioas, 0, NULL), -ENOENT);
    assert_int_equal(hwpt_alloc(fd, d1_id, 99, 0, NULL), -ENOENT);
    assert_int_equal(io(fd, IOMMU_HWPT_ALLOC, &h), -EINVAL);    /* type without data */
    assert_int_equal(hwpt_alloc(fd, d1_id, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt), 0);
    assert_true(vfi_sim_object_exists(sim, fd, hwpt));
    /* a nested HWPT without data: EOPNOTSUPP (iommufd_hwpt_nested_alloc()) */
    assert_int_equal(hwpt_alloc(fd, d1_id, hwpt, 0, NULL), -EOPNOTSUPP);
    assert_int_equal(hwpt_alloc(fd, d3_id, ioas, 0, &out), 0);
    assert_int_equal(destroy(fd, ioas), -EBUSY);
    assert_int_equal(destroy(fd, hwpt), 0);
    assert_int_equal(destroy(fd, out), 0);
    assert_int_equal(destroy(fd, ioas), 0);

    assert_int_equal(vfi_kernel_close(d1), 0);
    assert_int_equal(vfi_kernel_close(d3), 0);
    assert_int_equal(vfi_kernel_close(m1), 0);
    assert_int_equal(vfi_kernel_close(fd), 0);
    test_sim_free_clean(sim);
}

/* ---- bind / attach / detach -------------------------------------------- */

static void test_bind(void **state)
{
    VfiSim *sim = test_sim_new(TOPOLOGY);
    int fd = iommufd_open();
    int d1 = dev_open(sim, "d1"), d1b = dev_open(sim, "d1");
    struct vfio_device_bind_iommufd b = { .argsz = sizeof(b), .iommufd = fd };
    struct vfio_device_info info = { .argsz = sizeof(info) };
    uint32_t pt = 1;

    /* nothing but BIND before binding */
    assert_int_equal(io(d1, VFIO_DEVICE_GET_INFO, &info), -EINVAL);
    assert_int_equal(attach(d1, &pt), -EINVAL);
    assert_int_equal(detach(d1), -EINVAL);
    b.argsz = 8;
    assert_int_equal(io(d1, VFIO_DEVICE_BIND_IOMMUFD, &b), -EINVAL);
    b.argsz = sizeof(b);
    b.flags = 1;
    assert_int_equal(io(d1, VFIO_DEVICE_BIND_IOMMUFD, &b), -EINVAL);
    b.flags = 0;
    b.iommufd = d1b;
    assert_int_equal(io(d1, VFIO_DEVICE_BIND_IOMMUFD, &b), -EBADF);
    b.iommufd = fd;
    assert_int_equal(io(d1, VFIO_DEVICE_BIND_IOMMUFD, &b), 0);
    assert_true(vfi_sim_object_exists(sim, fd, b.out_devid));
    assert_int_equal(io(d1, VFIO_DEVICE_BIND_IOMMUFD, &b), -EINVAL);   /* bound */
    assert_int_equal(io(d1b, VFIO_DEVICE_BIND_IOMMUFD, &b), -EINVAL);  /* other file */

    assert_int_equal(io(d1, VFIO_DEVICE_GET_INFO, &info), 0);
    assert_int_equal(info.flags, VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET);
    assert_int_equal(info.num_regions, VFIO_PCI_NUM_REGIONS);
    assert_int_equal(info.num_irqs, VFIO_PCI_NUM_IRQS);
    info.argsz = 8;
    assert_int_equal(io(d1, VFIO_DEVICE_GET_INFO, &info), -EINVAL);
    assert_int_equal(io(d1, VFIO_DEVICE_RESET, &info), -ENOTTY);

    /* closing the file unbinds: the other file may bind now */
    assert_int_equal(vfi_kernel_close(d1), 0);
    assert_int_equal(vfi_sim_live_objects(sim), 0);
    assert_int_equal(io(d1b, VFIO_DEVICE_BIND_IOMMUFD, &b), 0);
    assert_int_equal(vfi_kernel_close(d1b), 0);
    assert_int_equal(vfi_kernel_close(fd), 0);
    test_sim_free_clean(sim);
}

/* Unknown flags, a missing object and a device id are refused. */
static void attach_pt_arg_checks(int d1, uint32_t d1_id, uint32_t ioas)
{
    /* flags unknown to 6.12 and 7.3 alike (bit 0 is 7.3's PASID flag) */
    struct vfio_device_attach_iommufd_pt a = { .argsz = sizeof(a), .flags = 2, .pt_id = ioas };
    struct vfio_device_detach_iommufd_pt dt = { .argsz = sizeof(dt), .flags = 2 };
    uint32_t pt;

    assert_int_equal(io(d1, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &a), -EINVAL);
    assert_int_equal(io(d1, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt), -EINVAL);
    pt = 99;
    assert_int_equal(attach(d1, &pt), -ENOENT);
    pt = d1_id;
    assert_int_equal(attach(d1, &pt), -EINVAL);
}

static void test_attach_auto_domains(void **state)
{
    VfiSim *sim = test_sim_new(TOPOLOGY);
    int fd = iommufd_open();
    int d1 = dev_open(sim, "d1"), d2 = dev_open(sim, "d2"), d3 = dev_open(sim, "d3");
    uint32_t d1_id = bind(d1, fd);
    uint32_t ioas = ioas_alloc(fd), user, pt, auto_a, auto_b;

    bind(d2, fd);
    bind(d3, fd);
    attach_pt_arg_checks(d1, d1_id, ioas);

    /* a user HWPT on the IOAS is never reused by an IOAS attach */
    assert_int_equal(hwpt_alloc(fd, d1_id, ioas, 0, &user), 0);
    pt = ioas;
    assert_int_equal(attach(d1, &pt), 0);
    auto_a = pt;
    assert_int_not_equal(auto_a, ioas);
    assert_int_not_equal(auto_a, user);
    assert_int_equal(vfi_sim_device_attached_pt(sim, "d1"), auto_a);
    assert_int_equal(destroy(fd, auto_a), -EBUSY);
    /* same IOMMU instance: reused; another instance: a new one */
    pt = ioas;
    assert_int_equal(attach(d2, &pt), 0);
    assert_int_equal(pt, auto_a);
    pt = ioas;
    assert_int_equal(attach(d3, &pt), 0);
    auto_b = pt;
    assert_int_not_equal(auto_b, auto_a);
    /* a HWPT of another instance is refused */
    pt = user;
    assert_int_equal(attach(d3, &pt), -EINVAL);
    assert_int_equal(vfi_sim_device_attached_pt(sim, "d3"), auto_b);
    /* the auto domain dies with its last device */
    assert_int_equal(detach(d3), 0);
    assert_false(vfi_sim_object_exists(sim, fd, auto_b));
    assert_int_equal(detach(d3), 0);          /* not attached: nothing to do */
    assert_int_equal(vfi_sim_device_attached_pt(sim, "d3"), 0);
    /* replace: d1 and d2 move to the user HWPT, the auto domain goes */
    pt = user;
    assert_int_equal(attach(d1, &pt), 0);
    assert_int_equal(pt, user);
    assert_true(vfi_sim_object_exists(sim, fd, auto_a));
    pt = user;
    assert_int_equal(attach(d2, &pt), 0);
    assert_false(vfi_sim_object_exists(sim, fd, auto_a));
    assert_int_equal(destroy(fd, user), -EBUSY);
    /* closing the device fd detaches */
    assert_int_equal(vfi_kernel_close(d1), 0);
    assert_int_equal(vfi_kernel_close(d2), 0);
    assert_int_equal(destroy(fd, user), 0);
    assert_int_equal(vfi_kernel_close(d3), 0);
    assert_int_equal(vfi_kernel_close(fd), 0);
    test_sim_free_clean(sim);
}

static void test_dirty_hwpt_compat(void **state)
{
    VfiSim *sim = test_sim_new("[iommu a]\ndirty-tracking=true\n[device d1]\niommu=a\n");
    int fd = iommufd_open();
    int d1 = dev_open(sim, "d1");
    uint32_t d1_id = bind(d1, fd), ioas = ioas_alloc(fd), hwpt, pt;

    /* auto domains are never dirty-tracking, even for a capable IOMMU */
    pt = ioas;
    assert_int_equal(attach(d1, &pt), 0);
    assert_int_equal(set_dirty(fd, pt, true), -EOPNOTSUPP);
    assert_int_equal(vfi_sim_live_objects_fd(sim, fd), 3);
    /* replace with a dirty HWPT: the auto domain goes */
    assert_int_equal(hwpt_alloc(fd, d1_id, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &hwpt), 0);
    pt = hwpt;
    assert_int_equal(attach(d1, &pt), 0);
    assert_int_equal(vfi_sim_live_objects_fd(sim, fd), 3);
    assert_int_equal(set_dirty(fd, hwpt, true), 0);
    /* re-attaching to the same HWPT is a no-op */
    assert_int_equal(attach(d1, &pt), 0);
    assert_int_equal(pt, hwpt);
    assert_int_equal(vfi_kernel_close(d1), 0);
    assert_int_equal(vfi_kernel_close(fd), 0);
    test_sim_free_clean(sim);
}

static void test_mdev(void **state)
{
    VfiSim *sim = test_sim_new(TOPOLOGY);
    int fd = iommufd_open();
    int m1 = dev_open(sim, "m1"), d1 = dev_open(sim, "d1");
    uint32_t m1_id = bind(m1, fd), d1_id = bind(d1, fd);
    uint32_t ioas = ioas_alloc(fd), hwpt, pt;
    struct vfio_device_info info = { .argsz = sizeof(info) };

    assert_int_equal(hwpt_alloc(fd, d1_id, ioas, 0, &hwpt), 0);
    pt = hwpt;
    assert_int_equal(attach(m1, &pt), -ENOENT);
    pt = m1_id;
    assert_int_equal(attach(m1, &pt), -ENOENT);
    pt = ioas;
    assert_int_equal(attach(m1, &pt), 0);
    assert_int_equal(pt, ioas);
    assert_int_equal(vfi_sim_device_attached_pt(sim, "m1"), ioas);
    assert_int_equal(io(m1, VFIO_DEVICE_GET_INFO, &info), 0);
    assert_int_equal(info.flags, VFIO_DEVICE_FLAGS_PCI);
    assert_int_equal(detach(m1), 0);
    assert_int_equal(vfi_sim_device_attached_pt(sim, "m1"), 0);
    pt = ioas;
    assert_int_equal(attach(m1, &pt), 0);

    /* closing the iommufd while devices are bound keeps its objects alive */
    assert_int_equal(vfi_kernel_close(fd), 0);
    assert_int_equal(vfi_sim_live_objects(sim), 4);
    assert_int_equal(vfi_kernel_close(m1), 0);
    assert_int_equal(vfi_sim_live_objects(sim), 3);
    assert_int_equal(vfi_kernel_close(d1), 0);
    assert_int_equal(vfi_sim_live_objects(sim), 0);
    test_sim_free_clean(sim);
}

/* ---- dirty tracking ----------------------------------------------------- */

static void test_set_dirty_tracking(void **state)
{
    Fixture f;
    uint32_t plain;
    struct iommu_hwpt_set_dirty_tracking s = { .size = sizeof(s), .flags = 2 };

    fixture_init(&f);
    s.hwpt_id = f.hwpt;
    assert_int_equal(io(f.fd, IOMMU_HWPT_SET_DIRTY_TRACKING, &s), -EOPNOTSUPP);
    assert_int_equal(set_dirty(f.fd, 99, true), -ENOENT);
    assert_int_equal(set_dirty(f.fd, f.ioas, true), -ENOENT);
    assert_int_equal(hwpt_alloc(f.fd, f.d1_id, f.ioas, 0, &plain), 0);
    assert_int_equal(set_dirty(f.fd, plain, true), -EOPNOTSUPP);
    assert_int_equal(destroy(f.fd, plain), 0);
    assert_int_equal(set_dirty(f.fd, f.hwpt, false), 0);       /* already off */
    assert_int_equal(set_dirty(f.fd, f.hwpt, true), 0);
    assert_int_equal(set_dirty(f.fd, f.hwpt, true), 0);
    fixture_fini(&f);
}

static void dirty_bitmap_args(Fixture *f, uint64_t *bm)
{
    /* argument checks */
    assert_int_equal(get_dirty(f->fd, f->hwpt, 0, MiB, PAGE, 2, bm), -EOPNOTSUPP);
    assert_int_equal(get_dirty(f->fd, 99, 0, MiB, PAGE, 0, bm), -ENOENT);
    assert_int_equal(get_dirty(f->fd, f->hwpt, 0, 0, PAGE, 0, bm), -EINVAL);
    assert_int_equal(get_dirty(f->fd, f->hwpt, 0, MiB, 0, 0, bm), -EINVAL);
    assert_int_equal(get_dirty(f->fd, f->hwpt, UINT64_MAX - PAGE + 1, 2 * PAGE, PAGE, 0, bm),
                     -EOVERFLOW);
    assert_int_equal(get_dirty(f->fd, f->hwpt, 0x800, MiB, PAGE, 0, bm), -EINVAL);
    assert_int_equal(get_dirty(f->fd, f->hwpt, 0, MiB + 0x800, PAGE, 0, bm), -EINVAL);
    assert_int_equal(get_dirty(f->fd, f->hwpt, PAGE, 2 * MiB, 2 * MiB, 0, bm), -EINVAL);
    assert_int_equal(get_dirty(f->fd, f->hwpt, 0, MiB, PAGE, 0, NULL), -EFAULT);
}

static void dirty_bitmap_tracking_off(Fixture *f, uint64_t *bm)
{
    /* tracking off: the drivers' read_and_clear_dirty() refuse a read
     * (EINVAL), with or without NO_CLEAR, and the buffer is not touched */
    dma(f->sim, "d1", 0, PAGE);
    bm[0] = 0x5a;
    assert_int_equal(get_dirty(f->fd, f->hwpt, 0, MiB, PAGE, 0, bm), -EINVAL);
    assert_int_equal(get_dirty(f->fd, f->hwpt, 0, MiB, PAGE,
                               IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, bm), -EINVAL);
    assert_int_equal(bm[0], 0x5a);
    bm[0] = 0;
}

static void dirty_bitmap_or_and_clear(Fixture *f, uint64_t *bm)
{
    /* nothing was dirtied while tracking was off; bits are ORed in;
     * NO_CLEAR keeps them, a plain read clears them */
    assert_int_equal(set_dirty(f->fd, f->hwpt, true), 0);
    assert_int_equal(get_dirty(f->fd, f->hwpt, 0, MiB, PAGE, 0, bm), 0);
    assert_int_equal(bm[0], 0);
    dma(f->sim, "d1", PAGE, 1);
    dma(f->sim, "d1", 65 * PAGE, 2 * PAGE);
    bm[0] = UINT64_C(1) << 63;
    assert_int_equal(get_dirty(f->fd, f->hwpt, 0, MiB, PAGE,
                               IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, bm), 0);
    assert_int_equal(bm[0], (UINT64_C(1) << 63) | 2);
    assert_int_equal(bm[1], 6);
    memset(bm, 0, BM_WORDS * sizeof(bm[0]));
    assert_int_equal(get_dirty(f->fd, f->hwpt, 0, MiB, PAGE, 0, bm), 0);
    assert_int_equal(bm[0], 2);
    assert_int_equal(bm[1], 6);
    memset(bm, 0, BM_WORDS * sizeof(bm[0]));
    assert_int_equal(get_dirty(f->fd, f->hwpt, 0, MiB, PAGE, 0, bm), 0);
    assert_int_equal(bm[0], 0);
    assert_int_equal(bm[1], 0);
}

static void dirty_bitmap_page_sizes(Fixture *f, uint64_t *bm)
{
    /* a range not starting on a 64-page boundary */
    dma(f->sim, "d1", 70 * PAGE, PAGE);
    dma(f->sim, "d1", 130 * PAGE, PAGE);
    assert_int_equal(get_dirty(f->fd, f->hwpt, 3 * PAGE, MiB, PAGE, 0, bm), 0);
    assert_int_equal(bm[0], 0);
    assert_int_equal(bm[1], (UINT64_C(1) << (67 - 64)) | (UINT64_C(1) << (127 - 64)));
    memset(bm, 0, BM_WORDS * sizeof(bm[0]));

    /* 2 MiB pages: a dirty 4 KiB page makes its 2 MiB page dirty */
    dma(f->sim, "d1", 2 * MiB + 5 * PAGE, PAGE);
    dma(f->sim, "d1", 9 * MiB, 3 * MiB);
    assert_int_equal(get_dirty(f->fd, f->hwpt, 0, 16 * MiB, 2 * MiB, 0, bm), 0);
    assert_int_equal(bm[0], (1u << 1) | (1u << 4) | (1u << 5));

    /* pages smaller than 4 KiB (the kernel accepts them when the range is
     * aligned to the IOAS alignment): a dirty 4 KiB page sets its sub-pages */
    memset(bm, 0, BM_WORDS * sizeof(bm[0]));
    dma(f->sim, "d1", 3 * PAGE, PAGE);
    assert_int_equal(get_dirty(f->fd, f->hwpt, 0x800, 8 * PAGE, 2048, 0, bm), -EINVAL);
    assert_int_equal(get_dirty(f->fd, f->hwpt, 0, 8 * PAGE, 3000, 0, bm), -EINVAL);
    assert_int_equal(get_dirty(f->fd, f->hwpt, 0, 8 * PAGE, 2048,
                               IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR, bm), 0);
    assert_int_equal(bm[0], 3u << 6);
    memset(bm, 0, BM_WORDS * sizeof(bm[0]));
    assert_int_equal(get_dirty(f->fd, f->hwpt, 0, 8 * PAGE, 1024, 0, bm), 0);
    assert_int_equal(bm[0], 0xfu << 12);
    memset(bm, 0, BM_WORDS * sizeof(bm[0]));
    assert_int_equal(get_dirty(f->fd, f->hwpt, 0, 8 * PAGE, 1024, 0, bm), 0);
    assert_int_equal(bm[0], 0);
}

static void dirty_bitmap_reenable_unmap(Fixture *f, uint64_t *bm)
{
    /* enabling again starts from a clean state */
    dma(f->sim, "d1", 0, PAGE);
    assert_int_equal(set_dirty(f->fd, f->hwpt, true), 0);
    memset(bm, 0, BM_WORDS * sizeof(bm[0]));
    assert_int_equal(get_dirty(f->fd, f->hwpt, 0, MiB, PAGE, 0, bm), 0);
    assert_int_equal(bm[0], 0);

    /* unmapping drops dirty state */
    dma(f->sim, "d1", 0, PAGE);
    {
        uint64_t len = UINT64_MAX;

        assert_int_equal(unmap(f->fd, f->ioas, 0, &len), 0);
        assert_int_equal(len, GiB);
    }
    assert_int_equal(get_dirty(f->fd, f->hwpt, 0, MiB, PAGE, 0, bm), 0);
    assert_int_equal(bm[0], 0);
}

static void dirty_bitmap_test_control(Fixture *f, uint64_t *bm)
{
    g_autoptr(GError) err = NULL;

    /* the test control marks pages whether tracking is on or not; reading
     * needs it on, and enabling starts from a clean state */
    assert_int_equal(set_dirty(f->fd, f->hwpt, false), 0);
    assert_ok(vfi_sim_hwpt_mark_dirty(f->sim, f->fd, f->hwpt, 4 * PAGE, PAGE, &err), err);
    assert_false(vfi_sim_hwpt_mark_dirty(f->sim, f->fd, f->ioas, 0, PAGE, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(get_dirty(f->fd, f->hwpt, 0, MiB, PAGE, 0, bm), -EINVAL);
    assert_int_equal(set_dirty(f->fd, f->hwpt, true), 0);
    assert_int_equal(get_dirty(f->fd, f->hwpt, 0, MiB, PAGE, 0, bm), 0);
    assert_int_equal(bm[0], 0);
    assert_ok(vfi_sim_hwpt_mark_dirty(f->sim, f->fd, f->hwpt, 4 * PAGE, PAGE, &err), err);
    assert_int_equal(get_dirty(f->fd, f->hwpt, 0, MiB, PAGE, 0, bm), 0);
    assert_int_equal(bm[0], 1u << 4);
    /* off again: refused again */
    assert_int_equal(set_dirty(f->fd, f->hwpt, false), 0);
    assert_int_equal(get_dirty(f->fd, f->hwpt, 0, MiB, PAGE, 0, bm), -EINVAL);
}

static void test_dirty_bitmap(void **state)
{
    Fixture f;
    uint64_t bm[BM_WORDS] = { 0 };

    fixture_init(&f);
    dirty_bitmap_args(&f, bm);
    dirty_bitmap_tracking_off(&f, bm);
    dirty_bitmap_or_and_clear(&f, bm);
    dirty_bitmap_page_sizes(&f, bm);
    dirty_bitmap_reenable_unmap(&f, bm);
    dirty_bitmap_test_control(&f, bm);
    fixture_fini(&f);
}

static void test_dirty_large(void **state)
{
    Fixture f;
    const uint64_t len = UINT64_C(64) * GiB;
    const uint64_t words = len / PAGE / 64;
    g_autofree uint64_t *bm = g_new0(uint64_t, words);
    g_autoptr(GError) err = NULL;
    uint64_t pages[] = { 0, 63, 64, 262143, 262144, 262145, 1000000, len / PAGE - 1 };
    uint64_t set = 0;

    fixture_init(&f);
    assert_int_equal(set_dirty(f.fd, f.hwpt, true), 0);     /* reads need it on */
    for (size_t i = 0; i < G_N_ELEMENTS(pages); i++) {
        assert_ok(vfi_sim_hwpt_mark_dirty(f.sim, f.fd, f.hwpt, pages[i] * PAGE, PAGE, &err),
                  err);
    }
    /* a whole chunk dirty */
    assert_ok(vfi_sim_hwpt_mark_dirty(f.sim, f.fd, f.hwpt, 10 * GiB, GiB, &err), err);
    assert_int_equal(get_dirty(f.fd, f.hwpt, 0, len, PAGE, 0, bm), 0);
    for (size_t i = 0; i < G_N_ELEMENTS(pages); i++) {
        assert_true(bm[pages[i] / 64] & (UINT64_C(1) << (pages[i] % 64)));
    }
    for (uint64_t w = 0; w < words; w++) {
        set += __builtin_popcountll(bm[w]);
    }
    assert_int_equal(set, G_N_ELEMENTS(pages) + GiB / PAGE);
    /* 1 GiB pages */
    memset(bm, 0, 8);
    assert_int_equal(get_dirty(f.fd, f.hwpt, 0, len, PAGE, 0, bm), 0);
    assert_int_equal(bm[0], 0);     /* cleared by the first read */
    assert_ok(vfi_sim_hwpt_mark_dirty(f.sim, f.fd, f.hwpt, 3 * GiB + PAGE, PAGE, &err), err);
    assert_int_equal(get_dirty(f.fd, f.hwpt, 0, len, GiB, 0, bm), 0);
    assert_int_equal(bm[0], 1u << 3);
    fixture_fini(&f);
}

static void test_dma_write(void **state)
{
    Fixture f;
    g_autoptr(GError) err = NULL;
    uint64_t iova = 2 * GiB;
    int d2;

    fixture_init(&f);
    assert_false(vfi_sim_dma_write(f.sim, "nope", 0, PAGE, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_sim_dma_write(f.sim, "d1", GiB - PAGE, 2 * PAGE, &err));  /* unmapped */
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_sim_dma_write(f.sim, "d1", 0, 0, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(map(f.fd, f.ioas, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE,
                         UVA, &iova, PAGE), 0);
    assert_false(vfi_sim_dma_write(f.sim, "d1", iova, PAGE, &err));  /* read-only */
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    /* adjacent mappings cover a range together */
    assert_int_equal(map_fixed(f.fd, f.ioas, GiB, GiB), 0);
    dma(f.sim, "d1", GiB - PAGE, 2 * PAGE);
    d2 = dev_open(f.sim, "d2");
    assert_false(vfi_sim_dma_write(f.sim, "d2", 0, PAGE, &err));     /* not bound */
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    bind(d2, f.fd);
    assert_false(vfi_sim_dma_write(f.sim, "d2", 0, PAGE, &err));     /* not attached */
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfi_kernel_close(d2), 0);
    fixture_fini(&f);
}

/* ---- device DMA logging ------------------------------------------------- */

typedef struct {
    struct vfio_device_feature f;
    union {
        struct vfio_device_feature_dma_logging_control ctl;
        struct vfio_device_feature_dma_logging_report rep;
    };
} Feature;

static int feature(int devfd, uint32_t flags, Feature *ft)
{
    ft->f.argsz = sizeof(*ft);
    ft->f.flags = flags;
    return io(devfd, VFIO_DEVICE_FEATURE, ft);
}

static void dma_logging_probe(const Fixture *f, int d2)
{
    const uint32_t SET = VFIO_DEVICE_FEATURE_SET, GET = VFIO_DEVICE_FEATURE_GET;
    const uint32_t PROBE = VFIO_DEVICE_FEATURE_PROBE;
    Feature ft = { 0 };

    /* probing */
    assert_int_equal(feature(f->d1, PROBE | SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START, &ft),
                     0);
    assert_int_equal(feature(f->d1, PROBE | GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START, &ft),
                     -EINVAL);
    assert_int_equal(feature(d2, PROBE | SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START, &ft),
                     -ENOTTY);
    assert_int_equal(feature(f->d1, PROBE | SET | VFIO_DEVICE_FEATURE_MIGRATION, &ft), -ENOTTY);
    assert_int_equal(feature(f->d1, GET | SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START, &ft),
                     -EINVAL);
}

static void dma_logging_start_checks(const Fixture *f, Feature *ft,
                                     const struct vfio_device_feature_dma_logging_range *ranges)
{
    const uint32_t SET = VFIO_DEVICE_FEATURE_SET;

    /* start: argument checks */
    ft->ctl = (struct vfio_device_feature_dma_logging_control) {
        .page_size = PAGE, .num_ranges = 0, .ranges = (uintptr_t)ranges,
    };
    assert_int_equal(feature(f->d1, SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START, ft), -EINVAL);
    ft->ctl.num_ranges = 257;
    assert_int_equal(feature(f->d1, SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START, ft), -E2BIG);
    ft->ctl.num_ranges = 2;
    ft->ctl.page_size = 1000;
    assert_int_equal(feature(f->d1, SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START, ft), -EINVAL);
    ft->ctl.page_size = PAGE;
    assert_int_equal(feature(f->d1, SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START, ft), 0);
    assert_int_equal(feature(f->d1, SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START, ft), -EBUSY);
}

static void test_dma_logging(void **state)
{
    Fixture f;
    Feature ft = { 0 };
    struct vfio_device_feature_dma_logging_range ranges[2] = {
        { .iova = 0, .length = 2 * MiB },
        { .iova = 4 * MiB, .length = 2 * MiB },
    };
    uint64_t bm[2] = { 0 };
    const uint32_t SET = VFIO_DEVICE_FEATURE_SET, GET = VFIO_DEVICE_FEATURE_GET;
    int d2;

    fixture_init(&f);
    d2 = dev_open(f.sim, "d2");
    bind(d2, f.fd);

    dma_logging_probe(&f, d2);
    /* report before start, stop before start */
    ft.rep = (struct vfio_device_feature_dma_logging_report) {
        .iova = 0, .length = 8 * MiB, .page_size = PAGE, .bitmap = (uintptr_t)bm,
    };
    assert_int_equal(feature(f.d1, GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, &ft), -EINVAL);
    assert_int_equal(feature(f.d1, SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, &ft), 0);

    dma_logging_start_checks(&f, &ft, ranges);
    /* writes inside the logged ranges are logged, the others not */
    dma(f.sim, "d1", PAGE, PAGE);
    dma(f.sim, "d1", 3 * MiB, PAGE);
    dma(f.sim, "d1", 4 * MiB, PAGE);
    ft.rep = (struct vfio_device_feature_dma_logging_report) {
        .iova = 0, .length = 8 * MiB, .page_size = 2 * MiB, .bitmap = (uintptr_t)bm,
    };
    assert_int_equal(feature(f.d1, GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, &ft), 0);
    assert_int_equal(bm[0], (1u << 0) | (1u << 2));
    bm[0] = 0;
    assert_int_equal(feature(f.d1, GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, &ft), 0);
    assert_int_equal(bm[0], 0);     /* reading cleared it */
    ft.rep.page_size = 100;
    assert_int_equal(feature(f.d1, GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, &ft), -EINVAL);

    /* stop; a report is refused again */
    assert_int_equal(feature(f.d1, SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, &ft), 0);
    ft.rep.page_size = PAGE;
    assert_int_equal(feature(f.d1, GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, &ft), -EINVAL);
    assert_int_equal(vfi_kernel_close(d2), 0);
    fixture_fini(&f);
}

/* ---- fault injection, counters, last ioctl ----------------------------- */

static void test_faults(void **state)
{
    VfiSim *sim = test_sim_new(TOPOLOGY);
    int fd = iommufd_open();
    struct iommu_ioas_alloc a = { .size = sizeof(a) };
    struct iommu_ioas_alloc rec;
    unsigned long req = 0;
    uint64_t before = vfi_sim_ioctl_count(sim);

    vfi_sim_fail_nth(sim, 2, ENOMEM);
    assert_int_equal(io(fd, IOMMU_IOAS_ALLOC, &a), 0);
    a.out_ioas_id = 0;
    assert_int_equal(io(fd, IOMMU_IOAS_ALLOC, &a), -ENOMEM);
    assert_int_equal(a.out_ioas_id, 0);
    assert_int_equal(vfi_sim_live_objects_fd(sim, fd), 1);
    assert_int_equal(io(fd, IOMMU_IOAS_ALLOC, &a), 0);
    assert_int_equal(vfi_sim_op_count(sim, VFI_SIM_OP_IOAS_ALLOC), 3);
    assert_int_equal(vfi_sim_ioctl_count(sim) - before, 3);

    vfi_sim_fail_next(sim, VFI_SIM_OP_DESTROY, EIO);
    assert_int_equal(io(fd, IOMMU_IOAS_ALLOC, &a), 0);
    assert_int_equal(destroy(fd, a.out_ioas_id), -EIO);
    assert_true(vfi_sim_object_exists(sim, fd, a.out_ioas_id));
    assert_int_equal(destroy(fd, a.out_ioas_id), 0);
    assert_int_equal(vfi_sim_op_count(sim, VFI_SIM_OP_DESTROY), 2);

    vfi_sim_fail_next(sim, VFI_SIM_OP_IOAS_ALLOC, EIO);
    vfi_sim_fail_nth(sim, 5, EIO);
    vfi_sim_fail_clear(sim);
    assert_int_equal(io(fd, IOMMU_IOAS_ALLOC, &a), 0);

    /* the record is the argument before the model wrote its outputs */
    a.out_ioas_id = 0;
    assert_int_equal(io(fd, IOMMU_IOAS_ALLOC, &a), 0);
    assert_int_not_equal(a.out_ioas_id, 0);
    memset(&rec, 0xaa, sizeof(rec));
    assert_int_equal(vfi_sim_last_ioctl(sim, &req, &rec, sizeof(rec)), sizeof(a));
    assert_int_equal(req, IOMMU_IOAS_ALLOC);
    assert_int_equal(rec.size, sizeof(a));
    assert_int_equal(rec.out_ioas_id, 0);
    assert_int_equal(io(fd, 0x1234, &a), -ENOTTY);
    assert_int_equal(vfi_sim_op_count(sim, VFI_SIM_OP_OTHER), 1);
    assert_int_equal(vfi_kernel_close(fd), 0);
    test_sim_free_clean(sim);
}

static void test_free_with_open_fds(void **state)
{
    VfiSim *sim = test_sim_new(TOPOLOGY);
    int fd = iommufd_open();
    int d1 = dev_open(sim, "d1");
    uint32_t pt = ioas_alloc(fd);

    bind(d1, fd);
    assert_int_equal(attach(d1, &pt), 0);
    assert_int_equal(map_fixed(fd, 1, 0, MiB), 0);
    /* vfi_sim_free closes everything (checked by ASan / valgrind) */
    vfi_sim_free(sim);
    assert_true(vfi_kernel_is_linux());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_topology_sysfs),
        cmocka_unit_test(test_topology_sysfs_links),
        cmocka_unit_test(test_topology_errors),
        cmocka_unit_test(test_topology_pci_id),
        cmocka_unit_test(test_open_close),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_destroy),
        cmocka_unit_test(test_ioas_map),
        cmocka_unit_test(test_ioas_unmap),
        cmocka_unit_test(test_iova_ranges),
        cmocka_unit_test(test_iova_state),
        cmocka_unit_test(test_hw_info),
        cmocka_unit_test(test_hw_info_pasid),
        cmocka_unit_test(test_not_modelled),
        cmocka_unit_test(test_hwpt_alloc),
        cmocka_unit_test(test_bind),
        cmocka_unit_test(test_attach_auto_domains),
        cmocka_unit_test(test_dirty_hwpt_compat),
        cmocka_unit_test(test_mdev),
        cmocka_unit_test(test_set_dirty_tracking),
        cmocka_unit_test(test_dirty_bitmap),
        cmocka_unit_test(test_dirty_large),
        cmocka_unit_test(test_dma_write),
        cmocka_unit_test(test_dma_logging),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_free_with_open_fds),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
