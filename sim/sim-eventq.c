/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd kernel model: the queues that report through an fd, as
 * Linux 7.3's drivers/iommu/iommufd/eventq.c: a vIOMMU's vEVENTQ and a
 * fault queue, and the mock IOMMU's triggers (vfi_sim_trigger_vevent(),
 * vfi_sim_trigger_iopf(), as IOMMU_TEST_OP_TRIGGER_VEVENT / _IOPF).
 *
 * A vEVENTQ keeps at most its depth of events; one more is lost, and the
 * lost-events record (IOMMU_VEVENTQ_FLAG_LOST_EVENTS) sits at the tail,
 * taking the lost event's sequence (iommufd_vevent_handler()); a new event
 * behind it replaces it. The queue's fd holds a reference on it (IOMMU_DESTROY
 * refuses with EBUSY while it is open) and on the iommufd context.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/iommufd.h>

#include "config.h"
#include "sim-internal.h"
#include "vfio-iommufd/error.h"
#include "trace.h"

/* IOMMU_VEVENTQ_FLAG_LOST_EVENTS (an enum of 6.15+ headers only) */
#define VEVENT_LOST 1u
#if HAVE_IOMMU_VEVENTQ_ALLOC
G_STATIC_ASSERT(VEVENT_LOST == IOMMU_VEVENTQ_FLAG_LOST_EVENTS);
#endif
/* eventq.c's VEVENTQ_MAX_DEPTH */
#define VEVENTQ_MAX_DEPTH (1u << 19)

static int refuse(const char *what, int err, const char *why)
{
    trace_vfi_sim_refused(what, err, why);
    return -err;
}

/* A new queue object of @type with its fd (-errno when no fd is left). */
static int queue_new(SimCtx *ctx, SimObjType type, SimObj **out)
{
    SimObj *q = sim_obj_new(ctx, type);
    int fd;

    q->queue = g_queue_new();
    fd = sim_queue_open(q);
    if (fd < 0) {
        sim_obj_clear_nesting(q);
        sim_obj_free(q);
        return fd;
    }
    *out = q;
    return fd;
}

void sim_queue_closed(SimObj *obj)
{
    SimCtx *ctx = obj->ctx;

    obj->qfd = -1;
    obj->users--;
    ctx->queue_fds--;
    sim_ctx_maybe_free(ctx);
}

#if HAVE_IOMMU_VEVENTQ_ALLOC
int sim_ioctl_veventq_alloc(SimCtx *ctx, void *arg)
{
    struct iommu_veventq_alloc *cmd = arg;
    SimObj *viommu, *q;
    GHashTableIter it;
    gpointer value;
    int fd;

    if (cmd->flags || cmd->__reserved || cmd->type == 0) {
        return refuse("IOMMU_VEVENTQ_ALLOC", EOPNOTSUPP, "flags, reserved or type DEFAULT");
    }
    if (!cmd->veventq_depth || cmd->veventq_depth > VEVENTQ_MAX_DEPTH) {
        return refuse("IOMMU_VEVENTQ_ALLOC", EINVAL, "depth 0 or above 2^19");
    }
    viommu = sim_ctx_lookup(ctx, cmd->viommu_id);
    if (!viommu || viommu->type != SIM_OBJ_VIOMMU) {
        return refuse("IOMMU_VEVENTQ_ALLOC", ENOENT, "viommu_id is not a vIOMMU");
    }
    g_hash_table_iter_init(&it, ctx->objects);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        SimObj *o = value;

        if (o->type == SIM_OBJ_VEVENTQ && o->viommu == viommu && o->vtype == cmd->type) {
            return refuse("IOMMU_VEVENTQ_ALLOC", EEXIST, "a queue of this type exists");
        }
    }
    fd = queue_new(ctx, SIM_OBJ_VEVENTQ, &q);
    if (fd < 0) {
        return fd;
    }
    q->viommu = viommu;
    viommu->users++;
    q->vtype = cmd->type;
    q->depth = cmd->veventq_depth;
    cmd->out_veventq_id = q->id;
    cmd->out_veventq_fd = (uint32_t)fd;
    trace_vfi_sim_viommu(q->id, "veventq", viommu->id, cmd->type);
    return 0;
}
#endif

#if HAVE_IOMMU_FAULT_QUEUE_ALLOC
int sim_ioctl_fault_alloc(SimCtx *ctx, void *arg)
{
    struct iommu_fault_alloc *cmd = arg;
    SimObj *q;
    int fd;

    if (cmd->flags) {
        return refuse("IOMMU_FAULT_QUEUE_ALLOC", EOPNOTSUPP, "flags");
    }
    fd = queue_new(ctx, SIM_OBJ_FAULT, &q);
    if (fd < 0) {
        return fd;
    }
    q->responses = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    cmd->out_fault_id = q->id;
    cmd->out_fault_fd = (uint32_t)fd;
    trace_vfi_sim_viommu(q->id, "fault queue", 0, 0);
    return 0;
}
#endif

