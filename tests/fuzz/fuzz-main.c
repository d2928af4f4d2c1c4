/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-ops: the runner. One cmocka test per seed; each runs the fixture
 * (fuzz-fixture.c) through VFI_FUZZ_OPS steps (fuzz-ops.c) and reports
 * every finding with its reproducer. A seed fails only for a finding the
 * known list (fuzz-known.c) does not explain.
 *
 * Environment (docs/testing.md):
 *   VFI_FUZZ_SEED=S[,S...]  run these seeds instead of the fixed list
 *   VFI_FUZZ_OPS=N          steps per seed (default FZ_DEFAULT_OPS)
 *   VFI_FUZZ_VERBOSE=1      print every step
 *   VFI_FUZZ_FAULT2=detach|all|none
 *                           the second fault a step may arm besides the
 *                           n-th ioctl: the next DETACH (default), the
 *                           next of several undo-path kinds, or none
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "fuzz.h"

#define FZ_DEFAULT_OPS 1000

/* The fixed seeds of the short run (CI): a few seconds in all, also under
 * ASan and valgrind. The first six were picked from a campaign of 2000
 * seeds so that every entry of the known list (fuzz-known.c) comes up in
 * this run at least once (the first: K2, K4a/b, K5a/b, K6a/b; then K1a, K3,
 * K7; K8; K1b; K8b; K10); when an entry is fixed and removed, the seed that
 * found it keeps guarding against its return. The others are plain seeds. */
static const uint64_t default_seeds[] = {
    677, 414, 13, 21, 452, 1136,
    1, 2, 3, 4, 5, 6, 7, 8, 0x5eed, 0xdead, 0xbeef, 0xfeed,
};

typedef struct FzRun {
    uint64_t seed;
    unsigned ops;
    bool verbose;
    unsigned fault2_mode;
} FzRun;

/* ---- random numbers (splitmix64: the same sequence everywhere) ---------- */

