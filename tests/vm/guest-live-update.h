/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The guest program's scenarios of one area: live update (CPR). Part of
 * tests/vm/guest-tests.c, included by it at this place (not a header of its
 * own): it uses the TAP runner, Ctx and the helpers defined there before it,
 * and the boot tables there list its scenarios in their order.
 */
#ifndef VFI_GUEST_LIVE_UPDATE_H
#define VFI_GUEST_LIVE_UPDATE_H

/* ---- live update (CPR) ------------------------------------------------------ */

/* Process A sets up an address space with both edus, guest RAM in a memfd
 * mapped by file (6.13+) and dirty tracking, saves it and hands the blob
 * and its fds to process B (SCM_RIGHTS over a socketpair; the guest's
 * kernel has no AF_UNIX, so there B takes them with pidfd_getfd(): the same
 * files under other numbers either way), then lets go; B restores
 * (IOMMU_IOAS_CHANGE_PROCESS), does
 * edu DMA through the restored mapping, unmaps, detaches and tears down.
 * On the real kernel B is a forked child; on the model it runs in the
 * same process on duplicates of the fds, A's objects let go first, with
 * the same assertions. Without MAP_FILE (6.12) A maps nothing (the save
 * refuses process memory), the kernel's refusal of CHANGE_PROCESS is
 * checked, and B maps memory of its own for the DMA. */
#define CPR_IOVA  0x3000000ull   /* < 256 MiB: edu's 28-bit DMA mask */
#define CPR_PAGES 2
#define CPR_MAX_FDS 8

typedef struct CprHandover {
    GBytes *blob;
    int fds[CPR_MAX_FDS];
    unsigned n;
    bool files;                  /* A's guest RAM is mapped by file (fds[1]) */
} CprHandover;

/* A's memfd of guest RAM, mapped by file at CPR_IOVA; false (with a note)
 * where the build or the kernel has no IOMMU_IOAS_MAP_FILE. */
static TResult cpr_map_file(Ctx *c, VfiAddressSpace *as, int mfd, bool *files)
{
    g_autoptr(GError) err = NULL;

    *files = vfi_address_space_dma_map_file(as, CPR_IOVA, CPR_PAGES * 4096, mfd, 0, false,
                                            NULL, &err);
    if (*files) {
        return T_PASS;
    }
    CHECK(g_error_matches(err, VFI_ERROR, VFI_ERROR_NOT_SUPPORTED) ||
          (g_error_matches(err, VFI_KERNEL_ERROR, ENOTTY) && !kernel_at_least(6, 13)),
          "map by file: %s", err->message);
    note(c, "no mapping by file here (%s): the handover carries no mapping", err->message);
    return T_PASS;
}

/* A's save refuses a mapping of process memory (CHANGE_PROCESS could not
 * move it), before any ioctl; unmapped, the address space is as before. */
static TResult cpr_refuse_va(Ctx *c, VfiAddressSpace *as)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(GArray) fds = NULL;
    uint8_t *page = alloc_pages(4096);
    uint64_t n;

    CHECK(page, "mmap");
    OK(vfi_address_space_dma_map(as, CPR_IOVA + 0x100000, 4096, page, false, errp));
    n = c->sim ? vfi_sim_ioctl_count(c->sim) : 0;
    CHECK(!vfi_live_update_save(as, &fds, &err) &&
          g_error_matches(err, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT) &&
          strstr(err->message, "process memory"), "save with a mapping of process memory: %s",
          err ? err->message : "not refused");
    CHECK(!c->sim || vfi_sim_ioctl_count(c->sim) == n, "the refused save made ioctls");
    OK(vfi_address_space_dma_unmap(as, CPR_IOVA + 0x100000, 4096, 0, errp));
    munmap(page, 4096);
    return T_PASS;
}

