/*
 * test_registry_db — `releve registry import|show` against a real
 * PostgreSQL: import of the examples, the show/import round trip that
 * rewrites nothing, the replace semantics, all-or-nothing on errors
 * (row counts before and after), ownership and plan checks, CSV on
 * stdin, --dry-run, and the mailcow sync.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/xalloc.h"
#include "testutil.h"

/* The plans of examples/tariff.json, inserted directly so that these
 * tests do not depend on `tariff load`. */
static void load_tariff(PGconn *c)
{
	testdb_exec(c,
		    "INSERT INTO tariff_versions (version, effective_from, currency,"
		    " timezone, outbound_unit, count_local, warn_ratio, tolerated_days,"
		    " block_ratio, overage_per_1000, vat_oss, document)"
		    " VALUES ('2026-09', '2026-09-01', 'EUR', 'Europe/Paris',"
		    " 'recipient', false, 0.8, 3, 2.0, 0, true, '{}')");
	testdb_exec(c,
		    "INSERT INTO tariff_plans (version, code, name, position,"
		    " monthly_fee, outbound_per_day, storage_included) VALUES"
		    " ('2026-09', 'S', 'Essentiel', 1, 4, 100, 10737418240),"
		    " ('2026-09', 'M', 'Standard', 2, 9, 500, 53687091200),"
		    " ('2026-09', 'L', 'Pro', 3, 19, 2000, 214748364800),"
		    " ('2026-09', 'XL', 'Entreprise', 4, 39, 5000, 536870912000)");
}

/* Row counts of the four registry tables, as one string. */
static char *counts(PGconn *c)
{
	return testdb_value(c,
			    "SELECT (SELECT count(*) FROM customers) || '/' ||"
			    " (SELECT count(*) FROM domains) || '/' ||"
			    " (SELECT count(*) FROM mailboxes) || '/' ||"
			    " (SELECT count(*) FROM subscriptions)");
}

/* Every row's identity and version (xmin changes when a row is
 * rewritten), to prove that a re-import writes nothing. */
static char *fingerprint(PGconn *c)
{
	return testdb_value(c,
			    "SELECT (SELECT string_agg(id || updated_at::text || xmin::text, ','"
			    " ORDER BY id) FROM customers) || '|' ||"
			    " (SELECT string_agg(name || xmin::text, ',' ORDER BY name) FROM domains)"
			    " || '|' || (SELECT string_agg(address || xmin::text, ','"
			    " ORDER BY address) FROM mailboxes) || '|' ||"
			    " (SELECT string_agg(id::text || xmin::text, ',' ORDER BY id)"
			    " FROM subscriptions)");
}

static int run(char **out, char **err, const char *a1, const char *a2,
	       const char *a3, const char *a4)
{
	return test_run(NULL, out, err, "registry", a1, a2, a3, a4, NULL);
}

static PGconn *fresh(const char *name)
{
	PGconn *c = testdb_open(name);
	char *out, *err;
	int rc;

	load_tariff(c);
	rc = run(&out, &err, "import", "examples/registry.json", NULL, NULL);
	if (rc != 0) {
		fail_msg("import of the example failed: %s", err);
	}
	free(out);
	free(err);
	return c;
}

