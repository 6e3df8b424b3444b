/*
 * rate_db — read customers' months for the rater; see rate_db.h.
 *
 * A batch reads a whole month for every customer (or one): the customers
 * with a subscription in the month and their subscriptions, ordered by
 * customer id, then the usage and storage rows of the month, unordered
 * and unaggregated, by binary COPY (one customer's: through a cursor).
 * The server only scans: a sort, a GROUP BY or a string_agg over three
 * million rows cost it more than the whole rating, and an index scan in
 * customer order reads the heap a row at a time.  The client sums the
 * rows into per-customer day arrays found by a hash of the ids.  The two
 * scans run at once on two connections (two server processes, a reader
 * thread for storage): rating 100,000 customers costs two sequential
 * scans, not 400,000 round trips nor a sort.
 */
#include "rate_db.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/copyout.h"
#include "common/date.h"
#include "common/db.h"
#include "common/dbclone.h"
#include "common/dbprep.h"
#include "common/xalloc.h"

int64_t rate_db_billable(const struct tariff *t, int64_t messages,
			 int64_t recipients, int64_t local)
{
	if (t->unit == TARIFF_UNIT_MESSAGE) {
		return messages;
	}
	return t->count_local ? recipients : recipients - local;
}

int rate_db_seller_country(PGconn *c, char cc[3], struct diag *d)
{
	PGresult *r = db_exec(c, d, "SELECT country FROM seller", 0, NULL);

	if (!r) {
		return -1;
	}
	snprintf(cc, 3, "%s", PQntuples(r) ? PQgetvalue(r, 0, 0) : "FR");
	PQclear(r);
	return 0;
}

void rate_db_batch_close(struct rate_db_batch *b)
{
	if (!b) {
		return;
	}
	PQclear(b->cust);
	PQclear(b->subs);
	free(b->out);
	free(b->sto);
	free(b->missing);
	memset(b, 0, sizeof(*b));
}

void rate_db_month_free(struct rate_db_month *mo)
{
	if (!mo) {
		return;
	}
	free(mo->name);
	free(mo->language);
	free(mo->subs);
	if (mo->batch) {
		rate_db_batch_close(mo->batch);
		free(mo->batch);
	}
	memset(mo, 0, sizeof(*mo));
}

/* Customer ids (column 0 of a result) to their row: open addressing
 * over a compact copy of the ids.  A scan's rows come day by day in the
 * order the rollup wrote them, not the customers' order, so every row is
 * a lookup: slots of 8 bytes and ids packed in one block keep the
 * lookups in the processor's caches (2 MB and 1 MB for 100,000 ids)
 * rather than in the result's scattered tuples. */
struct idslot {
	uint32_t hash;
	int32_t row; /* -1: empty */
};

struct idmap {
	struct idslot *slot;
	size_t mask;
	char *ids;	/* every id, NUL-separated */
	size_t *off;	/* row -> its id in ids; off[n]: the end */
	int last;	/* the row found last, -1 */
};

static uint32_t id_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < n; i++) {
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	}
	return h ^ (h >> 15);
}

static void idmap_init(struct idmap *m, const PGresult *r)
{
	int n = PQntuples(r);
	size_t size = 16, total = 0;

	while (size < (size_t)n * 2) {
		size *= 2;
	}
	m->mask = size - 1;
	m->last = -1;
	m->slot = xmalloc(size * sizeof(*m->slot));
	for (size_t i = 0; i < size; i++) {
		m->slot[i].row = -1;
	}
	m->off = xmalloc(((size_t)n + 1) * sizeof(*m->off));
	for (int i = 0; i < n; i++) {
		total += (size_t)PQgetlength(r, i, 0) + 1;
	}
	m->ids = xmalloc(total ? total : 1);
	total = 0;
	for (int i = 0; i < n; i++) {
		size_t len = (size_t)PQgetlength(r, i, 0);
		uint32_t hv = id_hash(PQgetvalue(r, i, 0), len);
		size_t h = hv & m->mask;

		m->off[i] = total;
		memcpy(m->ids + total, PQgetvalue(r, i, 0), len + 1);
		total += len + 1;
		while (m->slot[h].row >= 0) {
			h = (h + 1) & m->mask;
		}
		m->slot[h] = (struct idslot){ .hash = hv, .row = i };
	}
	m->off[n] = total;
}

