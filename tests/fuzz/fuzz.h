/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-ops: randomized sequences of public-API operations, with fault
 * injection, against the kernel model (docs/testing.md, "fuzz-ops").
 *
 * One run is one seed: a fixture (fuzz-fixture.c: model, backend, address
 * space, the topology's devices opened) and a number of steps. Each step
 * is one operation chosen at random (fuzz-ops.c, fuzz-ops-dirty.c, with
 * arguments from fuzz-gen.c), maybe with an injected fault; after it:
 *  (a) a call failing with a VFI_ERROR error made no ioctl (fuzz-check.c);
 *  (b) a failed call left the state as before, except where the API docs
 *      say otherwise (fuzz-check.c);
 *  (c) no dirty page written by a covered device while tracking was on is
 *      lost (fuzz-dirty.c);
 *  (d) the teardown leaves no kernel object and no fd (fuzz-fixture.c);
 * plus invariants after every step (the model holds what the library's
 * lists imply). A step that breaks one is a finding (fuzz-main.c reports
 * it with its reproducer); fuzz-known.c says which findings are known
 * (issue 9) and do not fail the test.
 */
#ifndef VFI_FUZZ_H
#define VFI_FUZZ_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vfio-iommufd/container.h"
#include "vfio-iommufd/device.h"
#include "vfio-iommufd/dirty.h"
#include "vfio-iommufd/iommufd.h"
#include "vfio-iommufd/kernel.h"
#include "vfio-iommufd-sim/sim.h"

#define FZ_PAGE UINT64_C(4096)
/* Ordinary mappings lie in [FZ_REGION, FZ_REGION + FZ_REGION_PAGES pages). */
#define FZ_REGION UINT64_C(0x100000)
#define FZ_REGION_PAGES 64
/* Every dirty log spans [0, FZ_LOG_SPAN); devices only write below it. */
#define FZ_LOG_SPAN UINT64_C(0x800000)
#define FZ_MSI_WINDOW UINT64_C(0xfee00000)

#define FZ_NSLOTS 8
#define FZ_MAX_CONT 12
#define FZ_MAX_HWPT 12

/* Kinds of ioctl, as the kernel wrapper classifies them (bit numbers). */
typedef enum {
    FZ_IO_DESTROY,
    FZ_IO_IOAS_ALLOC,
    FZ_IO_IOVA_RANGES,
    FZ_IO_MAP,
    FZ_IO_UNMAP,
    FZ_IO_HW_INFO,
    FZ_IO_HWPT_ALLOC,
    FZ_IO_DIRTY_ON,
    FZ_IO_DIRTY_OFF,
    FZ_IO_GET_BITMAP,
    FZ_IO_BIND,
    FZ_IO_ATTACH,
    FZ_IO_DETACH,
    FZ_IO_GET_INFO,
    FZ_IO_LOG_PROBE,
    FZ_IO_LOG_START,
    FZ_IO_LOG_STOP,
    FZ_IO_LOG_REPORT,
    FZ_IO_OTHER,
    FZ_IO__COUNT,
} FzIoKind;

#define FZ_BIT(k) (1u << (k))

/* Which second faults a step may arm (VFI_FUZZ_FAULT2). */
enum {
    FZ_FAULT2_DETACH,      /* default: the next DETACH (undo detaches) */
    FZ_FAULT2_ALL,         /* the next DETACH, DESTROY, SET_DIRTY, FEATURE, UNMAP, MAP */
    FZ_FAULT2_NONE,        /* single faults only */
};

/* One ioctl of the current step, as the wrapper saw it. */
typedef struct FzIoctl {
    FzIoKind kind;
    int ret;           /* 0 or -errno */
    bool injected;     /* the model failed it on purpose */
    int fd;            /* the fd it was made on */
    uint32_t hwpt;     /* GET_DIRTY_BITMAP: the HWPT read */
} FzIoctl;

/* One mapping as the VMM (the test) believes it is. */
typedef struct FzMap {
    uint64_t iova;
    uint64_t size;
    bool readonly;
} FzMap;

/* One device of the topology and what the VMM holds of it. */
typedef struct FzSlot {
    const char *name;      /* the model's name (owned by the model) */
    bool mdev;
    VfiDevice *dev;        /* NULL while closed */
    int vmm_fd;            /* the VMM's own cdev fd, or -1 */
    bool held_bound;       /* dev freed, vmm_fd still bound in the kernel */
} FzSlot;

/* A container of the address space and its container-level mappings. */
typedef struct FzCont {
    VfiContainer *c;
    GArray *maps;          /* FzMap, made with vfi_container_dma_map() */
    bool diverged;         /* a documented double fault left its record odd */
} FzCont;

/* A page written by a covered device while tracking was on, not yet seen
 * in a dirty log. */
typedef struct FzPending {
    unsigned slot;
    uint64_t page;         /* IOVA of the 4 KiB page */
    unsigned step;         /* when it was written */
    int dropped_step;      /* a log holding it was dropped by the test, or -1 */
    const char *dropped_why;
} FzPending;

/* A broken check. */
typedef struct FzViol {
    char *tag;             /* stable keyword, for the known list */
    char *text;
} FzViol;

/* The operation of one step. */
typedef struct FzOp {
    const char *name;      /* "attach", "as_unmap_dirty", ... */
    GString *detail;       /* its arguments */
    bool lib;              /* a library call returning a result */
    bool ok;
    GError *err;
    int slot;              /* the device it is about, or -1 */
    VfiContainer *c;       /* the container it is about, or NULL */
    bool vmm_fd;           /* the device was made from the VMM's fd */
    uint64_t iova, size;   /* the range it is about */
    unsigned flags;        /* VfiUnmapFlags or VfiDirtyQueryFlags */
    VfiDirtyLog *log;      /* the log it was given */
    uint64_t unmapped;     /* what it said it unmapped */
    bool was_tracking;     /* its container (any container) was tracking */
    bool was_tracked_dev;  /* its device was covered */
    uint64_t ioctls;       /* ioctls it made */
} FzOp;

typedef struct Fz {
    uint64_t seed;
    uint64_t rng;
    unsigned step;
    bool verbose;
    unsigned fault2_mode;  /* FZ_FAULT2_* */
    unsigned weights[32];  /* this seed's mix of operations (fuzz-ops.c) */
    bool weighted;
    VfiSim *sim;
    VfiIommufd *be;
    VfiAddressSpace *as;
    FzSlot slots[FZ_NSLOTS];
    unsigned nslots;
    GArray *as_maps;       /* FzMap, made with vfi_address_space_dma_map() */
    GPtrArray *conts;      /* FzCont *, in the address space's order */
    GArray *pending;       /* FzPending */
    GPtrArray *viols;      /* FzViol * of the current step */
    /* the current step's ioctls and faults */
    GArray *ioctls;        /* FzIoctl */
    bool recording;
    unsigned fault_n;      /* 0: none */
    int fault_err;
    int fault2_kind;       /* VfiSimOp of a second fault, or -1 */
    int fault2_err;
    bool fault2_taken;
    unsigned io_seen;      /* ioctls seen since the faults were armed */
    /* results of the whole seed */
    unsigned findings_known;
    unsigned findings_new;
    unsigned resets;
} Fz;

/* fuzz-main.c */
uint64_t fz_rand(Fz *f);
unsigned fz_below(Fz *f, unsigned n);
bool fz_chance(Fz *f, unsigned percent);
void fz_viol(Fz *f, const char *tag, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
void *fz_va(uint64_t iova);
FzCont *fz_cont(Fz *f, const VfiContainer *c);
int fz_slot_of(const Fz *f, const VfiDevice *dev);
bool fz_shadow_mapped(Fz *f, const VfiContainer *c, uint64_t page);
bool fz_report(Fz *f, const FzOp *o);

/* fuzz-fixture.c: the kernel wrapper, the fixture, check (d) */
const char *fz_io_name(FzIoKind k);
const char *fz_sim_op_name(int op);
/* Whether an ioctl of one of @kinds_mask (FZ_BIT()s) failed in this step
 * (only injected failures when @injected_only). */
bool fz_io_failed(const Fz *f, unsigned kinds_mask, bool injected_only);
/* How many ioctls of the step failed. */
unsigned fz_io_failures(const Fz *f);
/* The first ioctl of the step that failed, or NULL. */
const FzIoctl *fz_io_first_failure(const Fz *f);
/* Maybe arm the faults of a step (@attach: it is an attach). */
void fz_arm_faults(Fz *f, bool attach);
void fz_disarm_faults(Fz *f);
void fz_fixture_new(Fz *f);
/* Tear down, checking (d); @report: a violation is a finding of its own. */
void fz_fixture_free(Fz *f, bool report);
void fz_slot_open(Fz *f, unsigned i);
void fz_slot_close_fd(Fz *f, unsigned i);

/* fuzz-gen.c: arguments and the VMM's record of its mappings */
int fz_pick_open(Fz *f, unsigned pct_in);
int fz_pick_closed(Fz *f);
FzCont *fz_pick_cont(Fz *f);
bool fz_have_cont(Fz *f);
bool fz_have_open(Fz *f);
bool fz_have_closed(Fz *f);
void fz_gen_map_range(Fz *f, FzOp *o, void **va);
void fz_gen_unmap_range(Fz *f, FzOp *o, const GArray *cands);
unsigned fz_gen_unmap_flags(Fz *f, FzOp *o, unsigned discard_pct);
GArray *fz_unmap_cands(Fz *f, const FzCont *fc, bool with_as);
void fz_maps_add(GArray *maps, uint64_t iova, uint64_t size, bool readonly);
uint64_t fz_maps_remove(Fz *f, GArray *maps, uint64_t lo, uint64_t hi);
uint64_t fz_range_last(const FzOp *o);
bool fz_any_tracking(Fz *f);

/* fuzz-ops.c: the operations and the step */
void fz_step(Fz *f);
/* A failed address-space map or unmap whose rollback failed too. */
void fz_as_rollback_failed(Fz *f, const FzOp *o);

/* fuzz-ops-dirty.c: the dirty-tracking operations (run: the call; post:
 * what it means for the shadow and check (c)) */
void fz_op_run_as_start(Fz *f, FzOp *o);
void fz_op_run_as_stop(Fz *f, FzOp *o);
void fz_op_run_c_start(Fz *f, FzOp *o);
void fz_op_run_c_stop(Fz *f, FzOp *o);
void fz_op_post_start(Fz *f, FzOp *o);
void fz_op_post_stop(Fz *f, FzOp *o);
void fz_op_run_as_sync(Fz *f, FzOp *o);
void fz_op_run_c_sync(Fz *f, FzOp *o);
void fz_op_run_c_query(Fz *f, FzOp *o);
void fz_op_post_read(Fz *f, FzOp *o);
void fz_op_run_as_unmap_dirty(Fz *f, FzOp *o);
void fz_op_post_as_unmap_dirty(Fz *f, FzOp *o);
void fz_op_run_c_unmap_dirty(Fz *f, FzOp *o);
void fz_op_post_c_unmap_dirty(Fz *f, FzOp *o);

/* fuzz-check.c: checks (a), (b) and the invariants */
typedef struct FzSnap FzSnap;
FzSnap *fz_snap_take(Fz *f);
void fz_snap_free(FzSnap *s);
void fz_check_failed(Fz *f, const FzOp *o, const FzSnap *before, const FzSnap *after,
                     uint64_t ioctls);
void fz_check_invariants(Fz *f);

/* fuzz-dirty.c: check (c) */
VfiDirtyLog *fz_log_new(Fz *f, GString *detail);
void fz_log_free(VfiDirtyLog *log);
void fz_dirty_written(Fz *f, unsigned slot, uint64_t iova, uint64_t len);
void fz_dirty_found(Fz *f, const VfiDirtyLog *log);
void fz_dirty_dropped(Fz *f, const VfiDirtyLog *log, const char *why);
/* Every pending page of a device of @c (NULL: of every tracking container)
 * inside [lo, hi] and @log's span must have been found by now. */
void fz_dirty_expect(Fz *f, const FzOp *o, const VfiContainer *c, const VfiDirtyLog *log,
                     uint64_t lo, uint64_t hi);
/* Forget the pending pages of @slot (-1: any) of devices in @c (NULL: any)
 * inside [lo, hi]. */
void fz_dirty_forget(Fz *f, const VfiContainer *c, int slot, uint64_t lo, uint64_t hi);

/* fuzz-known.c: the known findings (issue 9) */
const char *fz_known_match(const Fz *f, const FzOp *o, const FzViol *v);
void fz_known_note(const char *id, uint64_t seed, unsigned step);
void fz_known_print_summary(void);

#endif
