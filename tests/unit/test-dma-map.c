/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * DMA map/unmap: per container (checks before any ioctl: alignment, IOVA
 * ranges, size, overflow, vaddr), unmap with ALLOW_ABSENT, the edge rule of
 * unmaps, unmaps across the MSI window, unmap-all; per address space
 * (validation against every container, rollback, replay into new
 * containers, forgetting on unmap); which level owns a mapping.
 */
#include "test-container-helpers.h"

#define PAGE 4096ULL
#define MSI_START 0xfee00000ULL
#define MSI_LAST 0xfeefffffULL

static uint8_t buf[16 * 4096] __attribute__((aligned(4096)));

static const char topo_mdev[] =
    "[iommu a]\ndirty-tracking=true\n"
    "[device a0]\niommu=a\n[device m0]\nmdev=true\n";

/* Assert a kernel error @code whose message says a mapping conflicts with
 * the device's IOMMU and what to do, and free it. */
#define assert_gerror_msg(err, domain, code) do { \
        assert_non_null(err); \
        assert_true(strstr((err)->message, "lies where the device's IOMMU cannot map") != NULL); \
        assert_true(strstr((err)->message, "unmap it first") != NULL); \
        assert_gerror(err, domain, code); \
    } while (0)

static const char topo[] =
    "[iommu a]\ndirty-tracking=true\n"
    "[iommu b]\ndirty-tracking=false\n"
    "[device a0]\niommu=a\n[device b0]\niommu=b\n";

static int mappings(Fixture *f, VfiContainer *c)
{
    return vfi_sim_ioas_mapping_count(f->sim, vfi_iommufd_get_fd(f->be),
                                       vfi_container_get_ioas_id(c));
}

