/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: parallel dirty syncs (include/vfio-iommufd/dirty-pool.h,
 * docs/dirty-tracking.md "Parallel syncs").
 *
 * A sync is planned in the calling thread: the pages kept from earlier
 * reads, the device DMA logs and the pieces of mappings the log's span cuts
 * are read there first (the serial code, writing the log with plain
 * stores); every whole mapping inside the span, aligned to the log's pages,
 * becomes one job per HWPT tracking it (or several, split at the pool's
 * split alignment). Then the jobs run on the pool's workers and the calling
 * thread: each takes the next job (an atomic index), reads it into its own
 * page-aligned buffer and ORs it into the log with atomic word ORs, so the
 * workers never share a word of memory the kernel writes. Nothing is
 * allocated per sync once the job array and the buffers have grown.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <inttypes.h>
#include <stdlib.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/iommufd.h"
#include <linux/iommufd.h>
#include "util/bitops.h"
#include "migration-internal.h"
#include "trace.h"

#define POOL_MAX_WIDTH 64

typedef struct PoolJob {
    VfiIommufd *be;
    uint32_t ioas_id;
    uint32_t hwpt_id;
    uint64_t iova;
    uint64_t size;
} PoolJob;

struct VfiDirtyPool {
    unsigned width;               /* participants of a sync: workers + caller */
    uint64_t split;               /* 0: mappings whole */
    VfiDirtyPoolSubmitFn submit;  /* external executor, or NULL */
    void *opaque;
    pthread_t *threads;           /* own workers (width - 1), or NULL */
    /* POSIX and not GLib's: ThreadSanitizer cannot see GLib's futexes
     * (util/lock.h) */
    pthread_mutex_t mu;
    pthread_cond_t start, done;
    pthread_mutex_t busy;         /* held for a whole sync: one at a time
                                   * (taken after the address space's lock) */
    unsigned generation;          /* bumped per sync (mu) */
    unsigned running;             /* workers not done with this sync (mu) */
    bool quit;                    /* (mu) */
    GArray *jobs;                 /* PoolJob of the current sync */
    const VfiDirtyLog *log;       /* of the current sync */
    uint32_t flags;               /* VfiDirtyQueryFlags of the current sync */
    const VfiDirtyLog *log_plan;  /* while a reader's query is planned: its log */
    uint64_t span_lo, span_hi;    /* and its range */
    gint next_job;                /* atomic */
    gint next_slot;               /* atomic: a buffer per participant */
    VfiDirtyScratch *bufs;        /* width */
    GError *error;                /* the first error of the sync (mu) */
};

/* ---- running jobs ---------------------------------------------------------- */

static void job_failed(VfiDirtyPool *p, const PoolJob *j, GError *err)
{
    pthread_mutex_lock(&p->mu);
    if (!p->error) {
        g_prefix_error(&err, "parallel dirty sync of ioas %u hwpt %u [0x%" PRIx64
                       ", +0x%" PRIx64 "): ", j->ioas_id, j->hwpt_id, j->iova, j->size);
        p->error = err;
        err = NULL;
    }
    pthread_mutex_unlock(&p->mu);
    g_clear_error(&err);
}

static void run_job(VfiDirtyPool *p, VfiDirtyScratch *sc, const PoolJob *j)
{
    const VfiDirtyLog *log = p->log;
    uint64_t ps = log->page_size, n = j->size / ps;
    GError *err = NULL;
    bool ok;

    if (!vfi_dirty_scratch_reserve(sc, j->ioas_id, n, &err)) {
        job_failed(p, j, err);
        return;
    }
    ok = vfi_iommufd_hwpt_get_dirty_bitmap(j->be, j->hwpt_id, j->iova, j->size, ps, sc->buf,
                                            (p->flags & VFI_DIRTY_QUERY_NO_CLEAR) ?
                                            IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR : 0, &err);
    /* Also after a failure: bits already read (and cleared) must not be lost. */
    vfi_bits_or(log->bitmap, (j->iova - log->base_iova) / ps, sc->buf, 0, n, true);
    if (!ok) {
        job_failed(p, j, err);
    }
}

