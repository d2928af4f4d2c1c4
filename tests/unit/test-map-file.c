/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Mappings by file (IOMMU_IOAS_MAP_FILE, Linux 6.13): the backend call, the
 * container and address-space levels (fixed and kernel-chosen IOVAs,
 * read-only, the record's duplicate of the fd and its offset, replay into a
 * second container, the ownership and whole-mapping unmap rules), the
 * refusals made before any ioctl, and fault injection at every ioctl of a
 * map + replay + unmap scenario, which must leave no kernel object and no
 * fd behind. The process's fds are counted from /proc/self/fd: the model's
 * own fds are real ones too.
 *
 * Built against UAPI headers without IOMMU_IOAS_MAP_FILE (6.12's), the
 * same calls must fail with VFI_ERROR_NOT_SUPPORTED, without an ioctl.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "test-container-helpers.h"

#define PAGE 4096ULL

static const char topo[] =
    "[iommu a]\ndirty-tracking=true\n"
    "[iommu b]\ndirty-tracking=false\n"
    "[device a0]\niommu=a\n[device b0]\niommu=b\n";

/* A memfd of @size bytes. */
static int memfd(uint64_t size)
{
    int fd = memfd_create("vfi-test", MFD_CLOEXEC);

    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    return fd;
}

#if HAVE_IOMMU_IOAS_MAP_FILE

static int ioas_maps(Fixture *f, VfiContainer *c)
{
    return vfi_sim_ioas_mapping_count(f->sim, vfi_iommufd_get_fd(f->be),
                                       vfi_container_get_ioas_id(c));
}

/* A kernel refusal with errno @code. */
#define assert_kernel(call, code) do {                                       \
        g_autoptr(GError) e_ = NULL;                                         \
        GError **errp = &e_;                                                 \
        assert_false(call);                                                  \
        assert_gerror(e_, VFI_KERNEL_ERROR, (code));                        \
    } while (0)

/* The backend: fixed and any IOVA, read-only, the kernel's refusals. */
static void test_backend(void **state)
{
    Fixture *f = fixture_new(topo);
    g_autoptr(GError) err = NULL;
    int fd = memfd(8 * PAGE), closed = memfd(PAGE), devnull = open("/dev/null", O_RDWR);
    uint32_t ioas;
    uint64_t iova = 0;

    assert_ok(vfi_iommufd_connect(f->be, &err), err);
    assert_ok(vfi_iommufd_ioas_alloc(f->be, &ioas, &err), err);
    assert_ok(vfi_iommufd_ioas_map_file(f->be, ioas, 0x100000, fd, 0, 2 * PAGE, false, NULL,
                                        &err), err);
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_IOAS_MAP_FILE), 1);
    assert_ok(vfi_iommufd_ioas_map_file(f->be, ioas, VFI_IOVA_ANY, fd, 4 * PAGE, 4 * PAGE,
                                        true, &iova, &err), err);
    /* the kernel's choice: aligned to the length and the offset (16 KiB) */
    assert_true(iova >= PAGE && iova % (4 * PAGE) == 0);
    assert_int_equal(vfi_sim_ioas_mapping_count(f->sim, vfi_iommufd_get_fd(f->be), ioas), 2);
    assert_kernel(vfi_iommufd_ioas_map_file(f->be, ioas, 0x101000, fd, 0, PAGE, false, NULL,
                                            errp), EEXIST);
    close(closed);
    assert_kernel(vfi_iommufd_ioas_map_file(f->be, ioas, 0x200000, closed, 0, PAGE, false,
                                            NULL, errp), EBADF);
    assert_kernel(vfi_iommufd_ioas_map_file(f->be, ioas, 0x200000, devnull, 0, PAGE, false,
                                            NULL, errp), EINVAL);
    assert_kernel(vfi_iommufd_ioas_map_file(f->be, ioas, 0x200000, fd, 7 * PAGE, 2 * PAGE,
                                            false, NULL, errp), EINVAL);
    assert_kernel(vfi_iommufd_ioas_map_file(f->be, 999, 0x200000, fd, 0, PAGE, false, NULL,
                                            errp), ENOENT);
    assert_refused(f, vfi_iommufd_ioas_map_file(f->be, ioas, 0x200000, -1, 0, PAGE, false,
                                                NULL, errp), VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_iommufd_ioas_map_file(f->be, ioas, 0x200000, fd, 0, 0, false, NULL,
                                                errp), VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_iommufd_ioas_map_file(f->be, ioas, 0x200000, fd, UINT64_MAX, 2,
                                                false, NULL, errp),
                   VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_iommufd_ioas_map_file(f->be, ioas, VFI_IOVA_ANY, fd, 0, PAGE,
                                                false, NULL, errp),
                   VFI_ERROR_INVALID_ARGUMENT);
    /* a kernel before 6.13 */
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_IOAS_MAP_FILE, ENOTTY);
    assert_false(vfi_iommufd_ioas_map_file(f->be, ioas, 0x200000, fd, 0, PAGE, false, NULL,
                                           &err));
    assert_non_null(strstr(err->message, "not supported by this kernel"));
    assert_non_null(strstr(err->message, "it exists from Linux 6.13"));
    assert_gerror(err, VFI_KERNEL_ERROR, ENOTTY);
    assert_ok(vfi_iommufd_ioas_unmap_all(f->be, ioas, &iova, &err), err);
    assert_int_equal(iova, 6 * PAGE);
    assert_ok(vfi_iommufd_destroy(f->be, ioas, &err), err);
    vfi_iommufd_disconnect(f->be);
    close(fd);
    close(devnull);
    fixture_free(f);
}