static void idmap_free(struct idmap *m)
{
	free(m->slot);
	free(m->ids);
	free(m->off);
}

static int id_is(const struct idmap *m, int row, const char *id, size_t len)
{
	return m->off[row + 1] - m->off[row] == len + 1 &&
	       memcmp(m->ids + m->off[row], id, len) == 0;
}

/* The row of id (len bytes), -1 when it is not a customer of the batch.
 * A customer's mailboxes come one after the other: the last row found
 * is tried first. */
static int idmap_find(struct idmap *m, const char *id, size_t len)
{
	uint32_t hv;

	if (m->last >= 0 && id_is(m, m->last, id, len)) {
		return m->last;
	}
	hv = id_hash(id, len);
	for (size_t h = hv & m->mask; m->slot[h].row >= 0;
	     h = (h + 1) & m->mask) {
		if (m->slot[h].hash == hv && id_is(m, m->slot[h].row, id, len)) {
			return m->last = m->slot[h].row;
		}
	}
	return -1;
}

/* Customers per block of storage_customer_blocks (sql/016; the
 * collector's STORAGE_CUSTOMER_BLOCK, which billing/ cannot include;
 * were they to differ, block_row would refuse the blocks and
 * test_storage_db's many customers would fail). */
#define CUSTOMER_BLOCK 64

enum rows { ROWS_OUT, ROWS_STO };

/* One scan of a batch: what to read, where, and how it went. */
struct scan {
	PGconn *c;
	struct rate_db_batch *b;
	struct idmap ids; /* each scan its own: the last row differs */
	const char *customer;
	enum rows kind;
	int32_t *row_of; /* storage: row_of[n], customer number n's row */
	size_t nrow_of;
	struct diag d;
	int rc;
};

/* The fields of a row after the id: the day (0-based), then the usage
 * counts (messages, recipients, local) or the storage (bytes, gaps). */
static int nvalues(enum rows kind)
{
	return kind == ROWS_OUT ? 4 : 3;
}

/* One row into the batch's arrays (v: nvalues of them, checked >= 0),
 * for the customer of the batch's row (-1: not a customer of it). */
static void take_at(struct scan *s, int row, const int64_t *v)
{
	struct rate_db_batch *b = s->b;
	size_t k;

	if (row < 0 || v[0] >= b->upto) {
		return; /* no subscription in the month; outside the days */
	}
	k = (size_t)v[0] * (size_t)PQntuples(b->cust) + (size_t)row;
	if (s->kind == ROWS_OUT) {
		/* Several mailboxes a day add up; the unit is linear, so
		 * the count of the sums is the sum of the counts.  Each is
		 * below 2^33: no overflow before 2^30 mailboxes a day. */
		b->out[k] += rate_db_billable(b->t, v[1], v[2], v[3]);
	} else {
		b->sto[k] = v[1];
		b->missing[k] = v[2] > 0;
	}
}

static void take_row(struct scan *s, const char *id, size_t len,
		     const int64_t *v)
{
	take_at(s, idmap_find(&s->ids, id, len), v);
}

/* A customer's number (id int4, customer_id text): its row. */
static int number_row(void *ctx, int n, const char *const *f, const int *len,
		      struct diag *d)
{
	struct scan *s = ctx;
	int64_t no;

