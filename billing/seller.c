/*
 * seller — validate and write back the seller's identity; see seller.h.
 *
 * Identifiers are checked with billing/legalid.h (SIREN Luhn key, the
 * French VAT key against the SIREN, IBAN mod 97, BIC form, ISO country).
 * Legal limits checked here: payment terms at most 60 days (Code de
 * commerce L441-10), a recovery indemnity of at least 40 EUR (D441-5).
 * The late-penalty rate must be positive; whether it is at least three
 * times the legal interest rate of the semester is the seller's business
 * (the legal rate changes twice a year and is not data we hold).
 */
#include "seller.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/jsonv.h"
#include "common/xalloc.h"
#include "legalid.h"
#include "money.h"

#define MAX_TEXT 200

static const char *const top_keys[] = {
	"name", "legal_form", "capital", "address", "country", "siren",
	"rcs", "vat_number", "iban", "bic", "email", "phone", "website",
	"payment_terms_days", "payment_terms", "late_penalty_rate",
	"recovery_indemnity", "invoicing", "accounting", NULL,
};
static const char *const invoicing_keys[] = {
	"invoice_series", "credit_series", "number_digits", NULL,
};
static const char *const accounting_keys[] = {
	"journal_code", "journal_label", "customer_account",
	"revenue_accounts", "vat_account", NULL,
};
static const char *const revenue_keys[] = {
	"fee", "storage", "outbound", NULL,
};
static const char *const address_keys[] = {
	"line1", "line2", "postal_code", "city", NULL,
};

enum seller_kind seller_kind_of(const char *f)
{
	static const char *const individual[] = {
		"EI", "EIRL", "micro-entrepreneur", "auto-entrepreneur",
		"entrepreneur individuel", "micro-entreprise", NULL,
	};

	if (!strncasecmp(f, "association", 11)) {
		return SELLER_ASSOCIATION;
	}
	for (const char *const *p = individual; *p; p++) {
		if (!strcasecmp(f, *p)) {
			return SELLER_INDIVIDUAL;
		}
	}
	return SELLER_COMPANY;
}

/* A string field kept in *out (a copy); length-checked. */
static const char *text(struct jsonv *v, json_t *o, const char *key,
			int required, char **out)
{
	const char *s = jsonv_string(v, o, key, required);

	if (s && strlen(s) > MAX_TEXT) {
		jsonv_field_error(v, key, "is longer than %d bytes", MAX_TEXT);
		return NULL;
	}
	if (s && !required && !*s) {
		return NULL; /* "" is absent for an optional field */
	}
	if (s) {
		*out = xstrdup(s);
	}
	return s;
}

static int digits(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789") == n;
}

/* Does rcs contain the 9 digits of siren once spaces are removed? */
static int rcs_has_siren(const char *rcs, const char *siren)
{
	char buf[MAX_TEXT + 1];
	size_t n = 0;

	for (const char *p = rcs; *p && n < MAX_TEXT; p++) {
		if (*p != ' ') {
			buf[n++] = *p;
		}
	}
	buf[n] = '\0';
	return strstr(buf, siren) != NULL;
}

static void check_address(struct jsonv *v, json_t *doc, struct seller *s)
{
	json_t *a = jsonv_object(v, doc, "address", 1);
	size_t mark;

	if (!a) {
		return;
	}
	mark = jsonv_key(v, "address");
	jsonv_known_keys(v, a, address_keys);
	text(v, a, "line1", 1, &s->line1);
	text(v, a, "line2", 0, &s->line2);
	text(v, a, "postal_code", 1, &s->postal_code);
	text(v, a, "city", 1, &s->city);
	jsonv_pop(v, mark);
}

static void check_ids(struct jsonv *v, json_t *doc, struct seller *s,
		      enum seller_kind kind)
{
	const char *x;
	char why[256];