/* Info of mapping @i of @c: by file from @offset, owned by @owner. */
static void check_info(VfiContainer *c, unsigned i, uint64_t iova, uint64_t offset,
                       VfiMappingOwner owner, int not_fd)
{
    VfiMappingInfo mi;

    assert_true(vfi_container_mapping(c, i, &mi));
    assert_true(mi.by_file);
    assert_int_equal(mi.iova, iova);
    assert_int_equal(mi.offset, offset);
    assert_int_equal(mi.owner, owner);
    assert_null(mi.vaddr);
    assert_true(mi.fd >= 0 && mi.fd != not_fd);
}

/* Container level: fixed and kernel-chosen IOVAs, the duplicate outliving
 * the VMM's fd, DMA through it, read-only, refusals, unmap rules. */
static void test_container(void **state)
{
    unsigned base = test_count_process_fds();
    Fixture *f = fixture_new(topo);
    g_autoptr(GError) err = NULL;
    int fd = memfd(16 * PAGE);
    uint64_t iova = 0, done = 0;
    VfiContainer *c;

    attach_ok(f, "a0", NULL);
    c = vfi_device_get_container(fdev(f, "a0"));
    assert_ok(vfi_container_dma_map_file(c, 0x100000, 2 * PAGE, fd, PAGE, false, NULL, &err),
              err);
    assert_ok(vfi_container_dma_map_file(c, VFI_IOVA_ANY, 4 * PAGE, fd, 8 * PAGE, true, &iova,
                                         &err), err);
    assert_true(iova % (4 * PAGE) == 0);
    check_info(c, 0, iova < 0x100000 ? iova : 0x100000, iova < 0x100000 ? 8 * PAGE : PAGE,
               VFI_MAPPING_BY_CONTAINER, fd);
    close(fd);              /* the VMM's own: the records keep theirs */
    assert_ok(vfi_sim_dma_write(f->sim, "a0", 0x100000, 2 * PAGE, &err), err);
    assert_false(vfi_sim_dma_write(f->sim, "a0", iova, PAGE, &err));   /* read-only */
    g_clear_error(&err);
    fd = memfd(16 * PAGE);
    assert_refused(f, vfi_container_dma_map_file(c, 0x200000, PAGE, -1, 0, false, NULL, errp),
                   VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_container_dma_map_file(c, 0x200100, PAGE, fd, 0, false, NULL, errp),
                   VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_container_dma_map_file(c, 0x200000, 100, fd, 0, false, NULL, errp),
                   VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_container_dma_map_file(c, 0x200000, PAGE, fd, 0x100, false, NULL,
                                                 errp), VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_container_dma_map_file(c, 0xfee00000, PAGE, fd, 0, false, NULL,
                                                 errp), VFI_ERROR_INVALID_ARGUMENT);
    assert_ok(vfi_address_space_dma_map_file(f->as, 0x300000, PAGE, fd, 0, false, NULL, &err),
              err);
    assert_refused(f, vfi_container_dma_map_file(c, 0x300000, PAGE, fd, 0, false, NULL, errp),
                   VFI_ERROR_WRONG_STATE);
    assert_refused(f, vfi_container_dma_unmap(c, 0x100000, PAGE, 0, NULL, errp),
                   VFI_ERROR_INVALID_ARGUMENT);   /* cuts the mapping */
    assert_refused(f, vfi_container_dma_unmap(c, 0x300000, PAGE, 0, NULL, errp),
                   VFI_ERROR_WRONG_STATE);        /* the address space's */
    assert_ok(vfi_container_dma_unmap(c, 0x100000, 2 * PAGE, 0, &done, &err), err);
    assert_int_equal(done, 2 * PAGE);
    assert_false(vfi_sim_dma_write(f->sim, "a0", 0x100000, PAGE, &err));
    g_clear_error(&err);
    assert_ok(vfi_address_space_dma_unmap(f->as, 0x300000, PAGE, 0, &err), err);
    assert_ok(vfi_container_dma_map_file(c, 0x100000, PAGE, fd, 0, false, NULL, &err), err);
    assert_ok(vfi_container_dma_unmap_all(c, &done, &err), err);
    assert_int_equal(done, 5 * PAGE);
    assert_int_equal(ioas_maps(f, c), 0);
    close(fd);
    fixture_free(f);
    assert_int_equal(test_count_process_fds(), base);
}

