/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * DMA map/unmap: per container (checks before any ioctl: alignment, IOVA
 * ranges, size, overflow, vaddr), unmap with ALLOW_ABSENT, unmap-all; per
 * address space (validation against every container, rollback, replay into
 * new containers, forgetting on unmap).
 */
#include "test-container-helpers.h"

#define PAGE 4096ULL
#define MSI_START 0xfee00000ULL
#define MSI_LAST 0xfeefffffULL

static uint8_t buf[16 * 4096] __attribute__((aligned(4096)));

static const char topo_mdev[] =
    "[iommu a]\ndirty-tracking=true\n"
    "[device a0]\niommu=a\n[device m0]\nmdev=true\n";

/* Assert a kernel error @code whose message names the MSI-window mapping
 * and says what to do, and free it. */
#define assert_gerror_msg(err, domain, code) do { \
        assert_non_null(err); \
        assert_true(strstr((err)->message, "[0xfee00000, 0xfee00fff]") != NULL); \
        assert_true(strstr((err)->message, "unmap it first") != NULL); \
        assert_gerror(err, domain, code); \
    } while (0)

static const char topo[] =
    "[iommu a]\ndirty-tracking=true\n"
    "[iommu b]\ndirty-tracking=false\n"
    "[device a0]\niommu=a\n[device b0]\niommu=b\n";

static int mappings(Fixture *f, VFIOContainer *c)
{
    return vfio_sim_ioas_mapping_count(f->sim, iommufd_backend_get_fd(f->be),
                                       vfio_container_get_ioas_id(c));
}

/* A refused map/unmap makes no ioctl. */
static void map_refused(Fixture *f, VFIOContainer *c, uint64_t iova, uint64_t size,
                        void *vaddr)
{
    g_autoptr(GError) err = NULL;
    uint64_t ioctls = vfio_sim_ioctl_count(f->sim);

    assert_false(vfio_container_dma_map(c, iova, size, vaddr, false, &err));
    assert_gerror(err, VFIO_IOMMUFD_ERROR, VFIO_IOMMUFD_ERROR_INVALID_ARGUMENT);
    assert_false(vfio_address_space_dma_map(f->as, iova, size, vaddr, false, &err));
    assert_gerror(err, VFIO_IOMMUFD_ERROR, VFIO_IOMMUFD_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfio_sim_ioctl_count(f->sim), ioctls);
}

static void test_container_map_checks(void **state)
{
    Fixture *f = fixture_new(topo);
    g_autoptr(GError) err = NULL;
    VFIOContainer *c;
    int before;

    attach_ok(f, "a0", NULL);
    c = vfio_device_get_container(fdev(f, "a0"));
    before = mappings(f, c);
    /* in the MSI hole, straddling its edges */
    map_refused(f, c, MSI_START, PAGE, buf);
    map_refused(f, c, MSI_START - PAGE, 2 * PAGE, buf);
    map_refused(f, c, MSI_LAST + 1 - PAGE, 2 * PAGE, buf);
    /* beyond 2^48 */
    map_refused(f, c, 1ULL << 48, PAGE, buf);
    map_refused(f, c, (1ULL << 48) - PAGE, 2 * PAGE, buf);
    /* misaligned iova or size */
    map_refused(f, c, 0x100000 + 0x200, PAGE, buf);
    map_refused(f, c, 0x100000, PAGE + 1, buf);
    /* size 0, overflow, NULL vaddr */
    map_refused(f, c, 0x100000, 0, buf);
    map_refused(f, c, UINT64_MAX - PAGE + 1, 2 * PAGE, buf);
    map_refused(f, c, 0x100000, PAGE, NULL);
    assert_false(vfio_container_dma_map(NULL, 0x100000, PAGE, buf, false, &err));
    assert_gerror(err, VFIO_IOMMUFD_ERROR, VFIO_IOMMUFD_ERROR_INVALID_ARGUMENT);
    assert_int_equal(mappings(f, c), before);

    /* right below the hole, right above it, at the top: fine */
    assert_ok(vfio_container_dma_map(c, MSI_START - PAGE, PAGE, buf, false, &err), err);
    assert_ok(vfio_container_dma_map(c, MSI_LAST + 1, PAGE, buf, true, &err), err);
    assert_ok(vfio_container_dma_map(c, (1ULL << 48) - PAGE, PAGE, buf, false, &err), err);
    assert_int_equal(mappings(f, c), before + 3);
    /* overlap: the kernel says EEXIST */
    assert_false(vfio_container_dma_map(c, MSI_START - PAGE, PAGE, buf, false, &err));
    assert_gerror(err, VFIO_IOMMUFD_KERNEL_ERROR, EEXIST);
    assert_int_equal(mappings(f, c), before + 3);
    fixture_free(f);
}