	x = text(v, doc, "country", 1, &s->country);
	if (x && !country_is_iso3166(x)) {
		jsonv_field_error(v, "country", "\"%.40s\" is not an ISO "
				  "3166-1 country code (such as \"FR\")", x);
		free(s->country); /* so that nothing is checked against it */
		s->country = NULL;
	}
	if (s->country && s->postal_code && !strcmp(s->country, "FR") &&
	    !digits(s->postal_code, 5)) {
		size_t m = jsonv_key(v, "address");

		jsonv_field_error(v, "postal_code", "\"%.40s\" is not a French "
				  "postal code (5 digits)", s->postal_code);
		jsonv_pop(v, m);
	}
	x = text(v, doc, "siren", 1, &s->siren);
	if (x && !siren_is_valid(x)) {
		jsonv_field_error(v, "siren", "\"%.40s\" is not a SIREN (9 "
				  "digits, no spaces, with a valid Luhn key)",
				  x);
		free(s->siren);
		s->siren = NULL;
	}
	x = text(v, doc, "rcs", kind == SELLER_COMPANY, &s->rcs);
	if (x && strncmp(x, "RCS ", 4) && strncmp(x, "R.C.S. ", 7)) {
		jsonv_field_error(v, "rcs", "\"%.40s\" is not an RCS mention "
				  "(such as \"RCS Lyon 852 379 164\")", x);
	} else if (x && s->siren && !rcs_has_siren(x, s->siren)) {
		jsonv_field_error(v, "rcs", "\"%.40s\" does not contain the "
				  "SIREN %s", x, s->siren);
	}
	x = text(v, doc, "vat_number", 1, &s->vat_number);
	if (x && s->country &&
	    vat_number_check(s->country, x, s->siren, why, sizeof(why))) {
		jsonv_field_error(v, "vat_number", "\"%.40s\" is not a valid "
				  "VAT number for %s: %s", x, s->country, why);
	}
	x = text(v, doc, "iban", 1, &s->iban);
	if (x && !iban_is_valid(x)) {
		jsonv_field_error(v, "iban", "\"%.40s\" is not a valid IBAN "
				  "(country, length or check digits)", x);
	}
	x = text(v, doc, "bic", 1, &s->bic);
	if (x && !bic_is_valid(x)) {
		jsonv_field_error(v, "bic", "\"%.40s\" is not a BIC (8 or 11 "
				  "characters, such as \"CCOPFRPPXXX\")", x);
	}
}

static void check_contact(struct jsonv *v, json_t *doc, struct seller *s)
{
	const char *x;

	x = text(v, doc, "email", 1, &s->email);
	if (x) {
		const char *at = strchr(x, '@');

		if (!at || at == x || strchr(at + 1, '@') ||
		    !strchr(at + 1, '.') || strpbrk(x, " \t<>,;")) {
			jsonv_field_error(v, "email", "\"%.40s\" is not an "
					  "e-mail address", x);
		}
	}
	x = text(v, doc, "phone", 0, &s->phone);
	if (x && (strspn(x, "+0123456789 .()-") != strlen(x) ||
		  strlen(x) > 32)) {
		jsonv_field_error(v, "phone", "\"%.40s\" is not a phone number "
				  "(digits, spaces, '+', '.', '-')", x);
	}
	x = text(v, doc, "website", 0, &s->website);
	if (x && strncmp(x, "https://", 8) && strncmp(x, "http://", 7)) {
		jsonv_field_error(v, "website", "\"%.40s\" is not a web address "
				  "(https://...)", x);
	}
}

static void check_terms(struct jsonv *v, json_t *doc, struct seller *s)
{
	long long n;
	char buf[MONEY_FMT_MAX];

	if (jsonv_int(v, doc, "payment_terms_days", 1, 0, &n) == 0) {
		if (n < 0 || n > 60) {
			jsonv_field_error(v, "payment_terms_days",
					  "%lld is out of range (0 to 60: "
					  "French law caps payment terms at 60 "
					  "days)", n);
		} else {
			s->payment_terms_days = (int)n;
		}
	}
	text(v, doc, "payment_terms", 1, &s->payment_terms);
	if (money_jsonv(v, doc, "late_penalty_rate", 1, MONEY_NEGATIVE_OK, 4,
			&s->late_penalty_rate) == 0 &&
	    (s->late_penalty_rate <= 0 ||
	     s->late_penalty_rate > 100 * (int64_t)MONEY_SCALE)) {
		jsonv_field_error(v, "late_penalty_rate",
				  "%s is out of range (a yearly percentage "
				  "above 0, at least 3 times the legal "
				  "interest rate, such as \"12.15\")",
				  money_format(buf, s->late_penalty_rate, 2));
	}
	switch (money_jsonv(v, doc, "recovery_indemnity", 0, MONEY_NEGATIVE_OK,
			    2, &s->recovery_indemnity)) {
	case 1:
		s->recovery_indemnity = 40 * (int64_t)MONEY_SCALE;
		break;
	case 0:
		if (s->recovery_indemnity < 40 * (int64_t)MONEY_SCALE) {
			jsonv_field_error(v, "recovery_indemnity",
					  "%s is below the 40.00 EUR set by "
					  "French law (Code de commerce "
					  "D441-5)",
					  money_format(buf,
						       s->recovery_indemnity,
						       2));
		}
		break;
	}
}