/* Two containers of one address space (b0 refused a0's HWPT). */
static void two_containers(Fixture *f)
{
    attach_ok(f, "a0", NULL);
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_HWPT_ALLOC, EINVAL);
    attach_ok(f, "b0", NULL);
    assert_int_equal(vfi_address_space_container_count(f->as), 2);
}

/* Address-space level: remembered with no container (no ioctl), replayed
 * into the first and a second container from the duplicate after the VMM
 * closed its fd; kernel-chosen IOVA in both; unmap from both closes it. */
static void test_address_space(void **state)
{
    unsigned base = test_count_process_fds();
    Fixture *f = fixture_new(topo);
    g_autoptr(GError) err = NULL;
    int fd = memfd(16 * PAGE);
    uint64_t iova = 0, ioctls = vfi_sim_ioctl_count(f->sim);
    VfiMappingInfo mi;

    assert_refused(f, vfi_address_space_dma_map_file(f->as, VFI_IOVA_ANY, PAGE, fd, 0, false,
                                                     &iova, errp), VFI_ERROR_WRONG_STATE);
    assert_ok(vfi_address_space_dma_map_file(f->as, 0x100000, 2 * PAGE, fd, 2 * PAGE, false,
                                             NULL, &err), err);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), ioctls);
    assert_true(vfi_address_space_mapping(f->as, 0, &mi) && mi.by_file && mi.fd != fd &&
                mi.offset == 2 * PAGE && mi.fd >= 0);
    close(fd);
    two_containers(f);
    for (unsigned i = 0; i < 2; i++) {
        VfiContainer *c = vfi_address_space_container(f->as, i);

        assert_int_equal(ioas_maps(f, c), 1);
        check_info(c, 0, 0x100000, 2 * PAGE, VFI_MAPPING_BY_ADDRESS_SPACE, fd);
    }
    assert_ok(vfi_sim_dma_write(f->sim, "b0", 0x100000, 2 * PAGE, &err), err);
    fd = memfd(4 * PAGE);
    assert_ok(vfi_address_space_dma_map_file(f->as, VFI_IOVA_ANY, 4 * PAGE, fd, 0, false,
                                             &iova, &err), err);
    close(fd);
    assert_ok(vfi_sim_dma_write(f->sim, "a0", iova, 4 * PAGE, &err), err);
    assert_ok(vfi_sim_dma_write(f->sim, "b0", iova, 4 * PAGE, &err), err);
    assert_int_equal(vfi_address_space_mapping_count(f->as), 2);
    assert_ok(vfi_address_space_dma_unmap(f->as, iova, 4 * PAGE, 0, &err), err);
    assert_false(vfi_sim_dma_write(f->sim, "b0", iova, PAGE, &err));
    g_clear_error(&err);
    detach_ok(f, "a0");
    detach_ok(f, "b0");
    assert_int_equal(vfi_address_space_mapping_count(f->as), 1);
    fixture_free(f);        /* frees the address space with its mapping */
    assert_int_equal(test_count_process_fds(), base);
}

/* The fault scenario: map by file through the address space (no
 * container), attach (replay), a container-level map at a kernel-chosen
 * IOVA, an address-space map at one, unmaps, detach. Stops at the first
 * failure. */
