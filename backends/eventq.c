/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the queues the kernel reports to through an fd (see
 * include/vfio-iommufd/viommu.h): a vIOMMU's vEVENTQ and a fault queue.
 *
 * A vEVENTQ's fd reads as a run of records: a struct iommufd_vevent_header
 * (flags, sequence), followed by the event's data unless the header is the
 * kernel's lost-events record (IOMMU_VEVENTQ_FLAG_LOST_EVENTS, no data). The
 * data length is the queue type's (given at alloc): the header does not
 * carry it. The sequence counts every event the kernel reported, kept or
 * not, modulo 2^31: the reader keeps the next sequence it expects and turns
 * a gap, or a lost-events record, into the next event's lost count.
 *
 * A fault queue's fd reads as whole struct iommu_hwpt_pgfault records (the
 * faults of a group together) and takes struct iommu_hwpt_page_response
 * records. Both fds answer 0 when nothing is queued (the reads never block).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>

#include <linux/iommufd.h>

#include "config.h"
#include "vfio-iommufd/error.h"
#include "vfio-iommufd/viommu.h"
#include "util/kernel-internal.h"
#include "iommufd-internal.h"
#include "viommu-internal.h"
#include "trace.h"

/* One read(2) of a queue: this many bytes at least. */
#define QUEUE_READ_BYTES 4096u
/* A vEVENTQ's event data: at most this long (the kernel's are 4 to 32). */
#define VEVENT_MAX_LEN 4096u

struct VfiVeventq {
    ViObj o;
    uint32_t event_len;   /* the data length of one event of the queue's type */
    uint32_t next_seq;    /* the sequence the next event should carry */
};

struct VfiFaultq {
    ViObj o;
};

/* ---- vEVENTQ --------------------------------------------------------------- */

#if HAVE_IOMMU_VEVENTQ_ALLOC
static VfiVeventq *veventq_alloc(VfiViommu *viommu, uint32_t type, uint32_t depth,
                                 uint32_t event_len, GError **errp)
{
    VfiIommufd *be = vfi_viommu_backend_of(viommu);
    struct iommu_veventq_alloc arg = {
        .size = sizeof(arg), .viommu_id = vfi_viommu_id_of(viommu), .type = type,
        .veventq_depth = depth,
    };
    g_autofree VfiVeventq *q = NULL;
    int ret = VFI_KERNEL_IOCTL(vfi_iommufd_get_fd(be), IOMMU_VEVENTQ_ALLOC, &arg);

    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "IOMMU_VEVENTQ_ALLOC", "6.15",
                         "iommufd %d viommu %u type 0x%x depth %u%s", vfi_iommufd_get_fd(be),
                         arg.viommu_id, type, depth, -ret == EEXIST ?
                         " (the vIOMMU has a queue of this type)" : "");
        return NULL;
    }
    q = g_new0(VfiVeventq, 1);
    q->event_len = event_len;
    if (!vfi_viobj_init(&q->o, be, "veventq", arg.out_veventq_id, (int)arg.out_veventq_fd,
                        errp)) {
        return NULL;
    }
    return g_steal_pointer(&q);
}
#endif

VfiVeventq *vfi_veventq_alloc(VfiViommu *viommu, uint32_t type, uint32_t depth,
                              uint32_t event_len, GError **errp)
{
#if HAVE_IOMMU_VEVENTQ_ALLOC
    VfiIommufd *be = viommu ? vfi_viommu_backend_of(viommu) : NULL;

    if (!viommu) {
        vfi_iommufd_reject(NULL, __func__, errp, "no vIOMMU (NULL)");
        return NULL;
    }
    if (!vfi_iommufd_check(be, __func__, errp)) {
        return NULL;
    }
    if (type == 0 || depth == 0 || event_len == 0 || event_len > VEVENT_MAX_LEN) {
        vfi_iommufd_reject(be, __func__, errp, type == 0 ? "type 0 (DEFAULT) is reserved" :
                           depth == 0 ? "depth 0" : "event_len 0 or over 4096");
        return NULL;
    }
    return veventq_alloc(viommu, type, depth, event_len, errp);
#else
    (void)viommu, (void)type, (void)depth, (void)event_len;
    vfi_kernel_uapi_missing(errp, "vfi_veventq_alloc", "IOMMU_VEVENTQ_ALLOC", "6.15");
    return NULL;
#endif
}

uint32_t vfi_veventq_get_id(const VfiVeventq *q)
{
    return q ? q->o.id : 0;
}

int vfi_veventq_get_fd(const VfiVeventq *q)
{
    return q ? q->o.fd : -1;
}

static void vevent_clear(gpointer p)
{
    VfiVevent *ev = p;

    g_free(ev->data);
}

#if HAVE_IOMMU_VEVENTQ_ALLOC
/* Append the event of the record at @rec (@have bytes left); returns the
 * record's length, or 0 when it is cut short (the kernel never does that). */
