/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: what the kernel said while placing devices in a container
 * (docs/auto-domains.md, "Remembering what the kernel said").
 *
 * A device's fingerprint is its IOMMU hw info (type, capabilities, vendor
 * data: its "class") and, when sysfs tells it, its IOMMU instance. The
 * container remembers, per fingerprint, which of its HWPTs accepted it and
 * which refused it with EINVAL; each HWPT knows the records that name it,
 * and its destroy forgets them (vfi_memo_hwpt_forget()). From that:
 *
 *  - the HWPTs that accepted a fingerprint are tried first for it;
 *  - a HWPT that refused a fingerprint with a known instance is not tried
 *    again for it; with the instance unknown the refusal is only a hint
 *    (that HWPT is tried last), as two devices that look the same may sit
 *    behind different instances;
 *  - a hw info class is "bound to its instance" while some HWPT holding one
 *    instance of it (and only that one) refused another instance of it, and
 *    no HWPT accepted two instances of it: the kernel then decides by the
 *    instance, not by the hw info (an SMMUv3-like driver; a VT-d or AMD
 *    domain compatible by capabilities can be shared, and shows it by being
 *    shared). For a device of a bound class with a known instance, the HWPTs
 *    that accepted only another instance of its class are not tried.
 *
 * The records go with their HWPT, and the whole memo with the container's
 * last HWPT. Every decision is a trace event.
 */
#include <inttypes.h>
#include <string.h>

#include <linux/iommufd.h>

#include "container-internal.h"
#include "trace.h"

typedef struct MemoClass {
    guint hash;
    uint32_t type;
    uint64_t caps;
    uint32_t data_len;
    uint8_t *data;             /* owned */
    unsigned refs;             /* MemoFp records of this class */
    GPtrArray *pure[VFI_HWPT_KINDS]; /* VfiHwpt *, [kind]: whose one accepted
                                * fingerprint is of this class, instance known */
    GPtrArray *evidence;       /* VfiHwpt *: pure, refused another instance */
    GPtrArray *shared;         /* VfiHwpt *: accepted two known instances */
} MemoClass;

typedef struct MemoFp {
    VfiFingerprint fp;         /* data: its class's; instance owned */
    MemoClass *cls;
    GPtrArray *accepted;       /* VfiHwpt *, order of acceptance */
    GHashTable *refused;       /* set of VfiHwpt * (EINVAL) */
} MemoFp;

struct VfiHwptMemo {
    uint64_t seq;              /* creation order in its container */
    GPtrArray *accepted;       /* MemoFp * */
    GPtrArray *refused;        /* MemoFp * */
    MemoClass *pure;           /* in pure->pure[kind], or NULL: in memo->open */
    MemoClass *evidence;       /* in evidence->evidence, or NULL */
    GPtrArray *shared_in;      /* MemoClass * whose shared list holds it */
};

struct VfiPlacementMemo {
    GHashTable *fps;           /* VfiFingerprint * (of a MemoFp) -> MemoFp * */
    GHashTable *classes;       /* MemoClass * -> itself */
    GPtrArray *open[VFI_HWPT_KINDS]; /* VfiHwpt *, [kind]: not pure */
    uint64_t next_seq;
    GPtrArray *alloc_refused;  /* MemoAllocRefusal *: HWPT_ALLOC refusals */
};

/* HWPT_ALLOC refused @flags for a device of fingerprint @fp (its data and
 * instance owned). */
typedef struct MemoAllocRefusal {
    VfiFingerprint fp;
    uint32_t flags;
} MemoAllocRefusal;

static void alloc_refusal_free(gpointer p);

static guint fnv(guint h, const void *p, size_t n)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++) {
        h = (h ^ b[i]) * 16777619u;
    }
    return h;
}

void vfi_fingerprint_init(VfiFingerprint *fp, const VfiContainerDevice *cd)
{
    guint h = 2166136261u;

    memset(fp, 0, sizeof(*fp));
    fp->type = cd->hw_info.type;
    fp->caps = cd->hw_info.capabilities;
    fp->data_len = MIN(cd->hw_info.data_len, (uint32_t)VFI_HW_INFO_DATA_MAX);
    fp->data = cd->hw_data;
    fp->instance = vfi_device_get_iommu_instance(cd->dev);
    h = fnv(h, &fp->type, sizeof(fp->type));
    h = fnv(h, &fp->caps, sizeof(fp->caps));
    h = fnv(h, &fp->data_len, sizeof(fp->data_len));
    fp->class_hash = fnv(h, fp->data, fp->data_len);
    fp->hash = fp->instance ? fp->class_hash ^ (g_str_hash(fp->instance) * 31u)
                            : fp->class_hash;
}

