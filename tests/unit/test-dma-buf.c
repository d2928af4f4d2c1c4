/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * dma-buf export of a device BAR (VFIO_DEVICE_FEATURE_DMA_BUF, Linux 6.19)
 * and peer-to-peer DMA through it: one device's BAR exported, mapped by
 * file (IOMMU_IOAS_MAP_FILE) into an address space with another device
 * attached, whose DMA at that IOVA must land in the first device's BAR
 * (the model's BAR store, vfi_sim_device_bar_read()), and no longer after
 * the unmap. The kernel's refusals (no P2P provider, an mdev, no such BAR,
 * past the BAR's end, several ranges, a revoked dma-buf), the library's
 * refusals before any ioctl, and fault injection at every ioctl of export +
 * map + DMA + unmap, which must leave no kernel object, no dma-buf and no
 * fd behind.
 *
 * Built against UAPI headers without VFIO_DEVICE_FEATURE_DMA_BUF (6.12's),
 * the calls check their inputs and then fail with VFI_ERROR_NOT_SUPPORTED,
 * without an ioctl.
 */
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "config.h"
#include "test-container-helpers.h"

#define PAGE 4096ULL
#define P2P_IOVA 0x3000000ull

static const char topo[] =
    "[iommu a]\ndirty-tracking=false\n"
    "[device bar0]\niommu=a\n"                      /* the exporter */
    "[device dma0]\niommu=a\n"                      /* the peer doing DMA */
    "[device noprov]\niommu=a\np2p-provider=false\n"
    "[device m0]\nmdev=true\n";

static void bind_ok(Fixture *f, const char *name)
{
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_device_bind(fdev(f, name), f->be, &err), err);
}

/* Bad inputs: refused before any ioctl, with or without the feature. */
static void test_refused_before_ioctl(void **state)
{
    Fixture *f = fixture_new(topo);
    VfiDevice *d = fdev(f, "bar0");
    VfiDmaBufRange r = { 0, 4 * PAGE }, unaligned = { 0x800, PAGE }, empty = { 0, 0 },
                   over = { UINT64_MAX - PAGE + 1, 2 * PAGE };
    VfiDmaBufRange two[2] = { { 0, PAGE }, { UINT64_MAX & ~(PAGE - 1), PAGE } };
    unsigned base;
    int fd = -1;

    assert_refused(f, vfi_device_export_dma_buf(d, 0, &r, 1, O_RDWR, &fd, errp),
                   VFI_ERROR_WRONG_STATE);
    bind_ok(f, "bar0");
    base = count_fds();         /* the iommufd is open from the first bind */
    assert_refused(f, vfi_device_export_dma_buf(NULL, 0, &r, 1, O_RDWR, &fd, errp),
                   VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_device_export_dma_buf(d, 6, &r, 1, O_RDWR, &fd, errp),
                   VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_device_export_dma_buf(d, 0, NULL, 1, O_RDWR, &fd, errp),
                   VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_device_export_dma_buf(d, 0, &r, 0, O_RDWR, &fd, errp),
                   VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_device_export_dma_buf(d, 0, &unaligned, 1, O_RDWR, &fd, errp),
                   VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_device_export_dma_buf(d, 0, &empty, 1, O_RDWR, &fd, errp),
                   VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_device_export_dma_buf(d, 0, &over, 1, O_RDWR, &fd, errp),
                   VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_device_export_dma_buf(d, 0, two, 2, O_RDWR, &fd, errp),
                   VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_device_export_dma_buf(d, 0, &r, 1, O_RDWR | O_APPEND, &fd, errp),
                   VFI_ERROR_INVALID_ARGUMENT);
    assert_refused(f, vfi_address_space_dma_map_device_bar(f->as, P2P_IOVA, d, 7, 0, PAGE,
                                                           false, NULL, errp),
                   VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(fd, -1);
    assert_int_equal(count_fds(), base);
    fixture_free(f);
}

#if HAVE_VFIO_DEVICE_FEATURE_DMA_BUF && HAVE_IOMMU_IOAS_MAP_FILE

/* A kernel refusal with errno @code whose message contains @text. */
#define assert_kernel(call, code, text) do {                                 \
        g_autoptr(GError) e_ = NULL;                                         \
        GError **errp = &e_;                                                 \
        assert_false(call);                                                  \
        assert_non_null(e_);                                                 \
        if (!strstr(e_->message, (text))) {                                  \
            fail_msg("message without \"%s\": %s", (text), e_->message);    \
        }                                                                    \
        assert_gerror(e_, VFI_KERNEL_ERROR, (code));                        \
    } while (0)

static void dma_ok(Fixture *f, const char *dev, uint64_t iova, uint64_t value)
{
    g_autoptr(GError) err = NULL;

    assert_ok(vfi_sim_dma_write_data(f->sim, dev, iova, &value, sizeof(value), &err), err);
}

static uint64_t bar_at(Fixture *f, const char *dev, uint64_t off)
{
    g_autoptr(GError) err = NULL;
    uint64_t v = 0;

    assert_ok(vfi_sim_device_bar_read(f->sim, dev, 0, off, &v, sizeof(v), &err), err);
    return v;
}

/* Export a slice of bar0's BAR0, map it, DMA from dma0 lands at the
 * slice's offset in the BAR; after the unmap the DMA faults and the BAR
 * keeps what it had. */
static void test_p2p(void **state)
{
    Fixture *f = fixture_new(topo);
    VfiDmaBufRange r = { 0x10000, 0x10000 };
    g_autoptr(GError) err = NULL;
    unsigned base;
    bool offered = false;
    int fd = -1;

    bind_ok(f, "bar0");
    attach_ok(f, "dma0", NULL);
    base = count_fds();         /* the iommufd is open from the first bind */
    assert_ok(vfi_device_dma_buf_probe(fdev(f, "bar0"), &offered, &err), err);
    assert_true(offered);
    assert_ok(vfi_device_export_dma_buf(fdev(f, "bar0"), 0, &r, 1, O_RDWR | O_CLOEXEC, &fd,
                                        &err), err);
    assert_true(fd >= 0);
    assert_int_equal(vfi_sim_live_dma_bufs(f->sim), 1);
    assert_ok(vfi_address_space_dma_map_file(f->as, P2P_IOVA, r.length, fd, 0, false, NULL,
                                             &err), err);
    close(fd);                  /* the address space's duplicate keeps it */
    assert_int_equal(vfi_sim_live_dma_bufs(f->sim), 1);
    dma_ok(f, "dma0", P2P_IOVA + 0x80, 0x1122334455667788ull);
    assert_int_equal(bar_at(f, "bar0", 0x10080), 0x1122334455667788ull);
    assert_int_equal(bar_at(f, "bar0", 0x80), 0);
    assert_ok(vfi_address_space_dma_unmap(f->as, P2P_IOVA, r.length, 0, &err), err);
    assert_int_equal(vfi_sim_live_dma_bufs(f->sim), 0);
    assert_false(vfi_sim_dma_write_data(f->sim, "dma0", P2P_IOVA + 0x80, &r, 8, &err));
    g_clear_error(&err);
    assert_int_equal(bar_at(f, "bar0", 0x10080), 0x1122334455667788ull);
    assert_int_equal(count_fds(), base);
    fixture_free(f);
}

/* The one-call map: a kernel-chosen IOVA, replayed into a container made
 * after it, nothing left after the unmap. */
static void test_map_device_bar(void **state)
{
    Fixture *f = fixture_new(topo);
    g_autoptr(GError) err = NULL;
    unsigned base;
    uint64_t iova = 0;

    bind_ok(f, "bar0");
    base = count_fds();         /* the iommufd is open from the first bind */
    assert_ok(vfi_address_space_dma_map_device_bar(f->as, P2P_IOVA, fdev(f, "bar0"), 0, 0,
                                                   4 * PAGE, false, &iova, &err), err);
    assert_int_equal(iova, P2P_IOVA);
    attach_ok(f, "dma0", NULL);         /* replayed by file into its container */
    dma_ok(f, "dma0", P2P_IOVA + 3 * PAGE, 0xfeedull);
    assert_int_equal(bar_at(f, "bar0", 3 * PAGE), 0xfeedull);
    assert_ok(vfi_address_space_dma_map_device_bar(f->as, VFI_IOVA_ANY, fdev(f, "bar0"), 0,
                                                   8 * PAGE, PAGE, true, &iova, &err), err);
    /* read-only: the peer cannot write through it */
    assert_false(vfi_sim_dma_write_data(f->sim, "dma0", iova, &iova, 8, &err));
    g_clear_error(&err);
    assert_int_equal(vfi_sim_live_dma_bufs(f->sim), 2);
    /* a refused map names the BAR and what the errno means; the dma-buf
     * is gone with the call's fd */
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_IOAS_MAP_FILE, ENODEV);
    assert_false(vfi_address_space_dma_map_device_bar(f->as, VFI_IOVA_ANY, fdev(f, "bar0"), 0,
                                                      0, PAGE, false, NULL, &err));
    assert_non_null(strstr(err->message, "BAR 0"));
    assert_non_null(strstr(err->message, "revoked"));
    assert_gerror(err, VFI_KERNEL_ERROR, ENODEV);
    assert_int_equal(vfi_sim_live_dma_bufs(f->sim), 2);
    assert_ok(vfi_address_space_dma_unmap(f->as, iova, PAGE, 0, &err), err);
    assert_ok(vfi_address_space_dma_unmap(f->as, P2P_IOVA, 4 * PAGE, 0, &err), err);
    assert_int_equal(vfi_sim_live_dma_bufs(f->sim), 0);
    assert_int_equal(count_fds(), base);
    fixture_free(f);
}

