/*
 * registry_db — the registry in PostgreSQL; see registry_db.h.
 *
 * Set-based: each list travels as one text-array parameter ($1::text[],
 * built by arr_*() with the array literal's quoting, never as SQL text)
 * and is unnested on the server, so an import of a million mailboxes is a
 * handful of statements, not a million round trips.
 *
 * Order inside the transaction matters:
 * 1. an advisory lock serialises concurrent imports and syncs;
 * 2. checks against the database (plans, ownership) -> errors, rollback;
 * 3. customers upserted, rewritten only when a field differs;
 * 4. rows of the file's customers that the file no longer lists deleted
 *    (subscriptions that are not identical to a listed one, then mailboxes
 *    and domains not listed anywhere in the file), so that nothing left
 *    can collide with what is written next;
 * 5. domains and mailboxes upserted in place (other tables may point at
 *    a mailbox: a changed login or dates is an UPDATE, never delete and
 *    re-insert); a login moving from one mailbox to another is parked on
 *    a temporary value first, because UNIQUE (login) is checked per row;
 * 6. missing subscriptions inserted (the exclusion constraint cannot fire:
 *    what remains is a subset of the validated, non-overlapping list).
 */
#include "registry_db.h"

#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "common/xalloc.h"

/* ---- text[] literals ------------------------------------------------ */

struct arr {
	char *b;
	size_t len, cap;
};

static void arr_put(struct arr *a, const char *s, size_t n)
{
	if (a->len + n + 2 > a->cap) {
		a->cap = (a->len + n + 2) * 2;
		a->b = xreallocarray(a->b, a->cap, 1);
	}
	memcpy(a->b + a->len, s, n);
	a->len += n;
	a->b[a->len] = '\0';
}

static void arr_add(struct arr *a, const char *s)
{
	arr_put(a, a->len ? "," : "{", 1);
	if (!s) {
		arr_put(a, "NULL", 4);
		return;
	}
	arr_put(a, "\"", 1);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\') {
			arr_put(a, "\\", 1);
		}
		arr_put(a, s, 1);
	}
	arr_put(a, "\"", 1);
}

/* Close the literal and return it (owned by a; "{}" when empty). */
static const char *arr_end(struct arr *a)
{
	if (!a->len) {
		arr_put(a, "{", 1);
	}
	arr_put(a, "}", 1);
	return a->b;
}

static void arr_free(struct arr *a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(a[i].b);
		a[i].b = NULL;
		a[i].len = a[i].cap = 0;
	}
}

static long tuples(PGresult *r)
{
	return atol(PQcmdTuples(r));
}

static int lock(PGconn *c, struct diag *d)
{
	return db_cmd(c, d,
		      "SELECT pg_advisory_xact_lock(hashtext('releve registry'))",
		      0, NULL);
}

static void rerr(const struct registry *r, struct diag *d, size_t ci,
		 const char *list, size_t idx, const char *field,
		 const char *msg)
{
	char *place = registry_place(r, ci, list, idx, field);

	diag_add(d, "%s: %s: %s", r->file, place, msg);
	free(place);
}

/* ---- checks against the database ----------------------------------- */

static int check_plans(PGconn *c, const struct registry *r, struct diag *d)
{
	PGresult *res;
	size_t i, j, total = 0, before = d->n;
	int k, n;
	char *known = NULL;

	for (i = 0; i < r->n; i++) {
		total += r->v[i].nsubs;
	}
	if (!total) {
		return 0;
	}
	res = db_exec(c, d,
		      "SELECT code FROM tariff_plans GROUP BY code "
		      "ORDER BY min(position), code",
		      0, NULL);
	if (!res) {
		return -1;
	}
	n = PQntuples(res);
	if (n == 0) {
		diag_add(d, "%s: no tariff is loaded: run releve tariff load first "
			 "(subscriptions need known plan codes)", r->file);
		PQclear(res);
		return -1;
	}
	for (k = 0; k < n; k++) {
		char *x = xasprintf("%s%s%s", known ? known : "", k ? ", " : "",
				    PQgetvalue(res, k, 0));

		free(known);
		known = x;
	}
	for (i = 0; i < r->n; i++) {
		for (j = 0; j < r->v[i].nsubs; j++) {
			const char *plan = r->v[i].subs[j].plan;
			char *msg;

			for (k = 0; k < n; k++) {
				if (!strcmp(plan, PQgetvalue(res, k, 0))) {
					break;
				}
			}
			if (k < n) {
				continue;
			}
			msg = xasprintf("unknown plan code '%s' (known: %s)", plan,
					known);
			rerr(r, d, i, "subscriptions", j, "plan", msg);
			free(msg);
		}
	}
	free(known);
	PQclear(res);
	return d->n > before ? -1 : 0;
}

