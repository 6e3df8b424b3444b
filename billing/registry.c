/*
 * registry — parse and validate the customer registry; see registry.h.
 *
 * The parsers only check the shape of their input and copy what they
 * find (normalised: lower-case domains, addresses and logins; compact
 * upper-case VAT numbers; language defaulting to "fr"); registry_validate()
 * then judges the content, so JSON and CSV imports give the same messages
 * for the same mistakes.  Duplicates across the whole file (customer ids,
 * domains, mailbox addresses and logins) are found by sorting, not by
 * comparing every pair: a registry may hold a million mailboxes.
 *
 * Decisions (README, "registry file format"):
 * - a SIREN is required for a French business, optional for a French
 *   association or individual (an association has one only when it
 *   employs or receives public money), and refused for a country outside
 *   France and its overseas territories;
 * - a VAT number is refused for an individual (a consumer has none: a
 *   sole trader with one is a business);
 * - a French postal code is required and is 5 digits; elsewhere optional;
 * - an empty customer list is valid (nothing to do).
 */
#include "registry.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "common/jsonv.h"
#include "common/xalloc.h"
#include "legalid.h"

void registry_init(struct registry *r, const char *file)
{
	memset(r, 0, sizeof(*r));
	r->file = xstrdup(file ? file : "-");
}

static void customer_free(struct reg_customer *c)
{
	size_t i;

	free(c->id);
	free(c->name);
	free(c->kind);
	free(c->line1);
	free(c->line2);
	free(c->postal_code);
	free(c->city);
	free(c->country);
	free(c->vat_number);
	free(c->siren);
	free(c->billing_email);
	free(c->language);
	for (i = 0; i < c->ndomains; i++) {
		free(c->domains[i]);
	}
	free(c->domains);
	for (i = 0; i < c->nmailboxes; i++) {
		free(c->mailboxes[i].address);
		free(c->mailboxes[i].login);
		free(c->mailboxes[i].start);
		free(c->mailboxes[i].end);
	}
	free(c->mailboxes);
	for (i = 0; i < c->nsubs; i++) {
		free(c->subs[i].plan);
		free(c->subs[i].start);
		free(c->subs[i].end);
	}
	free(c->subs);
}

void registry_free(struct registry *r)
{
	size_t i;

	if (!r) {
		return;
	}
	for (i = 0; i < r->n; i++) {
		customer_free(&r->v[i]);
	}
	free(r->v);
	free(r->file);
	memset(r, 0, sizeof(*r));
}

static struct reg_customer *add_customer(struct registry *r, long line)
{
	struct reg_customer *c;

	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->v = xreallocarray(r->v, r->cap, sizeof(*r->v));
	}
	c = &r->v[r->n++];
	memset(c, 0, sizeof(*c));
	c->line = line;
	return c;
}

static void add_domain(struct reg_customer *c, const char *s)
{
	c->domains = xreallocarray(c->domains, c->ndomains + 1,
				   sizeof(*c->domains));
	c->domains[c->ndomains++] = registry_lower(xstrdup(s));
}

static struct reg_mailbox *add_mailbox(struct reg_customer *c)
{
	struct reg_mailbox *m;

	c->mailboxes = xreallocarray(c->mailboxes, c->nmailboxes + 1,
				     sizeof(*c->mailboxes));
	m = &c->mailboxes[c->nmailboxes++];
	memset(m, 0, sizeof(*m));
	return m;
}

static struct reg_subscription *add_sub(struct reg_customer *c)
{
	struct reg_subscription *s;

	c->subs = xreallocarray(c->subs, c->nsubs + 1, sizeof(*c->subs));
	s = &c->subs[c->nsubs++];
	memset(s, 0, sizeof(*s));
	return s;
}

static char *dupopt(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

char *registry_lower(char *s)
{
	char *p;

	for (p = s; p && *p; p++) {
		*p = (char)tolower((unsigned char)*p);
	}
	return s;
}

static char *upper(char *s)
{
	char *p;

	for (p = s; p && *p; p++) {
		*p = (char)toupper((unsigned char)*p);
	}
	return s;
}

/*
 * The compact form of a VAT number as people write it: capitals, without
 * spaces, dots, hyphens or slashes; the Swiss "CHE-116.281.710 TVA" (also
 * MWST, IVA) loses its suffix.
 */
static char *vat_normalise(const char *s)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;
	size_t n;

	for (; *s; s++) {
		if (*s == ' ' || *s == '.' || *s == '-' || *s == '/' ||
		    *s == '\t') {
			continue;
		}
		*o++ = (char)toupper((unsigned char)*s);
	}
	*o = '\0';
	n = strlen(out);
	if (!strncmp(out, "CHE", 3) && n > 12) {
		if (!strcmp(out + 12, "TVA") || !strcmp(out + 12, "MWST") ||
		    !strcmp(out + 12, "IVA")) {
			out[12] = '\0';
		}
	}
	return out;
}

/* ---- forms ---------------------------------------------------------- */

int registry_domain_ok(const char *s)
{
	size_t n = strlen(s), label = 0, i, dots = 0;

	if (n == 0 || n > 253) {
		return 0;
	}
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-') {
				return 0;
			}
			label = 0;
			dots++;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-')) {
			return 0;
		}
		if (c == '-' && label == 0) {
			return 0;
		}
		if (++label > 63) {
			return 0;
		}
	}
	return dots > 0 && label > 0 && s[n - 1] != '-';
}

