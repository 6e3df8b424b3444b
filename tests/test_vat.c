/*
 * test_vat — the VAT regime decision (billing/vat.c), table-driven: every
 * regime and its edges (association with a VAT number in Belgium, German
 * consumer with OSS on and off, Swiss business, French business, Monaco,
 * Greece's EL prefix, Italian business without VAT number, the French
 * overseas territories, areas outside the EU VAT area), the errors (all of
 * them reported), the VAT amount rounding, rate formatting and mention
 * placeholders.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "billing/money.h"
#include "billing/vat.h"

#define PCT(whole, frac6) ((int64_t)(whole) * MONEY_SCALE + (frac6))

/* A few rates, as vat_db_rates would load them (MT is left out on
 * purpose: a missing rate must be an error, not 0 %). */
static const struct vat_rate rate_list[] = {
	{"BE", PCT(21, 0)}, {"DE", PCT(19, 0)},	    {"FI", PCT(25, 500000)},
	{"FR", PCT(20, 0)}, {"GR", PCT(24, 0)},	    {"IT", PCT(22, 0)},
	{"GP", PCT(8, 500000)}, {"MQ", PCT(8, 500000)}, {"RE", PCT(8, 500000)},
	{"ES", PCT(21, 0)}, {"AT", PCT(20, 0)},
};
static struct vat_rates rates = {rate_list,
				 sizeof(rate_list) / sizeof(rate_list[0])};

#define B "business"
#define A "association"
#define I "individual"

struct dcase {
	const char *name;
	const char *kind, *country, *postal, *vat;
	int oss;
	const char *code;	  /* expected regime */
	const char *territory;	  /* expected territory */
	const char *rate_country; /* "" for 0 % by nature */
	int64_t rate;
	int vat_required;
	const char *mentions; /* space-separated keys */
};

