/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd kernel model: the table of fds open on the model, with the
 * kernel's meaning of a file: every fd the model hands out is a real fd on
 * a memfd of its own (a unique inode, so its number never collides with an
 * fd the process opened otherwise), and an fd that refers to the same open
 * file (dup(), SCM_RIGHTS, inherited over fork or exec) reaches the same
 * iommufd context or device file, as in Linux. The file is released (an
 * iommufd closed, a device unbound) only when no fd of the process refers
 * to it any more: the close of the last fd through the model, or, for fds
 * closed behind its back, found when their number is met again.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim-internal.h"
#include "trace.h"

int sim_file_fd(const SimFile *f)
{
    switch (f->kind) {
    case SIM_FILE_DEVICE:
        return f->df->fd;
    case SIM_FILE_QUEUE:
        return f->queue->qfd;
    case SIM_FILE_CONTAINER:
    case SIM_FILE_GROUP:
        return sim_type1_file_fd(f);
    default:
        return f->ctx->fd;
    }
}

static int file_open_fd(SimFile *f)
{
    static unsigned next;
    char name[32];
    struct stat st;
    int fd;

    static const char *const kinds[] = {
        [SIM_FILE_IOMMUFD] = "iommufd", [SIM_FILE_DEVICE] = "vfio",
        [SIM_FILE_QUEUE] = "queue", [SIM_FILE_CONTAINER] = "container",
        [SIM_FILE_GROUP] = "group",
    };

    g_snprintf(name, sizeof(name), "vfi-sim-%s-%u", kinds[f->kind],
               g_atomic_int_add(&next, 1));
    g_snprintf(f->link, sizeof(f->link), "/memfd:%s (deleted)", name);
    fd = memfd_create(name, MFD_CLOEXEC);

    if (fd < 0) {
        return -errno;
    }
    if (fstat(fd, &st) < 0) {
        int err = errno;

        close(fd);
        return -err;
    }
    f->st_dev = st.st_dev;
    f->st_ino = st.st_ino;
    f->refs = 1;
    return fd;
}

static bool same_file(const SimFile *f, const struct stat *st)
{
    return f->st_dev == (uint64_t)st->st_dev && f->st_ino == (uint64_t)st->st_ino;
}

/* The file of the model @st names, or NULL. */
static SimFile *file_by_inode(VfiSim *sim, const struct stat *st)
{
    GHashTableIter it;
    gpointer key, value;

    g_hash_table_iter_init(&it, sim->files);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        if (same_file(value, st)) {
            return value;
        }
    }
    return NULL;
}

/* The number @f goes by in traces and lookups: any fd of the table on it. */
static void file_renumber(VfiSim *sim, SimFile *f, int fd)
{
    if (f->kind == SIM_FILE_DEVICE) {
        f->df->fd = fd;
    } else if (f->kind == SIM_FILE_QUEUE) {
        f->queue->qfd = fd;
    } else if (f->kind == SIM_FILE_CONTAINER || f->kind == SIM_FILE_GROUP) {
        sim_type1_renumber(f, fd);
    } else if (f->ctx->fd >= 0) {
        f->ctx->fd = fd;
    }
}

/* An fd of the process, not in the table, on @f (another reference the
 * model has not met yet), or -1. Found by the link /proc shows for it (the
 * memfd's unique name): reading a link touches no fd, so a thread closing
 * its own fds meanwhile races with nothing here. */
static int find_other_fd(VfiSim *sim, const SimFile *f)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int found = -1;

    if (!d) {
        return -1;
    }
    while (found < 0 && (e = readdir(d))) {
        char link[sizeof(f->link) + 1];
        int fd = atoi(e->d_name);
        ssize_t n;

        if (e->d_name[0] == '.' || fd == dirfd(d) ||
            g_hash_table_contains(sim->files, GINT_TO_POINTER(fd))) {
            continue;
        }
        n = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);
        if (n > 0 && (size_t)n < sizeof(link) - 1) {
            link[n] = 0;
            if (!strcmp(link, f->link)) {
                found = fd;
            }
        }
    }
    closedir(d);
    return found;
}

