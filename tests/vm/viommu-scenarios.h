/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The vIOMMU scenarios (issue 13) shared by the model and the real kernel:
 * the same functions, with the same assertions, run by tests/unit/test-viommu.c
 * on the kernel model and by tests/vm/guest-tests.c on Linux 7.3's mock IOMMU
 * (boot 2). What differs between the two is behind VsPlatform: how the device
 * is moved between page tables (the library's VFIO calls on the model, the
 * mock's IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE / PASID ops in the VM), the event
 * and fault triggers, and how a mock cache entry is read. The calls under test
 * (vfi_viommu_*, vfi_vdevice_*, vfi_nested_hwpt_*, vfi_iommufd_invalidate,
 * vfi_veventq_*, vfi_faultq_*, vfi_iommufd_hwpt_alloc) are the same.
 *
 * Each scenario returns NULL when it passes, else the first failure. It leaves
 * the device where it found it (home_pt) and every object it made destroyed,
 * in the order the kernel requires, also when it fails half-way where it can.
 * Needs headers with IOMMU_VEVENTQ_ALLOC (6.15+).
 */
#ifndef VFI_VIOMMU_SCENARIOS_H
#define VFI_VIOMMU_SCENARIOS_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <linux/iommufd.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/iommufd.h"
#include "vfio-iommufd/viommu.h"
#include "vfio-iommufd-sim/sim.h"

#ifdef IOMMU_VEVENTQ_ALLOC

/* What a scenario needs of the platform it runs on. */
typedef struct VsPlatform {
    VfiIommufd *be;         /* connected */
    uint32_t ioas;          /* an IOAS of it */
    uint32_t dev_id;        /* a bound device behind a nesting IOMMU, with PASIDs */
    uint32_t home_pt;       /* what the device is attached to, where the
                             * scenarios put it back: its IOAS (an auto
                             * domain dies when its last device leaves) */
    void *opaque;
    /* Move the device to @pt (a replace). */
    bool (*replace)(void *opaque, uint32_t pt, GError **errp);
    /* PASID @pasid of the device: attach (op 0), replace (1) to @pt, detach (2). */
    bool (*pasid)(void *opaque, int op, uint32_t pasid, uint32_t pt, GError **errp);
    /* The mock's event trigger (IOMMU_TEST_OP_TRIGGER_VEVENT) for the device. */
    bool (*trigger_vevent)(void *opaque, GError **errp);
    /* The mock's page-request trigger (IOMMU_TEST_OP_TRIGGER_IOPF). */
    bool (*trigger_iopf)(void *opaque, uint32_t pasid, uint32_t grpid, uint32_t perm,
                         uint64_t addr, GError **errp);
    /* Mock IOTLB entry @i of nested HWPT @hwpt equals @want? */
    bool (*iotlb_is)(void *opaque, uint32_t hwpt, unsigned i, uint32_t want);
    /* Device cache entry @i (of the device of vDEVICE @vdev) equals @want? */
    bool (*dev_cache_is)(void *opaque, uint32_t vdev, unsigned i, uint32_t want);
    /* An IOVA of @ioas with 64 KiB free, for a scenario's own mapping. */
    uint64_t free_iova;
} VsPlatform;

static char vs_why[512];

#define VS_CHECK(cond, ...) do {                                              \
        if (!(cond)) {                                                        \
            int n_ = snprintf(vs_why, sizeof(vs_why), "line %d: %s: ", __LINE__, #cond); \
            snprintf(vs_why + n_, sizeof(vs_why) - (size_t)n_, __VA_ARGS__);  \
            return vs_why;                                                    \
        }                                                                     \
    } while (0)

/* The call failed with VFI_KERNEL_ERROR @code (err cleared). */
static G_GNUC_UNUSED bool vs_kerr(GError **err, int code)
{
    bool ok = *err && g_error_matches(*err, VFI_KERNEL_ERROR, code);

    g_clear_error(err);
    return ok;
}

static G_GNUC_UNUSED const char *vs_msg(const GError *err)
{
    return err ? err->message : "no error";
}

/* Everything a scenario makes: freed by vs_cleanup() whatever happened. */
typedef struct VsRun {
    uint32_t parent;            /* the nest parent */
    VfiViommu *viommu;
    VfiVdevice *vdev;
    VfiNestedHwpt *s1;          /* on the parent */
    VfiNestedHwpt *s1v;         /* on the vIOMMU */
    VfiVeventq *veventq;
    VfiFaultq *faultq;
    uint32_t hwpt[2];           /* paging HWPTs of a scenario */
    uint32_t pasid;             /* attached, or 0 */
    uint64_t win_offset;        /* the vIOMMU's mmap window (its data's out) */
    uint64_t win_length;
    void *win;                  /* mapped there, or NULL */
    VfiHwQueue *hwq[2];         /* HW queues (index 0, 1) */
    void *buf;                  /* the scenario's own memory (free()), */
    uint64_t map_len;           /*   mapped at free_iova when non-zero */
} VsRun;

#define VS_VIRT_ID 0x42u

static G_GNUC_UNUSED void vs_note(const char **why, const char *what, GError *err)
{
    if (err && !*why) {
        snprintf(vs_why, sizeof(vs_why), "cleanup: %s: %s", what, err->message);
        *why = vs_why;
    }
}

#define VS_FREE(call, what) do {                                              \
        g_autoptr(GError) e_ = NULL;                                          \
        if (!(call)) {                                                        \
            vs_note(&why, what, e_);                                          \
        }                                                                     \
    } while (0)