/* local@domain: a local part of 1 to 64 printable characters without
 * spaces or '@', and a domain of registry_domain_ok(). */
static int address_form(const char *s, int any_case)
{
	const char *at = strchr(s, '@'), *p;
	char *dom;
	int ok;

	if (!at || at == s || at - s > 64 || strchr(at + 1, '@')) {
		return 0;
	}
	for (p = s; p < at; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '"' ||
		    *p == ',' || *p == '<' || *p == '>') {
			return 0;
		}
	}
	dom = xstrdup(at + 1);
	if (any_case) {
		registry_lower(dom);
	}
	ok = registry_domain_ok(dom);
	free(dom);
	return ok;
}

int registry_address_ok(const char *s)
{
	return address_form(s, 0);
}

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int registry_date_ok(const char *s)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30,
				      31, 31, 30, 31, 30, 31};
	int y, m, dd, i;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-') {
		return 0;
	}
	for (i = 0; i < 10; i++) {
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	y = atoi(s);
	m = atoi(s + 5);
	dd = atoi(s + 8);
	if (y < 1900 || m < 1 || m > 12 || dd < 1) {
		return 0;
	}
	return dd <= mdays[m - 1] + (m == 2 && is_leap(y));
}

static int id_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 64 || !isalnum((unsigned char)s[0])) {
		return 0;
	}
	for (i = 1; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(isalnum(c) && c < 0x80) && c != '.' && c != '_' &&
		    c != '-') {
			return 0;
		}
	}
	return 1;
}

static int plan_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 32) {
		return 0;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(isalnum(c) && c < 0x80) && c != '_' && c != '-') {
			return 0;
		}
	}
	return 1;
}

static int blank(const char *s)
{
	for (; *s; s++) {
		if (!isspace((unsigned char)*s)) {
			return 0;
		}
	}
	return 1;
}

static int utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		int n;

		if (*p < 0x80) {
			p++;
			continue;
		} else if ((*p & 0xe0) == 0xc0 && *p >= 0xc2) {
			n = 1;
		} else if ((*p & 0xf0) == 0xe0) {
			n = 2;
		} else if ((*p & 0xf8) == 0xf0 && *p <= 0xf4) {
			n = 3;
		} else {
			return 0;
		}
		for (p++; n > 0; n--, p++) {
			if ((*p & 0xc0) != 0x80) {
				return 0;
			}
		}
	}
	return 1;
}

/* France and the territories whose companies have a SIREN. */
static int siren_country(const char *cc)
{
	static const char *const fr[] = {"FR", "GP", "MQ", "GF", "RE", "YT",
					 "PM", "BL", "MF", "NC", "PF", "WF",
					 NULL};
	const char *const *p;

	for (p = fr; *p; p++) {
		if (!strcmp(*p, cc)) {
			return 1;
		}
	}
	return 0;
}

/* ---- places --------------------------------------------------------- */

static const char *csv_column(const char *field)
{
	if (!strncmp(field, "address.", 8)) {
		if (!strcmp(field + 8, "line1")) {
			return "address_line1";
		}
		if (!strcmp(field + 8, "line2")) {
			return "address_line2";
		}
		return field + 8;
	}
	return field;
}

char *registry_place(const struct registry *r, size_t ci, const char *list,
		     size_t idx, const char *field)
{
	long line = r->v[ci].line;

	if (r->csv) {
		if (list) {
			return field ? xasprintf("line %ld, column %s, item %zu (%s)",
						 line, list, idx + 1, field)
				     : xasprintf("line %ld, column %s, item %zu",
						 line, list, idx + 1);
		}
		return field ? xasprintf("line %ld, column %s", line,
					 csv_column(field))
			     : xasprintf("line %ld", line);
	}
	if (list) {
		return field ? xasprintf("customers[%ld].%s[%zu].%s", line, list,
					 idx, field)
			     : xasprintf("customers[%ld].%s[%zu]", line, list,
					 idx);
	}
	return field ? xasprintf("customers[%ld].%s", line, field)
		     : xasprintf("customers[%ld]", line);
}