	if (n != 2 || !copyout_int(f[0], len[0], &no) || no < 0 ||
	    no > INT32_MAX - 1 || len[1] < 0) {
		diag_add(d, "rate_db: the customers' numbers: unexpected row");
		return -1;
	}
	if ((size_t)no >= s->nrow_of) {
		size_t nn = 2 * (size_t)no + 1024;

		s->row_of = xreallocarray(s->row_of, nn, sizeof(*s->row_of));
		for (size_t k = s->nrow_of; k < nn; k++) {
			s->row_of[k] = -1;
		}
		s->nrow_of = nn;
	}
	s->row_of[no] = idmap_find(&s->ids, f[1], (size_t)len[1]);
	return 0;
}

/* One array of a block row, element by element into blk_vals. */
struct blk_vals {
	int64_t v[CUSTOMER_BLOCK];
	int64_t base;
	int bad;
};

static void blk_elem(void *ctx, int64_t sub, int64_t v)
{
	struct blk_vals *bv = ctx;

	if (sub < bv->base || sub >= bv->base + CUSTOMER_BLOCK || v < 0) {
		bv->bad = 1;
		return;
	}
	bv->v[sub - bv->base] = v;
}

/* A row of storage blocks: day (0-based), block, then the arrays
 * mailboxes, storage_bytes, sampled, carried by customer number. */
static int block_row(void *ctx, int n, const char *const *f, const int *len,
		     struct diag *d)
{
	struct scan *s = ctx;
	struct blk_vals a[4];
	int64_t day, blk;

	if (n != 6 || !copyout_int(f[0], len[0], &day) || day < 0 ||
	    !copyout_int(f[1], len[1], &blk) || blk < 0 ||
	    blk > INT32_MAX / CUSTOMER_BLOCK) {
		diag_add(d, "rate_db: the storage blocks: unexpected row");
		return -1;
	}
	for (int k = 0; k < 4; k++) {
		int32_t lb;
		size_t cnt;

		for (size_t i = 0; i < CUSTOMER_BLOCK; i++) {
			a[k].v[i] = -1;
		}
		a[k].base = blk * CUSTOMER_BLOCK;
		a[k].bad = 0;
		if (!copyout_int8_array(f[2 + k], len[2 + k], &lb, &cnt,
					blk_elem, &a[k]) ||
		    a[k].bad) {
			diag_add(d, "rate_db: the storage of block %lld, day"
				    " %lld: not an array of counts",
				 (long long)blk, (long long)day);
			return -1;
		}
	}
	for (size_t i = 0; i < CUSTOMER_BLOCK; i++) {
		size_t no = (size_t)a[0].base + i;
		int64_t v[3];

		if (a[0].v[i] < 0 || no >= s->nrow_of) {
			continue; /* no day, or not numbered before the scan */
		}
		v[0] = day;
		v[1] = a[1].v[i] < 0 ? 0 : a[1].v[i];
		v[2] = a[0].v[i] - (a[2].v[i] < 0 ? 0 : a[2].v[i]) -
		       (a[3].v[i] < 0 ? 0 : a[3].v[i]); /* gaps */
		take_at(s, s->row_of[no], v);
	}
	return 0;
}

/* A binary COPY row (copyout_row_fn). */
static int copy_row(void *ctx, int n, const char *const *f, const int *len,
		    struct diag *d)
{
	struct scan *s = ctx;
	int64_t v[4] = {0, 0, 0, 0};

	if (n != 1 + nvalues(s->kind) || len[0] < 0) {
		diag_add(d, "rate_db: a row of %d fields", n);
		return -1;
	}
	for (int j = 1; j < n; j++) {
		if (!copyout_int(f[j], len[j], &v[j - 1]) || v[j - 1] < 0) {
			diag_add(d, "rate_db: %.*s: field %d is not a count",
				 len[0], f[0], j + 1);
			return -1;
		}
	}
	take_row(s, f[0], (size_t)len[0], v);
	return 0;
}

