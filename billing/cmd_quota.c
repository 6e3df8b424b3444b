/*
 * cmd_quota — `releve quota check|status|unblock|blockmap`: soft quotas,
 * live.
 *
 * check judges today's count of every subscribed customer (the billing day
 * of --at in the tariff's time zone; the count in the tariff's unit, from
 * usage_daily, as `releve rate` reads it) with the pure billing/quota.c,
 * mails a notice at warn and over (once per customer, day and level: the
 * INSERT into quota_notices and the mail are one transaction, and the
 * UNIQUE constraint makes a concurrent run wait and then skip), and over
 * the block ratio puts the customer's SASL logins into quota_blocks until
 * the next local midnight.  Postfix reads the view quota_blocked_logins,
 * or the texthash: file that blockmap writes from it.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/atomicfile.h"
#include "common/cli.h"
#include "common/commands.h"
#include "common/db.h"
#include "common/pipecmd.h"
#include "common/session.h"
#include "common/xalloc.h"
#include "quota.h"
#include "tariff.h"
#include "tariff_db.h"

#define DEFAULT_SENDMAIL "/usr/sbin/sendmail -t -oi"
#define DEFAULT_ACTION "REJECT 5.7.1 Sending quota exceeded, try again tomorrow"

static const char help[] =
	"Usage: releve quota check [--at TIMESTAMP] [--sendmail CMD] [--dry-run]\n"
	"       releve quota status [--at TIMESTAMP] [--json]\n"
	"       releve quota unblock CUSTOMER [--by NAME]\n"
	"       releve quota blockmap -o FILE [--action TEXT]\n"
	"\n"
	"  check     judge today's outbound count of every customer, mail\n"
	"            notices at warn and over, block logins over the block ratio\n"
	"  status    print today's state of every customer\n"
	"  unblock   lift a customer's current blocks\n"
	"  blockmap  write the blocked logins as a Postfix texthash: file\n"
	"\n"
	"Run `releve quota SUBCOMMAND --help` for the options.\n";

static const char check_help[] =
	"Usage: releve quota check [--at TIMESTAMP] [--sendmail CMD] [--from ADDR]\n"
	"                          [--dry-run] [--db CONNINFO]\n"
	"\n"
	"Compute the state of the billing day of --at (in the tariff's time\n"
	"zone) of every customer with a subscription active that day: ok,\n"
	"warn (count >= warn_ratio x quota), over (count > quota), blocked\n"
	"(count > block_ratio x quota).  At warn and over, mail the customer's\n"
	"billing address a notice in its language, each level at most once a\n"
	"day (recorded in quota_notices).  At blocked, block the SASL logins\n"
	"of its mailboxes until the next local midnight (quota_blocks) and\n"
	"send the over notice.  Prints one line per customer not ok.\n"
	"\n"
	"Options:\n"
	"  -a, --at TIMESTAMP   the moment to judge (default: now)\n"
	"  -s, --sendmail CMD   mail command, run by /bin/sh with the message\n"
	"                       on its stdin (default: $RELEVE_SENDMAIL, else\n"
	"                       " DEFAULT_SENDMAIL ")\n"
	"  -f, --from ADDR      From: of the notices (default: sendmail's)\n"
	"  -n, --dry-run        say what would be done, change and send nothing\n"
	SESSION_HELP
	"  -h, --help           this help\n";

static const char status_help[] =
	"Usage: releve quota status [--at TIMESTAMP] [--json] [--db CONNINFO]\n"
	"\n"
	"Print the state of the billing day of --at (default now) of every\n"
	"customer with a subscription active that day, with the notices\n"
	"sent and the logins blocked then.\n"
	"\n"
	"Options:\n"
	"  -a, --at TIMESTAMP   the moment (default: now)\n"
	"  -j, --json           JSON on stdout\n" SESSION_HELP
	"  -h, --help           this help\n";

static const char unblock_help[] =
	"Usage: releve quota unblock CUSTOMER [--by NAME] [--db CONNINFO]\n"
	"\n"
	"Lift every block of CUSTOMER in force now (lifted_at, lifted_by are\n"
	"recorded).  Later checks of the same day do not block it again.\n"
	"\n"
	"Options:\n"
	"  -b, --by NAME        who lifts it (default: $USER)\n" SESSION_HELP
	"  -h, --help           this help\n";

static const char blockmap_help[] =
	"Usage: releve quota blockmap -o FILE [--action TEXT] [--at TIMESTAMP]\n"
	"                             [--db CONNINFO]\n"
	"\n"
	"Write the logins blocked now as a Postfix texthash: table, one\n"
	"`login ACTION` line each, atomically (a temporary file in the same\n"
	"folder, fsync, rename), for check_sasl_access texthash:FILE.\n"
	"\n"
	"Options:\n"
	"  -o, --output FILE    the table to write\n"
	"  -A, --action TEXT    the access(5) action (default:\n"
	"                       " DEFAULT_ACTION ")\n"
	"  -a, --at TIMESTAMP   blocked at that moment instead of now\n"
	SESSION_HELP
	"  -h, --help           this help\n";

/* The billing day of a moment and the tariff rating it. */
struct today {
	struct tariff t;
	char day[16];
	char *at;    /* the moment, as the database writes it */
	char *until; /* the next local midnight */
};

