/*
 * test_vat_db — the VAT data of sql/005_vat.sql on a real database: the 27
 * member states each with exactly one standard rate in force on
 * 2026-11-23 (and the expected one), vat_rate_on() before and after each
 * change, vat_rate_change(), the guard trigger and the exclusion
 * constraint (history cannot be rewritten), the legal mentions (every key
 * vat_decide() can ask for, in both languages, with known placeholders
 * only), and vat_db_rates() feeding vat_decide().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "billing/legalid.h"
#include "billing/money.h"
#include "billing/vat.h"
#include "billing/vat_db.h"
#include "common/xalloc.h"
#include "testutil.h"

static PGconn *db;

/* The standard rates in force on 2026-11-23, written out by hand. */
static const struct {
	const char *cc, *rate;
} expected[] = {
	{"AT", "20"}, {"BE", "21"}, {"BG", "20"}, {"CY", "19"},
	{"CZ", "21"}, {"DE", "19"}, {"DK", "25"}, {"EE", "24"},
	{"ES", "21"}, {"FI", "25.5"}, {"FR", "20"}, {"GR", "24"},
	{"HR", "25"}, {"HU", "27"}, {"IE", "23"}, {"IT", "22"},
	{"LT", "21"}, {"LU", "17"}, {"LV", "21"}, {"MT", "18"},
	{"NL", "21"}, {"PL", "23"}, {"PT", "23"}, {"RO", "21"},
	{"SE", "25"}, {"SI", "22"}, {"SK", "23"},
};
#define NEXPECTED (sizeof(expected) / sizeof(expected[0]))

static char *value(const char *sql)
{
	return testdb_value(db, sql);
}

static void assert_value(const char *sql, const char *want)
{
	char *v = value(sql);

	if (want == NULL) {
		if (v) {
			fail_msg("%s: '%s', expected NULL", sql, v);
		}
		return;
	}
	if (!v || strcmp(v, want) != 0) {
		fail_msg("%s: '%s', expected '%s'", sql, v ? v : "NULL", want);
	}
	free(v);
}

/* Run sql, which must fail with a message containing want. */
static void assert_refused(const char *sql, const char *want)
{
	PGresult *r = PQexec(db, sql);
	const char *msg = PQresultErrorMessage(r);

	if (PQresultStatus(r) != PGRES_FATAL_ERROR || !strstr(msg, want)) {
		fail_msg("%s: status %s, '%s', expected an error with '%s'",
			 sql, PQresStatus(PQresultStatus(r)), msg, want);
	}
	PQclear(r);
}