/* Detach its PASID, put the device home and free what @r holds in the
 * kernel's order: a
 * nested HWPT before its vIOMMU and parent, a vDEVICE and a vEVENTQ before
 * their vIOMMU, the vIOMMU before its parent, a fault queue after the HWPTs
 * naming it. Returns the first failure of the cleanup, else @why. */
static G_GNUC_UNUSED const char *vs_cleanup(VsPlatform *p, VsRun *r, const char *why)
{
    g_autoptr(GError) err = NULL;

    if (r->pasid && !p->pasid(p->opaque, 2, r->pasid, 0, &err)) {
        vs_note(&why, "PASID detach", err);
    }
    g_clear_error(&err);
    if (!p->replace(p->opaque, p->home_pt, &err)) {
        vs_note(&why, "device home", err);
    }
    VS_FREE(vfi_veventq_free(r->veventq, &e_), "vEVENTQ");
    VS_FREE(vfi_hw_queue_free(r->hwq[1], &e_), "HW queue 1");
    VS_FREE(vfi_hw_queue_free(r->hwq[0], &e_), "HW queue 0");
    VS_FREE(!r->map_len || vfi_iommufd_ioas_unmap(p->be, p->ioas, p->free_iova, r->map_len,
                                                  NULL, &e_), "the scenario's mapping");
    free(r->buf);
    VS_FREE(vfi_nested_hwpt_free(r->s1v, &e_), "nested HWPT on the vIOMMU");
    VS_FREE(vfi_nested_hwpt_free(r->s1, &e_), "nested HWPT");
    VS_FREE(vfi_faultq_free(r->faultq, &e_), "fault queue");
    VS_FREE(vfi_vdevice_free(r->vdev, &e_), "vDEVICE");
    VS_FREE(!r->win || vfi_viommu_munmap(r->viommu, r->win, r->win_length, &e_), "window");
    VS_FREE(vfi_viommu_free(r->viommu, &e_), "vIOMMU");
    VS_FREE(!r->parent || vfi_iommufd_destroy(p->be, r->parent, &e_), "nest parent");
    for (unsigned i = 0; i < 2; i++) {
        VS_FREE(!r->hwpt[i] || vfi_iommufd_destroy(p->be, r->hwpt[i], &e_), "HWPT");
    }
    memset(r, 0, sizeof(*r));
    return why;
}

/* Parent, vIOMMU (the selftest data's loopback), vDEVICE, a nested HWPT on
 * each, with the refusals on the way. */
