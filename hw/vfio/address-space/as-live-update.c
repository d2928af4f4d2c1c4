/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: live update of an address space (include/vfio-iommufd/
 * live-update.h): the blob, the order of the handed-over fds, the policy
 * of save, restore and let-go. Each layer saves and restores its own
 * state (container-restore.c, device-restore.c); this file adds the
 * address space's mappings and the envelope.
 *
 * The blob: a fixed header (magic, version, header size, payload length,
 * SHA-256 of the payload) and the payload, a GVariant in its serialised
 * form (type VFI_AS_STATE). Restore checks the header and the checksum,
 * then the GVariant's type and normal form, then every index and reference
 * in it, all before building anything; the checks against the kernel come
 * with the building (container-restore.c), whose failure lets everything
 * built go again without an ioctl.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>

#include "vfio-iommufd/error.h"
#include "vfio-iommufd/iommufd.h"
#include "vfio-iommufd/live-update.h"
#include "address-space-internal.h"
#include "trace.h"

#define BLOB_MAGIC "VFILUPD"   /* 8 bytes with its NUL */

typedef struct BlobHeader {
    char magic[8];
    uint32_t version;
    uint32_t header_size;     /* sizeof(BlobHeader) */
    uint64_t payload_len;
    uint8_t sha256[32];       /* of the payload */
} BlobHeader;

/* The payload: the number of fds, the iommufd's index, the VMM's nesting
 * wishes (nest parents, read-only mapped writeable), the address space's
 * mappings (iova, last, fd index, offset, read-only), the containers. */
#define VFI_AS_STATE "(uubba(ttutb)a" VFI_CONTAINER_STATE ")"

static void blob_sha256(const void *data, gsize len, uint8_t out[32])
{
    g_autoptr(GChecksum) ck = g_checksum_new(G_CHECKSUM_SHA256);
    gsize n = 32;

    g_checksum_update(ck, data, len);
    g_checksum_get_digest(ck, out, &n);
}

static GBytes *blob_wrap(GVariant *state)
{
    gsize len = g_variant_get_size(state);
    BlobHeader h = { .magic = BLOB_MAGIC, .version = VFI_LIVE_UPDATE_VERSION,
                     .header_size = sizeof(BlobHeader), .payload_len = len };
    guint8 *buf = g_malloc(sizeof(h) + len);

    g_variant_store(state, buf + sizeof(h));
    blob_sha256(buf + sizeof(h), len, h.sha256);
    memcpy(buf, &h, sizeof(h));
    return g_bytes_new_take(buf, sizeof(h) + len);
}

static bool blob_refuse(GError **errp, const char *fmt, const char *detail)
{
    trace_vfi_as_live_update_refused(fmt, detail ? detail : "");
    g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT, fmt, detail ? detail : "");
    return false;
}

/* The state in @blob, its envelope checked. */
static GVariant *blob_open(GBytes *blob, GError **errp)
{
    gsize len = 0;
    const guint8 *data = blob ? g_bytes_get_data(blob, &len) : NULL;
    g_autofree char *ver = NULL;
    g_autoptr(GVariant) v = NULL;
    gpointer copy;
    uint8_t sum[32];
    BlobHeader h;

    if (!blob || len < sizeof(h)) {
        blob_refuse(errp, "live update: no blob, or shorter than its header%s", NULL);
        return NULL;
    }
    memcpy(&h, data, sizeof(h));
    if (memcmp(h.magic, BLOB_MAGIC, sizeof(h.magic))) {
        blob_refuse(errp, "live update: not a vfio-iommufd live-update blob (foreign magic)%s",
                    NULL);
        return NULL;
    }
    if (h.version != VFI_LIVE_UPDATE_VERSION || h.header_size != sizeof(h)) {
        ver = g_strdup_printf("%u (header of %u bytes)", h.version, h.header_size);
        blob_refuse(errp, "live update: blob version %s: this library reads version "
                    G_STRINGIFY(VFI_LIVE_UPDATE_VERSION) " only", ver);
        return NULL;
    }
    if (h.payload_len != len - sizeof(h)) {
        ver = g_strdup_printf("%" PRIu64 " bytes of payload said, %" G_GSIZE_FORMAT " there",
                              h.payload_len, len - sizeof(h));
        blob_refuse(errp, "live update: blob truncated or padded: %s", ver);
        return NULL;
    }
    blob_sha256(data + sizeof(h), len - sizeof(h), sum);
    if (memcmp(sum, h.sha256, sizeof(sum))) {
        blob_refuse(errp, "live update: blob corrupt (its SHA-256 does not match)%s", NULL);
        return NULL;
    }
    copy = g_memdup2(data + sizeof(h), len - sizeof(h));   /* aligned for GVariant */
    v = g_variant_ref_sink(g_variant_new_from_data(G_VARIANT_TYPE(VFI_AS_STATE), copy,
                                                   len - sizeof(h), false, g_free, copy));
    if (!g_variant_is_normal_form(v)) {
        blob_refuse(errp, "live update: blob payload is not well formed%s", NULL);
        return NULL;
    }
    return g_steal_pointer(&v);
}

