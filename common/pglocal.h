/*
 * pglocal — the project's own throwaway PostgreSQL cluster.
 *
 * The cluster lives in a state folder /var/tmp/releve-<uid>-<hash>, where
 * hash identifies the project folder, and <project>/var/pg is a symbolic
 * link to it.  Why not in the checkout itself: PostgreSQL refuses to run as
 * root, so as root the server runs as the `postgres` user, and a checkout
 * under /root (mode 0700) is closed to that user.  The state folder is
 * owned by the server's user; the Unix socket is in its sock/ folder, TCP
 * is off.  Unprivileged users get the same layout, owned by themselves.
 *
 * Functions return 0 on success, -1 with a message in diag.
 */
#ifndef RELEVE_PGLOCAL_H
#define RELEVE_PGLOCAL_H

#include <stdio.h>
#include <sys/types.h>

#include "diag.h"

#define PGLOCAL_USER "releve"
#define PGLOCAL_DB "releve"
#define PGLOCAL_PORT 5432

struct pglocal {
	char *root;    /* project folder (real path) */
	char *link;    /* root/var/pg */
	char *state;   /* /var/tmp/releve-<uid>-<hash> */
	char *data;    /* state/data: PGDATA */
	char *sock;    /* state/sock: unix_socket_directories */
	char *logfile; /* state/server.log */
	char *bindir;  /* folder of initdb and pg_ctl */
	uid_t run_uid; /* the server's user */
	gid_t run_gid;
};

/* dir: the project folder (NULL: current folder). */
int pglocal_init(struct pglocal *pl, const char *dir, struct diag *d);
void pglocal_free(struct pglocal *pl);

/* Create the cluster if needed, start it unless running, create the
 * database.  *started tells whether it was started now. */
int pglocal_start(struct pglocal *pl, int *started, struct diag *d);
int pglocal_stop(struct pglocal *pl, int *stopped, struct diag *d);
/* 1 when the server answers, 0 when not. */
int pglocal_running(const struct pglocal *pl);
/* Stop and remove the cluster and the link. */
int pglocal_destroy(struct pglocal *pl, struct diag *d);
/* Print `export PGHOST=... PGPORT=... PGUSER=... PGDATABASE=...`. */
void pglocal_env(const struct pglocal *pl, FILE *f);
/* libpq conninfo for database db of the cluster (caller frees). */
char *pglocal_conninfo(const struct pglocal *pl, const char *db);

#endif
