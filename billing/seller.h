/*
 * seller — the seller's legal identity printed on every invoice (French
 * mentions: name, legal form, capital, address, SIREN, RCS, VAT number,
 * payment terms, late penalties, the 40 EUR recovery indemnity).
 *
 * seller_from_json() validates the JSON document of `releve seller set`
 * (pure, every error with file and JSON path); seller_to_json() writes it
 * back in canonical form, so that set(show --json) changes nothing.
 * seller_db_*() store and load the one row of the `seller` table.
 *
 * Which fields a legal form needs (decided here, documented in README):
 * capital and RCS are required for companies (SAS, SASU, SARL, EURL, SA,
 * SCOP, SCIC, SNC, ...); an association (loi 1901) has no capital and is
 * not in the RCS, so it must not give a capital and may omit the RCS; an
 * individual entrepreneur (EI, EIRL, micro-entrepreneur) has no capital
 * and may omit the RCS (artisans are in the RNE, not the RCS).
 */
#ifndef RELEVE_SELLER_H
#define RELEVE_SELLER_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "common/diag.h"

enum seller_kind {
	SELLER_COMPANY,
	SELLER_ASSOCIATION,
	SELLER_INDIVIDUAL, /* EI, EIRL, micro-entrepreneur */
};

struct seller {
	char *name;
	char *legal_form; /* as printed: "SAS", "SCOP SARL", ... */
	int has_capital;
	int64_t capital; /* micro-units, at most 2 decimals */
	char *line1, *line2; /* line2 may be NULL */
	char *postal_code, *city;
	char *country; /* ISO 3166-1 alpha-2 */
	char *siren;   /* 9 digits, valid Luhn key */
	char *rcs;     /* "RCS Lyon 852 379 164"; NULL when not registered */
	char *vat_number;
	char *iban, *bic;
	char *email;
	char *phone, *website; /* may be NULL */
	int payment_terms_days; /* 0..60 */
	char *payment_terms;	/* "Paiement à 30 jours par virement" */
	int64_t late_penalty_rate;  /* micro-units of percent: 12.15 % */
	int64_t recovery_indemnity; /* micro-units, default 40.00 */
	/* "invoicing": the number series (letters, 1..8 of [A-Za-z]) of
	 * invoices ("F") and credit notes ("A"), and the digits of the
	 * sequence (6: F2026-000123; more digits once a year passes
	 * 10^digits - 1). */
	char invoice_series[9], credit_series[9];
	int number_digits; /* 3..12 */
	/* "accounting": the FEC journal and accounts (digits, then letters
	 * or digits, at most 20 characters). */
	char journal_code[11], journal_label[65];
	char account_customer[21];	 /* 411000 */
	char account_revenue[3][21];	 /* fee, storage, outbound: 7061xx */
	char account_vat[21];		 /* 445710 */
};

/* The defaults of "invoicing" and "accounting" set in s. */
void seller_defaults(struct seller *s);

enum seller_kind seller_kind_of(const char *legal_form);

/* Validate doc; 0 with *s filled (free with seller_free), or -1 with every
 * error in d as `name: json.path: message` and *s empty. */
int seller_from_json(struct seller *s, const char *name, json_t *doc,
		     struct diag *d);
json_t *seller_to_json(const struct seller *s);
void seller_free(struct seller *s);

/* Store s as the seller: 0 with *changed 0 (same content) or 1, or -1. */
int seller_db_store(PGconn *c, const struct seller *s, int *changed,
		    struct diag *d);
/* Load the seller: 0, 1 when none was set, -1 on error. */
int seller_db_load(PGconn *c, struct seller *s, struct diag *d);

#endif
