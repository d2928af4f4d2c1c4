/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>

#include "test-common.h"

VfiSim *test_sim_new(const char *topology)
{
    g_autoptr(GError) err = NULL;
    VfiSim *sim = vfi_sim_new(&err);

    if (!sim) {
        fail_msg("vfi_sim_new: %s", err->message);
    }
    if (topology && !vfi_sim_load_topology_data(sim, topology, &err)) {
        fail_msg("topology: %s", err->message);
    }
    vfi_sim_install(sim);
    return sim;
}

void test_sim_free_clean(VfiSim *sim)
{
    unsigned objects = vfi_sim_live_objects(sim);
    unsigned fds = vfi_sim_open_fds(sim);

    vfi_sim_free(sim);
    assert_int_equal(objects, 0);
    assert_int_equal(fds, 0);
}

bool test_sim_fault_pass_end(VfiSim *sim, bool ran_through, unsigned nth, unsigned min_nth)
{
    assert_int_equal(vfi_sim_type1_live(sim), 0);
    test_sim_free_clean(sim);
    if (ran_through) {
        assert_true(nth > min_nth);
    }
    return ran_through;
}

void test_assert_gerror(GError **err, GQuark domain, int code, const char *file, int line)
{
    if (!*err) {
        _fail(file, line);
    }
    if ((*err)->domain != domain || (*err)->code != code) {
        print_error("%s:%d: expected error %s/%d, got %s/%d: %s\n", file, line,
                    g_quark_to_string(domain), code, g_quark_to_string((*err)->domain),
                    (*err)->code, (*err)->message);
        _fail(file, line);
    }
    g_clear_error(err);
}

void test_assert_ok(bool ok, GError **err, const char *file, int line)
{
    if (!ok || *err) {
        print_error("%s:%d: unexpected failure: %s\n", file, line,
                    *err ? (*err)->message : "(no GError set)");
        _fail(file, line);
    }
}

unsigned test_count_process_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    unsigned n = 0;

    assert_non_null(d);
    while (readdir(d)) {
        n++;
    }
    closedir(d);
    return n;
}

void test_expect_text(const char *text, const char *fmt, ...)
{
    g_autofree char *want = NULL;
    va_list ap;

    va_start(ap, fmt);
    want = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (!strstr(text, want)) {
        fail_msg("\"%s\" lacks \"%s\"", text, want);
    }
}
