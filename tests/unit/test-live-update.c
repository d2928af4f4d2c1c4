/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Live update (include/vfio-iommufd/live-update.h) on the kernel model: the
 * old process sets up an address space (two devices, one with IOMMU dirty
 * tracking, mappings from a memfd, tracking on, pages dirtied), saves it,
 * hands its fds over (duplicated with other numbers, as SCM_RIGHTS does)
 * and lets go without an ioctl; the new process restores, finds the same
 * kernel objects, reads the dirty pages of before, DMA still works, and it
 * tears everything down with nothing left. Then: every corrupted byte, a
 * truncated blob, a wrong version, a foreign magic, a wrong fd list are
 * refused with zero ioctls and nothing made; a mapping of process memory
 * is refused at save; the kernel disagreeing with the blob (another
 * iommufd, an unbound device, a mapping CHANGE_PROCESS refuses) is refused
 * with nothing changed; a fault at every ioctl of the restore leaves
 * nothing behind. Built without IOMMU_IOAS_MAP_FILE (6.12's headers) the
 * address space has no mapping and the rest runs the same.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "test-container-helpers.h"
#include "vfio-iommufd/dirty.h"
#include "vfio-iommufd/kernel.h"
#include "vfio-iommufd/live-update.h"

#define PAGE 4096ULL
#define MAP1_IOVA 0x100000ULL
#define MAP1_SIZE 0x10000ULL
#define MAP2_IOVA 0x200000ULL
#define MAP2_SIZE 0x4000ULL

static const char topo[] =
    "[iommu a]\ndirty-tracking=true\n"
    "[iommu b]\ndirty-tracking=false\n"
    "[device a0]\niommu=a\n[device b0]\niommu=b\n"
    "[device ml]\nmdev=true\ndma-logging=true\n";

/* The old process's objects. */
typedef struct Old {
    VfiSim *sim;
    VfiIommufd *be;
    VfiAddressSpace *as;
    VfiDevice *dev[3];
    unsigned ndev;            /* a0, b0, and with mappings ml (an mdev logging
                               * its own DMA: DMA_LOGGING_START needs them) */
    int mem;
    unsigned objects;         /* live kernel objects once set up */
} Old;

/* Close a model fd as a VMM on the model does (through the kernel seam). */
static void model_close(int fd)
{
    const VfiKernelOps *ops;
    void *opaque;

    vfi_kernel_get(&ops, &opaque);
    assert_int_equal(ops->close(opaque, fd), 0);
}

static int model_open(const char *path)
{
    const VfiKernelOps *ops;
    void *opaque;

    vfi_kernel_get(&ops, &opaque);
    return ops->open(opaque, path, O_RDWR);
}

static G_GNUC_UNUSED int model_ioctl(int fd, unsigned long req, void *arg)
{
    const VfiKernelOps *ops;
    void *opaque;

    vfi_kernel_get(&ops, &opaque);
    return ops->ioctl(opaque, fd, req, arg);
}

static void old_setup(Old *o, bool files)
{
    g_autoptr(GError) err = NULL;
    static const char *names[] = { "a0", "b0", "ml" };

    o->sim = test_sim_new(topo);
    o->be = vfi_iommufd_new();
    o->as = vfi_address_space_new(o);
    o->ndev = files && HAVE_IOMMU_IOAS_MAP_FILE ? 3 : 2;
    for (unsigned i = 0; i < o->ndev; i++) {
        o->dev[i] = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(o->sim, names[i]), &err);
        assert_ok(o->dev[i] != NULL, err);
        assert_ok(vfi_address_space_attach_device(o->as, o->be, o->dev[i], &(VfiAttachOptions)VFI_ATTACH_OPTIONS_INIT(
                      .label = i ? NULL : "gpu0", .prefer_device_dirty_logging = i == 2),
                  &err), err);
    }
    o->mem = memfd_create("vfi-test-guest-ram", MFD_CLOEXEC);
    assert_true(o->mem >= 0);
    assert_int_equal(ftruncate(o->mem, MAP1_SIZE + MAP2_SIZE), 0);
    if (files && HAVE_IOMMU_IOAS_MAP_FILE) {
        assert_ok(vfi_address_space_dma_map_file(o->as, MAP1_IOVA, MAP1_SIZE, o->mem, 0, false, NULL,
                                                 &err), err);
        assert_ok(vfi_address_space_dma_map_file(o->as, MAP2_IOVA, MAP2_SIZE, o->mem,
                                                 MAP1_SIZE, false, NULL, &err), err);
    }
    assert_ok(vfi_address_space_dirty_tracking_start(o->as, &err), err);
    o->objects = vfi_sim_live_objects(o->sim);
}