/* ---- save -------------------------------------------------------------- */

/* What keeps @as from being handed over (INVALID_ARGUMENT), no ioctl. */
static bool save_check(const VfiAddressSpace *as, GError **errp)
{
    VfiRangeIter it;
    VfiIommufd *be;

    if (!as->containers->len) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "live-update save: address space %u has no container (no device "
                    "attached): nothing to hand over", as->id);
        return false;
    }
    if (vfi_as_viommu_object_count(as)) {
        g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                    "live-update save: address space %u has %u vIOMMU object(s) (vIOMMUs, "
                    "vDEVICEs, nested HWPTs, vEVENTQs, fault queues): the blob does not "
                    "carry them (detach the devices from their nested HWPTs' vIOMMU "
                    "first)", as->id,
                    vfi_as_viommu_object_count(as));
        return false;
    }
    be = vfi_as_containers(as)[0]->be;
    for (guint i = 0; i < as->containers->len; i++) {
        if (vfi_as_containers(as)[i]->be != be) {
            g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                        "live-update save: address space %u has containers on more than "
                        "one iommufd backend (fds %d and %d): one per handover", as->id,
                        vfi_iommufd_get_fd(be),
                        vfi_iommufd_get_fd(vfi_as_containers(as)[i]->be));
            return false;
        }
        if (!vfi_container_check_savable(vfi_as_containers(as)[i], errp)) {
            return false;
        }
    }
    for (const VfiAsMapping *m = vfi_range_tree_nth(as->mappings, 0, &it); m;
         m = vfi_range_iter_next(&it)) {
        if (m->src.fd < 0) {
            g_set_error(errp, VFI_ERROR, VFI_ERROR_INVALID_ARGUMENT,
                        "live-update save: address space %u maps [0x%" PRIx64 ", 0x%" PRIx64
                        "] from process memory (not a file): IOMMU_IOAS_CHANGE_PROCESS "
                        "moves only mappings made from a file (map guest RAM with "
                        "vfi_address_space_dma_map_file())", as->id, m->r.iova, m->r.last);
            return false;
        }
    }
    return true;
}

static GVariant *as_mappings_save(const VfiAddressSpace *as, GArray *fds)
{
    GVariantBuilder b;
    VfiRangeIter it;

    g_variant_builder_init(&b, G_VARIANT_TYPE("a(ttutb)"));
    for (const VfiAsMapping *m = vfi_range_tree_nth(as->mappings, 0, &it); m;
         m = vfi_range_iter_next(&it)) {
        g_array_append_val(fds, m->src.fd);
        g_variant_builder_add(&b, "(ttutb)", (guint64)m->r.iova, (guint64)m->r.last,
                              fds->len - 1, (guint64)m->src.offset, m->readonly);
    }
    return g_variant_builder_end(&b);
}