static void err(const struct registry *r, struct diag *d, size_t ci,
		const char *list, size_t idx, const char *field,
		const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static void err(const struct registry *r, struct diag *d, size_t ci,
		const char *list, size_t idx, const char *field,
		const char *fmt, ...)
{
	va_list ap;
	char *place = registry_place(r, ci, list, idx, field);
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	diag_add(d, "%s: %s: %s", r->file, place, msg);
	free(msg);
	free(place);
}

/* ---- JSON ----------------------------------------------------------- */

static const char *const top_keys[] = {"customers", NULL};
static const char *const customer_keys[] = {
	"id", "name", "kind", "address", "country", "vat_number", "siren",
	"billing_email", "language", "domains", "mailboxes", "subscriptions",
	NULL};
static const char *const address_keys[] = {"line1", "line2", "postal_code",
					   "city", NULL};
static const char *const mailbox_keys[] = {"address", "login", "start", "end",
					   NULL};
static const char *const sub_keys[] = {"plan", "start", "end", NULL};

static void parse_mailbox(struct jsonv *v, struct reg_customer *c, json_t *j)
{
	struct reg_mailbox *m;
	const char *s;

	if (json_is_string(j)) {
		m = add_mailbox(c);
		m->address = registry_lower(xstrdup(json_string_value(j)));
		m->login = xstrdup(m->address);
		return;
	}
	if (!json_is_object(j)) {
		jsonv_error(v, "expected an object {\"address\": ..., \"login\": ...}");
		return;
	}
	jsonv_known_keys(v, j, mailbox_keys);
	m = add_mailbox(c);
	m->address = registry_lower(dupopt(jsonv_string(v, j, "address", 1)));
	s = jsonv_string(v, j, "login", 0);
	m->login = registry_lower(dupopt(s && *s ? s : m->address));
	m->start = dupopt(jsonv_string(v, j, "start", 0));
	m->end = dupopt(jsonv_string(v, j, "end", 0));
}

static void parse_sub(struct jsonv *v, struct reg_customer *c, json_t *j)
{
	struct reg_subscription *s;

	if (!json_is_object(j)) {
		jsonv_error(v, "expected an object {\"plan\": ..., \"start\": ..., \"end\": ...}");
		return;
	}
	jsonv_known_keys(v, j, sub_keys);
	s = add_sub(c);
	s->plan = dupopt(jsonv_string(v, j, "plan", 1));
	s->start = dupopt(jsonv_string(v, j, "start", 1));
	s->end = dupopt(jsonv_string(v, j, "end", 0));
}

static void parse_customer(struct registry *r, struct jsonv *v, json_t *j,
			   size_t index)
{
	struct reg_customer *c;
	json_t *a, *x;
	const char *s;
	size_t i, mark, m2;

	if (!json_is_object(j)) {
		jsonv_error(v, "expected an object (a customer)");
		return;
	}
	jsonv_known_keys(v, j, customer_keys);
	c = add_customer(r, (long)index);
	c->id = dupopt(jsonv_string(v, j, "id", 1));
	c->name = dupopt(jsonv_string(v, j, "name", 1));
	c->kind = dupopt(jsonv_string(v, j, "kind", 1));
	a = jsonv_object(v, j, "address", 1);
	if (a) {
		mark = jsonv_key(v, "address");
		jsonv_known_keys(v, a, address_keys);
		c->line1 = dupopt(jsonv_string(v, a, "line1", 1));
		c->line2 = dupopt(jsonv_string(v, a, "line2", 0));
		c->postal_code = dupopt(jsonv_string(v, a, "postal_code", 0));
		c->city = dupopt(jsonv_string(v, a, "city", 1));
		jsonv_pop(v, mark);
		if (c->line2 && !*c->line2) {
			free(c->line2);
			c->line2 = NULL;
		}
		if (c->postal_code && !*c->postal_code) {
			free(c->postal_code);
			c->postal_code = NULL;
		}
	}
	c->country = upper(dupopt(jsonv_string(v, j, "country", 1)));
	s = jsonv_string(v, j, "vat_number", 0);
	c->vat_number = s && *s ? vat_normalise(s) : NULL;
	s = jsonv_string(v, j, "siren", 0);
	c->siren = s && *s ? xstrdup(s) : NULL;
	c->billing_email = dupopt(jsonv_string(v, j, "billing_email", 1));
	s = jsonv_string(v, j, "language", 0);
	c->language = xstrdup(s && *s ? s : "fr");

	a = jsonv_array(v, j, "domains", 0);
	mark = jsonv_key(v, "domains");
	json_array_foreach(a, i, x) {
		m2 = jsonv_index(v, i);
		if (json_is_string(x)) {
			add_domain(c, json_string_value(x));
		} else {
			jsonv_error(v, "expected a string (a domain name)");
		}
		jsonv_pop(v, m2);
	}
	jsonv_pop(v, mark);
	a = jsonv_array(v, j, "mailboxes", 0);
	mark = jsonv_key(v, "mailboxes");
	json_array_foreach(a, i, x) {
		m2 = jsonv_index(v, i);
		parse_mailbox(v, c, x);
		jsonv_pop(v, m2);
	}
	jsonv_pop(v, mark);
	a = jsonv_array(v, j, "subscriptions", 0);
	mark = jsonv_key(v, "subscriptions");
	json_array_foreach(a, i, x) {
		m2 = jsonv_index(v, i);
		parse_sub(v, c, x);
		jsonv_pop(v, m2);
	}
	jsonv_pop(v, mark);
}

int registry_parse_json(struct registry *r, json_t *doc, struct diag *d)
{
	struct jsonv v;
	size_t before = d->n, i, mark, m2;
	json_t *arr, *x;

	jsonv_init(&v, r->file, d);
	if (!json_is_object(doc)) {
		jsonv_error(&v, "expected an object {\"customers\": [...]}");
		return -1;
	}
	jsonv_known_keys(&v, doc, top_keys);
	arr = jsonv_array(&v, doc, "customers", 1);
	mark = jsonv_key(&v, "customers");
	json_array_foreach(arr, i, x) {
		m2 = jsonv_index(&v, i);
		parse_customer(r, &v, x, i);
		jsonv_pop(&v, m2);
	}
	jsonv_pop(&v, mark);
	return d->n > before ? -1 : 0;
}

int registry_parse_json_buffer(struct registry *r, const char *buf,
			       size_t len, struct diag *d)
{
	json_t *doc = jsonv_load_buffer(r->file, buf, len, d);
	int rc;

	if (!doc) {
		return -1;
	}
	rc = registry_parse_json(r, doc, d);
	json_decref(doc);
	return rc;
}

/* ---- CSV ------------------------------------------------------------ */

enum col {
	COL_ID, COL_NAME, COL_KIND, COL_LINE1, COL_LINE2, COL_POSTAL,
	COL_CITY, COL_COUNTRY, COL_VAT, COL_SIREN, COL_EMAIL, COL_LANGUAGE,
	COL_DOMAINS, COL_MAILBOXES, COL_SUBS, NCOLS
};

static const char *const col_names[NCOLS] = {
	"id", "name", "kind", "address_line1", "address_line2",
	"postal_code", "city", "country", "vat_number", "siren",
	"billing_email", "language", "domains", "mailboxes", "subscriptions"};
static const int col_required[NCOLS] = {
	[COL_ID] = 1, [COL_NAME] = 1, [COL_KIND] = 1, [COL_LINE1] = 1,
	[COL_CITY] = 1, [COL_COUNTRY] = 1, [COL_EMAIL] = 1};

struct csvstate {
	struct registry *r;
	struct diag *d;
	long line;    /* line being fed */
	long rowline; /* line where the current row started */
	char **f;     /* fields of the current row */
	size_t nf, capf;
	int header_done, header_bad;
	int map[64];  /* header position -> enum col, -1 unknown */
	size_t ncols;
};

static void csv_field(void *s, size_t len, void *data)
{
	struct csvstate *st = data;

	if (st->nf == 0) {
		st->rowline = st->line;
	}
	if (st->nf == st->capf) {
		st->capf = st->capf ? 2 * st->capf : 16;
		st->f = xreallocarray(st->f, st->capf, sizeof(*st->f));
	}
	/* A NUL inside a field would silently cut it: keep a marker. */
	st->f[st->nf++] = s && memchr(s, '\0', len) ? xstrdup("\x01")
			   : xstrndup(s ? s : "", len);
}

static void csv_header(struct csvstate *st)
{
	int seen[NCOLS] = {0};
	size_t i;
	int c;

	st->header_done = 1;
	st->ncols = st->nf;
	if (st->nf > sizeof(st->map) / sizeof(st->map[0])) {
		diag_add(st->d, "%s: line %ld: %zu columns in the header (at most %zu)",
			 st->r->file, st->rowline, st->nf,
			 sizeof(st->map) / sizeof(st->map[0]));
		st->header_bad = 1;
		return;
	}
	for (i = 0; i < st->nf; i++) {
		char *name = registry_lower(st->f[i]);

		st->map[i] = -1;
		for (c = 0; c < NCOLS; c++) {
			if (!strcmp(name, col_names[c])) {
				break;
			}
		}
		if (c == NCOLS) {
			diag_add(st->d, "%s: line %ld, column %zu: unknown column '%s' "
				 "(expected id, name, kind, address_line1, address_line2, "
				 "postal_code, city, country, vat_number, siren, "
				 "billing_email, language, domains, mailboxes, subscriptions)",
				 st->r->file, st->rowline, i + 1, name);
			st->header_bad = 1;
		} else if (seen[c]++) {
			diag_add(st->d, "%s: line %ld, column %zu: column '%s' appears twice",
				 st->r->file, st->rowline, i + 1, name);
			st->header_bad = 1;
		} else {
			st->map[i] = c;
		}
	}
	for (c = 0; c < NCOLS; c++) {
		if (col_required[c] && !seen[c]) {
			diag_add(st->d, "%s: line %ld: the header has no '%s' column (required)",
				 st->r->file, st->rowline, col_names[c]);
			st->header_bad = 1;
		}
	}
}

/* Split a cell into items separated by spaces, tabs or commas. */
static char **split_items(const char *s, size_t *n)
{
	char **v = NULL;
	const char *p = s;

	*n = 0;
	while (*p) {
		size_t len;

		while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\n' ||
		       *p == '\r') {
			p++;
		}
		len = strcspn(p, " \t,\r\n");
		if (len == 0) {
			break;
		}
		v = xreallocarray(v, *n + 1, sizeof(*v));
		v[(*n)++] = xstrndup(p, len);
		p += len;
	}
	return v;
}

