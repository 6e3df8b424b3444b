/*
 * api — routes, authentication, rate limit, connection pool and metrics
 * of `releve serve`.  See api.h.
 *
 * Order of the checks on a request: the route (404), the token (401),
 * the token's rate (429), the parameters (400, 403), then the work.  A
 * client without a valid token learns nothing but whether a route
 * exists.  An invoice of another customer answers exactly like an
 * unknown number (404), whatever the path or parameters say.
 *
 * Database errors are logged on stderr with their details and answered
 * 503 when the connection is gone (the next request reconnects), else
 * 500; the client never sees SQL or server messages.
 */
#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/db.h"
#include "common/xalloc.h"
#include "billing/invoice.h"
#include "billing/invoice_db.h"
#include "api.h"
#include "invoice_pdf.h"
#include "pricesheet_pdf.h"
#include "token.h"
#include "usage.h"

#define WHO "releve serve"
#define CACHE_SECONDS 60
#define TOUCH_SECONDS 60 /* last_used_at is written at most this often */
/* The tariff versions, VAT rates and seller country are read at most this
 * often (they change a few times a year; reading and parsing them took
 * half the time of a GET /v1/usage). */
#define REF_SECONDS 10

enum route {
	R_USAGE,
	R_QUOTA,
	R_INVOICES,
	R_INVOICE,
	R_INVOICE_PDF,
	R_PRICESHEET,
	R_HEALTHZ,
	R_METRICS,
	R_UNKNOWN,
	R_NONE, /* answered by the core (405, 413) */
	NROUTES
};

static const char *const route_names[NROUTES] = {
	"usage",  "quota",   "invoices", "invoice", "invoice_pdf",
	"pricesheet", "healthz", "metrics", "unknown", "none",
};

static const int statuses[] = { 200, 400, 401, 403, 404, 405,
				413, 429, 500, 503 };
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]))

static const double buckets[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				  0.1,	 0.25,	 0.5,	1,    2.5,   5 };
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

/* A token's bucket: tokens refill at cfg.rate per second up to burst. */
struct bucket {
	int64_t id;
	double tokens, last, touched;
	struct bucket *next;
};
#define NBUCKETLISTS 256

/* One reading of the reference data, shared by the requests under way;
 * the last user of a replaced one frees it. */
struct ref_snap {
	struct usage_ref ref;
	double at;
	unsigned users;
	int retired;
};

struct pdf_cache {
	char *buf;
	size_t len;
	double at;
};

struct api {
	struct api_config cfg;
	char *conninfo;
	char *today;
	/* The pool: idle connections, and how many are open in all. */
	pthread_mutex_t pool_mu;
	pthread_cond_t pool_cv;
	PGconn **idle;
	unsigned nidle, nopen;
	/* Rate limit. */
	pthread_mutex_t rate_mu;
	struct bucket *lists[NBUCKETLISTS];
	/* The reference data of the usage queries. */
	pthread_mutex_t ref_mu;
	struct ref_snap *ref;
	int ref_loading;
	/* The price sheet, per language (fr, en). */
	pthread_mutex_t pdf_mu;
	struct pdf_cache sheet[2];
	/* Metrics. */
	atomic_ullong requests[NROUTES][NSTATUS + 1];
	atomic_ullong hist[NROUTES][NBUCKETS];
	atomic_ullong hist_count[NROUTES];
	atomic_ullong hist_sum_us[NROUTES];
};

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- the connection pool ---- */

static void conn_setup(PGconn *c)
{
	struct diag d = DIAG_INIT;

	/* A request never waits more than this on the database; after a
	 * PQreset the session is new: set UTC again like db_connect. */
	if (db_cmd(c, &d, "SELECT set_config('statement_timeout', '15s',"
			  " false), set_config('TimeZone', 'UTC', false),"
			  " set_config('client_min_messages', 'warning', false)",
		   0, NULL) != 0) {
		diag_print(&d, stderr, WHO);
	}
	diag_free(&d);
}

struct api *api_new(const struct api_config *cfg, PGconn *first)
{
	struct api *a = xcalloc(1, sizeof(*a));

	a->cfg = *cfg;
	a->conninfo = cfg->conninfo ? xstrdup(cfg->conninfo) : NULL;
	a->today = cfg->today ? xstrdup(cfg->today) : NULL;
	a->cfg.conninfo = a->conninfo;
	a->cfg.today = a->today;
	if (a->cfg.pool == 0) {
		a->cfg.pool = 1;
	}
	pthread_mutex_init(&a->pool_mu, NULL);
	pthread_cond_init(&a->pool_cv, NULL);
	pthread_mutex_init(&a->rate_mu, NULL);
	pthread_mutex_init(&a->pdf_mu, NULL);
	pthread_mutex_init(&a->ref_mu, NULL);
	a->idle = xcalloc(a->cfg.pool, sizeof(PGconn *));
	if (first) {
		conn_setup(first);
		a->idle[a->nidle++] = first;
		a->nopen = 1;
	}
	for (size_t r = 0; r < NROUTES; r++) {
		for (size_t s = 0; s <= NSTATUS; s++) {
			atomic_init(&a->requests[r][s], 0);
		}
		for (size_t b = 0; b < NBUCKETS; b++) {
			atomic_init(&a->hist[r][b], 0);
		}
		atomic_init(&a->hist_count[r], 0);
		atomic_init(&a->hist_sum_us[r], 0);
	}
	return a;
}

