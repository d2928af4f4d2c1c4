/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The VMM's device hooks (VfiDeviceHooks: registering device fds with a
 * hypervisor, e.g. KVM's VFIO device): called after each attach and before
 * each device leaves (detach, hot-unplug during migration, free of an
 * attached device) with the device's fd; a failing attached hook undoes the
 * attach completely and is never followed by a detaching call; hooks are
 * set only while no device is attached.
 */
#include "test-dirty-helpers.h"

typedef struct Recorder {
    GString *calls;          /* "+name:fd -name:fd ..." */
    const char *refuse;      /* the device name the attached hook refuses */
} Recorder;

static bool rec_attached(void *opaque, VfiDevice *dev, int fd, GError **errp)
{
    Recorder *r = opaque;

    if (r->refuse && !strcmp(vfi_device_get_label(dev), r->refuse)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "KVM_DEV_VFIO_FILE_ADD: EINVAL");
        return false;
    }
    g_assert_cmpint(fd, ==, vfi_device_get_fd(dev));
    g_assert_nonnull(vfi_device_get_container(dev));       /* already placed */
    g_string_append_printf(r->calls, "+%s ", vfi_device_get_label(dev));
    return true;
}

static void rec_detaching(void *opaque, VfiDevice *dev, int fd)
{
    Recorder *r = opaque;

    g_assert_cmpint(fd, ==, vfi_device_get_fd(dev));
    g_assert_nonnull(vfi_device_get_container(dev));       /* still attached */
    g_string_append_printf(r->calls, "-%s ", vfi_device_get_label(dev));
}

/* Attach @name labelled @name (the hooks print labels). */
static void attach_named(Fixture *f, const char *name)
{
    VfiAttachOptions o = VFI_ATTACH_OPTIONS_INIT(.label = name);

    attach_ok(f, name, &o);
}

static void set_hooks(Fixture *f, Recorder *r)
{
    g_autoptr(GError) err = NULL;
    VfiDeviceHooks h = { rec_attached, rec_detaching, r };

    assert_ok(vfi_address_space_set_device_hooks(f->as, &h, &err), err);
}

static void test_hooks_called(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    Recorder r = { g_string_new(NULL), NULL };
    g_autoptr(GError) err = NULL;
    VfiDeviceHooks none = { 0 };

    set_hooks(f, &r);
    attach_named(f, "a0");
    attach_named(f, "b0");
    attach_named(f, "m0");
    /* not while devices are attached, and nothing changes */
    assert_false(vfi_address_space_set_device_hooks(f->as, &none, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_WRONG_STATE);
    assert_false(vfi_address_space_set_device_hooks(NULL, &none, &err));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT);
    detach_ok(f, "b0");
    /* a device freed while attached leaves through the hook too */
    vfi_device_free(f->devs[0]);
    f->devs[0] = NULL;
    assert_string_equal(r.calls->str, "+a0 +b0 +m0 -b0 -a0 ");
    detach_ok(f, "m0");
    assert_string_equal(r.calls->str, "+a0 +b0 +m0 -b0 -a0 -m0 ");
    /* removed with no device attached: no more calls */
    assert_ok(vfi_address_space_set_device_hooks(f->as, NULL, &err), err);
    attach_named(f, "b0");
    detach_ok(f, "b0");
    assert_string_equal(r.calls->str, "+a0 +b0 +m0 -b0 -a0 -m0 ");
    g_string_free(r.calls, true);
    fixture_free(f);
}

/* The attached hook refuses: the attach fails (VFI_ERROR_VMM, the hook's
 * message), is undone completely (no object, the device in no container),
 * and no detaching call follows; also in a container made for the device
 * while the address space tracks. */
static void test_hook_refuses(void **state)
{
    Fixture *f = fixture_new(dirty_topo);
    Recorder r = { g_string_new(NULL), "b0" };
    g_autoptr(GError) err = NULL;
    unsigned objects;

    set_hooks(f, &r);
    attach_named(f, "a0");
    map_ok(f, 0, 64 * PAGE);
    assert_ok(vfi_address_space_dirty_tracking_start(f->as, &err), err);
    /* bound first, so that the count below sees kernel objects only */
    assert_ok(vfi_device_bind(fdev(f, "b0"), f->be, &err), err);
    objects = vfi_sim_live_objects(f->sim);
    vfi_device_set_label(fdev(f, "b0"), "b0");
    assert_false(vfi_address_space_attach_device(f->as, f->be, fdev(f, "b0"), NULL, &err));
    assert_non_null(err);
    assert_non_null(strstr(err->message, "KVM_DEV_VFIO_FILE_ADD: EINVAL"));
    assert_gerror(err, VFI_ERROR, VFI_ERROR_VMM);
    assert_null(vfi_device_get_container(fdev(f, "b0")));
    assert_true(vfi_device_get_devid(fdev(f, "b0")) != 0);     /* still bound */
    assert_int_equal(vfi_sim_live_objects(f->sim), objects);
    assert_int_equal(vfi_address_space_container_count(f->as), 1);
    assert_int_equal(vfi_container_hwpt_count(vfi_address_space_container(f->as, 0)), 1);
    assert_string_equal(r.calls->str, "+a0 ");
    /* the rest still tracks and syncs */
    dma_ok(f, "a0", 3 * PAGE, PAGE);
    {
        VfiDirtyLog *log = log_new(0, PAGE, 64);

        assert_ok(vfi_address_space_sync_dirty(f->as, log, &err), err);
        assert_true(log_test(log, 3) && log_count(log) == 1);
        log_free(log);
    }
    /* accepted the next time */
    r.refuse = NULL;
    attach_named(f, "b0");
    assert_string_equal(r.calls->str, "+a0 +b0 ");
    stop_all(f);
    detach_ok(f, "b0");
    detach_ok(f, "a0");
    assert_string_equal(r.calls->str, "+a0 +b0 -b0 -a0 ");
    g_string_free(r.calls, true);
    fixture_free(f);
}

/* A failure injected at each ioctl of an attach with hooks set (a new
 * container, a HWPT, the attach) and of the detach after it: a failed
 * attach never reached the attached hook and left no kernel object (the
 * device in no container); a detach calls the detaching hook once, before
 * its ioctls, whatever fails after. Ends when the attach runs through. */
static void test_hook_faults(void **state)
{
    for (unsigned n = 1;; n++) {
        Fixture *f = fixture_new(dirty_topo);
        Recorder r = { g_string_new(NULL), NULL };
        VfiAttachOptions o = VFI_ATTACH_OPTIONS_INIT(.label = "a0");
        g_autoptr(GError) err = NULL;
        bool ok;

        (void)state;
        set_hooks(f, &r);
        vfi_sim_fail_nth(f->sim, n, EIO);
        ok = vfi_address_space_attach_device(f->as, f->be, fdev(f, "a0"), &o, &err);
        vfi_sim_fail_clear(f->sim);
        check_consistent(f);
        if (!ok) {
            assert_string_equal(r.calls->str, "");
            assert_null(vfi_device_get_container(fdev(f, "a0")));
            assert_int_equal(vfi_address_space_container_count(f->as), 0);
        } else {
            assert_string_equal(r.calls->str, "+a0 ");
            detach_ok(f, "a0");
            assert_string_equal(r.calls->str, "+a0 -a0 ");
        }
        g_string_free(r.calls, true);
        fixture_free(f);
        if (ok) {
            assert_true(n > 2);      /* IOAS alloc, HWPT alloc, attach at least */
            break;
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hooks_called),
        cmocka_unit_test(test_hook_refuses),
        cmocka_unit_test(test_hook_faults),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