static void today_free(struct today *x)
{
	tariff_free(&x->t);
	free(x->at);
	free(x->until);
}

static int day_in_zone(PGconn *c, const char *at, const char *tz,
		       struct today *x, struct diag *d)
{
	const char *p[2] = {at, tz};
	PGresult *r = db_exec(c, d,
		"WITH m AS (SELECT COALESCE($1::timestamptz, now()) AS at)"
		" SELECT (at AT TIME ZONE $2)::date::text AS day, at::text AS at,"
		" (((at AT TIME ZONE $2)::date + 1)::timestamp AT TIME ZONE $2)::text"
		" AS until FROM m", 2, p);

	if (!r) {
		return -1;
	}
	snprintf(x->day, sizeof(x->day), "%s", db_get(r, 0, "day"));
	free(x->at);
	free(x->until);
	x->at = xstrdup(db_get(r, 0, "at"));
	x->until = xstrdup(db_get(r, 0, "until"));
	PQclear(r);
	return 0;
}

/*
 * The billing day of at (NULL: now): in the latest tariff's time zone,
 * then in that of the version in effect that day if it differs.
 */
static int today_load(PGconn *c, const char *at, struct today *x,
		      struct diag *d)
{
	struct tariff latest;
	int tr;

	memset(x, 0, sizeof(*x));
	memset(&latest, 0, sizeof(latest));
	tr = tariff_db_load(c, NULL, &latest, NULL, d);
	if (tr != 0) {
		if (tr == 1) {
			diag_add(d, "no tariff loaded");
		}
		return -1;
	}
	tr = day_in_zone(c, at, latest.timezone, x, d);
	if (tr == 0) {
		tr = tariff_db_in_effect(c, x->day, &x->t, d);
		if (tr == 1) {
			diag_add(d, "no tariff version is in effect on %s", x->day);
		}
	}
	if (tr == 0 && strcmp(x->t.timezone, latest.timezone) != 0) {
		tr = day_in_zone(c, at, x->t.timezone, x, d);
	}
	tariff_free(&latest);
	return tr == 0 ? 0 : -1;
}

/* Customers subscribed on the day, with the day's outbound sums. */
static PGresult *day_counts(PGconn *c, const struct today *x, struct diag *d)
{
	const char *p[1] = {x->day};

	return db_exec(c, d,
		"SELECT s.customer_id, s.plan_code, cu.name, cu.billing_email,"
		" cu.language,"
		" COALESCE(sum(u.out_messages), 0) AS msgs,"
		" COALESCE(sum(u.out_recipients), 0) AS rcpt,"
		" COALESCE(sum(u.out_recipients_local), 0) AS loc"
		" FROM subscriptions s JOIN customers cu ON cu.id = s.customer_id"
		" LEFT JOIN usage_daily u ON u.customer_id = s.customer_id"
		"  AND u.day = $1::date"
		" WHERE s.start_date <= $1::date"
		" AND (s.end_date IS NULL OR s.end_date > $1::date)"
		" GROUP BY 1, 2, 3, 4, 5 ORDER BY 1", 1, p);
}

/* One customer's day, judged. */
struct judged {
	const char *customer, *name, *email, *lang;
	const struct tariff_plan *plan;
	int64_t count;
	enum quota_state state;
};

/* 0 and *j, or -1 (message in d) for row i of day_counts(). */
static int judge(const struct today *x, const PGresult *r, int i,
		 struct judged *j, struct diag *d)
{
	const char *plan = db_get(r, i, "plan_code");