static void test_import_round_trip(void **state)
{
	PGconn *c = fresh("registry_round_trip");
	char *out, *err, *out2, *n, *fp, *fp2, *v;
	char path[512];
	int rc;

	(void)state;
	n = counts(c);
	assert_string_equal(n, "8/9/25/9");
	free(n);
	v = testdb_value(c, "SELECT vat_number FROM customers WHERE id = 'C-1006'");
	assert_string_equal(v, "CHE116281710");
	free(v);
	v = testdb_value(c, "SELECT login FROM mailboxes WHERE address = 'compta@menuiserie-lambert.fr'");
	assert_string_equal(v, "compta.lambert");
	free(v);

	rc = run(&out, &err, "show", "--json", NULL, NULL);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "\"line2\": null"));
	snprintf(path, sizeof(path), "%s", test_write_file("shown.json", out));
	fp = fingerprint(c);
	free(err);

	/* Import what show printed: nothing changes, nothing is rewritten. */
	rc = run(NULL, &err, "import", path, NULL, NULL);
	if (rc != 0) {
		fail_msg("re-import: %s", err);
	}
	free(err);
	rc = run(&out2, NULL, "show", "--json", NULL, NULL);
	assert_int_equal(rc, 0);
	assert_string_equal(out, out2);
	fp2 = fingerprint(c);
	assert_string_equal(fp, fp2);
	free(fp2);
	/* The example file itself, again: the same. */
	rc = run(NULL, NULL, "import", "examples/registry.json", NULL, NULL);
	assert_int_equal(rc, 0);
	fp2 = fingerprint(c);
	assert_string_equal(fp, fp2);
	free(fp2);
	free(fp);
	free(out);
	free(out2);

	/* The table and one customer. */
	rc = run(&out, NULL, "show", NULL, NULL, NULL);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "C-1007"));
	assert_non_null(strstr(out, "8 customers"));
	free(out);
	rc = run(&out, NULL, "show", "--json", "--customer", "C-1004");
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "BE0417238570"));
	assert_null(strstr(out, "C-1001"));
	free(out);
	rc = run(NULL, &err, "show", "--customer", "C-404", NULL);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "C-404"));
	free(err);
	PQfinish(c);
}

static void test_replace_semantics(void **state)
{
	PGconn *c = fresh("registry_replace");
	const char *doc =
		"{\"customers\": [{\"id\": \"C-1007\", \"name\": \"Studio Perrin SAS\","
		" \"kind\": \"business\", \"address\": {\"line1\": \"27 rue de Marseille\","
		" \"postal_code\": \"69007\", \"city\": \"Lyon\"}, \"country\": \"FR\","
		" \"vat_number\": \"FR65512349879\", \"siren\": \"512349879\","
		" \"billing_email\": \"factures@studio-perrin.fr\","
		" \"domains\": [\"studio-perrin.fr\"],"
		" \"mailboxes\": [{\"address\": \"hello@studio-perrin.fr\", \"login\": \"factures@studio-perrin.fr\"},"
		"  {\"address\": \"factures@studio-perrin.fr\", \"login\": \"hello@studio-perrin.fr\"}],"
		" \"subscriptions\": [{\"plan\": \"S\", \"start\": \"2026-09-01\", \"end\": \"2026-11-01\"},"
		"  {\"plan\": \"L\", \"start\": \"2026-11-01\"}]}]}";
	char *before, *after, *v, *err;
	int rc;

	(void)state;
	before = testdb_value(c, "SELECT string_agg(id || updated_at::text || xmin::text, ',')"
			      " FROM customers WHERE id <> 'C-1007'");
	rc = test_run(doc, NULL, &err, "registry", "import", "-", NULL);
	if (rc != 0) {
		fail_msg("%s", err);
	}
	free(err);
	/* Other customers untouched. */
	after = testdb_value(c, "SELECT string_agg(id || updated_at::text || xmin::text, ',')"
			     " FROM customers WHERE id <> 'C-1007'");
	assert_string_equal(before, after);
	free(before);
	free(after);
	/* C-1007: exactly what the file lists; logins swapped in place. */
	v = testdb_value(c, "SELECT name FROM customers WHERE id = 'C-1007'");
	assert_string_equal(v, "Studio Perrin SAS");
	free(v);
	v = testdb_value(c, "SELECT string_agg(address || '=' || login, ' ' ORDER BY address)"
			 " FROM mailboxes WHERE customer_id = 'C-1007'");
	assert_string_equal(v, "factures@studio-perrin.fr=hello@studio-perrin.fr "
			       "hello@studio-perrin.fr=factures@studio-perrin.fr");
	free(v);
	v = testdb_value(c, "SELECT string_agg(plan_code || ':' || start_date || ':' ||"
			 " coalesce(end_date::text, ''), ' ' ORDER BY start_date)"
			 " FROM subscriptions WHERE customer_id = 'C-1007'");
	assert_string_equal(v, "S:2026-09-01:2026-11-01 L:2026-11-01:");
	free(v);
	v = counts(c);
	assert_string_equal(v, "8/9/22/9");
	free(v);
	PQfinish(c);
}

