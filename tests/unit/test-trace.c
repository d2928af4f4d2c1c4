/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Tracing: switches from VFI_TRACE at start-up (this test runs with
 * VFI_TRACE="vfi_kernel_open,-vfi_kernel_close,vfi_kernel_c*" set by meson),
 * switching at run time, the log back end's output for an ioctl, and the one
 * event per ioctl (vfi_kernel_ioctl) with its arguments decoded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "test-common.h"
#include "vfio-iommufd/iommufd.h"
#include "vfio-iommufd/trace.h"
#include "util/kernel-internal.h"

#define PAGE UINT64_C(0x1000)

static const char topology[] =
    "[iommu a]\ndirty-tracking=true\n"
    "[device nic0]\niommu=a\ndma-logging=true\n";

/* Page-aligned memory to map. */
static uint8_t guest_ram[16 * PAGE] __attribute__((aligned(4096)));

static char *read_all(FILE *fp)
{
    long len;
    char *buf;

    fflush(fp);
    len = ftell(fp);
    assert_true(len >= 0);
    buf = g_malloc0(len + 1);
    rewind(fp);
    assert_int_equal(fread(buf, 1, len, fp), (size_t)len);
    return buf;
}

static void test_env_switches(void **state)
{
    (void)state;
    /* "vfi_kernel_open" on, "-vfi_kernel_close" off, then "vfi_kernel_c*" on again:
     * patterns apply in order. */
    assert_true(vfi_trace_is_enabled("vfi_kernel_open"));
    assert_true(vfi_trace_is_enabled("vfi_kernel_close"));
    assert_false(vfi_trace_is_enabled("vfi_kernel_ioctl"));
    assert_false(vfi_trace_is_enabled("no_such_event"));
}

static void test_enable_pattern(void **state)
{
    (void)state;
    assert_int_equal(vfi_trace_enable("vfi_kernel_*", false), 8);
    assert_false(vfi_trace_is_enabled("vfi_kernel_open"));
    assert_int_equal(vfi_trace_enable("vfi_kernel_ioctl", true), 1);
    assert_true(vfi_trace_is_enabled("vfi_kernel_ioctl"));
    assert_int_equal(vfi_trace_enable("nothing_matches_*", true), 0);
    /* Events of every folder are registered, the kernel model's (its own
     * library, registered through vfi_trace_register_group()) too: one
     * switchboard. */
    assert_true(vfi_trace_enable("*", false) > 4);
    assert_true(vfi_trace_enable("vfi_sim_*", true) > 0);
    assert_true(vfi_trace_is_enabled("vfi_sim_attach"));
    assert_true(vfi_trace_enable("vfi_sim_*", false) > 0);
}