static int export1(Fixture *f, const char *dev, uint64_t off, uint64_t len)
{
    VfiDmaBufRange r = { off, len };
    g_autoptr(GError) err = NULL;
    int fd = -1;

    assert_ok(vfi_device_export_dma_buf(fdev(f, dev), 0, &r, 1, O_RDWR | O_CLOEXEC, &fd, &err),
              err);
    return fd;
}

/* What the kernel refuses, with the reason in the message. */
static void test_kernel_refusals(void **state)
{
    Fixture *f = fixture_new(topo);
    VfiDmaBufRange r = { 0, PAGE }, past = { (1u << 20) - PAGE, 2 * PAGE };
    VfiDmaBufRange two[2] = { { 0, PAGE }, { 2 * PAGE, PAGE } };
    g_autoptr(GError) err = NULL;
    unsigned base;
    bool offered = true;
    int fd = -1;

    bind_ok(f, "bar0");
    bind_ok(f, "noprov");
    bind_ok(f, "m0");
    attach_ok(f, "dma0", NULL);
    base = count_fds();         /* the iommufd is open from the first bind */
    assert_kernel(vfi_device_export_dma_buf(fdev(f, "noprov"), 0, &r, 1, O_RDWR, &fd, errp),
                  EINVAL, "no P2P provider");
    assert_kernel(vfi_device_export_dma_buf(fdev(f, "m0"), 0, &r, 1, O_RDWR, &fd, errp),
                  ENOTTY, "CONFIG_VFIO_PCI_DMABUF");
    assert_ok(vfi_device_dma_buf_probe(fdev(f, "m0"), &offered, &err), err);
    assert_false(offered);
    assert_kernel(vfi_device_export_dma_buf(fdev(f, "bar0"), 2, &r, 1, O_RDWR, &fd, errp),
                  ENODEV, "no BAR the device has");
    assert_kernel(vfi_device_export_dma_buf(fdev(f, "bar0"), 0, &past, 1, O_RDWR, &fd, errp),
                  EINVAL, "past the BAR's end");
    assert_int_equal(fd, -1);
    /* iommufd maps a dma-buf of one range only, and no more than it has */
    assert_ok(vfi_device_export_dma_buf(fdev(f, "bar0"), 0, two, 2, O_RDWR, &fd, &err), err);
    assert_kernel(vfi_address_space_dma_map_file(f->as, P2P_IOVA, PAGE, fd, 0, false, NULL,
                                                 errp), EOPNOTSUPP, "IOMMU_IOAS_MAP_FILE");
    close(fd);
    fd = export1(f, "bar0", 0, PAGE);
    assert_kernel(vfi_address_space_dma_map_file(f->as, P2P_IOVA, 2 * PAGE, fd, 0, false, NULL,
                                                 errp), EINVAL, "IOMMU_IOAS_MAP_FILE");
    assert_int_equal(vfi_address_space_mapping_count(f->as), 0);
    /* a mapping of it works until its device closes: revoked, DMA faults,
     * a new map ENODEV */
    assert_ok(vfi_address_space_dma_map_file(f->as, P2P_IOVA, PAGE, fd, 0, false, NULL, &err),
              err);
    dma_ok(f, "dma0", P2P_IOVA, 7);
    vfi_device_free(fdev(f, "bar0"));
    f->devs[0] = NULL;
    assert_false(vfi_sim_dma_write_data(f->sim, "dma0", P2P_IOVA, &r, 8, &err));
    assert_non_null(strstr(err->message, "revoked"));
    g_clear_error(&err);
    assert_false(vfi_sim_dma_write(f->sim, "dma0", P2P_IOVA, PAGE, &err));  /* no data */
    g_clear_error(&err);
    assert_kernel(vfi_address_space_dma_map_file(f->as, P2P_IOVA + PAGE, PAGE, fd, 0, false,
                                                 NULL, errp), ENODEV, "IOMMU_IOAS_MAP_FILE");
    close(fd);
    assert_ok(vfi_address_space_dma_unmap(f->as, P2P_IOVA, PAGE, 0, &err), err);
    assert_int_equal(vfi_sim_live_dma_bufs(f->sim), 0);
    assert_int_equal(count_fds(), base - 1);    /* bar0's cdev closed */
    fixture_free(f);
}