static size_t vevent_parse(VfiVeventq *q, const uint8_t *rec, size_t have, GArray *out,
                           uint64_t *lost)
{
    struct iommufd_vevent_header h;
    VfiVevent ev = { 0 };

    if (have < sizeof(h)) {
        return 0;
    }
    memcpy(&h, rec, sizeof(h));
    ev.sequence = h.sequence;
    ev.lost_record = h.flags & IOMMU_VEVENTQ_FLAG_LOST_EVENTS;
    /* A record stands for the events from the expected one to its own
     * sequence; an event's gap is the ones before it. */
    ev.lost = (h.sequence - q->next_seq + (ev.lost_record ? 1 : 0)) & INT32_MAX;
    if (!ev.lost_record) {
        if (have - sizeof(h) < q->event_len) {
            return 0;
        }
        ev.data_len = q->event_len;
        ev.data = g_memdup2(rec + sizeof(h), q->event_len);
    }
    q->next_seq = (h.sequence + 1) & INT32_MAX;
    if (ev.lost) {
        trace_vfi_veventq_lost(q->o.id, h.sequence, ev.lost, ev.lost_record);
    }
    *lost += ev.lost;
    g_array_append_val(out, ev);
    return sizeof(h) + ev.data_len;
}
#endif

/* One read(2) into @out, the lost events added to *@extra (a ReadOnce). */
static ssize_t veventq_read_once(void *queue, GArray *out, void *extra, GError **errp)
{
#if HAVE_IOMMU_VEVENTQ_ALLOC
    VfiVeventq *q = queue;
    uint64_t *lost = extra;
    size_t cap = MAX(QUEUE_READ_BYTES, sizeof(struct iommufd_vevent_header) + q->event_len);
    g_autofree uint8_t *buf = g_malloc(cap);
    ssize_t n = vfi_kernel_read(q->o.fd, buf, cap);

    if (n < 0) {
        vfi_kernel_error(errp, (int)-n, "read(vEVENTQ)", NULL, "veventq %u fd %d",
                         q->o.id, q->o.fd);
        return n;
    }
    for (size_t off = 0; off < (size_t)n;) {
        size_t used = vevent_parse(q, buf + off, (size_t)n - off, out, lost);

        if (!used) {
            g_set_error(errp, VFI_KERNEL_ERROR, EIO, "read(vEVENTQ): veventq %u: a record "
                        "cut short at byte %zu of %zd", q->o.id, off, n);
            return -EIO;
        }
        off += used;
    }
    return n;
#else
    (void)queue, (void)out, (void)extra, (void)errp;
    return 0;
#endif
}

/* One read(2) of a queue into @out: the bytes read, or -errno (@errp set). */
typedef ssize_t (*ReadOnce)(void *q, GArray *out, void *extra, GError **errp);

/* read(2) until empty. A failure after something was read ends the loop
 * with what was read; a first read that fails is the error. */
static bool read_all(void *q, ReadOnce once, GArray *out, void *extra, GError **errp)
{
    ssize_t n;

    do {
        g_autoptr(GError) err = NULL;

        n = once(q, out, extra, &err);
        if (n < 0 && out->len == 0) {
            g_propagate_error(errp, g_steal_pointer(&err));
            return false;
        }
    } while (n > 0);
    return true;
}

bool vfi_veventq_read(VfiVeventq *q, GArray **events, uint64_t *lost, GError **errp)
{
    g_autoptr(GArray) out = g_array_new(FALSE, TRUE, sizeof(VfiVevent));
    uint64_t total = 0;

    g_array_set_clear_func(out, vevent_clear);
    if (!q || !events) {
        return vfi_iommufd_reject(q ? q->o.be : NULL, __func__, errp,
                                  !q ? "no queue (NULL)" : "events is NULL");
    }
    if (!read_all(q, veventq_read_once, out, &total, errp)) {
        return false;
    }
    trace_vfi_veventq_read(q->o.id, out->len, total);
    if (lost) {
        *lost = total;
    }
    *events = g_steal_pointer(&out);
    return true;
}

bool vfi_veventq_free(VfiVeventq *q, GError **errp)
{
    return vfi_viobj_free(q ? &q->o : NULL, false, errp);
}

/* ---- fault queue ----------------------------------------------------------- */