static void test_log_output(void **state)
{
    VfiSim *sim = test_sim_new(NULL);
    FILE *fp = tmpfile();
    struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
    g_autofree char *out = NULL;
    int fd;

    (void)state;
    assert_non_null(fp);
    vfi_trace_set_output(fp);
    vfi_trace_enable("*", false);
    vfi_trace_enable("vfi_kernel_ioctl", true);

    fd = vfi_kernel_open("/dev/iommu", O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(VFI_KERNEL_IOCTL(fd, IOMMU_IOAS_ALLOC, &alloc), 0);
    vfi_sim_fail_next(sim, VFI_SIM_OP_IOAS_ALLOC, ENOMEM);
    assert_int_equal(VFI_KERNEL_IOCTL(fd, IOMMU_IOAS_ALLOC, &alloc), -ENOMEM);
    assert_int_equal(vfi_kernel_close(fd), 0);

    out = read_all(fp);
    /* One line per ioctl, with request name, result and errno; nothing for
     * open/close, which are off. */
    assert_non_null(strstr(out, "vfi_kernel_ioctl fd "));
    assert_non_null(strstr(out, "IOMMU_IOAS_ALLOC"));
    assert_non_null(strstr(out, "ret 0 errno 0"));
    assert_non_null(strstr(out, "ret -1 errno 12"));
    assert_null(strstr(out, "vfi_kernel_open"));
    assert_null(strstr(out, "vfi_kernel_close"));

    vfi_trace_enable("*", false);
    vfi_trace_set_output(NULL);
    fclose(fp);
    test_sim_free_clean(sim);
}

/* ---- one event per ioctl, arguments decoded ----------------------------- */

/* Send the log back end's lines of the events matching @pattern to a file. */
static FILE *capture_start(const char *pattern)
{
    FILE *fp = tmpfile();

    assert_non_null(fp);
    vfi_trace_set_output(fp);
    vfi_trace_enable("*", false);
    vfi_trace_enable(pattern, true);
    return fp;
}

/* Stop capturing; returns what was written. */
static char *capture_end(FILE *fp)
{
    char *out = read_all(fp);

    vfi_trace_enable("*", false);
    vfi_trace_set_output(NULL);
    fclose(fp);
    return out;
}

static unsigned count(const char *out, const char *needle)
{
    unsigned n = 0;

    for (const char *p = strstr(out, needle); p; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

/* No address of the library's objects or of user memory in any line. */
static void expect_no_pointer(const char *out, uintptr_t p)
{
    g_autofree char *as_p = g_strdup_printf("%p", (void *)p);
    g_autofree char *as_x = g_strdup_printf("0x%llx", (unsigned long long)p);

    assert_null(strstr(out, as_p));
    assert_null(strstr(out, as_x));
}

/* The IOAS requests of the backend: one event each, the inputs read before
 * the call and the outputs after it, a failure without outputs. */
static void test_ioctl_ioas(void **state)
{
    VfiSim *sim = test_sim_new(NULL);
    g_autoptr(VfiIommufd) be = vfi_iommufd_new();
    g_autoptr(GError) err = NULL;
    g_autofree char *out = NULL;
    uint64_t before, iova = 0, unmapped = 0;
    uint32_t ioas = 0;
    FILE *fp;
    int fd;

    (void)state;
    assert_ok(vfi_iommufd_connect(be, &err), err);
    fd = vfi_iommufd_get_fd(be);
    fp = capture_start("*");
    before = vfi_sim_ioctl_count(sim);
    assert_ok(vfi_iommufd_ioas_alloc(be, &ioas, &err), err);
    assert_ok(vfi_iommufd_ioas_map(be, ioas, 0x10000, 2 * PAGE, guest_ram, false, &err), err);
    assert_ok(vfi_iommufd_ioas_map_any(be, ioas, PAGE, guest_ram, true, &iova, &err), err);
    vfi_sim_fail_next(sim, VFI_SIM_OP_IOAS_MAP, ENOMEM);
    assert_false(vfi_iommufd_ioas_map(be, ioas, 0x40000, PAGE, guest_ram, false, &err));
    g_clear_error(&err);
    assert_ok(vfi_iommufd_ioas_unmap(be, ioas, 0x10000, 2 * PAGE, &unmapped, &err), err);
    assert_ok(vfi_iommufd_ioas_unmap_all(be, ioas, NULL, &err), err);
    assert_ok(vfi_iommufd_destroy(be, ioas, &err), err);
    out = capture_end(fp);

    /* One event per ioctl, and no event of the backend repeating one. */
    assert_int_equal(count(out, " vfi_kernel_ioctl "), vfi_sim_ioctl_count(sim) - before);
    assert_int_equal(count(out, " vfi_iommufd_"), 0);
    test_expect_text(
        out, "vfi_kernel_ioctl fd %d IOMMU_IOAS_ALLOC -> ioas_id %u ret 0 errno 0", fd, ioas);
    test_expect_text(out, "IOMMU_IOAS_MAP ioas_id %u flags 0x7 iova 0x10000 length 0x2000 "
                     "-> iova 0x10000 ret 0 errno 0", ioas);
    test_expect_text(out, "IOMMU_IOAS_MAP ioas_id %u flags 0x4 length 0x1000 -> iova 0x%llx ret 0",
                     ioas, (unsigned long long)iova);
    test_expect_text(out, "IOMMU_IOAS_MAP ioas_id %u flags 0x7 iova 0x40000 length 0x1000 "
                     "ret -1 errno %d", ioas, ENOMEM);
    test_expect_text(
        out, "IOMMU_IOAS_UNMAP ioas_id %u iova 0x10000 length 0x2000 -> length 0x2000 ret 0",
        ioas);
    test_expect_text(out, "IOMMU_IOAS_UNMAP ioas_id %u iova 0x0 length 0xffffffffffffffff "
                     "-> length 0x%llx ret 0", ioas, (unsigned long long)PAGE);
    test_expect_text(out, "vfi_kernel_ioctl fd %d IOMMU_DESTROY id %u ret 0 errno 0", fd, ioas);
    expect_no_pointer(out, (uintptr_t)guest_ram);
    expect_no_pointer(out, (uintptr_t)be);
    vfi_iommufd_disconnect(be);
    test_sim_free_clean(sim);
}

/* Open the model's cdev of @name. */
static int open_cdev(VfiSim *sim, const char *name)
{
    g_autofree char *dir = g_build_filename(vfi_sim_device_sysfs_path(sim, name),
                                            "vfio-dev", NULL);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    g_autofree char *node = NULL;
    int fd;

    assert_non_null(d);
    node = g_strdup_printf("/dev/vfio/devices/%s", g_dir_read_name(d));
    fd = vfi_kernel_open(node, O_RDWR);
    assert_true(fd >= 0);
    return fd;
}

/* The VFIO device requests that name iommufd objects. */
static void device_bind_attach(int devfd, int iommufd, uint32_t ioas, uint32_t *devid,
                               uint32_t *auto_pt)
{
    struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = iommufd };
    struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at), .pt_id = ioas };
    struct vfio_device_info info = { .argsz = sizeof(info) };

    assert_int_equal(VFI_KERNEL_IOCTL(devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind), 0);
    assert_int_equal(VFI_KERNEL_IOCTL(devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), 0);
    assert_int_equal(VFI_KERNEL_IOCTL(devfd, VFIO_DEVICE_GET_INFO, &info), 0);
    *devid = bind.out_devid;
    *auto_pt = at.pt_id;
}