static void free_items(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i]);
	}
	free(v);
}

static void csv_row(struct csvstate *st)
{
	const char *cell[NCOLS] = {NULL};
	struct reg_customer *c;
	struct registry *r = st->r;
	char **items;
	size_t i, n, k;
	int empty = 1, bad = 0;

	for (i = 0; i < st->nf; i++) {
		if (*st->f[i]) {
			empty = 0;
		}
	}
	if (empty) {
		return; /* ",,,," lines that spreadsheets leave behind */
	}
	if (st->nf != st->ncols) {
		diag_add(st->d, "%s: line %ld: %zu fields, but the header names %zu columns",
			 r->file, st->rowline, st->nf, st->ncols);
		return;
	}
	for (i = 0; i < st->nf; i++) {
		int col = st->map[i];

		if (!strcmp(st->f[i], "\x01") || !utf8_ok(st->f[i])) {
			diag_add(st->d, "%s: line %ld, column %s: not valid UTF-8 text",
				 r->file, st->rowline, col_names[col]);
			bad = 1;
			continue;
		}
		cell[col] = *st->f[i] ? st->f[i] : NULL;
	}
	for (k = 0; k < NCOLS; k++) {
		if (col_required[k] && !cell[k] && !bad) {
			diag_add(st->d, "%s: line %ld, column %s: missing (required)",
				 r->file, st->rowline, col_names[k]);
		}
	}
	c = add_customer(r, st->rowline);
	c->id = dupopt(cell[COL_ID]);
	c->name = dupopt(cell[COL_NAME]);
	c->kind = dupopt(cell[COL_KIND]);
	c->line1 = dupopt(cell[COL_LINE1]);
	c->line2 = dupopt(cell[COL_LINE2]);
	c->postal_code = dupopt(cell[COL_POSTAL]);
	c->city = dupopt(cell[COL_CITY]);
	c->country = upper(dupopt(cell[COL_COUNTRY]));
	c->vat_number = cell[COL_VAT] ? vat_normalise(cell[COL_VAT]) : NULL;
	c->siren = dupopt(cell[COL_SIREN]);
	c->billing_email = dupopt(cell[COL_EMAIL]);
	c->language = xstrdup(cell[COL_LANGUAGE] ? cell[COL_LANGUAGE] : "fr");
	if (cell[COL_DOMAINS]) {
		items = split_items(cell[COL_DOMAINS], &n);
		for (i = 0; i < n; i++) {
			add_domain(c, items[i]);
		}
		free_items(items, n);
	}
	if (cell[COL_MAILBOXES]) {
		items = split_items(cell[COL_MAILBOXES], &n);
		for (i = 0; i < n; i++) {
			struct reg_mailbox *m = add_mailbox(c);
			char *eq = strchr(items[i], '=');

			if (eq) {
				*eq = '\0';
			}
			m->address = registry_lower(xstrdup(items[i]));
			m->login = registry_lower(xstrdup(eq && eq[1] ? eq + 1
							      : items[i]));
		}
		free_items(items, n);
	}
	if (cell[COL_SUBS]) {
		items = split_items(cell[COL_SUBS], &n);
		for (i = 0; i < n; i++) {
			char *p1 = strchr(items[i], ':');
			char *p2 = p1 ? strchr(p1 + 1, ':') : NULL;
			struct reg_subscription *s;

			if (!p1 || p1 == items[i] || (p2 && strchr(p2 + 1, ':'))) {
				diag_add(st->d, "%s: line %ld, column subscriptions, item %zu: "
					 "'%s' is not PLAN:START[:END] (e.g. S:2026-09-01 or "
					 "S:2026-09-01:2026-10-15)",
					 r->file, st->rowline, i + 1, items[i]);
				continue;
			}
			*p1 = '\0';
			if (p2) {
				*p2 = '\0';
			}
			s = add_sub(c);
			s->plan = xstrdup(items[i]);
			s->start = xstrdup(p1 + 1);
			s->end = p2 && p2[1] ? xstrdup(p2 + 1) : NULL;
		}
		free_items(items, n);
	}
}