static G_GNUC_UNUSED const char *vs_nest_make(VsPlatform *p, VsRun *n, uint32_t s1_flags,
                                              uint32_t fault_id)
{
    g_autoptr(GError) err = NULL;
    VfiSimViommuSelftest vd = { .in_data = 0x1234 };
    VfiSimHwptSelftest hd = { .iotlb = VFI_SIM_IOTLB_DEFAULT };

    VS_CHECK(vfi_iommufd_hwpt_alloc(p->be, p->dev_id, p->ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
                                    IOMMU_HWPT_DATA_NONE, 0, NULL, &n->parent, &err),
             "%s", vs_msg(err));
    n->viommu = vfi_viommu_alloc(p->be, p->dev_id, n->parent, VFI_SIM_VIOMMU_TYPE_SELFTEST,
                                 &vd, sizeof(vd), &err);
    VS_CHECK(n->viommu, "%s", vs_msg(err));
    VS_CHECK(vd.out_data == 0x1234 && vd.out_mmap_length, "loopback %x, mmap length %llu",
             vd.out_data, (unsigned long long)vd.out_mmap_length);
    n->win_offset = vd.out_mmap_offset;
    n->win_length = vd.out_mmap_length;
    VS_CHECK(!vfi_iommufd_destroy(p->be, n->parent, &err) && vs_kerr(&err, EBUSY),
             "the parent under a vIOMMU destroyed");
    n->vdev = vfi_vdevice_alloc(n->viommu, p->dev_id, VS_VIRT_ID, &err);
    VS_CHECK(n->vdev, "%s", vs_msg(err));
    VS_CHECK(!vfi_vdevice_alloc(n->viommu, p->dev_id, VS_VIRT_ID + 1, &err) &&
             vs_kerr(&err, EEXIST), "a second vDEVICE for the device");
    n->s1 = vfi_nested_hwpt_alloc(p->be, p->dev_id, n->parent, s1_flags, fault_id,
                                  VFI_SIM_HWPT_DATA_SELFTEST, &hd, sizeof(hd), &err);
    VS_CHECK(n->s1, "%s", vs_msg(err));
    n->s1v = vfi_nested_hwpt_alloc(p->be, p->dev_id, vfi_viommu_get_id(n->viommu), s1_flags,
                                   fault_id, VFI_SIM_HWPT_DATA_SELFTEST, &hd, sizeof(hd),
                                   &err);
    VS_CHECK(n->s1v, "%s", vs_msg(err));
    VS_CHECK(!vfi_viommu_free(n->viommu, &err) && vs_kerr(&err, EBUSY),
             "a vIOMMU with a vDEVICE and a nested HWPT freed");
    VS_CHECK(!vfi_nested_hwpt_alloc(p->be, p->dev_id, vfi_nested_hwpt_get_id(n->s1), 0, 0,
                                    VFI_SIM_HWPT_DATA_SELFTEST, &hd, sizeof(hd), &err) &&
             vs_kerr(&err, EINVAL), "a nested HWPT on a nested HWPT");
    return NULL;
}

/* Nested HWPT alloc, attach (replace) to each, and the teardown order. */
static G_GNUC_UNUSED const char *vs_nested_attach(VsPlatform *p, VsRun *n)
{
    g_autoptr(GError) err = NULL;
    VfiSimHwptSelftest hd = { .iotlb = VFI_SIM_IOTLB_DEFAULT };
    const char *why = vs_nest_make(p, n, 0, 0);

    if (why) {
        return why;
    }
    for (unsigned i = 0; i < 4; i++) {
        VS_CHECK(p->iotlb_is(p->opaque, vfi_nested_hwpt_get_id(n->s1), i,
                             VFI_SIM_IOTLB_DEFAULT), "IOTLB %u of the new nested HWPT", i);
    }
    VS_CHECK(p->replace(p->opaque, vfi_nested_hwpt_get_id(n->s1v), &err), "%s", vs_msg(err));
    VS_CHECK(p->replace(p->opaque, vfi_nested_hwpt_get_id(n->s1), &err), "%s", vs_msg(err));
    VS_CHECK(!vfi_nested_hwpt_free(n->s1, &err) && vs_kerr(&err, EBUSY),
             "a nested HWPT with the device attached freed");
    VS_CHECK(p->replace(p->opaque, p->home_pt, &err), "%s", vs_msg(err));
    /* a paging HWPT that is no nest parent takes no nested HWPT */
    VS_CHECK(vfi_iommufd_hwpt_alloc(p->be, p->dev_id, p->ioas, 0, IOMMU_HWPT_DATA_NONE, 0,
                                    NULL, &n->hwpt[0], &err), "%s", vs_msg(err));
    VS_CHECK(!vfi_nested_hwpt_alloc(p->be, p->dev_id, n->hwpt[0], 0, 0,
                                    VFI_SIM_HWPT_DATA_SELFTEST, &hd, sizeof(hd), &err) &&
             vs_kerr(&err, EINVAL), "a nested HWPT on a paging HWPT without NEST_PARENT");
    /* the kernel's order, step by step */
    VS_CHECK(vfi_nested_hwpt_free(n->s1v, &err), "%s", vs_msg(err));
    n->s1v = NULL;
    VS_CHECK(vfi_nested_hwpt_free(n->s1, &err), "%s", vs_msg(err));
    n->s1 = NULL;
    VS_CHECK(!vfi_viommu_free(n->viommu, &err) && vs_kerr(&err, EBUSY),
             "a vIOMMU with a vDEVICE freed");
    VS_CHECK(vfi_vdevice_free(n->vdev, &err), "%s", vs_msg(err));
    n->vdev = NULL;
    /* the vIOMMU's mmap window: the mock's loopback page; a mapping holds
     * the vIOMMU */
    VS_CHECK(!vfi_viommu_mmap(n->viommu, n->win_offset, n->win_length / 2, &n->win, &err) &&
             vs_kerr(&err, ENXIO), "half the window mapped");
    n->win = NULL;
    VS_CHECK(vfi_viommu_mmap(n->viommu, n->win_offset, n->win_length, &n->win, &err), "%s",
             vs_msg(err));
    VS_CHECK(*(volatile uint32_t *)n->win == 0x1234, "window word 0x%x",
             *(volatile uint32_t *)n->win);
    VS_CHECK(!vfi_viommu_free(n->viommu, &err) && vs_kerr(&err, EBUSY),
             "a vIOMMU with its window mapped freed");
    VS_CHECK(vfi_viommu_munmap(n->viommu, n->win, n->win_length, &err), "%s", vs_msg(err));
    n->win = NULL;
    VS_CHECK(vfi_viommu_free(n->viommu, &err), "%s", vs_msg(err));
    n->viommu = NULL;
    return NULL;
}