static bool fault_step(Fixture *f, GError **errp)
{
    int fd = memfd(16 * PAGE);
    uint64_t iova = 0;
    VfiContainer *c = NULL;
    bool ok = vfi_address_space_dma_map_file(f->as, 0x100000, 2 * PAGE, fd, 0, false, NULL,
                                             errp) &&
              vfi_address_space_attach_device(f->as, f->be, fdev(f, "a0"), NULL, errp) &&
              (c = vfi_device_get_container(fdev(f, "a0"))) &&
              vfi_container_dma_map_file(c, VFI_IOVA_ANY, 4 * PAGE, fd, 4 * PAGE, true, &iova,
                                         errp) &&
              vfi_address_space_dma_map_file(f->as, VFI_IOVA_ANY, PAGE, fd, 8 * PAGE, false,
                                             &iova, errp) &&
              vfi_address_space_dma_unmap(f->as, iova, PAGE, 0, errp) &&
              vfi_address_space_dma_unmap(f->as, 0x100000, 2 * PAGE, 0, errp) &&
              vfi_address_space_detach_device(f->as, fdev(f, "a0"), errp);

    close(fd);
    return ok;
}

static void test_faults(void **state)
{
    static const int errnos[] = { ENOMEM, EBUSY, EFAULT, EINVAL };
    unsigned base = test_count_process_fds();
    g_autoptr(GError) err = NULL;
    Fixture *f = fixture_new(topo);
    uint64_t n;

    assert_ok(fault_step(f, &err), err);
    n = vfi_sim_ioctl_count(f->sim);
    assert_true(vfi_sim_op_count(f->sim, VFI_SIM_OP_IOAS_MAP_FILE) >= 3);
    fixture_free(f);
    assert_int_equal(test_count_process_fds(), base);
    for (uint64_t k = 1; k <= n; k++) {
        for (unsigned e = 0; e < G_N_ELEMENTS(errnos); e++) {
            f = fixture_new(topo);
            vfi_sim_fail_nth(f->sim, (unsigned)k, errnos[e]);
            if (!fault_step(f, &err) &&
                !g_error_matches(err, VFI_KERNEL_ERROR, errnos[e])) {
                fail_msg("ioctl %" PRIu64 "/%" PRIu64 " failing with %s: got %s/%d: %s", k, n,
                         g_strerror(errnos[e]), g_quark_to_string(err->domain), err->code,
                         err->message);
            }
            g_clear_error(&err);
            vfi_sim_fail_clear(f->sim);
            check_consistent(f);
            for (unsigned i = 0; i < vfi_address_space_container_count(f->as); i++) {
                VfiContainer *c = vfi_address_space_container(f->as, i);

                assert_int_equal(ioas_maps(f, c), (int)vfi_container_mapping_count(c));
            }
            fixture_free(f);            /* no object left (asserted) */
            assert_int_equal(test_count_process_fds(), base);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backend),
        cmocka_unit_test(test_container),
        cmocka_unit_test(test_address_space),
        cmocka_unit_test(test_faults),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else /* built against UAPI headers without IOMMU_IOAS_MAP_FILE */

/* @err is NOT_SUPPORTED and says to rebuild with newer headers. */
static void assert_not_supported(GError **err)
{
    assert_non_null(*err);
    assert_non_null(strstr((*err)->message, "without IOMMU_IOAS_MAP_FILE (6.13 has it)"));
    assert_non_null(strstr((*err)->message, "rebuild with newer headers"));
    assert_gerror(*err, VFI_ERROR, VFI_ERROR_NOT_SUPPORTED);
}

static void test_built_without(void **state)
{
    unsigned base = test_count_process_fds();
    Fixture *f = fixture_new(topo);
    g_autoptr(GError) err = NULL;
    int fd = memfd(PAGE);
    uint32_t ioas;
    uint64_t ioctls, iova;

    attach_ok(f, "a0", NULL);
    assert_ok(vfi_iommufd_ioas_alloc(f->be, &ioas, &err), err);
    ioctls = vfi_sim_ioctl_count(f->sim);
    assert_false(vfi_iommufd_ioas_map_file(f->be, ioas, 0x100000, fd, 0, PAGE, false, NULL,
                                           &err));
    assert_not_supported(&err);
    assert_false(vfi_container_dma_map_file(vfi_device_get_container(fdev(f, "a0")),
                                            VFI_IOVA_ANY, PAGE, fd, 0, false, &iova, &err));
    assert_not_supported(&err);
    assert_false(vfi_address_space_dma_map_file(f->as, 0x100000, PAGE, fd, 0, false, NULL,
                                                &err));
    assert_not_supported(&err);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), ioctls);
    assert_int_equal(vfi_address_space_mapping_count(f->as), 0);
    assert_ok(vfi_iommufd_destroy(f->be, ioas, &err), err);
    close(fd);
    fixture_free(f);
    assert_int_equal(test_count_process_fds(), base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_built_without),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