/* Take jobs until none is left, with a buffer of one's own. */
static void run_jobs(VfiDirtyPool *p)
{
    gint slot = g_atomic_int_add(&p->next_slot, 1);
    VfiDirtyScratch *sc = &p->bufs[slot];
    gint i;

    g_assert((unsigned)slot < p->width);
    while ((i = g_atomic_int_add(&p->next_job, 1)) < (gint)p->jobs->len) {
        run_job(p, sc, &g_array_index(p->jobs, PoolJob, i));
    }
}

static void worker_done(VfiDirtyPool *p)
{
    pthread_mutex_lock(&p->mu);
    p->running--;
    pthread_cond_broadcast(&p->done);
    pthread_mutex_unlock(&p->mu);
}

static void *worker_main(void *data)
{
    VfiDirtyPool *p = data;
    unsigned seen = 0;

    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->generation == seen) {
            pthread_cond_wait(&p->start, &p->mu);
        }
        if (p->quit) {
            break;
        }
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        run_jobs(p);
        worker_done(p);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void external_main(void *data)
{
    VfiDirtyPool *p = data;

    run_jobs(p);
    worker_done(p);
}

/* Every participant's buffer large enough for the largest job, grown here
 * (which participant takes which job is not known in advance). */
static bool reserve_buffers(VfiDirtyPool *p, uint64_t ps, GError **errp)
{
    uint64_t max = 0;
    const PoolJob *big = NULL;

    for (guint i = 0; i < p->jobs->len; i++) {
        const PoolJob *j = &g_array_index(p->jobs, PoolJob, i);

        if (j->size / ps > max) {
            max = j->size / ps;
            big = j;
        }
    }
    for (unsigned k = 0; big && k < p->width; k++) {
        if (p->bufs[k].size < (max + 63) / 64 * 8 &&
            !vfi_dirty_scratch_reserve(&p->bufs[k], big->ioas_id, max, errp)) {
            return false;
        }
    }
    return true;
}

/* Run the planned jobs on every participant, the caller included; returns
 * the first error. */