static const struct dcase dcases[] = {
	{"French business", B, "FR", "69001", "FR40303265045", 1, "FR", "FR",
	 "FR", PCT(20, 0), 0, "late_penalties recovery_indemnity"},
	{"French business, OSS off", B, "FR", NULL, "FR40303265045", 0, "FR",
	 "FR", "FR", PCT(20, 0), 0, "late_penalties recovery_indemnity"},
	{"French individual", I, "FR", "75011", NULL, 1, "FR", "FR", "FR",
	 PCT(20, 0), 0, ""},
	{"French association without VAT number", A, "FR", NULL, "", 1, "FR",
	 "FR", "FR", PCT(20, 0), 0, "late_penalties recovery_indemnity"},
	{"Monaco business (French VAT number)", B, "MC", "98000",
	 "FR40303265045", 1, "FR", "FR", "FR", PCT(20, 0), 0,
	 "late_penalties recovery_indemnity"},
	{"Monaco individual", I, "MC", NULL, NULL, 1, "FR", "FR", "FR",
	 PCT(20, 0), 0, ""},
	{"Monaco written as France", I, "FR", "98000", NULL, 0, "FR", "FR",
	 "FR", PCT(20, 0), 0, ""},
	{"Belgian association with VAT number", A, "BE", "1000",
	 "BE0417238570", 1, "REVERSE_CHARGE", "BE", "", 0, 1,
	 "reverse_charge late_penalties recovery_indemnity"},
	{"Belgian association with VAT number, OSS off", A, "BE", NULL,
	 "BE0417238570", 0, "REVERSE_CHARGE", "BE", "", 0, 1,
	 "reverse_charge late_penalties recovery_indemnity"},
	{"German business with VAT number", B, "DE", "10115", "DE812345673", 1,
	 "REVERSE_CHARGE", "DE", "", 0, 1,
	 "reverse_charge late_penalties recovery_indemnity"},
	{"Greek business (EL prefix, GR country)", B, "GR", "10558",
	 "EL094259216", 1, "REVERSE_CHARGE", "GR", "", 0, 1,
	 "reverse_charge late_penalties recovery_indemnity"},
	{"German individual, OSS on", I, "DE", "10115", NULL, 1, "OSS", "DE",
	 "DE", PCT(19, 0), 0, "oss"},
	{"German individual, OSS off", I, "DE", "10115", NULL, 0, "FR_NO_OSS",
	 "DE", "FR", PCT(20, 0), 0, ""},
	{"Finnish individual, OSS on: 25.5 %", I, "FI", NULL, NULL, 1, "OSS",
	 "FI", "FI", PCT(25, 500000), 0, "oss"},
	{"Greek individual, OSS on: GR rate", I, "GR", NULL, NULL, 1, "OSS",
	 "GR", "GR", PCT(24, 0), 0, "oss"},
	{"Italian business without VAT number, OSS on", B, "IT", "20121", NULL,
	 1, "OSS", "IT", "IT", PCT(22, 0), 0,
	 "oss late_penalties recovery_indemnity"},
	{"Italian business without VAT number, OSS off", B, "IT", "20121", "",
	 0, "FR_NO_OSS", "IT", "FR", PCT(20, 0), 0,
	 "late_penalties recovery_indemnity"},
	{"Swiss business", B, "CH", "1003", "CHE116281710", 1, "OUT_OF_SCOPE",
	 "CH", "", 0, 0, "out_of_scope late_penalties recovery_indemnity"},
	{"Swiss business without number, OSS off", B, "CH", NULL, NULL, 0,
	 "OUT_OF_SCOPE", "CH", "", 0, 0,
	 "out_of_scope late_penalties recovery_indemnity"},
	{"Swiss individual", I, "CH", NULL, NULL, 1, "OUT_OF_SCOPE", "CH", "",
	 0, 0, "out_of_scope_consumer"},
	{"United Kingdom business", B, "GB", NULL, "GB123456789", 1,
	 "OUT_OF_SCOPE", "GB", "", 0, 0,
	 "out_of_scope late_penalties recovery_indemnity"},
	{"Aland (AX: outside the EU VAT area)", I, "AX", "22100", NULL, 1,
	 "OUT_OF_SCOPE", "AX", "", 0, 0, "out_of_scope_consumer"},
	/* French overseas. */
	{"Guadeloupe individual", I, "GP", "97110", NULL, 1, "DOM", "GP", "GP",
	 PCT(8, 500000), 0, ""},
	{"Guadeloupe written as France", I, "FR", "97110", NULL, 1, "DOM",
	 "GP", "GP", PCT(8, 500000), 0, ""},
	{"Reunion business with French VAT number", B, "RE", "97400",
	 "FR40303265045", 1, "DOM", "RE", "RE", PCT(8, 500000), 0,
	 "late_penalties recovery_indemnity"},
	{"Martinique written as France, postal with space", A, "FR", "972 00",
	 NULL, 0, "DOM", "MQ", "MQ", PCT(8, 500000), 0,
	 "late_penalties recovery_indemnity"},
	{"French Guiana business", B, "GF", "97300", NULL, 1, "OUT_OF_SCOPE",
	 "GF", "", 0, 0,
	 "not_applicable_dom late_penalties recovery_indemnity"},
	{"Mayotte written as France", I, "FR", "97600", NULL, 1,
	 "OUT_OF_SCOPE", "YT", "", 0, 0, "not_applicable_dom"},
	{"Saint-Barthelemy (97133, not Guadeloupe)", I, "FR", "97133", NULL, 1,
	 "OUT_OF_SCOPE", "BL", "", 0, 0, "out_of_scope_consumer"},
	{"Saint-Martin written as Guadeloupe", B, "GP", "97150", NULL, 1,
	 "OUT_OF_SCOPE", "MF", "", 0, 0,
	 "out_of_scope late_penalties recovery_indemnity"},
	{"New Caledonia", I, "NC", "98800", NULL, 1, "OUT_OF_SCOPE", "NC", "",
	 0, 0, "out_of_scope_consumer"},
	{"French Polynesia written as France", B, "FR", "98714", NULL, 1,
	 "OUT_OF_SCOPE", "PF", "", 0, 0,
	 "out_of_scope late_penalties recovery_indemnity"},
	/* Areas of member states outside the EU VAT area (article 6). */
	{"Canary Islands individual", I, "ES", "35001", NULL, 1,
	 "OUT_OF_SCOPE", "ES", "", 0, 0, "out_of_vat_area"},
	{"Canary Islands business with ES number: no reverse charge", B, "ES",
	 "38001", "ESB12345678", 1, "OUT_OF_SCOPE", "ES", "", 0, 0,
	 "out_of_vat_area late_penalties recovery_indemnity"},
	{"Madrid individual, OSS on", I, "ES", "28001", NULL, 1, "OSS", "ES",
	 "ES", PCT(21, 0), 0, "oss"},
	{"Busingen individual", I, "DE", "78266", NULL, 1, "OUT_OF_SCOPE",
	 "DE", "", 0, 0, "out_of_vat_area"},
	{"Livigno individual", I, "IT", "23041", NULL, 1, "OUT_OF_SCOPE", "IT",
	 "", 0, 0, "out_of_vat_area"},
	{"Mount Athos, postal with space", I, "GR", "630 86", NULL, 1,
	 "OUT_OF_SCOPE", "GR", "", 0, 0, "out_of_vat_area"},
	{"a German postal code that is not excluded", I, "DE", "78267", NULL,
	 1, "OSS", "DE", "DE", PCT(19, 0), 0, "oss"},
	{"a postal code with letters is ignored", I, "ES", "E-35001", NULL, 1,
	 "OSS", "ES", "ES", PCT(21, 0), 0, "oss"},
};