static bool same_class(guint hash, uint32_t type, uint64_t caps, uint32_t len,
                       const uint8_t *data, const MemoClass *k)
{
    return hash == k->hash && type == k->type && caps == k->caps && len == k->data_len &&
           memcmp(data, k->data, len) == 0;
}

static guint fp_hash(gconstpointer p)
{
    return ((const VfiFingerprint *)p)->hash;
}

static gboolean fp_equal(gconstpointer pa, gconstpointer pb)
{
    const VfiFingerprint *a = pa, *b = pb;

    return a->hash == b->hash && a->class_hash == b->class_hash && a->type == b->type &&
           a->caps == b->caps && a->data_len == b->data_len &&
           memcmp(a->data, b->data, a->data_len) == 0 &&
           g_strcmp0(a->instance, b->instance) == 0;
}

static guint class_hash(gconstpointer p)
{
    return ((const MemoClass *)p)->hash;
}

static gboolean class_equal(gconstpointer pa, gconstpointer pb)
{
    const MemoClass *a = pa;

    return same_class(a->hash, a->type, a->caps, a->data_len, a->data, pb);
}

static VfiPlacementMemo *memo_get(VfiContainer *c)
{
    if (!c->memo) {
        c->memo = g_new0(VfiPlacementMemo, 1);
        c->memo->fps = g_hash_table_new(fp_hash, fp_equal);
        c->memo->classes = g_hash_table_new(class_hash, class_equal);
        for (unsigned k = 0; k < VFI_HWPT_KINDS; k++) {
            c->memo->open[k] = g_ptr_array_new();
        }
        c->memo->alloc_refused = g_ptr_array_new_with_free_func(alloc_refusal_free);
    }
    return c->memo;
}

static unsigned kind_idx(const VfiHwpt *h)
{
    return vfi_hwpt_kind(h->flags);
}

static MemoFp *lookup_fp(const VfiContainer *c, const VfiFingerprint *fp)
{
    return c->memo ? g_hash_table_lookup(c->memo->fps, fp) : NULL;
}

static MemoClass *lookup_class(const VfiContainer *c, const VfiFingerprint *fp)
{
    MemoClass key = { .hash = fp->class_hash, .type = fp->type, .caps = fp->caps,
                      .data_len = fp->data_len, .data = (uint8_t *)fp->data };

    return c->memo ? g_hash_table_lookup(c->memo->classes, &key) : NULL;
}

static MemoClass *class_get(VfiPlacementMemo *m, VfiContainer *c, const VfiFingerprint *fp)
{
    MemoClass *cls = lookup_class(c, fp);

    if (!cls) {
        cls = g_new0(MemoClass, 1);
        cls->hash = fp->class_hash;
        cls->type = fp->type;
        cls->caps = fp->caps;
        cls->data_len = fp->data_len;
        cls->data = g_memdup2(fp->data, fp->data_len);
        for (unsigned k = 0; k < VFI_HWPT_KINDS; k++) {
            cls->pure[k] = g_ptr_array_new();
        }
        cls->evidence = g_ptr_array_new();
        cls->shared = g_ptr_array_new();
        g_hash_table_add(m->classes, cls);
    }
    return cls;
}

static MemoFp *fp_get(VfiContainer *c, const VfiFingerprint *fp)
{
    VfiPlacementMemo *m = memo_get(c);
    MemoFp *rec = lookup_fp(c, fp);

    if (!rec) {
        rec = g_new0(MemoFp, 1);
        rec->cls = class_get(m, c, fp);
        rec->cls->refs++;
        rec->fp = *fp;
        rec->fp.data = rec->cls->data;
        rec->fp.instance = g_strdup(fp->instance);
        rec->accepted = g_ptr_array_new();
        rec->refused = g_hash_table_new(NULL, NULL);
        g_hash_table_add(m->fps, &rec->fp);
    }
    return rec;
}

static void class_unref(VfiPlacementMemo *m, MemoClass *cls)
{
    if (--cls->refs) {
        return;
    }
    g_assert(!cls->evidence->len && !cls->shared->len);
    g_hash_table_remove(m->classes, cls);
    for (unsigned k = 0; k < VFI_HWPT_KINDS; k++) {
        g_assert(!cls->pure[k]->len);
        g_ptr_array_free(cls->pure[k], true);
    }
    g_ptr_array_free(cls->evidence, true);
    g_ptr_array_free(cls->shared, true);
    g_free(cls->data);
    g_free(cls);
}

