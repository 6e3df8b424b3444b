/*
 * test_invoice_db — the invoice batch on a real PostgreSQL: drafts equal
 * `releve rate`, re-runs change nothing, issuing numbers without gaps
 * (also with two issuers at once), issued documents cannot be changed
 * (the triggers), credit notes full and partial, a batch killed mid-run
 * and run again, and the figures pdftotext finds in the PDF.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "testutil.h"

static PGconn *db;

#define FINGERPRINT                                                         \
	"SELECT md5(string_agg(concat_ws('|', i.customer_id, i.status,"     \
	" i.number, i.net_cents, i.vat_cents, i.total_cents, i.vat_regime," \
	" i.tariff_version, i.usage::text, i.mentions::text,"               \
	" i.customer::text, (SELECT string_agg(concat_ws(',', l.line_no,"   \
	" l.kind, l.description, l.quantity_micro, l.unit_price_micro,"     \
	" l.vat_rate_micro, l.net_cents), ';' ORDER BY l.line_no)"          \
	" FROM invoice_lines l WHERE l.invoice_id = i.id),"                 \
	" (SELECT string_agg(concat_ws(',', v.vat_rate_micro, v.base_cents," \
	" v.vat_cents), ';' ORDER BY v.vat_rate_micro) FROM invoice_vat v"  \
	" WHERE v.invoice_id = i.id)), E'\\n' ORDER BY i.customer_id))"     \
	" FROM invoices i WHERE kind = 'invoice' AND period_start = $1::date"

static char *fingerprint(const char *first)
{
	const char *p[1] = {first};

	return testdb_value_p(db, FINGERPRINT, 1, p);
}

static long count(const char *sql)
{
	char *v = testdb_value(db, sql);
	long n = v ? atol(v) : -1;

	free(v);
	return n;
}

static int setup(void **state)
{
	(void)state;
	db = testdb_open("invoice");
	testdb_load_examples(1);
	/* C-1001: 60 GiB every day of October, 5 days of traffic; C-1002:
	 * 5 days over its quota of 100 (3 tolerated, 2 billed: 0.50). */
	testdb_example_october(db);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	PQfinish(db);
	return 0;
}

/* Its stdout as JSON, NULL when it is not (see test_run_expect). */
static json_t *json_of(char *out)
{
	json_t *j = json_loads(out, 0, NULL);

	free(out);
	return j;
}

#define run_json(expect, ...) json_of(test_run_expect(expect, __VA_ARGS__))

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Drafts equal the rating; a second run changes nothing. */
static void test_run_drafts(void **state)
{
	json_t *sum, *rated, *shown;
	char *fp1, *fp2;

	(void)state;
	sum = run_json(0, "invoice", "run", "--period", "2026-10", "--json",
		       NULL);
	assert_non_null(sum);
	/* Every customer of the example has a subscription in October. */
	assert_int_equal(json_integer_value(json_object_get(sum,
					    "drafts_written")), 8);
	json_decref(sum);
	assert_int_equal(count("SELECT count(*) FROM invoices WHERE status"
			       " = 'draft' AND period_start = '2026-10-01'"),
			 8);
	for (int k = 0; k < 3; k++) {
		const char *cust[] = {"C-1001", "C-1002", "C-1007"};

		rated = run_json(0, "rate", "--period", "2026-10", "--customer",
				 cust[k], "--json", NULL);
		shown = run_json(0, "invoice", "show", "--customer", cust[k],
				 "--period", "2026-10", "--json", NULL);
		assert_non_null(rated);
		assert_non_null(shown);
		assert_string_equal(jstr(rated, "net"), jstr(shown, "net"));
		assert_string_equal(jstr(rated, "vat_total"),
				    jstr(shown, "vat_total"));
		assert_string_equal(jstr(rated, "total"), jstr(shown, "total"));
		assert_int_equal(
			json_array_size(json_object_get(rated, "lines")),
			json_array_size(json_object_get(shown, "lines")));
		assert_string_equal(jstr(shown, "status"), "draft");
		assert_true(json_is_null(json_object_get(shown, "number")));
		json_decref(rated);
		json_decref(shown);
	}
	/* C-1002's outbound line: 1001 recipients over, 0.50. */
	{
		char *v = testdb_value(
			db, "SELECT l.net_cents FROM invoice_lines l JOIN"
			    " invoices i ON i.id = l.invoice_id WHERE"
			    " i.customer_id = 'C-1002' AND l.kind = 'outbound'");

		assert_string_equal(v, "50");
		free(v);
	}
	fp1 = fingerprint("2026-10-01");
	sum = run_json(0, "invoice", "run", "--period", "2026-10", "--json",
		       NULL);
	json_decref(sum);
	fp2 = fingerprint("2026-10-01");
	assert_string_equal(fp1, fp2);
	free(fp1);
	free(fp2);
	assert_int_equal(count("SELECT count(*) FROM invoices"
			       " WHERE period_start = '2026-10-01'"),
			 8);
}

