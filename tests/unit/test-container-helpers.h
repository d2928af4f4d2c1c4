/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers shared by the container-layer tests (test-container.c,
 * test-auto-domains.c, test-container-faults.c, test-dma-map.c): a fixture
 * with a model, one backend, one address space and the model's devices
 * opened by name, plus checks that the model holds exactly the objects and
 * fds the library's lists imply.
 */
#ifndef VFI_TEST_CONTAINER_HELPERS_H
#define VFI_TEST_CONTAINER_HELPERS_H

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <linux/iommufd.h>

#include "test-common.h"
#include "vfio-iommufd/iommufd.h"
#include "vfio-iommufd-sim/sim.h"
#include "vfio-iommufd/container.h"
#include "vfio-iommufd/device.h"

#define TEST_MAX_DEVS 16

typedef struct Fixture {
    VfiSim *sim;
    VfiIommufd *be;
    VfiAddressSpace *as;
    unsigned ndevs;
    const char *names[TEST_MAX_DEVS];   /* owned by the sim */
    VfiDevice *devs[TEST_MAX_DEVS];
} Fixture;

/* count_fds(), assert_refused(): test-common.h */
#define count_fds() test_count_process_fds()

/* A model with @topology, a backend, an address space, and every device of
 * the topology opened (not bound). */
static inline Fixture *fixture_new(const char *topology)
{
    Fixture *f = g_new0(Fixture, 1);
    g_autoptr(GError) err = NULL;
    g_autofree const char **names = NULL;
    unsigned n = 0;

    f->sim = test_sim_new(topology);
    f->be = vfi_iommufd_new();
    assert_non_null(f->be);
    f->as = vfi_address_space_new(f);
    assert_non_null(f->as);
    names = vfi_sim_device_names(f->sim, &n);
    assert_true(n <= TEST_MAX_DEVS);
    for (unsigned i = 0; i < n; i++) {
        f->names[i] = names[i];
        f->devs[i] = vfi_device_open_sysfs(vfi_sim_device_sysfs_path(f->sim, names[i]),
                                            &err);
        assert_ok(f->devs[i] != NULL, err);
    }
    f->ndevs = n;
    return f;
}

static inline VfiDevice *fdev(Fixture *f, const char *name)
{
    for (unsigned i = 0; i < f->ndevs; i++) {
        if (!strcmp(f->names[i], name)) {
            return f->devs[i];
        }
    }
    fail_msg("no device %s in the topology", name);
    return NULL;
}

static inline void attach_ok(Fixture *f, const char *name, const VfiAttachOptions *opts)
{
    g_autoptr(GError) err = NULL;
    bool ok = vfi_address_space_attach_device(f->as, f->be, fdev(f, name), opts, &err);

    assert_ok(ok, err);
}

static inline void detach_ok(Fixture *f, const char *name)
{
    g_autoptr(GError) err = NULL;
    bool ok = vfi_address_space_detach_device(f->as, fdev(f, name), &err);

    assert_ok(ok, err);
}

/* Objects the library's lists imply: one binding per bound device, one IOAS
 * per container, its HWPTs. */
static inline unsigned expected_objects(Fixture *f)
{
    unsigned n = 0;

    for (unsigned i = 0; i < f->ndevs; i++) {
        n += vfi_device_is_bound(f->devs[i]);
    }
    for (unsigned i = 0; i < vfi_address_space_container_count(f->as); i++) {
        n += 1 + vfi_container_hwpt_count(vfi_address_space_container(f->as, i));
    }
    return n;
}

/* Check that the model and the library agree: objects, fds, each device's
 * attached pt, each HWPT's id existing, lists cross-linked. */
static inline void check_consistent(Fixture *f)
{
    unsigned fds = f->ndevs + (vfi_iommufd_users(f->be) ? 1 : 0);
    unsigned in_containers = 0;
    int iommufd = vfi_iommufd_get_fd(f->be);

    assert_int_equal(vfi_sim_live_objects(f->sim), expected_objects(f));
    assert_int_equal(vfi_sim_open_fds(f->sim), fds);
    for (unsigned i = 0; i < vfi_address_space_container_count(f->as); i++) {
        VfiContainer *c = vfi_address_space_container(f->as, i);

        assert_ptr_equal(vfi_container_get_address_space(c), f->as);
        assert_true(vfi_sim_object_exists(f->sim, iommufd, vfi_container_get_ioas_id(c)));
        for (unsigned j = 0; j < vfi_container_hwpt_count(c); j++) {
            VfiHwpt *h = vfi_container_hwpt(c, j);

            assert_ptr_equal(vfi_hwpt_get_container(h), c);
            assert_true(vfi_sim_object_exists(f->sim, iommufd, vfi_hwpt_get_id(h)));
            for (unsigned k = 0; k < vfi_hwpt_device_count(h); k++) {
                assert_ptr_equal(vfi_device_get_hwpt(vfi_hwpt_device(h, k)), h);
            }
        }
        for (unsigned j = 0; j < vfi_container_device_count(c); j++) {
            VfiDevice *d = vfi_container_device(c, j);
            VfiHwpt *h = vfi_device_get_hwpt(d);

            assert_ptr_equal(vfi_device_get_container(d), c);
            in_containers++;
            if (vfi_device_is_mdev(d)) {
                assert_null(h);
            } else {
                assert_non_null(h);
                assert_int_equal(vfi_device_get_attached_pt(d), vfi_hwpt_get_id(h));
            }
        }
    }
    for (unsigned i = 0; i < f->ndevs; i++) {
        VfiDevice *d = f->devs[i];
        uint32_t pt = vfi_sim_device_attached_pt(f->sim, f->names[i]);

        if (vfi_device_get_container(d)) {
            in_containers--;
            assert_int_not_equal(pt, 0);
            if (vfi_device_is_mdev(d)) {
                assert_int_equal(pt, vfi_container_get_ioas_id(vfi_device_get_container(d)));
            } else {
                assert_int_equal(pt, vfi_hwpt_get_id(vfi_device_get_hwpt(d)));
            }
        } else {
            assert_int_equal(pt, 0);
        }
    }
    assert_int_equal(in_containers, 0);
}