/* Process A: set up, save. @devs get the opened edus. */
static TResult cpr_setup_save(Ctx *c, const int *idx, VfiIommufd **be, VfiAddressSpace **as,
                              VfiDevice **devs, CprHandover *h)
{
    g_autoptr(GArray) fds = NULL;
    g_autoptr(GError) err = NULL;
    int mfd = memfd_create("cpr-guest-ram", MFD_CLOEXEC);
    uint8_t *mem;

    CHECK(mfd >= 0 && ftruncate(mfd, CPR_PAGES * 4096) == 0, "memfd: %s", g_strerror(errno));
    mem = mmap(NULL, CPR_PAGES * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
    CHECK(mem != MAP_FAILED, "mmap memfd: %s", g_strerror(errno));
    for (unsigned k = 0; k < 4096; k++) {
        mem[k] = (uint8_t)(k * 11 + 5);
    }
    munmap(mem, CPR_PAGES * 4096);
    *be = vfi_iommufd_new();
    *as = vfi_address_space_new(c);
    for (int k = 0; k < 2; k++) {
        devs[k] = vfi_device_open_pci(c->bdf[idx[k]], &err);
        CHECK(devs[k], "open %s: %s", c->bdf[idx[k]], err->message);
        OK(vfi_address_space_attach_device(*as, *be, devs[k], &(VfiAttachOptions)VFI_ATTACH_OPTIONS_INIT(
               .label = k ? "edu-b" : "edu-a"), errp));
    }
    if (cpr_map_file(c, *as, mfd, &h->files) != T_PASS) {
        close(mfd);
        return T_FAIL;
    }
    close(mfd);                  /* the address space keeps its duplicate */
    if (cpr_refuse_va(c, *as) != T_PASS) {
        return T_FAIL;
    }
    OK(vfi_address_space_dirty_tracking_start(*as, errp));
    h->blob = vfi_live_update_save(*as, &fds, &err);
    CHECK(h->blob, "save: %s", err->message);
    CHECK(fds->len == 3u + h->files && fds->len <= CPR_MAX_FDS, "%u fds listed", fds->len);
    h->n = fds->len;
    memcpy(h->fds, fds->data, fds->len * sizeof(int));
    note(c, "saved: %zu bytes, %u fds (iommufd %d)", g_bytes_get_size(h->blob), h->n, h->fds[0]);
    return T_PASS;
}

/* Process A lets go: no ioctl, every fd of its own closed. */
static TResult cpr_let_go(Ctx *c, VfiIommufd *be, VfiAddressSpace *as, VfiDevice **devs)
{
    uint64_t n = c->sim ? vfi_sim_ioctl_count(c->sim) : 0;
    g_autoptr(GError) err = NULL;

    vfi_live_update_let_go(as);
    CHECK(!vfi_device_detach(devs[0], &err), "a handed-over device still detaches");
    vfi_device_free(devs[0]);
    vfi_device_free(devs[1]);
    OK(vfi_iommufd_free(be, errp));
    CHECK(!c->sim || vfi_sim_ioctl_count(c->sim) == n, "the let-go made %" PRIu64 " ioctls",
          vfi_sim_ioctl_count(c->sim) - n);
    return T_PASS;
}

/* B's CHANGE_PROCESS where A mapped nothing: the kernel's (or the
 * build's) refusal on 6.12, success from 6.13 on. */
static TResult cpr_change_process(Ctx *c, VfiIommufd *be)
{
    g_autoptr(GError) err = NULL;
    bool ok = vfi_iommufd_ioas_change_process(be, &err);

    if (ok) {
        CHECK(vfi_build_features() & VFI_BUILD_IOAS_CHANGE_PROCESS,
              "succeeded without the request in the build");
        return T_PASS;
    }
    CHECK(g_error_matches(err, VFI_ERROR, VFI_ERROR_NOT_SUPPORTED) ||
          (g_error_matches(err, VFI_KERNEL_ERROR, ENOTTY) && !kernel_at_least(6, 13)),
          "CHANGE_PROCESS: %s", err->message);
    note(c, "CHANGE_PROCESS refused as expected: %s", err->message);
    return T_PASS;
}

/* One edu DMA RAM -> edu -> RAM through [iova, iova + 2 pages) of @mem. */
static TResult cpr_dma(Ctx *c, VfiDevice *dev, int i, uint8_t *mem, uint64_t iova)
{
    g_autoptr(GString) why = g_string_new(NULL);
    Edu e = { 0 };
    TResult r = T_PASS;

    if (c->sim) {
        OK(sim_dma(c, i, iova, 2 * 4096, errp));
        return T_PASS;
    }
    if (!edu_open(&e, dev, why)) {
        FAIL("%s", why->str);
    }
    memset(mem + 4096, 0, 4096);
    if (!edu_dma(&e, iova, EDU_BUF, 4096, false) ||
        !edu_dma(&e, EDU_BUF, iova + 4096, 4096, true)) {
        r = set_why(c, T_FAIL, "edu DMA timed out in B");
    } else if (memcmp(mem, mem + 4096, 4096) != 0) {
        r = set_why(c, T_FAIL, "B's DMA copy differs (0x%02x, want 0x%02x)", mem[4096], mem[0]);
    }
    edu_close(&e);
    return r;
}

/* B uses what it restored, then tears it down: CHANGE_PROCESS done by the
 * restore (or refused where A mapped nothing), DMA, unmap, detach, free. */
static TResult cpr_b_use(Ctx *c, VfiLiveUpdateRestored *r, const CprHandover *h,
                         const int *idx)
{
    uint8_t *mem;
    TResult res;

    CHECK(r->n_devices == 2 && !strcmp(vfi_device_get_label(r->devices[0]), "edu-a"),
          "%u devices restored", r->n_devices);
    CHECK(vfi_device_get_attached_pt(r->devices[0]) &&
          vfi_device_get_attached_pt(r->devices[0]) ==
          vfi_device_get_attached_pt(r->devices[1]), "the edus not on one HWPT");
    CHECK(vfi_address_space_dirty_tracking_is_active(r->as), "tracking state lost");
    if (h->files) {
        mem = mmap(NULL, CPR_PAGES * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, h->fds[1], 0);
        CHECK(mem != MAP_FAILED, "mmap the handed-over memfd: %s", g_strerror(errno));
        CHECK(mem[1] == 16, "guest RAM content 0x%02x", mem[1]);
    } else {
        if (cpr_change_process(c, r->backend) != T_PASS) {
            return T_FAIL;
        }
        mem = alloc_pages(CPR_PAGES * 4096);
        CHECK(mem, "mmap");
        for (unsigned k = 0; k < 4096; k++) {
            mem[k] = (uint8_t)(k * 11 + 5);
        }
        OK(vfi_address_space_dma_map(r->as, CPR_IOVA, CPR_PAGES * 4096, mem, false, errp));
    }
    res = cpr_dma(c, r->devices[0], idx[0], mem, CPR_IOVA);
    OK(vfi_address_space_dirty_tracking_stop(r->as, errp));
    OK(vfi_address_space_dma_unmap(r->as, CPR_IOVA, CPR_PAGES * 4096, 0, errp));
    munmap(mem, CPR_PAGES * 4096);
    for (unsigned k = 0; k < 2; k++) {
        OK(vfi_address_space_detach_device(r->as, r->devices[k], errp));
    }
    OK(vfi_address_space_free(r->as, errp));
    for (unsigned k = 0; k < 2; k++) {
        vfi_device_free(r->devices[k]);
    }
    OK(vfi_iommufd_free(r->backend, errp));
    return res;
}

/* A restore of @blob (changed) that must be refused with @code, naming
 * @what, nothing made (on the model: no ioctl for a bad blob). */
static TResult cpr_refused(Ctx *c, GBytes *blob, const int *fds, unsigned n, GQuark domain,
                           int code, const char *what)
{
    g_autoptr(GError) err = NULL;
    VfiLiveUpdateRestored *r = NULL;
    uint64_t ioctls = c->sim ? vfi_sim_ioctl_count(c->sim) : 0;
    unsigned before = open_fds();

    CHECK(!vfi_live_update_restore(blob, fds, n, c, NULL, 0, &r, &err) && !r,
          "a restore that must fail (%s) succeeded", what);
    CHECK(g_error_matches(err, domain, code) && strstr(err->message, what),
          "refusal (%s): %s", what, err->message);
    CHECK(!c->sim || domain != VFI_ERROR || vfi_sim_ioctl_count(c->sim) == ioctls,
          "a refused blob made ioctls");
    CHECK(open_fds() == before, "the refused restore left an fd");
    return T_PASS;
}

/* B first tries what must be refused: a byte changed, a truncated blob, a
 * foreign magic, another iommufd than the saved one (the kernel check). */
static TResult cpr_b_refusals(Ctx *c, const CprHandover *h)
{
    gsize len;
    const guint8 *d = g_bytes_get_data(h->blob, &len);
    g_autofree guint8 *copy = g_memdup2(d, len);
    g_autoptr(GBytes) flipped = NULL, cut = NULL, foreign = NULL;
    int fds[CPR_MAX_FDS];
    VfiIommufd *other = vfi_iommufd_new();
    TResult r;

    copy[len / 2] ^= 0x10;
    flipped = g_bytes_new(copy, len);
    copy[len / 2] ^= 0x10;
    cut = g_bytes_new(copy, len - 1);
    copy[0] ^= 0x20;
    foreign = g_bytes_new(copy, len);
    if (cpr_refused(c, flipped, h->fds, h->n, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "corrupt") != T_PASS ||
        cpr_refused(c, cut, h->fds, h->n, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "truncated") != T_PASS ||
        cpr_refused(c, foreign, h->fds, h->n, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "foreign magic") != T_PASS) {
        vfi_iommufd_free(other, NULL);
        return T_FAIL;
    }
    OK(vfi_iommufd_connect(other, errp));
    memcpy(fds, h->fds, sizeof(int) * h->n);
    fds[0] = vfi_iommufd_get_fd(other);
    r = cpr_refused(c, h->blob, fds, h->n, VFI_KERNEL_ERROR, ENOENT, "ioas");
    vfi_iommufd_disconnect(other);
    OK(vfi_iommufd_free(other, errp));
    return r;
}

/* B: restore from the handover (its fds this process's), use, tear down,
 * close the fds (@close_fd: how this process closes them). */
static TResult cpr_b(Ctx *c, const CprHandover *h, const int *idx, void (*close_fd)(int, bool))
{
    g_autoptr(GError) err = NULL;
    VfiLiveUpdateRestored *r = NULL;
    TResult res;

    if (cpr_b_refusals(c, h) != T_PASS) {
        return T_FAIL;
    }
    if (!vfi_live_update_restore(h->blob, h->fds, h->n, c, NULL, 0, &r, &err)) {
        FAIL("B's restore: %s", err->message);
    }
    res = cpr_b_use(c, r, h, idx);
    vfi_live_update_restored_free(r);
    for (unsigned k = 0; k < h->n; k++) {
        close_fd(h->fds[k], k == 0 || k >= h->n - 2);
    }
    return res;
}

static void cpr_close_model(int fd, bool model)
{
    const VfiKernelOps *ops;
    void *opaque;

    vfi_kernel_get(&ops, &opaque);
    if (model) {
        ops->close(opaque, fd);     /* the iommufd and the devices: model files */
    } else {
        close(fd);
    }
}

static void cpr_close_host(int fd, bool model)
{
    (void)model;
    close(fd);
}

/* The model: B in this process, on duplicates of A's fds (A lets go
 * first), the same assertions; then nothing of either is left. */
static TResult cpr_on_model(Ctx *c, const int *idx)
{
    unsigned objects = vfi_sim_live_objects(c->sim), files = vfi_sim_open_fds(c->sim);
    CprHandover h = { 0 };
    VfiDevice *devs[2] = { 0 };
    VfiAddressSpace *as;
    VfiIommufd *be;
    TResult r;

    if (cpr_setup_save(c, idx, &be, &as, devs, &h) != T_PASS) {
        return T_FAIL;
    }
    for (unsigned k = 0; k < h.n; k++) {
        h.fds[k] = fcntl(h.fds[k], F_DUPFD_CLOEXEC, 100);
        CHECK(h.fds[k] >= 100, "dup: %s", g_strerror(errno));
    }
    r = cpr_let_go(c, be, as, devs);
    if (r == T_PASS) {
        r = cpr_b(c, &h, idx, cpr_close_model);
    }
    g_bytes_unref(h.blob);
    CHECK(r != T_PASS || (vfi_sim_live_objects(c->sim) == objects &&
                          vfi_sim_open_fds(c->sim) == files),
          "left behind: %u objects (want %u), %u files (want %u)",
          vfi_sim_live_objects(c->sim), objects, vfi_sim_open_fds(c->sim), files);
    return r;
}

/* What A tells B over a pipe: whether A mapped by file, A's fd numbers (for
 * pidfd_getfd()), then the blob. */
typedef struct CprWire {
    uint32_t files, n, len;
    int fds[CPR_MAX_FDS];
} CprWire;

static bool cpr_write_all(int fd, const void *p, size_t len)
{
    for (size_t done = 0; done < len;) {
        ssize_t n = write(fd, (const char *)p + done, len - done);

        if (n <= 0) {
            return false;
        }
        done += n;
    }
    return true;
}

static bool cpr_read_all(int fd, void *p, size_t len)
{
    for (size_t done = 0; done < len;) {
        ssize_t n = read(fd, (char *)p + done, len - done);

        if (n <= 0) {
            return false;
        }
        done += n;
    }
    return true;
}

/* A -> B: the description and the blob over @wfd; the fds themselves as
 * SCM_RIGHTS over @sock in the saved order (-1: no AF_UNIX in this kernel,
 * B takes them with pidfd_getfd()). */
static bool cpr_send(int wfd, int sock, const CprHandover *h)
{
    gsize len;
    const void *blob = g_bytes_get_data(h->blob, &len);
    CprWire w = { .files = h->files, .n = h->n, .len = len };
    union {
        struct cmsghdr align;
        char b[CMSG_SPACE(sizeof(int) * CPR_MAX_FDS)];
    } u;
    char one = 'F';
    struct iovec iov = { .iov_base = &one, .iov_len = 1 };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
                        .msg_controllen = CMSG_SPACE(sizeof(int) * h->n) };
    struct cmsghdr *cm;

    memcpy(w.fds, h->fds, sizeof(int) * h->n);
    if (!cpr_write_all(wfd, &w, sizeof(w)) || !cpr_write_all(wfd, blob, len)) {
        return false;
    }
    if (sock < 0) {
        return true;
    }
    memset(&u, 0, sizeof(u));
    cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * h->n);
    memcpy(CMSG_DATA(cm), h->fds, sizeof(int) * h->n);
    return sendmsg(sock, &m, MSG_NOSIGNAL) == 1;
}