static void test_issue(void **state)
{
	char *out, *err, *fp1, *fp2;
	int rc;

	(void)state;
	/* The month has not ended on the 20th. */
	rc = test_run(NULL, &out, &err, "invoice", "issue", "--period",
		      "2026-10", "--date", "2026-10-20", NULL);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "has not ended"));
	free(out);
	free(err);
	assert_int_equal(count("SELECT count(*) FROM invoices WHERE"
			       " status = 'issued'"),
			 0);
	rc = test_run(NULL, &out, &err, "invoice", "issue", "--period",
		      "2026-10", "--date", "2026-11-05", NULL);
	if (rc) {
		fprintf(stderr, "%s", err);
	}
	assert_int_equal(rc, 0);
	free(out);
	free(err);
	/* F2026-000001 .. 000008 in customer order, due 30 days later. */
	{
		char *v = testdb_value(
			db, "SELECT string_agg(number || ':' || customer_id"
			    " || ':' || due_date, ',' ORDER BY number)"
			    " FROM invoices WHERE status = 'issued'");

		assert_string_equal(
			v, "F2026-000001:C-1001:2026-12-05,"
			   "F2026-000002:C-1002:2026-12-05,"
			   "F2026-000003:C-1003:2026-12-05,"
			   "F2026-000004:C-1004:2026-12-05,"
			   "F2026-000005:C-1005:2026-12-05,"
			   "F2026-000006:C-1006:2026-12-05,"
			   "F2026-000007:C-1007:2026-12-05,"
			   "F2026-000008:C-1008:2026-12-05");
		free(v);
	}
	assert_int_equal(count("SELECT last_number FROM invoice_counters"
			       " WHERE series = 'F' AND year = 2026"),
			 8);
	assert_int_equal(count("SELECT count(*) FROM tariff_versions"
			       " WHERE version = '2026-09' AND locked"),
			 1);
	/* Running the month again keeps the issued invoices as they are. */
	fp1 = fingerprint("2026-10-01");
	testdb_exec(db, "UPDATE usage_daily SET out_recipients = 5000"
			" WHERE customer_id = 'C-1002'");
	rc = test_run(NULL, &out, &err, "invoice", "run", "--period",
		      "2026-10", NULL);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "8 already issued"));
	free(out);
	free(err);
	fp2 = fingerprint("2026-10-01");
	assert_string_equal(fp1, fp2);
	free(fp1);
	free(fp2);
	/* A date before the series' last one is refused. */
	assert_int_equal(test_run(NULL, NULL, NULL, "invoice", "run",
				  "--period", "2026-09", NULL),
			 0);
	rc = test_run(NULL, &out, &err, "invoice", "issue", "--period",
		      "2026-09", "--date", "2026-11-01", NULL);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "numbers must follow dates"));
	free(out);
	free(err);
	assert_int_equal(count("SELECT count(*) FROM invoices WHERE"
			       " period_start = '2026-09-01' AND status ="
			       " 'issued'"),
			 0);
}