/* A refused map/unmap makes no ioctl. */
static void map_refused(Fixture *f, VfiContainer *c, uint64_t iova, uint64_t size,
                        void *vaddr)
{
    g_autoptr(GError) err = NULL;
    uint64_t ioctls = vfi_sim_ioctl_count(f->sim);

    assert_false(vfi_container_dma_map(c, iova, size, vaddr, false, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_address_space_dma_map(f->as, iova, size, vaddr, false, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), ioctls);
}

/* a0 attached, in the address space's one container: @c. */
static Fixture *one_container(VfiContainer **c)
{
    Fixture *f = fixture_new(topo);

    attach_ok(f, "a0", NULL);
    *c = vfi_device_get_container(fdev(f, "a0"));
    return f;
}

static void test_container_map_checks(void **state)
{
    VfiContainer *c;
    Fixture *f = one_container(&c);
    g_autoptr(GError) err = NULL;
    int before;

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
    assert_false(vfi_container_dma_map(NULL, 0x100000, PAGE, buf, false, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(mappings(f, c), before);

    /* right below the hole, right above it, at the top: fine */
    assert_ok(vfi_container_dma_map(c, MSI_START - PAGE, PAGE, buf, false, &err), err);
    assert_ok(vfi_container_dma_map(c, MSI_LAST + 1, PAGE, buf, true, &err), err);
    assert_ok(vfi_container_dma_map(c, (1ULL << 48) - PAGE, PAGE, buf, false, &err), err);
    assert_int_equal(mappings(f, c), before + 3);
    /* overlap: the kernel says EEXIST */
    assert_false(vfi_container_dma_map(c, MSI_START - PAGE, PAGE, buf, false, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, EEXIST);
    assert_int_equal(mappings(f, c), before + 3);
    fixture_free(f);
}

static void test_container_unmap(void **state)
{
    VfiContainer *c;
    Fixture *f = one_container(&c);
    g_autoptr(GError) err = NULL;
    uint64_t unmapped = 1, ioctls;

    assert_ok(vfi_container_dma_map(c, 0x200000, 2 * PAGE, buf, false, &err), err);
    assert_ok(vfi_container_dma_map(c, 0x300000, PAGE, buf, false, &err), err);

    /* nothing there: ENOENT, or success with 0 when allowed */
    assert_false(vfi_container_dma_unmap(c, 0x400000, PAGE, 0, &unmapped, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, ENOENT);
    assert_ok(vfi_container_dma_unmap(c, 0x400000, PAGE, VFI_UNMAP_ALLOW_ABSENT,
                                       &unmapped, &err), err);
    assert_int_equal(unmapped, 0);
    /* bad arguments: no ioctl */
    ioctls = vfi_sim_ioctl_count(f->sim);
    assert_false(vfi_container_dma_unmap(c, 0x200000, 0, 0, NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_container_dma_unmap(c, 0x200100, PAGE, 0, NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_container_dma_unmap(c, 0x200000, PAGE, 0x80, NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_container_dma_unmap(NULL, 0x200000, PAGE, 0, NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), ioctls);
    assert_int_equal(mappings(f, c), 2);

    assert_ok(vfi_container_dma_unmap(c, 0x200000, 2 * PAGE, 0, &unmapped, &err), err);
    assert_int_equal(unmapped, 2 * PAGE);
    assert_int_equal(mappings(f, c), 1);
    assert_ok(vfi_container_dma_unmap_all(c, &unmapped, &err), err);
    assert_int_equal(unmapped, PAGE);
    assert_int_equal(mappings(f, c), 0);
    /* unmap-all of an empty IOAS is fine */
    assert_ok(vfi_container_dma_unmap_all(c, &unmapped, &err), err);
    assert_int_equal(unmapped, 0);
    assert_false(vfi_container_dma_unmap_all(NULL, NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    fixture_free(f);
}

/* Mappings made before any container are replayed into the first one, and
 * into a new one made later. */
static void test_as_replay(void **state)
{
    Fixture *f = fixture_new(topo);
    g_autoptr(GError) err = NULL;
    VfiContainer *c0, *c1;

    assert_ok(vfi_address_space_dma_map(f->as, 0x300000, PAGE, buf, false, &err), err);
    assert_ok(vfi_address_space_dma_map(f->as, 0x100000, 2 * PAGE, buf, true, &err), err);
    assert_int_equal(vfi_address_space_mapping_count(f->as), 2);
    /* overlap with a remembered mapping: refused, no container needed */
    assert_false(vfi_address_space_dma_map(f->as, 0x101000, PAGE, buf, false, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);

    attach_ok(f, "a0", NULL);
    c0 = vfi_address_space_container(f->as, 0);
    assert_int_equal(mappings(f, c0), 2);
    assert_ok(vfi_address_space_dma_map(f->as, 0x200000, PAGE, buf, false, &err), err);
    assert_int_equal(mappings(f, c0), 3);

    vfi_sim_fail_next(f->sim, VFI_SIM_OP_HWPT_ALLOC, EINVAL);
    attach_ok(f, "b0", NULL);
    assert_int_equal(vfi_address_space_container_count(f->as), 2);
    c1 = vfi_address_space_container(f->as, 1);
    assert_int_equal(mappings(f, c1), 3);

    /* unmap of part of a mapping: refused */
    assert_false(vfi_address_space_dma_unmap(f->as, 0x100000, PAGE, 0, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    /* a range covering two whole mappings goes from both containers */
    assert_ok(vfi_address_space_dma_unmap(f->as, 0x100000, 0x101000, 0, &err), err);
    assert_int_equal(vfi_address_space_mapping_count(f->as), 1);
    assert_int_equal(mappings(f, c0), 1);
    assert_int_equal(mappings(f, c1), 1);
    /* gone: ENOENT, or nothing with ALLOW_ABSENT */
    assert_false(vfi_address_space_dma_unmap(f->as, 0x100000, PAGE, 0, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, ENOENT);
    assert_ok(vfi_address_space_dma_unmap(f->as, 0x100000, PAGE, VFI_UNMAP_ALLOW_ABSENT,
                                           &err), err);
    assert_false(vfi_address_space_dma_unmap(f->as, 0x100000, PAGE, 0x10, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_address_space_dma_unmap(NULL, 0x100000, PAGE, 0, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);

    /* a new container after the container went away gets what is left */
    detach_ok(f, "b0");
    attach_ok(f, "b0", NULL);   /* joins c0 now */
    assert_int_equal(vfi_address_space_container_count(f->as), 1);
    assert_ok(vfi_address_space_dma_unmap(f->as, 0x300000, PAGE, 0, &err), err);
    assert_int_equal(mappings(f, c0), 0);
    assert_int_equal(vfi_address_space_mapping_count(f->as), 0);
    fixture_free(f);
}

/* Assert the container's view of its IOAS is the kernel's. */
static void ranges_agree(Fixture *f, VfiContainer *c)
{
    g_autofree VfiIovaRange *k = NULL;
    g_autoptr(GError) err = NULL;
    const VfiIovaRange *r;
    size_t n = 0, nk = 0;
    uint64_t align = 0;

    assert_ok(vfi_iommufd_ioas_iova_ranges(f->be, vfi_container_get_ioas_id(c), &k, &nk,
                                              &align, &err), err);
    r = vfi_container_get_iova_ranges(c, &n);
    assert_int_equal(n, nk);
    assert_memory_equal(r, k, n * sizeof(*r));
    assert_int_equal(vfi_container_get_iova_alignment(c), align);
}

/* A remembered mapping in the MSI window: the new container takes it (an
 * IOAS without a domain allows everything), the kernel then refuses the
 * device (EADDRINUSE); the attach fails naming the mapping, leaving nothing. */
static void test_as_replay_misfit(void **state)
{
    Fixture *f = fixture_new(topo);
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_address_space_dma_map(f->as, MSI_START, PAGE, buf, false, &err), err);
    assert_false(vfi_address_space_attach_device(f->as, f->be, fdev(f, "a0"), NULL, &err));
    assert_gerror_msg(err, VFI_KERNEL_ERROR, EADDRINUSE);
    assert_int_equal(vfi_address_space_container_count(f->as), 0);
    assert_int_equal(vfi_device_get_attached_pt(fdev(f, "a0")), 0);
    check_consistent(f);
    assert_ok(vfi_address_space_dma_unmap(f->as, MSI_START, PAGE, 0, &err), err);
    attach_ok(f, "a0", NULL);
    check_consistent(f);
    fixture_free(f);
}

static void ranges_msi_mapping_blocks_attach(Fixture *f, VfiContainer *c)
{
    g_autoptr(GError) err = NULL;
    size_t n;

    /* A physical device cannot join a container mapping the MSI window
     * (EADDRINUSE = the container does not take it); a new container
     * replays the same mapping and is refused the same way: the attach
     * fails naming the mapping, and nothing is left. */
    assert_ok(vfi_container_dma_unmap(c, MSI_START, PAGE, 0, NULL, &err), err);
    assert_ok(vfi_address_space_dma_map(f->as, MSI_START, PAGE, buf, false, &err), err);
    assert_false(vfi_address_space_attach_device(f->as, f->be, fdev(f, "a0"), NULL, &err));
    assert_gerror_msg(err, VFI_KERNEL_ERROR, EADDRINUSE);
    assert_int_equal(vfi_address_space_container_count(f->as), 1);
    assert_null(vfi_device_get_container(fdev(f, "a0")));
    assert_int_equal(vfi_device_get_attached_pt(fdev(f, "a0")), 0);
    assert_non_null(vfi_container_get_iova_ranges(c, &n));
    assert_int_equal(n, 1);
    ranges_agree(f, c);
    check_consistent(f);
    /* Unmapped: it joins. */
    assert_ok(vfi_address_space_dma_unmap(f->as, MSI_START, PAGE, 0, &err), err);
    attach_ok(f, "a0", NULL);
    assert_ptr_equal(vfi_device_get_container(fdev(f, "a0")), c);
    ranges_agree(f, c);
    check_consistent(f);
}

/* The container's ranges follow attaches and detaches, as the kernel's. */
static void test_ranges_follow_devices(void **state)
{
    Fixture *f = fixture_new(topo_mdev);
    g_autoptr(GError) err = NULL;
    VfiContainer *c;
    const VfiIovaRange *r;
    size_t n;

    attach_ok(f, "m0", NULL);
    c = vfi_device_get_container(fdev(f, "m0"));
    r = vfi_container_get_iova_ranges(c, &n);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].start, 0);
    assert_int_equal(r[0].last, UINT64_MAX);
    assert_int_equal(vfi_container_get_iova_alignment(c), PAGE);   /* the mdev pins pages */
    ranges_agree(f, c);
    /* mdev only: the MSI window and above 2^48 are fine */
    assert_ok(vfi_container_dma_map(c, MSI_START, PAGE, buf, false, &err), err);
    assert_ok(vfi_container_dma_map(c, 1ULL << 48, PAGE, buf, false, &err), err);
    assert_ok(vfi_container_dma_unmap(c, MSI_START, PAGE, 0, NULL, &err), err);
    assert_ok(vfi_container_dma_unmap(c, 1ULL << 48, PAGE, 0, NULL, &err), err);

    attach_ok(f, "a0", NULL);
    assert_ptr_equal(vfi_device_get_container(fdev(f, "a0")), c);
    r = vfi_container_get_iova_ranges(c, &n);
    assert_int_equal(n, 2);
    assert_int_equal(r[0].last, MSI_START - 1);
    assert_int_equal(r[1].start, MSI_LAST + 1);
    assert_int_equal(r[1].last, (1ULL << 48) - 1);
    assert_int_equal(vfi_container_get_iova_alignment(c), PAGE);
    ranges_agree(f, c);
    map_refused(f, c, MSI_START, PAGE, buf);            /* before any ioctl */
    map_refused(f, c, 1ULL << 48, PAGE, buf);

    detach_ok(f, "a0");
    r = vfi_container_get_iova_ranges(c, &n);
    assert_int_equal(n, 1);
    assert_int_equal(r[0].last, UINT64_MAX);
    ranges_agree(f, c);
    assert_ok(vfi_container_dma_map(c, MSI_START, PAGE, buf, false, &err), err);
    check_consistent(f);

    ranges_msi_mapping_blocks_attach(f, c);
    fixture_free(f);
}

/* a0 and b0 in two containers of the address space (b0's HWPT_ALLOC in
 * a0's IOAS refused: it gets an IOAS of its own): @c0, @c1. */
static Fixture *two_containers(VfiContainer **c0, VfiContainer **c1)
{
    Fixture *f = fixture_new(topo);

    attach_ok(f, "a0", NULL);
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_HWPT_ALLOC, EINVAL);
    attach_ok(f, "b0", NULL);
    *c0 = vfi_address_space_container(f->as, 0);
    *c1 = vfi_address_space_container(f->as, 1);
    return f;
}

/* Address-space map: checked against every container first; rollback when
 * the second container's map fails. */
static void test_as_map_rollback(void **state)
{
    VfiContainer *c0, *c1;
    Fixture *f = two_containers(&c0, &c1);
    g_autoptr(GError) err = NULL;
    uint64_t ioctls;

    /* refused before any ioctl */
    ioctls = vfi_sim_ioctl_count(f->sim);
    assert_false(vfi_address_space_dma_map(f->as, MSI_START, PAGE, buf, false, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), ioctls);

    /* second container's map fails: the first is unmapped again */
    vfi_sim_fail_nth(f->sim, 2, ENOMEM);
    assert_false(vfi_address_space_dma_map(f->as, 0x100000, PAGE, buf, false, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, ENOMEM);
    assert_int_equal(mappings(f, c0), 0);
    assert_int_equal(mappings(f, c1), 0);
    assert_int_equal(vfi_address_space_mapping_count(f->as), 0);

    /* and for unmap: the second container's unmap fails, the first gets its
     * mapping back, the mapping stays remembered */
    assert_ok(vfi_address_space_dma_map(f->as, 0x100000, PAGE, buf, false, &err), err);
    vfi_sim_fail_nth(f->sim, 2, EFAULT);
    assert_false(vfi_address_space_dma_unmap(f->as, 0x100000, PAGE, 0, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, EFAULT);
    assert_int_equal(mappings(f, c0), 1);
    assert_int_equal(mappings(f, c1), 1);
    assert_int_equal(vfi_address_space_mapping_count(f->as), 1);
    assert_ok(vfi_address_space_dma_unmap(f->as, 0x100000, PAGE, 0, &err), err);
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
    assert_ok(vfi_address_space_dma_map(f->as, 0x100000, 4 * PAGE, buf, false, &err), err);
    unmaps = vfi_sim_op_count(f->sim, VFI_SIM_OP_IOAS_UNMAP);
    detach_ok(f, "a0");
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_IOAS_UNMAP), unmaps);
    assert_int_equal(vfi_address_space_container_count(f->as), 0);
    /* still remembered: replayed when a device comes back */
    assert_int_equal(vfi_address_space_mapping_count(f->as), 1);
    attach_ok(f, "a0", NULL);
    assert_int_equal(mappings(f, vfi_address_space_container(f->as, 0)), 1);
    check_consistent(f);
    fixture_free(f);
}

/* The model's mappings and the library's record of container @c. */
static void assert_maps(Fixture *f, VfiContainer *c, int n)
{
    assert_int_equal(mappings(f, c), n);
    assert_int_equal(vfi_container_mapping_count(c), n);
}

/* An unmap whose range cuts a mapping is refused before the ioctl, with or
 * without ALLOW_ABSENT (the kernel would unmap the mappings before the cut
 * one and fail with ENOENT, which ALLOW_ABSENT would hide). */
static void test_unmap_edge_cut(void **state)
{
    VfiContainer *c;
    Fixture *f = one_container(&c);
    g_autoptr(GError) err = NULL;
    uint64_t unmapped = 1, ioctls;

    assert_ok(vfi_container_dma_map(c, 0, PAGE, buf, false, &err), err);
    assert_ok(vfi_container_dma_map(c, 2 * PAGE, 2 * PAGE, buf, false, &err), err);
    assert_maps(f, c, 2);

    ioctls = vfi_sim_ioctl_count(f->sim);
    assert_false(vfi_container_dma_unmap(c, 0, 3 * PAGE, VFI_UNMAP_ALLOW_ABSENT, &unmapped,
                                          &err));
    assert_non_null(err);
    assert_non_null(strstr(err->message, "[0x2000, 0x3fff]"));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(unmapped, 1);
    assert_false(vfi_container_dma_unmap(c, 0, 3 * PAGE, 0, NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    /* cutting the start of a mapping, and inside one */
    assert_false(vfi_container_dma_unmap(c, 3 * PAGE, 4 * PAGE, VFI_UNMAP_ALLOW_ABSENT,
                                          NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_container_dma_unmap(c, 2 * PAGE, PAGE, 0, NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), ioctls);
    assert_maps(f, c, 2);

    /* the gap between them holds nothing: absent is fine there */
    assert_ok(vfi_container_dma_unmap(c, PAGE, PAGE, VFI_UNMAP_ALLOW_ABSENT, &unmapped,
                                       &err), err);
    assert_int_equal(unmapped, 0);
    /* both whole: fine */
    assert_ok(vfi_container_dma_unmap(c, 0, 4 * PAGE, 0, &unmapped, &err), err);
    assert_int_equal(unmapped, 3 * PAGE);
    assert_maps(f, c, 0);
    check_consistent(f);
    fixture_free(f);
}

/* An unmap is not checked against the IOVA ranges: one unmap of [0, 8G)
 * across the MSI window takes the mappings on both sides. */
static void test_unmap_across_msi_window(void **state)
{
    VfiContainer *c;
    Fixture *f = one_container(&c);
    g_autoptr(GError) err = NULL;
    uint64_t unmapped = 1;

    assert_ok(vfi_container_dma_map(c, MSI_START - PAGE, PAGE, buf, false, &err), err);
    assert_ok(vfi_container_dma_map(c, MSI_LAST + 1, 2 * PAGE, buf, false, &err), err);
    assert_ok(vfi_container_dma_map(c, 0x100000000ULL, PAGE, buf, false, &err), err);
    assert_ok(vfi_container_dma_unmap(c, 0, 8ULL << 30, 0, &unmapped, &err), err);
    assert_int_equal(unmapped, 4 * PAGE);
    assert_maps(f, c, 0);
    /* again: nothing there */
    assert_false(vfi_container_dma_unmap(c, 0, 8ULL << 30, 0, &unmapped, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, ENOENT);
    assert_ok(vfi_container_dma_unmap(c, 0, 8ULL << 30, VFI_UNMAP_ALLOW_ABSENT, &unmapped,
                                       &err), err);
    assert_int_equal(unmapped, 0);
    /* the same through the address space */
    assert_ok(vfi_address_space_dma_map(f->as, MSI_START - PAGE, PAGE, buf, false, &err),
              err);
    assert_ok(vfi_address_space_dma_map(f->as, MSI_LAST + 1, PAGE, buf, false, &err), err);
    assert_ok(vfi_address_space_dma_unmap(f->as, 0, 8ULL << 30, 0, &err), err);
    assert_int_equal(vfi_address_space_mapping_count(f->as), 0);
    assert_maps(f, c, 0);
    fixture_free(f);
}

/* @err is a WRONG_STATE error whose message holds @text; frees it. */
static void assert_wrong_state_says(GError **err, const char *text)
{
    assert_non_null(*err);
    assert_non_null(strstr((*err)->message, text));
    assert_gerror(*err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
}

/* Each level's calls over the other level's mapping are refused before any ioctl. */
static void levels_refused(Fixture *f, VfiContainer *c0)
{
    g_autoptr(GError) err = NULL;
    uint64_t unmapped = 1, ioctls;

    ioctls = vfi_sim_ioctl_count(f->sim);
    /* container level over the address space's mapping */
    assert_false(vfi_container_dma_map(c0, 0x101000, 2 * PAGE, buf, false, &err));
    assert_wrong_state_says(&err, "vfi_address_space_dma_map");
    assert_false(vfi_container_dma_unmap(c0, 0x100000, 2 * PAGE, 0, &unmapped, &err));
    assert_wrong_state_says(&err, "vfi_address_space_dma_unmap");
    assert_false(vfi_container_dma_unmap(c0, 0, 0x400000, VFI_UNMAP_ALLOW_ABSENT,
                                          &unmapped, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_false(vfi_container_dma_unmap_all(c0, &unmapped, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_int_equal(unmapped, 1);
    /* address-space level over the container's mapping */
    assert_false(vfi_address_space_dma_map(f->as, 0x200000, PAGE, buf, false, &err));
    assert_wrong_state_says(&err, "ioas");
    assert_false(vfi_address_space_dma_unmap(f->as, 0x200000, PAGE, 0, &err));
    assert_wrong_state_says(&err, "vfi_container_dma_unmap");
    assert_false(vfi_address_space_dma_unmap(f->as, 0x200000, PAGE, VFI_UNMAP_ALLOW_ABSENT,
                                              &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    /* a range holding both */
    assert_false(vfi_address_space_dma_unmap(f->as, 0x100000, 0x101000, 0, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), ioctls);
    assert_maps(f, c0, 2);
    assert_int_equal(vfi_address_space_mapping_count(f->as), 1);
}

/* A mapping belongs to the level that made it: container-level calls refuse
 * address-space mappings and the other way round, before any ioctl. */
static void test_levels(void **state)
{
    Fixture *f = fixture_new(topo);
    g_autoptr(GError) err = NULL;
    uint64_t unmapped = 1;
    VfiContainer *c0, *c1;

    attach_ok(f, "a0", NULL);
    c0 = vfi_device_get_container(fdev(f, "a0"));
    assert_ok(vfi_address_space_dma_map(f->as, 0x100000, 2 * PAGE, buf, false, &err), err);
    assert_ok(vfi_container_dma_map(c0, 0x200000, PAGE, buf, false, &err), err);
    assert_maps(f, c0, 2);
    assert_int_equal(vfi_address_space_mapping_count(f->as), 1);

    levels_refused(f, c0);
    /* a new container gets the address space's mapping only */
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_HWPT_ALLOC, EINVAL);
    attach_ok(f, "b0", NULL);
    c1 = vfi_device_get_container(fdev(f, "b0"));
    assert_ptr_not_equal(c0, c1);
    assert_maps(f, c1, 1);
    /* each level unmaps its own */
    assert_ok(vfi_container_dma_unmap(c0, 0x200000, PAGE, 0, &unmapped, &err), err);
    assert_int_equal(unmapped, PAGE);
    assert_ok(vfi_address_space_dma_unmap(f->as, 0x100000, 2 * PAGE, 0, &err), err);
    assert_maps(f, c0, 0);
    assert_maps(f, c1, 0);
    /* the range is free for either level now */
    assert_ok(vfi_address_space_dma_map(f->as, 0x200000, PAGE, buf, false, &err), err);
    assert_maps(f, c0, 1);
    assert_maps(f, c1, 1);
    assert_ok(vfi_address_space_dma_unmap(f->as, 0x200000, PAGE, 0, &err), err);
    assert_ok(vfi_container_dma_map(c1, 0x100000, PAGE, buf, false, &err), err);
    assert_ok(vfi_container_dma_unmap_all(c1, &unmapped, &err), err);
    assert_int_equal(unmapped, PAGE);
    assert_maps(f, c1, 0);
    check_consistent(f);
    fixture_free(f);
}

/* A container whose rollback map failed does not hold the address space's
 * mapping: a later address-space unmap leaves it alone and succeeds. */
static void test_as_unmap_skips_container_without_mapping(void **state)
{
    VfiContainer *c0, *c1;
    Fixture *f = two_containers(&c0, &c1);
    g_autoptr(GError) err = NULL;
    uint64_t unmaps;

    assert_ok(vfi_address_space_dma_map(f->as, 0x100000, PAGE, buf, false, &err), err);
    /* c0 unmapped, c1's unmap fails, mapping c0 again fails too */
    vfi_sim_fail_nth(f->sim, 2, EFAULT);
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_IOAS_MAP, ENOMEM);
    assert_false(vfi_address_space_dma_unmap(f->as, 0x100000, PAGE, 0, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, EFAULT);
    vfi_sim_fail_clear(f->sim);
    assert_int_equal(vfi_address_space_mapping_count(f->as), 1);
    assert_maps(f, c0, 0);
    assert_maps(f, c1, 1);
    unmaps = vfi_sim_op_count(f->sim, VFI_SIM_OP_IOAS_UNMAP);
    assert_ok(vfi_address_space_dma_unmap(f->as, 0x100000, PAGE, 0, &err), err);
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_IOAS_UNMAP) - unmaps, 1);
    assert_maps(f, c0, 0);
    assert_maps(f, c1, 0);
    assert_int_equal(vfi_address_space_mapping_count(f->as), 0);
    fixture_free(f);
}

/* A mapping made on the IOAS behind the library's back crosses the edge of
 * an unmap: the kernel unmaps the recorded ones before it and says ENOENT;
 * the error is reported (not "absent") and the record follows the kernel. */
static void test_unmap_enoent_resync(void **state)
{
    VfiContainer *c;
    Fixture *f = one_container(&c);
    g_autoptr(GError) err = NULL;
    uint64_t unmapped = 1;
    uint32_t ioas;

    ioas = vfi_container_get_ioas_id(c);
    assert_ok(vfi_container_dma_map(c, 0x100000, PAGE, buf, false, &err), err);
    assert_ok(vfi_iommufd_ioas_map(f->be, ioas, 0x103000, 2 * PAGE, buf, false, &err), err);
    assert_false(vfi_container_dma_unmap(c, 0x100000, 4 * PAGE, VFI_UNMAP_ALLOW_ABSENT,
                                          &unmapped, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, ENOENT);
    assert_int_equal(unmapped, 1);
    assert_int_equal(vfi_container_mapping_count(c), 0);
    assert_int_equal(mappings(f, c), 1);     /* the foreign one */
    assert_ok(vfi_iommufd_ioas_unmap(f->be, ioas, 0x103000, 2 * PAGE, NULL, &err), err);

    /* the same under an address-space unmap: its mappings are gone from the
     * container (unmapped one by one), the foreign one stays */
    assert_ok(vfi_address_space_dma_map(f->as, 0x500000, PAGE, buf, false, &err), err);
    assert_ok(vfi_address_space_dma_map(f->as, 0x501000, PAGE, buf, false, &err), err);
    assert_ok(vfi_iommufd_ioas_map(f->be, ioas, 0x502000, 2 * PAGE, buf, false, &err), err);
    assert_int_equal(mappings(f, c), 3);
    assert_ok(vfi_address_space_dma_unmap(f->as, 0x500000, 0x3000, 0, &err), err);
    assert_int_equal(vfi_address_space_mapping_count(f->as), 0);
    assert_int_equal(vfi_container_mapping_count(c), 0);
    assert_int_equal(mappings(f, c), 1);
    assert_ok(vfi_iommufd_ioas_unmap(f->be, ioas, 0x502000, 2 * PAGE, NULL, &err), err);
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
        cmocka_unit_test(test_unmap_edge_cut),
        cmocka_unit_test(test_unmap_across_msi_window),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_as_unmap_skips_container_without_mapping),
        cmocka_unit_test(test_unmap_enoent_resync),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