void api_free(struct api *a)
{
	if (!a) {
		return;
	}
	for (unsigned i = 0; i < a->nidle; i++) {
		db_close(a->idle[i]);
	}
	for (size_t i = 0; i < NBUCKETLISTS; i++) {
		for (struct bucket *b = a->lists[i], *n; b; b = n) {
			n = b->next;
			free(b);
		}
	}
	for (size_t i = 0; i < 2; i++) {
		free(a->sheet[i].buf);
	}
	if (a->ref) {
		usage_ref_free(&a->ref->ref);
		free(a->ref);
	}
	pthread_mutex_destroy(&a->ref_mu);
	pthread_mutex_destroy(&a->pool_mu);
	pthread_cond_destroy(&a->pool_cv);
	pthread_mutex_destroy(&a->rate_mu);
	pthread_mutex_destroy(&a->pdf_mu);
	free(a->idle);
	free(a->conninfo);
	free(a->today);
	free(a);
}

/*
 * A connection for this request, waiting while all are busy.  NULL when
 * the database cannot be reached (logged).  A connection that broke is
 * reset here, on its next use.
 */
static PGconn *pool_get(struct api *a)
{
	PGconn *c = NULL;
	struct diag d = DIAG_INIT;

	pthread_mutex_lock(&a->pool_mu);
	while (a->nidle == 0 && a->nopen >= a->cfg.pool) {
		pthread_cond_wait(&a->pool_cv, &a->pool_mu);
	}
	if (a->nidle > 0) {
		c = a->idle[--a->nidle];
	} else {
		a->nopen++;
	}
	pthread_mutex_unlock(&a->pool_mu);
	if (!c) {
		c = db_connect(a->conninfo, &d);
		if (!c) {
			diag_print(&d, stderr, WHO);
			diag_free(&d);
			pthread_mutex_lock(&a->pool_mu);
			a->nopen--;
			pthread_cond_signal(&a->pool_cv);
			pthread_mutex_unlock(&a->pool_mu);
			return NULL;
		}
		conn_setup(c);
		return c;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		PQreset(c);
		if (PQstatus(c) != CONNECTION_OK) {
			fprintf(stderr, "%s: database: %s", WHO,
				PQerrorMessage(c));
			pthread_mutex_lock(&a->pool_mu);
			a->idle[a->nidle++] = c;
			pthread_cond_signal(&a->pool_cv);
			pthread_mutex_unlock(&a->pool_mu);
			return NULL;
		}
		conn_setup(c);
	}
	return c;
}

static void pool_put(struct api *a, PGconn *c)
{
	if (!c) {
		return;
	}
	if (PQtransactionStatus(c) != PQTRANS_IDLE) {
		db_rollback(c); /* never hand on an open transaction */
	}
	pthread_mutex_lock(&a->pool_mu);
	a->idle[a->nidle++] = c;
	pthread_cond_signal(&a->pool_cv);
	pthread_mutex_unlock(&a->pool_mu);
}

/* A failure of the work: logged in full, answered without details. */
static void fail(struct http_response *r, PGconn *c, struct diag *d)
{
	diag_print(d, stderr, WHO);
	diag_free(d);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		http_error(r, 503, "unavailable",
			   "the database is unavailable; try again later");
	} else {
		http_error(r, 500, "internal", "internal error");
	}
}

static void unavailable(struct http_response *r)
{
	http_error(r, 503, "unavailable",
		   "the database is unavailable; try again later");
}

/* ---- reference data ---- */

static void ref_put(struct api *a, struct ref_snap *s)
{
	int last;

	if (!s) {
		return;
	}
	pthread_mutex_lock(&a->ref_mu);
	last = --s->users == 0 && s->retired;
	pthread_mutex_unlock(&a->ref_mu);
	if (last) {
		usage_ref_free(&s->ref);
		free(s);
	}
}

/*
 * The reference data for a request on c, read again when older than
 * REF_SECONDS.  One thread reads while the others go on with the
 * previous reading.  NULL on a database error (messages in d).  Give it
 * back with ref_put.
 */
static struct ref_snap *ref_get(struct api *a, PGconn *c, struct diag *d)
{
	struct ref_snap *s, *old = NULL;
	double t = now_s();

