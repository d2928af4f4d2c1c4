/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Every refusal the public headers document as made by the library itself
 * (domain VFI_ERROR) is made before any ioctl and changes nothing: for each
 * one, on a live setup (devices in a container, mappings at both levels,
 * dirty tracking on), the call fails with the documented code, the model
 * counts no ioctl, and its objects, the mappings and the dirty state are as
 * before (the next sync still finds the pages the devices wrote).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "test-common.h"
#include "test-dirty-helpers.h"
#include "vfio-iommufd/iommufd.h"

typedef struct Setup {
    Fixture *f;
    VfiIommufd *be2;       /* n0 is bound to it */
    VfiContainer *c;       /* a0, l0, m0 */
    uint32_t ioas;         /* a1 is attached to it, outside any container */
    VfiDirtyLog *log;
} Setup;

typedef bool (*RefusalFn)(Setup *s, GError **err);

static Setup *setup_new(void)
{
    Setup *s = g_new0(Setup, 1);
    g_autoptr(GError) err = NULL;
    Fixture *f = s->f = fixture_new(dirty_topo);

    attach_ok(f, "a0", NULL);
    attach_ok(f, "l0", &prefer_logging);
    attach_ok(f, "m0", NULL);
    s->c = container_of_dev(f, "a0");
    map_ok(f, 0, 2 * MIB);
    assert_ok(vfi_container_dma_map(s->c, 4 * MIB, MIB, fake_va(4 * MIB), false, &err), err);
    s->be2 = vfi_iommufd_new();
    assert_ok(vfi_device_bind(fdev(f, "n0"), s->be2, &err), err);
    assert_ok(vfi_device_bind(fdev(f, "a1"), f->be, &err), err);
    assert_ok(vfi_iommufd_ioas_alloc(f->be, &s->ioas, &err), err);
    assert_ok(vfi_device_attach(fdev(f, "a1"), s->ioas, NULL, &err), err);
    assert_ok(vfi_address_space_dirty_tracking_start(f->as, &err), err);
    dma_ok(f, "a0", 3 * PAGE, PAGE);
    dma_ok(f, "l0", 7 * PAGE, PAGE);
    s->log = log_new(0, PAGE, 8 * MIB / PAGE);
    return s;
}

static void setup_free(Setup *s)
{
    g_autoptr(GError) err = NULL;

    stop_all(s->f);
    assert_ok(vfi_device_detach(fdev(s->f, "a1"), &err), err);
    assert_ok(vfi_iommufd_destroy(s->f->be, s->ioas, &err), err);
    assert_ok(vfi_container_dma_unmap(s->c, 4 * MIB, MIB, 0, NULL, &err), err);
    log_free(s->log);
    fixture_free(s->f);
    assert_ok(vfi_iommufd_free(s->be2, &err), err);
    g_free(s);
}

/* ---- the refusals, one call each ------------------------------------------ */

#define F (s->f)
#define DEV(n) fdev(s->f, (n))