	memset(j, 0, sizeof(*j));
	j->customer = db_get(r, i, "customer_id");
	j->name = db_get(r, i, "name");
	j->email = db_get(r, i, "billing_email");
	j->lang = db_get(r, i, "language");
	j->plan = tariff_plan_find(&x->t, plan);
	if (!j->plan) {
		diag_add(d, "%s: plan '%s' is not in tariff %s", j->customer,
			 plan, x->t.version);
		return -1;
	}
	if (x->t.unit == TARIFF_UNIT_MESSAGE) {
		j->count = strtoll(db_get(r, i, "msgs"), NULL, 10);
	} else {
		j->count = strtoll(db_get(r, i, "rcpt"), NULL, 10);
		if (!x->t.count_local) {
			j->count -= strtoll(db_get(r, i, "loc"), NULL, 10);
		}
	}
	if (j->count < 0) {
		j->count = 0; /* more local than all: a collector's bug */
	}
	return quota_state_of(j->count, j->plan->outbound_per_day,
			      x->t.warn_ratio, x->t.block_ratio, &j->state, d);
}

struct check_opts {
	const char *sendmail, *from;
	int dry_run;
};

/* Block the customer's logins until the end of the day; *n gets how many
 * new blocks. */
static int block_logins(PGconn *c, const struct today *x,
			const struct judged *j, int dry_run, int *n,
			struct diag *d)
{
	const char *p[4] = {j->customer, x->day, x->at, x->until};
	PGresult *r;