static void test_container_unmap(void **state)
{
    Fixture *f = fixture_new(topo);
    g_autoptr(GError) err = NULL;
    uint64_t unmapped = 1, ioctls;
    VFIOContainer *c;

    attach_ok(f, "a0", NULL);
    c = vfio_device_get_container(fdev(f, "a0"));
    assert_ok(vfio_container_dma_map(c, 0x200000, 2 * PAGE, buf, false, &err), err);
    assert_ok(vfio_container_dma_map(c, 0x300000, PAGE, buf, false, &err), err);

    /* nothing there: ENOENT, or success with 0 when allowed */
    assert_false(vfio_container_dma_unmap(c, 0x400000, PAGE, 0, &unmapped, &err));
    assert_gerror(err, VFIO_IOMMUFD_KERNEL_ERROR, ENOENT);
    assert_ok(vfio_container_dma_unmap(c, 0x400000, PAGE, VFIO_UNMAP_ALLOW_ABSENT,
                                       &unmapped, &err), err);
    assert_int_equal(unmapped, 0);
    /* bad arguments: no ioctl */
    ioctls = vfio_sim_ioctl_count(f->sim);
    assert_false(vfio_container_dma_unmap(c, 0x200000, 0, 0, NULL, &err));
    assert_gerror(err, VFIO_IOMMUFD_ERROR, VFIO_IOMMUFD_ERROR_INVALID_ARGUMENT);
    assert_false(vfio_container_dma_unmap(c, 0x200100, PAGE, 0, NULL, &err));
    assert_gerror(err, VFIO_IOMMUFD_ERROR, VFIO_IOMMUFD_ERROR_INVALID_ARGUMENT);
    assert_false(vfio_container_dma_unmap(c, 0x200000, PAGE, 0x80, NULL, &err));
    assert_gerror(err, VFIO_IOMMUFD_ERROR, VFIO_IOMMUFD_ERROR_INVALID_ARGUMENT);
    assert_false(vfio_container_dma_unmap(NULL, 0x200000, PAGE, 0, NULL, &err));
    assert_gerror(err, VFIO_IOMMUFD_ERROR, VFIO_IOMMUFD_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfio_sim_ioctl_count(f->sim), ioctls);
    assert_int_equal(mappings(f, c), 2);

    assert_ok(vfio_container_dma_unmap(c, 0x200000, 2 * PAGE, 0, &unmapped, &err), err);
    assert_int_equal(unmapped, 2 * PAGE);
    assert_int_equal(mappings(f, c), 1);
    assert_ok(vfio_container_dma_unmap_all(c, &unmapped, &err), err);
    assert_int_equal(unmapped, PAGE);
    assert_int_equal(mappings(f, c), 0);
    /* unmap-all of an empty IOAS is fine */
    assert_ok(vfio_container_dma_unmap_all(c, &unmapped, &err), err);
    assert_int_equal(unmapped, 0);
    assert_false(vfio_container_dma_unmap_all(NULL, NULL, &err));
    assert_gerror(err, VFIO_IOMMUFD_ERROR, VFIO_IOMMUFD_ERROR_INVALID_ARGUMENT);
    fixture_free(f);
}

/* Mappings made before any container are replayed into the first one, and
 * into a new one made later. */