static void test_all_or_nothing(void **state)
{
	PGconn *c = fresh("registry_atomic");
	/* A valid new customer, then DB-level errors: an unknown plan, a
	 * domain and a mailbox login of another customer. */
	const char *doc =
		"{\"customers\": ["
		"{\"id\": \"C-2001\", \"name\": \"Nouveau\", \"kind\": \"individual\","
		" \"address\": {\"line1\": \"1 rue A\", \"postal_code\": \"75011\", \"city\": \"Paris\"},"
		" \"country\": \"FR\", \"billing_email\": \"a@nouveau.fr\","
		" \"domains\": [\"nouveau.fr\"], \"mailboxes\": [{\"address\": \"a@nouveau.fr\"}],"
		" \"subscriptions\": [{\"plan\": \"S\", \"start\": \"2026-09-01\"}]},"
		"{\"id\": \"C-2002\", \"name\": \"Voleur\", \"kind\": \"individual\","
		" \"address\": {\"line1\": \"1 rue B\", \"postal_code\": \"75011\", \"city\": \"Paris\"},"
		" \"country\": \"FR\", \"billing_email\": \"b@voleur.fr\","
		" \"domains\": [\"voleur.fr\", \"menuiserie-lambert.fr\"],"
		" \"mailboxes\": [{\"address\": \"b@voleur.fr\", \"login\": \"compta.lambert\"}],"
		" \"subscriptions\": [{\"plan\": \"XXL\", \"start\": \"2026-09-01\"}]}]}";
	char *before, *after, *err, *path;
	int rc;

	(void)state;
	before = counts(c);
	path = xstrdup(test_write_file("atomic.json", doc));
	rc = run(NULL, &err, "import", path, NULL, NULL);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "atomic.json: customers[1].subscriptions[0].plan: "
				    "unknown plan code 'XXL' (known: S, M, L, XL)"));
	assert_non_null(strstr(err, "atomic.json: customers[1].domains[1]: domain "
				    "'menuiserie-lambert.fr' belongs to customer C-1001 in the database"));
	assert_non_null(strstr(err, "customers[1].mailboxes[0].login: login 'compta.lambert' "
				    "is the login of mailbox 'compta@menuiserie-lambert.fr' of customer C-1001"));
	assert_non_null(strstr(err, "nothing stored"));
	free(err);
	after = counts(c);
	assert_string_equal(before, after);
	free(after);

	/* A validation error: nothing stored either, every error printed. */
	doc = "{\"customers\": [{\"id\": \"C-3001\", \"name\": \"X\", \"kind\": \"individual\","
	      " \"address\": {\"line1\": \"1 rue A\", \"postal_code\": \"75011\", \"city\": \"Paris\"},"
	      " \"country\": \"FR\", \"billing_email\": \"x@x.fr\", \"domains\": [\"x.fr\"],"
	      " \"subscriptions\": [{\"plan\": \"S\", \"start\": \"2026-09-01\"},"
	      " {\"plan\": \"M\", \"start\": \"2026-10-01\"}]},"
	      " {\"id\": \"C-3002\", \"name\": \"Y\", \"kind\": \"shop\","
	      " \"address\": {\"line1\": \"1 rue A\", \"postal_code\": \"75011\", \"city\": \"Paris\"},"
	      " \"country\": \"FR\", \"billing_email\": \"y@y.fr\", \"domains\": [\"x.fr\"]}]}";
	rc = test_run(doc, NULL, &err, "registry", "import", "-", NULL);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "<stdin>: customers[0].subscriptions[1]: M from 2026-10-01 overlaps"));
	assert_non_null(strstr(err, "<stdin>: customers[1].kind: 'shop' is not a kind"));
	assert_non_null(strstr(err, "<stdin>: customers[1].domains[0]: domain 'x.fr' is also claimed by customer C-3001"));
	free(err);
	after = counts(c);
	assert_string_equal(before, after);
	free(after);

	/* --dry-run of a valid file: checked, not stored. */
	doc = "id,name,kind,address_line1,postal_code,city,country,billing_email,domains\n"
	      "C-4001,Z,individual,1 rue Z,75011,Paris,FR,z@z.fr,z.fr\n";
	rc = test_run(doc, NULL, NULL, "registry", "import", "--dry-run",
		      "--format", "csv", "-", NULL);
	assert_int_equal(rc, 0);
	after = counts(c);
	assert_string_equal(before, after);
	free(after);
	rc = test_run(doc, NULL, NULL, "registry", "import", "--format", "csv",
		      "-", NULL);
	assert_int_equal(rc, 0);
	after = testdb_value(c, "SELECT customer_id FROM domains WHERE name = 'z.fr'");
	assert_string_equal(after, "C-4001");
	free(after);
	free(before);
	free(path);
	PQfinish(c);
}