/* HWPT and vIOMMU invalidation: the consumed count, exactly. */
static G_GNUC_UNUSED const char *vs_invalidate(VsPlatform *p, VsRun *n)
{
    g_autoptr(GError) err = NULL;
    VfiSimInvalidateSelftest inv[4] = {
        { 0, 0 }, { 0, 1 }, { 0, 9 /* beyond the IOTLB */ }, { 0, 2 },
    };
    VfiSimViommuInvalidateSelftest vinv[3] = {
        { 0, VS_VIRT_ID, 0 }, { 0, VS_VIRT_ID, 7 /* beyond */ }, { 0, VS_VIRT_ID, 1 },
    };
    uint32_t done = 99, s1, vi;
    const char *why = vs_nest_make(p, n, 0, 0);

    if (why) {
        return why;
    }
    s1 = vfi_nested_hwpt_get_id(n->s1);
    vi = vfi_viommu_get_id(n->viommu);
    VS_CHECK(!vfi_iommufd_invalidate(p->be, s1, VFI_SIM_HWPT_INVALIDATE_DATA_SELFTEST, inv,
                                     sizeof(inv[0]), 4, &done, &err) &&
             vs_kerr(&err, EINVAL) && done == 2, "partial invalidation: done %u", done);
    VS_CHECK(p->iotlb_is(p->opaque, s1, 0, 0) && p->iotlb_is(p->opaque, s1, 1, 0) &&
             p->iotlb_is(p->opaque, s1, 2, VFI_SIM_IOTLB_DEFAULT) &&
             p->iotlb_is(p->opaque, s1, 3, VFI_SIM_IOTLB_DEFAULT),
             "the IOTLB after two consumed requests");
    inv[0].flags = 0x80;
    VS_CHECK(!vfi_iommufd_invalidate(p->be, s1, VFI_SIM_HWPT_INVALIDATE_DATA_SELFTEST, inv,
                                     sizeof(inv[0]), 1, &done, &err) &&
             vs_kerr(&err, EOPNOTSUPP) && done == 0, "unknown flags: done %u", done);
    inv[0].flags = VFI_SIM_INVALIDATE_FLAG_ALL;
    VS_CHECK(vfi_iommufd_invalidate(p->be, s1, VFI_SIM_HWPT_INVALIDATE_DATA_SELFTEST, inv,
                                    sizeof(inv[0]), 1, &done, &err) && done == 1,
             "invalidate all: %s, done %u", vs_msg(err), done);
    VS_CHECK(p->iotlb_is(p->opaque, s1, 3, 0), "IOTLB 3 after an invalidate-all");
    VS_CHECK(!vfi_iommufd_invalidate(p->be, s1, VFI_SIM_HWPT_INVALIDATE_DATA_SELFTEST + 1, inv,
                                     sizeof(inv[0]), 1, &done, &err) &&
             vs_kerr(&err, EINVAL) && done == 0, "a wrong data type: done %u", done);
    /* the vIOMMU: the device cache of the vDEVICE's virtual id */
    VS_CHECK(vfi_iommufd_invalidate(p->be, vi, VFI_SIM_VIOMMU_INVALIDATE_DATA_SELFTEST, NULL,
                                    sizeof(vinv[0]), 0, &done, &err) && done == 0,
             "an empty array: %s", vs_msg(err));
    VS_CHECK(!vfi_iommufd_invalidate(p->be, vi, VFI_SIM_VIOMMU_INVALIDATE_DATA_SELFTEST, vinv,
                                     sizeof(vinv[0]), 3, &done, &err) &&
             vs_kerr(&err, EINVAL) && done == 1, "vIOMMU partial invalidation: done %u", done);
    VS_CHECK(p->dev_cache_is(p->opaque, vfi_vdevice_get_id(n->vdev), 0, 0) &&
             p->dev_cache_is(p->opaque, vfi_vdevice_get_id(n->vdev), 1,
                             VFI_SIM_DEV_CACHE_DEFAULT), "the device cache after one request");
    VS_CHECK(!vfi_iommufd_invalidate(p->be, p->ioas, VFI_SIM_HWPT_INVALIDATE_DATA_SELFTEST,
                                     inv, sizeof(inv[0]), 1, &done, &err) &&
             vs_kerr(&err, EINVAL) && done == 0, "an IOAS invalidated");
    return NULL;
}

