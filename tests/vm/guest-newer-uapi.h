/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The guest program's scenarios of one area: the IOMMUFD requests of newer
 * UAPI headers. Part of tests/vm/guest-tests.c, included by it at this place
 * (not a header of its own): it uses the TAP runner, Ctx and the helpers
 * defined there before it, and the boot tables there list its scenarios in
 * their order.
 */
#ifndef VFI_GUEST_NEWER_UAPI_H
#define VFI_GUEST_NEWER_UAPI_H

/* ---- newer UAPI ------------------------------------------------------------ */

/* The IOMMUFD requests after Linux 6.12 that the UAPI headers of this build
 * have (the same -isystem as the library's), with the release that added
 * each. The library makes none of them yet; the kernel must know them. */
typedef struct NewerRequest {
    unsigned long request;
    const char *name;
    unsigned major, minor;
    bool modelled;              /* the kernel model implements it */
} NewerRequest;

static const NewerRequest newer_requests[] = {
#ifdef IOMMU_IOAS_MAP_FILE
    { IOMMU_IOAS_MAP_FILE, "IOMMU_IOAS_MAP_FILE", 6, 13, true },
#endif
#ifdef IOMMU_VIOMMU_ALLOC
    { IOMMU_VIOMMU_ALLOC, "IOMMU_VIOMMU_ALLOC", 6, 13, true },
#endif
#ifdef IOMMU_VDEVICE_ALLOC
    { IOMMU_VDEVICE_ALLOC, "IOMMU_VDEVICE_ALLOC", 6, 13, true },
#endif
#ifdef IOMMU_IOAS_CHANGE_PROCESS
    { IOMMU_IOAS_CHANGE_PROCESS, "IOMMU_IOAS_CHANGE_PROCESS", 6, 13, true },
#endif
#ifdef IOMMU_VEVENTQ_ALLOC
    { IOMMU_VEVENTQ_ALLOC, "IOMMU_VEVENTQ_ALLOC", 6, 15, true },
#endif
#ifdef IOMMU_HW_QUEUE_ALLOC
    { IOMMU_HW_QUEUE_ALLOC, "IOMMU_HW_QUEUE_ALLOC", 6, 17, true },
#endif
    { 0, NULL, 0, 0, false },
};

/*
 * Each request of newer_requests with a size field of 0 (below every
 * struct's minimum): a kernel that has the request answers EINVAL, one
 * without it ENOTTY. A kernel of the release that added a request must have
 * it; an older one may not (a note if it does, a backport). Skipped, with
 * "needs Linux 6.13", when the headers have none of them or the kernel
 * knows none and is older than 6.13 (the harness allows such a skip on an
 * older kernel only). The kernel model answers ENOTTY for each but those
 * it implements (IOMMU_IOAS_MAP_FILE, IOMMU_IOAS_CHANGE_PROCESS, IOMMU_VIOMMU_ALLOC,
 * IOMMU_VDEVICE_ALLOC, IOMMU_VEVENTQ_ALLOC): EINVAL, as a kernel that has them.
 */
static TResult t_newer_uapi(Ctx *c)
{
    const VfiKernelOps *ops = NULL;
    void *opaque = NULL;
    unsigned i, known = 0;
    int fd;

    CHECK(c->be && (fd = vfi_iommufd_get_fd(c->be)) >= 0, "no backend");
    if (!newer_requests[0].name) {
        SKIP("needs Linux 6.13: built against UAPI headers without IOMMU_IOAS_MAP_FILE, "
             "IOMMU_VIOMMU_ALLOC, ... (build with -Duapi_include= newer headers)");
    }
    vfi_kernel_get(&ops, &opaque);
    for (i = 0; newer_requests[i].name; i++) {
        const NewerRequest *r = &newer_requests[i];
        uint32_t arg[16] = { 0 };   /* size 0, the rest zeroed */
        int ret = ops->ioctl(opaque, fd, r->request, arg);
        bool due = kernel_at_least(r->major, r->minor);

        note(c, "%s (Linux %u.%u): %s", r->name, r->major, r->minor,
             ret == 0 ? "success" : g_strerror(-ret));
        if (c->sim) {
            CHECK(ret == (r->modelled ? -EINVAL : -ENOTTY), "%s: the model (%s) answered %d",
                  r->name, r->modelled ? "implements it" : "6.12", ret);
            continue;
        }
        CHECK(ret == -EINVAL || ret == -ENOTTY, "%s with size 0: %d", r->name, ret);
        CHECK(ret == -EINVAL || !due, "%s: ENOTTY from a kernel since %u.%u", r->name,
              r->major, r->minor);
        known += ret == -EINVAL;
    }
    if (!c->sim && known == 0 && !kernel_at_least(6, 13)) {
        SKIP("needs Linux 6.13: this kernel knows none of the newer IOMMUFD requests");
    }
    return T_PASS;
}

#endif /* VFI_GUEST_NEWER_UAPI_H */