static int check_owners(PGconn *c, const struct registry *r, struct diag *d)
{
	struct arr a[4] = {{0}};
	const char *p[3];
	PGresult *res;
	size_t i, j, before = d->n;
	int k;

	for (i = 0; i < r->n; i++) {
		const struct reg_customer *cu = &r->v[i];

		arr_add(&a[0], cu->id);
		for (j = 0; j < cu->ndomains; j++) {
			arr_add(&a[1], cu->domains[j]);
		}
		for (j = 0; j < cu->nmailboxes; j++) {
			arr_add(&a[2], cu->mailboxes[j].address);
			arr_add(&a[3], cu->mailboxes[j].login);
		}
	}
	p[0] = arr_end(&a[1]);
	p[1] = arr_end(&a[0]);
	res = db_exec(c, d,
		      "SELECT name, customer_id FROM domains "
		      "WHERE name = ANY($1::text[]) "
		      "AND customer_id <> ALL($2::text[])",
		      2, p);
	for (k = 0; res && k < PQntuples(res); k++) {
		const char *name = PQgetvalue(res, k, 0);
		const char *owner = PQgetvalue(res, k, 1);

		for (i = 0; i < r->n; i++) {
			for (j = 0; j < r->v[i].ndomains; j++) {
				if (!strcmp(r->v[i].domains[j], name)) {
					char *msg = xasprintf(
						"domain '%s' belongs to customer %s in the "
						"database (add %s to this file to move it)",
						name, owner, owner);

					rerr(r, d, i, "domains", j, NULL, msg);
					free(msg);
				}
			}
		}
	}
	PQclear(res);
	p[0] = arr_end(&a[2]);
	p[1] = arr_end(&a[3]);
	p[2] = a[0].b;
	res = db_exec(c, d,
		      "SELECT address, login, customer_id FROM mailboxes "
		      "WHERE (address = ANY($1::text[]) OR login = ANY($2::text[])) "
		      "AND customer_id <> ALL($3::text[])",
		      3, p);
	for (k = 0; res && k < PQntuples(res); k++) {
		const char *addr = PQgetvalue(res, k, 0);
		const char *login = PQgetvalue(res, k, 1);
		const char *owner = PQgetvalue(res, k, 2);

		for (i = 0; i < r->n; i++) {
			for (j = 0; j < r->v[i].nmailboxes; j++) {
				const struct reg_mailbox *m = &r->v[i].mailboxes[j];
				char *msg = NULL;

				if (!strcmp(m->address, addr)) {
					msg = xasprintf("mailbox '%s' belongs to customer %s "
							"in the database", addr, owner);
					rerr(r, d, i, "mailboxes", j, "address", msg);
				} else if (!strcmp(m->login, login)) {
					msg = xasprintf("login '%s' is the login of mailbox "
							"'%s' of customer %s in the database",
							login, addr, owner);
					rerr(r, d, i, "mailboxes", j, "login", msg);
				}
				free(msg);
			}
		}
	}
	PQclear(res);
	arr_free(a, 4);
	return d->n > before || !res ? -1 : 0;
}

/* ---- writing -------------------------------------------------------- */

