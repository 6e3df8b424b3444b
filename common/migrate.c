/*
 * migrate — apply and check schema migrations; see migrate.h.
 *
 * Concurrency: a transaction-level advisory lock serialises migrators, so
 * two `releve db migrate` started at once apply each migration once.  The
 * checksum is computed by the server (sha256()), which keeps a crypto
 * library out of the build.
 */
#include "migrate.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "file.h"
#include "xalloc.h"

/* Arbitrary constant identifying releve's migration lock. */
#define MIGRATE_LOCK "7265766c6d6967"

static const char bootstrap_sql[] =
	"CREATE TABLE IF NOT EXISTS releve_migrations ("
	" version integer PRIMARY KEY,"
	" name text NOT NULL,"
	" checksum text NOT NULL,"
	" applied_at timestamptz NOT NULL DEFAULT now())";

static int cmp_migration(const void *a, const void *b)
{
	const struct migration *x = a, *y = b;

	return (x->version > y->version) - (x->version < y->version);
}

int migrate_load(struct migration_set *set, const char *dir, struct diag *d)
{
	DIR *dh;
	struct dirent *e;
	size_t cap = 0;

	memset(set, 0, sizeof(*set));
	if (!dir) {
		set->m = (struct migration *)releve_migrations;
		set->n = releve_nmigrations;
		return 0;
	}
	set->owned = 1;
	dh = opendir(dir);
	if (!dh) {
		diag_add(d, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(dh))) {
		const char *nm = e->d_name;
		size_t len = strlen(nm);

		if (len < 9 || strcmp(nm + len - 4, ".sql") != 0) {
			continue;
		}
		if (nm[0] < '0' || nm[0] > '9' || nm[1] < '0' || nm[1] > '9' ||
		    nm[2] < '0' || nm[2] > '9' || nm[3] != '_') {
			diag_add(d, "%s/%s: a migration is named NNN_name.sql",
				 dir, nm);
			continue;
		}
		char *path = xasprintf("%s/%s", dir, nm);
		char *sql = file_read_all(path, NULL, d);

		free(path);
		if (!sql) {
			continue;
		}
		if (set->n == cap) {
			cap = cap ? 2 * cap : 16;
			set->m = xreallocarray(set->m, cap, sizeof(*set->m));
		}
		set->m[set->n].version = atoi(nm);
		set->m[set->n].name = xstrndup(nm, len - 4);
		set->m[set->n].sql = sql;
		set->n++;
	}
	closedir(dh);
	qsort(set->m, set->n, sizeof(*set->m), cmp_migration);
	for (size_t i = 1; i < set->n; i++) {
		if (set->m[i].version == set->m[i - 1].version) {
			diag_add(d, "%s: two migrations numbered %03d", dir,
				 set->m[i].version);
		}
	}
	return d->n ? -1 : 0;
}

void migrate_set_free(struct migration_set *set)
{
	if (!set) {
		return;
	}
	if (set->owned) {
		for (size_t i = 0; i < set->n; i++) {
			free((char *)set->m[i].name);
			free((char *)set->m[i].sql);
		}
		free(set->m);
	}
	memset(set, 0, sizeof(*set));
}

/* Checksums of the set's texts, computed by the server. */
static char **checksums(PGconn *c, const struct migration_set *set,
			struct diag *d)
{
	char **sums = xcalloc(set->n, sizeof(*sums));

	for (size_t i = 0; i < set->n; i++) {
		const char *p[1] = {set->m[i].sql};
		PGresult *r = db_exec(c, d,
			"SELECT encode(sha256(convert_to($1, 'UTF8')), 'hex')",
			1, p);

		if (!r) {
			for (size_t j = 0; j < i; j++) {
				free(sums[j]);
			}
			free(sums);
			return NULL;
		}
		sums[i] = xstrdup(PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	return sums;
}

static void free_sums(char **sums, size_t n)
{
	if (!sums) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		free(sums[i]);
	}
	free(sums);
}

static const struct migration *find(const struct migration_set *set, int v,
				    size_t *idx)
{
	for (size_t i = 0; i < set->n; i++) {
		if (set->m[i].version == v) {
			*idx = i;
			return &set->m[i];
		}
	}
	return NULL;
}

/*
 * Compare the applied rows with the set: a changed or unknown applied
 * migration is an error.  applied[i] is set for the set's applied ones.
 */
static int compare(PGconn *c, const struct migration_set *set, char **sums,
		   int *applied, FILE *out, struct diag *d)
{
	PGresult *r = db_exec(c, d,
		"SELECT version, name, checksum, "
		"to_char(applied_at, 'YYYY-MM-DD HH24:MI:SS') AS at "
		"FROM releve_migrations ORDER BY version", 0, NULL);
	int bad = 0;

	if (!r) {
		return -1;
	}
	for (int row = 0; row < PQntuples(r); row++) {
		int v = atoi(db_get(r, row, "version"));
		const char *name = db_get(r, row, "name");
		size_t i;
		const struct migration *m = find(set, v, &i);

		if (!m) {
			diag_add(d, "migration %s is applied in the database "
				    "but unknown to this releve (is it older "
				    "than the schema?)", name);
			bad = 1;
			continue;
		}
		applied[i] = 1;
		if (strcmp(sums[i], db_get(r, row, "checksum")) != 0) {
			diag_add(d, "sql/%s.sql was changed after it was "
				    "applied on %s: the schema no longer "
				    "matches the files; restore the file and "
				    "write a new migration instead", m->name,
				 db_get(r, row, "at"));
			bad = 1;
		}
		if (out) {
			fprintf(out, "%-32s applied %s%s\n", m->name,
				db_get(r, row, "at"),
				strcmp(sums[i], db_get(r, row, "checksum"))
					? " CHANGED SINCE" : "");
		}
	}
	PQclear(r);
	return bad ? -1 : 0;
}

int migrate_apply(PGconn *c, const struct migration_set *set, FILE *out,
		  struct diag *d)
{
	char **sums = NULL;
	int *applied = xcalloc(set->n ? set->n : 1, sizeof(*applied));
	int rc = -1, count = 0;

