/*
 * jsonv — validating JSON reads with path-named errors; see jsonv.h.
 */
#include "jsonv.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void jsonv_init(struct jsonv *v, const char *file, struct diag *d)
{
	v->file = file;
	v->d = d;
	v->path[0] = '\0';
	v->len = 0;
}

static size_t append(struct jsonv *v, const char *s)
{
	size_t mark = v->len, n = strlen(s);

	if (v->len + n >= sizeof(v->path)) {
		n = sizeof(v->path) - 1 - v->len;
	}
	memcpy(v->path + v->len, s, n);
	v->len += n;
	v->path[v->len] = '\0';
	return mark;
}

size_t jsonv_key(struct jsonv *v, const char *key)
{
	size_t mark = v->len;

	if (v->len) {
		append(v, ".");
	}
	append(v, key);
	return mark;
}

size_t jsonv_index(struct jsonv *v, size_t i)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "[%zu]", i);
	return append(v, buf);
}

void jsonv_pop(struct jsonv *v, size_t mark)
{
	if (mark <= v->len) {
		v->len = mark;
		v->path[mark] = '\0';
	}
}

static void verror(struct jsonv *v, const char *fmt, va_list ap)
{
	char *msg = xvasprintf(fmt, ap);

	if (v->len) {
		diag_add(v->d, "%s: %s: %s", v->file, v->path, msg);
	} else {
		diag_add(v->d, "%s: %s", v->file, msg);
	}
	free(msg);
}

void jsonv_error(struct jsonv *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(v, fmt, ap);
	va_end(ap);
}

void jsonv_field_error(struct jsonv *v, const char *key, const char *fmt, ...)
{
	va_list ap;
	size_t mark = jsonv_key(v, key);

	va_start(ap, fmt);
	verror(v, fmt, ap);
	va_end(ap);
	jsonv_pop(v, mark);
}

json_t *jsonv_load_buffer(const char *name, const char *buf, size_t len,
			  struct diag *d)
{
	json_error_t e;
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &e);

	if (!j) {
		diag_add(d, "%s: line %d, column %d: %s", name, e.line,
			 e.column, e.text);
	}
	return j;
}

json_t *jsonv_load_file(const char *path, struct diag *d)
{
	json_error_t e;
	json_t *j;

	if (!strcmp(path, "-")) {
		j = json_loadf(stdin, JSON_REJECT_DUPLICATES, &e);
		path = "<stdin>";
	} else {
		FILE *f = fopen(path, "rb");

		if (!f) {
			diag_add(d, "%s: %s", path, strerror(errno));
			return NULL;
		}
		j = json_loadf(f, JSON_REJECT_DUPLICATES, &e);
		fclose(f);
	}
	if (!j) {
		diag_add(d, "%s: line %d, column %d: %s", path, e.line,
			 e.column, e.text);
	}
	return j;
}

void jsonv_known_keys(struct jsonv *v, json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *val;

	if (!json_is_object(obj)) {
		return;
	}
	json_object_foreach(obj, key, val) {
		const char *const *a;

		for (a = allowed; *a; a++) {
			if (!strcmp(*a, key)) {
				break;
			}
		}
		if (!*a) {
			char list[512] = "";
			size_t n = 0;

			for (a = allowed; *a && n < sizeof(list) - 1; a++) {
				n += (size_t)snprintf(list + n, sizeof(list) - n,
						      "%s%s", n ? ", " : "", *a);
			}
			jsonv_field_error(v, key, "unknown field (expected "
					  "one of: %s)", list);
		}
	}
}

static json_t *field(struct jsonv *v, json_t *obj, const char *key,
		     int required)
{
	json_t *j = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	if ((!j || json_is_null(j)) && required) {
		jsonv_field_error(v, key, "missing (required)");
	}
	return j && !json_is_null(j) ? j : NULL;
}

const char *jsonv_string(struct jsonv *v, json_t *obj, const char *key,
			 int required)
{
	json_t *j = field(v, obj, key, required);

	if (!j) {
		return NULL;
	}
	if (!json_is_string(j)) {
		jsonv_field_error(v, key, "expected a string");
		return NULL;
	}
	if (required && json_string_length(j) == 0) {
		jsonv_field_error(v, key, "is empty (required)");
		return NULL;
	}
	if (strlen(json_string_value(j)) != json_string_length(j)) {
		jsonv_field_error(v, key, "contains a NUL character");
		return NULL;
	}
	return json_string_value(j);
}

int jsonv_int(struct jsonv *v, json_t *obj, const char *key, int required,
	      int lenient, long long *out)
{
	json_t *j = field(v, obj, key, required);

	if (!j) {
		return required ? -1 : 1;
	}
	if (json_is_integer(j)) {
		*out = (long long)json_integer_value(j);
		return 0;
	}
	if (lenient && json_is_string(j)) {
		const char *s = json_string_value(j);
		char *end;
		long long x;

		errno = 0;
		x = strtoll(s, &end, 10);
		if (*s && *end == '\0' && errno == 0 &&
		    (*s == '-' || (*s >= '0' && *s <= '9'))) {
			*out = x;
			return 0;
		}
	}
	jsonv_field_error(v, key, "expected an integer");
	return -1;
}

int jsonv_bool(struct jsonv *v, json_t *obj, const char *key, int required,
	       int *out)
{
	json_t *j = field(v, obj, key, required);

	if (!j) {
		return required ? -1 : 1;
	}
	if (!json_is_boolean(j)) {
		jsonv_field_error(v, key, "expected true or false");
		return -1;
	}
	*out = json_is_true(j);
	return 0;
}

json_t *jsonv_object(struct jsonv *v, json_t *obj, const char *key,
		     int required)
{
	json_t *j = field(v, obj, key, required);

	if (j && !json_is_object(j)) {
		jsonv_field_error(v, key, "expected an object");
		return NULL;
	}
	return j;
}

json_t *jsonv_array(struct jsonv *v, json_t *obj, const char *key,
		    int required)
{
	json_t *j = field(v, obj, key, required);

	if (j && !json_is_array(j)) {
		jsonv_field_error(v, key, "expected an array");
		return NULL;
	}
	return j;
}