static bool r_attach_null(Setup *s, GError **e)
{ return vfi_address_space_attach_device(NULL, F->be, DEV("a0"), NULL, e); }
static bool r_attach_again(Setup *s, GError **e)
{ return vfi_address_space_attach_device(F->as, F->be, DEV("a0"), NULL, e); }
static bool r_attach_other_backend(Setup *s, GError **e)
{ return vfi_address_space_attach_device(F->as, F->be, DEV("n0"), NULL, e); }
static bool r_attach_attached_outside(Setup *s, GError **e)
{ return vfi_address_space_attach_device(F->as, F->be, DEV("a1"), NULL, e); }
static bool r_detach_not_in(Setup *s, GError **e)
{ return vfi_address_space_detach_device(F->as, DEV("n0"), e); }
static bool r_detach_tracked(Setup *s, GError **e)
{ return vfi_address_space_detach_device(F->as, DEV("a0"), e); }
static bool r_as_map_null_va(Setup *s, GError **e)
{ return vfi_address_space_dma_map(F->as, 8 * MIB, PAGE, NULL, false, e); }
static bool r_as_map_size0(Setup *s, GError **e)
{ return vfi_address_space_dma_map(F->as, 8 * MIB, 0, fake_va(0), false, e); }
static bool r_as_map_overflow(Setup *s, GError **e)
{ return vfi_address_space_dma_map(F->as, UINT64_MAX - PAGE + 1, 2 * PAGE, fake_va(0), false, e); }
static bool r_as_map_misaligned(Setup *s, GError **e)
{ return vfi_address_space_dma_map(F->as, 8 * MIB + 8, PAGE, fake_va(0), false, e); }
static bool r_as_map_overlap(Setup *s, GError **e)
{ return vfi_address_space_dma_map(F->as, MIB, PAGE, fake_va(0), false, e); }
static bool r_as_map_over_container(Setup *s, GError **e)
{ return vfi_address_space_dma_map(F->as, 4 * MIB, PAGE, fake_va(0), false, e); }
static bool r_as_map_unlogged(Setup *s, GError **e)
{ return vfi_address_space_dma_map(F->as, 16 * MIB, PAGE, fake_va(16 * MIB), false, e); }
static bool r_as_unmap_cut(Setup *s, GError **e)
{ return vfi_address_space_dma_unmap(F->as, 0, MIB, VFI_UNMAP_DISCARD_DIRTY, e); }
static bool r_as_unmap_flags(Setup *s, GError **e)
{ return vfi_address_space_dma_unmap(F->as, 0, 2 * MIB, 0x80, e); }
static bool r_as_unmap_tracking(Setup *s, GError **e)
{ return vfi_address_space_dma_unmap(F->as, 0, 2 * MIB, 0, e); }
static bool r_as_unmap_container(Setup *s, GError **e)
{ return vfi_address_space_dma_unmap(F->as, 0, 8 * MIB, VFI_UNMAP_DISCARD_DIRTY, e); }
static bool r_c_map_null(Setup *s, GError **e)
{ return vfi_container_dma_map(NULL, 8 * MIB, PAGE, fake_va(0), false, e); }
static bool r_c_map_over_as(Setup *s, GError **e)
{ return vfi_container_dma_map(s->c, 0, PAGE, fake_va(0), false, e); }
static bool r_c_unmap_as(Setup *s, GError **e)
{ return vfi_container_dma_unmap(s->c, 0, 2 * MIB, VFI_UNMAP_DISCARD_DIRTY, NULL, e); }
static bool r_c_unmap_all_as(Setup *s, GError **e)
{ return vfi_container_dma_unmap_all(s->c, NULL, e); }
static bool r_c_unmap_tracking(Setup *s, GError **e)
{ return vfi_container_dma_unmap(s->c, 4 * MIB, MIB, 0, NULL, e); }
static bool r_unmap_dirty_no_log(Setup *s, GError **e)
{ return vfi_address_space_dma_unmap_dirty(F->as, 0, 2 * MIB, NULL, 0, e); }
static bool r_unmap_dirty_short_log(Setup *s, GError **e)
{
    VfiDirtyLog small = *s->log;

    small.nr_pages = 16;
    return vfi_address_space_dma_unmap_dirty(F->as, 0, 2 * MIB, &small, 0, e);
}
static bool r_as_unmap_dirty_cut(Setup *s, GError **e)
{ return vfi_address_space_dma_unmap_dirty(F->as, 0, MIB, s->log, 0, e); }
static bool r_as_unmap_dirty_container(Setup *s, GError **e)
{ return vfi_address_space_dma_unmap_dirty(F->as, 0, 8 * MIB, s->log, 0, e); }
static bool r_c_unmap_dirty_as(Setup *s, GError **e)
{ return vfi_container_dma_unmap_dirty(s->c, 0, 2 * MIB, s->log, 0, NULL, e); }
static bool r_query_page_size(Setup *s, GError **e)
{
    VfiDirtyLog bad = *s->log;

    bad.page_size = 3 * PAGE;
    return vfi_container_query_dirty(s->c, 0, 3 * PAGE, &bad, 0, e);
}
static bool r_query_outside(Setup *s, GError **e)
{ return vfi_container_query_dirty(s->c, 16 * MIB, PAGE, s->log, 0, e); }
static bool r_query_flags(Setup *s, GError **e)
{ return vfi_container_query_dirty(s->c, 0, PAGE, s->log, 0x100, e); }
static bool r_sync_small_pages(Setup *s, GError **e)
{
    VfiDirtyLog bad = *s->log;

    bad.page_size = 1024;
    return vfi_address_space_sync_dirty(F->as, &bad, e);
}
static bool r_as_free(Setup *s, GError **e)
{ return vfi_address_space_free(F->as, e); }
static bool r_be_free(Setup *s, GError **e)
{ return vfi_iommufd_free(F->be, e); }
static bool r_bind_again(Setup *s, GError **e)
{ return vfi_device_bind(DEV("a1"), F->be, e); }
static bool r_attach_twice(Setup *s, GError **e)
{ return vfi_device_attach(DEV("a1"), s->ioas, NULL, e); }
static bool r_detach_unattached(Setup *s, GError **e)
{ return vfi_device_detach(DEV("n0"), e); }
static bool r_info_unbound(Setup *s, GError **e)
{ VfiDeviceInfo i; return vfi_device_get_info(DEV("b0"), &i, e); }
static bool r_logging_start_args(Setup *s, GError **e)
{ return vfi_device_dma_logging_start(DEV("l0"), PAGE, NULL, 0, e); }
static bool r_logging_report_small(Setup *s, GError **e)
{ return vfi_device_dma_logging_report(DEV("l0"), 0, PAGE, 1024, s->log->bitmap, e); }
static bool r_reader_add_zero(Setup *s, GError **e)
{
    g_autoptr(VfiDirtyReader) r = vfi_dirty_reader_new(F->be);

    return vfi_dirty_reader_add_hwpt(r, 0, e);
}
static bool r_reader_remove_unknown(Setup *s, GError **e)
{
    g_autoptr(VfiDirtyReader) r = vfi_dirty_reader_new(F->be);

    return vfi_dirty_reader_remove_hwpt(r, 77, e);
}
static bool r_reader_query_log(Setup *s, GError **e)
{
    g_autoptr(VfiDirtyReader) r = vfi_dirty_reader_new(F->be);
    VfiDirtyLog bad = *s->log;

    bad.base_iova = 8;
    return vfi_dirty_reader_add_hwpt(r, vfi_hwpt_get_id(vfi_device_get_hwpt(DEV("a0"))), e) &&
           vfi_dirty_reader_query(r, 0, PAGE, &bad, 0, e);
}
static bool r_ioas_map_size0(Setup *s, GError **e)
{ return vfi_iommufd_ioas_map(F->be, s->ioas, 0, 0, fake_va(0), false, e); }
static bool r_dirty_bitmap_misaligned(Setup *s, GError **e)
{
    return vfi_iommufd_hwpt_get_dirty_bitmap(F->be, vfi_hwpt_get_id(vfi_device_get_hwpt(DEV("a0"))),
                                             8, PAGE, PAGE, s->log->bitmap, 0, e);
}
static bool r_open_pci_malformed(Setup *s, GError **e)
{ return vfi_device_open_pci("00:1f.0", e) != NULL; }