static const char upsert_customers[] =
	"INSERT INTO customers AS c (id, name, kind, address_line1, address_line2,"
	" postal_code, city, country, vat_number, siren, billing_email, language)"
	" SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],"
	" $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],"
	" $11::text[], $12::text[])"
	" ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, kind = EXCLUDED.kind,"
	" address_line1 = EXCLUDED.address_line1,"
	" address_line2 = EXCLUDED.address_line2,"
	" postal_code = EXCLUDED.postal_code, city = EXCLUDED.city,"
	" country = EXCLUDED.country, vat_number = EXCLUDED.vat_number,"
	" siren = EXCLUDED.siren, billing_email = EXCLUDED.billing_email,"
	" language = EXCLUDED.language, updated_at = now()"
	" WHERE (c.name, c.kind, c.address_line1, c.address_line2, c.postal_code,"
	" c.city, c.country, c.vat_number, c.siren, c.billing_email, c.language)"
	" IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.kind, EXCLUDED.address_line1,"
	" EXCLUDED.address_line2, EXCLUDED.postal_code, EXCLUDED.city,"
	" EXCLUDED.country, EXCLUDED.vat_number, EXCLUDED.siren,"
	" EXCLUDED.billing_email, EXCLUDED.language)"
	" RETURNING (xmax = 0) AS inserted";

static int write_customers(PGconn *c, const struct registry *r,
			   struct registry_stats *st, struct diag *d)
{
	struct arr a[12] = {{0}};
	const char *p[12];
	PGresult *res;
	size_t i;
	int k;

	for (i = 0; i < r->n; i++) {
		const struct reg_customer *cu = &r->v[i];

		arr_add(&a[0], cu->id);
		arr_add(&a[1], cu->name);
		arr_add(&a[2], cu->kind);
		arr_add(&a[3], cu->line1);
		arr_add(&a[4], cu->line2);
		arr_add(&a[5], cu->postal_code);
		arr_add(&a[6], cu->city);
		arr_add(&a[7], cu->country);
		arr_add(&a[8], cu->vat_number);
		arr_add(&a[9], cu->siren);
		arr_add(&a[10], cu->billing_email);
		arr_add(&a[11], cu->language);
	}
	for (k = 0; k < 12; k++) {
		p[k] = arr_end(&a[k]);
	}
	res = db_exec(c, d, upsert_customers, 12, p);
	arr_free(a, 12);
	if (!res) {
		return -1;
	}
	for (k = 0; k < PQntuples(res); k++) {
		if (!strcmp(PQgetvalue(res, k, 0), "t")) {
			st->customers_new++;
		} else {
			st->customers_changed++;
		}
	}
	PQclear(res);
	return 0;
}

static int write_lists(PGconn *c, const struct registry *r,
		       struct registry_stats *st, struct diag *d)
{
	/* 0 ids; 1,2 domains (name, customer); 3-7 mailboxes (address, login,
	 * customer, start, end); 8-11 subscriptions (customer, plan, start,
	 * end) */
	struct arr a[12] = {{0}};
	const char *p[12];
	PGresult *res;
	size_t i, j;
	int k, rc = -1;

	for (i = 0; i < r->n; i++) {
		const struct reg_customer *cu = &r->v[i];

		arr_add(&a[0], cu->id);
		for (j = 0; j < cu->ndomains; j++) {
			arr_add(&a[1], cu->domains[j]);
			arr_add(&a[2], cu->id);
		}
		for (j = 0; j < cu->nmailboxes; j++) {
			const struct reg_mailbox *m = &cu->mailboxes[j];

			arr_add(&a[3], m->address);
			arr_add(&a[4], m->login);
			arr_add(&a[5], cu->id);
			arr_add(&a[6], m->start);
			arr_add(&a[7], m->end);
		}
		for (j = 0; j < cu->nsubs; j++) {
			const struct reg_subscription *s = &cu->subs[j];

			arr_add(&a[8], cu->id);
			arr_add(&a[9], s->plan);
			arr_add(&a[10], s->start);
			arr_add(&a[11], s->end);
		}
	}
	for (k = 0; k < 12; k++) {
		p[k] = arr_end(&a[k]);
	}

