/*
 * test_money — exact decimals: parsing (every error form), formatting,
 * THE rounding rule (half away from zero, to the cent), the 128-bit
 * multiply-divide of the rater, checked arithmetic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "billing/money.h"

struct parse_case {
	const char *in;
	unsigned flags;
	int places;
	int ok;
	int64_t micro;
	const char *why; /* expected message (exact) when !ok */
};

static const struct parse_case parse_cases[] = {
	{.in = "4.00", .places = 6, .ok = 1, .micro = 4000000},
	{.in = "0.8", .places = 6, .ok = 1, .micro = 800000},
	{.in = "12", .places = 6, .ok = 1, .micro = 12000000},
	{.in = "0", .places = 6, .ok = 1, .micro = 0},
	{.in = "19.90", .places = 2, .ok = 1, .micro = 19900000},
	{.in = "0.000001", .places = 6, .ok = 1, .micro = 1},
	{.in = "0.0035", .places = 6, .ok = 1, .micro = 3500},
	{.in = "007.5", .places = 6, .ok = 1, .micro = 7500000},
	{.in = "9223372036854.775807", .places = 6, .ok = 1,
	 .micro = INT64_MAX},
	{.in = "-1.5", .flags = MONEY_NEGATIVE_OK, .places = 6, .ok = 1,
	 .micro = -1500000},
	{.in = "-1.5", .places = 6,
	 .why = "\"-1.5\" is negative (expected 0 or more)"},
	{.in = "9,00", .places = 6,
	 .why = "\"9,00\" is not a decimal (use 9.00)"},
	{.in = "-1,5", .flags = MONEY_NEGATIVE_OK, .places = 6,
	 .why = "\"-1,5\" is not a decimal (use -1.5)"},
	{.in = "1.1234567", .places = 6,
	 .why = "\"1.1234567\" has more than 6 decimals"},
	{.in = "1.123", .places = 2,
	 .why = "\"1.123\" has more than 2 decimals"},
	{.in = "", .places = 6,
	 .why = "\"\" is empty (expected a decimal such as 9.00)"},
	{.in = "1e3", .places = 6,
	 .why = "\"1e3\" is not a decimal (no exponent: write the digits, "
		"such as 1500.00)"},
	{.in = "1.5E-2", .places = 6,
	 .why = "\"1.5E-2\" is not a decimal (no exponent: write the digits, "
		"such as 1500.00)"},
	{.in = " 4.00", .places = 6,
	 .why = "\" 4.00\" is not a decimal (no spaces allowed; write "
		"1234.50)"},
	{.in = "1 234.50", .places = 6,
	 .why = "\"1 234.50\" is not a decimal (no spaces allowed; write "
		"1234.50)"},
	{.in = "4.00 ", .places = 6,
	 .why = "\"4.00 \" is not a decimal (no spaces allowed; write "
		"1234.50)"},
	{.in = "9223372036854.775808", .places = 6,
	 .why = "\"9223372036854.775808\" is too large"},
	{.in = "9223372036855", .places = 6,
	 .why = "\"9223372036855\" is too large"},
	{.in = "99999999999999999999999", .places = 6,
	 .why = "\"99999999999999999999999\" is too large"},
	{.in = ".5", .places = 6, .why = "\".5\" is not a decimal (use 0.5)"},
	{.in = "5.", .places = 6,
	 .why = "\"5.\" is not a decimal (digits expected after the point)"},
	{.in = "+4", .places = 6,
	 .why = "\"+4\" is not a decimal (expected digits such as 9.00)"},
	{.in = "abc", .places = 6,
	 .why = "\"abc\" is not a decimal (expected digits such as 9.00)"},
	{.in = "4.0x", .places = 6,
	 .why = "\"4.0x\" is not a decimal (expected digits such as 9.00)"},
	{.in = "1.2.3", .places = 6,
	 .why = "\"1.2.3\" is not a decimal (expected digits such as 9.00)"},
	{.in = "--1", .flags = MONEY_NEGATIVE_OK, .places = 6,
	 .why = "\"--1\" is not a decimal (expected digits such as 9.00)"},
	{.in = "-x", .places = 6,
	 .why = "\"-x\" is not a decimal (expected digits such as 9.00)"},
};

static void test_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]);
	     i++) {
		const struct parse_case *c = &parse_cases[i];
		int64_t v = 42;
		char why[200] = "";
		int rc = money_parse(c->in, c->flags, c->places, &v, why,
				     sizeof(why));

		if (c->ok) {
			if (rc != 0 || v != c->micro) {
				print_error("case %zu \"%s\": rc %d, %lld, %s\n",
					    i, c->in, rc, (long long)v, why);
				fail();
			}
		} else {
			if (rc != -1 || v != 0 || strcmp(why, c->why)) {
				print_error("case %zu \"%s\": rc %d, [%s]\n"
					    "   expected [%s]\n",
					    i, c->in, rc, why, c->why);
				fail();
			}
		}
	}
}

/* A decimal comma beyond the 60 bytes the message quotes (found by
 * fuzz_seller: the hint once wrote through a NULL). */
static void test_long_comma(void **state)
{
	char in[200], why[256];
	int64_t v = 1;

	(void)state;
	memset(in, '9', sizeof(in));
	in[150] = ',';
	in[151] = '5';
	in[152] = '\0';
	assert_int_equal(money_parse(in, 0, 6, &v, why, sizeof(why)), -1);
	assert_int_equal(v, 0);
	assert_non_null(strstr(why, "is not a decimal (use 999"));
}