/* The handover: save (no ioctl), the fds duplicated to other numbers (as
 * they arrive over SCM_RIGHTS), the old process lets go (no ioctl). */
static GBytes *handover(Old *o, GArray **dups)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GArray) fds = NULL;
    uint64_t n = vfi_sim_ioctl_count(o->sim);
    unsigned files = vfi_sim_open_fds(o->sim);
    GBytes *blob = vfi_live_update_save(o->as, &fds, &err);

    assert_ok(blob != NULL, err);
    assert_int_equal(vfi_sim_ioctl_count(o->sim), n);
    /* [0] the iommufd, then the address space's files, then the devices */
    assert_int_equal(g_array_index(fds, int, 0), vfi_iommufd_get_fd(o->be));
    assert_int_equal(fds->len, 1 + o->ndev + vfi_address_space_mapping_count(o->as));
    assert_int_equal(g_array_index(fds, int, fds->len - o->ndev), vfi_device_get_fd(o->dev[0]));
    *dups = g_array_new(false, false, sizeof(int));
    for (guint i = 0; i < fds->len; i++) {
        int d = fcntl(g_array_index(fds, int, i), F_DUPFD_CLOEXEC, 200);

        assert_true(d >= 200);
        g_array_append_val(*dups, d);
    }
    vfi_live_update_let_go(o->as);
    /* a handed-over device refuses every call */
    assert_false(vfi_device_detach(o->dev[0], &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    for (unsigned i = 0; i < o->ndev; i++) {
        vfi_device_free(o->dev[i]);
    }
    assert_ok(vfi_iommufd_free(o->be, &err), err);
    close(o->mem);
    assert_int_equal(vfi_sim_ioctl_count(o->sim), n);
    /* the kernel objects and files live on through the duplicates */
    assert_int_equal(vfi_sim_live_objects(o->sim), o->objects);
    assert_int_equal(vfi_sim_open_fds(o->sim), files);
    return blob;
}

/* The new process's teardown: nothing left in the model. */
static void new_teardown(Old *o, VfiLiveUpdateRestored *r, GArray *dups)
{
    g_autoptr(GError) err = NULL;
    VfiAddressSpace *as = r->as;

    assert_ok(vfi_address_space_dirty_tracking_stop(as, &err), err);
    if (vfi_address_space_mapping_count(as)) {
        assert_ok(vfi_address_space_dma_unmap(as, MAP1_IOVA, MAP1_SIZE, 0, &err), err);
        assert_ok(vfi_address_space_dma_unmap(as, MAP2_IOVA, MAP2_SIZE, 0, &err), err);
    }
    for (unsigned i = 0; i < r->n_devices; i++) {
        assert_ok(vfi_address_space_detach_device(as, r->devices[i], &err), err);
    }
    assert_ok(vfi_address_space_free(as, &err), err);
    for (unsigned i = 0; i < r->n_devices; i++) {
        vfi_device_free(r->devices[i]);
    }
    assert_ok(vfi_iommufd_free(r->backend, &err), err);
    vfi_live_update_restored_free(r);
    for (guint i = 0; i < dups->len; i++) {
        int fd = g_array_index(dups, int, i);

        if (i == 0 || i >= dups->len - o->ndev) {
            model_close(fd);      /* the iommufd and the devices: model files */
        } else {
            close(fd);
        }
    }
    assert_int_equal(vfi_sim_live_objects(o->sim), 0);
    assert_int_equal(vfi_sim_open_fds(o->sim), 0);
    test_sim_free_clean(o->sim);
}

static VfiLiveUpdateRestored *restore_ok(GBytes *blob, GArray *dups)
{
    g_autoptr(GError) err = NULL;
    VfiLiveUpdateRestored *r = NULL;

    assert_ok(vfi_live_update_restore(blob, (int *)dups->data, dups->len, NULL, NULL, 0, &r,
                                      &err), err);
    return r;
}

/* With IOAS_MAP_FILE: the pages dirtied before the handover are read in the
 * new process, and DMA goes on. */
static void round_trip_dirty_pages(Old *o, VfiLiveUpdateRestored *r)
{
    g_autoptr(GError) err = NULL;

    if (HAVE_IOMMU_IOAS_MAP_FILE) {
        uint64_t bits[5] = { 0 };
        VfiDirtyLog log = { .base_iova = MAP1_IOVA, .page_size = PAGE, .bitmap = bits,
                            .nr_pages = (MAP2_IOVA + MAP2_SIZE - MAP1_IOVA) / PAGE };

        assert_int_equal(vfi_address_space_mapping_count(r->as), 2);
        assert_true(vfi_device_dma_logging_active(r->devices[2]));
        /* what was dirtied before the handover, read in the new process: by
         * the IOMMU (a0) and by the device's own log (ml) */
        assert_ok(vfi_address_space_sync_dirty(r->as, &log, &err), err);
        assert_int_equal(bits[0], 2);
        assert_int_equal(bits[1] | bits[2] | bits[3], 0);
        assert_int_equal(bits[4], UINT64_C(1) << ((MAP2_IOVA + PAGE - MAP1_IOVA) / PAGE - 256));
        /* DMA goes on through the new process's mappings */
        assert_ok(vfi_sim_dma_write(o->sim, "b0", MAP2_IOVA, PAGE, &err), err);
    }
}

/* The whole round: the same objects, tracking state and dirty pages. */
static void test_round_trip(void **state)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GArray) dups = NULL;
    g_autoptr(GBytes) blob = NULL;
    g_autofree char *name = NULL;
    Old o = { 0 };
    uint32_t ioas, hwpts[2];
    VfiLiveUpdateRestored *r;
    VfiContainer *c;

    (void)state;
    old_setup(&o, true);
    name = g_strdup(vfi_device_get_name(o.dev[0]));
    c = vfi_address_space_container(o.as, 0);
    ioas = vfi_container_get_ioas_id(c);
    assert_int_equal(vfi_container_hwpt_count(c), 2);
    hwpts[0] = vfi_hwpt_get_id(vfi_container_hwpt(c, 0));
    hwpts[1] = vfi_hwpt_get_id(vfi_container_hwpt(c, 1));
    if (HAVE_IOMMU_IOAS_MAP_FILE) {
        assert_ok(vfi_sim_dma_write(o.sim, "a0", MAP1_IOVA + PAGE, PAGE, &err), err);
        /* the mdev logs its own DMA (device DMA logging) */
        assert_true(vfi_device_dma_logging_active(o.dev[2]));
        assert_ok(vfi_sim_dma_write(o.sim, "ml", MAP2_IOVA + PAGE, PAGE, &err), err);
    }
    blob = handover(&o, &dups);
    r = restore_ok(blob, dups);
    assert_int_equal(r->n_devices, o.ndev);
    assert_string_equal(vfi_device_get_name(r->devices[0]), name);
    assert_string_equal(vfi_device_get_label(r->devices[0]), "gpu0");
    assert_int_equal(vfi_device_get_fd(r->devices[1]),
                     g_array_index(dups, int, dups->len - o.ndev + 1));
    assert_int_equal(vfi_address_space_container_count(r->as), 1);
    c = vfi_address_space_container(r->as, 0);
    assert_int_equal(vfi_container_get_ioas_id(c), ioas);
    assert_int_equal(vfi_hwpt_get_id(vfi_container_hwpt(c, 0)), hwpts[0]);
    assert_int_equal(vfi_hwpt_get_id(vfi_container_hwpt(c, 1)), hwpts[1]);
    assert_true(vfi_hwpt_dirty_tracking_is_on(vfi_container_hwpt(c, 0)));
    assert_true(vfi_address_space_dirty_tracking_is_active(r->as));
    for (unsigned i = 0; i < o.ndev; i++) {
        static const char *names[] = { "a0", "b0", "ml" };

        assert_int_equal(vfi_device_get_attached_pt(r->devices[i]),
                         vfi_sim_device_attached_pt(o.sim, names[i]));
        assert_ptr_equal(vfi_device_get_container(r->devices[i]), c);
    }
    assert_int_equal(vfi_sim_live_objects(o.sim), o.objects);
    round_trip_dirty_pages(&o, r);
    new_teardown(&o, r, dups);
}