#undef F
#undef DEV

typedef struct Refusal {
    const char *name;
    RefusalFn fn;
    int code;
} Refusal;

static const Refusal refusals[] = {
    { "attach: no address space", r_attach_null, VFI_ERROR_INVALID_ARGUMENT },
    { "attach: already in a container", r_attach_again, VFI_ERROR_WRONG_STATE },
    { "attach: bound to another backend", r_attach_other_backend, VFI_ERROR_WRONG_STATE },
    { "attach: attached outside containers", r_attach_attached_outside, VFI_ERROR_WRONG_STATE },
    { "detach: in no container", r_detach_not_in, VFI_ERROR_WRONG_STATE },
    { "detach: tracked while tracking", r_detach_tracked, VFI_ERROR_WRONG_STATE },
    { "as map: NULL vaddr", r_as_map_null_va, VFI_ERROR_INVALID_ARGUMENT },
    { "as map: size 0", r_as_map_size0, VFI_ERROR_INVALID_ARGUMENT },
    { "as map: overflow", r_as_map_overflow, VFI_ERROR_INVALID_ARGUMENT },
    { "as map: misaligned", r_as_map_misaligned, VFI_ERROR_INVALID_ARGUMENT },
    { "as map: overlaps a mapping", r_as_map_overlap, VFI_ERROR_INVALID_ARGUMENT },
    { "as map: over a container mapping", r_as_map_over_container, VFI_ERROR_WRONG_STATE },
    { "as map: outside the logged ranges", r_as_map_unlogged, VFI_ERROR_WRONG_STATE },
    { "as unmap: cuts a mapping", r_as_unmap_cut, VFI_ERROR_INVALID_ARGUMENT },
    { "as unmap: unknown flags", r_as_unmap_flags, VFI_ERROR_INVALID_ARGUMENT },
    { "as unmap: tracking on", r_as_unmap_tracking, VFI_ERROR_WRONG_STATE },
    { "as unmap: holds a container mapping", r_as_unmap_container, VFI_ERROR_WRONG_STATE },
    { "container map: no container", r_c_map_null, VFI_ERROR_INVALID_ARGUMENT },
    { "container map: over an as mapping", r_c_map_over_as, VFI_ERROR_WRONG_STATE },
    { "container unmap: an as mapping", r_c_unmap_as, VFI_ERROR_WRONG_STATE },
    { "container unmap all: as mappings", r_c_unmap_all_as, VFI_ERROR_WRONG_STATE },
    { "container unmap: tracking on", r_c_unmap_tracking, VFI_ERROR_WRONG_STATE },
    { "unmap dirty: no log", r_unmap_dirty_no_log, VFI_ERROR_INVALID_ARGUMENT },
    { "unmap dirty: log too short", r_unmap_dirty_short_log, VFI_ERROR_INVALID_ARGUMENT },
    { "as unmap dirty: cuts a mapping", r_as_unmap_dirty_cut, VFI_ERROR_INVALID_ARGUMENT },
    { "as unmap dirty: container mapping", r_as_unmap_dirty_container, VFI_ERROR_WRONG_STATE },
    { "container unmap dirty: as mapping", r_c_unmap_dirty_as, VFI_ERROR_WRONG_STATE },
    { "query: page size", r_query_page_size, VFI_ERROR_INVALID_ARGUMENT },
    { "query: outside the log", r_query_outside, VFI_ERROR_INVALID_ARGUMENT },
    { "query: unknown flags", r_query_flags, VFI_ERROR_INVALID_ARGUMENT },
    { "sync: page below the IOAS alignment", r_sync_small_pages, VFI_ERROR_INVALID_ARGUMENT },
    { "address space free: devices", r_as_free, VFI_ERROR_WRONG_STATE },
    { "backend free: users", r_be_free, VFI_ERROR_WRONG_STATE },
    { "device bind: bound", r_bind_again, VFI_ERROR_WRONG_STATE },
    { "device attach: attached", r_attach_twice, VFI_ERROR_WRONG_STATE },
    { "device detach: not attached", r_detach_unattached, VFI_ERROR_WRONG_STATE },
    { "device info: not bound", r_info_unbound, VFI_ERROR_WRONG_STATE },
    { "logging start: no range", r_logging_start_args, VFI_ERROR_INVALID_ARGUMENT },
    { "logging report: page below 4 KiB", r_logging_report_small, VFI_ERROR_INVALID_ARGUMENT },
    { "reader: hwpt id 0", r_reader_add_zero, VFI_ERROR_INVALID_ARGUMENT },
    { "reader: unknown hwpt", r_reader_remove_unknown, VFI_ERROR_NOT_FOUND },
    { "reader: log base", r_reader_query_log, VFI_ERROR_INVALID_ARGUMENT },
    { "ioas map: size 0", r_ioas_map_size0, VFI_ERROR_INVALID_ARGUMENT },
    { "dirty bitmap: misaligned", r_dirty_bitmap_misaligned, VFI_ERROR_INVALID_ARGUMENT },
    { "open pci: malformed address", r_open_pci_malformed, VFI_ERROR_INVALID_ARGUMENT },
};