static void test_format(void **state)
{
	static const struct {
		int64_t micro;
		int places;
		const char *out;
	} cases[] = {
		{4000000, 2, "4.00"},   {3500, 2, "0.0035"},
		{800000, 1, "0.8"},     {2000000, 1, "2.0"},
		{12000000, 0, "12"},    {-1500000, 2, "-1.50"},
		{1, 0, "0.000001"},     {0, 2, "0.00"},
		{19900000, 2, "19.90"}, {INT64_MAX, 2, "9223372036854.775807"},
		{INT64_MIN, 2, "-9223372036854.775808"},
	};
	char buf[MONEY_FMT_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_string_equal(money_format(buf, cases[i].micro,
						 cases[i].places),
				    cases[i].out);
	}
	assert_string_equal(money_format_cents(buf, 1234), "12.34");
	assert_string_equal(money_format_cents(buf, -5), "-0.05");
	assert_string_equal(money_format_cents(buf, 0), "0.00");
}

/* Format then parse gives back the same value. */
static void test_round_trip(void **state)
{
	static const int64_t vals[] = {0, 1, 10, 999999, 1000000, 4000000,
				       123456789, INT64_MAX};
	char buf[MONEY_FMT_MAX], why[100];
	int64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		for (int p = 0; p <= 6; p++) {
			money_format(buf, vals[i], p);
			assert_int_equal(money_parse(buf, 0, 6, &v, why,
						     sizeof(why)), 0);
			assert_true(v == vals[i]);
		}
	}
}

/* THE rounding rule: half away from zero, to the cent. */
static void test_round_cents(void **state)
{
	static const struct {
		int64_t micro, cents;
	} cases[] = {
		{12345000, 1235},  /* 12.345 -> 12.35 (half up) */
		{12344999, 1234},  /* 12.344999 -> 12.34 */
		{12345001, 1235},
		{-12345000, -1235}, /* -12.345 -> -12.35 (away from zero) */
		{-12344999, -1234},
		{5000, 1},          /* 0.005 -> 0.01 */
		{-5000, -1},        /* -0.005 -> -0.01 */
		{4999, 0},
		{-4999, 0},
		{0, 0},
		{INT64_MAX, 922337203685478}, /* ...477.5807 -> ...478 */
		{INT64_MIN, -922337203685478},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (money_round_cents(cases[i].micro) != cases[i].cents) {
			print_error("case %zu: %lld -> %lld, expected %lld\n",
				    i, (long long)cases[i].micro,
				    (long long)money_round_cents(cases[i].micro),
				    (long long)cases[i].cents);
			fail();
		}
	}
}

static void test_mul_div(void **state)
{
	int64_t c = 77;

	(void)state;
	/* 9.00 x 17 days / 30 days = 5.10 exactly */
	assert_int_equal(money_mul_div_round_cents(9000000, 17, 30, &c), 0);
	assert_true(c == 510);
	/* 4.00 x 1 / 3 = 1.3333.. -> 1.33 */
	assert_int_equal(money_mul_div_round_cents(4000000, 1, 3, &c), 0);
	assert_true(c == 133);
	/* 19.90 x 15 / 31 = 9.62903.. -> 9.63 */
	assert_int_equal(money_mul_div_round_cents(19900000, 15, 31, &c), 0);
	assert_true(c == 963);
	/* 0.5 per 1000 x 2345 units: 1.1725 -> 1.17 */
	assert_int_equal(money_mul_div_round_cents(500000, 2345, 1000, &c), 0);
	assert_true(c == 117);
	/* exact half: 0.01 x 1 / 2 = 0.005 -> 0.01; negative -> -0.01 */
	assert_int_equal(money_mul_div_round_cents(10000, 1, 2, &c), 0);
	assert_true(c == 1);
	assert_int_equal(money_mul_div_round_cents(-10000, 1, 2, &c), 0);
	assert_true(c == -1);
	assert_int_equal(money_mul_div_round_cents(10000, -1, 2, &c), 0);
	assert_true(c == -1);
	assert_int_equal(money_mul_div_round_cents(10000, 1, -2, &c), 0);
	assert_true(c == -1);
	/* odd divisor, exact half: 0.03 / 6 = 0.005 -> 0.01 */
	assert_int_equal(money_mul_div_round_cents(30000, 1, 6, &c), 0);
	assert_true(c == 1);
	/* the intermediate exceeds int64 but the result fits */
	assert_int_equal(money_mul_div_round_cents(INT64_MAX, INT64_MAX,
						   INT64_MAX, &c), 0);
	assert_true(c == 922337203685478);
	/* overflow of the result, and a zero divisor: -1 and 0 out */
	c = 77;
	assert_int_equal(money_mul_div_round_cents(INT64_MAX, INT64_MAX, 1, &c),
			 -1);
	assert_true(c == 0);
	c = 77;
	assert_int_equal(money_mul_div_round_cents(1, 1, 0, &c), -1);
	assert_true(c == 0);
}

static void test_checked(void **state)
{
	int64_t v = 5;

	(void)state;
	assert_int_equal(money_add(1, 2, &v), 0);
	assert_true(v == 3);
	assert_int_equal(money_add(INT64_MAX, 1, &v), -1);
	assert_true(v == 0);
	assert_int_equal(money_add(INT64_MIN, -1, &v), -1);
	assert_int_equal(money_add(INT64_MAX, INT64_MIN, &v), 0);
	assert_true(v == -1);
	assert_int_equal(money_mul(4000000, 12, &v), 0);
	assert_true(v == 48000000);
	v = 5;
	assert_int_equal(money_mul(INT64_MAX / 2 + 1, 2, &v), -1);
	assert_true(v == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_long_comma),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_round_cents),
		cmocka_unit_test(test_mul_div),
		cmocka_unit_test(test_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
