/*
 * copyout — bulk reads with COPY (SELECT ...) TO STDOUT (FORMAT binary).
 *
 * A result of millions of rows costs libpq a PGresult (pointers, copies,
 * a heap that grows and shrinks) and the caller a text parse per field;
 * a binary COPY hands over one row at a time in the server's binary
 * form, which the caller decodes in place.  COPY takes no $n parameters:
 * the statement must be a constant, or built only from values the
 * program itself printed (never from input).
 */
#ifndef RELEVE_COPYOUT_H
#define RELEVE_COPYOUT_H

#include <libpq-fe.h>
#include <stdint.h>

#include "diag.h"

#define COPYOUT_MAX_FIELDS 16

/* One row: n fields, field i at f[i], len[i] bytes (-1: SQL NULL).  The
 * bytes are valid during the call only.  Returns 0 to go on, -1 to stop
 * (with a message in d). */
typedef int copyout_row_fn(void *ctx, int n, const char *const *f,
			   const int *len, struct diag *d);

/*
 * Run sql, a `COPY (...) TO STDOUT (FORMAT binary)`, calling fn for each
 * row.  0 when every row was read and the COPY ended well; -1 with a
 * message in d (the connection is left ready for the next statement).
 */
int copyout_run(PGconn *c, const char *sql, copyout_row_fn *fn, void *ctx,
		struct diag *d);

/*
 * The same rows from a query with $n parameters (params[0..n), text), in
 * binary form one at a time (libpq's single-row mode): for what a COPY
 * cannot take, parameters.  0, or -1 with a message in d (the connection
 * is left ready for the next statement).
 */
int copyout_query(PGconn *c, const char *sql, int n,
		  const char *const *params, copyout_row_fn *fn, void *ctx,
		  struct diag *d);

/* A binary integer field (int2, int4 or int8, big-endian) into *v: 1,
 * or 0 when len is not 2, 4 or 8. */
int copyout_int(const char *f, int len, int64_t *v);

/*
 * A binary bigint[] field of one dimension (an empty array: no element):
 * *lbound gets its first subscript, *n its elements, and each element i
 * goes to fn(ctx, lbound + i, value), NULL elements skipped.  1, or 0
 * when the field is not such an array.
 */
int copyout_int8_array(const char *f, int len, int32_t *lbound, size_t *n,
		       void (*fn)(void *ctx, int64_t sub, int64_t v),
		       void *ctx);

#endif