/* VFIO_DEVICE_FEATURE of @flags with @size bytes of @payload. */
static int feature(int devfd, uint32_t flags, const void *payload, size_t size)
{
    union {
        struct vfio_device_feature hdr;
        uint64_t align;
        uint8_t bytes[sizeof(struct vfio_device_feature) + 32];
    } buf;

    memset(&buf, 0, sizeof(buf));
    buf.hdr.argsz = sizeof(buf.hdr) + size;
    buf.hdr.flags = flags;
    if (size) {
        memcpy(buf.bytes + sizeof(buf.hdr), payload, size);
    }
    return VFI_KERNEL_IOCTL(devfd, VFIO_DEVICE_FEATURE, &buf);
}

/* DMA logging probe, start, report and stop. */
static void device_dma_logging(int devfd)
{
    static uint64_t bitmap[1];
    struct vfio_device_feature_dma_logging_range range = { .iova = 0, .length = 2 * PAGE };
    struct vfio_device_feature_dma_logging_control ctl = {
        .page_size = PAGE, .num_ranges = 1, .ranges = (uintptr_t)&range,
    };
    struct vfio_device_feature_dma_logging_report rep = {
        .iova = 0, .length = 2 * PAGE, .page_size = PAGE, .bitmap = (uintptr_t)bitmap,
    };

    assert_int_equal(feature(devfd, VFIO_DEVICE_FEATURE_PROBE | VFIO_DEVICE_FEATURE_SET |
                             VFIO_DEVICE_FEATURE_DMA_LOGGING_START, NULL, 0), 0);
    assert_int_equal(feature(devfd, VFIO_DEVICE_FEATURE_SET |
                             VFIO_DEVICE_FEATURE_DMA_LOGGING_START, &ctl, sizeof(ctl)), 0);
    assert_int_equal(feature(devfd, VFIO_DEVICE_FEATURE_GET |
                             VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT, &rep, sizeof(rep)), 0);
    assert_int_equal(feature(devfd, VFIO_DEVICE_FEATURE_SET |
                             VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP, NULL, 0), 0);
}

