/*
 * dbprep — prepared statements remembered per connection; see dbprep.h.
 * The list of a connection's statements is libpq instance data of an
 * event procedure, so that PQreset (a new server session: no statement
 * left) and PQfinish clear it without the callers' help.
 */
#include "dbprep.h"

#include <libpq-events.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

struct prepared {
	const char **names;
	size_t n, cap;
};

static int events(PGEventId id, void *info, void *pass)
{
	(void)pass;
	if (id == PGEVT_CONNRESET) {
		const PGEventConnReset *e = info;
		struct prepared *p = PQinstanceData(e->conn, events);

		if (p) {
			p->n = 0;
		}
	} else if (id == PGEVT_CONNDESTROY) {
		const PGEventConnDestroy *e = info;
		struct prepared *p = PQinstanceData(e->conn, events);

		if (p) {
			free(p->names);
			free(p);
		}
	}
	return 1;
}

static void report(PGconn *c, struct diag *d, const char *sql,
		   const PGresult *r)
{
	const char *m = r ? PQresultErrorMessage(r) : PQerrorMessage(c);
	size_t mlen = strlen(m), slen;

	while (mlen > 0 && (m[mlen - 1] == '\n' || m[mlen - 1] == ' ')) {
		mlen--;
	}
	while (*sql == ' ' || *sql == '\t') {
		sql++;
	}
	slen = strcspn(sql, "\n");
	diag_add(d, "database: %.*s (in: %.*s%s)", (int)mlen, m,
		 slen > 60 ? 60 : (int)slen, sql, slen > 60 ? "…" : "");
}

/* The connection's list, made on first use; NULL if libpq refuses. */
static struct prepared *list_of(PGconn *c)
{
	struct prepared *p = PQinstanceData(c, events);

	if (p) {
		return p;
	}
	if (!PQregisterEventProc(c, events, "releve dbprep", NULL)) {
		return NULL;
	}
	p = xcalloc(1, sizeof(*p));
	if (!PQsetInstanceData(c, events, p)) {
		free(p);
		return NULL;
	}
	return p;
}

PGresult *db_prepared(PGconn *c, struct diag *d, const char *name,
		      const char *sql, int n, const char *const *params)
{
	struct prepared *p = list_of(c);
	ExecStatusType st;
	PGresult *r;
	size_t i = 0;

	if (!p) {
		diag_add(d, "database: cannot keep prepared statements");
		return NULL;
	}
	while (i < p->n && strcmp(p->names[i], name) != 0) {
		i++;
	}
	if (i == p->n) {
		r = PQprepare(c, name, sql, n, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			report(c, d, sql, r);
			PQclear(r);
			return NULL;
		}
		PQclear(r);
		if (p->n == p->cap) {
			p->cap = p->cap ? 2 * p->cap : 8;
			p->names = xreallocarray(p->names, p->cap,
						 sizeof(*p->names));
		}
		p->names[p->n++] = name;
	}
	r = PQexecPrepared(c, name, n, params, NULL, NULL, 0);
	st = PQresultStatus(r);
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
		return r;
	}
	report(c, d, sql, r);
	PQclear(r);
	return NULL;
}
