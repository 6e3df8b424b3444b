/*
 * cmd_rate — `releve rate --period YYYY-MM [--customer ID] [--json]`:
 * rate customers' month from the database and print it, storing nothing.
 *
 * The database work is here: the tariff version in effect on the month's
 * first day, the customer's subscriptions, the daily outbound counts
 * (usage_daily, in the tariff's unit) and storage (storage_customer_daily,
 * written by `releve rollup storage`), the VAT regime from the rates in
 * force on the month's last day.  The rating itself is the pure rater.
 */
#include <getopt.h>
#include <pthread.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "common/commands.h"
#include "common/date.h"
#include "common/db.h"
#include "common/session.h"
#include "common/xalloc.h"
#include "money.h"
#include "rate_db.h"
#include "rater.h"
#include "tariff.h"
#include "tariff_db.h"
#include "vat.h"
#include "vat_db.h"

#define WHO "releve rate"

static const char help[] =
	"Usage: releve rate --period YYYY-MM [--customer ID] [--json]\n"
	"                   [--db CONNINFO]\n"
	"\n"
	"Rate the month of every customer with a subscription in it (or of\n"
	"one customer) and print the lines, VAT and totals, storing nothing.\n"
	"The tariff version in effect on the month's first day rates the\n"
	"whole month; the VAT rates in force on its last day apply.  Storage\n"
	"comes from the daily rollup: run `releve rollup storage --period`\n"
	"first (days not rolled up count as missing, at zero).\n"
	"\n"
	"Options:\n"
	"  -p, --period YYYY-MM   the month\n"
	"  -c, --customer ID      only this customer (exit 1 when it has no\n"
	"                         subscription in the month)\n"
	"  -j, --json             JSON: an object for --customer, else an\n"
	"                         array of them\n" SESSION_HELP
	"  -h, --help             this help\n";

struct month {
	int y, m, days;
	char first[32], last[32], next[32];
};

struct ctx {
	PGconn *c;
	struct month mo;
	struct tariff t;
	struct vat_rates rates;
	char seller_country[3];
	int in_array; /* --json for every customer: an array */
	long printed; /* customers printed */
};

static void month_init(struct month *mo, int y, int m)
{
	mo->y = y;
	mo->m = m;
	mo->days = date_days_in_month(y, m);
	snprintf(mo->first, sizeof(mo->first), "%04d-%02d-01", y, m);
	snprintf(mo->last, sizeof(mo->last), "%04d-%02d-%02d", y, m, mo->days);
	snprintf(mo->next, sizeof(mo->next), "%04d-%02d-01",
		 m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1);
}

static json_t *jmoney(int64_t micro, int places)
{
	char buf[MONEY_FMT_MAX];

	return json_string(money_format(buf, micro, places));
}

static json_t *jcents(int64_t cents)
{
	char buf[MONEY_FMT_MAX];

	return json_string(money_format_cents(buf, cents));
}