/* A restore refused before anything: INVALID_ARGUMENT, no ioctl, no fd,
 * no object. */
static void assert_refused_restore(Old *o, GBytes *blob, const int *fds, unsigned n)
{
    g_autoptr(GError) err = NULL;
    uint64_t ioctls = vfi_sim_ioctl_count(o->sim);
    unsigned files = vfi_sim_open_fds(o->sim), pfds = test_count_process_fds();
    VfiLiveUpdateRestored *r = NULL;

    assert_false(vfi_live_update_restore(blob, fds, n, NULL, NULL, 0, &r, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_null(r);
    assert_int_equal(vfi_sim_ioctl_count(o->sim), ioctls);
    assert_int_equal(vfi_sim_open_fds(o->sim), files);
    assert_int_equal(test_count_process_fds(), pfds);
    assert_int_equal(vfi_sim_live_objects(o->sim), o->objects);
}

static GBytes *blob_edit(GBytes *blob, gsize keep, gsize at, guint8 xor_val)
{
    gsize len;
    const guint8 *d = g_bytes_get_data(blob, &len);
    guint8 *copy = g_memdup2(d, len);

    if (at < len) {
        copy[at] ^= xor_val;
    }
    return g_bytes_new_take(copy, MIN(keep, len));
}

/* Every byte changed, truncations, version, magic, the fd list. */
static void test_bad_blob(void **state)
{
    g_autoptr(GArray) dups = NULL;
    g_autoptr(GBytes) blob = NULL;
    Old o = { 0 };
    gsize len;
    int *fds;

    (void)state;
    old_setup(&o, true);
    blob = handover(&o, &dups);
    fds = (int *)dups->data;
    len = g_bytes_get_size(blob);
    for (gsize i = 0; i < len; i++) {
        g_autoptr(GBytes) bad = blob_edit(blob, len, i, 0x01);

        assert_refused_restore(&o, bad, fds, dups->len);
    }
    for (gsize keep = 0; keep < len; keep += (keep < 64 ? 1 : 97)) {
        g_autoptr(GBytes) cut = blob_edit(blob, keep, len, 0);

        assert_refused_restore(&o, cut, fds, dups->len);
    }
    {
        g_autoptr(GBytes) version = blob_edit(blob, len, 8, 0x02);   /* version 3 */
        g_autoptr(GBytes) magic = blob_edit(blob, len, 0, 'V' ^ 'Q');
        g_autoptr(GError) e = NULL;
        VfiLiveUpdateRestored *r = NULL;

        assert_false(vfi_live_update_restore(version, fds, dups->len, NULL, NULL, 0, &r, &e));
        assert_non_null(strstr(e->message, "version 3"));
        g_clear_error(&e);
        assert_false(vfi_live_update_restore(magic, fds, dups->len, NULL, NULL, 0, &r, &e));
        assert_non_null(strstr(e->message, "foreign magic"));
        assert_refused_restore(&o, NULL, fds, dups->len);
    }
    /* the fd list: one short, one closed */
    assert_refused_restore(&o, blob, fds, dups->len - 1);
    {
        int saved = fds[1];

        fds[1] = 999;
        assert_refused_restore(&o, blob, fds, dups->len);
        fds[1] = saved;
    }
    new_teardown(&o, restore_ok(blob, dups), dups);
}

/* A mapping of process memory cannot change process: save refuses it. */
static void test_va_mapping_refused(void **state)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GArray) fds = NULL;
    Old o = { 0 };
    void *mem = mmap(NULL, MAP1_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint64_t n;

    (void)state;
    assert_true(mem != MAP_FAILED);
    old_setup(&o, false);
    assert_ok(vfi_address_space_dma_map(o.as, 0x400000, MAP1_SIZE, mem, false, &err), err);
    n = vfi_sim_ioctl_count(o.sim);
    assert_null(vfi_live_update_save(o.as, &fds, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    assert_null(fds);
    assert_int_equal(vfi_sim_ioctl_count(o.sim), n);
    /* still usable: unmap, and then it can be handed over */
    assert_ok(vfi_address_space_dirty_tracking_stop(o.as, &err), err);
    assert_ok(vfi_address_space_dma_unmap(o.as, 0x400000, MAP1_SIZE, 0, &err), err);
    assert_ok(vfi_address_space_dirty_tracking_start(o.as, &err), err);
    {
        g_autoptr(GArray) dups = NULL;
        g_autoptr(GBytes) blob = handover(&o, &dups);

        new_teardown(&o, restore_ok(blob, dups), dups);
    }
    munmap(mem, MAP1_SIZE);
}

/* A restore the kernel disagrees with: refused with @code naming @what,
 * nothing left (only read-only ioctls were made). */
static void assert_mismatch(Old *o, GBytes *blob, const int *fds, unsigned n, GQuark domain,
                            int code, const char *what)
{
    g_autoptr(GError) err = NULL;
    unsigned files = vfi_sim_open_fds(o->sim), pfds = test_count_process_fds();
    unsigned objects = vfi_sim_live_objects(o->sim);
    VfiLiveUpdateRestored *r = NULL;

    assert_false(vfi_live_update_restore(blob, fds, n, NULL, NULL, 0, &r, &err));
    assert_non_null(err);
    if (!strstr(err->message, what)) {
        fail_msg("\"%s\" not in: %s", what, err->message);
    }
    assert_gerror(err, domain, code);
    assert_null(r);
    assert_int_equal(vfi_sim_open_fds(o->sim), files);
    assert_int_equal(test_count_process_fds(), pfds);
    assert_int_equal(vfi_sim_live_objects(o->sim), objects);
}

/* Another iommufd, an unbound device, a mapping of process memory behind
 * the library's back: each refused, the objects still there. */
static void test_kernel_mismatch(void **state)
{
    g_autoptr(GArray) dups = NULL;
    g_autoptr(GBytes) blob = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *ioas_name = NULL;
    g_autoptr(VfiDevice) fresh = NULL;
    Old o = { 0 };
    int *fds, saved, other;
    uint32_t ioas;

    (void)state;
    old_setup(&o, true);
    ioas = vfi_container_get_ioas_id(vfi_address_space_container(o.as, 0));
    ioas_name = g_strdup_printf("ioas %u", ioas);
    blob = handover(&o, &dups);
    fds = (int *)dups->data;
    /* another iommufd in place of the saved one: its IOAS is not there */
    other = model_open("/dev/iommu");
    assert_true(other >= 0);
    saved = fds[0];
    fds[0] = other;
    assert_mismatch(&o, blob, fds, dups->len, VFI_KERNEL_ERROR, ENOENT, ioas_name);
    fds[0] = saved;
    model_close(other);
    /* an unbound device in place of a0 */
    fresh = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(o.sim, "a0"), &err);
    assert_ok(fresh != NULL, err);
    saved = fds[dups->len - o.ndev];
    fds[dups->len - o.ndev] = vfi_device_get_fd(fresh);
    assert_mismatch(&o, blob, fds, dups->len, VFI_KERNEL_ERROR, EINVAL, "not bound");
    fds[dups->len - o.ndev] = saved;
    g_clear_pointer(&fresh, vfi_device_free);
#if HAVE_IOMMU_IOAS_CHANGE_PROCESS
    {
        /* a mapping of process memory in the IOAS: CHANGE_PROCESS refuses */
        static uint8_t buf[PAGE] __attribute__((aligned(4096)));
        struct iommu_ioas_map map = { .size = sizeof(map), .ioas_id = ioas, .iova = 0x800000,
                                      .length = PAGE, .user_va = (uintptr_t)buf,
                                      .flags = IOMMU_IOAS_MAP_FIXED_IOVA |
                                               IOMMU_IOAS_MAP_READABLE };
        struct iommu_ioas_unmap unmap = { .size = sizeof(unmap), .ioas_id = ioas,
                                          .iova = 0x800000, .length = PAGE };

        assert_int_equal(model_ioctl(fds[0], IOMMU_IOAS_MAP, &map), 0);
        assert_mismatch(&o, blob, fds, dups->len, VFI_KERNEL_ERROR, EINVAL,
                        "IOMMU_IOAS_CHANGE_PROCESS");
        assert_int_equal(vfi_sim_ioas_mapping_count(o.sim, fds[0], ioas), 3);
        assert_int_equal(model_ioctl(fds[0], IOMMU_IOAS_UNMAP, &unmap), 0);
    }
#endif
    new_teardown(&o, restore_ok(blob, dups), dups);
}

/* A fault at every ioctl of the restore: refused, nothing left; the next
 * restore succeeds. */
static void test_faults(void **state)
{
    g_autoptr(GArray) dups = NULL;
    g_autoptr(GBytes) blob = NULL;
    Old o = { 0 };
    VfiLiveUpdateRestored *r = NULL;
    unsigned n;

    (void)state;
    old_setup(&o, true);
    blob = handover(&o, &dups);
    for (n = 1;; n++) {
        g_autoptr(GError) err = NULL;
        unsigned files = vfi_sim_open_fds(o.sim), pfds = test_count_process_fds();
        bool ok;

        vfi_sim_fail_nth(o.sim, n, EIO);
        ok = vfi_live_update_restore(blob, (int *)dups->data, dups->len, NULL, NULL, 0, &r,
                                     &err);
        vfi_sim_fail_clear(o.sim);
        if (ok) {
            break;
        }
        assert_gerror(err, VFI_KERNEL_ERROR, EIO);
        assert_int_equal(vfi_sim_open_fds(o.sim), files);
        assert_int_equal(test_count_process_fds(), pfds);
        assert_int_equal(vfi_sim_live_objects(o.sim), o.objects);
    }
    /* ranges (2 calls), a HWPT check each, device info and hw info each,
     * CHANGE_PROCESS with mappings */
    assert_true(n >= 8);
    new_teardown(&o, r, dups);
}

/* The model as the kernel: a dup of an iommufd reaches the same objects,
 * the file outlives the close of the fd it was opened as, and goes with its
 * last fd; CHANGE_PROCESS's reserved field and its refusal of a map of
 * process memory. */
static void test_model_dups(void **state)
{
    g_autoptr(GError) err = NULL;
    VfiSim *sim = test_sim_new(topo);
    int fd = model_open("/dev/iommu"), dup1;
    struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(model_ioctl(fd, IOMMU_IOAS_ALLOC, &alloc), 0);
    dup1 = fcntl(fd, F_DUPFD_CLOEXEC, 300);
    assert_true(dup1 >= 300);
    assert_int_equal(vfi_sim_live_objects_fd(sim, dup1), 1);
    assert_true(vfi_sim_object_exists(sim, dup1, alloc.out_ioas_id));
    model_close(fd);
    assert_int_equal(vfi_sim_open_fds(sim), 1);
    assert_int_equal(vfi_sim_live_objects(sim), 1);
#if HAVE_IOMMU_IOAS_CHANGE_PROCESS
    {
        static uint8_t buf[PAGE] __attribute__((aligned(4096)));
        struct iommu_ioas_change_process cp = { .size = sizeof(cp), .__reserved = 1 };
        struct iommu_ioas_map map = { .size = sizeof(map), .ioas_id = alloc.out_ioas_id,
                                      .user_va = (uintptr_t)buf, .length = PAGE,
                                      .flags = IOMMU_IOAS_MAP_READABLE };
        VfiIommufd *be = vfi_iommufd_new_from_fd(dup1, &err);

        assert_int_equal(model_ioctl(dup1, IOMMU_IOAS_CHANGE_PROCESS, &cp), -EOPNOTSUPP);
        assert_ok(vfi_iommufd_connect(be, &err), err);
        assert_ok(vfi_iommufd_ioas_change_process(be, &err), err);   /* nothing mapped */
        assert_int_equal(model_ioctl(dup1, IOMMU_IOAS_MAP, &map), 0);
        assert_false(vfi_iommufd_ioas_change_process(be, &err));
        assert_non_null(strstr(err->message, "not made from a file"));
        assert_gerror(err, VFI_KERNEL_ERROR, EINVAL);
        assert_int_equal(vfi_sim_ioas_mapping_count(sim, dup1, alloc.out_ioas_id), 1);
        vfi_iommufd_disconnect(be);
        assert_ok(vfi_iommufd_free(be, &err), err);
    }
#endif
    model_close(dup1);
    assert_int_equal(vfi_sim_open_fds(sim), 0);
    assert_int_equal(vfi_sim_live_objects(sim), 0);
    test_sim_free_clean(sim);
}

/* FD_CLOEXEC cleared for an exec; a bad fd named. */
static void test_keep_on_exec(void **state)
{
    g_autoptr(GError) err = NULL;
    int fds[2] = { memfd_create("a", MFD_CLOEXEC), memfd_create("b", MFD_CLOEXEC) };

    (void)state;
    assert_ok(vfi_live_update_keep_on_exec(fds, 2, &err), err);
    assert_int_equal(fcntl(fds[0], F_GETFD) & FD_CLOEXEC, 0);
    assert_int_equal(fcntl(fds[1], F_GETFD) & FD_CLOEXEC, 0);
    close(fds[1]);
    assert_false(vfi_live_update_keep_on_exec(fds, 2, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_HOST);
    close(fds[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_bad_blob),
        cmocka_unit_test(test_va_mapping_refused),
        cmocka_unit_test(test_kernel_mismatch),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_keep_on_exec),
        cmocka_unit_test(test_model_dups),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