/* A non-negative integer column in text; 0 when it is not one. */
static int get_count(const PGresult *r, int row, int col, int64_t *v)
{
	const char *s = PQgetvalue(r, row, col);
	int64_t x = 0;

	if (!*s || PQgetisnull(r, row, col)) {
		return 0;
	}
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || x > (INT64_MAX - 9) / 10) {
			return 0;
		}
		x = x * 10 + (*s - '0');
	}
	*v = x;
	return 1;
}

/*
 * The whole month's rows, unordered and unaggregated: the server only
 * scans.  COPY takes no parameters: the two dates are the only values
 * in the statement, printed here from the batch's integers, and checked
 * to be digits and dashes.
 */
static const char copy_out[] =
	"COPY (SELECT customer_id, day - '%s'::date, out_messages,"
	" out_recipients, out_recipients_local FROM usage_daily"
	" WHERE day >= '%s'::date AND day <= '%s'::date)"
	" TO STDOUT (FORMAT binary)";

/* The storage as blocks of customer numbers (sql/015, 016), and the
 * numbers. */
static const char copy_sto[] =
	"COPY (SELECT day - '%s'::date, block, mailboxes, storage_bytes,"
	" sampled, carried FROM storage_customer_blocks"
	" WHERE day >= '%s'::date AND day <= '%s'::date)"
	" TO STDOUT (FORMAT binary)";
static const char copy_sto_numbers[] =
	"COPY (SELECT id, customer_id FROM storage_customer_numbers)"
	" TO STDOUT (FORMAT binary)";
/* One customer's rows: a cursor, with parameters. */
static const char sql_out_one[] =
	"DECLARE rate_db_rows NO SCROLL CURSOR FOR"
	" SELECT customer_id, day - $1::date AS d, out_messages,"
	" out_recipients, out_recipients_local FROM usage_daily"
	" WHERE day >= $1::date AND day <= $2::date AND customer_id = $3";
static const char sql_sto_one[] =
	"DECLARE rate_db_rows NO SCROLL CURSOR FOR"
	" SELECT $3::text, day - $1::date AS d, storage_bytes, gaps"
	" FROM storage_customer_days($3, $1::date, $2::date + 1)";

static int is_date(const char *s)
{
	return strspn(s, "0123456789-") == strlen(s) && strlen(s) == 10;
}

/* Every customer's rows by COPY: 0, -1 with a message in s->d. */
static int scan_copy(struct scan *s)
{
	const struct rate_db_batch *b = s->b;
	char *sql;
	int rc;

	if (!is_date(b->first) || !is_date(b->last)) {
		/* Impossible: printed with %04d-%02d-%02d from a month. */
		diag_add(&s->d, "rate_db: bad bounds %s..%s", b->first,
			 b->last);
		return -1;
	}
	sql = xasprintf(s->kind == ROWS_OUT ? copy_out : copy_sto, b->first,
			b->first, b->last);
	if (s->kind == ROWS_OUT) {
		rc = copyout_run(s->c, sql, copy_row, s, &s->d);
	} else {
		rc = copyout_run(s->c, copy_sto_numbers, number_row, s,
				 &s->d) ||
		     copyout_run(s->c, sql, block_row, s, &s->d)
			     ? -1
			     : 0;
		free(s->row_of);
		s->row_of = NULL;
		s->nrow_of = 0;
	}
	free(sql);
	return rc;
}

/* One customer's rows through a cursor (the connection is in a
 * transaction): 0, -1 with a message in s->d. */