/* Drop @rec when no HWPT names it any more. */
static void fp_drop_if_unused(VfiPlacementMemo *m, MemoFp *rec)
{
    if (rec->accepted->len || g_hash_table_size(rec->refused)) {
        return;
    }
    g_hash_table_remove(m->fps, &rec->fp);
    g_ptr_array_free(rec->accepted, true);
    g_hash_table_destroy(rec->refused);
    g_free((char *)rec->fp.instance);
    class_unref(m, rec->cls);
    g_free(rec);
}

static bool class_bound(const MemoClass *cls)
{
    return cls && cls->evidence->len && !cls->shared->len;
}

static const char *instance_name(const char *instance)
{
    return instance ? instance : "(unknown)";
}

/* ---- a HWPT's life -------------------------------------------------- */

void vfi_memo_hwpt_new(VfiHwpt *h)
{
    VfiPlacementMemo *m = memo_get(h->container);

    h->memo = g_new0(VfiHwptMemo, 1);
    h->memo->seq = m->next_seq++;
    h->memo->accepted = g_ptr_array_new();
    h->memo->refused = g_ptr_array_new();
    h->memo->shared_in = g_ptr_array_new();
    if (!h->for_pasid) {
        /* a PASID HWPT is never a placement's candidate */
        g_ptr_array_add(m->open[kind_idx(h)], h);
    }
}

static void hwpt_memo_unlist(VfiPlacementMemo *m, VfiHwpt *h)
{
    VfiHwptMemo *hm = h->memo;

    if (hm->pure) {
        g_ptr_array_remove(hm->pure->pure[kind_idx(h)], h);
    } else {
        g_ptr_array_remove(m->open[kind_idx(h)], h);
    }
    if (hm->evidence) {
        g_ptr_array_remove(hm->evidence->evidence, h);
    }
    for (guint i = 0; i < hm->shared_in->len; i++) {
        MemoClass *cls = g_ptr_array_index(hm->shared_in, i);

        g_ptr_array_remove(cls->shared, h);
    }
}

static void alloc_refusal_free(gpointer p)
{
    MemoAllocRefusal *r = p;

    g_free((uint8_t *)r->fp.data);
    g_free((char *)r->fp.instance);
    g_free(r);
}

/* Free @c's memo: no HWPT names a record any more. */
static void memo_free(VfiContainer *c)
{
    VfiPlacementMemo *m = c->memo;

    g_assert(!g_hash_table_size(m->fps) && !g_hash_table_size(m->classes));
    trace_vfi_auto_domain_memo_release(c->ioas_id, m->alloc_refused->len);
    g_hash_table_destroy(m->fps);
    g_hash_table_destroy(m->classes);
    for (unsigned k = 0; k < VFI_HWPT_KINDS; k++) {
        g_ptr_array_free(m->open[k], true);
    }
    g_ptr_array_free(m->alloc_refused, true);
    g_clear_pointer(&c->memo, g_free);
}

void vfi_memo_hwpt_forget(VfiHwpt *h)
{
    VfiContainer *c = h->container;
    VfiPlacementMemo *m = c->memo;
    VfiHwptMemo *hm = h->memo;

    trace_vfi_hwpt_memo_forget(c->ioas_id, h->id, hm->accepted->len, hm->refused->len);
    hwpt_memo_unlist(m, h);
    for (guint i = 0; i < hm->accepted->len; i++) {
        MemoFp *rec = g_ptr_array_index(hm->accepted, i);

        g_ptr_array_remove(rec->accepted, h);
        fp_drop_if_unused(m, rec);
    }
    for (guint i = 0; i < hm->refused->len; i++) {
        MemoFp *rec = g_ptr_array_index(hm->refused, i);

        g_hash_table_remove(rec->refused, h);
        fp_drop_if_unused(m, rec);
    }
    g_ptr_array_free(hm->accepted, true);
    g_ptr_array_free(hm->refused, true);
    g_ptr_array_free(hm->shared_in, true);
    g_clear_pointer(&h->memo, g_free);
    if (c->hwpts->len <= 1) {
        /* @h is the last one (about to leave the list): nothing is left */
        memo_free(c);
    }
}

void vfi_memo_release_if_unused(VfiContainer *c)
{
    if (c->memo && c->hwpts->len == 0) {
        memo_free(c);
    }
}

/* ---- what the kernel said ------------------------------------------- */

static bool hwpt_accepted(const VfiHwpt *h, const MemoFp *rec)
{
    return rec && g_ptr_array_find(h->memo->accepted, rec, NULL);
}