/* The fault scenario: dma0 attached, bar0 bound, the one-call map of a
 * BAR slice, P2P DMA, unmap, detach. Stops at the first failure. */
static bool fault_step(Fixture *f, GError **errp)
{
    uint64_t v = 0x5a5a;

    return vfi_address_space_attach_device(f->as, f->be, fdev(f, "dma0"), NULL, errp) &&
           vfi_device_bind(fdev(f, "bar0"), f->be, errp) &&
           vfi_address_space_dma_map_device_bar(f->as, P2P_IOVA, fdev(f, "bar0"), 0, PAGE,
                                                2 * PAGE, false, NULL, errp) &&
           vfi_sim_dma_write_data(f->sim, "dma0", P2P_IOVA, &v, sizeof(v), errp) &&
           vfi_address_space_dma_unmap(f->as, P2P_IOVA, 2 * PAGE, 0, errp) &&
           vfi_address_space_detach_device(f->as, fdev(f, "dma0"), errp);
}

static void fault_one(unsigned k, int err_no, uint64_t n, unsigned base)
{
    g_autoptr(GError) err = NULL;
    Fixture *f = fixture_new(topo);
    VfiMappingInfo mi;

    vfi_sim_fail_nth(f->sim, k, err_no);
    if (!fault_step(f, &err) && !g_error_matches(err, VFI_KERNEL_ERROR, err_no)) {
        fail_msg("ioctl %u/%" PRIu64 " failing with %s: got %s/%d: %s", k, n,
                 g_strerror(err_no), g_quark_to_string(err->domain), err->code, err->message);
    }
    g_clear_error(&err);
    vfi_sim_fail_clear(f->sim);
    check_consistent(f);
    /* a dma-buf lives only while a mapping of the address space holds it */
    assert_int_equal(vfi_sim_live_dma_bufs(f->sim), vfi_address_space_mapping_count(f->as));
    while (vfi_address_space_mapping(f->as, 0, &mi)) {
        assert_ok(vfi_address_space_dma_unmap(f->as, mi.iova, mi.size, 0, &err), err);
    }
    assert_int_equal(vfi_sim_live_dma_bufs(f->sim), 0);
    fixture_free(f);            /* no object left (asserted) */
    assert_int_equal(count_fds(), base);
}