static void csv_end(int term, void *data)
{
	struct csvstate *st = data;
	size_t i;

	(void)term;
	if (!st->header_done) {
		csv_header(st);
	} else if (!st->header_bad) {
		csv_row(st);
	}
	for (i = 0; i < st->nf; i++) {
		free(st->f[i]);
	}
	st->nf = 0;
}

int registry_parse_csv(struct registry *r, const char *buf, size_t len,
		       struct diag *d)
{
	struct csv_parser p;
	struct csvstate st;
	size_t before = d->n, off = 0;
	int failed = 0;

	memset(&st, 0, sizeof(st));
	st.r = r;
	st.d = d;
	st.line = 1;
	r->csv = 1;
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
		diag_add(d, "%s: cannot start the CSV reader", r->file);
		return -1;
	}
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) {
		off = 3; /* UTF-8 byte order mark from spreadsheets */
	}
	/* Feed line by line so that rows and errors know their line. */
	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t chunk = nl ? (size_t)(nl - (buf + off)) + 1 : len - off;

		if (csv_parse(&p, buf + off, chunk, csv_field, csv_end, &st) !=
		    chunk) {
			diag_add(d, "%s: line %ld: %s (a quote inside an unquoted "
				 "field, or text after a closing quote?)",
				 r->file, st.line, csv_strerror(csv_error(&p)));
			failed = 1;
			break;
		}
		off += chunk;
		if (nl) {
			st.line++;
		}
	}
	if (!failed && csv_fini(&p, csv_field, csv_end, &st) != 0) {
		diag_add(d, "%s: line %ld: %s (a quoted field is not closed)",
			 r->file, st.nf ? st.rowline : st.line,
			 csv_strerror(csv_error(&p)));
	}
	csv_free(&p);
	for (off = 0; off < st.nf; off++) {
		free(st.f[off]);
	}
	free(st.f);
	if (!st.header_done) {
		diag_add(d, "%s: empty file (expected a header row: id,name,kind,...)",
			 r->file);
	}
	return d->n > before ? -1 : 0;
}

/* ---- validation ----------------------------------------------------- */

struct key {
	const char *s;
	size_t ci, idx;
};

static int key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	int c = strcmp(x->s, y->s);

	if (c) {
		return c;
	}
	if (x->ci != y->ci) {
		return x->ci < y->ci ? -1 : 1;
	}
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void check_customer(const struct registry *r, size_t ci,
			   struct diag *d)
{
	const struct reg_customer *c = &r->v[ci];
	char why[256];
	int cc_ok = 0;

