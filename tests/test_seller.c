/*
 * test_seller — the seller's identity: one case per validation error
 * (pure), the legal-form rules, then `releve seller set|show` against a
 * real database: store, unchanged, bad input stores nothing, round trip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "billing/seller.h"
#include "common/jsonv.h"
#include "common/xalloc.h"
#include "testutil.h"

static const char base[] =
	"{\"name\": \"Courriel Coopératif\", \"legal_form\": \"SAS\","
	" \"capital\": \"15000.00\","
	" \"address\": {\"line1\": \"12 rue de la Charité\","
	"  \"postal_code\": \"69002\", \"city\": \"Lyon\"},"
	" \"country\": \"FR\", \"siren\": \"912345675\","
	" \"rcs\": \"RCS Lyon 912 345 675\", \"vat_number\": \"FR65912345675\","
	" \"iban\": \"FR76 4255 9100 0008 0123 4567 812\","
	" \"bic\": \"CCOPFRPPXXX\", \"email\": \"facturation@example.org\","
	" \"payment_terms_days\": 30,"
	" \"payment_terms\": \"Paiement à 30 jours par virement\","
	" \"late_penalty_rate\": \"12.15\"}";

struct bad {
	const char *key, *value; /* top-level key; value NULL: delete */
	const char *msg;
};

#define F "s.json: "
static const struct bad bads[] = {
	{"colour", "\"red\"", NULL}, /* message checked by prefix below */
	{"name", NULL, F "name: missing (required)"},
	{"legal_form", "\"\"", F "legal_form: is empty (required)"},
	{"capital", NULL, F "capital: missing (required for a company such "
	 "as SAS: \"capital\": \"10000.00\")"},
	{"capital", "\"15000,00\"", F "capital: \"15000,00\" is not a decimal "
	 "(use 15000.00)"},
	{"capital", "\"15000.001\"", F "capital: \"15000.001\" has more than "
	 "2 decimals"},
	{"capital", "\"0\"", F "capital: 0.00 must be more than 0"},
	{"capital", "15000", F "capital: expected a decimal string such as "
	 "\"9.00\" (quote the number)"},
	{"address", NULL, F "address: missing (required)"},
	{"address", "{\"line1\": \"x\", \"city\": \"Lyon\"}", F
	 "address.postal_code: missing (required)"},
	{"address", "{\"line1\": \"x\", \"postal_code\": \"6900\", \"city\": "
	 "\"Lyon\"}", F "address.postal_code: \"6900\" is not a French postal "
	 "code (5 digits)"},
	{"address", "{\"line1\": \"x\", \"postal_code\": \"69002\", \"city\": "
	 "\"Lyon\", \"floor\": 2}", F "address.floor: unknown field (expected "
	 "one of: line1, line2, postal_code, city)"},
	{"country", "\"XX\"", F "country: \"XX\" is not an ISO 3166-1 country "
	 "code (such as \"FR\")"},
	{"siren", "\"912345676\"", F "siren: \"912345676\" is not a SIREN (9 "
	 "digits, no spaces, with a valid Luhn key)"},
	{"rcs", "\"RCS Lyon 852 379 106\"", F "rcs: \"RCS Lyon 852 379 106\" "
	 "does not contain the SIREN 912345675"},
	{"rcs", "\"Lyon B 912 345 675\"", F "rcs: \"Lyon B 912 345 675\" is not "
	 "an RCS mention (such as \"RCS Lyon 852 379 164\")"},
	{"rcs", NULL, F "rcs: missing (required)"},
	{"vat_number", "\"FR00912345675\"", F "vat_number: \"FR00912345675\" "
	 "is not a valid VAT number for FR: the key of FR00912345675 does not "
	 "match its SIREN (expected key 65)"},
	{"vat_number", "\"DE123456789\"", NULL},
	{"vat_number", NULL, F "vat_number: missing (required)"},
	{"iban", "\"FR76 4255 9100 0008 0123 4567 813\"", F "iban: \"FR76 4255 "
	 "9100 0008 0123 4567 813\" is not a valid IBAN (country, length or "
	 "check digits)"},
	{"bic", "\"CCOP\"", F "bic: \"CCOP\" is not a BIC (8 or 11 characters, "
	 "such as \"CCOPFRPPXXX\")"},
	{"email", "\"facturation\"", F "email: \"facturation\" is not an "
	 "e-mail address"},
	{"phone", "\"call me\"", F "phone: \"call me\" is not a phone number "
	 "(digits, spaces, '+', '.', '-')"},
	{"website", "\"www.example.org\"", F "website: \"www.example.org\" is "
	 "not a web address (https://...)"},
	{"payment_terms_days", "61", F "payment_terms_days: 61 is out of range "
	 "(0 to 60: French law caps payment terms at 60 days)"},
	{"payment_terms_days", "-1", F "payment_terms_days: -1 is out of range "
	 "(0 to 60: French law caps payment terms at 60 days)"},
	{"payment_terms", NULL, F "payment_terms: missing (required)"},
	{"late_penalty_rate", "\"0\"", F "late_penalty_rate: 0.00 is out of "
	 "range (a yearly percentage above 0, at least 3 times the legal "
	 "interest rate, such as \"12.15\")"},
	{"late_penalty_rate", "\"12.123456\"", F "late_penalty_rate: "
	 "\"12.123456\" has more than 4 decimals"},
	{"recovery_indemnity", "\"30.00\"", F "recovery_indemnity: 30.00 is "
	 "below the 40.00 EUR set by French law (Code de commerce D441-5)"},
};

