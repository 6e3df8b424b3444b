/*
 * test_registry — the pure registry reader: JSON and CSV shapes, every
 * validation error (one table row each: a valid customer with one field
 * changed, and the message expected), the examples, the JSON round trip,
 * and the lenient mailcow reader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "billing/mailcow.h"
#include "billing/registry.h"
#include "common/xalloc.h"
#include "testutil.h"

/* Two valid customers; cases change the first one. */
static const char base[] =
	"{\"customers\": ["
	"{\"id\": \"C-1001\", \"name\": \"Menuiserie Lambert SARL\","
	" \"kind\": \"business\","
	" \"address\": {\"line1\": \"14 rue des Ebenistes\", \"postal_code\": \"44300\","
	"  \"city\": \"Nantes\"},"
	" \"country\": \"FR\", \"vat_number\": \"FR78834156275\", \"siren\": \"834156275\","
	" \"billing_email\": \"compta@lambert.fr\", \"language\": \"fr\","
	" \"domains\": [\"lambert.fr\"],"
	" \"mailboxes\": [{\"address\": \"contact@lambert.fr\"},"
	"  {\"address\": \"compta@lambert.fr\", \"login\": \"compta.lambert\"}],"
	" \"subscriptions\": [{\"plan\": \"S\", \"start\": \"2026-09-01\", \"end\": \"2026-10-15\"},"
	"  {\"plan\": \"M\", \"start\": \"2026-10-15\", \"end\": null}]},"
	"{\"id\": \"C-1002\", \"name\": \"Brasserie Van Damme\", \"kind\": \"business\","
	" \"address\": {\"line1\": \"Korenlei 22\", \"city\": \"Gent\"},"
	" \"country\": \"BE\", \"vat_number\": \"BE 0417.238.570\","
	" \"billing_email\": \"info@vandamme.be\", \"language\": \"en\","
	" \"domains\": [\"VanDamme.be\"], \"mailboxes\": [\"Info@VanDamme.be\"],"
	" \"subscriptions\": [{\"plan\": \"L\", \"start\": \"2026-09-17\"}]}"
	"]}";

static char *joined(const struct diag *d)
{
	char *s = xstrdup("");
	size_t i;

	for (i = 0; i < d->n; i++) {
		char *x = xasprintf("%s%s\n", s, d->msg[i]);

		free(s);
		s = x;
	}
	return s;
}

/* Parse and validate text; returns the messages joined (caller frees). */
static char *run_json(const char *text, int *rc)
{
	struct registry r;
	struct diag d = DIAG_INIT;
	char *s;
	int a, b;

	registry_init(&r, "reg.json");
	a = registry_parse_json_buffer(&r, text, strlen(text), &d);
	b = registry_validate(&r, &d);
	*rc = a || b ? -1 : 0;
	s = joined(&d);
	diag_free(&d);
	registry_free(&r);
	return s;
}

