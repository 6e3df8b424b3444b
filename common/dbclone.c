/*
 * dbclone — open a connection like another; see dbclone.h.
 *
 * libpq tells the options a connection was opened with (PQconninfo);
 * they are written back as a conninfo string, each value quoted, and
 * handed to db_connect, so the new session gets the same setup (time
 * zone, message level) as every other.  The password, when there is
 * one, stays in memory and is wiped before it is freed.
 */
#include "dbclone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "xalloc.h"

/* Append "key='value' " to *buf (len, cap), quoting as libpq reads it. */
static void put(char **buf, size_t *len, size_t *cap, const char *key,
		const char *val)
{
	size_t need = strlen(key) + 2 * strlen(val) + 5;

	if (!*buf || *len + need + 1 > *cap) {
		char *n;

		*cap = (*len + need + 1) * 2;
		n = xmalloc(*cap);
		if (*buf) {
			memcpy(n, *buf, *len);
			explicit_bzero(*buf, *len);
			free(*buf);
		}
		*buf = n;
	}
	*len += (size_t)sprintf(*buf + *len, "%s='", key);
	for (const char *p = val; *p; p++) {
		if (*p == '\'' || *p == '\\') {
			(*buf)[(*len)++] = '\\';
		}
		(*buf)[(*len)++] = *p;
	}
	(*buf)[(*len)++] = '\'';
	(*buf)[(*len)++] = ' ';
	(*buf)[*len] = '\0';
}

PGconn *db_connect_like(PGconn *c, struct diag *d)
{
	PQconninfoOption *opts = PQconninfo(c);
	char *info = NULL;
	size_t len = 0, cap = 0;
	PGconn *n;

	if (!opts) {
		diag_add(d, "cannot read the connection's settings");
		return NULL;
	}
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		if (o->val && *o->val) {
			put(&info, &len, &cap, o->keyword, o->val);
		}
	}
	PQconninfoFree(opts);
	n = db_connect(info ? info : "", d);
	if (info) {
		explicit_bzero(info, len);
		free(info);
	}
	return n;
}