static bool run_sync(VfiDirtyPool *p, const VfiDirtyLog *log, GError **errp)
{
    unsigned workers = p->width - 1;

    if (!reserve_buffers(p, log->page_size, errp)) {
        return false;
    }
    p->log = log;
    g_atomic_int_set(&p->next_job, 0);
    g_atomic_int_set(&p->next_slot, 0);
    pthread_mutex_lock(&p->mu);
    p->running = workers;
    p->generation++;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; p->submit && i < workers; i++) {
        p->submit(p->opaque, external_main, p);
    }
    run_jobs(p);
    pthread_mutex_lock(&p->mu);
    while (p->running) {
        pthread_cond_wait(&p->done, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    p->log = NULL;
    if (p->error) {
        g_propagate_error(errp, p->error);
        p->error = NULL;
        return false;
    }
    return true;
}

/* ---- planning ------------------------------------------------------------ */

/* One job per HWPT source of @s, per piece of [iova, last] (a whole
 * mapping) cut at multiples of a power of two no smaller than the split
 * alignment, about two pieces per participant. */
static void add_jobs(VfiDirtyPool *p, const VfiDirtySources *s, uint64_t iova, uint64_t last)
{
    uint64_t size = last - iova + 1, piece = p->split;
    guint nh = s->hwpt_ids ? s->hwpt_ids->len : s->c->hwpts->len;

    while (piece && piece < size / (2 * p->width) && piece < (UINT64_C(1) << 62)) {
        piece <<= 1;
    }
    for (guint i = 0; i < nh; i++) {
        const VfiHwpt *h = s->hwpt_ids ? NULL : g_ptr_array_index(s->c->hwpts, i);
        uint32_t id = h ? h->id : g_array_index(s->hwpt_ids, uint32_t, i);
        uint64_t a = iova, b;

        if (h && !h->dirty_on) {
            continue;
        }
        do {
            PoolJob j;

            b = piece ? MIN(last, a | (piece - 1)) : last;
            j = (PoolJob){ s->be, s->ioas_id, id, a, b - a + 1 };
            g_array_append_val(p->jobs, j);
            s->scratch->stats.scratch_reads++;
            a = b + 1;
        } while (b != last);
    }
}

/* Piece [a, b] of mapping @m of a read of [lo, hi]: a mapping inside it,
 * aligned to the log's pages, goes to jobs (the caller reads its kept pages
 * and device logs now), anything else is read now. */
static bool plan_piece(VfiDirtyPool *p, const VfiDirtySources *s, const VfiRange *m,
                       uint64_t a, uint64_t b, uint64_t lo, uint64_t hi,
                       const VfiDirtyLog *log, GError **errp)
{
    uint64_t ps = log->page_size;

    /* a container-wide IOMMU source (type1) has no HWPT for the workers */
    if (!vfi_dirty_has_iommu_source(s) && m->iova >= lo && m->last <= hi &&
        !(m->iova & (ps - 1)) && !((m->last + 1) & (ps - 1))) {
        vfi_dirty_deliver_kept(s, a, b, log, p->flags);
        add_jobs(p, s, a, b);
        return vfi_dirty_read_devices(s, a, b - a + 1, log, p->flags, errp);
    }
    return vfi_dirty_read_piece(s, a, b, log, p->flags, errp);
}

/* Plan @c: serial reads now, jobs for later. */
static bool plan_container(VfiDirtyPool *p, VfiContainer *c, const VfiDirtyLog *log,
                           GError **errp)
{
    VfiDirtySources s = vfi_dirty_sources_of(c);
    uint64_t lo = log->base_iova, hi = vfi_dirty_log_last(log);
    VfiRange r;

    VFI_CONTAINER_FOREACH_MAPPED(c, lo, r) {
        uint64_t x = MAX(r.iova, lo), end = MIN(r.last, hi);

        if (r.iova > hi) {
            break;
        }
        for (;;) {
            const VfiContainerMapping *m = vfi_container_mapping_at(c, x);
            uint64_t b = MIN(m->r.last, end);

            if (!plan_piece(p, &s, &m->r, x, b, lo, hi, log, errp)) {
                return false;
            }
            if (b == end) {
                break;
            }
            x = b + 1;
        }
    }
    return true;
}

/* A piece of a public reader's parallel query: a told mapping planned as a
 * container's, the rest read now as asked. */
static bool plan_told_piece(void *opaque, const VfiDirtySources *s, const VfiRange *m,
                            uint64_t a, uint64_t b, GError **errp)
{
    VfiDirtyPool *p = opaque;

    if (m) {
        return plan_piece(p, s, m, a, b, p->span_lo, p->span_hi, p->log_plan, errp);
    }
    return vfi_dirty_read_piece(s, a, b, p->log_plan, p->flags, errp);
}

/* A public reader's query (checked) spread over @pool. */
static bool query_parallel(const VfiDirtySources *s, uint64_t iova, uint64_t size,
                           const VfiDirtyLog *log, uint32_t flags, VfiDirtyPool *pool,
                           GError **errp)
{
    bool ok;

    pthread_mutex_lock(&pool->busy);
    g_array_set_size(pool->jobs, 0);
    pool->flags = flags;
    pool->span_lo = iova;
    pool->span_hi = iova + (size - 1);
    pool->log_plan = log;
    ok = vfi_dirty_split_told(s, iova, iova + (size - 1), plan_told_piece, pool, errp);
    trace_vfi_dirty_pool_sync(0, pool->jobs->len, pool->width, pool->split);
    ok = ok && (pool->jobs->len == 0 || run_sync(pool, log, errp));
    pthread_mutex_unlock(&pool->busy);
    return ok;
}

bool vfi_dirty_sync_all_parallel(VfiContainer *const *cs, guint n, const VfiDirtyLog *log,
                                 VfiDirtyPool *pool, GError **errp)
{
    const char *what = n == 1 ? "parallel dirty sync" : "address space parallel dirty sync";
    bool ok = true;

    if (!pool) {
        return vfi_dirty_sync_all(cs, n, log, errp);
    }
    if (!vfi_dirty_sync_check_all(cs, n, log, what, errp)) {
        return false;
    }
    pthread_mutex_lock(&pool->busy);
    g_array_set_size(pool->jobs, 0);
    pool->flags = 0;
    for (guint i = 0; ok && i < n; i++) {
        ok = plan_container(pool, cs[i], log, errp);
    }
    trace_vfi_dirty_pool_sync(n, pool->jobs->len, pool->width, pool->split);
    ok = ok && (pool->jobs->len == 0 || run_sync(pool, log, errp));
    pthread_mutex_unlock(&pool->busy);
    return ok;
}

/* ---- the pool -------------------------------------------------------------- */

static VfiDirtyPool *pool_alloc(unsigned width)
{
    VfiDirtyPool *p = g_new0(VfiDirtyPool, 1);

    p->width = width;
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->busy, NULL);
    pthread_cond_init(&p->start, NULL);
    pthread_cond_init(&p->done, NULL);
    p->jobs = g_array_new(false, false, sizeof(PoolJob));
    p->bufs = g_new0(VfiDirtyScratch, width);
    return p;
}