static void test_27_states_in_force(void **state)
{
	struct vat_rates t;
	struct diag d = DIAG_INIT;
	size_t i, j, neu = 0;

	(void)state;
	/* Every member state has exactly one row in force that day. */
	assert_value("SELECT count(*) FROM (SELECT country FROM vat_rates "
		     "WHERE valid_from <= '2026-11-23' AND (valid_to IS NULL "
		     "OR '2026-11-23' < valid_to) GROUP BY country "
		     "HAVING count(*) = 1) s",
		     "30"); /* 27 states + GP, MQ, RE */
	assert_value("SELECT count(*) FROM vat_rates WHERE valid_to IS NULL",
		     "30");

	assert_int_equal(vat_db_rates(db, "2026-11-23", &t, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(t.n, 30);
	for (i = 0; i < t.n; i++) {
		const char *cc = t.r[i].territory;

		if (country_is_eu(cc)) {
			neu++;
		} else if (strcmp(cc, "GP") && strcmp(cc, "MQ") &&
			   strcmp(cc, "RE")) {
			fail_msg("unexpected territory %s", cc);
		}
	}
	assert_int_equal(neu, 27);
	/* ... and the rate is the one expected, for each of the 27. */
	assert_int_equal(NEXPECTED, 27);
	for (j = 0; j < NEXPECTED; j++) {
		int64_t want, got = -1;
		char why[100];

		assert_true(country_is_eu(expected[j].cc));
		assert_int_equal(money_parse(expected[j].rate, 0, 6, &want,
					     why, sizeof(why)), 0);
		if (vat_rates_lookup(&t, expected[j].cc, &got) != 0 ||
		    got != want) {
			fail_msg("%s: rate %lld, expected %s", expected[j].cc,
				 (long long)got, expected[j].rate);
		}
	}
	vat_db_rates_free(&t);
	vat_db_rates_free(&t); /* twice is fine */
	assert_null(t.r);

	/* A bad date is an error, not an empty table. */
	assert_int_equal(vat_db_rates(db, "2026-13-01", &t, &d), -1);
	assert_true(d.n >= 1);
	assert_int_equal(t.n, 0);
	diag_free(&d);
}

struct on_case {
	const char *cc, *day, *want; /* NULL: no rate */
};

static void test_rate_on(void **state)
{
	static const struct on_case cases[] = {
		{"FI", "2024-08-31", "24.0000"},
		{"FI", "2024-09-01", "25.5000"},
		{"SK", "2024-12-31", "20.0000"},
		{"SK", "2025-01-01", "23.0000"},
		{"EE", "2023-12-31", "20.0000"},
		{"EE", "2024-01-01", "22.0000"},
		{"EE", "2025-06-30", "22.0000"},
		{"EE", "2025-07-01", "24.0000"},
		{"RO", "2025-07-31", "19.0000"},
		{"RO", "2025-08-01", "21.0000"},
		{"LU", "2022-12-31", "17.0000"},
		{"LU", "2023-06-15", "16.0000"},
		{"LU", "2024-01-01", "17.0000"},
		{"FR", "2026-11-23", "20.0000"},
		{"GR", "2026-11-23", "24.0000"},
		{"EL", "2026-11-23", "24.0000"}, /* the VAT prefix works too */
		{"de", "2026-11-23", "19.0000"},
		{"GP", "2026-11-23", "8.5000"},
		{"FR", "2021-02-28", NULL},	/* before the table vouches */
		{"US", "2026-11-23", NULL},
		{"MC", "2026-11-23", NULL}, /* vat_decide maps MC to FR */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *p[2] = {cases[i].cc, cases[i].day};
		char *v = testdb_value_p(db, "SELECT vat_rate_on($1, $2::date)"
					 "::text", 2, p);

		if (cases[i].want == NULL) {
			assert_null(v);
		} else {
			assert_non_null(v);
			assert_string_equal(v, cases[i].want);
		}
		free(v);
	}
	assert_value("SELECT vat_rate_on(NULL, '2026-01-01')", NULL);
}

static void test_rate_change_and_guard(void **state)
{
	(void)state;
	/* A change is a new row from its day; the old one is closed. */
	testdb_exec(db, "SELECT vat_rate_change('FR', 21.2, '2030-01-01')");
	assert_value("SELECT vat_rate_on('FR', '2029-12-31')::text", "20.0000");
	assert_value("SELECT vat_rate_on('FR', '2030-01-01')::text", "21.2000");
	assert_value("SELECT valid_to::text FROM vat_rates WHERE country = "
		     "'FR' AND rate = 20",
		     "2030-01-01");
	assert_value("SELECT count(*) FROM vat_rates WHERE country = 'FR'",
		     "2");

	/* History cannot be rewritten. */
	assert_refused("UPDATE vat_rates SET rate = 19.6 WHERE country = 'DE'",
		       "cannot change");
	assert_refused("UPDATE vat_rates SET valid_from = '2020-01-01' WHERE "
		       "country = 'DE'",
		       "cannot change");
	assert_refused("UPDATE vat_rates SET valid_to = '2031-01-01' WHERE "
		       "country = 'FR' AND rate = 20",
		       "cannot change");
	assert_refused("DELETE FROM vat_rates WHERE country = 'AT'",
		       "cannot be deleted");
	/* Two rates in force at once are refused. */
	assert_refused("INSERT INTO vat_rates (country, rate, valid_from) "
		       "VALUES ('DE', 16, '2026-07-01')",
		       "conflicting key value violates exclusion constraint");
	/* A change on the day of an existing rate is refused too. */
	assert_refused("SELECT vat_rate_change('FR', 22, '2030-01-01')",
		       "duplicate key");
	assert_refused("INSERT INTO vat_rates (country, rate, valid_from) "
		       "VALUES ('EL', 24, '2040-01-01')",
		       "check constraint");
	assert_refused("INSERT INTO vat_rates (country, kind, rate, valid_from) "
		       "VALUES ('XY', 'reduced', 5.5, '2040-01-01')",
		       "check constraint");
	assert_refused("INSERT INTO vat_rates (country, rate, valid_from) "
		       "VALUES ('XY', 100, '2040-01-01')",
		       "check constraint");
	/* Nothing above changed Germany. */
	assert_value("SELECT vat_rate_on('DE', '2026-07-01')::text", "19.0000");
}

/* Every key vat_decide() can return. */
static const char *const keys[] = {
	"reverse_charge", "oss", "out_of_scope", "out_of_scope_consumer",
	"out_of_vat_area", "not_applicable_dom", "late_penalties",
	"recovery_indemnity",
};

static void test_mentions(void **state)
{
	static const char *const vars[] = {
		"country", "DE", "rate", "19.00", "late_penalty_rate", "12.15",
		"recovery_indemnity", "40.00"};
	static const char *const langs[] = {"fr", "en"};
	struct diag d = DIAG_INIT;
	size_t i, l;
	char *s, *x;

	(void)state;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		for (l = 0; l < 2; l++) {
			s = vat_db_mention(db, keys[i], langs[l], "2026-11-23",
					   &d);
			if (!s) {
				fail_msg("%s/%s: %s", keys[i], langs[l],
					 d.n ? d.msg[0] : "?");
			}
			/* Only documented placeholders. */
			x = vat_mention_expand(s, vars, 4, &d);
			if (!x) {
				fail_msg("%s/%s: %s", keys[i], langs[l],
					 d.msg[0]);
			}
			assert_null(strchr(x, '{'));
			free(x);
			free(s);
		}
	}
	assert_value("SELECT count(DISTINCT key) FROM legal_mentions", "8");

	s = vat_db_mention(db, "reverse_charge", "fr", "2026-11-23", &d);
	assert_non_null(strstr(s, "Autoliquidation"));
	assert_non_null(strstr(s, "article 196 de la directive 2006/112/CE"));
	free(s);
	s = vat_db_mention(db, "reverse_charge", "en", "2026-11-23", &d);
	assert_non_null(strstr(s, "Reverse charge"));
	free(s);
	s = vat_db_mention(db, "out_of_scope", "fr", "2026-11-23", &d);
	assert_non_null(strstr(s, "TVA non applicable"));
	assert_non_null(strstr(s, "259-1"));
	free(s);
	s = vat_db_mention(db, "recovery_indemnity", "fr", "2026-11-23", &d);
	x = vat_mention_expand(s, vars, 4, &d);
	assert_non_null(strstr(x, "40.00 €"));
	assert_non_null(strstr(x, "L441-10"));
	free(x);
	free(s);
	assert_int_equal(d.n, 0);

	/* OSS began on 2021-07-01: no text before. */
	assert_null(vat_db_mention(db, "oss", "fr", "2021-06-30", &d));
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.msg[0], "no legal mention 'oss'"));
	diag_free(&d);
	assert_null(vat_db_mention(db, "reverse_charge", "de", "2026-11-23",
				   &d));
	diag_free(&d);

	/* A new wording applies from its day; old invoices keep theirs. */
	testdb_exec(db, "INSERT INTO legal_mentions (key, language, "
			"valid_from, text) VALUES ('reverse_charge', 'fr', "
			"'2027-01-01', 'Autoliquidation (nouvelle rédaction)')");
	assert_value("SELECT legal_mention_on('reverse_charge', 'fr', "
		     "'2027-01-01')",
		     "Autoliquidation (nouvelle rédaction)");
	s = vat_db_mention(db, "reverse_charge", "fr", "2026-12-31", &d);
	assert_non_null(strstr(s, "article 196"));
	free(s);
	assert_refused("INSERT INTO legal_mentions (key, language, valid_from, "
		       "text) VALUES ('x', 'de', '2027-01-01', 'y')",
		       "check constraint");
}

