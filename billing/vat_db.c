/*
 * vat_db — VAT rates and legal mentions from the database; see vat_db.h.
 *
 * The rates come back as numeric text ("25.5000") and are parsed with
 * money_parse into micro-units of a percent, so no binary floating-point value ever holds a
 * rate.  The table is one allocation (entries, then their 3-byte codes).
 */
#include "vat_db.h"

#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "common/xalloc.h"
#include "money.h"

int vat_db_rates(PGconn *c, const char *date, struct vat_rates *t,
		 struct diag *d)
{
	static const char sql[] =
		"SELECT country, rate::text AS rate FROM vat_rates "
		"WHERE kind = 'standard' AND valid_from <= $1::date "
		"AND (valid_to IS NULL OR $1::date < valid_to) ORDER BY country";
	const char *params[] = {date};
	PGresult *r;
	struct vat_rate *rates;
	char *codes, why[160];
	int i, n, bad = 0;

	memset(t, 0, sizeof(*t));
	r = db_exec(c, d, sql, 1, params);
	if (!r) {
		return -1;
	}
	n = PQntuples(r);
	rates = xcalloc((size_t)n * (sizeof(*rates) + 3) + 1, 1);
	codes = (char *)(rates + n);
	for (i = 0; i < n; i++) {
		const char *cc = db_get(r, i, "country");

		memcpy(codes + 3 * i, cc, 2);
		rates[i].territory = codes + 3 * i;
		if (money_parse(db_get(r, i, "rate"), 0, MONEY_MAX_PLACES,
				&rates[i].rate, why, sizeof(why)) != 0) {
			diag_add(d, "vat_rates: %s: %s", cc, why);
			bad = 1;
		}
	}
	PQclear(r);
	if (bad) {
		free(rates);
		return -1;
	}
	t->r = rates;
	t->n = (size_t)n;
	return 0;
}

void vat_db_rates_free(struct vat_rates *t)
{
	if (!t) {
		return;
	}
	free((void *)t->r);
	t->r = NULL;
	t->n = 0;
}

char *vat_db_mention(PGconn *c, const char *key, const char *language,
		     const char *date, struct diag *d)
{
	static const char sql[] =
		"SELECT legal_mention_on($1, $2, $3::date) AS text";
	const char *params[] = {key, language, date};
	PGresult *r = db_exec(c, d, sql, 3, params);
	const char *v;
	char *s = NULL;

	if (!r) {
		return NULL;
	}
	v = PQntuples(r) == 1 ? db_get(r, 0, "text") : NULL;
	if (v) {
		s = xstrdup(v);
	} else {
		diag_add(d, "no legal mention '%s' in language '%s' on %s "
			    "(see the legal_mentions table)", key, language, date);
	}
	PQclear(r);
	return s;
}