/* The rating of one customer as the JSON. */
static json_t *to_json(const char *customer, const struct ctx *x,
		       const struct vat_decision *dec, const char *lang,
		       const struct rate_result *r)
{
	json_t *o = json_object(), *lines = json_array(), *vat = json_array();
	char desc[512], period[8];

	snprintf(period, sizeof(period), "%04d-%02d", x->mo.y, x->mo.m);
	json_object_set_new(o, "customer", json_string(customer));
	json_object_set_new(o, "period", json_string(period));
	json_object_set_new(o, "tariff_version", json_string(x->t.version));
	json_object_set_new(o, "currency", json_string(x->t.currency));
	json_object_set_new(o, "vat_regime", json_string(dec->code));
	for (size_t i = 0; i < r->nlines; i++) {
		const struct rate_line *l = &r->lines[i];
		json_t *jl = json_object();

		json_object_set_new(jl, "kind",
				    json_string(rate_kind_name(l->kind)));
		rate_line_describe(desc, sizeof(desc), r, l, &x->t, lang);
		json_object_set_new(jl, "description", json_string(desc));
		json_object_set_new(jl, "quantity", jmoney(l->quantity, 0));
		json_object_set_new(jl, "unit",
				    json_string(rate_unit_name(l->unit)));
		json_object_set_new(jl, "unit_price", jmoney(l->unit_price, 2));
		json_object_set_new(jl, "net", jcents(l->net));
		json_object_set_new(jl, "vat_rate", jmoney(l->vat.rate, 2));
		if (l->plan) {
			json_object_set_new(jl, "plan",
					    json_string(l->plan->code));
		}
		json_array_append_new(lines, jl);
	}
	json_object_set_new(o, "lines", lines);
	for (size_t i = 0; i < r->nvat; i++) {
		json_t *jv = json_object();

		json_object_set_new(jv, "rate", jmoney(r->vat[i].vat.rate, 2));
		json_object_set_new(jv, "base", jcents(r->vat[i].base));
		json_object_set_new(jv, "amount", jcents(r->vat[i].amount));
		json_array_append_new(vat, jv);
	}
	json_object_set_new(o, "vat", vat);
	json_object_set_new(o, "net", jcents(r->net));
	json_object_set_new(o, "vat_total", jcents(r->vat_total));
	json_object_set_new(o, "total", jcents(r->total));
	json_object_set_new(o, "usage", json_pack(
		"{s:i, s:i, s:I, s:i, s:I, s:i, s:i, s:i, s:i, s:I, s:I, s:i, s:I}",
		"days_in_month", r->usage.days_in_month,
		"covered_days", r->usage.covered_days,
		"average_storage_bytes", (json_int_t)r->usage.storage_avg,
		"storage_missing_days", r->usage.storage_missing_days,
		"outbound_total", (json_int_t)r->usage.outbound_total,
		"over_quota_days", r->usage.over_quota_days,
		"tolerated_days", r->usage.tolerated_days,
		"tolerated_used", r->usage.tolerated_used,
		"billed_days", r->usage.billed_days,
		"billed_excess", (json_int_t)r->usage.billed_excess,
		"tolerated_excess", (json_int_t)r->usage.tolerated_excess,
		"unsubscribed_days", r->usage.unsubscribed_days,
		"unsubscribed_outbound",
		(json_int_t)r->usage.unsubscribed_outbound));
	json_object_set_new(o, "advice", json_pack(
		"{s:s, s:b}", "plan", r->advice.plan->code, "covers",
		r->advice.covers));
	return o;
}

static void print_table(FILE *f, const char *customer, const char *name,
			const struct ctx *x, const struct vat_decision *dec,
			const char *lang, const struct rate_result *r)
{
	char desc[512], q[MONEY_FMT_MAX], p[MONEY_FMT_MAX], n[MONEY_FMT_MAX],
		v[MONEY_FMT_MAX];

	fprintf(f, "%s  %s  %04d-%02d  tariff %s  VAT %s\n", customer, name,
		x->mo.y, x->mo.m, x->t.version, dec->code);
	for (size_t i = 0; i < r->nlines; i++) {
		const struct rate_line *l = &r->lines[i];

		rate_line_describe(desc, sizeof(desc), r, l, &x->t, lang);
		fprintf(f, "  %-8s %-58.58s %10s x %9s = %9s  %s%%\n",
			rate_kind_name(l->kind), desc,
			money_format(q, l->quantity, 0),
			money_format(p, l->unit_price, 2),
			money_format_cents(n, l->net),
			money_format(v, l->vat.rate, 2));
	}
	for (size_t i = 0; i < r->nvat; i++) {
		fprintf(f, "  VAT %s%% on %s: %s\n",
			money_format(v, r->vat[i].vat.rate, 2),
			money_format_cents(n, r->vat[i].base),
			money_format_cents(q, r->vat[i].amount));
	}
	fprintf(f, "  net %s  VAT %s  total %s %s",
		money_format_cents(n, r->net),
		money_format_cents(v, r->vat_total),
		money_format_cents(q, r->total), x->t.currency);
	fprintf(f, "  (over quota %d days, %d tolerated; advice: %s%s)\n",
		r->usage.over_quota_days, r->usage.tolerated_used,
		r->advice.plan->code, r->advice.covers ? "" : ", not covering");
	if (r->usage.unsubscribed_days) {
		fprintf(f, "  not billed: %lld %ss on %d day%s without a"
			" subscription\n",
			(long long)r->usage.unsubscribed_outbound,
			tariff_unit_name(x->t.unit), r->usage.unsubscribed_days,
			r->usage.unsubscribed_days == 1 ? "" : "s");
	}
	fputc('\n', f);
}