static void test_no_tariff(void **state)
{
	PGconn *c = testdb_open("registry_no_tariff");
	char *err, *n;
	int rc;

	(void)state;
	rc = run(NULL, &err, "import", "examples/registry.json", NULL, NULL);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "no tariff is loaded: run releve tariff load first"));
	free(err);
	n = counts(c);
	assert_string_equal(n, "0/0/0/0");
	free(n);
	/* Without subscriptions, no tariff is needed. */
	rc = test_run("id,name,kind,address_line1,postal_code,city,country,billing_email\n"
		      "C-1,A,individual,1 rue A,75011,Paris,FR,a@a.fr\n",
		      NULL, &err, "registry", "import", "--format", "csv", "-", NULL);
	if (rc != 0) {
		fail_msg("%s", err);
	}
	free(err);
	rc = run(NULL, NULL, "import", "--help", NULL, NULL);
	assert_int_equal(rc, 0);
	rc = run(NULL, NULL, "import", NULL, NULL, NULL);
	assert_int_equal(rc, 2);
	rc = run(NULL, NULL, "import", "--format", "xml", "x");
	assert_int_equal(rc, 2);
	PQfinish(c);
}

static void test_mailcow_sync(void **state)
{
	PGconn *c = fresh("registry_mailcow");
	char *out, *err, *v, *subs;
	int rc;

	(void)state;
	subs = testdb_value(c, "SELECT count(*) FROM subscriptions");
	rc = test_run(NULL, &out, &err, "registry", "import", "--mailcow-domains",
		      "examples/mailcow-domains.json", "--mailcow-mailboxes",
		      "examples/mailcow-mailboxes.json", "--domain-map",
		      "examples/mailcow-domain-map.txt", NULL);
	if (rc != 0) {
		fail_msg("%s", err);
	}
	/* the unmapped operator domain is reported and left out */
	assert_non_null(strstr(err, "relais-test.fr"));
	free(out);
	free(err);
	v = testdb_value(c, "SELECT customer_id FROM domains WHERE name = 'lambert-bois.fr'");
	assert_string_equal(v, "C-1001");
	free(v);
	v = testdb_value(c, "SELECT customer_id || ' ' || login || ' ' || start_date"
			 " FROM mailboxes WHERE address = 'devis@lambert-bois.fr'");
	assert_string_equal(v, "C-1001 devis@lambert-bois.fr 2026-09-03");
	free(v);
	v = testdb_value(c, "SELECT count(*) FROM domains WHERE name = 'relais-test.fr'");
	assert_string_equal(v, "0");
	free(v);
	v = testdb_value(c, "SELECT count(*) FROM subscriptions");
	assert_string_equal(v, subs);
	free(v);
	/* existing mailboxes keep their registry days */
	v = testdb_value(c, "SELECT start_date FROM mailboxes WHERE address = 'louis@martin-famille.fr'");
	assert_string_equal(v, "2026-09-17");
	free(v);

	/* A domain mapped to a customer that does not exist, or that belongs
	 * to someone else: nothing stored. */
	v = counts(c);
	rc = test_run(NULL, NULL, &err, "registry", "import", "--mailcow-domains",
		      "examples/mailcow-domains.json", "--mailcow-mailboxes",
		      "examples/mailcow-mailboxes.json", "--domain-map",
		      test_write_file("map-bad.txt", "lambert-bois.fr C-1002\n"
				      "martin-famille.fr C-9999\n"), NULL);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "customer 'C-9999'"));
	assert_non_null(strstr(err, "domain lambert-bois.fr: mapped to customer C-1002, but it belongs to customer C-1001"));
	free(err);
	out = counts(c);
	assert_string_equal(v, out);
	free(out);
	free(v);
	free(subs);
	PQfinish(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_import_round_trip),
		cmocka_unit_test(test_replace_semantics),
		cmocka_unit_test(test_all_or_nothing),
		cmocka_unit_test(test_no_tariff),
		cmocka_unit_test(test_mailcow_sync),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