	/* Deletions first (see the top of the file). */
	res = db_exec(c, d,
		      "DELETE FROM subscriptions s WHERE s.customer_id = ANY($1::text[])"
		      " AND NOT EXISTS (SELECT 1 FROM unnest($2::text[], $3::text[],"
		      " $4::date[], $5::date[]) AS f(c, p, s, e)"
		      " WHERE f.c = s.customer_id AND f.p = s.plan_code"
		      " AND f.s = s.start_date AND f.e IS NOT DISTINCT FROM s.end_date)",
		      5, (const char *const[]){p[0], p[8], p[9], p[10], p[11]});
	if (!res) {
		goto out;
	}
	st->subs_deleted = tuples(res);
	PQclear(res);
	res = db_exec(c, d,
		      "DELETE FROM mailboxes WHERE customer_id = ANY($1::text[])"
		      " AND address <> ALL($2::text[])",
		      2, (const char *const[]){p[0], p[3]});
	if (!res) {
		goto out;
	}
	st->mailboxes_deleted = tuples(res);
	PQclear(res);
	res = db_exec(c, d,
		      "DELETE FROM domains WHERE customer_id = ANY($1::text[])"
		      " AND name <> ALL($2::text[])",
		      2, (const char *const[]){p[0], p[1]});
	if (!res) {
		goto out;
	}
	st->domains_deleted = tuples(res);
	PQclear(res);

	res = db_exec(c, d,
		      "INSERT INTO domains AS d (name, customer_id)"
		      " SELECT * FROM unnest($1::text[], $2::text[])"
		      " ON CONFLICT (name) DO UPDATE SET customer_id = EXCLUDED.customer_id"
		      " WHERE d.customer_id IS DISTINCT FROM EXCLUDED.customer_id",
		      2, (const char *const[]){p[1], p[2]});
	if (!res) {
		goto out;
	}
	st->domains_written = tuples(res);
	PQclear(res);
	if (db_cmd(c, d,
		   "UPDATE mailboxes m SET login = 'releve-moving:' || m.address"
		   " FROM unnest($1::text[], $2::text[]) AS f(a, l)"
		   " WHERE m.address = f.a AND m.login <> f.l",
		   2, (const char *const[]){p[3], p[4]}) != 0) {
		goto out;
	}
	res = db_exec(c, d,
		      "INSERT INTO mailboxes AS m (address, login, domain, customer_id,"
		      " start_date, end_date)"
		      " SELECT f.a, f.l, split_part(f.a, '@', 2), f.c, f.s, f.e"
		      " FROM unnest($1::text[], $2::text[], $3::text[], $4::date[],"
		      " $5::date[]) AS f(a, l, c, s, e)"
		      " ON CONFLICT (address) DO UPDATE SET login = EXCLUDED.login,"
		      " domain = EXCLUDED.domain, customer_id = EXCLUDED.customer_id,"
		      " start_date = EXCLUDED.start_date, end_date = EXCLUDED.end_date"
		      " WHERE (m.login, m.domain, m.customer_id, m.start_date, m.end_date)"
		      " IS DISTINCT FROM (EXCLUDED.login, EXCLUDED.domain,"
		      " EXCLUDED.customer_id, EXCLUDED.start_date, EXCLUDED.end_date)",
		      5, (const char *const[]){p[3], p[4], p[5], p[6], p[7]});
	if (!res) {
		goto out;
	}
	st->mailboxes_written = tuples(res);
	PQclear(res);
	res = db_exec(c, d,
		      "INSERT INTO subscriptions (customer_id, plan_code, start_date,"
		      " end_date)"
		      " SELECT f.c, f.p, f.s, f.e FROM unnest($1::text[], $2::text[],"
		      " $3::date[], $4::date[]) AS f(c, p, s, e)"
		      " WHERE NOT EXISTS (SELECT 1 FROM subscriptions x"
		      " WHERE x.customer_id = f.c AND x.plan_code = f.p"
		      " AND x.start_date = f.s AND x.end_date IS NOT DISTINCT FROM f.e)",
		      4, (const char *const[]){p[8], p[9], p[10], p[11]});
	if (!res) {
		goto out;
	}
	st->subs_written = tuples(res);
	PQclear(res);
	rc = 0;
out:
	arr_free(a, 12);
	return rc;
}