static void check_mentions(const struct vat_decision *v, const char *want,
			   const char *name)
{
	char buf[256] = "";
	size_t i;

	for (i = 0; i < v->nmentions; i++) {
		if (i) {
			strcat(buf, " ");
		}
		strcat(buf, v->mentions[i]);
	}
	assert_null(v->mentions[v->nmentions]);
	if (strcmp(buf, want) != 0) {
		fail_msg("%s: mentions '%s', expected '%s'", name, buf, want);
	}
}

static void test_decide(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(dcases) / sizeof(dcases[0]); i++) {
		const struct dcase *t = &dcases[i];
		struct vat_customer c = {t->kind, t->country, t->postal, t->vat};
		struct vat_decision v;
		struct diag d = DIAG_INIT;
		int rc = vat_decide("FR", &c, t->oss, vat_rates_lookup, &rates,
				    &v, &d);

		if (rc != 0) {
			fail_msg("%s: error %s", t->name,
				 d.n ? d.msg[0] : "(none)");
		}
		assert_int_equal(d.n, 0);
		if (strcmp(v.code, t->code) != 0) {
			fail_msg("%s: regime %s, expected %s (%s)", t->name,
				 v.code, t->code, v.reason);
		}
		assert_string_equal(vat_regime_code(v.regime), t->code);
		assert_string_equal(v.territory, t->territory);
		assert_string_equal(v.rate_country, t->rate_country);
		if (v.rate != t->rate) {
			fail_msg("%s: rate %lld, expected %lld", t->name,
				 (long long)v.rate, (long long)t->rate);
		}
		assert_int_equal(v.customer_vat_required, t->vat_required);
		assert_non_null(v.reason);
		check_mentions(&v, t->mentions, t->name);
	}
}

struct ecase {
	const char *name;
	const char *seller;
	const char *kind, *country, *postal, *vat;
	int oss;
	size_t nerr;
	const char *msg0, *msg1; /* substrings of the messages */
};

static const struct ecase ecases[] = {
	{"a seller outside France", "DE", I, "FR", NULL, NULL, 1, 1,
	 "only a seller established in France", NULL},
	{"no seller", NULL, I, "FR", NULL, NULL, 1, 1, "seller country", NULL},
	{"unknown kind", "FR", "company", "FR", NULL, NULL, 1, 1,
	 "kind 'company'", NULL},
	{"EL is not a country code", "FR", B, "EL", NULL, "EL094259216", 1, 1,
	 "'EL' is not an ISO 3166-1 code", NULL},
	{"unknown country", "FR", I, "XX", NULL, NULL, 1, 1,
	 "'XX' is not an ISO", NULL},
	{"Greek number written GR", "FR", B, "GR", NULL, "GR094259216", 1, 1,
	 "not a VAT number of GR", NULL},
	{"a German number for a Belgian customer", "FR", B, "BE", NULL,
	 "DE812345673", 1, 1, "not a VAT number of BE", NULL},
	{"an individual with a VAT number", "FR", I, "DE", NULL,
	 "DE812345673", 1, 1, "an individual has no VAT number", NULL},
	{"every error, not the first only", "FR", "firm", "BE", NULL,
	 "BE12", 1, 2, "kind 'firm'", "not a VAT number of BE"},
	{"seller and kind both wrong", "BE", "firm", "FR", NULL, NULL, 1, 2,
	 "only a seller established in France", "kind 'firm'"},
	{"OSS to a state without a rate", "FR", I, "MT", NULL, NULL, 1, 1,
	 "no standard VAT rate for MT", NULL},
};