static bool check_width(unsigned n, const char *what, GError **errp)
{
    if (n >= 1 && n <= POOL_MAX_WIDTH) {
        return true;
    }
    g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                "%s: %u threads (1 to %u)", what, n, POOL_MAX_WIDTH);
    return false;
}

VfiDirtyPool *vfi_dirty_pool_new(unsigned threads, GError **errp)
{
    VfiDirtyPool *p;

    if (!check_width(threads, "dirty pool", errp)) {
        return NULL;
    }
    p = pool_alloc(threads + 1);
    p->threads = g_new0(pthread_t, threads);
    for (unsigned i = 0; i < threads; i++) {
        int e = pthread_create(&p->threads[i], NULL, worker_main, p);

        if (e) {
            g_set_error(errp, VFI_ERROR, VFI_ERROR_HOST,
                        "dirty pool: cannot start thread %u of %u: %s (%s)", i + 1, threads,
                        g_strerror(e), e == EAGAIN ? "EAGAIN" : "pthread_create");
            p->width = i + 1;       /* the ones started are joined */
            vfi_dirty_pool_free(p);
            return NULL;
        }
    }
    trace_vfi_dirty_pool_new(threads, false);
    return p;
}

VfiDirtyPool *vfi_dirty_pool_new_external(unsigned width, VfiDirtyPoolSubmitFn submit,
                                          void *opaque, GError **errp)
{
    VfiDirtyPool *p;

    if (!check_width(width, "external dirty pool", errp)) {
        return NULL;
    }
    if (!submit) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "external dirty pool: no submit function given");
        return NULL;
    }
    p = pool_alloc(width + 1);
    p->submit = submit;
    p->opaque = opaque;
    trace_vfi_dirty_pool_new(width, true);
    return p;
}

void vfi_dirty_pool_free(VfiDirtyPool *p)
{
    if (!p) {
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->quit = true;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; p->threads && i + 1 < p->width; i++) {
        pthread_join(p->threads[i], NULL);
    }
    for (unsigned i = 0; i < p->width; i++) {
        free(p->bufs[i].buf);
    }
    g_free(p->bufs);
    g_free(p->threads);
    g_array_free(p->jobs, true);
    pthread_cond_destroy(&p->start);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->busy);
    g_free(p);
}

bool vfi_dirty_pool_set_split_alignment(VfiDirtyPool *p, uint64_t alignment, GError **errp)
{
    if (!p || (alignment && (alignment < 4096 || (alignment & (alignment - 1))))) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "dirty pool split alignment 0x%" PRIx64 ": %s", alignment,
                    p ? "not 0 or a power of two of at least 4 KiB" : "no pool given");
        return false;
    }
    p->split = alignment;
    trace_vfi_dirty_pool_split(alignment);
    return true;
}

unsigned vfi_dirty_pool_width(const VfiDirtyPool *p)
{
    return p ? p->width : 0;
}

bool vfi_container_sync_dirty_parallel(VfiContainer *c, const VfiDirtyLog *log,
                                       VfiDirtyPool *pool, GError **errp)
{
    VFI_LOCK_GUARD(vfi_container_lock(c));

    if (!vfi_container_check_given(c, "parallel dirty sync", errp)) {
        return false;
    }
    return vfi_dirty_sync_all_parallel(&c, 1, log, pool, errp);
}

bool vfi_dirty_reader_query_parallel(VfiDirtyReader *r, uint64_t iova, uint64_t size,
                                     const VfiDirtyLog *log, uint32_t flags,
                                     VfiDirtyPool *pool, GError **errp)
{
    const char *what = "parallel dirty query";
    VfiDirtySources s;

    if (!pool) {
        return vfi_dirty_reader_query(r, iova, size, log, flags, errp);
    }
    if (!vfi_dirty_reader_sources(r, what, &s, errp) ||
        !vfi_dirty_check_query(&s, iova, size, log, flags, what, errp)) {
        return false;
    }
    return !vfi_dirty_has_sources(&s) ||
           query_parallel(&s, iova, size, log, flags, pool, errp);
}
