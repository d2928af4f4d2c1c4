/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Helpers shared by the unit tests: a simulated kernel installed for the
 * duration of one test, and GError assertions.
 */
#ifndef VFI_TEST_COMMON_H
#define VFI_TEST_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <glib.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd-sim/sim.h"

/* Make a model, load @topology (key-file text, may be NULL) and install it.
 * Fails the test on error. */
VfiSim *test_sim_new(const char *topology);
/* Uninstall and free; asserts no fd and no object is left on it. */
void test_sim_free_clean(VfiSim *sim);

/* The number of fds open in this process (/proc/self/fd, its own
 * directory fd included): the model's fds are real ones too. */
unsigned test_count_process_fds(void);
/* The end of one pass of a fault sweep (a failure injected at ioctl @nth):
 * nothing of the type1 path, no object and no fd left, the model freed.
 * Returns @ran_through (the scenario ran through: then it made more than
 * @min_nth ioctls). */
bool test_sim_fault_pass_end(VfiSim *sim, bool ran_through, unsigned nth, unsigned min_nth);

/* Assert that @err is set in @domain with @code, and free it. */
#define assert_gerror(err, domain, code) \
    test_assert_gerror(&(err), (domain), (code), __FILE__, __LINE__)
void test_assert_gerror(GError **err, GQuark domain, int code, const char *file, int line);

/* Assert that @text holds printf(@fmt, ...) (prints both on failure). */
void test_expect_text(const char *text, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* Assert @ok and no error (prints the error's message on failure). */
#define assert_ok(ok, err) test_assert_ok((ok), &(err), __FILE__, __LINE__)
void test_assert_ok(bool ok, GError **err, const char *file, int line);

/* A call refused before any ioctl: false with VFI_ERROR @code, and the
 * model's ioctl count unchanged. @call may use `errp`; @f has a `sim`. */
#define assert_refused(f, call, code) do {                                   \
        g_autoptr(GError) e_ = NULL;                                         \
        uint64_t n_ = vfi_sim_ioctl_count((f)->sim);                        \
        GError **errp = &e_;                                                 \
        assert_false(call);                                                  \
        assert_gerror(e_, VFI_ERROR, (code));                               \
        assert_int_equal(vfi_sim_ioctl_count((f)->sim), n_);               \
    } while (0)

#endif
