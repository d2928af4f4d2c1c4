/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd kernel model: IOMMU_HW_QUEUE_ALLOC as Linux 7.3 does it with
 * its mock IOMMU (drivers/iommu/iommufd/viommu.c iommufd_hw_queue_alloc_ioctl(),
 * selftest.c mock_hw_queue_init_phys()).
 *
 * A HW queue of a vIOMMU of the selftest type lives at an IOVA of the
 * vIOMMU's nest parent's IOAS. The kernel pins its pages through an internal
 * access (the page-aligned range holding it): they must be mapped and
 * readable, and physically contiguous (the model's physical address is the
 * mapping's user VA); the IOAS mappings it pins are locked, so an unmap
 * touching them is EBUSY until the queue is destroyed. The mock takes
 * indexes 0..VFI_SIM_HW_QUEUE_MAX-1 in order: each queue but the first
 * depends on (references) the one before it, and each references its vIOMMU.
 */
#include <errno.h>
#include <stdint.h>
#include <linux/iommufd.h>

#include "config.h"
#include "sim-internal.h"
#include "trace.h"

#if HAVE_IOMMU_HW_QUEUE_ALLOC
static int refuse(int err, const char *why)
{
    trace_vfi_sim_refused("IOMMU_HW_QUEUE_ALLOC", err, why);
    return -err;
}

/*
 * iommufd_access_pin_pages() of [first, last] in @ioas with flags 0, then
 * the contiguity check of iommufd_hw_queue_alloc_phys(): a hole is ENOENT,
 * a mapping without READABLE EPERM, pages not contiguous EFAULT.
 */
static int pin_check(SimObj *ioas, uint64_t first, uint64_t last)
{
    const SimMapping *prev = NULL;
    uint64_t at = first;
    bool contiguous = true;

    SIM_MAPS_FOREACH_FROM(m, ioas->maps, first) {
        if (m->iova > at) {
            break;
        }
        if (!(m->flags & IOMMU_IOAS_MAP_READABLE)) {
            return refuse(EPERM, "the queue's pages are not mapped readable");
        }
        if (prev && prev->user_va + (at - prev->iova) != m->user_va) {
            contiguous = false;
        }
        if (m->last >= last) {
            return contiguous ? 0 : refuse(EFAULT, "the queue's pages are not contiguous");
        }
        prev = m;
        at = m->last + 1;
    }
    return refuse(ENOENT, "the queue is not mapped in the nest parent's IOAS");
}

/* Lock (@delta 1) or unlock (-1) the mappings holding [first, last]. */
static void pin(SimObj *ioas, uint64_t first, uint64_t last, int delta)
{
    SIM_MAPS_FOREACH_FROM(m, ioas->maps, first) {
        if (m->iova > last) {
            break;
        }
        m->locks += delta;
    }
}

/* The queue of @viommu at @index, or NULL (the mock's hw_queue[]). */
static SimObj *queue_at(SimCtx *ctx, const SimObj *viommu, uint32_t index)
{
    GHashTableIter it;
    gpointer value;

    g_hash_table_iter_init(&it, ctx->objects);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        SimObj *obj = value;

        if (obj->type == SIM_OBJ_HW_QUEUE && obj->viommu == viommu &&
            obj->queue_index == index) {
            return obj;
        }
    }
    return NULL;
}

/* mock_hw_queue_init_phys(): the index rules; *@prev the queue before. */
static int index_check(SimCtx *ctx, const SimObj *viommu, uint32_t index, SimObj **prev)
{
    *prev = NULL;
    if (index >= VFI_SIM_HW_QUEUE_MAX) {
        return refuse(EINVAL, "index past the mock's queues");
    }
    if (queue_at(ctx, viommu, index)) {
        return refuse(EEXIST, "the index has a queue");
    }
    if (index && !(*prev = queue_at(ctx, viommu, index - 1))) {
        return refuse(EIO, "the index before has no queue");
    }
    return 0;
}

/* The page-aligned range the kernel pins for [iova, iova + length). */
static int pinned_range(const struct iommu_hw_queue_alloc *cmd, uint64_t *first,
                        uint64_t *last)
{
    uint64_t end;

    *first = cmd->nesting_parent_iova & ~(uint64_t)(SIM_PAGE_SIZE - 1);
    if (__builtin_add_overflow(cmd->nesting_parent_iova - *first, cmd->length, &end) ||
        __builtin_add_overflow(end, SIM_PAGE_SIZE - 1, &end)) {
        return refuse(ERANGE, "offset + length overflows");
    }
    end &= ~(uint64_t)(SIM_PAGE_SIZE - 1);
    *last = *first + end - 1;
    return 0;
}

int sim_ioctl_hw_queue_alloc(SimCtx *ctx, void *arg)
{
    struct iommu_hw_queue_alloc *cmd = arg;
    SimObj *viommu, *ioas, *prev, *q;
    uint64_t last, pin_first, pin_last;
    int rc;

    if (cmd->flags || cmd->type == 0) {
        return refuse(EOPNOTSUPP, "flags, or type DEFAULT");
    }
    if (!cmd->length) {
        return refuse(EINVAL, "length 0");
    }
    if (__builtin_add_overflow(cmd->nesting_parent_iova, cmd->length - 1, &last)) {
        return refuse(EOVERFLOW, "iova + length overflows");
    }
    viommu = sim_ctx_lookup(ctx, cmd->viommu_id);
    if (!viommu || viommu->type != SIM_OBJ_VIOMMU) {
        return refuse(ENOENT, "viommu_id is not a vIOMMU");
    }
    if (cmd->type != VFI_SIM_HW_QUEUE_TYPE_SELFTEST) {
        return refuse(EOPNOTSUPP, "the vIOMMU has no such queue type");
    }
    ioas = viommu->parent->ioas;
    if ((rc = pinned_range(cmd, &pin_first, &pin_last)) ||
        (rc = pin_check(ioas, pin_first, pin_last)) ||
        (rc = index_check(ctx, viommu, cmd->index, &prev))) {
        return rc;
    }
    q = sim_obj_new(ctx, SIM_OBJ_HW_QUEUE);
    q->viommu = viommu;
    viommu->users++;
    q->vtype = cmd->type;
    q->queue_index = cmd->index;
    q->queue_prev = prev;
    if (prev) {
        prev->users++;
    }
    q->queue_ioas = ioas;
    q->queue_first = pin_first;
    q->queue_last = pin_last;
    pin(ioas, pin_first, pin_last, 1);
    cmd->out_hw_queue_id = q->id;
    trace_vfi_sim_viommu(q->id, "hw-queue", viommu->id, cmd->type);
    return 0;
}

void sim_hw_queue_release(SimObj *q)
{
    if (q->queue_prev) {
        q->queue_prev->users--;
    }
    if (q->queue_ioas) {
        pin(q->queue_ioas, q->queue_first, q->queue_last, -1);
    }
}
#endif