GBytes *vfi_live_update_save(VfiAddressSpace *as, GArray **fds_out, GError **errp)
{
    VFI_LOCK_GUARD(vfi_as_lock(as));
    g_autoptr(GArray) fds = NULL;
    g_autoptr(GVariant) state = NULL;
    GVariantBuilder cs;
    GVariant *maps;
    int fd;

    if (!vfi_as_check_given(as, "live-update save", errp) ||
        (!fds_out && !blob_refuse(errp, "live-update save: no fd list given%s", NULL)) ||
        !save_check(as, errp)) {
        return NULL;
    }
    fds = g_array_new(false, false, sizeof(int));
    fd = vfi_iommufd_get_fd(vfi_as_containers(as)[0]->be);
    g_array_append_val(fds, fd);
    maps = as_mappings_save(as, fds);
    g_variant_builder_init(&cs, G_VARIANT_TYPE("a" VFI_CONTAINER_STATE));
    for (guint i = 0; i < as->containers->len; i++) {
        g_variant_builder_add_value(&cs, vfi_container_state_save(vfi_as_containers(as)[i], fds));
    }
    state = g_variant_ref_sink(g_variant_new("(uubb@a(ttutb)@a" VFI_CONTAINER_STATE ")",
                                             fds->len, 0, as->nesting.nest_parent,
                                             as->nesting.readonly_as_writeable, maps, g_variant_builder_end(&cs)));
    trace_vfi_as_live_update_saved(as->id, as->containers->len,
                                   vfi_range_tree_len(as->mappings), fds->len,
                                   g_variant_get_size(state));
    *fds_out = g_steal_pointer(&fds);
    return blob_wrap(state);
}

bool vfi_live_update_keep_on_exec(const int *fds, unsigned n, GError **errp)
{
    for (unsigned i = 0; i < n; i++) {
        int flags = fds ? fcntl(fds[i], F_GETFD) : -1;

        if (flags < 0 || fcntl(fds[i], F_SETFD, flags & ~FD_CLOEXEC) < 0) {
            int err = fds ? errno : EINVAL;

            g_set_error(errp, VFI_ERROR, fds ? VFI_ERROR_HOST : VFI_ERROR_INVALID_ARGUMENT,
                        "live update: cannot clear FD_CLOEXEC of fd %d (index %u): %s "
                        "(errno %d)", fds ? fds[i] : -1, i, g_strerror(err), err);
            return false;
        }
    }
    return true;
}

/* ---- let go ------------------------------------------------------------ */

void vfi_live_update_let_go(VfiAddressSpace *as)
{
    if (!as) {
        return;
    }
    trace_vfi_as_live_update_let_go(as->id, as->containers->len,
                                    vfi_range_tree_len(as->mappings));
    for (guint i = as->containers->len; i-- > 0;) {
        vfi_container_let_go(vfi_as_containers(as)[i]);
    }
    g_ptr_array_set_size(as->containers, 0);
    /* no other thread may use it now: the handover is done */
    vfi_as_free_record(as);
}

/* ---- restore: the blob checked whole ---------------------------------- */

typedef struct SavedAs {
    guint32 n_fds, iommufd;
    gboolean nest_parent, ro_as_writeable;
    GVariant *maps, *containers;   /* references */
} SavedAs;