/* A dirty-tracking HWPT: allocated, attached, switched on, read, off. */
static uint32_t hwpt_dirty_round(VfiIommufd *be, int devfd, uint32_t devid, uint32_t ioas)
{
    static uint64_t bitmap[1];
    struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };
    struct vfio_device_detach_iommufd_pt de = { .argsz = sizeof(de) };
    g_autoptr(GError) err = NULL;
    VfiHwInfo info = { 0 };
    uint32_t hwpt = 0;

    assert_ok(vfi_iommufd_get_hw_info(be, devid, &info, &err), err);
    assert_ok(vfi_iommufd_hwpt_alloc(be, devid, ioas, IOMMU_HWPT_ALLOC_DIRTY_TRACKING, 0, 0,
                                     NULL, &hwpt, &err), err);
    assert_int_equal(VFI_KERNEL_IOCTL(devfd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &de), 0);
    at.pt_id = hwpt;
    assert_int_equal(VFI_KERNEL_IOCTL(devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), 0);
    assert_ok(vfi_iommufd_hwpt_set_dirty_tracking(be, hwpt, true, &err), err);
    assert_ok(vfi_iommufd_hwpt_get_dirty_bitmap(be, hwpt, 0, 2 * PAGE, PAGE, bitmap, 0, &err),
              err);
    assert_ok(vfi_iommufd_hwpt_set_dirty_tracking(be, hwpt, false, &err), err);
    assert_int_equal(VFI_KERNEL_IOCTL(devfd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &de), 0);
    assert_ok(vfi_iommufd_destroy(be, hwpt, &err), err);
    return hwpt;
}