	pthread_mutex_lock(&a->ref_mu);
	s = a->ref;
	if (s && (t - s->at < REF_SECONDS || a->ref_loading)) {
		s->users++;
		pthread_mutex_unlock(&a->ref_mu);
		return s;
	}
	a->ref_loading = 1;
	pthread_mutex_unlock(&a->ref_mu);
	s = xcalloc(1, sizeof(*s));
	if (usage_ref_load(c, a->today, &s->ref, d) != 0) {
		free(s);
		pthread_mutex_lock(&a->ref_mu);
		a->ref_loading = 0;
		pthread_mutex_unlock(&a->ref_mu);
		return NULL;
	}
	s->at = t;
	s->users = 2; /* a->ref and this request */
	pthread_mutex_lock(&a->ref_mu);
	old = a->ref;
	a->ref = s;
	a->ref_loading = 0;
	if (old) {
		old->retired = 1;
		if (--old->users > 0) { /* a->ref's share */
			old = NULL; /* its last user frees it */
		}
	}
	pthread_mutex_unlock(&a->ref_mu);
	if (old) {
		usage_ref_free(&old->ref);
		free(old);
	}
	return s;
}

void api_warm(struct api *a)
{
	PGconn **conns = xcalloc(a->cfg.pool, sizeof(PGconn *));
	struct diag d = DIAG_INIT;
	char customer[72] = "";
	unsigned n = 0;

	for (; n < a->cfg.pool; n++) {
		conns[n] = pool_get(a);
		if (!conns[n]) {
			break;
		}
	}
	if (n > 0) {
		PGresult *r = db_exec(conns[0], &d,
				      "SELECT id FROM customers ORDER BY id"
				      " LIMIT 1",
				      0, NULL);

		if (r && PQntuples(r) == 1) {
			snprintf(customer, sizeof(customer), "%s",
				 PQgetvalue(r, 0, 0));
		}
		PQclear(r);
	}
	for (unsigned i = 0; i < n; i++) {
		struct token_auth ta;
		enum token_status st;
		struct ref_snap *ref = ref_get(a, conns[i], &d);

		/* A well-formed token that matches nothing. */
		(void)token_check(conns[i], "rlv_"
				  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
				  &ta, &st, &d);
		if (ref && customer[0]) {
			struct usage_request rq = { customer, NULL, NULL,
						    a->today, USAGE_BY_DAY };
			struct usage_report rep;

			if (usage_query_ref(conns[i], &ref->ref, &rq, &rep,
					    &d) == 0) {
				usage_report_free(&rep);
			}
		}
		if (ref) {
			ref_put(a, ref);
		}
		pool_put(a, conns[i]);
	}
	if (d.n) {
		diag_print(&d, stderr, WHO " (warming up)");
	}
	diag_free(&d);
	free(conns);
}

/* ---- rate limit ---- */

/*
 * Take one request from token id's bucket: 1 when allowed, else 0 and
 * *retry the seconds until one is available.  *touch is set when the
 * token's last use should be written (at most once a minute).
 */
static int rate_take(struct api *a, int64_t id, unsigned *retry, int *touch)
{
	size_t h = (size_t)((uint64_t)id * 0x9E3779B97F4A7C15ULL >> 56);
	double t = now_s();
	struct bucket *b;
	int ok = 1;

	*retry = 0;
	*touch = 0;
	pthread_mutex_lock(&a->rate_mu);
	for (b = a->lists[h]; b && b->id != id; b = b->next) {
	}
	if (!b) {
		b = xcalloc(1, sizeof(*b));
		b->id = id;
		b->tokens = a->cfg.burst;
		b->last = t;
		b->touched = t - 2 * TOUCH_SECONDS;
		b->next = a->lists[h];
		a->lists[h] = b;
	}
	if (a->cfg.rate > 0) {
		b->tokens += (t - b->last) * a->cfg.rate;
		if (b->tokens > a->cfg.burst) {
			b->tokens = a->cfg.burst;
		}
		b->last = t;
		if (b->tokens >= 1.0) {
			b->tokens -= 1.0;
		} else {
			double wait = (1.0 - b->tokens) / a->cfg.rate;

			*retry = (unsigned)wait + 1;
			ok = 0;
		}
	}
	if (ok && t - b->touched >= TOUCH_SECONDS) {
		b->touched = t;
		*touch = 1;
	}
	pthread_mutex_unlock(&a->rate_mu);
	return ok;
}

/* ---- parameters ---- */

#define MAXARGS 4

struct args {
	const char *const *allowed; /* NULL-terminated */
	const char *val[MAXARGS];
	int given[MAXARGS];
	char bad[160]; /* the 400 message */
};

static int take_arg(void *ctx, const char *name, const char *value)
{
	struct args *g = ctx;

	for (int i = 0; g->allowed[i]; i++) {
		if (strcmp(name, g->allowed[i]) != 0) {
			continue;
		}
		if (g->given[i]) {
			snprintf(g->bad, sizeof(g->bad),
				 "parameter '%s' is given twice", name);
			return 1;
		}
		if (!value || !*value) {
			snprintf(g->bad, sizeof(g->bad),
				 "parameter '%s' has no value", name);
			return 1;
		}
		g->given[i] = 1;
		g->val[i] = value;
		return 0;
	}
	snprintf(g->bad, sizeof(g->bad), "unknown parameter '%.60s'", name);
	for (char *p = g->bad; *p; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f) {
			*p = '?';
		}
	}
	return 1;
}