/* What a refusal must leave as it was. */
typedef struct Snapshot {
    uint64_t ioctls;
    unsigned objects, as_maps, c_maps, containers, devices;
} Snapshot;

static Snapshot snapshot(Setup *s)
{
    Snapshot n;

    memset(&n, 0, sizeof(n));      /* padding too: compared with memcmp */
    n.ioctls = vfi_sim_ioctl_count(s->f->sim);
    n.objects = vfi_sim_live_objects(s->f->sim);
    n.as_maps = vfi_address_space_mapping_count(s->f->as);
    n.c_maps = vfi_container_mapping_count(s->c);
    n.containers = vfi_address_space_container_count(s->f->as);
    n.devices = vfi_container_device_count(s->c);
    return n;
}

static void test_refusals(void **state)
{
    for (size_t i = 0; i < G_N_ELEMENTS(refusals); i++) {
        Setup *s = setup_new();
        g_autoptr(GError) err = NULL;
        Snapshot before = snapshot(s), after;

        print_message("refusal: %s\n", refusals[i].name);
        assert_false(refusals[i].fn(s, &err));
        assert_non_null(err);
        if (!g_error_matches(err, VFI_ERROR, refusals[i].code)) {
            fail_msg("%s: expected VFI_ERROR/%d, got %s/%d: %s", refusals[i].name,
                     refusals[i].code, g_quark_to_string(err->domain), err->code,
                     err->message);
        }
        g_clear_error(&err);
        after = snapshot(s);
        assert_memory_equal(&before, &after, sizeof(before));
        /* The dirty state too: nothing read, so the next sync finds both pages. */
        assert_ok(vfi_address_space_sync_dirty(s->f->as, s->log, &err), err);
        assert_true(log_test(s->log, 3));
        assert_true(log_test(s->log, 7));
        setup_free(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusals),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