uint64_t fz_rand(Fz *f)
{
    uint64_t z = (f->rng += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

unsigned fz_below(Fz *f, unsigned n)
{
    return n ? (unsigned)(fz_rand(f) % n) : 0;
}

bool fz_chance(Fz *f, unsigned percent)
{
    return fz_below(f, 100) < percent;
}

/* ---- small helpers shared by the files ---------------------------------- */

void fz_viol(Fz *f, const char *tag, const char *fmt, ...)
{
    FzViol *v = g_new0(FzViol, 1);
    va_list ap;

    va_start(ap, fmt);
    v->tag = g_strdup(tag);
    v->text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(f->viols, v);
}

/* The model never touches user memory: any non-NULL address with the
 * IOVA's page offset. */
void *fz_va(uint64_t iova)
{
    return (void *)(uintptr_t)(UINT64_C(0x10000000000) + iova);
}

FzCont *fz_cont(Fz *f, const VfiContainer *c)
{
    for (guint i = 0; c && i < f->conts->len; i++) {
        FzCont *fc = g_ptr_array_index(f->conts, i);

        if (fc->c == c) {
            return fc;
        }
    }
    return NULL;
}

int fz_slot_of(const Fz *f, const VfiDevice *dev)
{
    for (unsigned i = 0; dev && i < f->nslots; i++) {
        if (f->slots[i].dev == dev) {
            return (int)i;
        }
    }
    return -1;
}

static bool in_maps(const GArray *maps, uint64_t page)
{
    for (guint i = 0; i < maps->len; i++) {
        const FzMap *m = &g_array_index(maps, FzMap, i);

        if (page >= m->iova && page - m->iova < m->size) {
            return true;
        }
    }
    return false;
}

/* Whether the VMM believes @page is mapped in @c. */
bool fz_shadow_mapped(Fz *f, const VfiContainer *c, uint64_t page)
{
    FzCont *fc = fz_cont(f, c);

    return in_maps(f->as_maps, page) || (fc && in_maps(fc->maps, page));
}

/* ---- reporting ---------------------------------------------------------- */

static void print_ioctls(const Fz *f)
{
    g_autoptr(GString) s = g_string_new(NULL);

    for (guint i = 0; i < f->ioctls->len; i++) {
        const FzIoctl *io = &g_array_index(f->ioctls, FzIoctl, i);

        g_string_append_printf(s, "%s%s%s", i ? ", " : "", fz_io_name(io->kind),
                               io->injected ? "!" : "");
        if (io->ret) {
            g_string_append_printf(s, "=%s", g_strerror(-io->ret));
        }
    }
    g_printerr("  ioctls (! = injected): %s\n", s->len ? s->str : "none");
}

static void print_fault(const Fz *f)
{
    g_autoptr(GString) s = g_string_new(NULL);

    if (f->fault_n) {
        g_string_append_printf(s, "ioctl #%u of the step fails with %s", f->fault_n,
                               g_strerror(f->fault_err));
    }
    if (f->fault2_kind >= 0) {
        g_string_append_printf(s, "%sthe next %s fails with %s", s->len ? "; " : "",
                               fz_sim_op_name(f->fault2_kind), g_strerror(f->fault2_err));
    }
    g_printerr("  fault: %s\n", s->len ? s->str : "none armed");
}

/* Report the violations of the step. Returns: whether any was new. */
bool fz_report(Fz *f, const FzOp *o)
{
    g_autofree const char **known = g_new0(const char *, f->viols->len);
    bool all_known = true;

    for (guint i = 0; i < f->viols->len; i++) {
        known[i] = fz_known_match(f, o, g_ptr_array_index(f->viols, i));
        all_known = all_known && known[i];
    }
    g_printerr("fuzz-ops: %s: seed 0x%" PRIx64 " step %u: %s %s -> %s%s%s\n",
               all_known ? "known finding (issue 9)" : "NEW FINDING", f->seed, f->step,
               o->name, o->detail->str, !o->lib ? "done" : o->ok ? "ok" : "failed",
               o->err ? ": " : "", o->err ? o->err->message : "");
    print_fault(f);
    print_ioctls(f);
    for (guint i = 0; i < f->viols->len; i++) {
        const FzViol *v = g_ptr_array_index(f->viols, i);

        g_printerr("  [%s] %s: %s\n", known[i] ? known[i] : "NEW", v->tag, v->text);
    }
    for (guint i = 0; i < f->viols->len; i++) {
        if (known[i]) {
            fz_known_note(known[i], f->seed, f->step);
        }
    }
    g_printerr("  reproduce: VFI_FUZZ_SEED=0x%" PRIx64 " VFI_FUZZ_OPS=%u%s VFI_FUZZ_VERBOSE=1 "
               "fuzz-ops (VFI_TRACE='vfi_*' for the library's trace)\n", f->seed,
               f->step + 1, f->fault2_mode == FZ_FAULT2_ALL ? " VFI_FUZZ_FAULT2=all" :
               f->fault2_mode == FZ_FAULT2_NONE ? " VFI_FUZZ_FAULT2=none" : "");
    return !all_known;
}

/* ---- one seed ----------------------------------------------------------- */

static void run_seed(void **state)
{
    const FzRun *r = *state;
    Fz *f = g_new0(Fz, 1);
    unsigned news, knowns, resets;

    f->seed = r->seed;
    f->rng = r->seed;
    f->verbose = r->verbose;
    f->fault2_mode = r->fault2_mode;
    fz_fixture_new(f);
    for (f->step = 0; f->step < r->ops; f->step++) {
        fz_step(f);
    }
    fz_fixture_free(f, true);
    news = f->findings_new;
    knowns = f->findings_known;
    resets = f->resets;
    g_free(f);
    g_printerr("fuzz-ops: seed 0x%" PRIx64 ": %u steps, %u known finding(s), %u new, "
               "%u fixture reset(s)\n", r->seed, r->ops, knowns, news, resets);
    if (news) {
        fail_msg("seed 0x%" PRIx64 ": %u new finding(s), see above", r->seed, news);
    }
}

static unsigned env_uint(const char *name, unsigned dflt)
{
    const char *s = g_getenv(name);

    return s && *s ? (unsigned)g_ascii_strtoull(s, NULL, 0) : dflt;
}

static GArray *seeds_from_env(void)
{
    GArray *seeds = g_array_new(false, false, sizeof(uint64_t));
    const char *s = g_getenv("VFI_FUZZ_SEED");

    if (s && *s) {
        g_auto(GStrv) parts = g_strsplit(s, ",", -1);

        for (unsigned i = 0; parts[i]; i++) {
            uint64_t v = g_ascii_strtoull(parts[i], NULL, 0);

            g_array_append_val(seeds, v);
        }
    } else {
        g_array_append_vals(seeds, default_seeds, G_N_ELEMENTS(default_seeds));
    }
    return seeds;
}

static unsigned fault2_from_env(void)
{
    const char *s = g_getenv("VFI_FUZZ_FAULT2");

    if (!s || !*s || !strcmp(s, "detach")) {
        return FZ_FAULT2_DETACH;
    }
    if (!strcmp(s, "all")) {
        return FZ_FAULT2_ALL;
    }
    if (!strcmp(s, "none")) {
        return FZ_FAULT2_NONE;
    }
    g_error("VFI_FUZZ_FAULT2=%s: expected detach, all or none", s);
}

int main(void)
{
    g_autoptr(GArray) seeds = seeds_from_env();
    unsigned ops = env_uint("VFI_FUZZ_OPS", FZ_DEFAULT_OPS);
    bool verbose = env_uint("VFI_FUZZ_VERBOSE", 0) != 0;
    unsigned fault2 = fault2_from_env();
    g_autofree FzRun *runs = g_new0(FzRun, seeds->len);
    g_autofree struct CMUnitTest *tests = g_new0(struct CMUnitTest, seeds->len);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    int rc;

    for (guint i = 0; i < seeds->len; i++) {
        runs[i] = (FzRun){ g_array_index(seeds, uint64_t, i), ops, verbose, fault2 };
        g_ptr_array_add(names, g_strdup_printf("seed 0x%" PRIx64 ", %u ops", runs[i].seed,
                                               ops));
        tests[i].name = g_ptr_array_index(names, i);
        tests[i].test_func = run_seed;
        tests[i].initial_state = &runs[i];
    }
    rc = _cmocka_run_group_tests("fuzz-ops", tests, seeds->len, NULL, NULL);
    fz_known_print_summary();
    return rc;
}
