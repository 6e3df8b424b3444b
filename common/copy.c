/*
 * copy — COPY FROM STDIN in text format; see copy.h.
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

static void sep(struct copy *cp)
{
	if (cp->fields++) {
		reserve(cp, 1);
		cp->buf[cp->len++] = '\t';
	}
}

void copy_text(struct copy *cp, const char *s)
{
	sep(cp);
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
	reserve(cp, 24);
	cp->len += (size_t)snprintf(cp->buf + cp->len, 24, "%" PRId64, v);
}

void copy_null(struct copy *cp)
{
	sep(cp);
	reserve(cp, 2);
	cp->buf[cp->len++] = '\\';
	cp->buf[cp->len++] = 'N';
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
	reserve(cp, 1);
	cp->buf[cp->len++] = '\n';
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