/* Each statement must fail with the triggers' message. */
static void refused(const char *sql)
{
	PGresult *r = PQexec(db, sql);

	if (PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK) {
		fprintf(stderr, "accepted: %s\n", sql);
	}
	assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
	assert_non_null(strstr(PQresultErrorMessage(r), "issued"));
	PQclear(r);
}

static void test_immutable(void **state)
{
	char *after;

	(void)state;
	refused("UPDATE invoices SET net_cents = 0, total_cents = vat_cents"
		" WHERE number = 'F2026-000001'");
	refused("UPDATE invoices SET customer_name = 'x'"
		" WHERE number = 'F2026-000001'");
	refused("UPDATE invoices SET status = 'draft', number = NULL"
		" WHERE number = 'F2026-000001'");
	refused("DELETE FROM invoices WHERE number = 'F2026-000002'");
	refused("UPDATE invoice_lines SET net_cents = 1 WHERE invoice_id ="
		" (SELECT id FROM invoices WHERE number = 'F2026-000001')");
	refused("DELETE FROM invoice_lines WHERE invoice_id ="
		" (SELECT id FROM invoices WHERE number = 'F2026-000001')");
	refused("INSERT INTO invoice_lines (invoice_id, line_no, kind,"
		" description, quantity_micro, unit, unit_price_micro,"
		" vat_rate_micro, net_cents) SELECT id, 99, 'fee', 'x', 1,"
		" 'month', 1, 0, 1 FROM invoices WHERE number = 'F2026-000001'");
	refused("UPDATE invoice_vat SET vat_cents = 0 WHERE invoice_id ="
		" (SELECT id FROM invoices WHERE number = 'F2026-000001')");
	refused("DELETE FROM invoice_vat");
	refused("TRUNCATE invoices CASCADE");
	refused("TRUNCATE invoice_lines");
	{
		PGresult *r = PQexec(db, "UPDATE invoice_counters SET"
					 " last_number = 3 WHERE series = 'F'");

		assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
		assert_non_null(strstr(PQresultErrorMessage(r),
				       "only move forward"));
		PQclear(r);
	}
	after = testdb_value(db, "SELECT count(*) FROM invoice_lines l JOIN"
				 " invoices i ON i.id = l.invoice_id WHERE"
				 " i.status = 'issued'");
	assert_true(atol(after) >= 8);
	free(after);
}