void seller_defaults(struct seller *s)
{
	snprintf(s->invoice_series, sizeof(s->invoice_series), "F");
	snprintf(s->credit_series, sizeof(s->credit_series), "A");
	s->number_digits = 6;
	snprintf(s->journal_code, sizeof(s->journal_code), "VE");
	snprintf(s->journal_label, sizeof(s->journal_label), "Ventes");
	snprintf(s->account_customer, sizeof(s->account_customer), "411000");
	snprintf(s->account_revenue[0], sizeof(s->account_revenue[0]),
		 "706100");
	snprintf(s->account_revenue[1], sizeof(s->account_revenue[1]),
		 "706200");
	snprintf(s->account_revenue[2], sizeof(s->account_revenue[2]),
		 "706300");
	snprintf(s->account_vat, sizeof(s->account_vat), "445710");
}

/* An optional short string matching a pattern into buf (kept when
 * absent). */
static void short_field(struct jsonv *v, json_t *o, const char *key,
			char *buf, size_t len, const char *accept,
			size_t minlen, const char *what)
{
	const char *x = jsonv_string(v, o, key, 0);

	if (!x) {
		return;
	}
	if (strlen(x) < minlen || strlen(x) >= len ||
	    (accept && strspn(x, accept) != strlen(x))) {
		jsonv_field_error(v, key, "\"%.40s\" is not %s", x, what);
		return;
	}
	snprintf(buf, len, "%s", x);
}

#define LETTERS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#define DIGITS "0123456789"

static void check_invoicing(struct jsonv *v, json_t *doc, struct seller *s)
{
	json_t *o = jsonv_object(v, doc, "invoicing", 0);
	long long n;
	size_t mark;

	if (!o) {
		return;
	}
	mark = jsonv_key(v, "invoicing");
	jsonv_known_keys(v, o, invoicing_keys);
	short_field(v, o, "invoice_series", s->invoice_series,
		    sizeof(s->invoice_series), LETTERS, 1,
		    "a series (1 to 8 letters, such as \"F\")");
	short_field(v, o, "credit_series", s->credit_series,
		    sizeof(s->credit_series), LETTERS, 1,
		    "a series (1 to 8 letters, such as \"A\")");
	if (!strcmp(s->invoice_series, s->credit_series)) {
		jsonv_field_error(v, "credit_series", "\"%s\" is also the "
				  "invoice series: credit notes need their "
				  "own", s->credit_series);
	}
	if (jsonv_int(v, o, "number_digits", 0, 0, &n) == 0) {
		if (n < 3 || n > 12) {
			jsonv_field_error(v, "number_digits", "%lld is out of "
					  "range (3 to 12)", n);
		} else {
			s->number_digits = (int)n;
		}
	}
	jsonv_pop(v, mark);
}

static void check_accounting(struct jsonv *v, json_t *doc, struct seller *s)
{
	static const char acc[] = DIGITS LETTERS;
	static const char *const what =
		"an account number (1 to 20 digits and letters, such as "
		"\"706100\")";
	json_t *o = jsonv_object(v, doc, "accounting", 0), *r;
	size_t mark;

	if (!o) {
		return;
	}
	mark = jsonv_key(v, "accounting");
	jsonv_known_keys(v, o, accounting_keys);
	short_field(v, o, "journal_code", s->journal_code,
		    sizeof(s->journal_code), acc, 1,
		    "a journal code (1 to 10 digits and letters)");
	short_field(v, o, "journal_label", s->journal_label,
		    sizeof(s->journal_label), NULL, 1,
		    "a journal label (1 to 64 bytes)");
	if (strpbrk(s->journal_label, "\t\r\n")) {
		jsonv_field_error(v, "journal_label", "has a tab or a line "
				  "break");
	}
	short_field(v, o, "customer_account", s->account_customer,
		    sizeof(s->account_customer), acc, 1, what);
	short_field(v, o, "vat_account", s->account_vat,
		    sizeof(s->account_vat), acc, 1, what);
	r = jsonv_object(v, o, "revenue_accounts", 0);
	if (r) {
		size_t m2 = jsonv_key(v, "revenue_accounts");

		jsonv_known_keys(v, r, revenue_keys);
		for (int i = 0; i < 3; i++) {
			short_field(v, r, revenue_keys[i],
				    s->account_revenue[i],
				    sizeof(s->account_revenue[i]), acc, 1,
				    what);
		}
		jsonv_pop(v, m2);
	}
	jsonv_pop(v, mark);
}

