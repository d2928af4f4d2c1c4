/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * VFIO device DMA logging: the probe at attach, the ranges given to
 * DMA_LOGGING_START (the container's mapped ranges, adjacent ones merged,
 * merged across the smallest gaps when over the limit, halved on E2BIG),
 * the device-level calls and their argument checks.
 */
#include <errno.h>

#include <linux/vfio.h>

#include "test-dirty-helpers.h"
/* raw ioctls to the model; a reader with a device source (no public way) */
#include "util/kernel-internal.h"

/* The START control as the library passed it (the last ioctl). */
static struct vfio_device_feature_dma_logging_control last_start(Fixture *f)
{
    uint8_t buf[sizeof(struct vfio_device_feature) +
                sizeof(struct vfio_device_feature_dma_logging_control)];
    struct vfio_device_feature_dma_logging_control ctl;
    struct vfio_device_feature hdr;
    unsigned long req;

    assert_int_equal(vfi_sim_last_ioctl(f->sim, &req, buf, sizeof(buf)), sizeof(buf));
    assert_int_equal(req, VFIO_DEVICE_FEATURE);
    memcpy(&hdr, buf, sizeof(hdr));
    assert_int_equal(hdr.argsz, sizeof(buf));
    assert_int_equal(hdr.flags, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_DMA_LOGGING_START);
    memcpy(&ctl, buf + sizeof(hdr), sizeof(ctl));
    return ctl;
}