/* Release @f: the last fd on it is gone. */
static void file_release(VfiSim *sim, SimFile *f)
{
    if (f->kind == SIM_FILE_DEVICE) {
        sim_device_file_unbind(f->df);
        sim_type1_device_close(f->df);
        trace_vfi_sim_close(f->df->fd, "device", f->df->dev->name);
        g_free(f->df);
    } else if (f->kind == SIM_FILE_QUEUE) {
        trace_vfi_sim_close(f->queue->qfd, "queue", sim_obj_type_name(f->queue->type));
        sim_queue_closed(f->queue);
    } else if (f->kind == SIM_FILE_CONTAINER || f->kind == SIM_FILE_GROUP) {
        trace_vfi_sim_close(sim_file_fd(f), f->kind == SIM_FILE_GROUP ? "group" : "container",
                            "/dev/vfio");
        sim_type1_close(sim, f);
    } else {
        trace_vfi_sim_close(f->ctx->fd, "iommufd", "/dev/iommu");
        sim_ctx_close(f->ctx);
    }
    g_free(f);
}

/* @fd (in the table) no longer refers to its file (closed, or its number
 * reused): forget it; the file goes with its last fd. */
static void fd_forget(VfiSim *sim, int fd)
{
    SimFile *f = g_hash_table_lookup(sim->files, GINT_TO_POINTER(fd));
    GHashTableIter it;
    gpointer key, value;
    int other;

    g_hash_table_remove(sim->files, GINT_TO_POINTER(fd));
    if (--f->refs > 0) {
        g_hash_table_iter_init(&it, sim->files);
        while (g_hash_table_iter_next(&it, &key, &value)) {
            if (value == f) {
                file_renumber(sim, f, GPOINTER_TO_INT(key));
                break;
            }
        }
        return;
    }
    other = find_other_fd(sim, f);
    if (other >= 0) {
        /* a dup the model has not seen yet keeps the file open */
        g_hash_table_insert(sim->files, GINT_TO_POINTER(other), f);
        f->refs = 1;
        file_renumber(sim, f, other);
        trace_vfi_sim_fd_alias(other, fd);
        return;
    }
    file_release(sim, f);
}

SimFile *sim_file_lookup(VfiSim *sim, int fd)
{
    SimFile *f = g_hash_table_lookup(sim->files, GINT_TO_POINTER(fd));
    struct stat st;

    if (fd < 0) {
        return NULL;
    }
    if (fstat(fd, &st) < 0) {
        if (f) {
            fd_forget(sim, fd);      /* closed behind the model's back */
        }
        return NULL;
    }
    if (f && same_file(f, &st)) {
        return f;
    }
    if (f) {
        fd_forget(sim, fd);          /* the number was closed and reused */
    }
    f = file_by_inode(sim, &st);
    if (f) {
        g_hash_table_insert(sim->files, GINT_TO_POINTER(fd), f);
        f->refs++;
        trace_vfi_sim_fd_alias(fd, sim_file_fd(f));
    }
    return f;
}

int sim_file_new(VfiSim *sim, SimFileKind kind, SimFile **out)
{
    SimFile *f = g_new0(SimFile, 1);
    int fd;

    f->kind = kind;
    fd = file_open_fd(f);
    if (fd < 0) {
        g_free(f);
        return fd;
    }
    g_hash_table_insert(sim->files, GINT_TO_POINTER(fd), f);
    *out = f;
    return fd;
}

int sim_fd_close(VfiSim *sim, int fd)
{
    if (!sim_file_lookup(sim, fd)) {
        return -EBADF;
    }
    close(fd);
    fd_forget(sim, fd);
    return 0;
}

unsigned sim_files_count(VfiSim *sim)
{
    g_autoptr(GHashTable) seen = g_hash_table_new(g_direct_hash, g_direct_equal);
    GHashTableIter it;
    gpointer key, value;

    g_hash_table_iter_init(&it, sim->files);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        g_hash_table_add(seen, value);
    }
    return g_hash_table_size(seen);
}

void sim_files_close_all(VfiSim *sim)
{
    /* Device files first: unbinding lets closed iommufds go. */
    for (int pass = 0; pass < 2; pass++) {
        g_autofree gpointer *fds = NULL;
        guint n;

        fds = g_hash_table_get_keys_as_array(sim->files, &n);
        for (guint i = 0; i < n; i++) {
            SimFile *f = g_hash_table_lookup(sim->files, fds[i]);

            if (f && (f->kind == SIM_FILE_DEVICE) == (pass == 0)) {
                int fd = GPOINTER_TO_INT(fds[i]);

                /* the model's end: its file goes whatever fds remain */
                close(fd);
                g_hash_table_remove(sim->files, fds[i]);
                if (--f->refs == 0) {
                    file_release(sim, f);
                }
            }
        }
    }
}