/* ---- reads and writes ------------------------------------------------------ */

#if HAVE_IOMMU_VEVENTQ_ALLOC
/* iommufd_veventq_fops_read(): whole records; an event that does not fit
 * stays (EINVAL when not even the first fits). */
static ssize_t veventq_read(SimObj *q, uint8_t *buf, size_t len)
{
    struct iommufd_vevent_header h;
    size_t done = 0;
    SimVevent *ev;

    if (len < sizeof(h)) {
        return -EINVAL;
    }
    while ((ev = g_queue_peek_head(q->queue))) {
        if (sizeof(h) + ev->data_len > len - done) {
            return done ? (ssize_t)done : -EINVAL;
        }
        h.flags = ev->flags;
        h.sequence = ev->sequence;
        memcpy(buf + done, &h, sizeof(h));
        memcpy(buf + done + sizeof(h), ev->data, ev->data_len);
        done += sizeof(h) + ev->data_len;
        if (!(ev->flags & VEVENT_LOST)) {
            q->num_events--;
        }
        g_free(g_queue_pop_head(q->queue));
    }
    return (ssize_t)done;
}
#endif

#if HAVE_IOMMU_FAULT_QUEUE_ALLOC
/* The lowest free cookie from 1 (xa_alloc() on an XA_FLAGS_ALLOC1 array). */
static uint32_t next_cookie(const SimObj *q)
{
    uint32_t c = 1;

    while (g_hash_table_contains(q->responses, GUINT_TO_POINTER(c))) {
        c++;
    }
    return c;
}

/* iommufd_fault_fops_read(): whole struct iommu_hwpt_pgfault records. */
static ssize_t fault_read(SimObj *q, uint8_t *buf, size_t len)
{
    const size_t rec = sizeof(struct iommu_hwpt_pgfault);
    size_t done = 0;
    SimFault *f;

    if (len % rec) {
        return -ESPIPE;
    }
    while ((f = g_queue_peek_head(q->queue))) {
        struct iommu_hwpt_pgfault out = { 0 };

        if (done + rec > len) {
            return done ? (ssize_t)done : -EINVAL;
        }
        f->cookie = next_cookie(q);
        out.flags = f->flags;
        out.dev_id = f->dev_id;
        out.pasid = f->pasid;
        out.grpid = f->grpid;
        out.perm = f->perm;
        out.addr = f->addr;
        out.cookie = f->cookie;
        memcpy(buf + done, &out, rec);
        done += rec;
        g_hash_table_insert(q->responses, GUINT_TO_POINTER(f->cookie), g_queue_pop_head(q->queue));
    }
    return (ssize_t)done;
}
#endif

ssize_t sim_queue_read(SimObj *obj, void *buf, size_t len)
{
#if HAVE_IOMMU_VEVENTQ_ALLOC
    if (obj->type == SIM_OBJ_VEVENTQ) {
        return veventq_read(obj, buf, len);
    }
#endif
#if HAVE_IOMMU_FAULT_QUEUE_ALLOC
    if (obj->type == SIM_OBJ_FAULT) {
        return fault_read(obj, buf, len);
    }
#endif
    (void)buf, (void)len;
    return -EINVAL;
}

ssize_t sim_queue_write(SimObj *obj, const void *buf, size_t len)
{
#if HAVE_IOMMU_FAULT_QUEUE_ALLOC
    const size_t rec = sizeof(struct iommu_hwpt_page_response);
    size_t done = 0;

    if (obj->type != SIM_OBJ_FAULT) {
        return -EINVAL;     /* a vEVENTQ has no write */
    }
    if (len % rec) {
        return -ESPIPE;
    }
    for (; done < len; done += rec) {
        struct iommu_hwpt_page_response r;

        memcpy(&r, (const uint8_t *)buf + done, rec);
        if ((r.code != IOMMUFD_PAGE_RESP_SUCCESS && r.code != IOMMUFD_PAGE_RESP_INVALID) ||
            !g_hash_table_remove(obj->responses, GUINT_TO_POINTER(r.cookie))) {
            trace_vfi_sim_refused("write(fault queue)", EINVAL, "bad code or unknown cookie");
            return done ? (ssize_t)done : -EINVAL;
        }
        trace_vfi_sim_fault_response(obj->id, r.cookie, r.code);
    }
    return (ssize_t)done;
#else
    (void)obj, (void)buf, (void)len;
    return -EINVAL;
#endif
}