static void test_probe(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    g_autoptr(GError) err = NULL;
    bool offered = true;

    /* not bound: refused before any ioctl */
    assert_false(vfi_device_dma_logging_probe(fdev(f, "l0"), &offered, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_false(vfi_device_dma_logging_probe(NULL, &offered, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);

    attach_ok(f, "l0", &prefer_logging);
    attach_ok(f, "a0", NULL);
    attach_ok(f, "ml", NULL);
    attach_ok(f, "m0", NULL);
    assert_true(vfi_device_offers_dma_logging(fdev(f, "l0")));
    assert_false(vfi_device_offers_dma_logging(fdev(f, "a0")));
    assert_true(vfi_device_offers_dma_logging(fdev(f, "ml")));
    assert_false(vfi_device_offers_dma_logging(fdev(f, "m0")));
    assert_ok(vfi_device_dma_logging_probe(fdev(f, "a0"), &offered, &err), err);
    assert_false(offered);
    assert_ok(vfi_device_dma_logging_probe(fdev(f, "l0"), &offered, &err), err);
    assert_true(offered);

    /* a probe failing otherwise than ENOTTY fails the attach */
    detach_ok(f, "ml");
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_DEVICE_FEATURE, EIO);
    assert_false(vfi_address_space_attach_device(f->as, f->be, fdev(f, "ml"), NULL, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, EIO);
    assert_null(vfi_device_get_container(fdev(f, "ml")));
    check_consistent(f);
    fixture_free(f);
}

static void test_ranges(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    g_autoptr(GError) err = NULL;
    struct vfio_device_feature_dma_logging_control ctl;

    attach_ok(f, "l0", &prefer_logging);
    /* adjacent mappings are one range */
    map_ok(f, 0, MIB);
    map_ok(f, MIB, MIB);
    map_ok(f, 4 * MIB, MIB);
    assert_ok(vfi_address_space_dirty_tracking_start(f->as, &err), err);
    ctl = last_start(f);
    assert_int_equal(ctl.num_ranges, 2);
    assert_int_equal(ctl.page_size, PAGE);
    stop_all(f);

    /* after an unmap, the hole is not logged */
    assert_ok(vfi_address_space_dma_unmap(f->as, MIB, MIB, 0, &err), err);
    assert_ok(vfi_address_space_dirty_tracking_start(f->as, &err), err);
    ctl = last_start(f);
    assert_int_equal(ctl.num_ranges, 2);
    stop_all(f);
    fixture_free(f);
}

/* 300 mapped ranges: 256 given, merged across the 44 smallest gaps; every
 * mapped page is still logged. */
static void test_ranges_over_limit(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    g_autoptr(GError) err = NULL;
    VfiDirtyLog *log = log_new(0, PAGE, 8192);
    struct vfio_device_feature_dma_logging_control ctl;
    uint64_t iova = 0;

    attach_ok(f, "l0", &prefer_logging);
    for (unsigned i = 0; i < 300; i++) {
        map_ok(f, iova, PAGE);
        /* gaps of 1 page for every 7th range, else 20 pages */
        iova += PAGE + (i % 7 == 0 ? 1 : 20) * PAGE;
    }
    assert_true(iova / PAGE < 8192);
    assert_ok(vfi_address_space_dirty_tracking_start(f->as, &err), err);
    ctl = last_start(f);
    assert_int_equal(ctl.num_ranges, VFI_DMA_LOGGING_MAX_RANGES);

    iova = 0;
    for (unsigned i = 0; i < 300; i++) {
        dma_ok(f, "l0", iova, PAGE);
        iova += PAGE + (i % 7 == 0 ? 1 : 20) * PAGE;
    }
    assert_ok(vfi_address_space_sync_dirty(f->as, log, &err), err);
    assert_int_equal(log_count(log), 300);
    stop_all(f);

    /* a driver with a lower limit: E2BIG halves the count */
    vfi_sim_fail_next(f->sim, VFI_SIM_OP_DEVICE_FEATURE, E2BIG);
    assert_ok(vfi_address_space_dirty_tracking_start(f->as, &err), err);
    ctl = last_start(f);
    assert_int_equal(ctl.num_ranges, VFI_DMA_LOGGING_MAX_RANGES / 2);
    log_clear(log);
    dma_ok(f, "l0", 0, PAGE);
    assert_ok(vfi_address_space_sync_dirty(f->as, log, &err), err);
    assert_int_equal(log_count(log), 1);
    stop_all(f);
    log_free(log);
    fixture_free(f);
}

/* Asked directly, the model refuses a report of 2 KiB pages and takes 4 KiB. */
static void report_small_pages_raw(VfiDevice *d, uint64_t *bm)
{
    union {
        struct vfio_device_feature hdr;
        uint64_t align;
        uint8_t bytes[sizeof(struct vfio_device_feature) +
                      sizeof(struct vfio_device_feature_dma_logging_report)];
    } buf;
    struct vfio_device_feature_dma_logging_report rep = {
        .iova = 0, .length = 2 * PAGE, .page_size = 2048, .bitmap = (uintptr_t)bm,
    };

    memset(&buf, 0, sizeof(buf));
    buf.hdr.argsz = sizeof(buf);
    buf.hdr.flags = VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT;
    memcpy(buf.bytes + sizeof(buf.hdr), &rep, sizeof(rep));
    assert_int_equal(vfi_kernel_ioctl(vfi_device_get_fd(d), VFIO_DEVICE_FEATURE, &buf,
                                       "test"), -EINVAL);
    rep.page_size = PAGE;
    memcpy(buf.bytes + sizeof(buf.hdr), &rep, sizeof(rep));
    assert_int_equal(vfi_kernel_ioctl(vfi_device_get_fd(d), VFIO_DEVICE_FEATURE, &buf,
                                       "test"), 0);
}

static void test_device_calls(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    g_autoptr(GError) err = NULL;
    VfiDevice *d = fdev(f, "l0");
    VfiDmaLoggingRange r = { .iova = 0, .length = MIB };
    uint64_t bm[2] = { 0, 0 };
    uint64_t ioctls;

    attach_ok(f, "l0", NULL);   /* not preferred: the library does not log */
    map_ok(f, 0, MIB);
    ioctls = vfi_sim_ioctl_count(f->sim);
    assert_false(vfi_device_dma_logging_start(d, PAGE, NULL, 1, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_device_dma_logging_start(d, 3 * PAGE, &r, 1, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_device_dma_logging_report(d, 0, PAGE, PAGE, NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_device_dma_logging_report(d, 512, PAGE, PAGE, bm, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), ioctls);

    /* report before start: the kernel's EINVAL */
    assert_false(vfi_device_dma_logging_report(d, 0, PAGE, PAGE, bm, &err));
    assert_gerror(err, VFI_KERNEL_ERROR, EINVAL);
    assert_ok(vfi_device_dma_logging_start(d, PAGE, &r, 1, &err), err);
    dma_ok(f, "l0", 3 * PAGE, PAGE);
    /* an odd byte address: no alignment needed */
    assert_ok(vfi_device_dma_logging_report(d, 0, 64 * PAGE, PAGE, (uint8_t *)bm + 1, &err),
              err);
    assert_int_equal(bm[0], UINT64_C(1) << (8 + 3));
    assert_int_equal(bm[1], 0);

    /* report pages below 4 KiB: the vfio core's EINVAL; the library refuses
     * them first, the model too when asked directly */
    ioctls = vfi_sim_ioctl_count(f->sim);
    assert_false(vfi_device_dma_logging_report(d, 0, 2 * PAGE, 2048, bm, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), ioctls);
    report_small_pages_raw(d, bm);
    assert_ok(vfi_device_dma_logging_stop(d, &err), err);
    fixture_free(f);
}

/* A container with a logging device refuses logs of pages below 4 KiB
 * before any ioctl (DMA_LOGGING_REPORT would say EINVAL; in the kernel and
 * the model an IOAS with a device is at least 4 KiB aligned, so the IOAS
 * alignment refuses such a log first). */
static void test_log_page_below_4k(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    g_autoptr(GError) err = NULL;
    VfiDirtyLog *small = log_new(0, 2048, 2 * MIB / 2048);
    VfiDirtyLog *log = log_new(0, PAGE, MIB / PAGE);
    VfiContainer *c;
    uint64_t ioctls;

    attach_ok(f, "ml", &prefer_logging);
    map_ok(f, 0, MIB);
    c = container_of_dev(f, "ml");
    assert_ok(vfi_container_dirty_tracking_start(c, &err), err);
    assert_true(vfi_device_dma_logging_active(fdev(f, "ml")));
    dma_ok(f, "ml", 3 * PAGE, PAGE);
    ioctls = vfi_sim_ioctl_count(f->sim);
    assert_false(vfi_container_sync_dirty(c, small, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_container_query_dirty(c, 0, MIB, small, 0, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_address_space_sync_dirty(f->as, small, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_false(vfi_container_dma_unmap_dirty(c, 0, MIB, small, 0, NULL, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_int_equal(vfi_sim_ioctl_count(f->sim), ioctls);
    assert_int_equal(log_count(small), 0);
    /* 4 KiB pages are fine */
    assert_ok(vfi_container_sync_dirty(c, log, &err), err);
    assert_int_equal(log_count(log), 1);
    assert_true(log_test(log, 3));
    /* logging stopped: no device source, the rule no longer applies (the
     * sync is then refused for tracking being off) */
    assert_ok(vfi_container_dirty_tracking_stop(c, &err), err);
    assert_false(vfi_container_sync_dirty(c, small, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    log_free(small);
    log_free(log);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_ranges_over_limit),
        cmocka_unit_test(test_device_calls),
        cmocka_unit_test(test_log_page_below_4k),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