static const char *arg(const struct args *g, const char *name)
{
	for (int i = 0; g->allowed[i]; i++) {
		if (!strcmp(g->allowed[i], name)) {
			return g->val[i];
		}
	}
	return NULL;
}

/* The customer id syntax of sql/001 (so that a bad one is a 400). */
static int customer_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || !isalnum((unsigned char)s[0])) {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i])) {
			return 0;
		}
	}
	return 1;
}

/* Invoice numbers: 1 to 35 characters of [A-Za-z0-9+_/-]. */
static int number_ok(const char *s, size_t n)
{
	if (n == 0 || n > 35) {
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && !strchr("+_/-", s[i])) {
			return 0;
		}
	}
	return 1;
}

/* usage_query's messages name options; over HTTP they are parameters. */
static char *param_message(const char *m)
{
	char *out = xmalloc(strlen(m) + 1), *o = out;

	for (; *m; m++) {
		if (m[0] == '-' && m[1] == '-' && isalpha((unsigned char)m[2])) {
			m++;
			continue;
		}
		*o++ = *m;
	}
	*o = '\0';
	return out;
}

/* ---- the routes ---- */

struct ctx {
	struct api *a;
	PGconn *c;
	const char *customer; /* the customer the request reads, or NULL */
	int admin;
};

static void do_usage(struct ctx *x, const struct args *g,
		     struct http_response *r)
{
	struct usage_request rq = { x->customer, arg(g, "from"), arg(g, "to"),
				    x->a->today, USAGE_BY_DAY };
	const char *by = arg(g, "by");
	struct ref_snap *ref;
	struct usage_report rep;
	struct diag d = DIAG_INIT;
	int rc;

	if (rq.from && usage_parse_date(rq.from) != 0) {
		http_error(r, 400, "bad_parameter",
			   "from: not a date (YYYY-MM-DD)");
		return;
	}
	if (rq.to && usage_parse_date(rq.to) != 0) {
		http_error(r, 400, "bad_parameter",
			   "to: not a date (YYYY-MM-DD)");
		return;
	}
	if (rq.from && rq.to && strcmp(rq.from, rq.to) > 0) {
		http_error(r, 400, "bad_parameter", "from: %s is after to %s",
			   rq.from, rq.to);
		return;
	}
	if (!by || !strcmp(by, "day")) {
		rq.by = USAGE_BY_DAY;
	} else if (!strcmp(by, "domain")) {
		rq.by = USAGE_BY_DOMAIN;
	} else if (!strcmp(by, "mailbox")) {
		rq.by = USAGE_BY_MAILBOX;
	} else {
		http_error(r, 400, "bad_parameter",
			   "by: day, domain or mailbox expected");
		return;
	}
	ref = ref_get(x->a, x->c, &d);
	if (!ref) {
		fail(r, x->c, &d);
		return;
	}
	rc = usage_query_ref(x->c, &ref->ref, &rq, &rep, &d);
	ref_put(x->a, ref);
	if (rc == 1) {
		diag_free(&d);
		http_error(r, 404, "not_found", "no customer '%s'",
			   x->customer);
		return;
	}
	if (rc == 2) {
		char *m = param_message(d.n ? d.msg[0] : "bad period");

		http_error(r, 400, "bad_parameter", "%s", m);
		free(m);
		diag_free(&d);
		return;
	}
	if (rc != 0) {
		fail(r, x->c, &d);
		return;
	}
	http_json(r, 200, usage_to_json(&rep));
	usage_report_free(&rep);
	diag_free(&d);
}

/* "a,b" as a JSON array of strings (NULL: empty). */
static json_t *split_list(const char *s)
{
	json_t *arr = json_array();

	while (s && *s) {
		size_t n = strcspn(s, ",");

		json_array_append_new(arr, json_stringn(s, n));
		s += n + (s[n] == ',');
	}
	return arr;
}

/*
 * Today's soft-quota state of the customer: the billing day's count in
 * the tariff's unit against the plan's quota (usage_query over the month
 * to date, whose last day is today), the notices sent and the logins
 * blocked now (as `releve quota status` shows them).
 */