	if (c->id && !id_ok(c->id)) {
		err(r, d, ci, NULL, 0, "id",
		    "'%s' is not a customer id (expected a letter or digit, then up to 63 "
		    "letters, digits, '.', '_' or '-', e.g. C-1001)", c->id);
	}
	if (c->name && blank(c->name)) {
		err(r, d, ci, NULL, 0, "name", "is empty (required)");
	}
	if (c->kind && strcmp(c->kind, "business") &&
	    strcmp(c->kind, "association") && strcmp(c->kind, "individual")) {
		err(r, d, ci, NULL, 0, "kind",
		    "'%s' is not a kind (expected business, association or individual)",
		    c->kind);
	}
	if (c->line1 && blank(c->line1)) {
		err(r, d, ci, NULL, 0, "address.line1", "is empty (required)");
	}
	if (c->city && blank(c->city)) {
		err(r, d, ci, NULL, 0, "address.city", "is empty (required)");
	}
	if (c->country) {
		if (country_is_iso3166(c->country)) {
			cc_ok = 1;
		} else if (!strcmp(c->country, "UK")) {
			err(r, d, ci, NULL, 0, "country",
			    "'UK' is not an ISO 3166-1 code (the United Kingdom is GB)");
		} else if (!strcmp(c->country, "EL")) {
			err(r, d, ci, NULL, 0, "country",
			    "'EL' is not an ISO 3166-1 code (Greece is GR; EL is only its VAT prefix)");
		} else {
			err(r, d, ci, NULL, 0, "country",
			    "'%s' is not an ISO 3166-1 alpha-2 country code (e.g. FR, BE, DE, CH)",
			    c->country);
		}
	}
	if (cc_ok && !strcmp(c->country, "FR")) {
		if (!c->postal_code) {
			err(r, d, ci, NULL, 0, "address.postal_code",
			    "missing (a French address needs its 5-digit postal code)");
		} else if (strlen(c->postal_code) != 5 ||
			   strspn(c->postal_code, "0123456789") != 5) {
			err(r, d, ci, NULL, 0, "address.postal_code",
			    "'%s' is not a French postal code (expected 5 digits, e.g. 75011)",
			    c->postal_code);
		}
	} else if (c->postal_code &&
		   (strlen(c->postal_code) > 16 ||
		    strspn(c->postal_code, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					   "abcdefghijklmnopqrstuvwxyz -") !=
			    strlen(c->postal_code))) {
		err(r, d, ci, NULL, 0, "address.postal_code",
		    "'%s' is not a postal code (up to 16 letters, digits, spaces or '-')",
		    c->postal_code);
	}
	if (c->siren) {
		if (!siren_is_valid(c->siren)) {
			err(r, d, ci, NULL, 0, "siren",
			    "'%s' is not a SIREN (expected 9 digits with a valid Luhn key, "
			    "e.g. 732829320)", c->siren);
		} else if (cc_ok && !siren_country(c->country)) {
			err(r, d, ci, NULL, 0, "siren",
			    "a SIREN is French: not expected for a customer in %s",
			    c->country);
		}
	} else if (cc_ok && !strcmp(c->country, "FR") && c->kind &&
		   !strcmp(c->kind, "business")) {
		err(r, d, ci, NULL, 0, "siren",
		    "missing (a French business needs its 9-digit SIREN)");
	}
	if (c->vat_number) {
		if (c->kind && !strcmp(c->kind, "individual")) {
			err(r, d, ci, NULL, 0, "vat_number",
			    "an individual has no VAT number (a sole trader with one is "
			    "of kind business)");
		} else if (cc_ok &&
			   vat_number_check(c->country, c->vat_number,
					    c->siren && siren_is_valid(c->siren)
						    ? c->siren
						    : NULL,
					    why, sizeof(why)) != 0) {
			err(r, d, ci, NULL, 0, "vat_number",
			    "'%s' is not a VAT number of %s: %s", c->vat_number,
			    c->country, why);
		}
	}
	if (c->billing_email && !address_form(c->billing_email, 1)) {
		err(r, d, ci, NULL, 0, "billing_email",
		    "'%s' is not an e-mail address (expected name@example.fr)",
		    c->billing_email);
	}
	if (c->language && strcmp(c->language, "fr") &&
	    strcmp(c->language, "en")) {
		err(r, d, ci, NULL, 0, "language",
		    "'%s' is not a language (expected fr or en)", c->language);
	}
}

