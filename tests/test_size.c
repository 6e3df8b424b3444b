/*
 * test_size — byte sizes with binary units: every accepted form, every
 * refusal with its message, formatting and the parse(format(x)) round trip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/size.h"

struct case_ {
	const char *in;
	int ok;
	int64_t bytes;
	const char *why;
};

#define GIB ((int64_t)1 << 30)

static const struct case_ cases[] = {
	{.in = "10 GiB", .ok = 1, .bytes = 10 * GIB},
	{.in = "10GiB", .ok = 1, .bytes = 10 * GIB},
	{.in = "512 MiB", .ok = 1, .bytes = 512 << 20},
	{.in = "1.5 GiB", .ok = 1, .bytes = 3 * GIB / 2},
	{.in = "0.5 KiB", .ok = 1, .bytes = 512},
	{.in = "1 TiB", .ok = 1, .bytes = (int64_t)1 << 40},
	{.in = "1024 B", .ok = 1, .bytes = 1024},
	{.in = "0 B", .ok = 1, .bytes = 0},
	{.in = "8388607 TiB", .ok = 1, .bytes = (int64_t)8388607 << 40},
	{.in = "10 GB",
	 .why = "\"10 GB\" uses an unknown unit \"GB\" (use GiB: sizes are "
		"powers of 1024)"},
	{.in = "10 G",
	 .why = "\"10 G\" uses an unknown unit \"G\" (use GiB: sizes are "
		"powers of 1024)"},
	{.in = "10 Mo",
	 .why = "\"10 Mo\" uses an unknown unit \"Mo\" (use MiB: sizes are "
		"powers of 1024)"},
	{.in = "10 gib",
	 .why = "\"10 gib\" uses an unknown unit \"gib\" (use GiB: sizes are "
		"powers of 1024)"},
	{.in = "10 parsecs",
	 .why = "\"10 parsecs\" uses an unknown unit \"parsecs\" (expected "
		"B, KiB, MiB, GiB or TiB)"},
	{.in = "10  GiB",
	 .why = "\"10  GiB\" is not a size (one space at most before the "
		"unit)"},
	{.in = "-1 GiB", .why = "\"-1 GiB\" is negative"},
	{.in = "1.1 KiB", .why = "\"1.1 KiB\" is not a whole number of bytes"},
	{.in = "0.5 B", .why = "\"0.5 B\" is not a whole number of bytes"},
	{.in = "8388608 TiB", .why = "\"8388608 TiB\" is too large"},
	{.in = "99999999999999999999 B",
	 .why = "\"99999999999999999999 B\" is too large"},
	{.in = "1024",
	 .why = "\"1024\" has no unit (write \"1024 B\", \"10 GiB\", or a "
		"JSON integer of bytes)"},
	{.in = "", .why = "\"\" is empty (expected a size such as \"10 GiB\")"},
	{.in = "GiB",
	 .why = "\"GiB\" is not a size (expected a number and a unit, such "
		"as \"10 GiB\")"},
	{.in = "1,5 GiB",
	 .why = "\"1,5 GiB\" is not a size (use a point: \"1.5 GiB\")"},
	{.in = "1. GiB",
	 .why = "\"1. GiB\" is not a size (digits expected after the point)"},
};

static void test_parse(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct case_ *c = &cases[i];
		int64_t b = 42;
		char why[200] = "";
		int rc = size_parse(c->in, &b, why, sizeof(why));

		if (c->ok ? (rc != 0 || b != c->bytes)
			  : (rc != -1 || b != 0 || strcmp(why, c->why))) {
			print_error("case %zu \"%s\": rc %d, %lld, [%s]\n"
				    "   expected [%s]\n", i, c->in, rc,
				    (long long)b, why, c->why ? c->why : "");
			fail();
		}
	}
}

static void test_format(void **state)
{
	static const struct {
		int64_t b;
		const char *out;
	} f[] = {
		{10 * GIB, "10 GiB"},	   {3 * GIB / 2, "1536 MiB"},
		{1000, "1000 B"},	   {0, "0 B"},
		{1024, "1 KiB"},	   {(int64_t)1 << 40, "1 TiB"},
		{(int64_t)2048 << 40, "2048 TiB"}, {INT64_MAX, "9223372036854775807 B"},
	};
	char buf[SIZE_FMT_MAX], why[100];
	int64_t b;

	(void)state;
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		assert_string_equal(size_format(buf, f[i].b), f[i].out);
		assert_int_equal(size_parse(buf, &b, why, sizeof(why)), 0);
		assert_true(b == f[i].b);
	}
}

static void test_json(void **state)
{
	json_t *o = json_pack("{s:i, s:s, s:i, s:f, s:b}", "a", 1024, "b",
			      "2 KiB", "c", -1, "d", 1.5, "e", 1);
	struct diag d = DIAG_INIT;
	struct jsonv v;
	int64_t b;

	(void)state;
	jsonv_init(&v, "f.json", &d);
	assert_int_equal(size_jsonv(&v, o, "a", 1, &b), 0);
	assert_true(b == 1024);
	assert_int_equal(size_jsonv(&v, o, "b", 1, &b), 0);
	assert_true(b == 2048);
	assert_int_equal(size_jsonv(&v, o, "missing", 0, &b), 1);
	assert_int_equal(d.n, 0);
	assert_int_equal(size_jsonv(&v, o, "c", 1, &b), -1);
	assert_int_equal(size_jsonv(&v, o, "d", 1, &b), -1);
	assert_int_equal(size_jsonv(&v, o, "missing", 1, &b), -1);
	assert_int_equal(d.n, 3);
	assert_string_equal(d.msg[0], "f.json: c: -1 is negative");
	assert_string_equal(d.msg[1], "f.json: d: expected a size such as "
				      "\"10 GiB\" or an integer of bytes");
	assert_string_equal(d.msg[2], "f.json: missing: missing (required)");
	diag_free(&d);
	json_decref(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