static void saved_as_clear(SavedAs *s)
{
    g_clear_pointer(&s->maps, g_variant_unref);
    g_clear_pointer(&s->containers, g_variant_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(SavedAs, saved_as_clear)

/* Whether the saved address space maps exactly [iova, last] (@opaque: its
 * "a(ttutb)"). */
static bool saved_as_has(void *opaque, uint64_t iova, uint64_t last)
{
    GVariant *maps = opaque;

    for (gsize i = 0; i < g_variant_n_children(maps); i++) {
        guint64 a, b, off;
        guint32 idx;
        gboolean ro;

        g_variant_get_child(maps, i, "(ttutb)", &a, &b, &idx, &off, &ro);
        if (a == iova && b == last) {
            return true;
        }
    }
    return false;
}

static bool check_as_maps(GVariant *maps, guint n_fds, GError **errp)
{
    guint64 prev = 0;

    for (gsize i = 0; i < g_variant_n_children(maps); i++) {
        guint64 iova, last, off;
        guint32 idx;
        gboolean ro;

        g_variant_get_child(maps, i, "(ttutb)", &iova, &last, &idx, &off, &ro);
        if (iova > last || (i && iova <= prev) || idx == 0 || idx >= n_fds) {
            return blob_refuse(errp, "live-update blob: the address space's mappings are "
                               "not sorted and disjoint, or name no fd of the list%s", NULL);
        }
        prev = last;
    }
    return true;
}

/* Every index and reference of @s, and @fds open. No ioctl. */
static bool restore_check(const SavedAs *s, const int *fds, unsigned n_fds, GError **errp)
{
    g_autofree char *why = NULL;

    if (s->n_fds != n_fds || s->iommufd != 0 || !n_fds || !fds) {
        why = g_strdup_printf("%u fds given, the blob lists %u", n_fds, s->n_fds);
        return blob_refuse(errp, "live update: %s (in the saved order)", why);
    }
    if (!check_as_maps(s->maps, n_fds, errp)) {
        return false;
    }
    for (gsize i = 0; i < g_variant_n_children(s->containers); i++) {
        g_autoptr(GVariant) c = g_variant_get_child_value(s->containers, i);

        if (!vfi_container_state_check(c, n_fds, saved_as_has, s->maps, errp)) {
            return false;
        }
    }
    for (unsigned i = 0; i < n_fds; i++) {
        if (fds[i] < 0 || fcntl(fds[i], F_GETFD) < 0) {
            why = g_strdup_printf("fd %d (index %u of the list) is not open", fds[i], i);
            return blob_refuse(errp, "live update: %s", why);
        }
    }
    return true;
}

/* ---- restore: building ------------------------------------------------- */

/* The fd of @as's mapping at @iova (its own duplicate), -1 without one. */
static int as_fd_at(void *opaque, uint64_t iova)
{
    VfiAddressSpace *as = opaque;
    const VfiAsMapping *m = vfi_range_tree_overlap(as->mappings, iova, iova, NULL);

    return m ? m->src.fd : -1;
}

/* @as's own mappings from @maps, each on a duplicate of its file. */
static bool restore_as_maps(VfiAddressSpace *as, GVariant *maps, const int *fds,
                            GError **errp)
{
    for (gsize i = 0; i < g_variant_n_children(maps); i++) {
        VfiAsMapping m = { 0 };
        guint64 iova, last, off;
        guint32 idx;
        gboolean ro;

        g_variant_get_child(maps, i, "(ttutb)", &iova, &last, &idx, &off, &ro);
        if (!vfi_container_file_dup("live-update restore", fds[idx], off, last - iova + 1,
                                    &m.src.fd, errp)) {
            return false;
        }
        m.r.iova = iova;
        m.r.last = last;
        m.src.offset = off;
        m.readonly = ro;
        vfi_range_tree_insert(as->mappings, &m);
    }
    return true;
}

/* The kernel's accounting of the pinned pages moves to this process
 * (skipped when the VMM asks, or when nothing is mapped). */
static bool restore_change_process(VfiAddressSpace *as, VfiIommufd *be,
                                   VfiLiveUpdateFlags flags, GError **errp)
{
    bool mapped = vfi_range_tree_len(as->mappings) > 0;

    for (guint i = 0; !mapped && i < as->containers->len; i++) {
        mapped = vfi_range_tree_len(vfi_as_containers(as)[i]->maps) > 0;
    }
    if ((flags & VFI_LIVE_UPDATE_NO_CHANGE_PROCESS) || !mapped) {
        trace_vfi_as_live_update_change_process(as->id, false, mapped);
        return true;
    }
    trace_vfi_as_live_update_change_process(as->id, true, mapped);
    if (!vfi_iommufd_ioas_change_process(be, errp)) {
        g_prefix_error(errp, "live update of address space %u: the pinned pages cannot be "
                       "charged to this process (nothing restored; a kernel without it: "
                       "restore with VFI_LIVE_UPDATE_NO_CHANGE_PROCESS): ", as->id);
        return false;
    }
    return true;
}

/* Undo a restore that failed: nothing of it in the kernel changed, so
 * every object built is let go, without an ioctl. */
static void restore_undo(VfiAddressSpace *as, GPtrArray *devices, VfiIommufd *be)
{
    vfi_live_update_let_go(as);
    for (guint i = 0; i < devices->len; i++) {
        VfiDevice *dev = g_ptr_array_index(devices, i);

        if (!dev->handed_over) {
            vfi_device_let_go(dev);     /* restored, not yet placed */
        }
        vfi_device_free(dev);
    }
    vfi_iommufd_free(be, NULL);
}

static bool restore_build(const SavedAs *s, VfiAddressSpace *as, VfiIommufd *be,
                          VfiContainerRestore *r, GError **errp)
{
    if (!restore_as_maps(as, s->maps, r->fds, errp)) {
        return false;
    }
    for (gsize i = 0; i < g_variant_n_children(s->containers); i++) {
        g_autoptr(GVariant) v = g_variant_get_child_value(s->containers, i);
        VfiContainer *c = vfi_container_state_restore(v, as, as->lock, be, r, errp);

        if (!c) {
            return false;
        }
        c->ro_as_writeable = as->nesting.readonly_as_writeable;
        g_ptr_array_add(as->containers, c);
    }
    return true;
}

bool vfi_live_update_restore(GBytes *blob, const int *fds, unsigned n_fds, void *handle,
                             const VfiDeviceHooks *hooks, VfiLiveUpdateFlags flags,
                             VfiLiveUpdateRestored **out, GError **errp)
{
    g_autoptr(GVariant) state = blob_open(blob, errp);
    g_auto(SavedAs) s = { 0 };
    g_autoptr(GPtrArray) devices = NULL;
    VfiContainerRestore r = { .fds = fds, .n_fds = n_fds, .as_fd = as_fd_at,
                              .release = vfi_as_device_release };
    VfiLiveUpdateRestored *res;
    VfiAddressSpace *as;
    VfiIommufd *be;

    if (!state) {
        return false;
    }
    g_variant_get(state, "(uubb@a(ttutb)@a" VFI_CONTAINER_STATE ")", &s.n_fds, &s.iommufd,
                  &s.nest_parent, &s.ro_as_writeable, &s.maps, &s.containers);
    if ((!out && !blob_refuse(errp, "live-update restore: no output given%s", NULL)) ||
        !restore_check(&s, fds, n_fds, errp)) {
        return false;
    }
    be = vfi_iommufd_new_from_fd(fds[0], errp);
    if (!be) {
        return false;
    }
    as = vfi_address_space_new(handle);
    as->nesting = (VfiNestingOptions){ .nest_parent = s.nest_parent,
                                       .readonly_as_writeable = s.ro_as_writeable };
    devices = g_ptr_array_new();
    r.opaque = as;
    r.devices = devices;
    if (!restore_build(&s, as, be, &r, errp) || !restore_change_process(as, be, flags, errp)) {
        trace_vfi_as_live_update_restore_failed(as->id, errp && *errp ? (*errp)->message : "");
        restore_undo(as, devices, be);
        return false;
    }
    as->hooks = hooks ? *hooks : (VfiDeviceHooks){ 0 };
    res = g_new0(VfiLiveUpdateRestored, 1);
    res->as = as;
    res->backend = be;
    res->n_devices = devices->len;
    res->devices = (VfiDevice **)g_ptr_array_steal(devices, NULL);
    trace_vfi_as_live_update_restored(as->id, fds[0], as->containers->len, res->n_devices,
                                      vfi_range_tree_len(as->mappings));
    *out = res;
    return true;
}

void vfi_live_update_restored_free(VfiLiveUpdateRestored *r)
{
    if (r) {
        g_free(r->devices);
        g_free(r);
    }
}