static void check_lists(const struct registry *r, size_t ci, struct diag *d)
{
	const struct reg_customer *c = &r->v[ci];
	char **doms = NULL;
	size_t *order = NULL, i, j, far;

	for (i = 0; i < c->ndomains; i++) {
		if (!registry_domain_ok(c->domains[i])) {
			err(r, d, ci, "domains", i, NULL,
			    "'%s' is not a domain name (expected labels of letters, "
			    "digits and '-' such as example.fr; IDNs as xn--...)",
			    c->domains[i]);
		}
	}
	if (c->ndomains) {
		doms = xreallocarray(NULL, c->ndomains, sizeof(*doms));
		memcpy(doms, c->domains, c->ndomains * sizeof(*doms));
		qsort(doms, c->ndomains, sizeof(*doms), str_cmp);
	}
	for (i = 0; i < c->nmailboxes; i++) {
		const struct reg_mailbox *m = &c->mailboxes[i];
		const char *at;

		if (!m->address) {
			continue;
		}
		if (!registry_address_ok(m->address)) {
			err(r, d, ci, "mailboxes", i, "address",
			    "'%s' is not a mailbox address (expected local@example.fr)",
			    m->address);
		} else {
			at = strchr(m->address, '@') + 1;
			if (!doms || !bsearch(&at, doms, c->ndomains, sizeof(*doms),
					      str_cmp)) {
				err(r, d, ci, "mailboxes", i, "address",
				    "the domain of '%s' is not one of this customer's domains "
				    "(add '%s' to its domains)", m->address, at);
			}
		}
		if (m->login && (blank(m->login) || strlen(m->login) > 255 ||
				 strpbrk(m->login, " \t\r\n"))) {
			err(r, d, ci, "mailboxes", i, "login",
			    "'%s' is not a SASL login (1 to 255 characters, no spaces)",
			    m->login);
		}
		if (m->start && !registry_date_ok(m->start)) {
			err(r, d, ci, "mailboxes", i, "start",
			    "'%s' is not a date (expected YYYY-MM-DD)", m->start);
		}
		if (m->end && !registry_date_ok(m->end)) {
			err(r, d, ci, "mailboxes", i, "end",
			    "'%s' is not a date (expected YYYY-MM-DD)", m->end);
		}
		if (m->start && m->end && registry_date_ok(m->start) &&
		    registry_date_ok(m->end) && strcmp(m->end, m->start) <= 0) {
			err(r, d, ci, "mailboxes", i, "end",
			    "%s is not after start %s (end is exclusive: the first day "
			    "without the mailbox)", m->end, m->start);
		}
	}
	free(doms);

	for (i = 0; i < c->nsubs; i++) {
		const struct reg_subscription *s = &c->subs[i];

		if (s->plan && !plan_ok(s->plan)) {
			err(r, d, ci, "subscriptions", i, "plan",
			    "'%s' is not a plan code (1 to 32 letters, digits, '_' or '-')",
			    s->plan);
		}
		if (s->start && !registry_date_ok(s->start)) {
			err(r, d, ci, "subscriptions", i, "start",
			    "'%s' is not a date (expected YYYY-MM-DD)", s->start);
		}
		if (s->end && !registry_date_ok(s->end)) {
			err(r, d, ci, "subscriptions", i, "end",
			    "'%s' is not a date (expected YYYY-MM-DD, or null for an "
			    "open subscription)", s->end);
		}
		if (s->start && s->end && registry_date_ok(s->start) &&
		    registry_date_ok(s->end) && strcmp(s->end, s->start) <= 0) {
			err(r, d, ci, "subscriptions", i, "end",
			    "%s is not after start %s (end is exclusive: a plan change "
			    "ends one subscription the day the next starts)",
			    s->end, s->start);
		}
	}
	/* Overlaps: sort the well-formed ones by start; each must begin on or
	 * after the furthest end seen so far. */
	if (c->nsubs > 1) {
		size_t n = 0;

		order = xreallocarray(NULL, c->nsubs, sizeof(*order));
		for (i = 0; i < c->nsubs; i++) {
			const struct reg_subscription *s = &c->subs[i];

			if (s->start && registry_date_ok(s->start) &&
			    (!s->end || (registry_date_ok(s->end) &&
					 strcmp(s->end, s->start) > 0))) {
				order[n++] = i;
			}
		}
		/* insertion sort: a customer has a handful of subscriptions */
		for (i = 1; i < n; i++) {
			size_t x = order[i];

			for (j = i; j > 0 && strcmp(c->subs[order[j - 1]].start,
						    c->subs[x].start) > 0; j--) {
				order[j] = order[j - 1];
			}
			order[j] = x;
		}
		far = n ? order[0] : 0;
		for (i = 1; i < n; i++) {
			const struct reg_subscription *a = &c->subs[far];
			const struct reg_subscription *b = &c->subs[order[i]];

			if (!a->end || strcmp(a->end, b->start) > 0) {
				err(r, d, ci, "subscriptions", order[i], NULL,
				    "%s from %s overlaps subscriptions[%zu] (%s from %s to %s): "
				    "a customer has one plan a day; end the first on the day "
				    "the next starts", b->plan ? b->plan : "?", b->start,
				    far, a->plan ? a->plan : "?", a->start,
				    a->end ? a->end : "open end");
			}
			if (a->end && (!b->end || strcmp(b->end, a->end) > 0)) {
				far = order[i];
			}
		}
		free(order);
	}
}

/* Report keys that appear more than once in v (sorted here). */
static void dupes(const struct registry *r, struct key *v, size_t n,
		  const char *list, const char *field, const char *what,
		  struct diag *d)
{
	size_t i;

	qsort(v, n, sizeof(*v), key_cmp);
	for (i = 1; i < n; i++) {
		const struct key *a = &v[i - 1], *b = &v[i];
		char *pa;

		if (strcmp(a->s, b->s) != 0) {
			continue;
		}
		pa = registry_place(r, a->ci, list, a->idx, field);
		if (a->ci == b->ci) {
			err(r, d, b->ci, list, b->idx, field,
			    "%s '%s' is listed twice (also at %s)", what, b->s, pa);
		} else {
			const char *ida = r->v[a->ci].id ? r->v[a->ci].id : "?";

			err(r, d, b->ci, list, b->idx, field,
			    "%s '%s' is also claimed by customer %s (%s)", what, b->s,
			    ida, pa);
		}
		free(pa);
	}
}