static int scan_one(struct scan *s)
{
	const struct rate_db_batch *b = s->b;
	const char *p[3] = { b->first, b->last, s->customer };
	int nv = nvalues(s->kind);

	if (db_cmd(s->c, &s->d,
		   s->kind == ROWS_OUT ? sql_out_one : sql_sto_one, 3, p) != 0) {
		return -1;
	}
	for (;;) {
		PGresult *r = db_exec(s->c, &s->d,
				      "FETCH FORWARD 1000 FROM rate_db_rows",
				      0, NULL);
		int n;

		if (!r) {
			return -1;
		}
		n = PQntuples(r);
		for (int i = 0; i < n; i++) {
			int64_t v[4] = {0, 0, 0, 0};

			for (int j = 0; j < nv; j++) {
				if (!get_count(r, i, j + 1, &v[j])) {
					diag_add(&s->d, "rate_db: %s: \"%s\""
						 " is not a count",
						 PQgetvalue(r, i, 0),
						 PQgetvalue(r, i, j + 1));
					PQclear(r);
					return -1;
				}
			}
			take_row(s, PQgetvalue(r, i, 0),
				 (size_t)PQgetlength(r, i, 0), v);
		}
		PQclear(r);
		if (n == 0) {
			break;
		}
	}
	return db_cmd(s->c, &s->d, "CLOSE rate_db_rows", 0, NULL);
}

static void scan_run(struct scan *s)
{
	s->rc = s->customer ? scan_one(s) : scan_copy(s);
}

/* The storage scan on its own connection, in its own transaction. */
static void *scan_thread(void *arg)
{
	struct scan *s = arg;

	if (db_cmd(s->c, &s->d, "BEGIN ISOLATION LEVEL REPEATABLE READ,"
		   " READ ONLY", 0, NULL) != 0) {
		s->rc = -1;
		return NULL;
	}
	scan_run(s);
	if (s->rc == 0) {
		s->rc = db_commit(s->c, &s->d);
	}
	if (s->rc != 0) {
		db_rollback(s->c);
	}
	return NULL;
}

/* The customers and subscriptions of the month, then the days. */
static int batch_read(PGconn *c, const char *customer,
		      struct rate_db_batch *b, struct diag *d)
{
	const char *p[3] = { b->first, b->next, customer };
	struct scan out = { 0 }, sto = { 0 };
	pthread_t th;
	int threaded = 0, rc;
	size_t n;

	/* The customers with a subscription in the month, and theirs. */
	b->subs = db_exec(c, d,
		"SELECT customer_id, plan_code, start_date::text AS s,"
		" end_date::text AS e FROM subscriptions"
		" WHERE start_date < $2::date"
		" AND (end_date IS NULL OR end_date > $1::date)"
		" AND ($3::text IS NULL OR customer_id = $3)"
		" ORDER BY customer_id, start_date", 3, p);
	b->cust = b->subs ? db_exec(c, d,
		"SELECT id, name, kind, country, postal_code, vat_number,"
		" language FROM customers c WHERE EXISTS (SELECT 1 FROM"
		" subscriptions s WHERE s.customer_id = c.id"
		" AND s.start_date < $2::date"
		" AND (s.end_date IS NULL OR s.end_date > $1::date))"
		" AND ($3::text IS NULL OR id = $3)"
		" ORDER BY id", 3, p) : NULL;
	if (!b->cust) {
		return -1;
	}
	n = (size_t)PQntuples(b->cust) * (size_t)b->ndays;
	b->out = xcalloc(n ? n : 1, sizeof(*b->out));
	b->sto = xcalloc(n ? n : 1, sizeof(*b->sto));
	b->missing = xmalloc(n ? n : 1);
	memset(b->missing, 1, n);
	if (n == 0) {
		return 0;
	}
	out = (struct scan){ .c = c, .b = b, .customer = customer,
			     .kind = ROWS_OUT, .d = DIAG_INIT };
	sto = out;
	sto.kind = ROWS_STO;
	sto.d = (struct diag)DIAG_INIT;
	idmap_init(&out.ids, b->cust);
	idmap_init(&sto.ids, b->cust);
	if (!customer) {
		/* Storage beside usage, on a second server process (in
		 * its own snapshot, as the four queries of old each had);
		 * when no second connection can be had, after it on this
		 * one. */
		struct diag none = DIAG_INIT;

		sto.c = db_connect_like(c, &none);
		diag_free(&none);
		if (sto.c && pthread_create(&th, NULL, scan_thread, &sto) == 0) {
			threaded = 1;
		} else if (sto.c) {
			db_close(sto.c);
			sto.c = c;
		} else {
			sto.c = c;
		}
	}
	scan_run(&out);
	if (threaded) {
		pthread_join(th, NULL);
		db_close(sto.c);
	} else if (out.rc == 0) {
		scan_run(&sto);
	}
	diag_move(d, &out.d);
	diag_move(d, &sto.d);
	rc = out.rc == 0 && sto.rc == 0 ? 0 : -1;
	idmap_free(&out.ids);
	idmap_free(&sto.ids);
	return rc;
}