static void do_quota(struct ctx *x, struct http_response *r)
{
	struct usage_request rq = { x->customer, NULL, NULL, x->a->today,
				    USAGE_BY_DAY };
	struct usage_report rep;
	struct diag d = DIAG_INIT;
	const struct usage_day *day;
	struct ref_snap *ref;
	const char *p[2];
	PGresult *pr;
	json_t *doc;
	int rc;

	ref = ref_get(x->a, x->c, &d);
	if (!ref) {
		fail(r, x->c, &d);
		return;
	}
	rc = usage_query_ref(x->c, &ref->ref, &rq, &rep, &d);
	ref_put(x->a, ref);
	if (rc == 1) {
		diag_free(&d);
		http_error(r, 404, "not_found", "no customer '%s'",
			   x->customer);
		return;
	}
	if (rc != 0) {
		fail(r, x->c, &d);
		return;
	}
	if (rep.ndays == 0) {
		usage_report_free(&rep);
		diag_add(&d, "quota: no day in the month to date");
		fail(r, x->c, &d);
		return;
	}
	day = &rep.days[rep.ndays - 1];
	p[0] = x->customer;
	p[1] = day->date;
	pr = db_exec(x->c, &d,
		     "SELECT (SELECT string_agg(level, ',' ORDER BY level)"
		     "  FROM quota_notices n WHERE n.customer_id = $1"
		     "  AND n.day = $2::date) AS notices,"
		     " (SELECT string_agg(DISTINCT login, ',')"
		     "  FROM quota_blocks b WHERE b.customer_id = $1"
		     "  AND b.lifted_at IS NULL AND b.until > releve_now()"
		     "  AND b.blocked_at <= releve_now()) AS blocked",
		     2, p);
	if (!pr) {
		usage_report_free(&rep);
		fail(r, x->c, &d);
		return;
	}
	doc = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:s, s:{s:I, "
		"s:I, s:I}, s:o, s:o, s:{s:i, s:i, s:i, s:i}}",
		"customer", rep.customer, "name", rep.name, "day", day->date,
		"timezone", rep.timezone, "unit", rep.unit, "plan",
		day->plan ? json_string(day->plan) : json_null(), "count",
		(json_int_t)day->billable, "quota", (json_int_t)day->quota,
		"remaining",
		(json_int_t)(day->quota < 0 ? 0
		     : day->quota > day->billable ? day->quota - day->billable
						  : 0),
		"state", usage_quota_name(day->state), "counts", "messages",
		(json_int_t)day->c.messages, "recipients",
		(json_int_t)day->c.recipients, "recipients_local",
		(json_int_t)day->c.local, "notices",
		split_list(db_get(pr, 0, "notices")), "blocked_logins",
		split_list(db_get(pr, 0, "blocked")), "month_to_date",
		"ok_days", rep.state_days[USAGE_QUOTA_OK], "warn_days",
		rep.state_days[USAGE_QUOTA_WARN], "over_days",
		rep.state_days[USAGE_QUOTA_OVER], "blocked_days",
		rep.state_days[USAGE_QUOTA_BLOCKED]);
	PQclear(pr);
	usage_report_free(&rep);
	diag_free(&d);
	if (!doc) {
		http_error(r, 500, "internal", "internal error");
		return;
	}
	http_json(r, 200, doc);
}

static void do_invoices(struct ctx *x, struct http_response *r)
{
	struct diag d = DIAG_INIT;
	json_t *list;

	if (x->customer) {
		const char *p[1] = { x->customer };
		PGresult *cr = db_exec(x->c, &d,
				       "SELECT 1 FROM customers WHERE id = $1",
				       1, p);

		if (!cr) {
			fail(r, x->c, &d);
			return;
		}
		if (PQntuples(cr) == 0) {
			PQclear(cr);
			http_error(r, 404, "not_found", "no customer '%s'",
				   x->customer);
			return;
		}
		PQclear(cr);
	}
	list = invoice_db_list(x->c, x->customer, NULL, 1, &d);
	if (!list) {
		fail(r, x->c, &d);
		return;
	}
	http_json(r, 200,
		  json_pack("{s:o, s:o}", "customer",
			    x->customer ? json_string(x->customer)
					: json_null(),
			    "invoices", list));
	diag_free(&d);
}

static void do_invoice(struct ctx *x, const char *number, size_t n, int pdf,
		       struct http_response *r)
{
	struct diag d = DIAG_INIT;
	struct invoice inv;
	char num[40];
	int rc;

	/* Anything that cannot be a number is simply not found: the same
	 * answer as for a number that exists but belongs to another. */
	if (!number_ok(number, n)) {
		http_error(r, 404, "not_found", "no such invoice");
		return;
	}
	memcpy(num, number, n);
	num[n] = '\0';
	memset(&inv, 0, sizeof(inv));
	rc = invoice_db_load(x->c, num, &inv, &d);
	if (rc < 0) {
		fail(r, x->c, &d);
		return;
	}
	diag_free(&d);
	if (rc == 1 || (x->customer && (!inv.customer.id ||
					strcmp(inv.customer.id, x->customer)))) {
		if (rc == 0) {
			invoice_free(&inv);
		}
		http_error(r, 404, "not_found", "no such invoice");
		return;
	}
	snprintf(r->customer, sizeof(r->customer), "%s",
		 inv.customer.id ? inv.customer.id : "");
	if (!pdf) {
		http_json(r, 200, invoice_to_json(&inv));
	} else {
		unsigned char *buf = NULL;
		size_t len = 0;

		if (invoice_pdf_buffer(&inv, &buf, &len, &d) != 0) {
			invoice_free(&inv);
			fail(r, x->c, &d);
			return;
		}
		r->status = 200;
		r->type = "application/pdf";
		r->body = (char *)buf;
		r->len = len;
		for (char *p = num; *p; p++) {
			if (*p == '/') {
				*p = '-'; /* a file name */
			}
		}
		snprintf(r->disposition, sizeof(r->disposition),
			 "inline; filename=\"%s.pdf\"", num);
		diag_free(&d);
	}
	invoice_free(&inv);
}

