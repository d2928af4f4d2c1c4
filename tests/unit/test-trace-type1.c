/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The ioctl event (vfi_kernel_ioctl) names and decodes a request by the
 * kind of file it goes to: VFIO numbers its requests VFIO_BASE + n for
 * each kind of fd again, so VFIO_IOMMU_MAP_DMA on a type1 container has
 * VFIO_DEVICE_PCI_HOT_RESET's number, VFIO_IOMMU_GET_INFO
 * VFIO_DEVICE_GET_PCI_HOT_RESET_INFO's and VFIO_IOMMU_DIRTY_PAGES
 * VFIO_DEVICE_FEATURE's. The ioctl layer knows the kind of each fd it
 * opened from its path (and of the device fds a group hands out); an fd
 * it did not open, or one it closed, is decoded by number alone.
 */
#include "test-type1-helpers.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

#include "vfio-iommufd/container.h"
#include "vfio-iommufd/dirty.h"
#include "vfio-iommufd/trace.h"
#include "util/ioctl-table.h"
#include "util/kernel-internal.h"

/* m: an mdev whose DMA the type1 IOMMU tracks; ml: one logging its own. */
#define TOPO "[device m]\nmdev=true\n[device ml]\nmdev=true\ndma-logging=true\n"

#define NR 64

/* Send the lines of vfi_kernel_ioctl to a memory stream. */
typedef struct Capture {
    char *buf;
    size_t len;
    FILE *fp;
} Capture;

static void capture_start(Capture *c)
{
    c->fp = open_memstream(&c->buf, &c->len);
    assert_non_null(c->fp);
    vfi_trace_set_output(c->fp);
    vfi_trace_enable("*", false);
    vfi_trace_enable("vfi_kernel_ioctl", true);
}

/* Stop capturing; returns what was written (free with free()). */
static char *capture_end(Capture *c)
{
    vfi_trace_enable("*", false);
    vfi_trace_set_output(NULL);
    fclose(c->fp);
    return c->buf;
}