int rate_db_batch_open(PGconn *c, const char *customer, int y, int m,
		       int upto, const struct tariff *t,
		       const struct vat_rates *rates, const char *seller_cc,
		       struct rate_db_batch *b, struct diag *d)
{
	int own = PQtransactionStatus(c) == PQTRANS_IDLE, rc;

	memset(b, 0, sizeof(*b));
	b->y = y;
	b->m = m;
	b->ndays = date_days_in_month(y, m);
	b->upto = upto <= 0 || upto > b->ndays ? b->ndays : upto;
	b->t = t;
	b->rates = rates;
	snprintf(b->seller, sizeof(b->seller), "%s", seller_cc);
	snprintf(b->first, sizeof(b->first), "%04d-%02d-01", y, m);
	snprintf(b->last, sizeof(b->last), "%04d-%02d-%02d", y, m, b->upto);
	snprintf(b->next, sizeof(b->next), "%04d-%02d-01", m == 12 ? y + 1 : y,
		 m == 12 ? 1 : m + 1);
	/* A cursor lives in a transaction; the customers, subscriptions
	 * and usage are read in one snapshot. */
	if (own && db_cmd(c, d, "BEGIN ISOLATION LEVEL REPEATABLE READ,"
			  " READ ONLY", 0, NULL) != 0) {
		return -1;
	}
	rc = batch_read(c, customer, b, d);
	if (own) {
		if (rc == 0) {
			rc = db_commit(c, d);
		}
		if (rc != 0) {
			db_rollback(c);
		}
	}
	if (rc != 0) {
		rate_db_batch_close(b);
	}
	return rc;
}

/* Read n space-separated integers at *p (the database's own output);
 * 1 when all n were there. */
static int numbers(const char **p, int64_t *v, int n)
{
	for (int i = 0; i < n; i++) {
		char *end;

		while (**p == ' ') {
			(*p)++;
		}
		if (!**p) {
			return 0;
		}
		v[i] = strtoll(*p, &end, 10);
		if (end == *p) {
			return 0;
		}
		*p = end;
	}
	return 1;
}

/* 1 while row of r (column 0: customer id) is id's.  The customers and
 * the subscriptions hold the same customers in the same order (one
 * snapshot), so rows never need skipping. */
static int at(const PGresult *r, const int *row, const char *id)
{
	return *row < PQntuples(r) && strcmp(PQgetvalue(r, *row, 0), id) == 0;
}

/* Days 1..upto of mo from the out column "day msgs rcpt local ...". */
static void fill_out(struct rate_db_month *mo, const struct tariff *t,
		     int upto, const char *p)
{
	int64_t v[4] = {0, 0, 0, 0};

	while (p && numbers(&p, v, 4)) {
		if (v[0] >= 1 && v[0] <= upto) {
			mo->days[v[0] - 1].outbound =
				rate_db_billable(t, v[1], v[2], v[3]);
		}
	}
}