static json_t *base_doc(void)
{
	json_t *doc = json_loads(base, 0, NULL);

	assert_non_null(doc);
	return doc;
}

static void test_valid(void **state)
{
	json_t *doc = base_doc(), *j;
	struct diag d = DIAG_INIT;
	struct seller s, s2;

	(void)state;
	assert_int_equal(seller_from_json(&s, "s.json", doc, &d), 0);
	assert_true(s.has_capital && s.capital == 15000000000LL);
	assert_true(s.recovery_indemnity == 40000000); /* the default */
	assert_true(s.late_penalty_rate == 12150000);
	assert_null(s.line2);
	assert_null(s.phone);
	j = seller_to_json(&s);
	assert_string_equal(json_string_value(json_object_get(
				    j, "recovery_indemnity")), "40.00");
	assert_int_equal(seller_from_json(&s2, "s.json", j, &d), 0);
	json_t *j2 = seller_to_json(&s2);
	assert_true(json_equal(j, j2));
	json_decref(j);
	json_decref(j2);
	json_decref(doc);
	seller_free(&s);
	seller_free(&s2);
	seller_free(NULL);
}

static void test_each_error(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		json_t *doc = base_doc();
		struct diag d = DIAG_INIT;
		struct seller s;
		int rc, ok;

		if (bads[i].value) {
			json_object_set_new(doc, bads[i].key,
					    json_loads(bads[i].value,
						       JSON_DECODE_ANY, NULL));
		} else {
			json_object_del(doc, bads[i].key);
		}
		rc = seller_from_json(&s, "s.json", doc, &d);
		if (bads[i].msg) {
			ok = d.n == 1 && !strcmp(d.msg[0], bads[i].msg);
		} else {
			char *pre = xasprintf(F "%s: ", bads[i].key);

			ok = d.n == 1 && !strncmp(d.msg[0], pre, strlen(pre));
			free(pre);
		}
		if (rc != -1 || !ok || s.name) {
			print_error("case %zu (%s): rc %d, %zu messages\n", i,
				    bads[i].key, rc, d.n);
			for (size_t k = 0; k < d.n; k++) {
				print_error("  got      [%s]\n", d.msg[k]);
			}
			print_error("  expected [%s]\n", bads[i].msg);
			fail();
		}
		diag_free(&d);
		json_decref(doc);
	}
}

/* An association has no capital and may leave out the RCS; an EI too. */
static void test_legal_forms(void **state)
{
	struct diag d = DIAG_INIT;
	struct seller s;
	json_t *doc;

	(void)state;
	assert_int_equal(seller_kind_of("association loi 1901"),
			 SELLER_ASSOCIATION);
	assert_int_equal(seller_kind_of("Association"), SELLER_ASSOCIATION);
	assert_int_equal(seller_kind_of("EI"), SELLER_INDIVIDUAL);
	assert_int_equal(seller_kind_of("micro-entrepreneur"),
			 SELLER_INDIVIDUAL);
	assert_int_equal(seller_kind_of("SCOP SARL"), SELLER_COMPANY);

	doc = base_doc();
	json_object_set_new(doc, "legal_form",
			    json_string("association loi 1901"));
	json_object_del(doc, "rcs");
	assert_int_equal(seller_from_json(&s, "s.json", doc, &d), -1);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.msg[0], F "capital: an association has no share "
				      "capital (leave the field out)");
	diag_free(&d);
	json_object_del(doc, "capital");
	assert_int_equal(seller_from_json(&s, "s.json", doc, &d), 0);
	assert_null(s.rcs);
	assert_false(s.has_capital);
	seller_free(&s);
	json_object_set_new(doc, "legal_form", json_string("EI"));
	assert_int_equal(seller_from_json(&s, "s.json", doc, &d), 0);
	seller_free(&s);
	json_decref(doc);
}

