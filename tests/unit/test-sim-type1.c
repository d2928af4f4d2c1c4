/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Unit tests of the kernel model's VFIO groups and type1 container
 * (sim/sim-type1.c), driven through the ioctl layer with raw UAPI structs:
 * the rules of drivers/vfio/group.c, container.c and vfio_iommu_type1.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "test-common.h"
#include "util/kernel-internal.h"

/* d0 and d1 share group 7; solo alone; m an mdev */
static const char topology[] =
    "[iommu a]\n"
    "[device d0]\niommu=a\niommu-group=7\n"
    "[device d1]\niommu=a\niommu-group=7\n"
    "[device solo]\niommu=a\n"
    "[device m]\nmdev=true\n";

#define PG 4096ull

static int kioctl(int fd, unsigned long request, void *arg)
{
    return vfi_kernel_ioctl(fd, request, arg, "test");
}

static int kioctl_int(int fd, unsigned long request, unsigned long v)
{
    return vfi_kernel_ioctl(fd, request, (void *)(uintptr_t)v, "test");
}

/* The group number of device @name, read from its sysfs iommu_group link. */
static unsigned group_of(VfiSim *sim, const char *name)
{
    g_autofree char *link = g_build_filename(vfi_sim_device_sysfs_path(sim, name),
                                             "iommu_group", NULL);
    g_autofree char *target = g_file_read_link(link, NULL);

    assert_non_null(target);
    return (unsigned)strtoul(strrchr(target, '/') + 1, NULL, 10);
}

static int open_group(VfiSim *sim, const char *name)
{
    g_autofree char *path = g_strdup_printf("/dev/vfio/%u", group_of(sim, name));

    return vfi_kernel_open(path, O_RDWR);
}

static int set_container(int group, int container)
{
    return kioctl(group, VFIO_GROUP_SET_CONTAINER, &container);
}

static int map(int c, uint64_t iova, uint64_t size, void *va)
{
    struct vfio_iommu_type1_dma_map m = {
        .argsz = sizeof(m), .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
        .vaddr = (uintptr_t)va, .iova = iova, .size = size,
    };

    return kioctl(c, VFIO_IOMMU_MAP_DMA, &m);
}

static int unmap(int c, uint64_t iova, uint64_t size, uint64_t *unmapped)
{
    struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof(u), .iova = iova, .size = size };
    int rc = kioctl(c, VFIO_IOMMU_UNMAP_DMA, &u);

    *unmapped = u.size;
    return rc;
}

static int dirty(int c, uint32_t flag)
{
    struct vfio_iommu_type1_dirty_bitmap d = { .argsz = sizeof(d), .flags = flag };

    return kioctl(c, VFIO_IOMMU_DIRTY_PAGES, &d);
}

static int get_bitmap(int c, uint64_t iova, uint64_t size, uint64_t pgsize, uint64_t *bits,
                      uint64_t bytes)
{
    uint8_t buf[sizeof(struct vfio_iommu_type1_dirty_bitmap) +
                sizeof(struct vfio_iommu_type1_dirty_bitmap_get)];
    struct vfio_iommu_type1_dirty_bitmap d = {
        .argsz = sizeof(buf), .flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
    };
    struct vfio_iommu_type1_dirty_bitmap_get r = {
        .iova = iova, .size = size,
        .bitmap = { .pgsize = pgsize, .size = bytes, .data = (void *)bits },
    };

    memcpy(buf, &d, sizeof(d));
    memcpy(buf + sizeof(d), &r, sizeof(r));
    return kioctl(c, VFIO_IOMMU_DIRTY_PAGES, buf);
}

/* A bound cdev blocks its group, an open group the bind of a cdev; the
 * group stays open (its fd returned). */