/* Days 1..upto of mo from the sto column "day bytes gaps ...". */
static void fill_sto(struct rate_db_month *mo, int upto, const char *p)
{
	int64_t v[3] = {0, 0, 0};

	while (p && numbers(&p, v, 3)) {
		if (v[0] >= 1 && v[0] <= upto) {
			mo->days[v[0] - 1].storage_bytes = v[1];
			mo->days[v[0] - 1].storage_missing = v[2] > 0;
		}
	}
}

/* Subscription i of mo from its plan, start and end (NULL: open). */
static void fill_sub(struct rate_db_month *mo, size_t i, const char *plan,
		     const char *start, const char *end)
{
	mo->subs[i].plan = plan;
	rate_day_of_month(mo->year, mo->month, start, &mo->subs[i].start);
	mo->subs[i].end = RATE_OPEN;
	if (end) {
		rate_day_of_month(mo->year, mo->month, end, &mo->subs[i].end);
	}
}

/* Name, language and VAT regime of mo from row i of r (customers). */
static int fill_customer(struct rate_db_month *mo, const PGresult *r, int i,
			 const char *seller, const struct tariff *t,
			 const struct vat_rates *rates, struct diag *d)
{
	struct vat_customer vc;

	vc.kind = db_get(r, i, "kind");
	vc.country = db_get(r, i, "country");
	vc.postal_code = db_get(r, i, "postal_code");
	vc.vat_number = db_get(r, i, "vat_number");
	mo->name = xstrdup(db_get(r, i, "name"));
	mo->language = xstrdup(db_get(r, i, "language"));
	return vat_decide(seller, &vc, t->vat_oss, vat_rates_lookup,
			  (void *)rates, &mo->vat, d);
}

static void month_start(struct rate_db_month *mo, const char *id, int y,
			int m, int ndays)
{
	mo->customer = id;
	mo->year = y;
	mo->month = m;
	mo->ndays = ndays;
	for (int i = 0; i < mo->ndays; i++) {
		mo->days[i].storage_missing = 1;
	}
}

int rate_db_batch_next(struct rate_db_batch *b, struct rate_db_month *mo,
		       struct diag *d)
{
	const char *id;
	int first, n, ci;

	memset(mo, 0, sizeof(*mo));
	if (b->ci >= PQntuples(b->cust)) {
		return 1;
	}
	id = PQgetvalue(b->cust, b->ci, 0);
	month_start(mo, id, b->y, b->m, b->ndays);
	if (!at(b->subs, &b->si, id)) {
		/* Impossible: the customers were chosen by subscription. */
		diag_add(d, "%s: subscriptions changed while reading", id);
		b->ci++;
		return -1;
	}
	for (first = b->si; at(b->subs, &b->si, id); b->si++) {
	}
	n = b->si - first;
	mo->subs = xcalloc((size_t)n, sizeof(*mo->subs));
	mo->nsubs = (size_t)n;
	for (int i = 0; i < n; i++) {
		fill_sub(mo, (size_t)i, db_get(b->subs, first + i, "plan_code"),
			 db_get(b->subs, first + i, "s"),
			 db_get(b->subs, first + i, "e"));
	}
	for (int i = 0; i < b->ndays; i++) {
		size_t k = (size_t)i * (size_t)PQntuples(b->cust) +
			   (size_t)b->ci;

		mo->days[i].outbound = b->out[k];
		mo->days[i].storage_bytes = b->sto[k];
		mo->days[i].storage_missing = b->missing[k];
	}
	ci = b->ci++;
	return fill_customer(mo, b->cust, ci, b->seller, b->t, b->rates, d);
}

/*
 * One customer's month in one query (the server answers this for every
 * GET /v1/usage): the customer row, repeated once per subscription in
 * the month (one row with a NULL plan when there is none), with its
 * outbound and storage days as texts ("day msgs rcpt local ..." and
 * "day bytes gaps ...").  The same tables, bounds and rules as
 * rate_db_batch_open's reads.
 */
