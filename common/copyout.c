/*
 * copyout — binary COPY TO STDOUT, row by row; see copyout.h.
 *
 * Each CopyData message holds one row: an int16 field count, then per
 * field an int32 length (-1 for NULL) and the bytes.  The first message
 * starts with the 11-byte signature, an int32 of flags and an int32
 * length of a header extension; the last holds a field count of -1.
 * Every length is checked against the message before it is used: the
 * server is trusted to be PostgreSQL, not to be bug-free.
 */
#include "copyout.h"

#include <stdlib.h>
#include <string.h>

static const char signature[11] = "PGCOPY\n\377\r\n";

/* libpq's message without its final newline. */
static void report(struct diag *d, const char *m)
{
	size_t n = strlen(m);

	while (n > 0 && (m[n - 1] == '\n' || m[n - 1] == ' ')) {
		n--;
	}
	diag_add(d, "database: %.*s (in: COPY)", (int)n, m);
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int copyout_int(const char *f, int len, int64_t *v)
{
	const unsigned char *p = (const unsigned char *)f;
	uint64_t u = 0;

	if (len != 2 && len != 4 && len != 8) {
		return 0;
	}
	for (int i = 0; i < len; i++) {
		u = u << 8 | p[i];
	}
	/* Sign-extend from len bytes. */
	if (len < 8 && (u >> (len * 8 - 1)) & 1) {
		u |= ~(uint64_t)0 << (len * 8);
	}
	memcpy(v, &u, sizeof(*v));
	return 1;
}

int copyout_query(PGconn *c, const char *sql, int n,
		  const char *const *params, copyout_row_fn *fn, void *ctx,
		  struct diag *d)
{
	PGresult *r;
	int bad = 0;

	if (!PQsendQueryParams(c, sql, n, NULL, params, NULL, NULL, 1) ||
	    !PQsetSingleRowMode(c)) {
		diag_add(d, "database: %s", PQerrorMessage(c));
		while ((r = PQgetResult(c)) != NULL) {
			PQclear(r);
		}
		return -1;
	}
	while ((r = PQgetResult(c)) != NULL) {
		ExecStatusType st = PQresultStatus(r);

		if (st == PGRES_SINGLE_TUPLE && !bad) {
			const char *f[COPYOUT_MAX_FIELDS];
			int len[COPYOUT_MAX_FIELDS], nf = PQnfields(r);

			if (nf > COPYOUT_MAX_FIELDS) {
				diag_add(d, "database: %d fields, more than %d",
					 nf, COPYOUT_MAX_FIELDS);
				bad = 1;
			}
			for (int i = 0; i < nf && !bad; i++) {
				f[i] = PQgetvalue(r, 0, i);
				len[i] = PQgetisnull(r, 0, i) ? -1
							       : PQgetlength(r, 0, i);
			}
			if (!bad && fn(ctx, nf, f, len, d)) {
				bad = 1;
			}
		} else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK &&
			   !bad) {
			diag_add(d, "database: %s", PQresultErrorMessage(r));
			bad = 1;
		}
		PQclear(r);
	}
	return bad ? -1 : 0;
}

int copyout_int8_array(const char *f, int len, int32_t *lbound, size_t *n,
		       void (*fn)(void *ctx, int64_t sub, int64_t v),
		       void *ctx)
{
	const unsigned char *p = (const unsigned char *)f;
	const unsigned char *end = p + (len > 0 ? len : 0);
	uint32_t ndim, count;
	int64_t lb;

	*n = 0;
	*lbound = 1;
	if (len < 12) {
		return 0;
	}
	ndim = be32(p);
	if (be32(p + 8) != 20 || ndim > 1) { /* INT8OID */
		return 0;
	}
	if (ndim == 0) {
		return len == 12;
	}
	if (len < 20) {
		return 0;
	}
	count = be32(p + 12);
	lb = (int32_t)be32(p + 16);
	p += 20;
	for (uint32_t i = 0; i < count; i++) {
		uint32_t l;
		int64_t v;

		if (end - p < 4) {
			return 0;
		}
		l = be32(p);
		p += 4;
		if (l == UINT32_MAX) {
			continue;
		}
		if (l != 8 || end - p < 8) {
			return 0;
		}
		copyout_int((const char *)p, 8, &v);
		p += 8;
		fn(ctx, lb + (int64_t)i, v);
	}
	if (p != end) {
		return 0;
	}
	*lbound = (int32_t)lb;
	*n = count;
	return 1;
}

/* Split one message into fields and hand them to fn: 0 (row or trailer),
 * 1 at the trailer, -1 on a malformed message or when fn stops. */
static int one_row(const char *buf, int size, int *header,
		   copyout_row_fn *fn, void *ctx, struct diag *d)
{
	const unsigned char *p = (const unsigned char *)buf;
	const unsigned char *end = p + size;
	const char *f[COPYOUT_MAX_FIELDS];
	int len[COPYOUT_MAX_FIELDS], n;

	if (!*header) {
		uint32_t ext;

		if (size < 19 || memcmp(p, signature, sizeof(signature))) {
			diag_add(d, "COPY: not a binary COPY header");
			return -1;
		}
		ext = be32(p + 15);
		if (ext > (uint32_t)(size - 19)) {
			diag_add(d, "COPY: header extension too long");
			return -1;
		}
		p += 19 + ext;
		*header = 1;
		if (p == end) {
			return 0;
		}
	}
	if (end - p < 2) {
		diag_add(d, "COPY: truncated row");
		return -1;
	}
	n = (int16_t)(p[0] << 8 | p[1]);
	p += 2;
	if (n == -1) {
		return 1;
	}
	if (n < 0 || n > COPYOUT_MAX_FIELDS) {
		diag_add(d, "COPY: %d fields in a row", n);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		uint32_t l;

		if (end - p < 4) {
			diag_add(d, "COPY: truncated row");
			return -1;
		}
		l = be32(p);
		p += 4;
		if (l == UINT32_MAX) {
			f[i] = NULL;
			len[i] = -1;
			continue;
		}
		if (l > (uint32_t)(end - p)) {
			diag_add(d, "COPY: truncated field");
			return -1;
		}
		f[i] = (const char *)p;
		len[i] = (int)l;
		p += l;
	}
	return fn(ctx, n, f, len, d) == 0 ? 0 : -1;
}

int copyout_run(PGconn *c, const char *sql, copyout_row_fn *fn, void *ctx,
		struct diag *d)
{
	PGresult *r = PQexec(c, sql);
	int rc = 0, header = 0, done = 0, got;
	char *buf;

	if (PQresultStatus(r) != PGRES_COPY_OUT) {
		report(d, r ? PQresultErrorMessage(r) : PQerrorMessage(c));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	while ((got = PQgetCopyData(c, &buf, 0)) > 0) {
		/* After a failure the rest is drained unread: the COPY
		 * cannot be cancelled cheaply and the connection must end
		 * it to stay usable. */
		if (rc == 0 && !done) {
			int k = one_row(buf, got, &header, fn, ctx, d);

			if (k < 0) {
				rc = -1;
			}
			done = k == 1;
		}
		PQfreemem(buf);
	}
	if (got == -2) {
		report(d, PQerrorMessage(c));
		rc = -1;
	}
	while ((r = PQgetResult(c)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			report(d, PQresultErrorMessage(r));
			rc = -1;
		}
		PQclear(r);
	}
	if (rc == 0 && !done) {
		diag_add(d, "COPY: no end-of-data marker");
		rc = -1;
	}
	return rc;
}