static unsigned count(const char *out, const char *needle)
{
    unsigned n = 0;

    for (const char *p = strstr(out, needle); p; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

static void expect(const char *out, const char *want)
{
    const char *found = out ? strstr(out, want) : NULL;

    if (!found) {
        fail_msg("trace lacks \"%s\" in:\n%s", want, out ? out : "(nothing)");
    }
}

/* The paths of the Linux device nodes name their kind; others none. */
static void test_kind_of_path(void **state)
{
    static const struct {
        const char *path;
        VfiFdKind kind;
    } cases[] = {
        { "/dev/iommu", VFI_FD_IOMMUFD },
        { "/dev/vfio/vfio", VFI_FD_VFIO_CONTAINER },
        { "/dev/vfio/12", VFI_FD_VFIO_GROUP },
        { "/dev/vfio/noiommu-3", VFI_FD_VFIO_GROUP },
        { "/dev/vfio/devices/vfio0", VFI_FD_VFIO_DEVICE },
        { "/dev/vfio/12a", VFI_FD_UNKNOWN },
        { "/dev/vfio/", VFI_FD_UNKNOWN },
        { "/dev/vfio/noiommu-", VFI_FD_UNKNOWN },
        { "/dev/vfio/vfio2", VFI_FD_UNKNOWN },
        { "/dev/iommu0", VFI_FD_UNKNOWN },
        { "/dev/null", VFI_FD_UNKNOWN },
        { NULL, VFI_FD_UNKNOWN },
    };

    (void)state;
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        if (vfi_fd_kind_of_path(cases[i].path) != cases[i].kind) {
            fail_msg("%s: kind %d, not %d", cases[i].path ? cases[i].path : "NULL",
                     vfi_fd_kind_of_path(cases[i].path), cases[i].kind);
        }
    }
    /* the same number, three names */
    assert_string_equal(vfi_ioctl_name(VFI_FD_VFIO_CONTAINER, VFIO_IOMMU_MAP_DMA),
                        "VFIO_IOMMU_MAP_DMA");
    assert_string_equal(vfi_ioctl_name(VFI_FD_VFIO_DEVICE, VFIO_IOMMU_MAP_DMA),
                        "VFIO_DEVICE_PCI_HOT_RESET");
    assert_string_equal(vfi_ioctl_name(VFI_FD_UNKNOWN, VFIO_IOMMU_MAP_DMA),
                        "VFIO_DEVICE_PCI_HOT_RESET");
    assert_string_equal(vfi_ioctl_name(VFI_FD_VFIO_CONTAINER, VFIO_DEVICE_FEATURE),
                        "VFIO_IOMMU_DIRTY_PAGES");
    assert_string_equal(vfi_ioctl_name(VFI_FD_VFIO_GROUP, VFIO_GROUP_GET_STATUS),
                        "VFIO_GROUP_GET_STATUS");
    /* a request of no table of its kind: by number alone */
    assert_string_equal(vfi_ioctl_name(VFI_FD_VFIO_CONTAINER, IOMMU_IOAS_ALLOC),
                        "IOMMU_IOAS_ALLOC");
}

typedef struct Scene {
    VfiSim *sim;
    VfiAddressSpace *as;
    VfiDevice *dev[2];
    uint8_t *ram;
    uint64_t bits[1];
    VfiDirtyLog log;
} Scene;

static void scene_up(Scene *s)
{
    static const char *const names[] = { "m", "ml" };
    g_autoptr(GError) err = NULL;

    s->sim = test_sim_new(TOPO);
    s->as = vfi_address_space_new(NULL);
    s->ram = mmap(NULL, NR * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(s->ram != MAP_FAILED);
    s->log = (VfiDirtyLog){ .base_iova = 0, .page_size = PG, .bitmap = s->bits,
                            .nr_pages = NR };
    assert_ok(vfi_address_space_set_backend(s->as, VFI_BACKEND_TYPE1, &err), err);
    for (unsigned i = 0; i < 2; i++) {
        s->dev[i] = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(s->sim, names[i]), &err);
        assert_ok(s->dev[i] != NULL, err);
        assert_ok(vfi_address_space_attach_device(s->as, NULL, s->dev[i], NULL, &err), err);
    }
}

static void scene_down(Scene *s)
{
    g_autoptr(GError) err = NULL;

    for (unsigned i = 0; i < 2; i++) {
        assert_ok(vfi_address_space_detach_device(s->as, s->dev[i], &err), err);
        vfi_device_free(s->dev[i]);
    }
    assert_ok(vfi_address_space_free(s->as, &err), err);
    munmap(s->ram, NR * PG);
    test_sim_free_clean(s->sim);
}

/* A type1 address space's maps, dirty reads and unmaps: the container's
 * requests by their names, decoded as theirs (no user pointer), the
 * devices' (from the fds their group gave) by theirs. */
static void test_type1_requests(void **state)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *vaddr = NULL;
    Capture cap = { 0 };
    Scene s = { 0 };
    char *out;

    (void)state;
    scene_up(&s);
    capture_start(&cap);
    assert_ok(vfi_address_space_dma_map(s.as, 0, 16 * PG, s.ram, false, &err), err);
    assert_ok(vfi_address_space_dirty_tracking_start(s.as, &err), err);
    assert_ok(vfi_sim_dma_write(s.sim, "m", 2 * PG, PG, &err), err);
    assert_ok(vfi_address_space_sync_dirty(s.as, &s.log, &err), err);
    assert_ok(vfi_address_space_dma_unmap_dirty(s.as, 0, 16 * PG, &s.log, 0, &err), err);
    assert_ok(vfi_address_space_dirty_tracking_stop(s.as, &err), err);
    out = capture_end(&cap);

    expect(out, "VFIO_IOMMU_MAP_DMA flags 0x3 iova 0x0 size 0x10000 ret 0");
    expect(out, "VFIO_IOMMU_DIRTY_PAGES flags 0x1 ret 0");          /* start */
    expect(out, "VFIO_IOMMU_DIRTY_PAGES flags 0x4 iova 0x0 size 0x10000 pgsize 0x1000 ret 0");
    expect(out, "VFIO_IOMMU_UNMAP_DMA flags 0x1 iova 0x0 size 0x10000 -> unmapped 0x10000");
    expect(out, "VFIO_IOMMU_DIRTY_PAGES flags 0x2 ret 0");          /* stop */
    expect(out, "VFIO_DEVICE_FEATURE feature DMA_LOGGING_START");
    expect(out, "VFIO_DEVICE_FEATURE feature DMA_LOGGING_REPORT");
    assert_int_equal(count(out, "HOT_RESET"), 0);
    assert_int_equal(count(out, "VFIO_IOMMU_DIRTY_PAGES feature"), 0);
    assert_int_equal(count(out, "VFIO_DEVICE_FEATURE flags"), 0);
    vaddr = g_strdup_printf("0x%llx", (unsigned long long)(uintptr_t)s.ram);
    assert_null(strstr(out, vaddr));
    free(out);
    scene_down(&s);
}