/* From the database to a decision, as the rater will do it. */
static void test_decide_from_db(void **state)
{
	static const struct {
		const char *kind, *country, *vat, *day, *code, *rate;
	} cases[] = {
		{"individual", "DE", NULL, "2026-11-23", "OSS", "19.00"},
		{"individual", "FI", NULL, "2024-08-31", "OSS", "24.00"},
		{"individual", "FI", NULL, "2024-09-30", "OSS", "25.50"},
		{"individual", "RO", NULL, "2025-08-31", "OSS", "21.00"},
		{"business", "IT", NULL, "2026-11-23", "OSS", "22.00"},
		{"association", "BE", "BE0417238570", "2026-11-23",
		 "REVERSE_CHARGE", "0.00"},
		{"business", "MC", NULL, "2026-11-23", "FR", "20.00"},
		{"individual", "RE", NULL, "2026-11-23", "DOM", "8.50"},
		{"business", "CH", NULL, "2026-11-23", "OUT_OF_SCOPE", "0.00"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vat_rates t;
		struct vat_customer c = {cases[i].kind, cases[i].country, NULL,
					 cases[i].vat};
		struct vat_decision v;
		struct diag d = DIAG_INIT;
		char buf[MONEY_FMT_MAX];

		assert_int_equal(vat_db_rates(db, cases[i].day, &t, &d), 0);
		assert_int_equal(vat_decide("FR", &c, 1, vat_rates_lookup, &t,
					    &v, &d),
				 0);
		assert_string_equal(v.code, cases[i].code);
		assert_string_equal(vat_rate_format(buf, v.rate),
				    cases[i].rate);
		vat_db_rates_free(&t);
	}
}

int main(void)
{
	/* test_rate_change_and_guard changes FR from 2030 on: the tests
	 * before it read the migration as shipped. */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_27_states_in_force),
		cmocka_unit_test(test_rate_on),
		cmocka_unit_test(test_decide_from_db),
		cmocka_unit_test(test_mentions),
		cmocka_unit_test(test_rate_change_and_guard),
	};

	db = testdb_open("vat");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