/*
 * Customers are rated in chunks, two at a time on two threads (the
 * rater is pure; the JSON of one customer is its own), each chunk's
 * text kept in memory and written in the customers' order: the output
 * is the same as one thread's, and no more than two chunks of customers
 * are ever held in memory.
 */
#define CHUNK 256

struct chunk {
	const struct ctx *x;
	int json;
	struct rate_db_month mo[CHUNK];
	int got[CHUNK];		/* rate_db_batch_next's answer: 0, -1 */
	int bad[CHUNK];		/* not rated */
	struct diag one[CHUNK]; /* each customer's messages */
	int n;
	char *text;		/* the chunk's output */
	size_t len;
	char *buf;		/* one customer's JSON */
	size_t cap;
	long printed;
};

/* Rate one customer's month into f (JSON: after sep): 0 (printed), -1. */
static int rate_one(struct chunk *k, const struct rate_db_month *mo,
		    FILE *f, const char *sep, struct diag *d)
{
	const struct ctx *x = k->x;
	struct rate_input in;
	struct rate_result res;

	rate_db_month_input(mo, &x->t, &in);
	if (rate_month(&in, &res, d) != 0) {
		return -1;
	}
	if (k->json) {
		json_t *o = to_json(mo->customer, x, &mo->vat, mo->language,
				    &res);
		size_t n;

		/* Dumped into a buffer and written at once: json_dumpf
		 * makes one fwrite per token, a third of the output's
		 * cost. */
		for (;;) {
			n = json_dumpb(o, k->buf, k->cap,
				       JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			if (n <= k->cap) {
				break;
			}
			free(k->buf);
			k->cap = n * 2;
			k->buf = xmalloc(k->cap);
		}
		fputs(sep, f);
		fwrite(k->buf, 1, n, f);
		if (!x->in_array) {
			fputc('\n', f);
		}
		json_decref(o);
	} else {
		print_table(f, mo->customer, mo->name, x, &mo->vat,
			    mo->language, &res);
	}
	rate_result_free(&res);
	return 0;
}

/* Rate the chunk's customers into its text (a thread's body). */
static void *chunk_rate(void *arg)
{
	struct chunk *k = arg;
	FILE *f = open_memstream(&k->text, &k->len);

	if (!f) {
		abort(); /* out of memory */
	}
	k->printed = 0;
	for (int i = 0; i < k->n; i++) {
		k->bad[i] = k->got[i] != 0 ||
			    rate_one(k, &k->mo[i], f,
				     k->x->in_array && k->printed ? ",\n" : "",
				     &k->one[i]) != 0;
		k->printed += !k->bad[i];
	}
	if (fclose(f) != 0) {
		abort();
	}
	return NULL;
}

/* Up to CHUNK customers from the batch into k; 1 when none was left. */
static int chunk_fill(struct chunk *k, struct rate_db_batch *b)
{
	k->n = 0;
	while (k->n < CHUNK) {
		int i = k->n;

		k->one[i] = (struct diag)DIAG_INIT;
		k->got[i] = rate_db_batch_next(b, &k->mo[i], &k->one[i]);
		if (k->got[i] == 1) {
			diag_free(&k->one[i]);
			break;
		}
		k->n++;
	}
	return k->n == 0;
}

/* Write k's text, move its messages to d, count; empties k. */
static void chunk_flush(struct chunk *k, struct ctx *x, struct diag *d,
			int *failed, int *rated)
{
	if (k->printed) {
		if (x->in_array) {
			fputs(x->printed ? ",\n" : "[\n", stdout);
		}
		fwrite(k->text, 1, k->len, stdout);
		x->printed += k->printed;
	}
	for (int i = 0; i < k->n; i++) {
		const struct rate_db_month *mo = &k->mo[i];

		*failed += k->bad[i];
		for (size_t j = 0; j < k->one[i].n; j++) {
			diag_add(d, "%s: %s", mo->customer ? mo->customer
					      : "?", k->one[i].msg[j]);
		}
		*rated += k->got[i] == 0;
		rate_db_month_free(&k->mo[i]);
		diag_free(&k->one[i]);
	}
	free(k->text);
	k->text = NULL;
	k->len = 0;
	k->n = 0;
	k->printed = 0;
}

int cmd_rate(int argc, char **argv)
{
	static const struct option opts[] = {
		{"period", required_argument, NULL, 'p'},
		{"customer", required_argument, NULL, 'c'},
		{"json", no_argument, NULL, 'j'},
		{"db", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *period = NULL, *customer = NULL, *db = NULL;
	struct diag d = DIAG_INIT;
	struct ctx x;
	int c, json = 0, y, m, rc = EXIT_FAIL, failed = 0, tr;
	struct rate_db_batch batch;
	int opened = 0, rated = 0;
	struct chunk *ch = NULL;

	memset(&x, 0, sizeof(x));
	while ((c = getopt_long(argc, argv, "p:c:jd:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			period = optarg;
			break;
		case 'c':
			customer = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'd':
			db = optarg;
			break;
		case 'h':
			fputs(help, stdout);
			return EXIT_OK;
		default:
			return cli_usage("rate", "bad option");
		}
	}
	if (optind != argc || !period || period_parse(period, &y, &m)) {
		return cli_usage("rate", optind != argc
			? "unexpected argument" : "--period YYYY-MM is required");
	}
	month_init(&x.mo, y, m);
	x.c = session_open(WHO, db);
	if (!x.c) {
		return EXIT_FAIL;
	}
	tr = tariff_db_in_effect(x.c, x.mo.first, &x.t, &d);
	if (tr != 0) {
		if (tr == 1) {
			diag_add(&d, "no tariff version is in effect on %s",
				 x.mo.first);
		}
		goto out;
	}
	if (vat_db_rates(x.c, x.mo.last, &x.rates, &d) != 0) {
		goto out;
	}
	if (rate_db_seller_country(x.c, x.seller_country, &d) != 0) {
		goto out;
	}
	if (rate_db_batch_open(x.c, customer, y, m, 0, &x.t, &x.rates,
			       x.seller_country, &batch, &d) != 0) {
		goto out;
	}
	opened = 1;
	x.in_array = json && !customer;
	ch = xcalloc(2, sizeof(*ch));
	for (int i = 0; i < 2; i++) {
		ch[i].x = &x;
		ch[i].json = json;
	}
	while (chunk_fill(&ch[0], &batch) == 0) {
		pthread_t th;
		int two = chunk_fill(&ch[1], &batch) == 0 &&
			  pthread_create(&th, NULL, chunk_rate, &ch[1]) == 0;

		chunk_rate(&ch[0]);
		if (two) {
			pthread_join(th, NULL);
		} else if (ch[1].n) {
			chunk_rate(&ch[1]);
		}
		chunk_flush(&ch[0], &x, &d, &failed, &rated);
		chunk_flush(&ch[1], &x, &d, &failed, &rated);
	}
	if (customer && rated == 0 && failed == 0) {
		diag_add(&d, "customer '%s' has no subscription in %s",
			 customer, period);
		goto out;
	}
	if (x.in_array) {
		fputs(x.printed ? "\n]\n" : "[]\n", stdout);
	}
	rc = failed ? EXIT_FAIL : EXIT_OK;
out:
	diag_print(&d, stderr, WHO);
	diag_free(&d);
	if (opened) {
		rate_db_batch_close(&batch);
	}
	if (ch) {
		free(ch[0].buf);
		free(ch[1].buf);
		free(ch);
	}
	tariff_free(&x.t);
	vat_db_rates_free(&x.rates);
	db_close(x.c);
	return rc;
}
