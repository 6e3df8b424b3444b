/*
 * copy — bulk loads with COPY ... FROM STDIN (text or binary format).
 *
 * Rows are built field by field into a buffer that is sent in large
 * chunks.  copy_begin() starts the COPY; copy_end() finishes it, or
 * aborts it when failed is set (PQputCopyEnd with a reason), drains the
 * results and requires COMMAND_OK.  Text fields are escaped for COPY's
 * text format, so any byte string (tabs, newlines, backslashes) is safe.
 */
#ifndef RELEVE_COPY_H
#define RELEVE_COPY_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

struct copy {
	PGconn *c;
	char *buf;
	size_t len, cap;
	int fields; /* fields in the current row */
	int failed;
	struct diag *d;
	long long rows;
	int binary;	/* copy_begin_binary */
	size_t row_at;	/* binary: where the current row's field count goes */
};

/* Start `sql` (a COPY ... FROM STDIN); 0 or -1. */
int copy_begin(struct copy *cp, PGconn *c, const char *sql, struct diag *d);
/*
 * The same in binary form (sql says `(FORMAT binary)`): the server parses
 * nothing, a third faster on a million rows.  Each field must then match
 * its column's type: copy_text a text, copy_int an int8 (or a timestamptz:
 * microseconds since 2000-01-01 UTC), copy_int4 an int4 (or a date: days
 * since 2000-01-01).
 */
int copy_begin_binary(struct copy *cp, PGconn *c, const char *sql,
		      struct diag *d);
void copy_text(struct copy *cp, const char *s);
void copy_int(struct copy *cp, int64_t v);
/* An int4 (text form: as copy_int). */
void copy_int4(struct copy *cp, int32_t v);
void copy_null(struct copy *cp);
/*
 * A bigint[] of n elements (binary only), its first subscript lbound:
 * v[i] is element lbound + i, a negative v[i] a NULL element.
 */
void copy_int8_array(struct copy *cp, int32_t lbound, const int64_t *v,
		     size_t n);
/* End the row; sends the buffer when it is large.  0 or -1. */
int copy_row(struct copy *cp);
/* Finish (failed: abort with a reason).  0 when every row was stored. */
int copy_end(struct copy *cp, int failed);

#endif