/* A vEVENTQ: events with their sequence, a provoked loss reported. */
static G_GNUC_UNUSED const char *vs_veventq(VsPlatform *p, VsRun *n)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GArray) ev = NULL;
    uint64_t lost = 99;
    const char *why = vs_nest_make(p, n, 0, 0);
    const VfiVevent *e;

    if (why) {
        return why;
    }
    n->veventq = vfi_veventq_alloc(n->viommu, VFI_SIM_VEVENTQ_TYPE_SELFTEST, 2,
                                   sizeof(VfiSimVeventSelftest), &err);
    VS_CHECK(n->veventq, "%s", vs_msg(err));
    VS_CHECK(!vfi_veventq_alloc(n->viommu, VFI_SIM_VEVENTQ_TYPE_SELFTEST, 2, 4, &err) &&
             vs_kerr(&err, EEXIST), "a second queue of the type");
    VS_CHECK(vfi_veventq_read(n->veventq, &ev, &lost, &err) && ev->len == 0 && lost == 0,
             "an empty queue: %s", vs_msg(err));
    g_clear_pointer(&ev, g_array_unref);
    VS_CHECK(p->replace(p->opaque, vfi_nested_hwpt_get_id(n->s1v), &err), "%s", vs_msg(err));
    VS_CHECK(p->trigger_vevent(p->opaque, &err), "%s", vs_msg(err));
    VS_CHECK(vfi_veventq_read(n->veventq, &ev, &lost, &err) && ev->len == 1 && lost == 0,
             "one event: %s", vs_msg(err));
    e = &g_array_index(ev, VfiVevent, 0);
    VS_CHECK(e->sequence == 0 && !e->lost && e->data_len == 4 &&
             *(const uint32_t *)e->data == VS_VIRT_ID, "event 0: seq %u virt 0x%x",
             e->sequence, e->data_len == 4 ? *(const uint32_t *)e->data : 0);
    g_clear_pointer(&ev, g_array_unref);
    for (unsigned i = 0; i < 4; i++) {   /* depth 2: the last two are lost */
        VS_CHECK(p->trigger_vevent(p->opaque, &err), "%s", vs_msg(err));
    }
    VS_CHECK(vfi_veventq_read(n->veventq, &ev, &lost, &err) && ev->len == 3 && lost == 2,
             "after a loss: %s, %u records, %llu lost", vs_msg(err), ev ? ev->len : 0,
             (unsigned long long)lost);
    e = &g_array_index(ev, VfiVevent, 2);
    VS_CHECK(g_array_index(ev, VfiVevent, 0).sequence == 1 &&
             g_array_index(ev, VfiVevent, 1).sequence == 2 &&
             e->lost_record && e->lost == 2 && e->sequence == 4 && e->data_len == 0,
             "the lost-events record: seq %u lost %u", e->sequence, e->lost);
    g_clear_pointer(&ev, g_array_unref);
    VS_CHECK(p->trigger_vevent(p->opaque, &err), "%s", vs_msg(err));
    VS_CHECK(vfi_veventq_read(n->veventq, &ev, &lost, &err) && ev->len == 1 && lost == 0 &&
             g_array_index(ev, VfiVevent, 0).sequence == 5, "after the loss: %s",
             vs_msg(err));
    return NULL;
}