/* @h accepted @rec: whether it now proves @rec's class shareable. */
static void note_shared(VfiHwpt *h, MemoFp *rec, const char *name)
{
    VfiHwptMemo *hm = h->memo;

    if (!rec->fp.instance || g_ptr_array_find(hm->shared_in, rec->cls, NULL)) {
        return;
    }
    for (guint i = 0; i < hm->accepted->len; i++) {
        MemoFp *o = g_ptr_array_index(hm->accepted, i);

        if (o != rec && o->cls == rec->cls && o->fp.instance) {
            g_ptr_array_add(hm->shared_in, rec->cls);
            g_ptr_array_add(rec->cls->shared, h);
            trace_vfi_auto_domain_memo_shared(name, h->id, h->container->ioas_id);
            return;
        }
    }
}

void vfi_memo_accepted(VfiHwpt *h, const VfiFingerprint *fp, const char *name)
{
    VfiPlacementMemo *m = memo_get(h->container);
    MemoFp *rec = fp_get(h->container, fp);
    VfiHwptMemo *hm = h->memo;
    unsigned d = kind_idx(h);

    if (hwpt_accepted(h, rec)) {
        return;
    }
    if (g_hash_table_remove(rec->refused, h)) {
        /* a hint (instance unknown) that was wrong */
        g_ptr_array_remove(hm->refused, rec);
    }
    g_ptr_array_add(hm->accepted, rec);
    g_ptr_array_add(rec->accepted, h);
    trace_vfi_auto_domain_memo_accept(name, h->id, h->container->ioas_id,
                                      instance_name(fp->instance));
    if (hm->accepted->len == 1 && fp->instance) {
        g_ptr_array_remove(m->open[d], h);
        g_ptr_array_add(rec->cls->pure[d], h);
        hm->pure = rec->cls;
    } else if (hm->pure) {
        g_ptr_array_remove(hm->pure->pure[d], h);
        g_ptr_array_add(m->open[d], h);
        hm->pure = NULL;
    }
    note_shared(h, rec, name);
}

void vfi_memo_refused(VfiHwpt *h, const VfiFingerprint *fp, const char *name)
{
    MemoFp *rec = fp_get(h->container, fp);
    VfiHwptMemo *hm = h->memo;

    if (hwpt_accepted(h, rec) || g_hash_table_contains(rec->refused, h)) {
        /* it took this fingerprint before: the refusal is the device's own */
        fp_drop_if_unused(h->container->memo, rec);
        return;
    }
    g_hash_table_add(rec->refused, h);
    g_ptr_array_add(hm->refused, rec);
    trace_vfi_auto_domain_memo_refuse(name, h->id, h->container->ioas_id,
                                      instance_name(fp->instance), fp->instance != NULL);
    if (fp->instance && hm->pure == rec->cls && !hm->evidence) {
        /* one instance's HWPT refused another instance of the same hw info */
        hm->evidence = rec->cls;
        g_ptr_array_add(rec->cls->evidence, h);
        trace_vfi_auto_domain_memo_bound(name, h->id, h->container->ioas_id,
                                         rec->cls->shared->len == 0);
    }
}

/* ---- candidates ----------------------------------------------------- */

GPtrArray *vfi_memo_remembered(VfiContainer *c, const VfiFingerprint *fp, uint32_t want_flags,
                               const char *name)
{
    MemoFp *rec = lookup_fp(c, fp);
    GPtrArray *out = g_ptr_array_new();

    for (guint i = 0; rec && i < rec->accepted->len; i++) {
        VfiHwpt *h = g_ptr_array_index(rec->accepted, i);

        if (kind_idx(h) == vfi_hwpt_kind(want_flags)) {
            trace_vfi_auto_domain_memo_first(name, h->id, c->ioas_id);
            g_ptr_array_add(out, h);
        }
    }
    return out;
}

static gint by_seq(gconstpointer pa, gconstpointer pb)
{
    const VfiHwpt *a = *(VfiHwpt *const *)pa, *b = *(VfiHwpt *const *)pb;

    return a->memo->seq < b->memo->seq ? -1 : a->memo->seq > b->memo->seq;
}

/* The HWPTs of kind @d a device of the bound class @cls may
 * join: every one but the pure ones of @cls (those of other instances are
 * skipped, its own were remembered), in creation order. */