static void do_pricesheet(struct api *a, const struct args *g,
			  struct http_response *r)
{
	const char *lang = arg(g, "lang");
	struct pdf_cache *pc;
	struct diag d = DIAG_INIT;
	double t = now_s();

	if (!lang) {
		lang = "fr";
	}
	if (strcmp(lang, "fr") != 0 && strcmp(lang, "en") != 0) {
		http_error(r, 400, "bad_parameter", "lang: fr or en expected");
		return;
	}
	pc = &a->sheet[!strcmp(lang, "en")];
	pthread_mutex_lock(&a->pdf_mu);
	if (!pc->buf || t - pc->at >= CACHE_SECONDS) {
		unsigned char *buf = NULL;
		size_t len = 0;
		PGconn *c = pool_get(a);
		int rc;

		if (!c) {
			pthread_mutex_unlock(&a->pdf_mu);
			unavailable(r);
			return;
		}
		rc = pricesheet_pdf_buffer(c, NULL, lang, &buf, &len, &d);
		if (rc != 0) {
			pthread_mutex_unlock(&a->pdf_mu);
			fail(r, c, &d);
			pool_put(a, c);
			return;
		}
		pool_put(a, c);
		free(pc->buf);
		pc->buf = (char *)buf;
		pc->len = len;
		pc->at = t;
	}
	r->body = xmalloc(pc->len ? pc->len : 1);
	memcpy(r->body, pc->buf, pc->len);
	r->len = pc->len;
	pthread_mutex_unlock(&a->pdf_mu);
	r->status = 200;
	r->type = "application/pdf";
	r->cacheable = 1;
	snprintf(r->disposition, sizeof(r->disposition),
		 "inline; filename=\"pricesheet-%s.pdf\"", lang);
	diag_free(&d);
}

static void do_healthz(struct api *a, struct http_response *r)
{
	struct diag d = DIAG_INIT;
	PGconn *c = pool_get(a);

	if (!c) {
		unavailable(r);
		return;
	}
	if (db_cmd(c, &d, "SELECT 1", 0, NULL) != 0) {
		fail(r, c, &d);
		pool_put(a, c);
		return;
	}
	pool_put(a, c);
	http_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

/* A Prometheus label value: backslash, quote and newline escaped. */
static void label(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		if (*s == '\\' || *s == '"') {
			fputc('\\', f);
			fputc(*s, f);
		} else if (*s == '\n') {
			fputs("\\n", f);
		} else {
			fputc(*s, f);
		}
	}
	fputc('"', f);
}