static void test_faults(void **state)
{
    static const int errnos[] = { ENOMEM, EBUSY, EFAULT, EINVAL };
    unsigned base = count_fds();
    g_autoptr(GError) err = NULL;
    Fixture *f = fixture_new(topo);
    uint64_t n;

    assert_ok(fault_step(f, &err), err);
    n = vfi_sim_ioctl_count(f->sim);
    assert_int_equal(vfi_sim_op_count(f->sim, VFI_SIM_OP_IOAS_MAP_FILE), 1);
    assert_int_equal(bar_at(f, "bar0", PAGE), 0x5a5a);
    fixture_free(f);
    assert_int_equal(count_fds(), base);
    for (uint64_t k = 1; k <= n; k++) {
        for (unsigned e = 0; e < G_N_ELEMENTS(errnos); e++) {
            fault_one((unsigned)k, errnos[e], n, base);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_before_ioctl),
        cmocka_unit_test(test_p2p),
        cmocka_unit_test(test_map_device_bar),
        cmocka_unit_test(test_kernel_refusals),
        cmocka_unit_test(test_faults),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else /* UAPI headers without VFIO_DEVICE_FEATURE_DMA_BUF */

/* Good inputs: NOT_SUPPORTED, saying to rebuild, without an ioctl. */
static void test_not_built(void **state)
{
    Fixture *f = fixture_new(topo);
    VfiDmaBufRange r = { 0, PAGE };
    bool offered = true;
    int fd = -1;

    bind_ok(f, "bar0");
    assert_refused(f, vfi_device_export_dma_buf(fdev(f, "bar0"), 0, &r, 1, O_RDWR, &fd, errp),
                   VFI_ERROR_NOT_SUPPORTED);
    assert_refused(f, vfi_device_dma_buf_probe(fdev(f, "bar0"), &offered, errp),
                   VFI_ERROR_NOT_SUPPORTED);
    assert_refused(f, vfi_address_space_dma_map_device_bar(f->as, P2P_IOVA, fdev(f, "bar0"),
                                                           0, 0, PAGE, false, NULL, errp),
                   VFI_ERROR_NOT_SUPPORTED);
    {
        g_autoptr(GError) err = NULL;

        assert_false(vfi_device_export_dma_buf(fdev(f, "bar0"), 0, &r, 1, O_RDWR, &fd, &err));
        assert_non_null(strstr(err->message, "without VFIO_DEVICE_FEATURE_DMA_BUF"));
    }
    assert_int_equal(fd, -1);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_before_ioctl),
        cmocka_unit_test(test_not_built),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

#endif
