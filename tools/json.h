/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd tool: a small JSON writer.
 *
 * Pretty-printed, one member or element per line (two spaces per level),
 * so the output reads well and a shell test can grep one member. Inside an
 * object every value takes a key; inside an array (or at the top) the key
 * is NULL. A NULL string is written as null.
 */
#ifndef VFI_TOOL_JSON_H
#define VFI_TOOL_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <glib.h>

typedef struct Json Json;

Json *json_new(void);
void json_free(Json *j);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Json, json_free)

void json_begin_object(Json *j, const char *key);
void json_end_object(Json *j);
void json_begin_array(Json *j, const char *key);
void json_end_array(Json *j);

void json_string(Json *j, const char *key, const char *value);
void json_int(Json *j, const char *key, int64_t value);
void json_uint(Json *j, const char *key, uint64_t value);
void json_bool(Json *j, const char *key, bool value);
void json_null(Json *j, const char *key);
/* A value printed with printf (a string): "0x%x" and the like. */
void json_stringf(Json *j, const char *key, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
/* An array of strings. */
void json_strings(Json *j, const char *key, GPtrArray *values);

/* The document so far (complete once every object and array is ended),
 * followed by a newline. */
void json_print(const Json *j, FILE *out);

#endif
