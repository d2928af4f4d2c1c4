/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the type1 tests share (test-type1-backend.c, test-type1-container.c,
 * test-type1-as.c): the devices of their topologies, the page size, and the
 * loop of their fault tests.
 */
#ifndef TEST_TYPE1_HELPERS_H
#define TEST_TYPE1_HELPERS_H

#include <errno.h>

#include "test-common.h"

/* IOMMU a; d0 and d1 share its group 5, solo has a group of its own; m is
 * an mdev (no IOMMU, no group). */
#define TYPE1_TOPO_GROUP5                                                      \
    "[iommu a]\n"                                                              \
    "[device d0]\niommu=a\niommu-group=5\n"                                    \
    "[device d1]\niommu=a\niommu-group=5\n"
#define TYPE1_TOPO_SOLO "[device solo]\niommu=a\n"
#define TYPE1_TOPO_MDEV "[device m]\nmdev=true\n"

#define PG 4096ull

/*
 * One pass of a fault test on @sim: the scene made, a failure injected at
 * the @nth ioctl from where the faults begin (vfi_sim_fail_nth(sim, nth,
 * EIO)), the scene run and freed. Returns whether it ran through.
 */
typedef bool (*Type1FaultPass)(VfiSim *sim, unsigned nth);

/*
 * @pass for nth = 1, 2, ... below @max, each on a fresh model of @topology
 * checked by test_sim_fault_pass_end() (nothing left; more than @min_nth
 * ioctls once it runs through), until a pass runs through.
 */
static inline void type1_fault_passes(const char *topology, unsigned max, unsigned min_nth,
                                      Type1FaultPass pass)
{
    for (unsigned nth = 1; nth < max; nth++) {
        VfiSim *sim = test_sim_new(topology);

        if (test_sim_fault_pass_end(sim, pass(sim, nth), nth, min_nth)) {
            return;
        }
    }
    fail_msg("the scenario never ran through");
}

#endif