static void do_metrics(struct ctx *x, struct http_response *r)
{
	struct api *a = x->a;
	struct diag d = DIAG_INIT;
	PGresult *pf, *st;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	pf = db_exec(x->c, &d,
		     "SELECT host || '/' || name AS source, lines, messages,"
		     " malformed,"
		     " extract(epoch FROM now() - updated_at)::bigint AS age"
		     " FROM postfix_sources ORDER BY 1",
		     0, NULL);
	st = pf ? db_exec(x->c, &d,
			  "SELECT source,"
			  " extract(epoch FROM now() - max(taken_at))::bigint"
			  " AS age, sum(samples)::bigint AS samples,"
			  " sum(errors)::bigint AS errors,"
			  " sum(unattributed)::bigint AS unattributed,"
			  " count(*) AS snapshots"
			  " FROM storage_snapshots GROUP BY source ORDER BY 1",
			  0, NULL)
		: NULL;
	if (!pf || !st) {
		PQclear(pf);
		fail(r, x->c, &d);
		return;
	}
	f = open_memstream(&buf, &len);
	if (!f) {
		abort();
	}
	fputs("# HELP releve_http_requests_total HTTP requests answered, by"
	      " route and status.\n"
	      "# TYPE releve_http_requests_total counter\n",
	      f);
	for (size_t i = 0; i < NROUTES; i++) {
		for (size_t s = 0; s <= NSTATUS; s++) {
			unsigned long long v = atomic_load(&a->requests[i][s]);

			if (v == 0) {
				continue;
			}
			fprintf(f,
				"releve_http_requests_total{route=\"%s\","
				"status=\"%s%d\"} %llu\n",
				route_names[i], s < NSTATUS ? "" : "other",
				s < NSTATUS ? statuses[s] : 0, v);
		}
	}
	fputs("# HELP releve_http_request_duration_seconds Time from the"
	      " request line to the end of the answer.\n"
	      "# TYPE releve_http_request_duration_seconds histogram\n",
	      f);
	for (size_t i = 0; i < NROUTES; i++) {
		unsigned long long n = atomic_load(&a->hist_count[i]);
		unsigned long long cum = 0;

		if (n == 0) {
			continue;
		}
		for (size_t b = 0; b < NBUCKETS; b++) {
			cum += atomic_load(&a->hist[i][b]);
			fprintf(f,
				"releve_http_request_duration_seconds_bucket"
				"{route=\"%s\",le=\"%g\"} %llu\n",
				route_names[i], buckets[b], cum);
		}
		fprintf(f,
			"releve_http_request_duration_seconds_bucket"
			"{route=\"%s\",le=\"+Inf\"} %llu\n"
			"releve_http_request_duration_seconds_sum"
			"{route=\"%s\"} %.6f\n"
			"releve_http_request_duration_seconds_count"
			"{route=\"%s\"} %llu\n",
			route_names[i], n, route_names[i],
			(double)atomic_load(&a->hist_sum_us[i]) / 1e6,
			route_names[i], n);
	}
	fputs("# HELP releve_ingest_lag_seconds Age of the last data committed"
	      " by each collector source (postfix: cursor commit; dovecot:"
	      " snapshot time).\n"
	      "# TYPE releve_ingest_lag_seconds gauge\n",
	      f);
	for (int i = 0; i < PQntuples(pf); i++) {
		fputs("releve_ingest_lag_seconds{collector=\"postfix\",source=",
		      f);
		label(f, db_get(pf, i, "source"));
		fprintf(f, "} %s\n", db_get(pf, i, "age"));
	}
	for (int i = 0; i < PQntuples(st); i++) {
		fputs("releve_ingest_lag_seconds{collector=\"dovecot\",source=",
		      f);
		label(f, db_get(st, i, "source"));
		fprintf(f, "} %s\n", db_get(st, i, "age"));
	}
	{
		/* Counters per source: metric name, column, help. */
		static const struct {
			const char *name, *col, *help;
			int dovecot;
		} cols[] = {
			{ "postfix_lines", "lines",
			  "Log lines read by the Postfix collector.", 0 },
			{ "postfix_malformed_lines", "malformed",
			  "Postfix log lines the collector could not"
			  " understand (counted, skipped).", 0 },
			{ "postfix_messages", "messages",
			  "Messages stored by the Postfix collector.", 0 },
			{ "dovecot_snapshots", "snapshots",
			  "Storage snapshots stored.", 1 },
			{ "dovecot_samples", "samples",
			  "Mailbox samples stored.", 1 },
			{ "dovecot_errors", "errors",
			  "Mailboxes whose value was an error.", 1 },
			{ "dovecot_unattributed", "unattributed",
			  "Samples of unknown mailboxes.", 1 },
		};

		for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
			const PGresult *res = cols[k].dovecot ? st : pf;

			fprintf(f,
				"# HELP releve_%s_total %s\n"
				"# TYPE releve_%s_total counter\n",
				cols[k].name, cols[k].help, cols[k].name);
			for (int i = 0; i < PQntuples(res); i++) {
				fprintf(f, "releve_%s_total{source=",
					cols[k].name);
				label(f, db_get(res, i, "source"));
				fprintf(f, "} %s\n",
					db_get(res, i, cols[k].col));
			}
		}
	}
	PQclear(pf);
	PQclear(st);
	fclose(f);
	r->status = 200;
	r->type = "text/plain; version=0.0.4; charset=utf-8";
	r->body = buf;
	r->len = len;
	diag_free(&d);
}

/* The route of a path; *rest is the invoice number part. */
static enum route route_of(const char *path, const char **rest, size_t *n)
{
	static const char inv[] = "/v1/invoices/";
	size_t len;

	if (!strcmp(path, "/v1/usage")) {
		return R_USAGE;
	}
	if (!strcmp(path, "/v1/quota")) {
		return R_QUOTA;
	}
	if (!strcmp(path, "/v1/invoices")) {
		return R_INVOICES;
	}
	if (!strcmp(path, "/v1/pricesheet.pdf")) {
		return R_PRICESHEET;
	}
	if (!strcmp(path, "/healthz")) {
		return R_HEALTHZ;
	}
	if (!strcmp(path, "/metrics")) {
		return R_METRICS;
	}
	if (!strncmp(path, inv, sizeof(inv) - 1) && path[sizeof(inv) - 1]) {
		*rest = path + sizeof(inv) - 1;
		len = strlen(*rest);
		if (len > 4 && !strcmp(*rest + len - 4, ".pdf")) {
			*n = len - 4;
			return R_INVOICE_PDF;
		}
		*n = len;
		return R_INVOICE;
	}
	return R_UNKNOWN;
}

/* Authenticate: 0 with x filled, else the answer is in r. */
static int authenticate(struct api *a, const struct http_request *rq,
			struct ctx *x, struct token_auth *ta,
			struct http_response *r)
{
	const char *h = http_header(rq, "Authorization");
	struct diag d = DIAG_INIT;
	enum token_status st;
	unsigned retry;
	int touch;