/* The group's and the container's own requests, made at attach. */
static void test_type1_setup_requests(void **state)
{
    Capture cap = { 0 };
    Scene s = { 0 };
    char *out;

    (void)state;
    capture_start(&cap);
    scene_up(&s);
    out = capture_end(&cap);

    expect(out, "VFIO_GET_API_VERSION");
    expect(out, "VFIO_CHECK_EXTENSION arg ");
    expect(out, "VFIO_GROUP_GET_STATUS -> flags 0x");
    expect(out, "VFIO_GROUP_SET_CONTAINER container fd ");
    expect(out, "VFIO_SET_IOMMU arg ");
    expect(out, "VFIO_IOMMU_GET_INFO -> argsz ");
    expect(out, "VFIO_GROUP_GET_DEVICE_FD device ");
    /* the device fd the group gave is a device's: its probe of DMA logging */
    expect(out, "VFIO_DEVICE_FEATURE feature DMA_LOGGING_START flags 0x60006 set probe");
    assert_int_equal(count(out, "HOT_RESET"), 0);
    free(out);
    scene_down(&s);
}

/* A closed fd's kind is forgotten: its number, reused for an fd the layer
 * did not open (a dup), is decoded by number alone. */
static void test_closed_fd_forgotten(void **state)
{
    VfiSim *sim = test_sim_new(NULL);
    struct vfio_iommu_type1_dma_map m = { .argsz = sizeof(m) };
    Capture cap = { 0 };
    int iommufd, cfd;
    char *out;

    (void)state;
    iommufd = vfi_kernel_open("/dev/iommu", O_RDWR);
    cfd = vfi_kernel_open("/dev/vfio/vfio", O_RDWR);
    assert_true(iommufd >= 0 && cfd >= 0);
    capture_start(&cap);
    /* no IOMMU set yet: the model refuses it, named as the container's */
    assert_true(VFI_KERNEL_IOCTL(cfd, VFIO_IOMMU_MAP_DMA, &m) < 0);
    assert_int_equal(vfi_kernel_close(cfd), 0);
    assert_int_equal(dup2(iommufd, cfd), cfd);
    assert_true(vfi_kernel_ioctl(cfd, VFIO_IOMMU_MAP_DMA, &m, "VFIO_IOMMU_MAP_DMA") < 0);
    out = capture_end(&cap);

    assert_int_equal(count(out, "VFIO_IOMMU_MAP_DMA"), 1);
    assert_int_equal(count(out, "VFIO_DEVICE_PCI_HOT_RESET"), 1);
    free(out);
    assert_int_equal(vfi_kernel_close(cfd), 0);
    assert_int_equal(vfi_kernel_close(iommufd), 0);
    test_sim_free_clean(sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kind_of_path),
        cmocka_unit_test(test_type1_requests),
        cmocka_unit_test(test_type1_setup_requests),
        cmocka_unit_test(test_closed_fd_forgotten),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