int registry_db_store(PGconn *c, const struct registry *r, int dry_run,
		      struct registry_stats *st, struct diag *d)
{
	int bad = 0;

	memset(st, 0, sizeof(*st));
	if (db_begin(c, d) != 0) {
		return -1;
	}
	if (lock(c, d) != 0) {
		goto fail;
	}
	/* Both checks run, so that every error is reported at once. */
	bad |= check_plans(c, r, d) != 0;
	bad |= check_owners(c, r, d) != 0;
	if (bad || write_customers(c, r, st, d) != 0 ||
	    write_lists(c, r, st, d) != 0) {
		goto fail;
	}
	if (dry_run) {
		db_rollback(c);
		return 0;
	}
	if (db_commit(c, d) != 0) {
		goto fail;
	}
	return 0;
fail:
	db_rollback(c);
	return -1;
}

/* ---- reading -------------------------------------------------------- */

static char *val(const PGresult *res, int row, const char *col)
{
	const char *s = db_get(res, row, col);

	return s ? xstrdup(s) : NULL;
}

static struct reg_customer *by_id(struct registry *r, const char *id)
{
	size_t lo = 0, hi = r->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(r->v[mid].id, id);

		if (c == 0) {
			return &r->v[mid];
		}
		if (c < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return NULL;
}

int registry_db_load(PGconn *c, const char *customer, struct registry *r,
		     struct diag *d)
{
	const char *p[1] = {customer};
	PGresult *res;
	int k, rc = -1;

	/* COLLATE "C": the same order as strcmp(), for by_id(). */
	res = db_exec(c, d,
		      "SELECT id, name, kind, address_line1, address_line2, postal_code,"
		      " city, country, vat_number, siren, billing_email, language"
		      " FROM customers WHERE $1::text IS NULL OR id = $1"
		      " ORDER BY id COLLATE \"C\"",
		      1, p);
	if (!res) {
		return -1;
	}
	for (k = 0; k < PQntuples(res); k++) {
		struct reg_customer *cu;

		if (r->n == r->cap) {
			r->cap = r->cap ? 2 * r->cap : 16;
			r->v = xreallocarray(r->v, r->cap, sizeof(*r->v));
		}
		cu = &r->v[r->n++];
		memset(cu, 0, sizeof(*cu));
		cu->line = k;
		cu->id = val(res, k, "id");
		cu->name = val(res, k, "name");
		cu->kind = val(res, k, "kind");
		cu->line1 = val(res, k, "address_line1");
		cu->line2 = val(res, k, "address_line2");
		cu->postal_code = val(res, k, "postal_code");
		cu->city = val(res, k, "city");
		cu->country = val(res, k, "country");
		cu->vat_number = val(res, k, "vat_number");
		cu->siren = val(res, k, "siren");
		cu->billing_email = val(res, k, "billing_email");
		cu->language = val(res, k, "language");
	}
	PQclear(res);

	res = db_exec(c, d,
		      "SELECT name, customer_id FROM domains"
		      " WHERE $1::text IS NULL OR customer_id = $1"
		      " ORDER BY customer_id COLLATE \"C\", name COLLATE \"C\"",
		      1, p);
	if (!res) {
		return -1;
	}
	for (k = 0; k < PQntuples(res); k++) {
		struct reg_customer *cu = by_id(r, db_get(res, k, "customer_id"));

		if (cu) {
			cu->domains = xreallocarray(cu->domains, cu->ndomains + 1,
						    sizeof(*cu->domains));
			cu->domains[cu->ndomains++] = val(res, k, "name");
		}
	}
	PQclear(res);

