/*
 * copy — COPY FROM STDIN in text or binary format; see copy.h.
 */
#include "copy.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define COPY_CHUNK (256 * 1024)

static void reserve(struct copy *cp, size_t n)
{
	if (cp->cap - cp->len < n) {
		while (cp->cap - cp->len < n) {
			cp->cap = cp->cap ? 2 * cp->cap : 2 * COPY_CHUNK;
		}
		cp->buf = xreallocarray(cp->buf, cp->cap, 1);
	}
}

int copy_begin(struct copy *cp, PGconn *c, const char *sql, struct diag *d)
{
	PGresult *r;

	memset(cp, 0, sizeof(*cp));
	cp->c = c;
	cp->d = d;
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		diag_add(d, "database: COPY refused: %s", PQerrorMessage(c));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

int copy_begin_binary(struct copy *cp, PGconn *c, const char *sql,
		      struct diag *d)
{
	/* signature, flags (none), header extension length (none) */
	static const char header[19] = "PGCOPY\n\377\r\n";

	if (copy_begin(cp, c, sql, d)) {
		return -1;
	}
	cp->binary = 1;
	reserve(cp, sizeof(header));
	memcpy(cp->buf, header, sizeof(header));
	cp->len = sizeof(header);
	return 0;
}

static void put_be(struct copy *cp, uint64_t v, int bytes)
{
	reserve(cp, (size_t)bytes);
	for (int i = bytes - 1; i >= 0; i--) {
		cp->buf[cp->len++] = (char)(v >> (8 * i));
	}
}

/* A binary field begins; a row's first reserves its field count. */
static void bin_field(struct copy *cp)
{
	if (cp->fields++ == 0) {
		reserve(cp, 2);
		cp->row_at = cp->len;
		cp->len += 2;
	}
}

static void sep(struct copy *cp)
{
	if (cp->binary) {
		bin_field(cp);
		return;
	}
	if (cp->fields++) {
		reserve(cp, 1);
		cp->buf[cp->len++] = '\t';
	}
}

void copy_text(struct copy *cp, const char *s)
{
	sep(cp);
	if (cp->binary) {
		size_t n = strlen(s);

		put_be(cp, (uint32_t)n, 4);
		reserve(cp, n);
		memcpy(cp->buf + cp->len, s, n);
		cp->len += n;
		return;
	}
	reserve(cp, 2 * strlen(s) + 1);
	for (; *s; s++) {
		switch (*s) {
		case '\\':
			cp->buf[cp->len++] = '\\';
			cp->buf[cp->len++] = '\\';
			break;
		case '\t':
			cp->buf[cp->len++] = '\\';
			cp->buf[cp->len++] = 't';
			break;
		case '\n':
			cp->buf[cp->len++] = '\\';
			cp->buf[cp->len++] = 'n';
			break;
		case '\r':
			cp->buf[cp->len++] = '\\';
			cp->buf[cp->len++] = 'r';
			break;
		default:
			cp->buf[cp->len++] = *s;
		}
	}
}

void copy_int(struct copy *cp, int64_t v)
{
	sep(cp);
	if (cp->binary) {
		put_be(cp, 8, 4);
		put_be(cp, (uint64_t)v, 8);
		return;
	}
	char tmp[24];
	size_t n = 0;
	/* by hand: a million rows of numbers, snprintf was a tenth of it */
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	reserve(cp, n + 1);
	if (v < 0) {
		cp->buf[cp->len++] = '-';
	}
	while (n) {
		cp->buf[cp->len++] = tmp[--n];
	}
}

void copy_int4(struct copy *cp, int32_t v)
{
	if (!cp->binary) {
		copy_int(cp, v);
		return;
	}
	sep(cp);
	put_be(cp, 4, 4);
	put_be(cp, (uint32_t)v, 4);
}

void copy_null(struct copy *cp)
{
	sep(cp);
	if (cp->binary) {
		put_be(cp, UINT32_MAX, 4);
		return;
	}
	reserve(cp, 2);
	cp->buf[cp->len++] = '\\';
	cp->buf[cp->len++] = 'N';
}

void copy_int8_array(struct copy *cp, int32_t lbound, const int64_t *v,
		     size_t n)
{
	size_t nulls = 0;

	sep(cp);
	for (size_t i = 0; i < n; i++) {
		nulls += v[i] < 0;
	}
	/* ndim, has-nulls flag, element type (int8), size, lower bound;
	 * then each element's length (-1: NULL) and value */
	put_be(cp, (uint32_t)(20 + 4 * n + 8 * (n - nulls)), 4);
	reserve(cp, 20 + 12 * n);
	put_be(cp, 1, 4);
	put_be(cp, nulls ? 1 : 0, 4);
	put_be(cp, 20, 4); /* INT8OID */
	put_be(cp, (uint32_t)n, 4);
	put_be(cp, (uint32_t)lbound, 4);
	for (size_t i = 0; i < n; i++) {
		if (v[i] < 0) {
			put_be(cp, UINT32_MAX, 4);
		} else {
			put_be(cp, 8, 4);
			put_be(cp, (uint64_t)v[i], 8);
		}
	}
}

static int flush(struct copy *cp)
{
	if (cp->len && !cp->failed) {
		if (PQputCopyData(cp->c, cp->buf, (int)cp->len) != 1) {
			diag_add(cp->d, "database: COPY: %s",
				 PQerrorMessage(cp->c));
			cp->failed = 1;
		}
	}
	cp->len = 0;
	return cp->failed ? -1 : 0;
}

int copy_row(struct copy *cp)
{
	if (cp->binary) {
		cp->buf[cp->row_at] = (char)(cp->fields >> 8);
		cp->buf[cp->row_at + 1] = (char)cp->fields;
	} else {
		reserve(cp, 1);
		cp->buf[cp->len++] = '\n';
	}
	cp->fields = 0;
	cp->rows++;
	if (cp->len >= COPY_CHUNK) {
		return flush(cp);
	}
	return cp->failed ? -1 : 0;
}

int copy_end(struct copy *cp, int failed)
{
	PGresult *r;
	int ok = 1;

	if (!failed) {
		if (cp->binary) {
			put_be(cp, 0xffff, 2); /* the trailer */
		}
		flush(cp);
	}
	failed = failed || cp->failed;
	if (PQputCopyEnd(cp->c, failed ? "aborted by releve" : NULL) != 1) {
		diag_add(cp->d, "database: COPY end: %s", PQerrorMessage(cp->c));
		ok = 0;
	}
	/* Drain every result until the connection leaves COPY_IN. */
	while ((r = PQgetResult(cp->c)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			if (!failed) {
				diag_add(cp->d, "database: COPY: %s",
					 PQresultErrorMessage(r));
			}
			ok = 0;
		}
		PQclear(r);
	}
	free(cp->buf);
	cp->buf = NULL;
	cp->len = cp->cap = 0;
	return ok && !failed ? 0 : -1;
}
