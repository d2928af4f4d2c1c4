/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How messages and traces name a container (vfi_container_describe(),
 * hw/vfio/container/container.c): "ioas N" on IOMMUFD, "type1 container
 * fd N" on type1 (which has no IOAS: never "ioas 0"), checked through the
 * public API against the kernel model: the refusals of a query and of a
 * container's reader (one query implementation for both), of an address
 * space's free and of a second attach; the container-level trace events of
 * type1's IOMMU dirty tracking (a start, the catch-up of a device attached
 * while tracking); the backend choice of a refused attach traced as dropped.
 */
#include "test-common.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "vfio-iommufd/container.h"
#include "vfio-iommufd/dirty.h"
#include "vfio-iommufd/trace.h"

static const char topology[] =
    "[iommu a]\ndirty-tracking=true\n"
    "[device lg]\niommu=a\ndma-logging=true\n"
    "[device solo]\niommu=a\n";

#define PG 4096ull
#define NR 64
#define RAM (NR * PG)

typedef struct Scene {
    VfiSim *sim;
    VfiIommufd *be;           /* NULL on type1 */
    VfiAddressSpace *as;
    VfiDevice *lg, *solo;
    void *ram;
    uint64_t bits[NR / 64];
    VfiDirtyLog log;
    FILE *trace;              /* the log back end's lines while capturing */
} Scene;

static void scene_up(Scene *s, VfiBackendKind kind)
{
    g_autoptr(GError) err = NULL;

    s->sim = test_sim_new(topology);
    s->be = kind == VFI_BACKEND_TYPE1 ? NULL : vfi_iommufd_new();
    s->as = vfi_address_space_new(NULL);
    s->ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(s->ram != MAP_FAILED);
    s->log = (VfiDirtyLog){ .base_iova = 0, .page_size = PG, .bitmap = s->bits,
                            .nr_pages = NR };
    s->lg = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(s->sim, "lg"), &err);
    assert_ok(s->lg != NULL, err);
    s->solo = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(s->sim, "solo"), &err);
    assert_ok(s->solo != NULL, err);
    assert_ok(vfi_address_space_set_backend(s->as, kind, &err), err);
}

static void scene_down(Scene *s)
{
    g_autoptr(GError) err = NULL;

    vfi_device_free(s->lg);
    vfi_device_free(s->solo);
    assert_ok(vfi_address_space_free(s->as, &err), err);
    assert_ok(vfi_iommufd_free(s->be, &err), err);
    munmap(s->ram, RAM);
    test_sim_free_clean(s->sim);
}

/* Send the lines of the events matching @pattern to a file. */
static void capture_start(Scene *s, const char *pattern)
{
    s->trace = tmpfile();
    assert_non_null(s->trace);
    vfi_trace_set_output(s->trace);
    vfi_trace_enable("*", false);
    assert_true(vfi_trace_enable(pattern, true) > 0);
}

/* Stop capturing; returns what was written. */
static char *capture_end(Scene *s)
{
    long len;
    char *buf;

    vfi_trace_enable("*", false);
    vfi_trace_set_output(NULL);
    fflush(s->trace);
    len = ftell(s->trace);
    assert_true(len >= 0);
    buf = g_malloc0(len + 1);
    rewind(s->trace);
    assert_int_equal(fread(buf, 1, len, s->trace), (size_t)len);
    fclose(s->trace);
    s->trace = NULL;
    return buf;
}

/* Attach @dev; on type1 returns the fd of the container the attach opened
 * (its /dev/vfio/vfio, as vfi_kernel_open traced it), else -1. */
static int attach(Scene *s, VfiDevice *dev)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *out = NULL;
    const char *p;
    int fd = -1;

    capture_start(s, "vfi_kernel_open");
    assert_ok(vfi_address_space_attach_device(s->as, s->be, dev, NULL, &err), err);
    out = capture_end(s);
    p = strstr(out, "path /dev/vfio/vfio ");
    if (p) {
        p = strstr(p, " ret ");
        assert_non_null(p);
        assert_int_equal(sscanf(p, " ret %d", &fd), 1);
        assert_true(fd >= 0);
    }
    return fd;
}