static void test_base_valid(void **state)
{
	struct registry r;
	struct diag d = DIAG_INIT;

	(void)state;
	registry_init(&r, "reg.json");
	assert_int_equal(registry_parse_json_buffer(&r, base, strlen(base), &d), 0);
	assert_int_equal(registry_validate(&r, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(r.n, 2);
	/* normalised: VAT compact, domains and addresses lower-case,
	 * login defaults to the address, language defaults to fr */
	assert_string_equal(r.v[1].vat_number, "BE0417238570");
	assert_string_equal(r.v[1].domains[0], "vandamme.be");
	assert_string_equal(r.v[1].mailboxes[0].address, "info@vandamme.be");
	assert_string_equal(r.v[1].mailboxes[0].login, "info@vandamme.be");
	assert_string_equal(r.v[0].mailboxes[1].login, "compta.lambert");
	assert_null(r.v[1].subs[0].end);
	registry_free(&r);
}

/*
 * One row per error kind: field of customers[0] (dotted; "address.city"),
 * its new JSON value (NULL: remove the field), and what the message says.
 */
static const struct {
	const char *field, *value, *expect;
} cases[] = {
	{"id", "\"C 1001\"", "customers[0].id: 'C 1001' is not a customer id"},
	{"id", "\"-C1\"", "is not a customer id"},
	{"id", NULL, "customers[0].id: missing (required)"},
	{"id", "\"C-1002\"", "customers[1].id: duplicate customer id 'C-1002' (also customers[0])"},
	{"id", "12", "customers[0].id: expected a string"},
	{"name", "\"  \"", "customers[0].name: is empty"},
	{"kind", "\"company\"", "customers[0].kind: 'company' is not a kind (expected business, association or individual)"},
	{"country", "\"XX\"", "customers[0].country: 'XX' is not an ISO 3166-1 alpha-2 country code"},
	{"country", "\"UK\"", "the United Kingdom is GB"},
	{"country", "\"EL\"", "Greece is GR"},
	{"vat_number", "\"FR12834156275\"", "customers[0].vat_number: 'FR12834156275' is not a VAT number of FR: the key"},
	{"vat_number", "\"FR44732829320\"", "does not contain the customer's SIREN 834156275"},
	{"vat_number", "\"DE812345673\"", "is not a VAT number of FR: expected FR + 2 key characters"},
	{"siren", "\"834156276\"", "customers[0].siren: '834156276' is not a SIREN"},
	{"siren", NULL, "customers[0].siren: missing (a French business needs its 9-digit SIREN)"},
	{"billing_email", "\"compta.lambert.fr\"", "customers[0].billing_email: 'compta.lambert.fr' is not an e-mail address"},
	{"billing_email", "\"a@b@c.fr\"", "is not an e-mail address"},
	{"language", "\"de\"", "customers[0].language: 'de' is not a language (expected fr or en)"},
	{"address", "{\"line1\": \"x\", \"city\": \"Nantes\", \"zip\": \"44300\"}", "customers[0].address.zip: unknown field"},
	{"address", "{\"line1\": \"x\", \"city\": \"Nantes\"}", "customers[0].address.postal_code: missing (a French address"},
	{"address", "{\"line1\": \"x\", \"postal_code\": \"4430\", \"city\": \"Nantes\"}", "'4430' is not a French postal code"},
	{"address", "{\"postal_code\": \"44300\", \"city\": \"Nantes\"}", "customers[0].address.line1: missing (required)"},
	{"address", NULL, "customers[0].address: missing (required)"},
	{"color", "\"blue\"", "customers[0].color: unknown field"},
	{"domains", "[\"lambert.fr\", \"vandamme.be\"]", "customers[1].domains[0]: domain 'vandamme.be' is also claimed by customer C-1001 (customers[0].domains[1])"},
	{"domains", "[\"lambert.fr\", \"Lambert.fr\"]", "domain 'lambert.fr' is listed twice"},
	{"domains", "[\"lambert.fr\", \"bad_domain.fr\"]", "customers[0].domains[1]: 'bad_domain.fr' is not a domain name"},
	{"domains", "[\"lambert.fr\", 3]", "customers[0].domains[1]: expected a string"},
	{"domains", "\"lambert.fr\"", "customers[0].domains: expected an array"},
	{"mailboxes", "[{\"address\": \"a@lambert.fr\"}, {\"address\": \"A@lambert.fr\"}]", "customers[0].mailboxes[1].address: mailbox 'a@lambert.fr' is listed twice"},
	{"mailboxes", "[{\"address\": \"a@lambert.fr\"}, {\"address\": \"b@lambert.fr\", \"login\": \"a@lambert.fr\"}]", "customers[0].mailboxes[1].login: login 'a@lambert.fr' is listed twice"},
	{"mailboxes", "[{\"address\": \"info@vandamme.be\"}]", "customers[0].mailboxes[0].address: the domain of 'info@vandamme.be' is not one of this customer's domains"},
	{"mailboxes", "[{\"address\": \"nobody\"}]", "'nobody' is not a mailbox address"},
	{"mailboxes", "[{\"address\": \"a@lambert.fr\", \"start\": \"2026-13-01\"}]", "customers[0].mailboxes[0].start: '2026-13-01' is not a date"},
	{"mailboxes", "[{\"address\": \"a@lambert.fr\", \"start\": \"2026-10-01\", \"end\": \"2026-09-01\"}]", "customers[0].mailboxes[0].end: 2026-09-01 is not after start 2026-10-01"},
	{"mailboxes", "[{\"address\": \"a@lambert.fr\", \"quota\": 1}]", "customers[0].mailboxes[0].quota: unknown field"},
	{"subscriptions", "[{\"plan\": \"S\", \"start\": \"2026-09-01\"}, {\"plan\": \"M\", \"start\": \"2026-10-01\"}]", "customers[0].subscriptions[1]: M from 2026-10-01 overlaps subscriptions[0] (S from 2026-09-01 to open end)"},
	{"subscriptions", "[{\"plan\": \"S\", \"start\": \"2026-09-01\", \"end\": \"2026-11-01\"}, {\"plan\": \"M\", \"start\": \"2026-10-15\"}]", "overlaps subscriptions[0]"},
	{"subscriptions", "[{\"plan\": \"S\", \"start\": \"2026-09-01\", \"end\": \"2026-09-01\"}]", "customers[0].subscriptions[0].end: 2026-09-01 is not after start 2026-09-01"},
	{"subscriptions", "[{\"plan\": \"S\", \"start\": \"2026-02-29\"}]", "customers[0].subscriptions[0].start: '2026-02-29' is not a date"},
	{"subscriptions", "[{\"plan\": \"S\", \"start\": \"01/09/2026\"}]", "'01/09/2026' is not a date (expected YYYY-MM-DD)"},
	{"subscriptions", "[{\"plan\": \"S M\", \"start\": \"2026-09-01\"}]", "customers[0].subscriptions[0].plan: 'S M' is not a plan code"},
	{"subscriptions", "[{\"start\": \"2026-09-01\"}]", "customers[0].subscriptions[0].plan: missing (required)"},
	{"subscriptions", "[{\"plan\": \"S\", \"start\": \"2026-09-01\", \"until\": \"x\"}]", "customers[0].subscriptions[0].until: unknown field"},
	{"kind", "\"individual\"", "an individual has no VAT number"},
};

static void test_errors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *doc = json_loads(base, 0, NULL), *c0;
		char *text, *msgs;
		int rc;

		assert_non_null(doc);
		c0 = json_array_get(json_object_get(doc, "customers"), 0);
		if (cases[i].value) {
			json_t *v = json_loads(cases[i].value, JSON_DECODE_ANY, NULL);

			assert_non_null(v);
			json_object_set_new(c0, cases[i].field, v);
		} else {
			json_object_del(c0, cases[i].field);
		}
		text = json_dumps(doc, 0);
		msgs = run_json(text, &rc);
		if (rc == 0 || !strstr(msgs, cases[i].expect)) {
			fail_msg("case %zu (%s): expected '%s', got:\n%s", i,
				 cases[i].field, cases[i].expect, msgs);
		}
		free(msgs);
		free(text);
		json_decref(doc);
	}
}

