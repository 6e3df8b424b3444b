/*
 * tariff_db — store and load tariff versions; see tariff_db.h.
 *
 * The stored document is the canonical form, so "same content" is a plain
 * jsonb equality and `tariff show --json | tariff load -` is a no-op.  The
 * table is locked (SHARE ROW EXCLUSIVE: readers go on, a second loader
 * waits) for the whole transaction, so two concurrent loads cannot both
 * take the same effective date.  Loading reads the document back through
 * tariff_from_json(): the version is validated again on its way out.
 */
#include "tariff_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "common/xalloc.h"
#include "money.h"

static int store_plans(PGconn *c, const struct tariff *t, struct diag *d)
{
	static const char sql[] =
		"INSERT INTO tariff_plans (version, code, name, position, "
		"monthly_fee, outbound_per_day, storage_included) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7)";

	for (size_t i = 0; i < t->nplans; i++) {
		const struct tariff_plan *p = &t->plans[i];
		char pos[24], fee[MONEY_FMT_MAX], out[24], sto[24];
		const char *params[] = {t->version, p->code, p->name, pos,
					fee, out, sto};

		snprintf(pos, sizeof(pos), "%zu", i + 1);
		money_format(fee, p->monthly_fee, 0);
		snprintf(out, sizeof(out), "%lld", (long long)p->outbound_per_day);
		snprintf(sto, sizeof(sto), "%lld", (long long)p->storage_included);
		if (db_cmd(c, d, sql, 7, params) != 0) {
			return -1;
		}
	}
	return 0;
}

static int store_version(PGconn *c, const struct tariff *t, const char *doc,
			 int replace, struct diag *d)
{
	static const char ins[] =
		"INSERT INTO tariff_versions (version, effective_from, "
		"currency, timezone, addon_block_bytes, addon_monthly_fee, "
		"outbound_unit, count_local, warn_ratio, tolerated_days, "
		"block_ratio, overage_per_1000, vat_oss, document) VALUES "
		"($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
		"$14::jsonb)";
	static const char upd[] =
		"UPDATE tariff_versions SET effective_from = $2, currency = $3, "
		"timezone = $4, addon_block_bytes = $5, addon_monthly_fee = $6, "
		"outbound_unit = $7, count_local = $8, warn_ratio = $9, "
		"tolerated_days = $10, block_ratio = $11, "
		"overage_per_1000 = $12, vat_oss = $13, document = $14::jsonb, "
		"loaded_at = now() WHERE version = $1";
	static const char del[] = "DELETE FROM tariff_plans WHERE version = $1";
	char block[24], afee[MONEY_FMT_MAX], warn[MONEY_FMT_MAX],
		blk[MONEY_FMT_MAX], over[MONEY_FMT_MAX], tol[16];
	const char *params[] = {
		t->version, t->effective_from, t->currency, t->timezone,
		t->has_addon ? block : NULL, t->has_addon ? afee : NULL,
		tariff_unit_name(t->unit), t->count_local ? "true" : "false",
		warn, tol, blk, over, t->vat_oss ? "true" : "false", doc,
	};

	snprintf(block, sizeof(block), "%lld", (long long)t->addon_block);
	money_format(afee, t->addon_monthly_fee, 0);
	money_format(warn, t->warn_ratio, 0);
	money_format(blk, t->block_ratio, 0);
	money_format(over, t->overage_per_1000, 0);
	snprintf(tol, sizeof(tol), "%d", t->tolerated_days);
	if (replace) {
		if (db_cmd(c, d, del, 1, params) != 0 ||
		    db_cmd(c, d, upd, 14, params) != 0) {
			return -1;
		}
	} else if (db_cmd(c, d, ins, 14, params) != 0) {
		return -1;
	}
	return store_plans(c, t, d);
}

int tariff_db_store(PGconn *c, const struct tariff *t, const char *name,
		    enum tariff_store *how, struct diag *d)
{
	json_t *j = tariff_to_json(t);
	char *doc = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	const char *p1[] = {t->version, doc};
	const char *p2[] = {t->effective_from, t->version};
	const char *p3[] = {t->timezone};
	PGresult *r = NULL;
	int rc = -1, exists = 0, same = 0, locked = 0;
	size_t before = d->n;