	if (dry_run) {
		r = db_exec(c, d, "SELECT count(*) FROM mailboxes m"
				  " WHERE m.customer_id = $1 AND NOT EXISTS"
				  " (SELECT 1 FROM quota_blocks b WHERE"
				  " b.customer_id = $1 AND b.day = $2::date"
				  " AND b.login = lower(m.login))", 2, p);
	} else {
		r = db_exec(c, d, "WITH ins AS (INSERT INTO quota_blocks"
				  " (customer_id, login, day, blocked_at, until)"
				  " SELECT $1, lower(login), $2::date,"
				  " $3::timestamptz, $4::timestamptz"
				  " FROM mailboxes WHERE customer_id = $1"
				  " ON CONFLICT DO NOTHING RETURNING 1)"
				  " SELECT count(*) FROM ins", 4, p);
	}
	if (!r) {
		return -1;
	}
	*n = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

/*
 * Send the notice of level (warn or over) unless already sent that day.
 * *sent: 1 sent (or would be), 0 already sent before.
 */
static int notify(PGconn *c, const struct today *x, const struct judged *j,
		  enum quota_state level, const struct check_opts *o,
		  int *sent, struct diag *d)
{
	char count[24], quota[24];
	const char *lv = quota_state_name(level);
	const char *p[6] = {j->customer, x->day, lv, count, quota, j->email};
	struct quota_notice n;
	PGresult *r;
	char *msg;
	int rc;

	snprintf(count, sizeof(count), "%lld", (long long)j->count);
	snprintf(quota, sizeof(quota), "%lld",
		 (long long)j->plan->outbound_per_day);
	*sent = 0;
	if (o->dry_run) {
		r = db_exec(c, d, "SELECT 1 FROM quota_notices WHERE"
				  " customer_id = $1 AND day = $2::date"
				  " AND level = $3", 3, p);
		if (!r) {
			return -1;
		}
		*sent = PQntuples(r) == 0;
		PQclear(r);
		return 0;
	}
	if (db_begin(c, d) != 0) {
		return -1;
	}
	/* The row first: a concurrent check waits here on the UNIQUE key
	 * until this transaction ends, then inserts nothing. */
	r = db_exec(c, d, "INSERT INTO quota_notices (customer_id, day, level,"
			  " count, quota, to_address, status)"
			  " VALUES ($1, $2::date, $3, $4::bigint, $5::bigint, $6,"
			  " 'sent') ON CONFLICT DO NOTHING RETURNING id", 6, p);
	if (!r) {
		db_rollback(c);
		return -1;
	}
	if (PQntuples(r) == 0) {
		PQclear(r);
		db_rollback(c);
		return 0;
	}
	PQclear(r);
	memset(&n, 0, sizeof(n));
	n.lang = j->lang;
	n.from = o->from;
	n.to = j->email;
	n.customer_id = j->customer;
	n.customer_name = j->name;
	n.day = x->day;
	n.level = level;
	n.count = j->count;
	n.quota = j->plan->outbound_per_day;
	n.plan_code = j->plan->code;
	n.plan_name = j->plan->name;
	n.unit = x->t.unit;
	n.warn_ratio = x->t.warn_ratio;
	n.block_ratio = x->t.block_ratio;
	n.tolerated_days = x->t.tolerated_days;
	n.advice = quota_advice(&x->t, j->plan->outbound_per_day, j->count);
	msg = quota_notice_format(&n);
	rc = pipecmd_run(o->sendmail, msg, strlen(msg), d);
	free(msg);
	/* Not sent: no row, so the next check tries again. */
	if (rc != 0) {
		db_rollback(c);
		return -1;
	}
	if (db_commit(c, d) != 0) {
		return -1;
	}
	*sent = 1;
	return 0;
}

static int check_one(PGconn *c, const struct today *x, const struct judged *j,
		     const struct check_opts *o, struct diag *d)
{
	enum quota_state level = j->state == QUOTA_WARN ? QUOTA_WARN : QUOTA_OVER;
	int sent = 0, blocked = 0, rc = 0;

	if (j->state == QUOTA_OK) {
		return 0;
	}
	/* The block first: stopping the sender matters more than the mail. */
	if (j->state == QUOTA_BLOCKED &&
	    block_logins(c, x, j, o->dry_run, &blocked, d) != 0) {
		rc = -1;
	}
	if (notify(c, x, j, level, o, &sent, d) != 0) {
		rc = -1;
	}
	printf("%s %s %s %lld/%lld", j->customer, x->day,
	       quota_state_name(j->state), (long long)j->count,
	       (long long)j->plan->outbound_per_day);
	if (sent) {
		printf(" %s %s notice to %s", o->dry_run ? "would send" : "sent",
		       quota_state_name(level), j->email);
	}
	if (blocked) {
		printf(" %s %d login%s until %s", o->dry_run ? "would block"
		       : "blocked", blocked, blocked > 1 ? "s" : "", x->until);
	}
	putchar('\n');
	return rc;
}

static int quota_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{"at", required_argument, NULL, 'a'},
		{"sendmail", required_argument, NULL, 's'},
		{"from", required_argument, NULL, 'f'},
		{"dry-run", no_argument, NULL, 'n'},
		{"db", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct check_opts o = {NULL, NULL, 0};
	const char *at = NULL, *db = NULL;
	struct diag d = DIAG_INIT;
	struct today x;
	PGresult *r = NULL;
	PGconn *c;
	int ch, failed = 0;

	while ((ch = getopt_long(argc, argv, "a:s:f:nd:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			at = optarg;
			break;
		case 's':
			o.sendmail = optarg;
			break;
		case 'f':
			o.from = optarg;
			break;
		case 'n':
			o.dry_run = 1;
			break;
		case 'd':
			db = optarg;
			break;
		case 'h':
			fputs(check_help, stdout);
			return EXIT_OK;
		default:
			return cli_usage("quota", "bad option");
		}
	}
	if (optind != argc) {
		return cli_usage("quota", "unexpected argument");
	}
	if (!o.sendmail) {
		o.sendmail = getenv("RELEVE_SENDMAIL");
	}
	if (!o.sendmail || !*o.sendmail) {
		o.sendmail = DEFAULT_SENDMAIL;
	}
	if (o.from && strpbrk(o.from, "\r\n")) {
		return cli_usage("quota", "--from must be one line");
	}
	c = session_open("releve quota check", db);
	if (!c) {
		return EXIT_FAIL;
	}
	if (today_load(c, at, &x, &d) != 0 || !(r = day_counts(c, &x, &d))) {
		failed = 1;
		goto out;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		struct judged j;

		if (judge(&x, r, i, &j, &d) != 0 ||
		    check_one(c, &x, &j, &o, &d) != 0) {
			failed++;
		}
	}
out:
	diag_print(&d, stderr, "releve quota check");
	diag_free(&d);
	PQclear(r);
	today_free(&x);
	db_close(c);
	return failed ? EXIT_FAIL : EXIT_OK;
}

static int quota_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{"at", required_argument, NULL, 'a'},
		{"json", no_argument, NULL, 'j'},
		{"db", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *at = NULL, *db = NULL;
	struct diag d = DIAG_INIT;
	struct today x;
	PGresult *r = NULL, *ex = NULL;
	json_t *doc = NULL, *arr = NULL;
	PGconn *c;
	int ch, json = 0, failed = 0;

	while ((ch = getopt_long(argc, argv, "a:jd:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			at = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'd':
			db = optarg;
			break;
		case 'h':
			fputs(status_help, stdout);
			return EXIT_OK;
		default:
			return cli_usage("quota", "bad option");
		}
	}
	if (optind != argc) {
		return cli_usage("quota", "unexpected argument");
	}
	c = session_open("releve quota status", db);
	if (!c) {
		return EXIT_FAIL;
	}
	if (today_load(c, at, &x, &d) != 0 || !(r = day_counts(c, &x, &d))) {
		failed = 1;
		goto out;
	}
	{
		const char *p[2] = {x.day, x.at};

		/* Per customer: notices of the day and logins blocked at. */
		ex = db_exec(c, &d,
			"SELECT cu.id,"
			" (SELECT string_agg(level, ',' ORDER BY level)"
			"  FROM quota_notices n WHERE n.customer_id = cu.id"
			"  AND n.day = $1::date) AS notices,"
			" (SELECT string_agg(DISTINCT login, ',')"
			"  FROM quota_blocks b WHERE b.customer_id = cu.id"
			"  AND b.lifted_at IS NULL AND b.until > $2::timestamptz"
			"  AND b.blocked_at <= $2::timestamptz) AS blocked"
			" FROM customers cu ORDER BY cu.id", 2, p);
		if (!ex) {
			failed = 1;
			goto out;
		}
	}
	doc = json_pack("{s:s, s:s, s:s, s:s, s:s}", "day", x.day,
			"at", x.at, "timezone", x.t.timezone, "tariff_version",
			x.t.version, "unit", tariff_unit_name(x.t.unit));
	arr = json_array();
	if (!json) {
		printf("%-12s %-4s %10s %10s  %-8s %-10s %s\n", "CUSTOMER",
		       "PLAN", "COUNT", "QUOTA", "STATE", "NOTICES", "BLOCKED");
	}
	for (int i = 0; i < PQntuples(r); i++) {
		struct judged j;
		const char *notices = NULL, *blocked = NULL;

		if (judge(&x, r, i, &j, &d) != 0) {
			failed++;
			continue;
		}
		for (int k = 0; k < PQntuples(ex); k++) {
			if (!strcmp(db_get(ex, k, "id"), j.customer)) {
				notices = db_get(ex, k, "notices");
				blocked = db_get(ex, k, "blocked");
				break;
			}
		}
		if (json) {
			json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:s}",
				"customer", j.customer, "plan", j.plan->code,
				"count", (json_int_t)j.count, "quota",
				(json_int_t)j.plan->outbound_per_day,
				"state", quota_state_name(j.state));
			json_t *na = json_array(), *ba = json_array();

			for (const char *s = notices; s && *s;) {
				size_t len = strcspn(s, ",");

				json_array_append_new(na, json_stringn(s, len));
				s += len + (s[len] == ',');
			}
			for (const char *s = blocked; s && *s;) {
				size_t len = strcspn(s, ",");

				json_array_append_new(ba, json_stringn(s, len));
				s += len + (s[len] == ',');
			}
			json_object_set_new(o, "notices", na);
			json_object_set_new(o, "blocked_logins", ba);
			json_array_append_new(arr, o);
		} else {
			printf("%-12s %-4s %10lld %10lld  %-8s %-10s %s\n",
			       j.customer, j.plan->code, (long long)j.count,
			       (long long)j.plan->outbound_per_day,
			       quota_state_name(j.state),
			       notices ? notices : "-", blocked ? blocked : "-");
		}
	}
	if (json) {
		json_object_set_new(doc, "customers", arr);
		arr = NULL;
		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	}
out:
	diag_print(&d, stderr, "releve quota status");
	diag_free(&d);
	json_decref(doc);
	json_decref(arr);
	PQclear(r);
	PQclear(ex);
	today_free(&x);
	db_close(c);
	return failed ? EXIT_FAIL : EXIT_OK;
}

static int quota_unblock(int argc, char **argv)
{
	static const struct option opts[] = {
		{"by", required_argument, NULL, 'b'},
		{"db", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *by = NULL, *db = NULL;
	struct diag d = DIAG_INIT;
	PGresult *r = NULL;
	PGconn *c;
	int ch, rc = EXIT_FAIL;

	while ((ch = getopt_long(argc, argv, "b:d:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			by = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 'h':
			fputs(unblock_help, stdout);
			return EXIT_OK;
		default:
			return cli_usage("quota", "bad option");
		}
	}
	if (optind + 1 != argc) {
		return cli_usage("quota", "unblock takes one CUSTOMER");
	}
	if (!by) {
		by = getenv("USER");
	}
	if (!by || !*by) {
		by = "operator";
	}
	c = session_open("releve quota unblock", db);
	if (!c) {
		return EXIT_FAIL;
	}
	{
		const char *p[2] = {argv[optind], by};

		r = db_exec(c, &d, "SELECT 1 FROM customers WHERE id = $1", 1, p);
		if (!r) {
			goto out;
		}
		if (PQntuples(r) == 0) {
			diag_add(&d, "no customer '%s'", argv[optind]);
			goto out;
		}
		PQclear(r);
		r = db_exec(c, &d, "UPDATE quota_blocks SET lifted_at = now(),"
				   " lifted_by = $2 WHERE customer_id = $1"
				   " AND lifted_at IS NULL AND until > releve_now()"
				   " RETURNING login", 2, p);
		if (!r) {
			goto out;
		}
		printf("%s: %d login%s unblocked\n", argv[optind],
		       PQntuples(r), PQntuples(r) == 1 ? "" : "s");
	}
	rc = EXIT_OK;
out:
	diag_print(&d, stderr, "releve quota unblock");
	diag_free(&d);
	PQclear(r);
	db_close(c);
	return rc;
}

static int quota_blockmap(int argc, char **argv)
{
	static const struct option opts[] = {
		{"output", required_argument, NULL, 'o'},
		{"action", required_argument, NULL, 'A'},
		{"at", required_argument, NULL, 'a'},
		{"db", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *out = NULL, *action = DEFAULT_ACTION, *at = NULL, *db = NULL;
	struct diag d = DIAG_INIT;
	PGresult *r = NULL;
	PGconn *c;
	char *text = NULL;
	size_t len = 0;
	int ch, rc = EXIT_FAIL, bad = 0;

	while ((ch = getopt_long(argc, argv, "o:A:a:d:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			out = optarg;
			break;
		case 'A':
			action = optarg;
			break;
		case 'a':
			at = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 'h':
			fputs(blockmap_help, stdout);
			return EXIT_OK;
		default:
			return cli_usage("quota", "bad option");
		}
	}
	if (optind != argc || !out) {
		return cli_usage("quota", optind != argc ? "unexpected argument"
				 : "blockmap needs -o FILE");
	}
	if (!*action || strpbrk(action, "\r\n")) {
		return cli_usage("quota", "--action must be one non-empty line");
	}
	c = session_open("releve quota blockmap", db);
	if (!c) {
		return EXIT_FAIL;
	}
	{
		const char *p[1] = {at};

		/* The view reads releve_now(): set it for this transaction. */
		if (db_begin(c, &d) != 0 ||
		    (at && db_cmd(c, &d, "SELECT set_config('releve.now',"
					 " $1::timestamptz::text, true)", 1, p)
		     != 0) ||
		    !(r = db_exec(c, &d, "SELECT login FROM quota_blocked_logins"
					 " ORDER BY login", 0, NULL))) {
			db_rollback(c);
			goto out;
		}
		db_rollback(c);
	}
	text = xstrdup("# releve quota blockmap: logins blocked over their"
		       " sending quota (texthash:)\n");
	len = strlen(text);
	for (int i = 0; i < PQntuples(r); i++) {
		const char *login = PQgetvalue(r, i, 0);
		char *line;
		size_t n;

		/* A texthash key ends at the first space and '#' starts a
		 * comment: such a login cannot be written. */
		if (strpbrk(login, " \t\r\n") || login[0] == '#') {
			diag_add(&d, "login '%s' cannot be a texthash key;"
				     " left out", login);
			bad = 1;
			continue;
		}
		line = xasprintf("%s %s\n", login, action);
		n = strlen(line);
		text = xreallocarray(text, len + n + 1, 1);
		memcpy(text + len, line, n + 1);
		len += n;
		free(line);
	}
	if (atomicfile_write(out, text, len, 0644, &d) != 0) {
		goto out;
	}
	rc = bad ? EXIT_FAIL : EXIT_OK;
out:
	diag_print(&d, stderr, "releve quota blockmap");
	diag_free(&d);
	free(text);
	PQclear(r);
	db_close(c);
	return rc;
}

int cmd_quota(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{"check", quota_check, "judge today's counts, notify, block"},
		{"status", quota_status, "print today's state of every customer"},
		{"unblock", quota_unblock, "lift a customer's current blocks"},
		{"blockmap", quota_blockmap, "write the blocked logins (texthash)"},
		{NULL, NULL, NULL},
	};

	return cli_dispatch("quota", help, subs, argc, argv);
}