/* A page request of the device: read back as one fault, for a response. */
static G_GNUC_UNUSED const char *vs_one_fault(VsPlatform *p, VfiFaultq *fq, uint32_t grpid,
                                             uint32_t *cookie)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GArray) faults = NULL;
    const VfiPageFault *f;

    VS_CHECK(p->trigger_iopf(p->opaque, 0, grpid, IOMMU_PGFAULT_PERM_READ, 0x100000, &err),
             "%s", vs_msg(err));
    VS_CHECK(vfi_faultq_read(fq, &faults, &err) && faults->len == 1, "read: %s, %u faults",
             vs_msg(err), faults ? faults->len : 0);
    f = &g_array_index(faults, VfiPageFault, 0);
    VS_CHECK(f->dev_id == p->dev_id && f->grpid == grpid && f->addr == 0x100000 &&
             f->perm == IOMMU_PGFAULT_PERM_READ && (f->flags & IOMMU_PGFAULT_FLAGS_LAST_PAGE) &&
             !(f->flags & IOMMU_PGFAULT_FLAGS_PASID_VALID) && f->cookie,
             "fault: dev %u grpid %u addr 0x%llx flags 0x%x cookie %u", f->dev_id, f->grpid,
             (unsigned long long)f->addr, f->flags, f->cookie);
    *cookie = f->cookie;
    g_clear_pointer(&faults, g_array_unref);
    VS_CHECK(vfi_faultq_read(fq, &faults, &err) && faults->len == 0, "read again: %s",
             vs_msg(err));
    return NULL;
}

/* A fault queue: page requests read, their responses written; its free
 * refused while a HWPT names it. */
static G_GNUC_UNUSED const char *vs_fault(VsPlatform *p, VsRun *n)
{
    g_autoptr(GError) err = NULL;
    uint32_t cookie = 0;
    const char *why;

    n->faultq = vfi_faultq_alloc(p->be, &err);
    VS_CHECK(n->faultq, "%s", vs_msg(err));
    if ((why = vs_nest_make(p, n, IOMMU_HWPT_FAULT_ID_VALID, vfi_faultq_get_id(n->faultq)))) {
        return why;
    }
    VS_CHECK(p->replace(p->opaque, vfi_nested_hwpt_get_id(n->s1), &err), "%s", vs_msg(err));
    if ((why = vs_one_fault(p, n->faultq, 7, &cookie))) {
        return why;
    }
    VS_CHECK(vfi_faultq_respond(n->faultq, cookie, IOMMUFD_PAGE_RESP_SUCCESS, &err), "%s",
             vs_msg(err));
    VS_CHECK(!vfi_faultq_respond(n->faultq, cookie, IOMMUFD_PAGE_RESP_SUCCESS, &err) &&
             vs_kerr(&err, EINVAL), "a second response to cookie %u", cookie);
    if ((why = vs_one_fault(p, n->faultq, 8, &cookie))) {
        return why;
    }
    VS_CHECK(vfi_faultq_respond(n->faultq, cookie, IOMMUFD_PAGE_RESP_INVALID, &err), "%s",
             vs_msg(err));
    VS_CHECK(p->replace(p->opaque, p->home_pt, &err), "%s", vs_msg(err));
    /* named by the nested HWPTs: refused (its fd closed); freed once they go */
    VS_CHECK(!vfi_faultq_free(n->faultq, &err) && vs_kerr(&err, EBUSY),
             "a named fault queue freed");
    return NULL;
}

/* PASIDs of the device: attach, replace, detach, with the kernel's rules. */
static G_GNUC_UNUSED const char *vs_pasid(VsPlatform *p, VsRun *n)
{
    g_autoptr(GError) err = NULL;

    for (unsigned i = 0; i < 2; i++) {
        VS_CHECK(vfi_iommufd_hwpt_alloc(p->be, p->dev_id, p->ioas, IOMMU_HWPT_ALLOC_PASID,
                                        IOMMU_HWPT_DATA_NONE, 0, NULL, &n->hwpt[i], &err),
                 "%s", vs_msg(err));
    }
    /* the device's own page table must take PASIDs too */
    VS_CHECK(!p->pasid(p->opaque, 0, 5, n->hwpt[0], &err) && vs_kerr(&err, EINVAL),
             "a PASID attached beside a HWPT without IOMMU_HWPT_ALLOC_PASID");
    VS_CHECK(p->replace(p->opaque, n->hwpt[0], &err), "%s", vs_msg(err));
    VS_CHECK(!p->pasid(p->opaque, 0, 5, p->home_pt, &err) && vs_kerr(&err, EINVAL),
             "a PASID attached to a HWPT without IOMMU_HWPT_ALLOC_PASID");
    VS_CHECK(p->pasid(p->opaque, 0, 5, n->hwpt[0], &err), "attach: %s", vs_msg(err));
    n->pasid = 5;
    VS_CHECK(p->pasid(p->opaque, 1, 5, n->hwpt[1], &err), "replace: %s", vs_msg(err));
    VS_CHECK(!vfi_iommufd_destroy(p->be, n->hwpt[1], &err) && vs_kerr(&err, EBUSY),
             "a HWPT with a PASID attached destroyed");
    VS_CHECK(!p->replace(p->opaque, p->home_pt, &err) && vs_kerr(&err, EINVAL),
             "the device moved to a HWPT without PASID support with a PASID attached");
    VS_CHECK(p->pasid(p->opaque, 2, 5, 0, &err), "detach: %s", vs_msg(err));
    n->pasid = 0;
    VS_CHECK(vfi_iommufd_destroy(p->be, n->hwpt[1], &err), "%s", vs_msg(err));
    n->hwpt[1] = 0;
    return NULL;
}