	json_decref(j);
	if (!doc) {
		abort(); /* jansson fails only when out of memory */
	}
	if (db_begin(c, d) != 0) {
		free(doc);
		return -1;
	}
	if (db_cmd(c, d, "LOCK TABLE tariff_versions IN SHARE ROW EXCLUSIVE "
			 "MODE", 0, NULL) != 0) {
		goto out;
	}
	r = db_exec(c, d, "SELECT 1 FROM pg_timezone_names WHERE name = $1",
		    1, p3);
	if (!r) {
		goto out;
	}
	if (PQntuples(r) == 0) {
		diag_add(d, "%s: timezone: \"%s\" is not a time zone known to "
			 "the database (such as \"Europe/Paris\")", name,
			 t->timezone);
	}
	PQclear(r);
	r = db_exec(c, d, "SELECT version FROM tariff_versions "
			  "WHERE effective_from = $1 AND version <> $2",
		    2, p2);
	if (!r) {
		goto out;
	}
	if (PQntuples(r) > 0) {
		diag_add(d, "%s: effective_from: %s is already the effective "
			 "date of version %s (each version needs its own date)",
			 name, t->effective_from, db_get(r, 0, "version"));
	}
	PQclear(r);
	r = db_exec(c, d, "SELECT locked, document = $2::jsonb AS same "
			  "FROM tariff_versions WHERE version = $1",
		    2, p1);
	if (!r) {
		goto out;
	}
	if (PQntuples(r) > 0) {
		exists = 1;
		locked = !strcmp(db_get(r, 0, "locked"), "t");
		same = !strcmp(db_get(r, 0, "same"), "t");
	}
	PQclear(r);
	r = NULL;
	if (d->n != before) {
		goto out;
	}
	if (exists && same) {
		*how = TARIFF_UNCHANGED;
		rc = 0;
		goto out; /* rolls back: nothing was written */
	}
	if (exists && locked) {
		diag_add(d, "%s: version: tariff version %s is used by an "
			 "invoice and cannot change; load the new grid under "
			 "a new version with its own effective_from", name,
			 t->version);
		goto out;
	}
	if (store_version(c, t, doc, exists, d) != 0 || db_commit(c, d) != 0) {
		goto out;
	}
	*how = exists ? TARIFF_REPLACED : TARIFF_INSERTED;
	free(doc);
	return 0;
out:
	db_rollback(c);
	free(doc);
	return rc;
}

/* Parse row i of r (columns version, locked, document) into *t. */
static int from_row(PGresult *r, int i, struct tariff *t, int *locked,
		    struct diag *d)
{
	const char *doc = db_get(r, i, "document");
	char *name = xasprintf("tariff version %s (database)",
			       db_get(r, i, "version"));
	int rc = tariff_parse(t, name, doc, strlen(doc), d);

	free(name);
	if (locked) {
		*locked = !strcmp(db_get(r, i, "locked"), "t");
	}
	return rc;
}

static int load_one(PGconn *c, const char *sql, int n, const char *const *p,
		    struct tariff *t, int *locked, struct diag *d)
{
	PGresult *r = db_exec(c, d, sql, n, p);
	int rc;

	memset(t, 0, sizeof(*t));
	if (!r) {
		return -1;
	}
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 1;
	}
	rc = from_row(r, 0, t, locked, d);
	PQclear(r);
	return rc;
}

int tariff_db_load(PGconn *c, const char *version, struct tariff *t,
		   int *locked, struct diag *d)
{
	const char *p[] = {version};

	if (version) {
		return load_one(c, "SELECT version, locked, document::text "
				   "AS document FROM tariff_versions "
				   "WHERE version = $1",
				1, p, t, locked, d);
	}
	return load_one(c, "SELECT version, locked, document::text AS document "
			   "FROM tariff_versions ORDER BY effective_from DESC "
			   "LIMIT 1",
			0, NULL, t, locked, d);
}

int tariff_db_in_effect(PGconn *c, const char *day, struct tariff *t,
			struct diag *d)
{
	const char *p[] = {day};

	return load_one(c, "SELECT version, locked, document::text AS document "
			   "FROM tariff_versions WHERE effective_from <= $1 "
			   "ORDER BY effective_from DESC LIMIT 1",
			1, p, t, NULL, d);
}

int tariff_db_load_all(PGconn *c, struct tariff **ts, int **locked, size_t *n,
		       struct diag *d)
{
	PGresult *r = db_exec(c, d, "SELECT version, locked, document::text "
				    "AS document FROM tariff_versions "
				    "ORDER BY effective_from",
			      0, NULL);
	size_t k = 0, before = d->n;

	*ts = NULL;
	*locked = NULL;
	*n = 0;
	if (!r) {
		return -1;
	}
	*ts = xcalloc((size_t)PQntuples(r) + 1, sizeof(**ts));
	*locked = xcalloc((size_t)PQntuples(r) + 1, sizeof(**locked));
	for (int i = 0; i < PQntuples(r); i++) {
		if (from_row(r, i, &(*ts)[k], &(*locked)[k], d) == 0) {
			k++;
		}
	}
	PQclear(r);
	*n = k;
	return d->n != before ? -1 : 0;
}