/* The refusals naming container @c as @desc: a query and a container
 * reader's query while tracking is off (one implementation: the same
 * message), a reader's HWPT call, a free with a device attached, an attach
 * of @dev (in @c) to an AUTO address space, whose choice is traced dropped. */
static void check_refusals(Scene *s, VfiContainer *c, VfiDevice *dev, const char *desc)
{
    g_autoptr(GError) e1 = NULL, e2 = NULL, e3 = NULL, e4 = NULL, e5 = NULL;
    VfiAddressSpace *other = vfi_address_space_new(NULL);
    VfiIommufd *be = s->be ? s->be : vfi_iommufd_new();
    VfiDirtyReader *r = vfi_dirty_reader_new_for_container(c, &e1);
    g_autofree char *out = NULL;

    assert_ok(r != NULL, e1);
    assert_false(vfi_container_query_dirty(c, 0, PG, &s->log, 0, &e1));
    assert_false(vfi_dirty_reader_query(r, 0, PG, &s->log, 0, &e2));
    assert_true(g_error_matches(e1, VFI_ERROR, VFI_ERROR_WRONG_STATE));
    test_expect_text(e1->message, "dirty query: dirty tracking is off for %s: ", desc);
    assert_string_equal(e1->message, e2->message);
    assert_false(vfi_dirty_reader_add_hwpt(r, 1, &e3));
    test_expect_text(e3->message, "reads the sources of a container (%s)", desc);
    assert_int_equal(vfi_dirty_reader_hwpt_count(r), 0);
    vfi_dirty_reader_free(r);
    assert_false(vfi_address_space_free(s->as, &e4));
    test_expect_text(e4->message, "is still attached (%s): detach it first", desc);
    capture_start(s, "vfi_as_backend*");
    assert_false(vfi_address_space_attach_device(other, be, dev, NULL, &e5));
    out = capture_end(s);
    test_expect_text(e5->message, "is already in a container (%s): detach it first", desc);
    test_expect_text(out, "vfi_as_backend_dropped ");
    test_expect_text(out, "the attach of device %s was refused or failed",
                     vfi_device_get_display_name(dev));
    assert_true(vfi_address_space_free(other, NULL));
    if (be != s->be) {
        assert_true(vfi_iommufd_free(be, NULL));
    }
    {
        const GError *all[] = { e1, e2, e3, e4, e5 };

        for (unsigned i = 0; i < G_N_ELEMENTS(all); i++) {
            assert_null(strstr(all[i]->message, "ioas 0"));
        }
    }
}

static void test_type1(void **state)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *desc = NULL, *out = NULL;
    VfiContainer *c;
    Scene s = { 0 };
    int fd;

    (void)state;
    scene_up(&s, VFI_BACKEND_TYPE1);
    fd = attach(&s, s.solo);
    assert_true(fd >= 0);
    c = vfi_device_get_container(s.solo);
    assert_int_equal(vfi_container_get_backend_kind(c), VFI_BACKEND_TYPE1);
    desc = g_strdup_printf("type1 container fd %d", fd);
    assert_ok(vfi_address_space_dma_map(s.as, 0, RAM, s.ram, false, &err), err);
    check_refusals(&s, c, s.solo, desc);
    /* type1's IOMMU tracking: an event of the container, not of a device */
    capture_start(&s, "vfi_dirty_*");
    assert_ok(vfi_address_space_dirty_tracking_start(s.as, &err), err);
    assert_ok(vfi_address_space_dirty_tracking_stop(s.as, &err), err);
    out = capture_end(&s);
    test_expect_text(
        out, "vfi_dirty_iommu_tracking %s: container-wide IOMMU dirty tracking (type1) "
        "switched on 1 ok 1", desc);
    test_expect_text(
        out, "vfi_dirty_iommu_tracking %s: container-wide IOMMU dirty tracking (type1) "
        "switched on 0 ok 1", desc);
    test_expect_text(out, "vfi_dirty_tracking %s start ok 1", desc);
    assert_null(strstr(out, "device type1"));
    assert_null(strstr(out, "ioas 0"));
    assert_ok(vfi_address_space_detach_device(s.as, s.solo, &err), err);
    assert_ok(vfi_address_space_dma_unmap(s.as, 0, RAM, 0, &err), err);
    scene_down(&s);
}