static void test_credit(void **state)
{
	json_t *orig, *cr;
	char *out, *err;
	int rc;

	(void)state;
	orig = run_json(0, "invoice", "show", "F2026-000001", "--json", NULL);
	rc = test_run(NULL, &out, &err, "invoice", "credit", "F2026-000001",
		      "--reason", "Erreur de forfait", "--date", "2026-11-10",
		      NULL);
	if (rc) {
		fprintf(stderr, "%s", err);
	}
	assert_int_equal(rc, 0);
	assert_string_equal(out, "A2026-000001\n");
	free(out);
	free(err);
	cr = run_json(0, "invoice", "show", "A2026-000001", "--json", NULL);
	assert_string_equal(jstr(cr, "kind"), "credit");
	assert_string_equal(jstr(cr, "credited_number"), "F2026-000001");
	assert_string_equal(jstr(cr, "credited_date"), "2026-11-05");
	assert_string_equal(jstr(cr, "credit_reason"), "Erreur de forfait");
	/* The full credit is the invoice with the opposite sign. */
	{
		char neg[64];

		snprintf(neg, sizeof(neg), "-%s", jstr(orig, "total"));
		assert_string_equal(jstr(cr, "total"), neg);
		snprintf(neg, sizeof(neg), "-%s", jstr(orig, "vat_total"));
		assert_string_equal(jstr(cr, "vat_total"), neg);
	}
	json_decref(orig);
	json_decref(cr);
	/* Nothing left to credit. */
	rc = test_run(NULL, &out, &err, "invoice", "credit", "F2026-000001",
		      "--reason", "encore", "--date", "2026-11-10", NULL);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "already credited in full"));
	free(out);
	free(err);
	/* Partial: 1.00 of line 1 of F2026-000002 (FR, 20 %). */
	rc = test_run(NULL, &out, &err, "invoice", "credit", "F2026-000002",
		      "--line", "1", "--amount", "1.00", "--reason",
		      "Geste commercial", "--date", "2026-11-10", NULL);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "A2026-000002\n");
	free(out);
	free(err);
	cr = run_json(0, "invoice", "show", "A2026-000002", "--json", NULL);
	assert_string_equal(jstr(cr, "net"), "-1.00");
	assert_string_equal(jstr(cr, "vat_total"), "-0.20");
	assert_string_equal(jstr(cr, "total"), "-1.20");
	json_decref(cr);
	/* More than what is left of line 1 (4.00 - 1.00 = 3.00). */
	rc = test_run(NULL, &out, &err, "invoice", "credit", "F2026-000002",
		      "--line", "1", "--amount", "3.01", "--reason", "trop",
		      "--date", "2026-11-10", NULL);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "left to credit"));
	free(out);
	free(err);
	/* Unknown line, a credit note, a missing reason. */
	assert_int_equal(test_run(NULL, NULL, NULL, "invoice", "credit",
				  "F2026-000002", "--line", "9", "--amount",
				  "1", "--reason", "x", NULL),
			 1);
	assert_int_equal(test_run(NULL, NULL, NULL, "invoice", "credit",
				  "A2026-000001", "--reason", "x", NULL),
			 1);
	assert_int_equal(test_run(NULL, NULL, NULL, "invoice", "credit",
				  "F2026-000002", NULL),
			 2);
	/* The rest of F2026-000002 in full: every line's remainder. */
	assert_int_equal(test_run(NULL, NULL, NULL, "invoice", "credit",
				  "F2026-000002", "--reason", "Résiliation",
				  "--date", "2026-11-10", NULL),
			 0);
	assert_int_equal(count("SELECT sum(total_cents) FROM invoices WHERE"
			       " number = 'F2026-000002' OR credited_id ="
			       " (SELECT id FROM invoices WHERE number ="
			       " 'F2026-000002')"),
			 0);
	assert_int_equal(count("SELECT last_number FROM invoice_counters"
			       " WHERE series = 'A' AND year = 2026"),
			 3);
}

/* ---------------------------------------------------------------- */
/* Many customers: the killed batch, two issuers at once. */

#define MANY 20000

static void many_customers(void)
{
	testdb_exec(db,
		"INSERT INTO customers (id, name, kind, address_line1,"
		" postal_code, city, country, billing_email)"
		" SELECT 'B-' || lpad(g::text, 6, '0'), 'Client ' || g,"
		" 'business', g || ' rue du Test', '69001', 'Lyon', 'FR',"
		" 'f' || g || '@example.org' FROM generate_series(1, 20000) g;"
		"INSERT INTO subscriptions (customer_id, plan_code, start_date)"
		" SELECT 'B-' || lpad(g::text, 6, '0'),"
		" (ARRAY['S','M','L'])[1 + g % 3], '2026-11-01'"
		" FROM generate_series(1, 20000) g;"
		"INSERT INTO usage_daily (customer_id, mailbox, day,"
		" out_messages, out_recipients, out_recipients_local)"
		" SELECT 'B-' || lpad(g::text, 6, '0'), 'a@b.example',"
		" '2026-11-01'::date + (g % 30), 5, g % 700, 0"
		" FROM generate_series(1, 20000) g");
}