int rate_db_month_load(PGconn *c, const char *customer, int y, int m,
		       int upto, const struct tariff *t,
		       const struct vat_rates *rates, const char *seller_cc,
		       struct rate_db_month *mo, struct diag *d)
{
	char first[32], last[32], next[32];
	const char *p[4] = { first, next, last, customer };
	int ndays = date_days_in_month(y, m), n;
	PGresult *r;

	memset(mo, 0, sizeof(*mo));
	if (upto <= 0 || upto > ndays) {
		upto = ndays;
	}
	snprintf(first, sizeof(first), "%04d-%02d-01", y, m);
	snprintf(last, sizeof(last), "%04d-%02d-%02d", y, m, upto);
	snprintf(next, sizeof(next), "%04d-%02d-01", m == 12 ? y + 1 : y,
		 m == 12 ? 1 : m + 1);
	r = db_prepared(c, d, "rate_db_month",
		"SELECT c.id, c.name, c.kind, c.country, c.postal_code,"
		" c.vat_number, c.language, s.plan_code,"
		" s.start_date::text AS s, s.end_date::text AS e,"
		" o.days AS out, x.days AS sto"
		" FROM customers c"
		" LEFT JOIN LATERAL (SELECT string_agg(concat_ws(' ', d, msgs,"
		"  rcpt, loc), ' ') AS days FROM ("
		"  SELECT extract(day FROM day)::int AS d,"
		"  sum(out_messages) AS msgs, sum(out_recipients) AS rcpt,"
		"  sum(out_recipients_local) AS loc FROM usage_daily u"
		"  WHERE u.customer_id = c.id"
		"  AND day >= $1::date AND day <= $3::date GROUP BY day) g) o"
		"  ON true"
		" LEFT JOIN LATERAL (SELECT string_agg(concat_ws(' ',"
		"  extract(day FROM day)::int, storage_bytes, gaps), ' ')"
		"  AS days FROM storage_customer_days(c.id, $1::date,"
		"  $3::date + 1)) x ON true"
		" LEFT JOIN subscriptions s ON s.customer_id = c.id"
		"  AND s.start_date < $2::date"
		"  AND (s.end_date IS NULL OR s.end_date > $1::date)"
		" WHERE c.id = $4 ORDER BY s.start_date", 4, p);
	if (!r) {
		return -1;
	}
	n = PQntuples(r);
	if (n == 0) {
		PQclear(r);
		diag_add(d, "no customer '%s'", customer);
		return -1;
	}
	if (!db_get(r, 0, "plan_code")) {
		PQclear(r);
		return 1;
	}
	/* The strings of mo point into r: a batch holding only r keeps
	 * it until rate_db_month_free. */
	mo->batch = xcalloc(1, sizeof(*mo->batch));
	mo->batch->cust = r;
	month_start(mo, PQgetvalue(r, 0, 0), y, m, ndays);
	mo->subs = xcalloc((size_t)n, sizeof(*mo->subs));
	mo->nsubs = (size_t)n;
	for (int i = 0; i < n; i++) {
		fill_sub(mo, (size_t)i, db_get(r, i, "plan_code"),
			 db_get(r, i, "s"), db_get(r, i, "e"));
	}
	fill_out(mo, t, upto, db_get(r, 0, "out"));
	fill_sto(mo, upto, db_get(r, 0, "sto"));
	if (fill_customer(mo, r, 0, seller_cc, t, rates, d) != 0) {
		rate_db_month_free(mo);
		return -1;
	}
	return 0;
}

void rate_db_month_input(const struct rate_db_month *mo,
			 const struct tariff *t, struct rate_input *in)
{
	memset(in, 0, sizeof(*in));
	in->tariff = t;
	in->year = mo->year;
	in->month = mo->month;
	in->subs = mo->subs;
	in->nsubs = mo->nsubs;
	in->days = mo->days;
	in->ndays = mo->ndays;
	rate_input_set_vat(in, mo->vat.rate, mo->vat.code);
}