	res = db_exec(c, d,
		      "SELECT address, login, customer_id,"
		      " to_char(start_date, 'YYYY-MM-DD') AS start,"
		      " to_char(end_date, 'YYYY-MM-DD') AS end"
		      " FROM mailboxes WHERE $1::text IS NULL OR customer_id = $1"
		      " ORDER BY customer_id COLLATE \"C\", address COLLATE \"C\"",
		      1, p);
	if (!res) {
		return -1;
	}
	for (k = 0; k < PQntuples(res); k++) {
		struct reg_customer *cu = by_id(r, db_get(res, k, "customer_id"));
		struct reg_mailbox *m;

		if (!cu) {
			continue;
		}
		cu->mailboxes = xreallocarray(cu->mailboxes, cu->nmailboxes + 1,
					      sizeof(*cu->mailboxes));
		m = &cu->mailboxes[cu->nmailboxes++];
		m->address = val(res, k, "address");
		m->login = val(res, k, "login");
		m->start = val(res, k, "start");
		m->end = val(res, k, "end");
	}
	PQclear(res);

	res = db_exec(c, d,
		      "SELECT customer_id, plan_code,"
		      " to_char(start_date, 'YYYY-MM-DD') AS start,"
		      " to_char(end_date, 'YYYY-MM-DD') AS end"
		      " FROM subscriptions WHERE $1::text IS NULL OR customer_id = $1"
		      " ORDER BY customer_id COLLATE \"C\", start_date",
		      1, p);
	if (!res) {
		return -1;
	}
	for (k = 0; k < PQntuples(res); k++) {
		struct reg_customer *cu = by_id(r, db_get(res, k, "customer_id"));
		struct reg_subscription *s;

		if (!cu) {
			continue;
		}
		cu->subs = xreallocarray(cu->subs, cu->nsubs + 1,
					 sizeof(*cu->subs));
		s = &cu->subs[cu->nsubs++];
		s->plan = val(res, k, "plan_code");
		s->start = val(res, k, "start");
		s->end = val(res, k, "end");
	}
	PQclear(res);
	rc = 0;
	return rc;
}

/* ---- mailcow -------------------------------------------------------- */

static const char *domain_customer(const struct mailcow *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->ndom; i++) {
		if (!strcmp(m->dom[i].name, name)) {
			return m->dom[i].customer;
		}
	}
	return NULL;
}

static int mailcow_checks(PGconn *c, const struct mailcow *m, struct diag *d)
{
	struct arr a[4] = {{0}};
	const char *p[2];
	PGresult *res;
	size_t i, before = d->n;
	int k;

	for (i = 0; i < m->ndom; i++) {
		if (m->dom[i].customer) {
			arr_add(&a[0], m->dom[i].customer);
			arr_add(&a[1], m->dom[i].name);
		}
	}
	for (i = 0; i < m->nmbx; i++) {
		if (!m->mbx[i].skipped) {
			arr_add(&a[2], m->mbx[i].address);
			arr_add(&a[3], m->mbx[i].login);
		}
	}
	p[0] = arr_end(&a[0]);
	res = db_exec(c, d,
		      "SELECT f.id FROM unnest($1::text[]) AS f(id)"
		      " WHERE NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = f.id)",
		      1, p);
	for (k = 0; res && k < PQntuples(res); k++) {
		const char *id = PQgetvalue(res, k, 0);

		for (i = 0; i < m->ndom; i++) {
			if (m->dom[i].customer && !strcmp(m->dom[i].customer, id)) {
				diag_add(d, "domain %s: mapped to customer '%s' (%s), "
					 "which is not in the database (import the "
					 "registry first)", m->dom[i].name, id,
					 m->dom[i].how);
				break; /* once per domain name is enough */
			}
		}
	}
	PQclear(res);
	p[0] = arr_end(&a[1]);
	res = db_exec(c, d,
		      "SELECT name, customer_id FROM domains WHERE name = ANY($1::text[])",
		      1, p);
	for (k = 0; res && k < PQntuples(res); k++) {
		const char *name = PQgetvalue(res, k, 0);
		const char *owner = PQgetvalue(res, k, 1);
		const char *want = domain_customer(m, name);

		if (want && strcmp(want, owner)) {
			diag_add(d, "domain %s: mapped to customer %s, but it belongs "
				 "to customer %s in the database", name, want, owner);
		}
	}
	PQclear(res);
	p[0] = arr_end(&a[2]);
	p[1] = arr_end(&a[3]);
	res = db_exec(c, d,
		      "SELECT address, login, customer_id FROM mailboxes"
		      " WHERE address = ANY($1::text[]) OR login = ANY($2::text[])",
		      2, p);
	for (k = 0; res && k < PQntuples(res); k++) {
		const char *addr = PQgetvalue(res, k, 0);
		const char *login = PQgetvalue(res, k, 1);
		const char *owner = PQgetvalue(res, k, 2);

		for (i = 0; i < m->nmbx; i++) {
			const struct mc_mailbox *x = &m->mbx[i];
			const char *want;

			if (x->skipped) {
				continue;
			}
			want = domain_customer(m, x->domain);
			if (!strcmp(x->address, addr) && strcmp(want, owner)) {
				diag_add(d, "%s: mailbox %s belongs to customer %s in "
					 "the database, not %s", x->where, addr,
					 owner, want);
			} else if (strcmp(x->address, addr) &&
				   !strcmp(x->login, login)) {
				diag_add(d, "%s: login %s is already the login of "
					 "mailbox %s (customer %s)", x->where, login,
					 addr, owner);
			}
		}
	}
	PQclear(res);
	arr_free(a, 4);
	return d->n > before ? -1 : 0;
}