	if (!h) {
		http_error(r, 401, "unauthorized",
			   "an Authorization: Bearer token is required");
		return -1;
	}
	if (strncasecmp(h, "Bearer ", 7) != 0) {
		http_error(r, 401, "unauthorized",
			   "the Authorization scheme must be Bearer");
		return -1;
	}
	h += 7;
	while (*h == ' ') {
		h++;
	}
	if (!token_wellformed(h)) {
		http_error(r, 401, "unauthorized", "invalid token");
		return -1;
	}
	x->c = pool_get(a);
	if (!x->c) {
		unavailable(r);
		return -1;
	}
	if (token_check(x->c, h, ta, &st, &d) != 0) {
		fail(r, x->c, &d);
		return -1;
	}
	switch (st) {
	case TOKEN_VALID:
		break;
	case TOKEN_EXPIRED:
		http_error(r, 401, "unauthorized", "the token has expired");
		return -1;
	case TOKEN_REVOKED:
		http_error(r, 401, "unauthorized", "the token was revoked");
		return -1;
	default:
		http_error(r, 401, "unauthorized", "invalid token");
		return -1;
	}
	snprintf(r->customer, sizeof(r->customer), "%s",
		 ta->admin ? "admin" : ta->customer);
	if (!rate_take(a, ta->id, &retry, &touch)) {
		http_error(r, 429, "rate_limited",
			   "too many requests; retry in %u s", retry);
		r->retry_after = retry;
		return -1;
	}
	if (touch && token_touch(x->c, ta->id, &d) != 0) {
		diag_print(&d, stderr, WHO); /* not worth failing for */
		diag_free(&d);
	}
	x->admin = ta->admin;
	return 0;
}

void api_handle(void *ctx, const struct http_request *rq,
		struct http_response *r)
{
	static const char *const no_args[] = { NULL };
	static const char *const usage_args[] = { "customer", "from", "to",
						  "by", NULL };
	static const char *const cust_args[] = { "customer", NULL };
	static const char *const sheet_args[] = { "lang", NULL };
	struct api *a = ctx;
	struct ctx x = { a, NULL, NULL, 0 };
	struct token_auth ta;
	struct args g;
	const char *rest = NULL;
	size_t nrest = 0;
	enum route rt = route_of(rq->path, &rest, &nrest);

	r->route = rt;
	memset(&g, 0, sizeof(g));
	switch (rt) {
	case R_USAGE:
		g.allowed = usage_args;
		break;
	case R_QUOTA:
	case R_INVOICES:
	case R_INVOICE:
	case R_INVOICE_PDF:
		g.allowed = cust_args;
		break;
	case R_PRICESHEET:
		g.allowed = sheet_args;
		break;
	case R_UNKNOWN:
		http_error(r, 404, "not_found", "no such resource");
		return;
	default:
		g.allowed = no_args;
		break;
	}
	if (rt == R_HEALTHZ || rt == R_PRICESHEET) {
		if (http_args(rq, take_arg, &g) != 0) {
			http_error(r, 400, "bad_parameter", "%s", g.bad);
			return;
		}
		if (rt == R_HEALTHZ) {
			do_healthz(a, r);
		} else {
			do_pricesheet(a, &g, r);
		}
		return;
	}
	if (authenticate(a, rq, &x, &ta, r) != 0) {
		goto out;
	}
	if (http_args(rq, take_arg, &g) != 0) {
		http_error(r, 400, "bad_parameter", "%s", g.bad);
		goto out;
	}
	if (rt == R_METRICS) {
		if (!x.admin) {
			http_error(r, 403, "forbidden",
				   "/metrics is for admin tokens");
		} else {
			do_metrics(&x, r);
		}
		goto out;
	}
	if (!x.admin) {
		if (arg(&g, "customer")) {
			http_error(r, 403, "forbidden",
				   "customer: only admin tokens may name a "
				   "customer");
			goto out;
		}
		x.customer = ta.customer;
	} else {
		x.customer = arg(&g, "customer");
		if (x.customer && !customer_ok(x.customer)) {
			http_error(r, 400, "bad_parameter",
				   "customer: not a customer id");
			goto out;
		}
		if (!x.customer && (rt == R_USAGE || rt == R_QUOTA)) {
			http_error(r, 400, "bad_parameter",
				   "customer: required with an admin token");
			goto out;
		}
	}
	switch (rt) {
	case R_USAGE:
		do_usage(&x, &g, r);
		break;
	case R_QUOTA:
		do_quota(&x, r);
		break;
	case R_INVOICES:
		do_invoices(&x, r);
		break;
	case R_INVOICE:
	case R_INVOICE_PDF:
		do_invoice(&x, rest, nrest, rt == R_INVOICE_PDF, r);
		break;
	default:
		abort(); /* every route is handled above */
	}
out:
	pool_put(a, x.c);
}

void api_done(void *ctx, int route, int status, double seconds)
{
	struct api *a = ctx;
	size_t rt = route >= 0 && route < NROUTES ? (size_t)route : R_NONE;
	size_t s = NSTATUS, b;

	for (size_t i = 0; i < NSTATUS; i++) {
		if (statuses[i] == status) {
			s = i;
			break;
		}
	}
	atomic_fetch_add(&a->requests[rt][s], 1);
	for (b = 0; b < NBUCKETS && seconds > buckets[b]; b++) {
	}
	if (b < NBUCKETS) {
		atomic_fetch_add(&a->hist[rt][b], 1);
	}
	atomic_fetch_add(&a->hist_count[rt], 1);
	atomic_fetch_add(&a->hist_sum_us[rt],
			 (unsigned long long)(seconds * 1e6));
}
