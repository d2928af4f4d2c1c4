/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-ops: the known findings (issue 9).
 *
 * A finding is known when every one of its violations is explained by an
 * entry below: the operation, the injected fault it needs, the error of
 * the call, and the symptom (a key violation, by tag and text, plus the
 * other tags that symptom brings along). A known finding is reported as
 * "known (issue 9)" and does not fail the test; anything else does. The
 * findings issue 9 named (K1 to K6) and those this test found (K7 to K10)
 * are fixed, and their entries gone, but for the undos that fail
 * themselves, where the library now keeps its record equal to the
 * kernel's and the error says what stayed (K2, K3, K4b, K7, K8b): this
 * test's "nothing changed" check cannot tell that from a broken promise,
 * so those stay listed as documented exceptions.
 *
 * Remove an entry when its bug is fixed: the test then fails if it comes
 * back. Keep them precise: match the operation, the fault and the symptom,
 * not whole classes of failures.
 */
#include <inttypes.h>
#include <string.h>

#include "fuzz.h"

typedef struct FzKnown {
    const char *id;
    const char *what;
    const char *ops;            /* operation names, space-separated */
    unsigned faults;            /* FZ_BIT()s: one of them failed by injection; 0: none */
    const char *err;            /* substrings of the call's error message, one of which
                                 * must be there, separated by '|'; or NULL */
    bool vmm_fd;                /* only for a device made from the VMM's fd */
    const char *key;            /* the violation that makes the finding this one */
    const char *key_text;       /* substring of its text, or NULL */
    const char *tags[10];       /* the other violations of the same symptom */
} FzKnown;

#define DETACH FZ_BIT(FZ_IO_DETACH)
#define DESTROY FZ_BIT(FZ_IO_DESTROY)

static const FzKnown known[] = {
    { "K2-attach-keeps-container",
      "a failed attach whose rollback cannot destroy the new container's IOAS (or HWPT) "
      "leaves an empty container in the address space (container.h: \"On failure nothing "
      "is left\")",
      "attach", DESTROY, NULL, false, "B-empty-container-kept", NULL,
      { "B-objects", "B-as-tracking", "I-cont-maps" } },
    { "K3-free-vmm-fd-detach",
      "vfi_device_free() of a device from a VMM-passed fd whose DETACH fails only traces "
      "it: the fd stays open, so the device stays attached in the kernel",
      "free", DETACH, NULL, true, "I-freed-still-attached", NULL, { NULL } },
    { "K4b-attach-rollback-detach",
      "... and when the rollback DETACH of a failed attach fails (attach_finish: a failed "
      "DETACH skips forgetting the device), the device is left in the container, in use, "
      "although the attach failed; with one fault after the logging refusal above, with "
      "a second one after a failed IOVA-range re-read or catch-up start",
      "attach", DETACH, NULL, false, "B-left-in-container", NULL,
      { "A-vfi-error-after-ioctls", "B-model-pt", "B-lib-pt", "B-hwpt-added",
        "B-container-added", "B-objects", "B-logging", "B-as-tracking", "I-sources" } },
    { "K7-attach-keeps-hwpt",
      "a failed attach whose rollback cannot destroy the HWPT it allocated in an existing "
      "container (the attach to it was refused, EADDRINUSE) leaves that empty HWPT in the "
      "container (container.h: \"On failure nothing is left: no new HWPT\")",
      "attach", DESTROY, NULL, false, "B-empty-hwpt-kept", NULL, { "B-objects" } },
    { "K8b-as-stop-undo-cannot-restart",
      "the same in an address-space stop: when a later container's stop fails, an earlier "
      "container whose logging device has nothing mapped any more cannot be started again "
      "and is left stopped, although the stop failed (dirty.h: \"on failure the "
      "containers already stopped are started again\")",
      "as_stop", FZ_BIT(FZ_IO_DIRTY_OFF) | FZ_BIT(FZ_IO_LOG_STOP), NULL, false, "B-tracking",
      "on before, off after", { "B-logging", "B-hwpt-on", "B-as-tracking" } },
    { "K8c-stop-undo-fails",
      "a failed stop whose undo cannot switch a source on again (a third fault): the "
      "source stays off, as in the kernel, the error says so, and the coverage report "
      "names the device (VFI_UNTRACKED_SWITCH_FAILED)",
      "as_stop c_stop", FZ_BIT(FZ_IO_LOG_START) | FZ_BIT(FZ_IO_DIRTY_ON), "undo failed",
      false, "B-logging", NULL, { "B-hwpt-on", "B-tracking", "B-as-tracking" } },
};

static unsigned seen[G_N_ELEMENTS(known)];
static uint64_t first_seed[G_N_ELEMENTS(known)];
static unsigned first_step[G_N_ELEMENTS(known)];

static bool word_in(const char *list, const char *word)
{
    g_auto(GStrv) words = g_strsplit(list, " ", -1);

    return g_strv_contains((const char *const *)words, word);
}

static bool err_matches(const FzKnown *k, const FzOp *o)
{
    g_auto(GStrv) alts = NULL;

    if (!k->err) {
        return true;
    }
    if (!o->err) {
        return false;
    }
    alts = g_strsplit(k->err, "|", -1);
    for (unsigned i = 0; alts[i]; i++) {
        if (strstr(o->err->message, alts[i])) {
            return true;
        }
    }
    return false;
}

static bool has_key(const Fz *f, const FzKnown *k)
{
    for (guint i = 0; i < f->viols->len; i++) {
        const FzViol *v = g_ptr_array_index(f->viols, i);

        if (!strcmp(v->tag, k->key) && (!k->key_text || strstr(v->text, k->key_text))) {
            return true;
        }
    }
    return false;
}

static bool explains(const FzKnown *k, const FzViol *v)
{
    if (!strcmp(v->tag, k->key)) {
        return !k->key_text || strstr(v->text, k->key_text);
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(k->tags) && k->tags[i]; i++) {
        if (!strcmp(v->tag, k->tags[i])) {
            return true;
        }
    }
    return false;
}

static bool applies(const Fz *f, const FzOp *o, const FzKnown *k)
{
    return k->id && word_in(k->ops, o->name) &&
           (!k->faults || fz_io_failed(f, k->faults, true)) && err_matches(k, o) &&
           (!k->vmm_fd || o->vmm_fd) && has_key(f, k);
}

const char *fz_known_match(const Fz *f, const FzOp *o, const FzViol *v)
{
    for (size_t i = 0; i < G_N_ELEMENTS(known); i++) {
        if (applies(f, o, &known[i]) && explains(&known[i], v)) {
            return known[i].id;
        }
    }
    return NULL;
}

void fz_known_note(const char *id, uint64_t seed, unsigned step)
{
    for (size_t i = 0; i < G_N_ELEMENTS(known); i++) {
        if (known[i].id && !strcmp(known[i].id, id)) {
            if (!seen[i]++) {
                first_seed[i] = seed;
                first_step[i] = step;
            }
            return;
        }
    }
}

void fz_known_print_summary(void)
{
    g_printerr("fuzz-ops: known findings (issue 9), violations seen in this run:\n");
    for (size_t i = 0; i < G_N_ELEMENTS(known); i++) {
        if (!known[i].id) {
            continue;
        }
        if (seen[i]) {
            g_printerr("  %s: %u, first at seed 0x%" PRIx64 " step %u: %s\n", known[i].id,
                       seen[i], first_seed[i], first_step[i], known[i].what);
        } else {
            g_printerr("  %s: not seen: %s\n", known[i].id, known[i].what);
        }
    }
}