int mailcow_db_store(PGconn *c, const struct mailcow *m, int dry_run,
		     struct mailcow_stats *st, struct diag *d)
{
	struct arr a[6] = {{0}};
	const char *p[6];
	PGresult *res;
	size_t i;
	int k;

	memset(st, 0, sizeof(*st));
	if (db_begin(c, d) != 0) {
		return -1;
	}
	if (lock(c, d) != 0 || mailcow_checks(c, m, d) != 0) {
		goto fail;
	}
	for (i = 0; i < m->ndom; i++) {
		if (m->dom[i].customer) {
			arr_add(&a[0], m->dom[i].name);
			arr_add(&a[1], m->dom[i].customer);
		}
	}
	for (i = 0; i < m->nmbx; i++) {
		const struct mc_mailbox *x = &m->mbx[i];

		if (!x->skipped) {
			arr_add(&a[2], x->address);
			arr_add(&a[3], x->login);
			arr_add(&a[4], domain_customer(m, x->domain));
			arr_add(&a[5], x->created);
		}
	}
	for (k = 0; k < 6; k++) {
		p[k] = arr_end(&a[k]);
	}
	res = db_exec(c, d,
		      "INSERT INTO domains (name, customer_id)"
		      " SELECT * FROM unnest($1::text[], $2::text[])"
		      " ON CONFLICT (name) DO NOTHING",
		      2, p);
	if (!res) {
		goto fail;
	}
	st->domains_written = tuples(res);
	PQclear(res);
	/* A new mailbox exists from the day mailcow created it; an existing
	 * one keeps the days the registry gave it. */
	res = db_exec(c, d,
		      "INSERT INTO mailboxes AS m (address, login, domain, customer_id,"
		      " start_date)"
		      " SELECT f.a, f.l, split_part(f.a, '@', 2), f.c, f.s"
		      " FROM unnest($1::text[], $2::text[], $3::text[], $4::date[])"
		      " AS f(a, l, c, s)"
		      " ON CONFLICT (address) DO UPDATE SET login = EXCLUDED.login"
		      " WHERE m.login IS DISTINCT FROM EXCLUDED.login",
		      4, (const char *const[]){p[2], p[3], p[4], p[5]});
	if (!res) {
		goto fail;
	}
	st->mailboxes_written = tuples(res);
	PQclear(res);
	arr_free(a, 6);
	if (dry_run) {
		db_rollback(c);
		return 0;
	}
	return db_commit(c, d) == 0 ? 0 : -1;
fail:
	arr_free(a, 6);
	db_rollback(c);
	return -1;
}