/* B's fds: the SCM_RIGHTS message, or each of A's taken with pidfd_getfd(). */
static bool cpr_take_fds(int sock, CprHandover *h, const CprWire *w)
{
    union {
        struct cmsghdr align;
        char b[CMSG_SPACE(sizeof(int) * CPR_MAX_FDS)];
    } u;
    char one;
    struct iovec iov = { .iov_base = &one, .iov_len = 1 };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
                        .msg_controllen = sizeof(u.b) };
    struct cmsghdr *cm;
    int pidfd;

    if (sock >= 0) {
        cm = recvmsg(sock, &m, MSG_CMSG_CLOEXEC) == 1 ? CMSG_FIRSTHDR(&m) : NULL;
        if (!cm || cm->cmsg_type != SCM_RIGHTS ||
            cm->cmsg_len != CMSG_LEN(sizeof(int) * w->n)) {
            return false;
        }
        memcpy(h->fds, CMSG_DATA(cm), sizeof(int) * w->n);
        return true;
    }
    pidfd = syscall(SYS_pidfd_open, getppid(), 0);
    if (pidfd < 0) {
        return false;
    }
    for (unsigned k = 0; k < w->n; k++) {
        h->fds[k] = syscall(SYS_pidfd_getfd, pidfd, w->fds[k], 0);
        if (h->fds[k] < 0) {
            close(pidfd);
            return false;
        }
    }
    close(pidfd);
    return true;
}