static void test_shape_and_all_errors(void **state)
{
	int rc;
	char *m;

	(void)state;
	m = run_json("{\"customers\": [1, {\"id\": \"C-1\"}], \"x\": 1}", &rc);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(m, "reg.json: x: unknown field"));
	assert_non_null(strstr(m, "reg.json: customers[0]: expected an object"));
	assert_non_null(strstr(m, "customers[1].name: missing (required)"));
	assert_non_null(strstr(m, "customers[1].billing_email: missing (required)"));
	free(m);
	m = run_json("{\"customers\": [", &rc);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(m, "reg.json: line 1"));
	free(m);
	m = run_json("[]", &rc);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(m, "expected an object"));
	free(m);
	m = run_json("{\"customers\": []}", &rc);
	assert_int_equal(rc, 0);
	free(m);
}

static char *slurp(const char *path, size_t *len)
{
	char *s = test_read_file(path);

	assert_non_null(s);
	*len = strlen(s);
	return s;
}

static void test_examples_round_trip(void **state)
{
	struct registry r, r2;
	struct diag d = DIAG_INIT;
	size_t len;
	char *buf = slurp("examples/registry.json", &len), *a, *b;
	json_t *j;
	size_t i;
	int kinds[3] = {0};

	(void)state;
	registry_init(&r, "examples/registry.json");
	assert_int_equal(registry_parse_json_buffer(&r, buf, len, &d), 0);
	assert_int_equal(registry_validate(&r, &d), 0);
	assert_true(r.n >= 6 && r.n <= 8);
	for (i = 0; i < r.n; i++) {
		kinds[0] += !strcmp(r.v[i].kind, "business");
		kinds[1] += !strcmp(r.v[i].kind, "association");
		kinds[2] += !strcmp(r.v[i].kind, "individual");
	}
	assert_true(kinds[0] && kinds[1] && kinds[2]);
	free(buf);
	j = registry_to_json(&r);
	a = json_dumps(j, JSON_PRESERVE_ORDER);
	json_decref(j);
	registry_init(&r2, "again");
	assert_int_equal(registry_parse_json_buffer(&r2, a, strlen(a), &d), 0);
	assert_int_equal(registry_validate(&r2, &d), 0);
	j = registry_to_json(&r2);
	b = json_dumps(j, JSON_PRESERVE_ORDER);
	json_decref(j);
	assert_string_equal(a, b);
	/* every field is there, null when absent */
	assert_non_null(strstr(a, "\"line2\": null"));
	assert_non_null(strstr(a, "\"end\": null"));
	free(a);
	free(b);
	registry_free(&r);
	registry_free(&r2);
	diag_free(&d);
}