static void test_as_replay(void **state)
{
    Fixture *f = fixture_new(topo);
    g_autoptr(GError) err = NULL;
    VFIOContainer *c0, *c1;

    assert_ok(vfio_address_space_dma_map(f->as, 0x300000, PAGE, buf, false, &err), err);
    assert_ok(vfio_address_space_dma_map(f->as, 0x100000, 2 * PAGE, buf, true, &err), err);
    assert_int_equal(vfio_address_space_mapping_count(f->as), 2);
    /* overlap with a remembered mapping: refused, no container needed */
    assert_false(vfio_address_space_dma_map(f->as, 0x101000, PAGE, buf, false, &err));
    assert_gerror(err, VFIO_IOMMUFD_ERROR, VFIO_IOMMUFD_ERROR_INVALID_ARGUMENT);

    attach_ok(f, "a0", NULL);
    c0 = vfio_address_space_container(f->as, 0);
    assert_int_equal(mappings(f, c0), 2);
    assert_ok(vfio_address_space_dma_map(f->as, 0x200000, PAGE, buf, false, &err), err);
    assert_int_equal(mappings(f, c0), 3);

    vfio_sim_fail_next(f->sim, VFIO_SIM_OP_HWPT_ALLOC, EINVAL);
    attach_ok(f, "b0", NULL);
    assert_int_equal(vfio_address_space_container_count(f->as), 2);
    c1 = vfio_address_space_container(f->as, 1);
    assert_int_equal(mappings(f, c1), 3);

    /* unmap of part of a mapping: refused */
    assert_false(vfio_address_space_dma_unmap(f->as, 0x100000, PAGE, 0, &err));
    assert_gerror(err, VFIO_IOMMUFD_ERROR, VFIO_IOMMUFD_ERROR_INVALID_ARGUMENT);
    /* a range covering two whole mappings goes from both containers */
    assert_ok(vfio_address_space_dma_unmap(f->as, 0x100000, 0x101000, 0, &err), err);
    assert_int_equal(vfio_address_space_mapping_count(f->as), 1);
    assert_int_equal(mappings(f, c0), 1);
    assert_int_equal(mappings(f, c1), 1);
    /* gone: ENOENT, or nothing with ALLOW_ABSENT */
    assert_false(vfio_address_space_dma_unmap(f->as, 0x100000, PAGE, 0, &err));
    assert_gerror(err, VFIO_IOMMUFD_KERNEL_ERROR, ENOENT);
    assert_ok(vfio_address_space_dma_unmap(f->as, 0x100000, PAGE, VFIO_UNMAP_ALLOW_ABSENT,
                                           &err), err);
    assert_false(vfio_address_space_dma_unmap(f->as, 0x100000, PAGE, 0x10, &err));
    assert_gerror(err, VFIO_IOMMUFD_ERROR, VFIO_IOMMUFD_ERROR_INVALID_ARGUMENT);
    assert_false(vfio_address_space_dma_unmap(NULL, 0x100000, PAGE, 0, &err));
    assert_gerror(err, VFIO_IOMMUFD_ERROR, VFIO_IOMMUFD_ERROR_INVALID_ARGUMENT);

    /* a new container after the container went away gets what is left */
    detach_ok(f, "b0");
    attach_ok(f, "b0", NULL);   /* joins c0 now */
    assert_int_equal(vfio_address_space_container_count(f->as), 1);
    assert_ok(vfio_address_space_dma_unmap(f->as, 0x300000, PAGE, 0, &err), err);
    assert_int_equal(mappings(f, c0), 0);
    assert_int_equal(vfio_address_space_mapping_count(f->as), 0);
    fixture_free(f);
}

/* Assert the container's view of its IOAS is the kernel's. */
static void ranges_agree(Fixture *f, VFIOContainer *c)
{
    g_autofree IOMMUFDIovaRange *k = NULL;
    g_autoptr(GError) err = NULL;
    const IOMMUFDIovaRange *r;
    size_t n = 0, nk = 0;
    uint64_t align = 0;

    assert_ok(iommufd_backend_get_iova_ranges(f->be, vfio_container_get_ioas_id(c), &k, &nk,
                                              &align, &err), err);
    r = vfio_container_get_iova_ranges(c, &n);
    assert_int_equal(n, nk);
    assert_memory_equal(r, k, n * sizeof(*r));
    assert_int_equal(vfio_container_get_iova_alignment(c), align);
}

/* A remembered mapping in the MSI window: the new container takes it (an
 * IOAS without a domain allows everything), the kernel then refuses the
 * device (EADDRINUSE); the attach fails naming the mapping, leaving nothing. */