VfiFaultq *vfi_faultq_alloc(VfiIommufd *be, GError **errp)
{
#if HAVE_IOMMU_FAULT_QUEUE_ALLOC
    struct iommu_fault_alloc arg = { .size = sizeof(arg) };
    g_autofree VfiFaultq *q = NULL;
    int ret;

    if (!vfi_iommufd_check(be, __func__, errp)) {
        return NULL;
    }
    ret = VFI_KERNEL_IOCTL(vfi_iommufd_get_fd(be), IOMMU_FAULT_QUEUE_ALLOC, &arg);
    if (ret < 0) {
        vfi_kernel_error(errp, -ret, "IOMMU_FAULT_QUEUE_ALLOC", "6.11", "iommufd %d",
                         vfi_iommufd_get_fd(be));
        return NULL;
    }
    q = g_new0(VfiFaultq, 1);
    if (!vfi_viobj_init(&q->o, be, "fault-queue", arg.out_fault_id, (int)arg.out_fault_fd,
                        errp)) {
        return NULL;
    }
    return g_steal_pointer(&q);
#else
    (void)be;
    vfi_kernel_uapi_missing(errp, "vfi_faultq_alloc", "IOMMU_FAULT_QUEUE_ALLOC", "6.11");
    return NULL;
#endif
}

uint32_t vfi_faultq_get_id(const VfiFaultq *q)
{
    return q ? q->o.id : 0;
}

int vfi_faultq_get_fd(const VfiFaultq *q)
{
    return q ? q->o.fd : -1;
}

#if HAVE_IOMMU_FAULT_QUEUE_ALLOC
/* One read(2) of whole faults into @out (a ReadOnce). */
static ssize_t faultq_read_once(void *queue, GArray *out, void *extra, GError **errp)
{
    VfiFaultq *q = queue;
    const size_t rec = sizeof(struct iommu_hwpt_pgfault);
    g_autofree struct iommu_hwpt_pgfault *buf = g_malloc(QUEUE_READ_BYTES / rec * rec);
    ssize_t n = vfi_kernel_read(q->o.fd, buf, QUEUE_READ_BYTES / rec * rec);

    if (n < 0) {
        vfi_kernel_error(errp, (int)-n, "read(fault queue)", NULL, "fault queue %u fd %d",
                         q->o.id, q->o.fd);
        return n;
    }
    for (size_t i = 0; i < (size_t)n / rec; i++) {
        VfiPageFault f = {
            .flags = buf[i].flags, .dev_id = buf[i].dev_id, .pasid = buf[i].pasid,
            .grpid = buf[i].grpid, .perm = buf[i].perm, .addr = buf[i].addr,
            .length = buf[i].length, .cookie = buf[i].cookie,
        };

        g_array_append_val(out, f);
    }
    return n;
}
#endif

bool vfi_faultq_read(VfiFaultq *q, GArray **faults, GError **errp)
{
#if HAVE_IOMMU_FAULT_QUEUE_ALLOC
    g_autoptr(GArray) out = g_array_new(FALSE, TRUE, sizeof(VfiPageFault));

    if (!q || !faults) {
        return vfi_iommufd_reject(q ? q->o.be : NULL, __func__, errp,
                                  !q ? "no queue (NULL)" : "faults is NULL");
    }
    if (!read_all(q, faultq_read_once, out, NULL, errp)) {
        return false;
    }
    trace_vfi_faultq_read(q->o.id, out->len);
    *faults = g_steal_pointer(&out);
    return true;
#else
    (void)q, (void)faults;
    vfi_kernel_uapi_missing(errp, "vfi_faultq_read", "IOMMU_FAULT_QUEUE_ALLOC", "6.11");
    return false;
#endif
}

bool vfi_faultq_respond(VfiFaultq *q, uint32_t cookie, uint32_t code, GError **errp)
{
#if HAVE_IOMMU_FAULT_QUEUE_ALLOC
    struct iommu_hwpt_page_response r = { .cookie = cookie, .code = code };
    ssize_t n;

    if (!q) {
        return vfi_iommufd_reject(NULL, __func__, errp, "no queue (NULL)");
    }
    if (code != IOMMUFD_PAGE_RESP_SUCCESS && code != IOMMUFD_PAGE_RESP_INVALID) {
        return vfi_iommufd_reject(q->o.be, __func__, errp,
                                  "code is neither SUCCESS (0) nor INVALID (1)");
    }
    n = vfi_kernel_write(q->o.fd, &r, sizeof(r));
    trace_vfi_faultq_respond(q->o.id, cookie, code, n < 0 ? (int)-n : 0);
    if (n < 0) {
        vfi_kernel_error(errp, (int)-n, "write(fault queue)", NULL,
                         "fault queue %u: response to cookie %u%s", q->o.id, cookie,
                         n == -EINVAL ? " (no fault pending with this cookie)" : "");
        return false;
    }
    return true;
#else
    (void)q, (void)cookie, (void)code;
    vfi_kernel_uapi_missing(errp, "vfi_faultq_respond", "IOMMU_FAULT_QUEUE_ALLOC", "6.11");
    return false;
#endif
}

bool vfi_faultq_free(VfiFaultq *q, GError **errp)
{
    return vfi_viobj_free(q ? &q->o : NULL, false, errp);
}