/* A PASID moved from a PASID-capable paging HWPT onto nested HWPTs made
 * with IOMMU_HWPT_ALLOC_PASID, the vIOMMU's then the parent's, and back
 * (what vfi_address_space_replace_pasid() asks of the kernel): the nested
 * HWPT held while the PASID is on it (EBUSY), the paging HWPT it left free
 * to destroy. */
static G_GNUC_UNUSED const char *vs_pasid_nested(VsPlatform *p, VsRun *n)
{
    g_autoptr(GError) err = NULL;
    const char *why;

    for (unsigned i = 0; i < 2; i++) {
        VS_CHECK(vfi_iommufd_hwpt_alloc(p->be, p->dev_id, p->ioas, IOMMU_HWPT_ALLOC_PASID,
                                        IOMMU_HWPT_DATA_NONE, 0, NULL, &n->hwpt[i], &err),
                 "%s", vs_msg(err));
    }
    VS_CHECK(p->replace(p->opaque, n->hwpt[0], &err), "%s", vs_msg(err));
    if ((why = vs_nest_make(p, n, IOMMU_HWPT_ALLOC_PASID, 0))) {
        return why;
    }
    VS_CHECK(p->pasid(p->opaque, 0, 7, n->hwpt[1], &err), "attach: %s", vs_msg(err));
    n->pasid = 7;
    VS_CHECK(p->pasid(p->opaque, 1, 7, vfi_nested_hwpt_get_id(n->s1v), &err),
             "replace onto the vIOMMU's nested HWPT: %s", vs_msg(err));
    VS_CHECK(vfi_iommufd_destroy(p->be, n->hwpt[1], &err), "the HWPT the PASID left: %s",
             vs_msg(err));
    n->hwpt[1] = 0;
    VS_CHECK(!vfi_nested_hwpt_free(n->s1v, &err) && vs_kerr(&err, EBUSY),
             "a nested HWPT with a PASID on it destroyed");
    VS_CHECK(p->pasid(p->opaque, 1, 7, vfi_nested_hwpt_get_id(n->s1), &err),
             "replace onto the parent's nested HWPT: %s", vs_msg(err));
    VS_CHECK(vfi_nested_hwpt_free(n->s1v, &err), "%s", vs_msg(err));
    n->s1v = NULL;
    VS_CHECK(p->pasid(p->opaque, 1, 7, n->hwpt[0], &err), "replace back: %s", vs_msg(err));
    VS_CHECK(vfi_nested_hwpt_free(n->s1, &err), "%s", vs_msg(err));
    n->s1 = NULL;
    VS_CHECK(p->pasid(p->opaque, 2, 7, 0, &err), "detach: %s", vs_msg(err));
    n->pasid = 0;
    return NULL;
}

#ifdef IOMMU_HW_QUEUE_ALLOC
#define VS_PG 4096u

/* HW queues of the mock's type on a vIOMMU (Linux 6.17): at an IOVA of the
 * parent's IOAS, pinned there (its unmap EBUSY), indexes in order below the
 * mock's two, each but the first holding the one before; the refusals. One
 * page per queue: the kernel wants the pages physically contiguous. */