static void expect_device_lines(const char *out, int fd, int devfd, uint32_t ioas,
                                const uint32_t ids[3])
{
    uint32_t devid = ids[0], auto_pt = ids[1], hwpt = ids[2];

    test_expect_text(out, "fd %d VFIO_DEVICE_BIND_IOMMUFD iommufd %d -> dev_id %u ret 0", devfd, fd,
                     devid);
    /* Attached to the IOAS: the kernel answers with its auto domain. */
    assert_int_not_equal(auto_pt, ioas);
    test_expect_text(out, "fd %d VFIO_DEVICE_ATTACH_IOMMUFD_PT pt_id %u -> pt_id %u ret 0", devfd,
                     ioas, auto_pt);
    test_expect_text(out, "fd %d VFIO_DEVICE_ATTACH_IOMMUFD_PT pt_id %u -> pt_id %u ret 0", devfd,
                     hwpt, hwpt);
    test_expect_text(out, "fd %d VFIO_DEVICE_GET_INFO -> flags 0x", devfd);
    test_expect_text(
        out, "VFIO_DEVICE_FEATURE feature DMA_LOGGING_START flags 0x60006 set probe ret 0");
    test_expect_text(out, "VFIO_DEVICE_FEATURE feature DMA_LOGGING_START flags 0x20006 set "
                     "page_size 0x1000 num_ranges 1 ret 0");
    test_expect_text(out, "VFIO_DEVICE_FEATURE feature DMA_LOGGING_REPORT flags 0x10008 get "
                     "iova 0x0 length 0x2000 page_size 0x1000 ret 0");
    test_expect_text(out, "VFIO_DEVICE_FEATURE feature DMA_LOGGING_STOP flags 0x20007 set ret 0");
    test_expect_text(out, "fd %d IOMMU_GET_HW_INFO dev_id %u data_len 0 -> data_type ", fd, devid);
    test_expect_text(out, "IOMMU_HWPT_ALLOC dev_id %u pt_id %u flags 0x2 data_type 0 data_len 0 "
                     "-> hwpt_id %u ret 0", devid, ioas, hwpt);
    test_expect_text(out, "IOMMU_HWPT_SET_DIRTY_TRACKING hwpt_id %u flags 0x1 ret 0", hwpt);
    test_expect_text(out, "IOMMU_HWPT_SET_DIRTY_TRACKING hwpt_id %u flags 0x0 ret 0", hwpt);
    test_expect_text(out, "IOMMU_HWPT_GET_DIRTY_BITMAP hwpt_id %u flags 0x0 iova 0x0 length 0x2000 "
                     "page_size 0x1000 ret 0", hwpt);
    test_expect_text(out, "fd %d VFIO_DEVICE_DETACH_IOMMUFD_PT ret 0", devfd);
    /* Two ranges once the device narrowed the IOAS: EMSGSIZE, then the
     * backend's retry decision, then the ranges. */
    test_expect_text(out, "IOMMU_IOAS_IOVA_RANGES ioas_id %u num_iovas 1 -> num_iovas 2 ret -1 "
                     "errno %d", ioas, EMSGSIZE);
    test_expect_text(out, "vfi_iommufd_ioas_iova_ranges_retry fd %d ioas %u EMSGSIZE: array 1 -> 2",
                     fd, ioas);
    test_expect_text(
        out, "IOMMU_IOAS_IOVA_RANGES ioas_id %u num_iovas 2 -> num_iovas 2 alignment 0x",
        ioas);
    test_expect_text(out, "] [0x");
}

/* The device requests the library makes, and the HWPT ones. */
static void test_ioctl_device(void **state)
{
    VfiSim *sim = test_sim_new(topology);
    g_autoptr(VfiIommufd) be = vfi_iommufd_new();
    g_autoptr(GError) err = NULL;
    g_autofree char *out = NULL;
    g_autofree VfiIovaRange *ranges = NULL;
    size_t nr = 0;
    uint32_t ioas = 0, ids[3] = { 0 };
    uint64_t before;
    FILE *fp;
    int fd, devfd;

    (void)state;
    assert_ok(vfi_iommufd_connect(be, &err), err);
    fd = vfi_iommufd_get_fd(be);
    assert_ok(vfi_iommufd_ioas_alloc(be, &ioas, &err), err);
    devfd = open_cdev(sim, "nic0");
    fp = capture_start("vfi_*");
    before = vfi_sim_ioctl_count(sim);
    device_bind_attach(devfd, fd, ioas, &ids[0], &ids[1]);
    assert_ok(vfi_iommufd_ioas_iova_ranges(be, ioas, &ranges, &nr, NULL, &err), err);
    assert_int_equal(nr, 2);
    device_dma_logging(devfd);
    ids[2] = hwpt_dirty_round(be, devfd, ids[0], ioas);
    out = capture_end(fp);

    assert_int_equal(count(out, " vfi_kernel_ioctl "), vfi_sim_ioctl_count(sim) - before);
    expect_device_lines(out, fd, devfd, ioas, ids);
    expect_no_pointer(out, (uintptr_t)be);
    assert_int_equal(vfi_kernel_close(devfd), 0);
    assert_ok(vfi_iommufd_destroy(be, ioas, &err), err);
    vfi_iommufd_disconnect(be);
    test_sim_free_clean(sim);
}

/* A request the layer does not know is named by its caller and described
 * by its number; a struct shorter than its fields is not read. */