static bool cpr_recv(int rfd, int sock, CprHandover *h)
{
    g_autofree void *blob = NULL;
    CprWire w;

    if (!cpr_read_all(rfd, &w, sizeof(w)) || w.n < 3 || w.n > CPR_MAX_FDS ||
        w.len > (1u << 20)) {
        return false;
    }
    blob = g_malloc(w.len);
    if (!cpr_read_all(rfd, blob, w.len) || !cpr_take_fds(sock, h, &w)) {
        return false;
    }
    h->n = w.n;
    h->files = w.files;
    h->blob = g_bytes_new(blob, w.len);
    return true;
}

/* Process B (a forked child): receive, tell A it has the fds ('A' over
 * @wfd), restore, use, tear down; its result goes back over @wfd ("P", "S"
 * or "F", then why). */
static void G_GNUC_NORETURN cpr_child(Ctx *c, int rfd, int wfd, int sock, const int *idx)
{
    CprHandover h = { 0 };
    TResult r;

    g_string_truncate(c->why, 0);
    if (cpr_recv(rfd, sock, &h)) {
        (void)!write(wfd, "A", 1);
        r = cpr_b(c, &h, idx, cpr_close_host);
    } else {
        r = set_why(c, T_FAIL, "B: receiving the handover: %s", g_strerror(errno));
    }
    g_string_prepend_c(c->why, r == T_PASS ? 'P' : r == T_SKIP ? 'S' : 'F');
    (void)!write(wfd, c->why->str, c->why->len);
    fflush(stdout);
    _exit(0);
}