static int group_vs_cdev(VfiSim *sim)
{
    struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
    int g, cdev, iommufd;

    /* a cdev of the group bound: the group does not open */
    iommufd = vfi_kernel_open("/dev/iommu", O_RDWR);
    bind.iommufd = iommufd;
    cdev = vfi_kernel_open("/dev/vfio/devices/vfio1", O_RDWR);
    assert_true(cdev >= 0);
    assert_int_equal(kioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, &bind), 0);
    assert_int_equal(open_group(sim, "d0"), -EBUSY);
    assert_int_equal(vfi_kernel_close(cdev), 0);
    g = open_group(sim, "d0");
    assert_true(g >= 0);
    assert_int_equal(open_group(sim, "d1"), -EBUSY);
    /* a cdev opens while its group is open, but does not bind */
    cdev = vfi_kernel_open("/dev/vfio/devices/vfio0", O_RDWR);
    assert_true(cdev >= 0);
    assert_int_equal(kioctl(cdev, VFIO_DEVICE_BIND_IOMMUFD, &bind), -EBUSY);
    assert_int_equal(vfi_kernel_close(cdev), 0);
    assert_int_equal(vfi_kernel_close(iommufd), 0);
    return g;
}

/* Groups: one open, cdev blocking, viability, SET/UNSET_CONTAINER rules. */
static void test_group_rules(void **state)
{
    VfiSim *sim = test_sim_new(topology);
    struct vfio_group_status st = { .argsz = sizeof(st) };
    int g, c, other;

    (void)state;
    assert_int_equal(group_of(sim, "d0"), 7);
    assert_int_equal(group_of(sim, "d1"), 7);
    assert_int_equal(group_of(sim, "m"), 1000 + 3);
    assert_int_equal(vfi_kernel_open("/dev/vfio/99", O_RDWR), -ENOENT);
    g = group_vs_cdev(sim);
    assert_int_equal(kioctl(g, VFIO_GROUP_GET_STATUS, &st), 0);
    assert_int_equal(st.flags, VFIO_GROUP_FLAGS_VIABLE);
    assert_int_equal(kioctl(g, VFIO_GROUP_UNSET_CONTAINER, NULL), -EINVAL);
    assert_int_equal(set_container(g, 12345), -EBADF);
    other = open_group(sim, "solo");
    assert_int_equal(set_container(g, other), -EBADFD);
    c = vfi_kernel_open("/dev/vfio/vfio", O_RDWR);
    assert_int_equal(kioctl_int(c, VFIO_GET_API_VERSION, 0), VFIO_API_VERSION);
    assert_int_equal(kioctl_int(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU), 1);
    assert_int_equal(kioctl_int(c, VFIO_CHECK_EXTENSION, 12345), 0);
    /* SET_IOMMU without a group; map before SET_IOMMU */
    assert_int_equal(kioctl_int(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -EINVAL);
    assert_int_equal(set_container(g, c), 0);
    assert_int_equal(set_container(g, c), -EINVAL);
    assert_int_equal(kioctl(g, VFIO_GROUP_GET_STATUS, &st), 0);
    assert_int_equal(st.flags, VFIO_GROUP_FLAGS_VIABLE | VFIO_GROUP_FLAGS_CONTAINER_SET);
    assert_int_equal(map(c, 0, PG, &st), -EINVAL);
    /* GET_DEVICE_FD before SET_IOMMU */
    assert_int_equal(kioctl(g, VFIO_GROUP_GET_DEVICE_FD, (void *)vfi_sim_device_bdf(sim, "d0")),
                     -EINVAL);
    assert_int_equal(kioctl_int(c, VFIO_SET_IOMMU, 42), -ENODEV);
    assert_int_equal(kioctl_int(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
    assert_int_equal(kioctl_int(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), -EINVAL);
    assert_int_equal(vfi_sim_type1_live(sim), 2);
    assert_int_equal(kioctl(g, VFIO_GROUP_UNSET_CONTAINER, NULL), 0);
    /* the last group left: the IOMMU is released */
    assert_int_equal(vfi_sim_type1_live(sim), 1);
    assert_int_equal(map(c, 0, PG, &st), -EINVAL);
    assert_int_equal(vfi_kernel_close(other), 0);
    assert_int_equal(vfi_kernel_close(g), 0);
    assert_int_equal(vfi_kernel_close(c), 0);
    assert_int_equal(vfi_sim_type1_live(sim), 0);
    test_sim_free_clean(sim);
}

/* Devices through the group: names, BIND refused, UNSET busy, the group
 * held by its devices after its fd closes. */
static void test_group_devices(void **state)
{
    VfiSim *sim = test_sim_new(topology);
    struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = 0 };
    struct vfio_device_info info = { .argsz = sizeof(info) };
    int g = open_group(sim, "d0"), c = vfi_kernel_open("/dev/vfio/vfio", O_RDWR), d;
    char bdf[32];

    (void)state;
    assert_int_equal(set_container(g, c), 0);
    assert_int_equal(kioctl_int(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
    assert_int_equal(kioctl(g, VFIO_GROUP_GET_DEVICE_FD, (void *)vfi_sim_device_bdf(sim, "solo")),
                     -ENODEV);
    g_strlcpy(bdf, vfi_sim_device_bdf(sim, "d1"), sizeof(bdf));
    d = kioctl(g, VFIO_GROUP_GET_DEVICE_FD, bdf);
    assert_true(d >= 0);
    assert_int_equal(kioctl(d, VFIO_DEVICE_GET_INFO, &info), 0);
    assert_int_equal(kioctl(d, VFIO_DEVICE_BIND_IOMMUFD, &bind), -EINVAL);
    assert_int_equal(kioctl(g, VFIO_GROUP_UNSET_CONTAINER, NULL), -EBUSY);
    /* the group fd closes: the device still holds the group and container */
    assert_int_equal(vfi_kernel_close(g), 0);
    assert_int_equal(vfi_kernel_close(c), 0);
    assert_int_equal(vfi_sim_type1_live(sim), 2);
    assert_int_equal(open_group(sim, "d0"), -EBUSY);
    assert_int_equal(vfi_kernel_close(d), 0);
    assert_int_equal(vfi_sim_type1_live(sim), 0);
    test_sim_free_clean(sim);
}

/* A container with one physical group: the map/unmap rules of type1v2. */
static int physical_container(VfiSim *sim, int *group)
{
    int c = vfi_kernel_open("/dev/vfio/vfio", O_RDWR);

    *group = open_group(sim, "solo");
    assert_int_equal(set_container(*group, c), 0);
    assert_int_equal(kioctl_int(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
    return c;
}

static void test_map_unmap(void **state)
{
    VfiSim *sim = test_sim_new(topology);
    void *va = (void *)(uintptr_t)0x10000000;
    uint64_t n = 0;
    int g, c = physical_container(sim, &g);

    (void)state;
    assert_int_equal(map(c, 0x100000, 0, va), -EINVAL);
    assert_int_equal(map(c, 0x100800, PG, va), -EINVAL);
    assert_int_equal(map(c, 0xfee00000, PG, va), -EINVAL);     /* MSI window */
    assert_int_equal(map(c, 1ull << 48, PG, va), -EINVAL);     /* past the aperture */
    assert_int_equal(map(c, 0x100000, 4 * PG, va), 0);
    assert_int_equal(map(c, 0x101000, PG, va), -EEXIST);
    assert_int_equal(map(c, 0x200000, PG, va), 0);
    assert_int_equal(vfi_sim_type1_mapping_count(sim, c), 2);
    /* v2: cutting a mapping is EINVAL, nothing unmapped */
    assert_int_equal(unmap(c, 0x101000, PG, &n), -EINVAL);
    assert_int_equal(n, 0);
    assert_int_equal(unmap(c, 0x100000, PG, &n), -EINVAL);
    /* an empty range unmaps nothing, successfully */
    assert_int_equal(unmap(c, 0x300000, PG, &n), 0);
    assert_int_equal(n, 0);
    /* a range over both mappings and the hole between */
    assert_int_equal(unmap(c, 0x100000, 0x101000, &n), 0);
    assert_int_equal(n, 5 * PG);
    assert_int_equal(vfi_sim_type1_mapping_count(sim, c), 0);
    assert_int_equal(map(c, 0x100000, PG, va), 0);
    assert_int_equal(vfi_kernel_close(g), 0);       /* the last group: mappings go */
    assert_int_equal(vfi_sim_type1_mapping_count(sim, c), 0);
    assert_int_equal(vfi_kernel_close(c), 0);
    test_sim_free_clean(sim);
}

/* GET_INFO: page sizes, the capability chain, argsz grown when short. */
static void test_get_info(void **state)
{
    VfiSim *sim = test_sim_new(topology);
    uint64_t buf[64] = { 0 };
    struct vfio_iommu_type1_info *info = (void *)buf;
    struct vfio_info_cap_header h;
    unsigned seen = 0;
    int g, c = physical_container(sim, &g);

    (void)state;
    info->argsz = sizeof(*info);
    assert_int_equal(kioctl(c, VFIO_IOMMU_GET_INFO, info), 0);
    assert_true(info->flags & VFIO_IOMMU_INFO_CAPS);
    assert_true(info->argsz > sizeof(*info));
    assert_int_equal(info->cap_offset, 0);
    assert_int_equal(info->iova_pgsizes & 0xfff000, 0x201000);
    assert_true(info->argsz <= sizeof(buf));
    assert_int_equal(map(c, 0, PG, (void *)(uintptr_t)0x10000000), 0);
    assert_int_equal(kioctl(c, VFIO_IOMMU_GET_INFO, info), 0);
    assert_int_equal(info->cap_offset, sizeof(*info));
    for (uint32_t off = info->cap_offset; off; off = h.next) {
        memcpy(&h, (uint8_t *)buf + off, sizeof(h));
        if (h.id == VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION) {
            struct vfio_iommu_type1_info_cap_migration mig;

            memcpy(&mig, (uint8_t *)buf + off, sizeof(mig));
            assert_int_equal(mig.pgsize_bitmap, PG);
            assert_int_equal(mig.max_dirty_bitmap_size, 256ull << 20);
        } else if (h.id == VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL) {
            struct vfio_iommu_type1_info_dma_avail a;

            memcpy(&a, (uint8_t *)buf + off, sizeof(a));
            assert_int_equal(a.avail, 65534);
        } else if (h.id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
            struct vfio_iommu_type1_info_cap_iova_range r;
            struct vfio_iova_range r1;

            memcpy(&r, (uint8_t *)buf + off, sizeof(r));
            memcpy(&r1, (uint8_t *)buf + off + sizeof(r) + sizeof(r1), sizeof(r1));
            assert_int_equal(r.nr_iovas, 2);
            assert_int_equal(r1.start, 0xfef00000);
        }
        seen |= 1u << h.id;
    }
    assert_int_equal(seen, (1u << 1) | (1u << 2) | (1u << 3));
    assert_int_equal(vfi_kernel_close(g), 0);
    assert_int_equal(vfi_kernel_close(c), 0);
    test_sim_free_clean(sim);
}

/* Dirty pages: every mapped page dirty with a physical group; the rules. */
static void test_dirty_physical(void **state)
{
    VfiSim *sim = test_sim_new(topology);
    void *va = (void *)(uintptr_t)0x10000000;
    uint64_t bits[2] = { 0 };
    int g, c = physical_container(sim, &g);

    (void)state;
    assert_int_equal(map(c, 0, 4 * PG, va), 0);
    assert_int_equal(get_bitmap(c, 0, 4 * PG, PG, bits, 8), -EINVAL);  /* not started */
    assert_int_equal(dirty(c, VFIO_IOMMU_DIRTY_PAGES_FLAG_START |
                              VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP), -EINVAL);
    assert_int_equal(dirty(c, VFIO_IOMMU_DIRTY_PAGES_FLAG_START), 0);
    assert_int_equal(dirty(c, VFIO_IOMMU_DIRTY_PAGES_FLAG_START), 0);
    assert_int_equal(map(c, 8 * PG, 2 * PG, va), 0);
    assert_int_equal(get_bitmap(c, 0, 4 * PG, 2 * PG, bits, 8), -EINVAL);  /* pgsize */
    assert_int_equal(get_bitmap(c, 0, 2 * PG, PG, bits, 8), -EINVAL);      /* cuts */
    assert_int_equal(get_bitmap(c, 0, 16 * PG, PG, bits, 0), -EINVAL);     /* size */
    bits[0] = ~0ull;
    assert_int_equal(get_bitmap(c, 0, 16 * PG, PG, bits, 8), 0);
    /* the words of each mapping are written whole: the hole reads 0 */
    assert_int_equal(bits[0], 0x30f);
    bits[0] = 0;
    assert_int_equal(get_bitmap(c, 0, 16 * PG, PG, bits, 8), 0);
    /* again (it cannot tell), and the kernel's shift of the second mapping
     * left the first one's bits in its bitmap: bits 0-3 over-reported at 8 */
    assert_int_equal(bits[0], 0x30f0f);
    /* unmap with the bitmap of the range */
    {
        uint8_t buf[sizeof(struct vfio_iommu_type1_dma_unmap) + sizeof(struct vfio_bitmap)];
        struct vfio_iommu_type1_dma_unmap u = {
            .argsz = sizeof(buf), .flags = VFIO_DMA_UNMAP_FLAG_GET_DIRTY_BITMAP,
            .iova = 8 * PG, .size = 2 * PG,
        };
        struct vfio_bitmap bm = { .pgsize = PG, .size = 8, .data = (void *)&bits[1] };

        memcpy(buf, &u, sizeof(u));
        memcpy(buf + sizeof(u), &bm, sizeof(bm));
        assert_int_equal(kioctl(c, VFIO_IOMMU_UNMAP_DMA, buf), 0);
        memcpy(&u, buf, sizeof(u));
        assert_int_equal(u.size, 2 * PG);
        /* its own two pages, and the stale bits its bitmap kept */
        assert_int_equal(bits[1], 0x30f0f);
    }
    assert_int_equal(dirty(c, VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP), 0);
    assert_int_equal(get_bitmap(c, 0, 4 * PG, PG, bits, 8), -EINVAL);
    assert_int_equal(vfi_kernel_close(g), 0);
    assert_int_equal(vfi_kernel_close(c), 0);
    test_sim_free_clean(sim);
}

/* An mdev alone: no IOVA ranges, only the pages it wrote are dirty. */
static void test_dirty_mdev(void **state)
{
    VfiSim *sim = test_sim_new(topology);
    g_autoptr(GError) err = NULL;
    void *va = (void *)(uintptr_t)0x10000000;
    uint64_t bits[1] = { 0 };
    int g = open_group(sim, "m"), c = vfi_kernel_open("/dev/vfio/vfio", O_RDWR);

    (void)state;
    assert_int_equal(set_container(g, c), 0);
    assert_int_equal(kioctl_int(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), 0);
    assert_int_equal(map(c, 0xfee00000, 8 * PG, va), 0);   /* no MSI window */
    assert_int_equal(dirty(c, VFIO_IOMMU_DIRTY_PAGES_FLAG_START), 0);
    assert_ok(vfi_sim_dma_write(sim, "m", 0xfee02000, 2 * PG, &err), err);
    assert_false(vfi_sim_dma_write(sim, "m", 0x1000, PG, &err));
    g_clear_error(&err);
    assert_int_equal(get_bitmap(c, 0xfee00000, 8 * PG, PG, bits, 8), 0);
    assert_int_equal(bits[0], 0xc);
    bits[0] = 0;
    assert_int_equal(get_bitmap(c, 0xfee00000, 8 * PG, PG, bits, 8), 0);
    assert_int_equal(bits[0], 0);       /* read clears */
    /* a physical group joining: the mapping in the MSI window is in the way */
    {
        int g2 = open_group(sim, "solo");

        assert_int_equal(set_container(g2, c), -EINVAL);
        assert_int_equal(vfi_kernel_close(g2), 0);
    }
    assert_int_equal(vfi_kernel_close(g), 0);
    assert_int_equal(vfi_kernel_close(c), 0);
    test_sim_free_clean(sim);
}

/* A device of a physical group does DMA through the container. */
static void test_dma_physical(void **state)
{
    VfiSim *sim = test_sim_new(topology);
    g_autoptr(GError) err = NULL;
    void *va = (void *)(uintptr_t)0x10000000;
    uint64_t n;
    int g, c = physical_container(sim, &g);

    (void)state;
    assert_false(vfi_sim_dma_write(sim, "solo", 0x1000, PG, &err));
    g_clear_error(&err);
    assert_int_equal(map(c, 0x1000, PG, va), 0);
    assert_ok(vfi_sim_dma_write(sim, "solo", 0x1000, PG, &err), err);
    assert_int_equal(unmap(c, 0x1000, PG, &n), 0);
    assert_false(vfi_sim_dma_write(sim, "solo", 0x1000, PG, &err));
    g_clear_error(&err);
    assert_int_equal(vfi_kernel_close(g), 0);
    assert_int_equal(vfi_kernel_close(c), 0);
    test_sim_free_clean(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_rules),
        cmocka_unit_test(test_group_devices),
        cmocka_unit_test(test_map_unmap),
        cmocka_unit_test(test_get_info),
        cmocka_unit_test(test_dirty_physical),
        cmocka_unit_test(test_dirty_mdev),
        cmocka_unit_test(test_dma_physical),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