/* ---- triggers (sim.h) ----------------------------------------------------------- */

/* iommufd_viommu_report_event() of @data into @viommu's queue of @type. */
static int report_vevent(SimCtx *ctx, SimObj *viommu, uint32_t type, const void *data,
                         uint32_t len)
{
    GHashTableIter it;
    gpointer value;
    SimObj *q = NULL;
    SimVevent *ev, *tail;

    g_hash_table_iter_init(&it, ctx->objects);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        SimObj *o = value;

        if (o->type == SIM_OBJ_VEVENTQ && o->viommu == viommu && o->vtype == type) {
            q = o;
        }
    }
    if (!q) {
        return -EOPNOTSUPP;
    }
    tail = g_queue_peek_tail(q->queue);
    if (tail && (tail->flags & VEVENT_LOST)) {
        g_free(g_queue_pop_tail(q->queue));     /* replaced by what follows */
    }
    ev = g_new0(SimVevent, 1);
    if (q->num_events == q->depth) {
        ev->flags = VEVENT_LOST;
    } else {
        ev->data_len = MIN(len, (uint32_t)sizeof(ev->data));
        memcpy(ev->data, data, ev->data_len);
        q->num_events++;
    }
    ev->sequence = q->sequence;
    q->sequence = (q->sequence + 1) & INT32_MAX;
    g_queue_push_tail(q->queue, ev);
    trace_vfi_sim_vevent(q->id, ev->sequence, ev->flags, q->num_events);
    return 0;
}

/* The device binding @dev_id of @iommufd, or NULL with INVALID_ARGUMENT. */
static SimObj *trigger_device(VfiSim *sim, int iommufd, uint32_t dev_id, GError **errp)
{
    SimCtx *ctx = sim_lookup_iommufd(sim, iommufd);
    SimObj *devobj = ctx ? sim_ctx_lookup(ctx, dev_id) : NULL;

    if (!devobj || devobj->type != SIM_OBJ_DEVICE) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "no physical device %u on iommufd %d", dev_id, iommufd);
        return NULL;
    }
    return devobj;
}

bool vfi_sim_trigger_vevent(VfiSim *sim, int iommufd, uint32_t dev_id, GError **errp)
{
    SIM_LOCKED(sim);
    SimObj *devobj = trigger_device(sim, iommufd, dev_id, errp);
    VfiSimVeventSelftest ev = { 0 };
    int rc;

    if (!devobj) {
        return false;
    }
    /* iommufd_test_trigger_vevent(): the vIOMMU the device was attached
     * through, with its virtual id then */
    rc = devobj->event_viommu && devobj->event_virt_id ? 0 : -ENOENT;
    if (!rc) {
        ev.virt_id = (uint32_t)devobj->event_virt_id;
        rc = report_vevent(devobj->ctx, devobj->event_viommu, VFI_SIM_VEVENTQ_TYPE_SELFTEST,
                           &ev, sizeof(ev));
    }
    if (rc) {
        g_set_error(errp, VFI_KERNEL_ERROR, -rc, "trigger vevent of device %u: %s", dev_id,
                    rc == -ENOENT ? "not attached through a vIOMMU with a vDEVICE (ENOENT)" :
                    "its vIOMMU has no vEVENTQ of the selftest type (EOPNOTSUPP)");
        return false;
    }
    return true;
}

bool vfi_sim_trigger_iopf(VfiSim *sim, int iommufd, uint32_t dev_id, uint32_t pasid,
                          uint32_t grpid, uint32_t perm, uint64_t addr, GError **errp)
{
    SIM_LOCKED(sim);
    SimObj *devobj = trigger_device(sim, iommufd, dev_id, errp);
    SimObj *hwpt;
    SimFault *f;

    if (!devobj) {
        return false;
    }
    hwpt = pasid ? (devobj->pasids ? g_hash_table_lookup(devobj->pasids,
                                                         GUINT_TO_POINTER(pasid)) : NULL)
                 : devobj->attached;
    /* iommu_report_device_fault(): a domain without a fault queue answers
     * the request itself (the test sees nothing queued) */
    if (!hwpt || !hwpt->fault) {
        trace_vfi_sim_iopf(dev_id, pasid, 0, false);
        return true;
    }
    f = g_new0(SimFault, 1);
    f->flags = (1u << 1) | (pasid ? 1u : 0);    /* LAST_PAGE, PASID_VALID */
    f->dev_id = dev_id;
    f->pasid = pasid;
    f->grpid = grpid;
    f->perm = perm;
    f->addr = addr;
    g_queue_push_tail(hwpt->fault->queue, f);
    trace_vfi_sim_iopf(dev_id, pasid, hwpt->fault->id, true);
    return true;
}