static G_GNUC_UNUSED const char *vs_hw_queue(VsPlatform *p, VsRun *n)
{
    g_autoptr(GError) err = NULL;
    const uint32_t t = VFI_SIM_HW_QUEUE_TYPE_SELFTEST;
    const uint64_t iova = p->free_iova;

    VS_CHECK(posix_memalign(&n->buf, VS_PG, 2 * VS_PG) == 0, "no memory");
    VS_CHECK(vfi_iommufd_ioas_map(p->be, p->ioas, iova, 2 * VS_PG, n->buf, false, &err),
             "%s", vs_msg(err));
    n->map_len = 2 * VS_PG;
    VS_CHECK(vfi_iommufd_hwpt_alloc(p->be, p->dev_id, p->ioas, IOMMU_HWPT_ALLOC_NEST_PARENT,
                                    IOMMU_HWPT_DATA_NONE, 0, NULL, &n->parent, &err),
             "%s", vs_msg(err));
    n->viommu = vfi_viommu_alloc(p->be, p->dev_id, n->parent, VFI_SIM_VIOMMU_TYPE_SELFTEST,
                                 NULL, 0, &err);
    VS_CHECK(n->viommu, "%s", vs_msg(err));
    VS_CHECK(!vfi_hw_queue_alloc(n->viommu, t, 0, iova + 16 * VS_PG, VS_PG, &err) &&
             vs_kerr(&err, ENOENT), "a queue where nothing is mapped");
    VS_CHECK(!vfi_hw_queue_alloc(n->viommu, t + 1, 0, iova, VS_PG, &err) &&
             vs_kerr(&err, EOPNOTSUPP), "a queue of a type the mock lacks");
    VS_CHECK(!vfi_hw_queue_alloc(n->viommu, t, VFI_SIM_HW_QUEUE_MAX, iova, VS_PG, &err) &&
             vs_kerr(&err, EINVAL), "a queue past the mock's last index");
    VS_CHECK(!vfi_hw_queue_alloc(n->viommu, t, 1, iova, VS_PG, &err) && vs_kerr(&err, EIO),
             "queue 1 before queue 0");
    /* a base inside its page: the page is pinned */
    n->hwq[0] = vfi_hw_queue_alloc(n->viommu, t, 0, iova + 0x100, VS_PG - 0x100, &err);
    VS_CHECK(n->hwq[0], "%s", vs_msg(err));
    VS_CHECK(!vfi_hw_queue_alloc(n->viommu, t, 0, iova, VS_PG, &err) && vs_kerr(&err, EEXIST),
             "a second queue 0");
    n->hwq[1] = vfi_hw_queue_alloc(n->viommu, t, 1, iova + VS_PG, VS_PG, &err);
    VS_CHECK(n->hwq[1], "%s", vs_msg(err));
    VS_CHECK(!vfi_iommufd_ioas_unmap(p->be, p->ioas, iova, 2 * VS_PG, NULL, &err) &&
             vs_kerr(&err, EBUSY), "the queues' pages unmapped");
    VS_CHECK(!vfi_viommu_free(n->viommu, &err) && vs_kerr(&err, EBUSY),
             "a vIOMMU with HW queues freed");
    VS_CHECK(!vfi_hw_queue_free(n->hwq[0], &err) && vs_kerr(&err, EBUSY),
             "queue 0 freed under queue 1");
    VS_CHECK(vfi_hw_queue_free(n->hwq[1], &err), "%s", vs_msg(err));
    n->hwq[1] = NULL;
    VS_CHECK(vfi_hw_queue_free(n->hwq[0], &err), "%s", vs_msg(err));
    n->hwq[0] = NULL;
    VS_CHECK(vfi_iommufd_ioas_unmap(p->be, p->ioas, iova, 2 * VS_PG, NULL, &err),
             "unmap once the queues are gone: %s", vs_msg(err));
    n->map_len = 0;
    return NULL;
}
#endif

/* Every scenario, by name (for a table). */
typedef struct VsScenario {
    const char *name;
    const char *(*body)(VsPlatform *p, VsRun *r);
} VsScenario;

static G_GNUC_UNUSED const VsScenario vs_scenarios[] = {
    { "nested HWPT alloc, attach, replace, vIOMMU mmap window, teardown order",
      vs_nested_attach },
    { "invalidation with partial completion (HWPT and vIOMMU)", vs_invalidate },
    { "vEVENTQ events, a provoked loss", vs_veventq },
    { "fault queue: page requests and responses", vs_fault },
    { "PASID attach, replace, detach", vs_pasid },
    { "PASID replaced onto a vIOMMU's nested HWPT and back", vs_pasid_nested },
#ifdef IOMMU_HW_QUEUE_ALLOC
    { "HW queues: pinning, index order, refusals", vs_hw_queue },
#endif
};

/* Run scenario @s and clean up after it. Returns NULL when both passed. */
static G_GNUC_UNUSED const char *vs_run(VsPlatform *p, const VsScenario *s)
{
    VsRun r;

    memset(&r, 0, sizeof(r));
    return vs_cleanup(p, &r, s->body(p, &r));
}

#endif /* IOMMU_VEVENTQ_ALLOC */
#endif