static void test_as_replay_misfit(void **state)
{
    Fixture *f = fixture_new(topo);
    g_autoptr(GError) err = NULL;

    assert_ok(vfio_address_space_dma_map(f->as, MSI_START, PAGE, buf, false, &err), err);
    assert_false(vfio_address_space_attach_device(f->as, f->be, fdev(f, "a0"), NULL, &err));
    assert_gerror_msg(err, VFIO_IOMMUFD_KERNEL_ERROR, EADDRINUSE);
    assert_int_equal(vfio_address_space_container_count(f->as), 0);
    assert_int_equal(vfio_device_get_attached_pt(fdev(f, "a0")), 0);
    check_consistent(f);
    assert_ok(vfio_address_space_dma_unmap(f->as, MSI_START, PAGE, 0, &err), err);
    attach_ok(f, "a0", NULL);
    check_consistent(f);
    fixture_free(f);
}

/* The container's ranges follow attaches and detaches, as the kernel's. */
static void test_ranges_follow_devices(void **state)
{
    Fixture *f = fixture_new(topo_mdev);
    g_autoptr(GError) err = NULL;
    VFIOContainer *c;
    const IOMMUFDIovaRange *r;
    size_t n;

    attach_ok(f, "m0", NULL);
    c = vfio_device_get_container(fdev(f, "m0"));
    r = vfio_container_get_iova_ranges(c, &n);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].start, 0);
    assert_int_equal(r[0].last, UINT64_MAX);
    assert_int_equal(vfio_container_get_iova_alignment(c), PAGE);   /* the mdev pins pages */
    ranges_agree(f, c);
    /* mdev only: the MSI window and above 2^48 are fine */
    assert_ok(vfio_container_dma_map(c, MSI_START, PAGE, buf, false, &err), err);
    assert_ok(vfio_container_dma_map(c, 1ULL << 48, PAGE, buf, false, &err), err);
    assert_ok(vfio_container_dma_unmap(c, MSI_START, PAGE, 0, NULL, &err), err);
    assert_ok(vfio_container_dma_unmap(c, 1ULL << 48, PAGE, 0, NULL, &err), err);

    attach_ok(f, "a0", NULL);
    assert_ptr_equal(vfio_device_get_container(fdev(f, "a0")), c);
    r = vfio_container_get_iova_ranges(c, &n);
    assert_int_equal(n, 2);
    assert_int_equal(r[0].last, MSI_START - 1);
    assert_int_equal(r[1].start, MSI_LAST + 1);
    assert_int_equal(r[1].last, (1ULL << 48) - 1);
    assert_int_equal(vfio_container_get_iova_alignment(c), PAGE);
    ranges_agree(f, c);
    map_refused(f, c, MSI_START, PAGE, buf);            /* before any ioctl */
    map_refused(f, c, 1ULL << 48, PAGE, buf);

    detach_ok(f, "a0");
    r = vfio_container_get_iova_ranges(c, &n);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].last, UINT64_MAX);
    ranges_agree(f, c);
    assert_ok(vfio_container_dma_map(c, MSI_START, PAGE, buf, false, &err), err);
    check_consistent(f);

    /* A physical device cannot join a container mapping the MSI window
     * (EADDRINUSE = the container does not take it); a new container
     * replays the same mapping and is refused the same way: the attach
     * fails naming the mapping, and nothing is left. */
    assert_ok(vfio_container_dma_unmap(c, MSI_START, PAGE, 0, NULL, &err), err);
    assert_ok(vfio_address_space_dma_map(f->as, MSI_START, PAGE, buf, false, &err), err);
    assert_false(vfio_address_space_attach_device(f->as, f->be, fdev(f, "a0"), NULL, &err));
    assert_gerror_msg(err, VFIO_IOMMUFD_KERNEL_ERROR, EADDRINUSE);
    assert_int_equal(vfio_address_space_container_count(f->as), 1);
    assert_null(vfio_device_get_container(fdev(f, "a0")));
    assert_int_equal(vfio_device_get_attached_pt(fdev(f, "a0")), 0);
    r = vfio_container_get_iova_ranges(c, &n);
    assert_int_equal(n, 1);
    ranges_agree(f, c);
    check_consistent(f);
    /* Unmapped: it joins. */
    assert_ok(vfio_address_space_dma_unmap(f->as, MSI_START, PAGE, 0, &err), err);
    attach_ok(f, "a0", NULL);
    assert_ptr_equal(vfio_device_get_container(fdev(f, "a0")), c);
    ranges_agree(f, c);
    check_consistent(f);
    fixture_free(f);
}

