/*
 * jsonv — validating reads of JSON documents (jansson), with errors that
 * name the file and the JSON path: `tariff.json: plans[2].monthly_fee:
 * expected a decimal string such as "9.00"`.
 *
 * A struct jsonv carries the file name, the current path and the diag
 * that collects every error (validation goes on after an error, so that
 * the user sees all of them at once).  Getters return NULL / -1 when the
 * field is absent (and not required), null, or of the wrong type; a wrong
 * type or a missing required field adds an error.
 */
#ifndef RELEVE_JSONV_H
#define RELEVE_JSONV_H

#include <jansson.h>
#include <stddef.h>

#include "diag.h"

struct jsonv {
	const char *file;
	struct diag *d;
	char path[512];
	size_t len;
};

void jsonv_init(struct jsonv *v, const char *file, struct diag *d);
/* Descend into a key or an index; returns the mark to pass to jsonv_pop. */
size_t jsonv_key(struct jsonv *v, const char *key);
size_t jsonv_index(struct jsonv *v, size_t i);
void jsonv_pop(struct jsonv *v, size_t mark);
/* Add "file: path: message" (path omitted at the root). */
void jsonv_error(struct jsonv *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Same for the field key of the current object. */
void jsonv_field_error(struct jsonv *v, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Parse a whole document from a file ("-" for stdin) or a buffer; syntax
 * errors name the line and column.  NULL on error. */
json_t *jsonv_load_file(const char *path, struct diag *d);
json_t *jsonv_load_buffer(const char *name, const char *buf, size_t len,
			  struct diag *d);

/* Error for every key of obj not in allowed (NULL-terminated). */
void jsonv_known_keys(struct jsonv *v, json_t *obj, const char *const *allowed);

/* A string field; "" counts as absent when required. */
const char *jsonv_string(struct jsonv *v, json_t *obj, const char *key,
			 int required);
/* An integer field; lenient: also a string of digits (mailcow writes
 * numbers as strings).  Returns 0 and sets *out, 1 when absent or null,
 * -1 on error (error added). */
int jsonv_int(struct jsonv *v, json_t *obj, const char *key, int required,
	      int lenient, long long *out);
/* A boolean field: 0/1 in *out; same returns as jsonv_int. */
int jsonv_bool(struct jsonv *v, json_t *obj, const char *key, int required,
	       int *out);
/* An object / array field (NULL when absent, null, or wrong type). */
json_t *jsonv_object(struct jsonv *v, json_t *obj, const char *key,
		     int required);
json_t *jsonv_array(struct jsonv *v, json_t *obj, const char *key,
		    int required);

#endif