static void test_decide_errors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ecases) / sizeof(ecases[0]); i++) {
		const struct ecase *t = &ecases[i];
		struct vat_customer c = {t->kind, t->country, t->postal, t->vat};
		struct vat_decision v;
		struct diag d = DIAG_INIT;
		int rc;

		memset(&v, 0x55, sizeof(v));
		rc = vat_decide(t->seller, &c, t->oss, vat_rates_lookup,
				&rates, &v, &d);
		if (rc != -1 || d.n != t->nerr) {
			fail_msg("%s: rc %d with %zu errors (%s), expected %zu",
				 t->name, rc, d.n, d.n ? d.msg[0] : "",
				 t->nerr);
		}
		if (!strstr(d.msg[0], t->msg0)) {
			fail_msg("%s: '%s' lacks '%s'", t->name, d.msg[0],
				 t->msg0);
		}
		if (t->msg1 && !strstr(d.msg[1], t->msg1)) {
			fail_msg("%s: '%s' lacks '%s'", t->name, d.msg[1],
				 t->msg1);
		}
		/* Never half-filled. */
		assert_null(v.code);
		assert_int_equal(v.rate, 0);
		assert_int_equal(v.nmentions, 0);
		diag_free(&d);
	}
}

/* The same rules with OSS off never charge a foreign rate; OSS on never
 * charges French VAT to a consumer in another member state; a 0 % regime
 * has no rate country. */
static void test_decide_invariants(void **state)
{
	static const char *const countries[] = {
		"AT", "BE", "DE", "ES", "FI", "FR", "GR", "IT", "MC", "GP",
		"MQ", "RE", "GF", "YT", "CH", "GB", "US", "NO", "AX", "NC"};
	static const char *const kinds[] = {B, A, I};
	size_t i, k;
	int oss;

	(void)state;
	for (i = 0; i < sizeof(countries) / sizeof(countries[0]); i++) {
		for (k = 0; k < 3; k++) {
			for (oss = 0; oss <= 1; oss++) {
				struct vat_customer c = {kinds[k], countries[i],
							 NULL, NULL};
				struct vat_decision v;
				struct diag d = DIAG_INIT;

				assert_int_equal(vat_decide("FR", &c, oss,
							    vat_rates_lookup,
							    &rates, &v, &d),
						 0);
				if (v.regime == VAT_REGIME_REVERSE_CHARGE ||
				    v.regime == VAT_REGIME_OUT_OF_SCOPE) {
					assert_int_equal(v.rate, 0);
					assert_string_equal(v.rate_country, "");
				} else {
					assert_true(v.rate > 0);
				}
				if (!oss) {
					assert_int_not_equal(v.regime,
							     VAT_REGIME_OSS);
				}
				/* Without a VAT number, never reverse charge. */
				assert_int_not_equal(v.regime,
						     VAT_REGIME_REVERSE_CHARGE);
				assert_int_equal(
					v.nmentions >= 2 &&
						!strcmp(v.mentions[v.nmentions - 1],
							"recovery_indemnity"),
					k != 2);
			}
		}
	}
}

static void test_regime_codes(void **state)
{
	static const char *const codes[] = {"FR", "REVERSE_CHARGE", "OSS",
					    "FR_NO_OSS", "DOM", "OUT_OF_SCOPE"};
	enum vat_regime r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		assert_int_equal(vat_regime_parse(codes[i], &r), 0);
		assert_int_equal(r, (enum vat_regime)i);
		assert_string_equal(vat_regime_code(r), codes[i]);
	}
	assert_int_equal(vat_regime_parse("fr", &r), -1);
	assert_int_equal(vat_regime_parse(NULL, &r), -1);
	assert_string_equal(vat_regime_code((enum vat_regime)42), "?");
}

struct acase {
	int64_t base, rate, want;
};

