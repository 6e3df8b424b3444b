/*
 * test_quota — the pure soft-quota rules: a table of counts around each
 * threshold (worked out by hand), refused inputs, the plan advice and the
 * notice text in both languages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "billing/quota.h"
#include "billing/tariff.h"

#define R(x) ((int64_t)(x)) /* a ratio in micro-units */

static const struct {
	const char *name;
	int64_t count, quota, warn, block;
	enum quota_state want;
} cases[] = {
	/* quota 100, warn 0.8 (80), block 2.0 (200) */
	{"zero", 0, 100, R(800000), R(2000000), QUOTA_OK},
	{"under warn", 79, 100, R(800000), R(2000000), QUOTA_OK},
	{"at warn", 80, 100, R(800000), R(2000000), QUOTA_WARN},
	{"at quota", 100, 100, R(800000), R(2000000), QUOTA_WARN},
	{"one over", 101, 100, R(800000), R(2000000), QUOTA_OVER},
	{"at block", 200, 100, R(800000), R(2000000), QUOTA_OVER},
	{"over block", 201, 100, R(800000), R(2000000), QUOTA_BLOCKED},
	/* warn 0.333333 x 3 = 0.999999: 1 reaches it, exactly. */
	{"fractional warn", 1, 3, R(333333), R(2000000), QUOTA_WARN},
	/* warn 0.333334 x 3 = 1.000002: 1 does not. */
	{"fractional warn miss", 1, 3, R(333334), R(2000000), QUOTA_OK},
	/* block 1.5 x 7 = 10.5: 10 is over, 11 blocked. */
	{"fractional block under", 10, 7, R(800000), R(1500000), QUOTA_OVER},
	{"fractional block over", 11, 7, R(800000), R(1500000),
	 QUOTA_BLOCKED},
	/* quota 0: any traffic is over every ratio. */
	{"quota zero idle", 0, 0, R(800000), R(2000000), QUOTA_OK},
	{"quota zero sent", 1, 0, R(800000), R(2000000), QUOTA_BLOCKED},
	/* block ratio 1.0 = quota: over is never reached, blocked is. */
	{"block at quota", 101, 100, R(800000), R(1000000), QUOTA_BLOCKED},
	/* Big numbers: count x 10^6 and ratio x quota need 128 bits. */
	{"huge under", INT64_MAX / 4, INT64_MAX / 2, R(800000), R(2000000),
	 QUOTA_OK},
	{"huge blocked", INT64_MAX, INT64_MAX / 4, R(800000), R(2000000),
	 QUOTA_BLOCKED},
	{"huge warn", INT64_MAX - 1, INT64_MAX, R(800000), R(2000000),
	 QUOTA_WARN},
};

static void test_states(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct diag d = DIAG_INIT;
		enum quota_state st = QUOTA_BLOCKED;
		int rc = quota_state_of(cases[i].count, cases[i].quota,
					cases[i].warn, cases[i].block, &st, &d);

		if (rc != 0 || st != cases[i].want) {
			fail_msg("%s: rc %d, state %s, want %s", cases[i].name,
				 rc, quota_state_name(st),
				 quota_state_name(cases[i].want));
		}
		assert_int_equal(d.n, 0);
	}
}

static void test_refused(void **state)
{
	static const int64_t bad[][4] = {
		{-1, 100, 800000, 2000000},
		{1, -100, 800000, 2000000},
		{1, 100, -1, 2000000},
		{1, 100, 800000, -2},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct diag d = DIAG_INIT;
		enum quota_state st = QUOTA_BLOCKED;

		assert_int_equal(quota_state_of(bad[i][0], bad[i][1], bad[i][2],
						bad[i][3], &st, &d), -1);
		assert_int_equal(st, QUOTA_OK);
		assert_int_equal(d.n, 1);
		diag_free(&d);
	}
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(quota_state_name(QUOTA_OK), "ok");
	assert_string_equal(quota_state_name(QUOTA_WARN), "warn");
	assert_string_equal(quota_state_name(QUOTA_OVER), "over");
	assert_string_equal(quota_state_name(QUOTA_BLOCKED), "blocked");
}