static pid_t spawn(const char *const *args)
{
	const char *bin = getenv("RELEVE_BIN");
	pid_t p = fork();

	assert_true(p >= 0);
	if (p == 0) {
		const char *argv[16];
		size_t n = 0;

		argv[n++] = bin;
		while (args[n - 1] && n < 15) {
			argv[n] = args[n - 1];
			n++;
		}
		argv[n] = NULL;
		if (!freopen("/dev/null", "w", stdout) ||
		    !freopen("/dev/null", "w", stderr)) {
			_exit(127);
		}
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	return p;
}

static void test_killed_batch(void **state)
{
	static const char *const args[] = {"invoice", "run", "--period",
					   "2026-11", NULL};
	long at_kill = 0;
	char *fp1, *fp2;
	int st;
	pid_t p;

	(void)state;
	many_customers();
	p = spawn(args);
	for (int i = 0; i < 20000; i++) {
		struct timespec ts = {0, 2000000};

		at_kill = count("SELECT count(*) FROM invoices WHERE"
				" period_start = '2026-11-01'");
		if (at_kill > 0 || waitpid(p, &st, WNOHANG) == p) {
			break;
		}
		nanosleep(&ts, NULL);
	}
	kill(p, SIGKILL);
	assert_true(waitpid(p, &st, 0) == p);
	at_kill = count("SELECT count(*) FROM invoices WHERE"
			" period_start = '2026-11-01'");
	fprintf(stderr, "# killed with %ld of %d drafts written\n", at_kill,
		MANY);
	assert_true(at_kill > 0);
	/* A chunk is all or nothing. */
	assert_int_equal(at_kill % 500, 0);
	assert_int_equal(test_run(NULL, NULL, NULL, "invoice", "run",
				  "--period", "2026-11", NULL),
			 0);
	assert_int_equal(count("SELECT count(*) FROM invoices WHERE"
			       " period_start = '2026-11-01'"),
			 MANY + 8);
	fp1 = fingerprint("2026-11-01");
	assert_int_equal(test_run(NULL, NULL, NULL, "invoice", "run",
				  "--period", "2026-11", NULL),
			 0);
	fp2 = fingerprint("2026-11-01");
	assert_string_equal(fp1, fp2);
	free(fp1);
	free(fp2);
}

static void test_concurrent_issue(void **state)
{
	static const char *const args[] = {"invoice", "issue", "--period",
					   "2026-11", "--date", "2026-12-01",
					   NULL};
	pid_t a, b;
	int sa, sb;

	(void)state;
	a = spawn(args);
	b = spawn(args);
	assert_true(waitpid(a, &sa, 0) == a);
	assert_true(waitpid(b, &sb, 0) == b);
	assert_true(WIFEXITED(sa) && WEXITSTATUS(sa) == 0);
	assert_true(WIFEXITED(sb) && WEXITSTATUS(sb) == 0);
	assert_int_equal(count("SELECT count(*) FROM invoices WHERE"
			       " period_start = '2026-11-01' AND status ="
			       " 'issued'"),
			 MANY + 8);
	/* Numbers 1 .. 16 + MANY, each once, none missing. */
	assert_int_equal(count("SELECT count(DISTINCT series_number) FROM"
			       " invoices WHERE series = 'F'"),
			 MANY + 16);
	assert_int_equal(count("SELECT max(series_number) - min(series_number)"
			       " + 1 FROM invoices WHERE series = 'F'"),
			 MANY + 16);
	assert_int_equal(count("SELECT last_number FROM invoice_counters"
			       " WHERE series = 'F' AND year = 2026"),
			 MANY + 16);
	/* Numbers follow customers in order within each issuer's chunks:
	 * every number is unique and matches its sequence. */
	assert_int_equal(count("SELECT count(*) FROM invoices WHERE series ="
			       " 'F' AND number <> 'F2026-' ||"
			       " lpad(series_number::text, 6, '0')"),
			 0);
}

/* An amount as the PDF prints it: "1234.50" -> "1 234,50 €". */
static void french_amount(char *out, size_t len, const char *plain)
{
	const char *dot = strchr(plain, '.');
	const char *digits = plain + (*plain == '-');
	size_t il = (size_t)(dot - digits), j = 0;

	if (*plain == '-' && j + 1 < len) {
		out[j++] = '-';
	}
	for (size_t i = 0; i < il && j + 2 < len; i++) {
		if (i > 0 && (il - i) % 3 == 0) {
			out[j++] = ' ';
		}
		out[j++] = digits[i];
	}
	snprintf(out + j, len - j, ",%s", dot + 1);
}

/* "2026-12-05" -> "05/12/2026" */
static void french_date(char *out, size_t len, const char *iso)
{
	snprintf(out, len, "%.2s/%.2s/%.4s", iso + 8, iso + 5, iso);
}

static void must_contain(const char *text, const char *what,
			 const char *number)
{
	if (!strstr(text, what)) {
		fprintf(stderr, "%s: \"%s\" is not in the PDF text\n", number,
			what);
	}
	assert_non_null(strstr(text, what));
}

/* The figures pdftotext finds in each document equal the database's. */
static void test_pdf_figures(void **state)
{
	json_t *list = run_json(0, "invoice", "list", "--issued", "--json",
				NULL), *doc;
	size_t k, i;
	int checked = 0;

	(void)state;
	json_array_foreach(list, k, doc) {
		const char *number = jstr(doc, "number");
		char path[512], cmd[1200], want[64], *text;
		json_t *inv, *l, *v;

		snprintf(path, sizeof(path), "%s/%s.pdf", test_tmpdir(),
			 number);
		assert_int_equal(test_run(NULL, NULL, NULL, "invoice", "pdf",
					  number, "-o", path, NULL),
				 0);
		snprintf(cmd, sizeof(cmd), "pdftotext -layout %s %s.txt", path,
			 path);
		assert_int_equal(system(cmd), 0);
		snprintf(cmd, sizeof(cmd), "%s.txt", path);
		text = test_read_file(cmd);
		inv = run_json(0, "invoice", "show", number, "--json", NULL);
		must_contain(text, number, number);
		must_contain(text, !strcmp(jstr(inv, "kind"), "credit")
					   ? "Avoir" : "Facture", number);
		french_date(want, sizeof(want), jstr(inv, "issue_date"));
		must_contain(text, want, number);
		french_date(want, sizeof(want), jstr(inv, "due_date"));
		must_contain(text, want, number);
		json_array_foreach(json_object_get(inv, "lines"), i, l) {
			french_amount(want, sizeof(want), jstr(l, "net"));
			must_contain(text, want, number);
		}
		json_array_foreach(json_object_get(inv, "vat"), i, v) {
			french_amount(want, sizeof(want), jstr(v, "base"));
			must_contain(text, want, number);
			french_amount(want, sizeof(want), jstr(v, "amount"));
			must_contain(text, want, number);
		}
		french_amount(want, sizeof(want), jstr(inv, "vat_total"));
		must_contain(text, want, number);
		french_amount(want, sizeof(want), jstr(inv, "total"));
		must_contain(text, want, number);
		if (!strcmp(jstr(inv, "vat_regime"), "REVERSE_CHARGE")) {
			must_contain(text, "Autoliquidation", number);
		}
		if (!strcmp(jstr(inv, "kind"), "credit")) {
			must_contain(text, jstr(inv, "credited_number"),
				     number);
		}
		json_decref(inv);
		free(text);
		checked++;
	}
	json_decref(list);
	/* 8 invoices and 3 credit notes. */
	assert_int_equal(checked, 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_drafts),
		cmocka_unit_test(test_issue),
		cmocka_unit_test(test_immutable),
		cmocka_unit_test(test_credit),
		cmocka_unit_test(test_pdf_figures),
		cmocka_unit_test(test_killed_batch),
		cmocka_unit_test(test_concurrent_issue),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