int seller_from_json(struct seller *s, const char *name, json_t *doc,
		     struct diag *d)
{
	struct jsonv v;
	size_t before = d->n;
	enum seller_kind kind = SELLER_COMPANY;
	char buf[MONEY_FMT_MAX];
	const char *form;
	int got;

	memset(s, 0, sizeof(*s));
	seller_defaults(s);
	jsonv_init(&v, name, d);
	if (!json_is_object(doc)) {
		jsonv_error(&v, "expected a JSON object (the seller)");
		return -1;
	}
	jsonv_known_keys(&v, doc, top_keys);
	text(&v, doc, "name", 1, &s->name);
	form = text(&v, doc, "legal_form", 1, &s->legal_form);
	if (form) {
		kind = seller_kind_of(form);
	}
	got = money_jsonv(&v, doc, "capital", 0, MONEY_NEGATIVE_OK, 2,
			  &s->capital);
	if (got == 0 && kind != SELLER_COMPANY) {
		jsonv_field_error(&v, "capital", "a%s has no share capital "
				  "(leave the field out)",
				  kind == SELLER_ASSOCIATION
					  ? "n association"
					  : "n individual entrepreneur");
	} else if (got == 0 && s->capital <= 0) {
		jsonv_field_error(&v, "capital", "%s must be more than 0",
				  money_format(buf, s->capital, 2));
	} else if (got == 0) {
		s->has_capital = 1;
	} else if (got == 1 && kind == SELLER_COMPANY && form) {
		jsonv_field_error(&v, "capital", "missing (required for a "
				  "company such as %s: \"capital\": "
				  "\"10000.00\")", form);
	}
	check_address(&v, doc, s);
	check_ids(&v, doc, s, kind);
	check_contact(&v, doc, s);
	check_terms(&v, doc, s);
	check_invoicing(&v, doc, s);
	check_accounting(&v, doc, s);
	if (d->n != before) {
		seller_free(s);
		return -1;
	}
	return 0;
}

static void set_str(json_t *o, const char *key, const char *val)
{
	if (val) {
		json_object_set_new(o, key, json_string(val));
	}
}

json_t *seller_to_json(const struct seller *s)
{
	json_t *doc = json_object(), *a = json_object();
	char buf[MONEY_FMT_MAX];

	set_str(doc, "name", s->name);
	set_str(doc, "legal_form", s->legal_form);
	if (s->has_capital) {
		set_str(doc, "capital", money_format(buf, s->capital, 2));
	}
	set_str(a, "line1", s->line1);
	set_str(a, "line2", s->line2);
	set_str(a, "postal_code", s->postal_code);
	set_str(a, "city", s->city);
	json_object_set_new(doc, "address", a);
	set_str(doc, "country", s->country);
	set_str(doc, "siren", s->siren);
	set_str(doc, "rcs", s->rcs);
	set_str(doc, "vat_number", s->vat_number);
	set_str(doc, "iban", s->iban);
	set_str(doc, "bic", s->bic);
	set_str(doc, "email", s->email);
	set_str(doc, "phone", s->phone);
	set_str(doc, "website", s->website);
	json_object_set_new(doc, "payment_terms_days",
			    json_integer(s->payment_terms_days));
	set_str(doc, "payment_terms", s->payment_terms);
	set_str(doc, "late_penalty_rate",
		money_format(buf, s->late_penalty_rate, 2));
	set_str(doc, "recovery_indemnity",
		money_format(buf, s->recovery_indemnity, 2));
	json_object_set_new(doc, "invoicing", json_pack(
		"{s:s, s:s, s:i}", "invoice_series", s->invoice_series,
		"credit_series", s->credit_series, "number_digits",
		s->number_digits));
	json_object_set_new(doc, "accounting", json_pack(
		"{s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:s}",
		"journal_code", s->journal_code,
		"journal_label", s->journal_label,
		"customer_account", s->account_customer,
		"revenue_accounts", "fee", s->account_revenue[0],
		"storage", s->account_revenue[1],
		"outbound", s->account_revenue[2],
		"vat_account", s->account_vat));
	return doc;
}

void seller_free(struct seller *s)
{
	if (!s) {
		return;
	}
	char **f[] = {
		&s->name, &s->legal_form, &s->line1, &s->line2,
		&s->postal_code, &s->city, &s->country, &s->siren, &s->rcs,
		&s->vat_number, &s->iban, &s->bic, &s->email, &s->phone,
		&s->website, &s->payment_terms,
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		free(*f[i]);
	}
	memset(s, 0, sizeof(*s));
}