static struct tariff_plan plans[] = {
	{(char *)"S", (char *)"Essentiel", 4000000, 100, 0},
	{(char *)"M", (char *)"Standard", 9000000, 500, 0},
	{(char *)"L", (char *)"Pro", 19900000, 2000, 0},
	{(char *)"L2", (char *)"Pro bis", 18000000, 2000, 0},
	{(char *)"XL", (char *)"Entreprise", 49000000, 10000, 0},
};

static void test_advice(void **state)
{
	static const struct {
		int64_t quota, count;
		const char *want; /* NULL: none */
	} t[] = {
		{100, 150, "M"},    /* the next plan up covers it */
		{100, 501, "L2"},   /* 2000, the cheaper of the two */
		{100, 90, "M"},     /* warn: still the next one up */
		{500, 50000, "XL"}, /* none covers: the largest */
		{10000, 20000, NULL}, /* already the largest */
	};
	struct tariff tf;

	(void)state;
	memset(&tf, 0, sizeof(tf));
	tf.plans = plans;
	tf.nplans = sizeof(plans) / sizeof(plans[0]);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const struct tariff_plan *p = quota_advice(&tf, t[i].quota,
							   t[i].count);

		if (!t[i].want) {
			assert_null(p);
		} else {
			assert_non_null(p);
			assert_string_equal(p->code, t[i].want);
		}
	}
}

static void test_notice(void **state)
{
	struct quota_notice n = {
		.lang = "fr",
		.to = "tresorerie@jardins-faubourg.org",
		.customer_id = "C-1002",
		.customer_name = "Les Jardins",
		.day = "2026-10-05",
		.level = QUOTA_OVER,
		.count = 150,
		.quota = 100,
		.plan_code = "S",
		.plan_name = "Essentiel",
		.unit = TARIFF_UNIT_RECIPIENT,
		.warn_ratio = 800000,
		.block_ratio = 2000000,
		.tolerated_days = 3,
		.advice = &plans[1],
	};
	char *m;

	(void)state;
	m = quota_notice_format(&n);
	assert_non_null(strstr(m, "To: tresorerie@jardins-faubourg.org\n"));
	assert_null(strstr(m, "From:"));
	/* "dépassé" Q-encoded: é is C3 A9. */
	assert_non_null(strstr(m, "Subject: =?UTF-8?Q?Quota_d=27envoi_"));
	assert_non_null(strstr(m, "d=C3=A9pass=C3=A9"));
	assert_non_null(strstr(m, "\n\nBonjour,\n"));
	assert_non_null(strstr(m, "a envoyé 150 destinataires pour un quota"
				  " journalier de 100"));
	assert_non_null(strstr(m, "soit 150 % du quota"));
	assert_non_null(strstr(m, "Au-delà de 2.0 fois le quota (200"
				  " destinataires)"));
	assert_non_null(strstr(m, "la formule M « Standard » (500"));
	free(m);

	n.lang = "en";
	n.level = QUOTA_WARN;
	n.count = 85;
	n.from = "billing@example.net";
	n.unit = TARIFF_UNIT_MESSAGE;
	m = quota_notice_format(&n);
	assert_non_null(strstr(m, "From: billing@example.net\nTo: "));
	assert_non_null(strstr(m, "Subject: =?UTF-8?Q?Daily_sending_quota_"
				  "nearly_reached"));
	assert_non_null(strstr(m, "sent 85 messages against a daily quota"
				  " of 100"));
	assert_non_null(strstr(m, "sent from 80 % of the quota"));
	/* No encoded word longer than RFC 2047's 75 characters. */
	for (const char *s = strstr(m, "=?UTF-8?Q?"); s;
	     s = strstr(s + 1, "=?UTF-8?Q?")) {
		assert_true(strstr(s, "?=") - s + 2 <= 75);
	}
	free(m);

	/* Extreme grid values: figures clamp, nothing overflows (UBSan). */
	n.count = INT64_MAX;
	n.quota = 1;
	n.warn_ratio = INT64_MAX;
	n.block_ratio = INT64_MAX;
	m = quota_notice_format(&n);
	assert_non_null(strstr(m, "that is 9223372036854775807 % of"));
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_advice),
		cmocka_unit_test(test_notice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