int registry_validate(const struct registry *r, struct diag *d)
{
	size_t before = d->n, i, j, n;
	struct key *v;

	for (i = 0; i < r->n; i++) {
		check_customer(r, i, d);
		check_lists(r, i, d);
	}
	/* Duplicate customer ids. */
	v = xreallocarray(NULL, r->n + 1, sizeof(*v));
	for (i = n = 0; i < r->n; i++) {
		if (r->v[i].id) {
			v[n++] = (struct key){r->v[i].id, i, 0};
		}
	}
	qsort(v, n, sizeof(*v), key_cmp);
	for (i = 1; i < n; i++) {
		if (!strcmp(v[i - 1].s, v[i].s)) {
			char *pa = registry_place(r, v[i - 1].ci, NULL, 0, NULL);

			err(r, d, v[i].ci, NULL, 0, "id",
			    "duplicate customer id '%s' (also %s)", v[i].s, pa);
			free(pa);
		}
	}
	free(v);
	/* Domains claimed twice. */
	for (i = n = 0; i < r->n; i++) {
		n += r->v[i].ndomains;
	}
	v = xreallocarray(NULL, n + 1, sizeof(*v));
	for (i = n = 0; i < r->n; i++) {
		for (j = 0; j < r->v[i].ndomains; j++) {
			v[n++] = (struct key){r->v[i].domains[j], i, j};
		}
	}
	dupes(r, v, n, "domains", NULL, "domain", d);
	free(v);
	/* Mailbox addresses, then logins, listed twice. */
	for (i = n = 0; i < r->n; i++) {
		n += r->v[i].nmailboxes;
	}
	v = xreallocarray(NULL, n + 1, sizeof(*v));
	for (i = n = 0; i < r->n; i++) {
		for (j = 0; j < r->v[i].nmailboxes; j++) {
			if (r->v[i].mailboxes[j].address) {
				v[n++] = (struct key){r->v[i].mailboxes[j].address,
						      i, j};
			}
		}
	}
	dupes(r, v, n, "mailboxes", "address", "mailbox", d);
	for (i = n = 0; i < r->n; i++) {
		for (j = 0; j < r->v[i].nmailboxes; j++) {
			if (r->v[i].mailboxes[j].login) {
				v[n++] = (struct key){r->v[i].mailboxes[j].login,
						      i, j};
			}
		}
	}
	dupes(r, v, n, "mailboxes", "login", "login", d);
	free(v);
	return d->n > before ? -1 : 0;
}

/* ---- output --------------------------------------------------------- */

static json_t *jstr(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;

	/* json_string() refuses invalid UTF-8: show it as null rather than
	 * lose the whole key. */
	return j ? j : json_null();
}

json_t *registry_to_json(const struct registry *r)
{
	json_t *doc = json_object(), *arr = json_array();
	size_t i, j;

	for (i = 0; i < r->n; i++) {
		const struct reg_customer *c = &r->v[i];
		json_t *o = json_object(), *a = json_object(), *l;

		json_object_set_new(o, "id", jstr(c->id));
		json_object_set_new(o, "name", jstr(c->name));
		json_object_set_new(o, "kind", jstr(c->kind));
		json_object_set_new(a, "line1", jstr(c->line1));
		json_object_set_new(a, "line2", jstr(c->line2));
		json_object_set_new(a, "postal_code", jstr(c->postal_code));
		json_object_set_new(a, "city", jstr(c->city));
		json_object_set_new(o, "address", a);
		json_object_set_new(o, "country", jstr(c->country));
		json_object_set_new(o, "vat_number", jstr(c->vat_number));
		json_object_set_new(o, "siren", jstr(c->siren));
		json_object_set_new(o, "billing_email", jstr(c->billing_email));
		json_object_set_new(o, "language", jstr(c->language));
		l = json_array();
		for (j = 0; j < c->ndomains; j++) {
			json_array_append_new(l, jstr(c->domains[j]));
		}
		json_object_set_new(o, "domains", l);
		l = json_array();
		for (j = 0; j < c->nmailboxes; j++) {
			const struct reg_mailbox *m = &c->mailboxes[j];
			json_t *mo = json_object();

			json_object_set_new(mo, "address", jstr(m->address));
			json_object_set_new(mo, "login", jstr(m->login));
			json_object_set_new(mo, "start", jstr(m->start));
			json_object_set_new(mo, "end", jstr(m->end));
			json_array_append_new(l, mo);
		}
		json_object_set_new(o, "mailboxes", l);
		l = json_array();
		for (j = 0; j < c->nsubs; j++) {
			const struct reg_subscription *s = &c->subs[j];
			json_t *so = json_object();

			json_object_set_new(so, "plan", jstr(s->plan));
			json_object_set_new(so, "start", jstr(s->start));
			json_object_set_new(so, "end", jstr(s->end));
			json_array_append_new(l, so);
		}
		json_object_set_new(o, "subscriptions", l);
		json_array_append_new(arr, o);
	}
	json_object_set_new(doc, "customers", arr);
	return doc;
}