static GPtrArray *bound_sources(VfiContainer *c, MemoClass *cls, const MemoFp *rec,
                                unsigned d, const char *name, const char *instance)
{
    GPtrArray *src = g_ptr_array_new();
    GHashTableIter it;
    gpointer key;
    guint skipped = 0;

    g_ptr_array_extend(src, c->memo->open[d], NULL, NULL);
    g_hash_table_iter_init(&it, c->memo->classes);
    while (g_hash_table_iter_next(&it, &key, NULL)) {
        if (key != cls) {
            g_ptr_array_extend(src, ((MemoClass *)key)->pure[d], NULL, NULL);
        }
    }
    for (guint i = 0; i < cls->pure[d]->len; i++) {
        skipped += !hwpt_accepted(g_ptr_array_index(cls->pure[d], i), rec);
    }
    if (skipped) {
        trace_vfi_auto_domain_memo_skip_instance(name, c->ioas_id, skipped, instance);
    }
    g_ptr_array_sort(src, by_seq);
    return src;
}

/* Every HWPT of @c of kind @d, those holding only another
 * instance of @cls first (a VT-d-like domain may take it), then the rest,
 * each in creation order. */
static GPtrArray *all_sources(VfiContainer *c, const MemoClass *cls, unsigned d)
{
    GPtrArray *src = g_ptr_array_new();

    for (int pass = 0; pass < 2; pass++) {
        for (guint i = 0; i < c->hwpts->len; i++) {
            VfiHwpt *h = g_ptr_array_index(c->hwpts, i);

            if (!h->for_pasid && kind_idx(h) == d && ((cls && h->memo->pure == cls) == (pass == 0))) {
                g_ptr_array_add(src, h);
            }
        }
    }
    return src;
}

GPtrArray *vfi_memo_others(VfiContainer *c, const VfiFingerprint *fp, uint32_t want_flags,
                           const char *name)
{
    MemoFp *rec = lookup_fp(c, fp);
    MemoClass *cls = rec ? rec->cls : lookup_class(c, fp);
    unsigned d = vfi_hwpt_kind(want_flags);
    g_autoptr(GPtrArray) src = NULL;
    g_autoptr(GPtrArray) hints = g_ptr_array_new();
    GPtrArray *out = g_ptr_array_new();

    if (!c->memo) {
        return out;
    }
    src = fp->instance && class_bound(cls) ?
          bound_sources(c, cls, rec, d, name, fp->instance) : all_sources(c, cls, d);
    for (guint i = 0; i < src->len; i++) {
        VfiHwpt *h = g_ptr_array_index(src, i);

        if (hwpt_accepted(h, rec)) {
            continue;           /* tried first */
        }
        if (rec && g_hash_table_contains(rec->refused, h)) {
            if (fp->instance) {
                trace_vfi_auto_domain_memo_skip_refused(name, h->id, c->ioas_id);
                continue;
            }
            trace_vfi_auto_domain_memo_hint(name, h->id, c->ioas_id);
            g_ptr_array_add(hints, h);
            continue;
        }
        g_ptr_array_add(out, h);
    }
    g_ptr_array_extend(out, hints, NULL, NULL);
    return out;
}

/* ---- HWPT_ALLOC refusals of a flag set ------------------------------ */

static MemoAllocRefusal *find_alloc_refusal(const VfiContainer *c, const VfiFingerprint *fp,
                                            uint32_t flags, guint *index)
{
    for (guint i = 0; c->memo && i < c->memo->alloc_refused->len; i++) {
        MemoAllocRefusal *r = g_ptr_array_index(c->memo->alloc_refused, i);

        if (r->flags == flags && fp_equal(&r->fp, fp)) {
            if (index) {
                *index = i;
            }
            return r;
        }
    }
    return NULL;
}

void vfi_memo_alloc_refused(VfiContainer *c, const VfiFingerprint *fp, uint32_t flags,
                            const char *name)
{
    MemoAllocRefusal *r;

    if (find_alloc_refusal(c, fp, flags, NULL)) {
        return;
    }
    r = g_new0(MemoAllocRefusal, 1);
    r->fp = *fp;
    r->fp.data = g_memdup2(fp->data, fp->data_len);
    r->fp.instance = g_strdup(fp->instance);
    r->flags = flags;
    g_ptr_array_add(memo_get(c)->alloc_refused, r);
    trace_vfi_auto_domain_memo_alloc_refused(name, c->ioas_id, flags,
                                             instance_name(fp->instance));
}

void vfi_memo_alloc_unrefuse(VfiContainer *c, const VfiFingerprint *fp, uint32_t flags)
{
    guint i;

    if (find_alloc_refusal(c, fp, flags, &i)) {
        alloc_refusal_free(g_ptr_array_steal_index(c->memo->alloc_refused, i));
    }
}

bool vfi_memo_alloc_was_refused(const VfiContainer *c, const VfiFingerprint *fp,
                                uint32_t flags)
{
    return find_alloc_refusal(c, fp, flags, NULL) != NULL;
}