/* A's end of the handover once B runs: send, wait until B has the fds, let
 * go, read B's result into @msg. */
static TResult cpr_a(Ctx *c, const int *idx, int wfd, int rfd, int sock, char *msg,
                     size_t size)
{
    CprHandover h = { 0 };
    VfiDevice *devs[2] = { 0 };
    VfiAddressSpace *as = NULL;
    VfiIommufd *be = NULL;
    ssize_t n;
    char ack = 0;
    TResult r = cpr_setup_save(c, idx, &be, &as, devs, &h);

    if (r == T_PASS && !cpr_send(wfd, sock, &h)) {
        r = set_why(c, T_FAIL, "sending the handover: %s", g_strerror(errno));
    }
    g_bytes_unref(h.blob);
    close(wfd);
    if (r == T_PASS && (read(rfd, &ack, 1) != 1 || ack != 'A')) {
        r = set_why(c, T_FAIL, "B did not get the fds");
    }
    if (r == T_PASS) {
        r = cpr_let_go(c, be, as, devs);
    }
    n = r == T_PASS ? read(rfd, msg, size - 1) : -1;
    msg[n > 0 ? n : 0] = 0;
    return r;
}

/* The real kernel: A is this process, B a child forked before A opens
 * anything, so that B holds nothing of A's but what it is handed. */
