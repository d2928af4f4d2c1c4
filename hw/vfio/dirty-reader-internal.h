/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd: the container layer's side of the dirty reader
 * (hw/vfio/dirty-reader.c; public half in vfio-iommufd/dirty.h).
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
#ifndef VFI_HW_VFIO_DIRTY_READER_INTERNAL_H
#define VFI_HW_VFIO_DIRTY_READER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vfio-iommufd/device.h"
#include "vfio-iommufd/dirty.h"

/* Name @r's IOAS in messages and trace events ("ioas N") and set the IOVA
 * alignment its log page sizes must reach (>= 1). No ioctl. */
void vfi_dirty_reader_set_ioas(VfiDirtyReader *r, uint32_t ioas_id, uint64_t alignment);

/* Add / remove @dev as a source read with DMA_LOGGING_REPORT (not owned:
 * it must be removed before it is freed). Adding twice is a no-op. */
void vfi_dirty_reader_add_device(VfiDirtyReader *r, VfiDevice *dev);
void vfi_dirty_reader_remove_device(VfiDirtyReader *r, VfiDevice *dev);

/* The log checks of vfi_dirty_reader_query() alone (INVALID_ARGUMENT,
 * @what names the operation in the message). */
bool vfi_dirty_reader_check_log(const VfiDirtyReader *r, const VfiDirtyLog *log,
                                 const char *what, GError **errp);

/* Query a range already validated (aligned to the log's pages, inside its
 * span, flags known): the zero-copy / scratch machinery of
 * vfi_dirty_reader_query() without the checks. */
bool vfi_dirty_reader_read(VfiDirtyReader *r, uint64_t iova, uint64_t size,
                            const VfiDirtyLog *log, uint32_t flags, GError **errp);

/* The last IOVA of @log's span (the log already checked). */
static inline uint64_t vfi_dirty_log_last(const VfiDirtyLog *log)
{
    return log->base_iova + (log->nr_pages - 1) * log->page_size + (log->page_size - 1);
}

#endif