/* A device that does not log its own DMA attached while only a logging one
 * tracks: the catch-up switches type1's IOMMU tracking on, traced. */
static void test_type1_catch_up(void **state)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *desc = NULL, *out = NULL;
    Scene s = { 0 };
    int fd;

    (void)state;
    scene_up(&s, VFI_BACKEND_TYPE1);
    fd = attach(&s, s.lg);
    desc = g_strdup_printf("type1 container fd %d", fd);
    assert_ok(vfi_address_space_dma_map(s.as, 0, RAM, s.ram, false, &err), err);
    capture_start(&s, "vfi_dirty_*");
    assert_ok(vfi_address_space_dirty_tracking_start(s.as, &err), err);
    out = capture_end(&s);
    assert_null(strstr(out, "vfi_dirty_iommu_tracking"));   /* lg logs itself */
    test_expect_text(out, "vfi_dirty_tracking_device %s device %s logging 1 ok 1", desc,
                     vfi_device_get_display_name(s.lg));
    g_free(out);
    capture_start(&s, "vfi_dirty_iommu_*");
    assert_ok(vfi_address_space_attach_device(s.as, NULL, s.solo, NULL, &err), err);
    out = capture_end(&s);
    test_expect_text(
        out, "vfi_dirty_iommu_catch_up %s: device %s attached while tracking does not log "
        "its own DMA: container-wide IOMMU dirty tracking switched on, ok 1", desc,
        vfi_device_get_display_name(s.solo));
    assert_ok(vfi_address_space_dirty_tracking_stop(s.as, &err), err);
    assert_ok(vfi_address_space_detach_device(s.as, s.solo, &err), err);
    assert_ok(vfi_address_space_detach_device(s.as, s.lg, &err), err);
    assert_ok(vfi_address_space_dma_unmap(s.as, 0, RAM, 0, &err), err);
    scene_down(&s);
}

static void test_iommufd(void **state)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *desc = NULL, *out = NULL;
    VfiContainer *c;
    Scene s = { 0 };

    (void)state;
    scene_up(&s, VFI_BACKEND_IOMMUFD);
    assert_int_equal(attach(&s, s.solo), -1);
    c = vfi_device_get_container(s.solo);
    assert_true(vfi_container_get_ioas_id(c) > 0);
    desc = g_strdup_printf("ioas %u", vfi_container_get_ioas_id(c));
    assert_ok(vfi_address_space_dma_map(s.as, 0, RAM, s.ram, false, &err), err);
    check_refusals(&s, c, s.solo, desc);
    capture_start(&s, "vfi_dirty_*");
    assert_ok(vfi_address_space_dirty_tracking_start(s.as, &err), err);
    assert_ok(vfi_address_space_dirty_tracking_stop(s.as, &err), err);
    out = capture_end(&s);
    test_expect_text(out, "vfi_dirty_tracking %s start ok 1", desc);
    assert_null(strstr(out, "vfi_dirty_iommu_tracking"));   /* HWPTs: no container-wide side */
    assert_ok(vfi_address_space_detach_device(s.as, s.solo, &err), err);
    assert_ok(vfi_address_space_dma_unmap(s.as, 0, RAM, 0, &err), err);
    scene_down(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type1),
        cmocka_unit_test(test_type1_catch_up),
        cmocka_unit_test(test_iommufd),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