/* Detach every device still in a container, free everything, and check
 * that the model is left clean. */
static inline void fixture_free(Fixture *f)
{
    g_autoptr(GError) err = NULL;

    for (unsigned i = 0; i < f->ndevs; i++) {
        if (f->devs[i] && vfi_device_get_container(f->devs[i])) {
            assert_ok(vfi_address_space_detach_device(f->as, f->devs[i], &err), err);
        }
    }
    assert_ok(vfi_address_space_free(f->as, &err), err);
    for (unsigned i = 0; i < f->ndevs; i++) {
        vfi_device_free(f->devs[i]);
    }
    assert_ok(vfi_iommufd_free(f->be, &err), err);
    test_sim_free_clean(f->sim);
    g_free(f);
}

/* Find the device's HWPT index in its container (creation order), -1 if none. */
static inline int hwpt_index(VfiDevice *d)
{
    VfiContainer *c = vfi_device_get_container(d);
    VfiHwpt *h = vfi_device_get_hwpt(d);

    for (unsigned i = 0; c && i < vfi_container_hwpt_count(c); i++) {
        if (vfi_container_hwpt(c, i) == h) {
            return (int)i;
        }
    }
    return -1;
}

static inline int cmp_strp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort an array of strings. */
static inline void sort_strings(GPtrArray *a)
{
    g_ptr_array_sort(a, cmp_strp);
}

/* A description of the address space's shape independent of ids and creation
 * order: per container, the sorted list of "flags:dev,dev" per HWPT, plus
 * its mdevs. Containers sorted too. */
static inline char *shape(Fixture *f)
{
    g_autoptr(GPtrArray) cs = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GString) out = g_string_new("");

    for (unsigned i = 0; i < vfi_address_space_container_count(f->as); i++) {
        VfiContainer *c = vfi_address_space_container(f->as, i);
        g_autoptr(GPtrArray) hs = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GPtrArray) mdevs = g_ptr_array_new();
        g_autoptr(GString) cstr = g_string_new("{");

        for (unsigned j = 0; j < vfi_container_hwpt_count(c); j++) {
            VfiHwpt *h = vfi_container_hwpt(c, j);
            g_autoptr(GPtrArray) names = g_ptr_array_new();
            GString *hstr = g_string_new("");

            for (unsigned k = 0; k < vfi_hwpt_device_count(h); k++) {
                g_ptr_array_add(names, (gpointer)vfi_device_get_name(vfi_hwpt_device(h, k)));
            }
            sort_strings(names);
            g_string_append_printf(hstr, "%x:", vfi_hwpt_get_flags(h));
            for (unsigned k = 0; k < names->len; k++) {
                g_string_append_printf(hstr, "%s,", (char *)g_ptr_array_index(names, k));
            }
            g_ptr_array_add(hs, g_string_free(hstr, false));
        }
        for (unsigned j = 0; j < vfi_container_device_count(c); j++) {
            VfiDevice *d = vfi_container_device(c, j);

            if (vfi_device_is_mdev(d)) {
                g_ptr_array_add(mdevs, (gpointer)vfi_device_get_name(d));
            }
        }
        sort_strings(hs);
        sort_strings(mdevs);
        for (unsigned j = 0; j < hs->len; j++) {
            g_string_append_printf(cstr, "[%s]", (char *)g_ptr_array_index(hs, j));
        }
        for (unsigned j = 0; j < mdevs->len; j++) {
            g_string_append_printf(cstr, "m:%s,", (char *)g_ptr_array_index(mdevs, j));
        }
        g_string_append(cstr, "}");
        g_ptr_array_add(cs, g_string_free(g_steal_pointer(&cstr), false));
    }
    sort_strings(cs);
    for (unsigned j = 0; j < cs->len; j++) {
        g_string_append(out, g_ptr_array_index(cs, j));
    }
    return g_string_free(g_steal_pointer(&out), false);
}

#endif
