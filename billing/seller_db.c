/*
 * seller_db — the one row of the `seller` table; see seller.h.
 *
 * The canonical document is stored next to the columns; "unchanged" is a
 * jsonb equality, and loading goes back through seller_from_json() so the
 * stored identity is validated again on its way to an invoice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/db.h"
#include "common/jsonv.h"
#include "money.h"
#include "seller.h"

int seller_db_store(PGconn *c, const struct seller *s, int *changed,
		    struct diag *d)
{
	static const char sql[] =
		"INSERT INTO seller (id, name, legal_form, capital, "
		"address_line1, address_line2, postal_code, city, country, "
		"siren, rcs, vat_number, iban, bic, email, phone, website, "
		"payment_terms_days, payment_terms, late_penalty_rate, "
		"recovery_indemnity, document) VALUES (1, $1, $2, $3, $4, $5, "
		"$6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, "
		"$19, $20, $21::jsonb) "
		"ON CONFLICT (id) DO UPDATE SET name = $1, legal_form = $2, "
		"capital = $3, address_line1 = $4, address_line2 = $5, "
		"postal_code = $6, city = $7, country = $8, siren = $9, "
		"rcs = $10, vat_number = $11, iban = $12, bic = $13, "
		"email = $14, phone = $15, website = $16, "
		"payment_terms_days = $17, payment_terms = $18, "
		"late_penalty_rate = $19, recovery_indemnity = $20, "
		"document = $21::jsonb, updated_at = now() "
		"WHERE seller.document IS DISTINCT FROM $21::jsonb";
	json_t *j = seller_to_json(s);
	char *doc = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	char cap[MONEY_FMT_MAX], days[16], rate[MONEY_FMT_MAX],
		ind[MONEY_FMT_MAX];
	const char *p[] = {
		s->name, s->legal_form, s->has_capital ? cap : NULL, s->line1,
		s->line2, s->postal_code, s->city, s->country, s->siren,
		s->rcs, s->vat_number, s->iban, s->bic, s->email, s->phone,
		s->website, days, s->payment_terms, rate, ind, doc,
	};
	PGresult *r;

	json_decref(j);
	if (!doc) {
		abort(); /* jansson fails only when out of memory */
	}
	money_format(cap, s->capital, 2);
	snprintf(days, sizeof(days), "%d", s->payment_terms_days);
	money_format(rate, s->late_penalty_rate, 2);
	money_format(ind, s->recovery_indemnity, 2);
	/* One statement: atomic on its own, no transaction needed. */
	r = db_exec(c, d, sql, 21, p);
	free(doc);
	if (!r) {
		return -1;
	}
	*changed = atoi(PQcmdTuples(r)) > 0;
	PQclear(r);
	return 0;
}

int seller_db_load(PGconn *c, struct seller *s, struct diag *d)
{
	PGresult *r = db_exec(c, d, "SELECT document::text AS document "
				    "FROM seller WHERE id = 1",
			      0, NULL);
	json_t *j;
	int rc;

	memset(s, 0, sizeof(*s));
	if (!r) {
		return -1;
	}
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 1;
	}
	j = jsonv_load_buffer("seller (database)", db_get(r, 0, "document"),
			      strlen(db_get(r, 0, "document")), d);
	PQclear(r);
	if (!j) {
		return -1;
	}
	rc = seller_from_json(s, "seller (database)", j, d);
	json_decref(j);
	return rc;
}