static void test_example_file(void **state)
{
	struct diag d = DIAG_INIT;
	struct seller s;
	json_t *doc = jsonv_load_file("examples/seller.json", &d);

	(void)state;
	assert_non_null(doc);
	assert_int_equal(seller_from_json(&s, "examples/seller.json", doc, &d),
			 0);
	assert_non_null(s.rcs);
	assert_non_null(s.vat_number);
	assert_true(s.has_capital);
	seller_free(&s);
	json_decref(doc);
}

/* Through the binary, against a real database. */
static void test_db(void **state)
{
	PGconn *db = testdb_open("seller");
	char *out, *err, *path, *v;
	json_t *doc = base_doc();
	char *text;

	(void)state;
	/* Bad input first: exit 1, every error, nothing stored. */
	json_object_set_new(doc, "siren", json_string("123"));
	json_object_set_new(doc, "payment_terms_days", json_integer(90));
	json_object_set_new(doc, "capital", json_string("-5"));
	text = json_dumps(doc, 0);
	path = test_write_file("s.json", text);
	free(text);
	assert_int_equal(test_run(NULL, &out, &err, "seller", "set", path,
				  NULL), 1);
	assert_non_null(strstr(err, "s.json: siren: \"123\" is not a SIREN"));
	assert_non_null(strstr(err, "s.json: payment_terms_days: 90 is out of "
				    "range"));
	assert_non_null(strstr(err, "s.json: capital: -5.00 must be more than "
				    "0"));
	assert_string_equal(out, "");
	free(out);
	free(err);
	v = testdb_value(db, "SELECT count(*) FROM seller");
	assert_string_equal(v, "0");
	free(v);
	assert_int_equal(test_run(NULL, &out, &err, "seller", "show", NULL), 1);
	assert_non_null(strstr(err, "no seller set"));
	free(out);
	free(err);

	/* The example: stored, then unchanged. */
	path = xasprintf("%s/examples/seller.json",
			 getenv("RELEVE_TOP") ? getenv("RELEVE_TOP") : ".");
	assert_int_equal(test_run(NULL, &out, &err, "seller", "set", path,
				  NULL), 0);
	assert_non_null(strstr(out, "(SIREN 912345675): stored"));
	free(out);
	free(err);
	assert_int_equal(test_run(NULL, &out, &err, "seller", "set", path,
				  NULL), 0);
	assert_non_null(strstr(out, ": unchanged"));
	free(out);
	free(err);
	free(path);
	v = testdb_value(db, "SELECT rcs || ' ' || capital || ' ' || "
			     "recovery_indemnity FROM seller");
	assert_string_equal(v, "RCS Lyon 912 345 675 15000.00 40.00");
	free(v);

	/* show --json reads back into set as "unchanged". */
	assert_int_equal(test_run(NULL, &out, &err, "seller", "show", "--json",
				  NULL), 0);
	assert_non_null(strstr(out, "\"legal_form\": \"SCOP SAS"));
	path = test_write_file("shown.json", out);
	free(out);
	free(err);
	assert_int_equal(test_run(NULL, &out, &err, "seller", "set", path,
				  NULL), 0);
	assert_non_null(strstr(out, ": unchanged"));
	free(out);
	free(err);

	/* A change (an association now): stored, the RCS becomes NULL. */
	json_object_set_new(doc, "siren", json_string("912345675"));
	json_object_set_new(doc, "payment_terms_days", json_integer(45));
	json_object_del(doc, "capital");
	json_object_del(doc, "rcs");
	json_object_set_new(doc, "legal_form",
			    json_string("association loi 1901"));
	text = json_dumps(doc, 0);
	path = test_write_file("s.json", text);
	free(text);
	assert_int_equal(test_run(NULL, &out, &err, "seller", "set", path,
				  NULL), 0);
	assert_non_null(strstr(out, ": stored"));
	free(out);
	free(err);
	v = testdb_value(db, "SELECT coalesce(rcs, 'none') || ' ' || "
			     "coalesce(capital::text, 'none') || ' ' || "
			     "payment_terms_days FROM seller");
	assert_string_equal(v, "none none 45");
	free(v);
	assert_int_equal(test_run(NULL, &out, &err, "seller", "show", NULL), 0);
	assert_non_null(strstr(out, "association loi 1901"));
	free(out);
	free(err);
	json_decref(doc);
	PQfinish(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_each_error),
		cmocka_unit_test(test_legal_forms),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_db),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