/* Address-space map: checked against every container first; rollback when
 * the second container's map fails. */
static void test_as_map_rollback(void **state)
{
    Fixture *f = fixture_new(topo);
    g_autoptr(GError) err = NULL;
    VFIOContainer *c0, *c1;
    uint64_t ioctls;

    attach_ok(f, "a0", NULL);
    vfio_sim_fail_next(f->sim, VFIO_SIM_OP_HWPT_ALLOC, EINVAL);
    attach_ok(f, "b0", NULL);
    c0 = vfio_address_space_container(f->as, 0);
    c1 = vfio_address_space_container(f->as, 1);

    /* refused before any ioctl */
    ioctls = vfio_sim_ioctl_count(f->sim);
    assert_false(vfio_address_space_dma_map(f->as, MSI_START, PAGE, buf, false, &err));
    assert_gerror(err, VFIO_IOMMUFD_ERROR, VFIO_IOMMUFD_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfio_sim_ioctl_count(f->sim), ioctls);

    /* second container's map fails: the first is unmapped again */
    vfio_sim_fail_nth(f->sim, 2, ENOMEM);
    assert_false(vfio_address_space_dma_map(f->as, 0x100000, PAGE, buf, false, &err));
    assert_gerror(err, VFIO_IOMMUFD_KERNEL_ERROR, ENOMEM);
    assert_int_equal(mappings(f, c0), 0);
    assert_int_equal(mappings(f, c1), 0);
    assert_int_equal(vfio_address_space_mapping_count(f->as), 0);

    /* and for unmap: the second container's unmap fails, the first gets its
     * mapping back, the mapping stays remembered */
    assert_ok(vfio_address_space_dma_map(f->as, 0x100000, PAGE, buf, false, &err), err);
    vfio_sim_fail_nth(f->sim, 2, EFAULT);
    assert_false(vfio_address_space_dma_unmap(f->as, 0x100000, PAGE, 0, &err));
    assert_gerror(err, VFIO_IOMMUFD_KERNEL_ERROR, EFAULT);
    assert_int_equal(mappings(f, c0), 1);
    assert_int_equal(mappings(f, c1), 1);
    assert_int_equal(vfio_address_space_mapping_count(f->as), 1);
    assert_ok(vfio_address_space_dma_unmap(f->as, 0x100000, PAGE, 0, &err), err);
    assert_int_equal(mappings(f, c0), 0);
    assert_int_equal(mappings(f, c1), 0);
    fixture_free(f);
}

/* The last device out destroys the IOAS, mappings and all: no explicit
 * unmap. */
static void test_teardown_drops_mappings(void **state)
{
    Fixture *f = fixture_new(topo);
    g_autoptr(GError) err = NULL;
    uint64_t unmaps;

    attach_ok(f, "a0", NULL);
    assert_ok(vfio_address_space_dma_map(f->as, 0x100000, 4 * PAGE, buf, false, &err), err);
    unmaps = vfio_sim_op_count(f->sim, VFIO_SIM_OP_IOAS_UNMAP);
    detach_ok(f, "a0");
    assert_int_equal(vfio_sim_op_count(f->sim, VFIO_SIM_OP_IOAS_UNMAP), unmaps);
    assert_int_equal(vfio_address_space_container_count(f->as), 0);
    /* still remembered: replayed when a device comes back */
    assert_int_equal(vfio_address_space_mapping_count(f->as), 1);
    attach_ok(f, "a0", NULL);
    assert_int_equal(mappings(f, vfio_address_space_container(f->as, 0)), 1);
    check_consistent(f);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_container_map_checks),
        cmocka_unit_test(test_container_unmap),
        cmocka_unit_test(test_as_replay),
        cmocka_unit_test(test_as_replay_misfit),
        cmocka_unit_test(test_ranges_follow_devices),
        cmocka_unit_test(test_as_map_rollback),
        cmocka_unit_test(test_teardown_drops_mappings),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