static void test_amount(void **state)
{
	static const struct acase cases[] = {
		{1000, PCT(20, 0), 200},	/* 10.00 x 20 % = 2.00 */
		{1234, PCT(25, 500000), 315},	/* 3.1467 -> 3.15 */
		{1, PCT(20, 0), 0},		/* 0.002 -> 0.00 */
		{3, PCT(8, 500000), 0},		/* 0.00255 -> 0.00 */
		{2, PCT(25, 0), 1},		/* 0.005: half away from zero */
		{-2, PCT(25, 0), -1},		/* a credit note, symmetric */
		{5, PCT(25, 500000), 1},	/* 0.01275 -> 0.01 */
		{999, PCT(19, 0), 190},		/* 1.8981 -> 1.90 */
		{0, PCT(20, 0), 0},
		{123456, 0, 0},			/* reverse charge, out of scope */
	};
	int64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(vat_amount_cents(cases[i].base, cases[i].rate,
						  &v), 0);
		if (v != cases[i].want) {
			fail_msg("case %zu: %lld x %lld -> %lld, expected %lld",
				 i, (long long)cases[i].base,
				 (long long)cases[i].rate, (long long)v,
				 (long long)cases[i].want);
		}
	}
	/* INT64_MAX = 9223372036854775807; x 0.2 = 1844674407370955161.4,
	 * which rounds down. */
	assert_int_equal(vat_amount_cents(INT64_MAX, PCT(20, 0), &v), 0);
	assert_int_equal(v, INT64_MAX / 5);
	/* A result that cannot fit is an error, not a wrap. */
	v = 7;
	assert_int_equal(vat_amount_cents(INT64_MAX, PCT(200, 0), &v), -1);
	assert_int_equal(v, 0);
}

static void test_rate_format(void **state)
{
	char buf[MONEY_FMT_MAX];

	(void)state;
	assert_string_equal(vat_rate_format(buf, PCT(20, 0)), "20.00");
	assert_string_equal(vat_rate_format(buf, PCT(25, 500000)), "25.50");
	assert_string_equal(vat_rate_format(buf, PCT(8, 500000)), "8.50");
	assert_string_equal(vat_rate_format(buf, 0), "0.00");
	/* Never rounds: a rate with more places keeps them. */
	assert_string_equal(vat_rate_format(buf, PCT(5, 125000)), "5.125");
}

static void test_mention_expand(void **state)
{
	static const char *const vars[] = {"country", "DE", "rate", "19.00",
					   "late_penalty_rate", NULL};
	struct diag d = DIAG_INIT;
	char *s;

	(void)state;
	s = vat_mention_expand("TVA ({country}, {rate} %) — OSS", vars, 3, &d);
	assert_string_equal(s, "TVA (DE, 19.00 %) — OSS");
	free(s);
	s = vat_mention_expand("{rate}{rate}", vars, 3, &d);
	assert_string_equal(s, "19.0019.00");
	free(s);
	/* A NULL value is empty; braces that are no placeholder are kept. */
	s = vat_mention_expand("[{late_penalty_rate}] {} { x} {Rate} {rate",
			       vars, 3, &d);
	assert_string_equal(s, "[] {} { x} {Rate} {rate");
	free(s);
	s = vat_mention_expand("", vars, 0, &d);
	assert_string_equal(s, "");
	free(s);
	assert_int_equal(d.n, 0);
	/* Unknown placeholders: each one reported, no text. */
	assert_null(vat_mention_expand("{foo} {rate} {bar_baz}", vars, 3, &d));
	assert_int_equal(d.n, 2);
	assert_non_null(strstr(d.msg[0], "{foo}"));
	assert_non_null(strstr(d.msg[1], "{bar_baz}"));
	diag_free(&d);
}

static void test_territory(void **state)
{
	char t[3];
	const char *area = "x";

	(void)state;
	assert_string_equal(vat_territory("MC", NULL, t, &area), "FR");
	assert_null(area);
	assert_string_equal(vat_territory("FR", "97411", t, &area), "RE");
	assert_string_equal(vat_territory("FR", "9741", t, &area), "FR");
	assert_string_equal(vat_territory("ES", "38 001", t, &area), "ES");
	assert_string_equal(area, "Canary Islands");
	assert_string_equal(vat_territory("ES", "51001", t, &area), "ES");
	assert_string_equal(area, "Ceuta");
	assert_string_equal(vat_territory("PT", "9500-000", t, &area), "PT");
	assert_null(area);
	assert_string_equal(vat_territory(NULL, "75001", t, NULL), "");
	assert_string_equal(vat_territory("FRA", NULL, t, NULL), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_decide_errors),
		cmocka_unit_test(test_decide_invariants),
		cmocka_unit_test(test_regime_codes),
		cmocka_unit_test(test_amount),
		cmocka_unit_test(test_rate_format),
		cmocka_unit_test(test_mention_expand),
		cmocka_unit_test(test_territory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
