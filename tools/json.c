/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vfio-iommufd tool: a small JSON writer (json.h).
 */
#include <inttypes.h>

#include "json.h"

struct Json {
    GString *out;
    GArray *first;     /* gboolean per open level: no member written yet */
};

Json *json_new(void)
{
    Json *j = g_new0(Json, 1);

    j->out = g_string_new(NULL);
    j->first = g_array_new(FALSE, FALSE, sizeof(gboolean));
    return j;
}

void json_free(Json *j)
{
    if (!j) {
        return;
    }
    g_string_free(j->out, TRUE);
    g_array_unref(j->first);
    g_free(j);
}

static void put_string(GString *s, const char *str)
{
    g_string_append_c(s, '"');
    for (const char *p = str; *p; p++) {
        unsigned char ch = (unsigned char)*p;

        if (ch == '"' || ch == '\\') {
            g_string_append_printf(s, "\\%c", ch);
        } else if (ch == '\n') {
            g_string_append(s, "\\n");
        } else if (ch < 0x20) {
            g_string_append_printf(s, "\\u%04x", ch);
        } else {
            g_string_append_c(s, ch);
        }
    }
    g_string_append_c(s, '"');
}

static void indent(Json *j)
{
    for (guint i = 0; i < j->first->len; i++) {
        g_string_append(j->out, "  ");
    }
}

/* Start a value: the separator, the line break and indentation, the key. */
static void value_start(Json *j, const char *key)
{
    if (j->first->len) {
        gboolean *first = &g_array_index(j->first, gboolean, j->first->len - 1);

        if (!*first) {
            g_string_append_c(j->out, ',');
        }
        *first = FALSE;
        g_string_append_c(j->out, '\n');
        indent(j);
    }
    if (key) {
        put_string(j->out, key);
        g_string_append(j->out, ": ");
    }
}

static void open_level(Json *j, const char *key, char bracket)
{
    gboolean first = TRUE;

    value_start(j, key);
    g_string_append_c(j->out, bracket);
    g_array_append_val(j->first, first);
}

static void close_level(Json *j, char bracket)
{
    gboolean empty = g_array_index(j->first, gboolean, j->first->len - 1);

    g_array_set_size(j->first, j->first->len - 1);
    if (!empty) {
        g_string_append_c(j->out, '\n');
        indent(j);
    }
    g_string_append_c(j->out, bracket);
}

void json_begin_object(Json *j, const char *key)
{
    open_level(j, key, '{');
}

void json_end_object(Json *j)
{
    close_level(j, '}');
}

void json_begin_array(Json *j, const char *key)
{
    open_level(j, key, '[');
}

void json_end_array(Json *j)
{
    close_level(j, ']');
}

void json_string(Json *j, const char *key, const char *value)
{
    value_start(j, key);
    if (value) {
        put_string(j->out, value);
    } else {
        g_string_append(j->out, "null");
    }
}

void json_stringf(Json *j, const char *key, const char *fmt, ...)
{
    g_autofree char *value = NULL;
    va_list ap;

    va_start(ap, fmt);
    value = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    json_string(j, key, value);
}

void json_int(Json *j, const char *key, int64_t value)
{
    value_start(j, key);
    g_string_append_printf(j->out, "%" PRId64, value);
}

void json_uint(Json *j, const char *key, uint64_t value)
{
    value_start(j, key);
    g_string_append_printf(j->out, "%" PRIu64, value);
}

void json_bool(Json *j, const char *key, bool value)
{
    value_start(j, key);
    g_string_append(j->out, value ? "true" : "false");
}

void json_null(Json *j, const char *key)
{
    value_start(j, key);
    g_string_append(j->out, "null");
}

void json_strings(Json *j, const char *key, GPtrArray *values)
{
    json_begin_array(j, key);
    for (guint i = 0; values && i < values->len; i++) {
        json_string(j, NULL, g_ptr_array_index(values, i));
    }
    json_end_array(j);
}

void json_print(const Json *j, FILE *out)
{
    fputs(j->out->str, out);
    fputc('\n', out);
}