static char *run_csv(const char *text, int *rc, struct registry *out)
{
	struct registry r;
	struct diag d = DIAG_INIT;
	char *s;
	int a, b;

	registry_init(&r, "reg.csv");
	a = registry_parse_csv(&r, text, strlen(text), &d);
	b = registry_validate(&r, &d);
	*rc = a || b ? -1 : 0;
	s = joined(&d);
	diag_free(&d);
	if (out) {
		*out = r;
	} else {
		registry_free(&r);
	}
	return s;
}

static void test_csv(void **state)
{
	struct registry r;
	size_t len;
	char *buf = slurp("examples/registry.csv", &len), *m;
	int rc;

	(void)state;
	m = run_csv(buf, &rc, &r);
	if (rc) {
		fail_msg("%s", m);
	}
	free(m);
	free(buf);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.v[0].mailboxes[1].login, "gestion.moreau");
	assert_int_equal(r.v[1].nsubs, 2);
	assert_string_equal(r.v[1].subs[0].end, "2026-11-01");
	assert_null(r.v[1].subs[1].end);
	assert_string_equal(r.v[1].name, "Club Alpin de Chamonix, section jeunes");
	assert_null(r.v[0].line2);
	registry_free(&r);

	/* columns in any order, BOM, CRLF, optional columns left out */
	m = run_csv("\xef\xbb\xbf" "country,id,name,kind,address_line1,city,billing_email,domains,subscriptions\r\n"
		    "BE,C-9,Van Damme,business,Korenlei 22,Gent,a@vd.be,vd.be,L:2026-09-01\r\n",
		    &rc, &r);
	if (rc) {
		fail_msg("%s", m);
	}
	free(m);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.v[0].id, "C-9");
	assert_string_equal(r.v[0].country, "BE");
	assert_string_equal(r.v[0].language, "fr");
	registry_free(&r);
}