static void test_ioctl_unknown_and_short(void **state)
{
    VfiSim *sim = test_sim_new(NULL);
    struct iommu_ioas_alloc alloc = { .size = 4 };
    g_autofree char *out = NULL;
    uint64_t junk = 0;
    FILE *fp;
    int fd = vfi_kernel_open("/dev/iommu", O_RDWR);

    (void)state;
    assert_true(fd >= 0);
    fp = capture_start("vfi_kernel_ioctl");
    assert_int_equal(vfi_kernel_ioctl(fd, 0x3bff, &junk, "MY_REQUEST"), -ENOTTY);
    assert_true(VFI_KERNEL_IOCTL(fd, IOMMU_IOAS_ALLOC, &alloc) < 0);
    /* The table's name wins over the caller's. */
    alloc.size = sizeof(alloc);
    assert_int_equal(vfi_kernel_ioctl(fd, IOMMU_IOAS_ALLOC, &alloc, "other"), 0);
    out = capture_end(fp);

    test_expect_text(out, "fd %d MY_REQUEST nr 0x3bff ret -1 errno %d", fd, ENOTTY);
    test_expect_text(out, "IOMMU_IOAS_ALLOC size 4 (short: not decoded) ret -1");
    test_expect_text(out, "IOMMU_IOAS_ALLOC -> ioas_id %u ret 0", alloc.out_ioas_id);
    assert_null(strstr(out, "other"));
    assert_int_equal(vfi_kernel_close(fd), 0);
    test_sim_free_clean(sim);
}

/* The backend's own events: lifetime, users, refusals, named by fd. */
static void test_backend_decisions(void **state)
{
    VfiSim *sim = test_sim_new(NULL);
    g_autoptr(GError) err = NULL;
    g_autofree char *out = NULL;
    VfiIommufd *be;
    uintptr_t be_addr;
    uint32_t ioas;
    FILE *fp;
    int fd;

    (void)state;
    fp = capture_start("*");
    be = vfi_iommufd_new();
    be_addr = (uintptr_t)be;
    assert_false(vfi_iommufd_ioas_alloc(be, &ioas, &err));
    g_clear_error(&err);
    assert_ok(vfi_iommufd_connect(be, &err), err);
    fd = vfi_iommufd_get_fd(be);
    assert_false(vfi_iommufd_ioas_map(be, 1, 0, 0, guest_ram, false, &err));
    g_clear_error(&err);
    vfi_iommufd_disconnect(be);
    assert_ok(vfi_iommufd_free(be, &err), err);
    out = capture_end(fp);

    test_expect_text(out, "vfi_iommufd_new new backend owning its fd");
    test_expect_text(out, "vfi_iommufd_reject fd -1 vfi_iommufd_ioas_alloc refused: not connected");
    test_expect_text(out, "vfi_kernel_open path /dev/iommu flags 0x2 ret %d", fd);
    test_expect_text(out, "vfi_iommufd_connect fd %d borrowed 0 users 1 errno 0", fd);
    test_expect_text(out, "vfi_iommufd_reject fd %d vfi_iommufd_ioas_map refused: size 0", fd);
    test_expect_text(out, "vfi_kernel_close fd %d ret 0", fd);
    test_expect_text(out, "vfi_iommufd_disconnect fd %d borrowed 0 users left 0 fd closed 1", fd);
    test_expect_text(out, "vfi_iommufd_free fd -1 borrowed 0 users 0 freed 1");
    assert_int_equal(count(out, " vfi_kernel_ioctl "), 0);
    expect_no_pointer(out, be_addr);
    test_sim_free_clean(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_env_switches),
        cmocka_unit_test(test_enable_pattern),
        cmocka_unit_test(test_log_output),
        cmocka_unit_test(test_ioctl_ioas),
        cmocka_unit_test(test_ioctl_device),
        cmocka_unit_test(test_ioctl_unknown_and_short),
        cmocka_unit_test(test_backend_decisions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
