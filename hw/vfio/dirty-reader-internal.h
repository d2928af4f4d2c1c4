/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the container layer's side of the dirty reader
 * (hw/vfio/dirty-reader.c; public half in vfio-iommufd/vfio-dirty.h).
 *
 * A container owns one reader (dirty.c creates it on first use). Its HWPT
 * sources are the container's HWPTs whose tracking is on (dirty.c adds one
 * after SET_DIRTY_TRACKING enable, removes it after disable or when hwpt.c
 * destroys it: the kernel refuses to read a HWPT not tracking); its device
 * sources are the
 * container's devices whose DMA logging is started (dirty.c adds one after
 * DMA_LOGGING_START and removes it after DMA_LOGGING_STOP or when the device
 * leaves). Reading order: HWPTs, then devices, each in the order added.
 */
#ifndef VFIO_IOMMUFD_HW_VFIO_DIRTY_READER_INTERNAL_H
#define VFIO_IOMMUFD_HW_VFIO_DIRTY_READER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vfio-iommufd/vfio-device.h"
#include "vfio-iommufd/vfio-dirty.h"

/* Name @r's IOAS in messages and trace events ("ioas N") and set the IOVA
 * alignment its log page sizes must reach (>= 1). No ioctl. */
void vfio_dirty_reader_set_ioas(VFIODirtyReader *r, uint32_t ioas_id, uint64_t alignment);

/* Add / remove @dev as a source read with DMA_LOGGING_REPORT (not owned:
 * it must be removed before it is freed). Adding twice is a no-op. */
void vfio_dirty_reader_add_device(VFIODirtyReader *r, VFIODevice *dev);
void vfio_dirty_reader_remove_device(VFIODirtyReader *r, VFIODevice *dev);

/* The log checks of vfio_dirty_reader_query() alone (INVALID_ARGUMENT,
 * @what names the operation in the message). */
bool vfio_dirty_reader_check_log(const VFIODirtyReader *r, const VFIODirtyLog *log,
                                 const char *what, GError **errp);

/* Query a range already validated (aligned to the log's pages, inside its
 * span, flags known): the zero-copy / scratch machinery of
 * vfio_dirty_reader_query() without the checks. */
bool vfio_dirty_reader_read(VFIODirtyReader *r, uint64_t iova, uint64_t size,
                            const VFIODirtyLog *log, uint32_t flags, GError **errp);

/* The last IOVA of @log's span (the log already checked). */
static inline uint64_t vfio_dirty_log_last(const VFIODirtyLog *log)
{
    return log->base_iova + (log->nr_pages - 1) * log->page_size + (log->page_size - 1);
}

#endif