static void test_csv_errors(void **state)
{
	static const struct {
		const char *text, *expect;
	} t[] = {
		{"id,name,kind,address_line1,city,country,billing_email,colour\n",
		 "reg.csv: line 1, column 8: unknown column 'colour'"},
		{"id,name,kind,address_line1,city,country\n",
		 "reg.csv: line 1: the header has no 'billing_email' column"},
		{"id,id,name,kind,address_line1,city,country,billing_email\n",
		 "line 1, column 2: column 'id' appears twice"},
		{"id,name,kind,address_line1,city,country,billing_email\n"
		 "C-1,A,business,x,Gent,BE\n",
		 "reg.csv: line 2: 6 fields, but the header names 7 columns"},
		{"id,name,kind,address_line1,city,country,billing_email\n"
		 "C-1,A,business,x,Gent,BE,a@b.be\n"
		 "C-2,B,company,x,Gent,BE,a@b.be\n",
		 "reg.csv: line 3, column kind: 'company' is not a kind"},
		{"id,name,kind,address_line1,city,country,billing_email\n"
		 "C-1,A,business,x,Gent,BE,\n",
		 "reg.csv: line 2, column billing_email: missing (required)"},
		{"id,name,kind,address_line1,city,country,billing_email,postal_code\n"
		 "C-1,A,business,x,Nantes,FR,a@b.fr,443\n",
		 "line 2, column postal_code: '443' is not a French postal code"},
		{"id,name,kind,address_line1,city,country,billing_email,subscriptions\n"
		 "C-1,A,business,x,Gent,BE,a@b.be,S-2026-09-01\n",
		 "reg.csv: line 2, column subscriptions, item 1: 'S-2026-09-01' is not PLAN:START[:END]"},
		{"id,name,kind,address_line1,city,country,billing_email,subscriptions\n"
		 "C-1,A,business,x,Gent,BE,a@b.be,S:2026-09-01 M:2026-10-01\n",
		 "line 2, column subscriptions, item 2: M from 2026-10-01 overlaps"},
		{"id,name,kind,address_line1,city,country,billing_email,domains,mailboxes\n"
		 "C-1,A,business,x,Gent,BE,a@b.be,b.be,x@b.be\n"
		 "C-2,B,business,x,Gent,BE,a@b.be,b.be,x@b.be\n",
		 "line 3, column domains, item 1: domain 'b.be' is also claimed by customer C-1 (line 2, column domains, item 1)"},
		{"id,name,kind,address_line1,city,country,billing_email,vat_number\n"
		 "C-1,A,business,x,Gent,BE,a@b.be,BE2417238570\n",
		 "line 2, column vat_number: 'BE2417238570' is not a VAT number of BE"},
		{"id,name,kind,address_line1,city,country,billing_email\n"
		 "C-1,\"A,business,x,Gent,BE,a@b.be\n",
		 "reg.csv: line 2"},
		{"id,name,kind,address_line1,city,country,billing_email\n"
		 "C-1,A\"B,business,x,Gent,BE,a@b.be\n",
		 "reg.csv: line 2"},
		{"", "reg.csv: empty file"},
		{"id,name,kind,address_line1,city,country,billing_email\n"
		 "C-1,Caf\xe9,business,x,Gent,BE,a@b.be\n",
		 "line 2, column name: not valid UTF-8"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc;
		char *m = run_csv(t[i].text, &rc, NULL);

		if (rc == 0 || !strstr(m, t[i].expect)) {
			fail_msg("case %zu: expected '%s', got:\n%s", i, t[i].expect, m);
		}
		free(m);
	}
}

static void test_mailcow(void **state)
{
	struct mailcow m;
	struct diag d = DIAG_INIT;
	size_t len, i;
	char *buf;
	const char *in;
	const char *map = "# comment\n"
			  "domain,customer_id\n"
			  "martin-famille.fr,C-1003\n"
			  "lambert-bois.fr C-2000   # the map wins over the tag\n";

	(void)state;
	mailcow_init(&m);
	buf = slurp("examples/mailcow-domains.json", &len);
	assert_int_equal(mailcow_parse_domains(&m, "d.json", buf, len, &d), 0);
	free(buf);
	buf = slurp("examples/mailcow-mailboxes.json", &len);
	assert_int_equal(mailcow_parse_mailboxes(&m, "m.json", buf, len, &d), 0);
	free(buf);
	assert_int_equal(mailcow_parse_map(&m, "map", map, strlen(map), &d), 0);
	assert_int_equal(d.n, 0);
	mailcow_resolve(&m, &d);
	for (i = 0; i < m.ndom; i++) {
		const struct mc_domain *x = &m.dom[i];

		if (!strcmp(x->name, "menuiserie-lambert.fr")) {
			assert_string_equal(x->customer, "C-1001"); /* tag */
		} else if (!strcmp(x->name, "lambert-bois.fr")) {
			assert_string_equal(x->customer, "C-2000"); /* map */
		} else if (!strcmp(x->name, "jardins-faubourg.org")) {
			assert_string_equal(x->customer, "C-1002"); /* attribute */
		} else if (!strcmp(x->name, "martin-famille.fr")) {
			assert_string_equal(x->customer, "C-1003");
		} else {
			assert_string_equal(x->name, "relais-test.fr");
			assert_null(x->customer);
		}
	}
	assert_int_equal(m.nunmapped, 1);
	assert_string_equal(m.unmapped[0], "relais-test.fr");
	for (i = 0; i < m.nmbx; i++) {
		if (!strcmp(m.mbx[i].address, "camille@martin-famille.fr")) {
			assert_string_equal(m.mbx[i].created, "2026-09-17");
		}
		if (!strcmp(m.mbx[i].address, "tresorerie@jardins-faubourg.org")) {
			assert_null(m.mbx[i].created);
		}
		assert_int_equal(m.mbx[i].skipped,
				 !strcmp(m.mbx[i].domain, "relais-test.fr"));
	}
	mailcow_free(&m);

	/* {} is an empty list; a single object is a list of one; numbers as
	 * strings; errors name the file and the path */
	mailcow_init(&m);
	assert_int_equal(mailcow_parse_domains(&m, "d.json", "{}", 2, &d), 0);
	assert_int_equal(m.ndom, 0);
	in = "{\"domain_name\": \"x.fr\", \"active\": \"1\", \"tags\": \"a, customer:C-7\"}";
	assert_int_equal(mailcow_parse_domains(&m, "d.json", in, strlen(in), &d), 0);
	assert_string_equal(m.dom[0].tag, "C-7");
	in = "[{\"domain_name\": \"y.fr\", \"active\": \"yes\"}, {\"domain_name\": \"bad domain\"}, 3]";
	assert_int_equal(mailcow_parse_domains(&m, "d.json", in, strlen(in), &d), -1);
	buf = joined(&d);
	assert_non_null(strstr(buf, "d.json: [0].active: expected an integer"));
	assert_non_null(strstr(buf, "d.json: [1].domain_name: 'bad domain' is not a domain name"));
	assert_non_null(strstr(buf, "d.json: [2]: expected an object"));
	free(buf);
	diag_free(&d);
	in = "{\"type\": \"error\", \"msg\": \"authentication failed\"}";
	assert_int_equal(mailcow_parse_mailboxes(&m, "m.json", in, strlen(in), &d), -1);
	assert_non_null(strstr(d.msg[0], "mailcow answered: authentication failed"));
	diag_free(&d);
	in = "[{\"username\": \"a@x.fr\", \"custom_attributes\": {\"customer_id\": \"C-1\"}},"
	      " {\"username\": \"b@x.fr\", \"custom_attributes\": {\"customer\": \"C-2\"}},"
	      " {\"username\": \"c@z.fr\", \"domain\": \"x.fr\"}]";
	assert_int_equal(mailcow_parse_mailboxes(&m, "m.json", in, strlen(in), &d), -1);
	buf = joined(&d);
	assert_non_null(strstr(buf, "m.json: [1].custom_attributes: customer 'C-2', but another mailbox of x.fr says 'C-1'"));
	assert_non_null(strstr(buf, "m.json: [2].domain: 'x.fr' is not the domain of username 'c@z.fr'"));
	free(buf);
	diag_free(&d);
	in = "x.fr\nx.fr C-1\nx.fr C-2\n";
	assert_int_equal(mailcow_parse_map(&m, "map", in, strlen(in), &d), -1);
	buf = joined(&d);
	assert_non_null(strstr(buf, "map: line 1: expected 'domain customer_id'"));
	assert_non_null(strstr(buf, "map: line 3: x.fr is mapped to C-2 here and to C-1 at map: line 2"));
	free(buf);
	diag_free(&d);
	mailcow_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base_valid),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_shape_and_all_errors),
		cmocka_unit_test(test_examples_round_trip),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_csv_errors),
		cmocka_unit_test(test_mailcow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