static TResult cpr_forked(Ctx *c, const int *idx)
{
    unsigned base = open_fds();
    char msg[2048];
    int to_b[2], to_a[2], sv[2] = { -1, -1 }, st = 0;
    TResult r;
    pid_t pid;

    CHECK(pipe2(to_b, O_CLOEXEC) == 0 && pipe2(to_a, O_CLOEXEC) == 0, "pipe: %s",
          g_strerror(errno));
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        note(c, "no AF_UNIX here (%s): B takes the fds with pidfd_getfd()", g_strerror(errno));
    }
    fflush(stdout);
    pid = fork();
    CHECK(pid >= 0, "fork: %s", g_strerror(errno));
    if (pid == 0) {
        close(to_b[1]);
        close(to_a[0]);
        cpr_child(c, to_b[0], to_a[1], sv[1], idx);
    }
    close(to_b[0]);
    close(to_a[1]);
    r = cpr_a(c, idx, to_b[1], to_a[0], sv[0], msg, sizeof(msg));
    close(to_a[0]);
    waitpid(pid, &st, 0);
    if (sv[0] >= 0) {
        close(sv[0]);
        close(sv[1]);
    }
    if (r != T_PASS) {
        return r;
    }
    CHECK(msg[0] && WIFEXITED(st) && WEXITSTATUS(st) == 0, "no word from B (status 0x%x)", st);
    if (msg[0] != 'P') {
        return set_why(c, msg[0] == 'S' ? T_SKIP : T_FAIL, "B: %s", msg + 1);
    }
    CHECK(open_fds() == base, "%u fds more in A than before", open_fds() - base);
    return T_PASS;
}

static TResult t_live_update(Ctx *c)
{
    int idx[2], n = 0;

    for (unsigned i = 0; i < c->nr_pci && n < 2; i++) {
        if (c->is_edu[i] && c->pci[i]) {
            idx[n++] = (int)i;
        }
    }
    if (n < 2) {
        return c->strict ? set_why(c, T_FAIL, "needs two edu devices")
                         : set_why(c, T_SKIP, "needs two edu devices");
    }
    /* A binds them anew: a cdev is bound once, so the test's own go */
    for (int k = 0; k < 2; k++) {
        CHECK(!vfi_device_get_container(c->pci[idx[k]]), "%s still attached", c->bdf[idx[k]]);
        vfi_device_free(c->pci[idx[k]]);
        c->pci[idx[k]] = NULL;
    }
    return c->sim ? cpr_on_model(c, idx) : cpr_forked(c, idx);
}

#endif /* VFI_GUEST_LIVE_UPDATE_H */