	/* Serialise migrators for the whole run. */
	if (db_cmd(c, d, "SELECT pg_advisory_lock(x'" MIGRATE_LOCK "'::bigint)",
		   0, NULL) ||
	    db_cmd(c, d, bootstrap_sql, 0, NULL)) {
		goto out;
	}
	sums = checksums(c, set, d);
	if (!sums || compare(c, set, sums, applied, NULL, d) != 0) {
		goto out;
	}
	for (size_t i = 0; i < set->n; i++) {
		char ver[16];
		const char *p[3] = {ver, set->m[i].name, sums[i]};

		if (applied[i]) {
			continue;
		}
		snprintf(ver, sizeof(ver), "%d", set->m[i].version);
		if (db_begin(c, d) ||
		    db_script(c, d, set->m[i].name, set->m[i].sql) ||
		    db_cmd(c, d,
			   "INSERT INTO releve_migrations (version, name, checksum) "
			   "VALUES ($1, $2, $3)", 3, p) ||
		    db_commit(c, d)) {
			db_rollback(c);
			diag_add(d, "migration %s not applied; nothing of it "
				    "was kept", set->m[i].name);
			goto out;
		}
		count++;
		if (out) {
			fprintf(out, "applied %s\n", set->m[i].name);
		}
	}
	if (out && count == 0) {
		fprintf(out, "schema up to date (%zu migrations)\n", set->n);
	}
	rc = 0;
out:
	db_rollback(c);
	PQclear(PQexec(c, "SELECT pg_advisory_unlock_all()"));
	free_sums(sums, set->n);
	free(applied);
	return rc;
}

int migrate_status(PGconn *c, const struct migration_set *set, FILE *out,
		   struct diag *d)
{
	char **sums = NULL;
	int *applied = xcalloc(set->n ? set->n : 1, sizeof(*applied));
	int rc = -1;
	PGresult *r;

	r = db_exec(c, d, "SELECT to_regclass('releve_migrations') IS NOT NULL",
		    0, NULL);
	if (!r) {
		goto out;
	}
	int exists = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	sums = checksums(c, set, d);
	if (!sums) {
		goto out;
	}
	rc = exists ? compare(c, set, sums, applied, out, d) : 0;
	for (size_t i = 0; i < set->n; i++) {
		if (!applied[i]) {
			fprintf(out, "%-32s pending\n", set->m[i].name);
		}
	}
out:
	free_sums(sums, set->n);
	free(applied);
	return rc;
}

int migrate_check(PGconn *c, struct diag *d)
{
	struct migration_set set;
	char **sums;
	int *applied, rc;
	PGresult *r;

	r = db_exec(c, d, "SELECT to_regclass('releve_migrations') IS NOT NULL",
		    0, NULL);
	if (!r) {
		return -1;
	}
	int exists = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	if (!exists) {
		diag_add(d, "the database has no releve schema: run "
			    "'releve db migrate' first");
		return -1;
	}
	migrate_load(&set, NULL, d);
	applied = xcalloc(set.n ? set.n : 1, sizeof(*applied));
	sums = checksums(c, &set, d);
	rc = sums ? compare(c, &set, sums, applied, NULL, d) : -1;
	for (size_t i = 0; rc == 0 && i < set.n; i++) {
		if (!applied[i]) {
			diag_add(d, "migration %s is not applied: run "
				    "'releve db migrate'", set.m[i].name);
			rc = -1;
		}
	}
	free_sums(sums, set.n);
	free(applied);
	return rc;
}
