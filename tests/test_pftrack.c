/*
 * test_pftrack — the queue-id tracker over realistic multi-line scenarios
 * (issue 4, "What real logs do").  Each scenario is a log and the messages
 * it must produce, in order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* the scenario table leaves trailing fields out on purpose */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include "metering/pflog.h"
#include "metering/pftrack.h"

/* A message as text: "QID sasl|pickup:USER sender size nrcpt
 * s/b/d/e local/remote [inflight|closed]" */
static char got[64][256];
static int ngot;

static void collect(void *arg, const struct pftrack_msg *m)
{
	(void)arg;
	if (ngot >= 64)
		fail_msg("too many messages");
	snprintf(got[ngot++], sizeof(got[0]),
		 "%s @%02d:%02d:%02d %s:%s <%s> %lld %ld %u/%u/%u/%u %u/%u%s%s",
		 m->queue_id, (int)(m->accepted_at_us / 3600000000 % 24),
		 (int)(m->accepted_at_us / 60000000 % 60),
		 (int)(m->accepted_at_us / 1000000 % 60),
		 m->origin == PFTRACK_SASL ? "sasl" : "pickup",
		 m->sasl_username ? m->sasl_username : "-", m->sender, m->size,
		 m->nrcpt, m->rcpt.sent, m->rcpt.bounced, m->rcpt.deferred,
		 m->rcpt.expired, m->rcpt.local, m->rcpt.remote,
		 m->in_flight ? " inflight" : "", m->closed ? " closed" : "");
}

/* Feed a log (lines separated by '\n'; times in the log); each line's
 * time is resolved as if the log were UTC in 2026. */
static void feed(struct pftrack *t, struct pflog_line *l, const char *log)
{
	const char *p = log;

	while (*p) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		int64_t us;

		pflog_parse(l, p, n, PFLOG_FMT_AUTO);
		if (l->kind == PFLOG_MALFORMED)
			fail_msg("malformed: %.*s", (int)n, p);
		us = l->time.has_zone ? l->time.epoch_us :
		     pflog_civil_to_epoch(2026, l->time.mon, l->time.mday,
					   l->time.hour, l->time.min,
					   l->time.sec) * 1000000;
		pftrack_feed(t, l, (struct pflog_str){NULL, 0}, us);
		p += n + (e != NULL);
	}
}

struct scenario {
	const char *name;
	const char *log;
	const char *want[8]; /* finished messages, in order */
	const char *inflight[4];
	const char *const *filters;
	size_t nfilters;
	/* check_held: pftrack_size() must be held at the end */
	int check_held;
	size_t held;
};

#define SUB "Nov 23 07:00:01 mx1 postfix/submission/smtpd[10]: "
#define SMTPD "Nov 23 07:00:01 mx1 postfix/smtpd[11]: "
#define CLEANUP "Nov 23 07:00:01 mx1 postfix/cleanup[12]: "
#define QMGR "Nov 23 07:00:02 mx1 postfix/qmgr[13]: "
#define SMTP "Nov 23 07:00:03 mx1 postfix/smtp[14]: "
#define LMTP "Nov 23 07:00:03 mx1 postfix/lmtp[15]: "
#define DLV ", delay=1, delays=0/0/0/1, "
#define PARIS "Sep  4 14:34:2"
#define AMAVIS "relay=127.0.0.1[127.0.0.1]:10024"

static const char *const amavis[] = {"127.0.0.1:10024"};

static const struct scenario scen[] = {
	{"submission, qmgr repeated on retry, deferred then sent",
	 SUB "AAA111: client=pc[198.51.100.7], sasl_method=PLAIN, "
	     "sasl_username=alice@example.fr\n"
	 CLEANUP "AAA111: message-id=<1@example.fr>\n"
	 QMGR "AAA111: from=<alias@example.fr>, size=1000, nrcpt=3 (queue active)\n"
	 SMTP "AAA111: to=<r@gmail.com>, relay=g[142.250.1.27]:25" DLV
	      "dsn=2.0.0, status=sent (250 ok)\n"
	 LMTP "AAA111: to=<c@example.fr>, relay=mx1[private/dovecot-lmtp]" DLV
	      "dsn=2.0.0, status=sent (250 saved)\n"
	 SMTP "AAA111: to=<z@slow.example>, relay=none" DLV
	      "dsn=4.4.1, status=deferred (timeout)\n"
	 "Nov 23 08:00:02 mx1 postfix/qmgr[13]: AAA111: from=<alias@example.fr>, "
	 "size=1000, nrcpt=3 (queue active)\n"
	 SMTP "AAA111: to=<z@slow.example>, relay=s[192.0.2.9]:25" DLV
	      "dsn=2.0.0, status=sent (250 ok)\n"
	 QMGR "AAA111: removed\n",
	 {"AAA111 @07:00:02 sasl:alice@example.fr <alias@example.fr> 1000 3 3/0/0/0 1/2"}},

	{"id reused after removed and after a message that never reached qmgr",
	 SUB "BBB222: client=pc[198.51.100.7], sasl_method=PLAIN, "
	     "sasl_username=a@example.fr\n"
	 QMGR "BBB222: from=<a@example.fr>, size=10, nrcpt=1 (queue active)\n"
	 SMTP "BBB222: to=<r@gmail.com>, relay=g[142.250.1.27]:25" DLV
	      "dsn=2.0.0, status=sent (250 ok)\n"
	 QMGR "BBB222: removed\n"
	 SUB "BBB222: client=pc[198.51.100.7], sasl_method=PLAIN, "
	     "sasl_username=b@example.fr\n"
	 SUB "lost connection after DATA from pc[198.51.100.7]\n"
	 SUB "BBB222: client=pc[198.51.100.7], sasl_method=PLAIN, "
	     "sasl_username=c@example.fr\n"
	 CLEANUP "BBB222: milter-reject: END-OF-MESSAGE from pc[198.51.100.7]: "
		 "5.7.1 spam; from=<c@example.fr> to=<r@gmail.com> proto=ESMTP helo=<pc>\n"
	 SUB "BBB222: client=pc[198.51.100.7], sasl_method=PLAIN, "
	     "sasl_username=d@example.fr\n"
	 QMGR "BBB222: from=<d@example.fr>, size=20, nrcpt=1 (queue active)\n"
	 SMTP "BBB222: to=<r@gmail.com>, relay=g[142.250.1.27]:25" DLV
	      "dsn=2.0.0, status=sent (250 ok)\n"
	 QMGR "BBB222: removed\n",
	 {"BBB222 @07:00:02 sasl:a@example.fr <a@example.fr> 10 1 1/0/0/0 0/1",
	  "BBB222 @07:00:02 sasl:d@example.fr <d@example.fr> 20 1 1/0/0/0 0/1"}},

	{"content filter: second hop logged before the queued-as line",
	 SUB "CCC333: client=pc[198.51.100.7], sasl_method=PLAIN, "
	     "sasl_username=e@example.fr\n"
	 QMGR "CCC333: from=<e@example.fr>, size=50, nrcpt=2 (queue active)\n"
	 SMTPD "DDD444: client=localhost[127.0.0.1]\n"
	 CLEANUP "DDD444: message-id=<x@example.fr>\n"
	 QMGR "DDD444: from=<e@example.fr>, size=60, nrcpt=2 (queue active)\n"
	 SMTP "DDD444: to=<r@gmail.com>, relay=g[142.250.1.27]:25" DLV
	      "dsn=2.0.0, status=sent (250 ok)\n"
	 SMTP "DDD444: to=<x@nowhere.example>, relay=n[192.0.2.5]:25" DLV
	      "dsn=5.1.1, status=bounced (550 no)\n"
	 QMGR "DDD444: removed\n"
	 SMTP "CCC333: to=<r@gmail.com>, relay=127.0.0.1[127.0.0.1]:10024" DLV
	      "dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): "
	      "250 2.0.0 Ok: queued as DDD444)\n"
	 SMTP "CCC333: to=<x@nowhere.example>, relay=127.0.0.1[127.0.0.1]:10024"
	      DLV "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as DDD444)\n"
	 QMGR "CCC333: removed\n",
	 {"CCC333 @07:00:02 sasl:e@example.fr <e@example.fr> 50 2 1/1/0/0 0/2"}},

	{"content filter: second hop after, still deferred, then expired",
	 SUB "EEE555: client=pc[198.51.100.7], sasl_method=PLAIN, "
	     "sasl_username=f@example.fr\n"
	 QMGR "EEE555: from=<f@example.fr>, size=50, nrcpt=1 (queue active)\n"
	 SMTP "EEE555: to=<r@slow.example>, relay=127.0.0.1[127.0.0.1]:10024"
	      DLV "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as FFF666)\n"
	 QMGR "EEE555: removed\n"
	 SMTPD "FFF666: client=localhost[127.0.0.1]\n"
	 QMGR "FFF666: from=<f@example.fr>, size=60, nrcpt=1 (queue active)\n"
	 SMTP "FFF666: to=<r@slow.example>, relay=none" DLV
	      "dsn=4.4.1, status=deferred (timeout)\n"
	 "Nov 28 07:00:02 mx1 postfix/qmgr[13]: FFF666: from=<f@example.fr>, "
	 "status=expired, returned to sender\n"
	 "Nov 28 07:00:02 mx1 postfix/bounce[16]: FFF666: sender non-delivery "
	 "notification: 777AAA\n"
	 "Nov 28 07:00:02 mx1 postfix/cleanup[12]: 777AAA: message-id=<b@mx1>\n"
	 "Nov 28 07:00:02 mx1 postfix/qmgr[13]: 777AAA: from=<>, size=3000, "
	 "nrcpt=1 (queue active)\n"
	 "Nov 28 07:00:02 mx1 postfix/qmgr[13]: FFF666: removed\n",
	 {"EEE555 @07:00:02 sasl:f@example.fr <f@example.fr> 50 1 0/0/0/1 0/1"},
	 {NULL}},

	{"remote MX answering queued as is no filter; named filter only",
	 SUB "ABC123: client=pc[198.51.100.7], sasl_method=PLAIN, "
	     "sasl_username=g@example.fr\n"
	 QMGR "ABC123: from=<g@example.fr>, size=5, nrcpt=2 (queue active)\n"
	 SMTP "ABC123: to=<a@other.example>, relay=mx[192.0.2.1]:25" DLV
	      "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 9F9F9F9F)\n"
	 SMTP "ABC123: to=<b@other.example>, relay=127.0.0.1[127.0.0.1]:10030" DLV
	      "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 8E8E8E8E)\n"
	 QMGR "ABC123: removed\n",
	 {"ABC123 @07:00:02 sasl:g@example.fr <g@example.fr> 5 2 2/0/0/0 0/2"},
	 {NULL}, amavis, 1},

	{"inbound, bounces and messages from before the log: nothing",
	 QMGR "0123AB: from=<old@example.fr>, size=5, nrcpt=1 (queue active)\n"
	 SMTP "0123AB: to=<r@gmail.com>, relay=g[142.250.1.27]:25" DLV
	      "dsn=2.0.0, status=sent (250 ok)\n"
	 QMGR "0123AB: removed\n"
	 SMTPD "0456CD: client=mail-x.example.com[198.51.100.99]\n"
	 QMGR "0456CD: from=<x@example.com>, size=5, nrcpt=1 (queue active)\n"
	 LMTP "0456CD: to=<c@example.fr>, relay=mx1[private/dovecot-lmtp]" DLV
	      "dsn=2.0.0, status=sent (250 saved)\n"
	 QMGR "0456CD: removed\n"
	 CLEANUP "0789EF: message-id=<b@mx1>\n"
	 QMGR "0789EF: from=<>, size=3000, nrcpt=1 (queue active)\n"
	 QMGR "0789EF: removed\n"
	 SUB "NOQUEUE: reject: RCPT from pc[198.51.100.7]: 554 5.7.1 denied; "
	     "from=<a@example.fr> to=<x@y.example> proto=ESMTP helo=<pc> "
	     "sasl_method=PLAIN sasl_username=a@example.fr\n"
	 SUB "warning: unknown[203.0.113.9]: SASL LOGIN authentication failed: "
	     "UGFzc3dvcmQ6, sasl_username=victim@example.fr\n",
	 {NULL}},

	{"pickup, webmail on localhost, long ids, two hosts, in flight",
	 "Nov 23 07:00:01 mx1 postfix/pickup[17]: 4Lq2xV1cDbz9vYq: uid=33 "
	 "from=<www-data>\n"
	 QMGR "4Lq2xV1cDbz9vYq: from=<www-data@mx1.example.fr>, size=700, "
	      "nrcpt=1 (queue active)\n"
	 "2026-11-23T07:00:01Z mx2 postfix/smtpd[20]: 4Lq2xV1cDbz9vYq: "
	 "client=localhost[127.0.0.1], sasl_method=LOGIN, "
	 "sasl_username=web@example.fr\n"
	 "2026-11-23T07:00:02Z mx2 postfix/qmgr[21]: 4Lq2xV1cDbz9vYq: "
	 "from=<web@example.fr>, size=800, nrcpt=2 (queue active)\n"
	 "2026-11-23T07:00:03Z mx2 postfix/smtp[22]: 4Lq2xV1cDbz9vYq: "
	 "to=<q@gmail.com>, relay=none, delay=1, delays=0/0/1/0, dsn=4.4.1, "
	 "status=deferred (timeout)\n"
	 SMTP "4Lq2xV1cDbz9vYq: to=<r@gmail.com>, relay=g[142.250.1.27]:25" DLV
	      "dsn=2.0.0, status=sent (250 ok)\n"
	 QMGR "4Lq2xV1cDbz9vYq: removed\n"
	 SUB "4Lq3Bb2Xyzz1k7: client=pc[198.51.100.7], sasl_method=PLAIN, "
	     "sasl_username=h@example.fr\n",
	 {"4Lq2xV1cDbz9vYq @07:00:02 pickup:- <www-data@mx1.example.fr> 700 1 1/0/0/0 0/1"},
	 {"4Lq2xV1cDbz9vYq @07:00:02 sasl:web@example.fr <web@example.fr> 800 2 0/0/1/0 0/1 "
	  "inflight"}},

	{"alias expansion: orig_to pairs; unsent recipient of a hosted domain",
	 SUB "ACE135: client=pc[198.51.100.7], sasl_method=PLAIN, "
	     "sasl_username=i@example.fr\n"
	 QMGR "ACE135: from=<i@example.fr>, size=9, nrcpt=3 (queue active)\n"
	 LMTP "ACE135: to=<u1@example.fr>, orig_to=<team@example.fr>, "
	      "relay=mx1[private/dovecot-lmtp]" DLV "dsn=2.0.0, status=sent (ok)\n"
	 LMTP "ACE135: to=<u2@example.fr>, orig_to=<team@example.fr>, "
	      "relay=mx1[private/dovecot-lmtp]" DLV "dsn=2.0.0, status=sent (ok)\n"
	 "Nov 23 07:00:03 mx1 postfix/error[18]: ACE135: to=<gone@EXAMPLE.fr>, "
	 "relay=none" DLV "dsn=5.0.0, status=bounced (user unknown)\n"
	 SMTP "ACE135: to=<x@away.example>, relay=none" DLV
	      "dsn=4.4.1, status=deferred (timeout)\n"
	 QMGR "ACE135: removed\n",
	 {"ACE135 @07:00:02 sasl:i@example.fr <i@example.fr> 9 3 2/1/1/0 3/1"}},

	/* A real log: the pickup takes the id of a message that was removed
	 * and only waits for its filter's second hop.  The first message is
	 * emitted once, with the hop's verdict; the key is free for the
	 * pickup, which is in flight at the end (all that is held). */
	{"id reused by pickup while the message waits for its second hop",
	 PARIS "0 mail.example.net postfix/submission/smtpd[181027]: "
	 "C001881F4E: client=lfbn-lyo-1-156-66.w90-22.abo.wanadoo.fr"
	 "[90.22.66.171], sasl_method=PLAIN, "
	 "sasl_username=admin@atelier-leman.ch\n"
	 PARIS "1 mail.example.net postfix/cleanup[177237]: C001881F4E: "
	 "message-id=<c2143788-aaaa-b741-06fa-c2143788@atelier-leman.ch>\n"
	 PARIS "1 mail.example.net postfix/qmgr[1236]: C001881F4E: "
	 "from=<admin@atelier-leman.ch>, size=4600, nrcpt=1 (queue active)\n"
	 PARIS "3 mail.example.net postfix/smtp[180842]: C001881F4E: "
	 "to=<compta@skynet.be>, relay=127.0.0.1[127.0.0.1]:10024, delay=2.6, "
	 "delays=0.37/0/0/2.2, dsn=2.0.0, status=sent (250 2.0.0 from "
	 "MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 54AF781F55)\n"
	 PARIS "3 mail.example.net postfix/qmgr[1236]: C001881F4E: removed\n"
	 PARIS "4 mail.example.net postfix/pickup[3867]: C001881F4E: uid=33 "
	 "from=<www-data>\n"
	 PARIS "4 mail.example.net postfix/qmgr[1236]: C001881F4E: "
	 "from=<www-data@mail.example.net>, size=2900, nrcpt=1 (queue active)\n"
	 PARIS "4 mail.example.net postfix/smtpd[181044]: 54AF781F55: "
	 "client=localhost[127.0.0.1]\n"
	 PARIS "4 mail.example.net postfix/cleanup[177237]: 54AF781F55: "
	 "message-id=<c2143788-aaaa-b741-06fa-c2143788@atelier-leman.ch>\n"
	 PARIS "4 mail.example.net postfix/qmgr[1236]: 54AF781F55: "
	 "from=<admin@atelier-leman.ch>, size=5322, nrcpt=1 (queue active)\n"
	 PARIS "6 mail.example.net postfix/smtp[180850]: 54AF781F55: "
	 "to=<compta@skynet.be>, relay=mx.skynet.be[195.238.20.10]:25, "
	 "delay=1.9, delays=0.1/0/0.5/1.3, dsn=2.0.0, status=sent (250 2.0.0 "
	 "ok 1725453326 qp 31094)\n"
	 PARIS "6 mail.example.net postfix/qmgr[1236]: 54AF781F55: removed\n",
	 {"C001881F4E @14:34:21 sasl:admin@atelier-leman.ch "
	  "<admin@atelier-leman.ch> 4600 1 1/0/0/0 0/1"},
	 {"C001881F4E @14:34:24 pickup:- <www-data@mail.example.net> 2900 1 "
	  "0/0/0/0 0/0 inflight"},
	 NULL, 0, 1, 1},

	/* A finished root takes its second hops with it.  Kept, they pointed
	 * at the root's slot, which the next message took: when that one's
	 * filter reused the hop's id, the stale hop passed for its link and
	 * the bounce was lost (counted as sent by the filter). */
	{"hop id reused after its root finished: the new hop counts",
	 SUB "AD1001: client=pc[198.51.100.7], sasl_method=PLAIN, "
	     "sasl_username=k@example.fr\n"
	 QMGR "AD1001: from=<k@example.fr>, size=70, nrcpt=1 (queue active)\n"
	 SMTPD "BE2002: client=localhost[127.0.0.1]\n"
	 QMGR "BE2002: from=<k@example.fr>, size=80, nrcpt=1 (queue active)\n"
	 SMTP "BE2002: to=<r@gmail.com>, relay=g[142.250.1.27]:25" DLV
	      "dsn=2.0.0, status=sent (250 ok)\n"
	 QMGR "BE2002: removed\n"
	 SMTP "AD1001: to=<r@gmail.com>, " AMAVIS DLV
	      "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as BE2002)\n"
	 QMGR "AD1001: removed\n"
	 "Nov 23 07:01:01 mx1 postfix/submission/smtpd[10]: CF3003: "
	 "client=pc[198.51.100.7], sasl_method=PLAIN, "
	 "sasl_username=l@example.fr\n"
	 "Nov 23 07:01:02 mx1 postfix/qmgr[13]: CF3003: from=<l@example.fr>, "
	 "size=90, nrcpt=1 (queue active)\n"
	 "Nov 23 07:01:03 mx1 postfix/smtp[14]: CF3003: to=<x@nowhere.example>, "
	 AMAVIS DLV "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as BE2002)\n"
	 "Nov 23 07:01:03 mx1 postfix/qmgr[13]: CF3003: removed\n"
	 "Nov 23 07:01:03 mx1 postfix/smtpd[11]: BE2002: "
	 "client=localhost[127.0.0.1]\n"
	 "Nov 23 07:01:03 mx1 postfix/qmgr[13]: BE2002: from=<l@example.fr>, "
	 "size=99, nrcpt=1 (queue active)\n"
	 "Nov 23 07:01:04 mx1 postfix/smtp[14]: BE2002: to=<x@nowhere.example>, "
	 "relay=n[192.0.2.5]:25" DLV "dsn=5.1.1, status=bounced (550 no)\n"
	 "Nov 23 07:01:04 mx1 postfix/qmgr[13]: BE2002: removed\n",
	 {"AD1001 @07:00:02 sasl:k@example.fr <k@example.fr> 70 1 1/0/0/0 0/1",
	  "CF3003 @07:01:02 sasl:l@example.fr <l@example.fr> 90 1 0/1/0/0 0/1"},
	 {NULL}, NULL, 0, 1, 0},

	/* What is held at the end: a root waiting for its hop still in the
	 * queue (2), a loopback message in its link window (1), an inbound
	 * message in the queue (1); the message finished through its filter
	 * leaves nothing, its removed hop included. */
	{"held at the end: only messages in flight or in their link window",
	 SUB "A11111: client=pc[198.51.100.7], sasl_method=PLAIN, "
	     "sasl_username=m@example.fr\n"
	 QMGR "A11111: from=<m@example.fr>, size=5, nrcpt=1 (queue active)\n"
	 SMTP "A11111: to=<r@slow.example>, " AMAVIS DLV
	      "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as B11111)\n"
	 QMGR "A11111: removed\n"
	 SMTPD "B11111: client=localhost[127.0.0.1]\n"
	 QMGR "B11111: from=<m@example.fr>, size=6, nrcpt=1 (queue active)\n"
	 SMTP "B11111: to=<r@slow.example>, relay=none" DLV
	      "dsn=4.4.1, status=deferred (timeout)\n"
	 SUB "A22222: client=pc[198.51.100.7], sasl_method=PLAIN, "
	     "sasl_username=n@example.fr\n"
	 QMGR "A22222: from=<n@example.fr>, size=7, nrcpt=1 (queue active)\n"
	 SMTP "A22222: to=<r@gmail.com>, " AMAVIS DLV
	      "dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as B22222)\n"
	 SMTPD "B22222: client=localhost[127.0.0.1]\n"
	 QMGR "B22222: from=<n@example.fr>, size=8, nrcpt=1 (queue active)\n"
	 SMTP "B22222: to=<r@gmail.com>, relay=g[142.250.1.27]:25" DLV
	      "dsn=2.0.0, status=sent (250 ok)\n"
	 QMGR "B22222: removed\n"
	 QMGR "A22222: removed\n"
	 SMTPD "C33333: client=localhost[127.0.0.1]\n"
	 QMGR "C33333: from=<n@example.fr>, size=9, nrcpt=1 (queue active)\n"
	 SMTP "C33333: to=<r@gmail.com>, relay=g[142.250.1.27]:25" DLV
	      "dsn=2.0.0, status=sent (250 ok)\n"
	 QMGR "C33333: removed\n"
	 SMTPD "D44444: client=mail-x.example.com[198.51.100.99]\n"
	 QMGR "D44444: from=<x@example.com>, size=5, nrcpt=1 (queue active)\n",
	 {"A22222 @07:00:02 sasl:n@example.fr <n@example.fr> 7 1 1/0/0/0 0/1"},
	 {"A11111 @07:00:02 sasl:m@example.fr <m@example.fr> 5 1 0/0/1/0 0/1 "
	  "inflight"},
	 NULL, 0, 1, 4},
};

static void test_scenarios(void **state)
{
	struct pflog_line *l = malloc(sizeof(*l));

	(void)state;
	assert_non_null(l);
	for (size_t s = 0; s < sizeof(scen) / sizeof(scen[0]); s++) {
		const struct scenario *sc = &scen[s];
		struct pftrack_config cfg = {.emit = collect,
					     .filter_relays = sc->filters,
					     .n_filter_relays = sc->nfilters};
		struct pftrack *t = pftrack_new(&cfg);
		int n = 0;

		ngot = 0;
		feed(t, l, sc->log);
		for (n = 0; n < 8 && sc->want[n]; n++)
			if (n >= ngot || strcmp(got[n], sc->want[n]) != 0)
				fail_msg("%s: message %d:\n want %s\n got  %s",
					 sc->name, n, sc->want[n],
					 n < ngot ? got[n] : "(none)");
		if (ngot != n)
			fail_msg("%s: %d messages, want %d (extra: %s)",
				 sc->name, ngot, n, got[n]);
		ngot = 0;
		pftrack_in_flight(t, collect, NULL);
		for (n = 0; n < 4 && sc->inflight[n]; n++)
			if (n >= ngot || strcmp(got[n], sc->inflight[n]) != 0)
				fail_msg("%s: in flight %d:\n want %s\n got  %s",
					 sc->name, n, sc->inflight[n],
					 n < ngot ? got[n] : "(none)");
		if (ngot != n)
			fail_msg("%s: %d in flight, want %d (extra: %s)",
				 sc->name, ngot, n, got[n]);
		if (sc->check_held && pftrack_size(t) != sc->held)
			fail_msg("%s: %zu messages held at the end, want %zu",
				 sc->name, pftrack_size(t), sc->held);
		pftrack_free(t);
	}
	free(l);
}

/* Expiry closes what never finished; the table ends empty. */
static void test_expire(void **state)
{
	struct pflog_line *l = malloc(sizeof(*l));
	struct pftrack_config cfg = {.emit = collect};
	struct pftrack *t = pftrack_new(&cfg);

	(void)state;
	ngot = 0;
	feed(t, l, SUB "AB12CD: client=pc[198.51.100.7], sasl_method=PLAIN, "
		       "sasl_username=j@example.fr\n"
		   QMGR "AB12CD: from=<j@example.fr>, size=1, nrcpt=1 "
			"(queue active)\n"
		   SUB "CD34EF: client=pc[198.51.100.7], sasl_method=PLAIN, "
		       "sasl_username=j@example.fr\n"
		   SMTPD "EF56AB: client=x[192.0.2.1]\n");
	assert_int_equal(pftrack_size(t), 3);
	pftrack_expire(t, pflog_civil_to_epoch(2026, 12, 1, 0, 0, 0) * 1000000,
		       INT64_C(7) * 86400 * 1000000);
	assert_int_equal(ngot, 1);
	assert_string_equal(got[0], "AB12CD @07:00:02 sasl:j@example.fr <j@example.fr> 1 1 "
				    "0/0/0/0 0/0 closed");
	assert_int_equal(pftrack_size(t), 0);
	pftrack_free(t);
	pftrack_free(NULL);
	free(l);
}

/* Many messages in flight and finished: memory follows what is in flight. */
static void test_bounded(void **state)
{
	struct pflog_line *l = malloc(sizeof(*l));
	struct pftrack_config cfg = {.emit = collect};
	struct pftrack *t = pftrack_new(&cfg);
	char line[512];

	(void)state;
	for (int i = 0; i < 20000; i++) {
		static const char *const pre[] = {SUB, QMGR, SMTP, QMGR};
		static const char *const post[] = {
			": client=pc[198.51.100.7], sasl_method=PLAIN, "
			"sasl_username=k@example.fr",
			": from=<k@example.fr>, size=1, nrcpt=1 (queue active)",
			": to=<r@gmail.com>, relay=g[142.250.1.27]:25" DLV
			"dsn=2.0.0, status=sent (250 ok)",
			": removed"};
		for (int k = 0; k < 4; k++) {
			int n = snprintf(line, sizeof(line), "%s%06X%s", pre[k],
					 0x100000 + i, post[k]);
			ngot = 0;
			pflog_parse(l, line, (size_t)n, PFLOG_FMT_AUTO);
			pftrack_feed(t, l, (struct pflog_str){"h", 1}, i);
		}
		assert_int_equal(ngot, 1);
		assert_int_equal(pftrack_size(t), 0);
	}
	pftrack_free(t);
	free(l);
}

static char *slurp(FILE *f)
{
	size_t n = 0, cap = 1 << 16, k;
	char *b = malloc(cap);

	assert_non_null(b);
	while ((k = fread(b + n, 1, cap - n - 1, f)) > 0) {
		n += k;
		if (cap - n - 1 == 0) {
			b = realloc(b, cap *= 2);
			assert_non_null(b);
		}
	}
	b[n] = 0;
	return b;
}

/* The filter corpus log: its one message finishes through two hops, and
 * then nothing is held (the hops used to stay until expiry, 7 days). */
static void test_filter_log_held(void **state)
{
	struct pflog_line *l = malloc(sizeof(*l));
	struct pftrack_config cfg = {.emit = collect};
	struct pftrack *t = pftrack_new(&cfg);
	FILE *f = fopen("tests/fuzz/corpus/pftrack/filter.log", "r");
	char *log;

	(void)state;
	assert_non_null(f);
	log = slurp(f);
	fclose(f);
	ngot = 0;
	feed(t, l, log);
	assert_int_equal(ngot, 1);
	assert_string_equal(got[0], "CCC333 @07:00:02 sasl:e@example.fr "
				    "<e@example.fr> 50 2 1/0/0/0 0/1");
	assert_int_equal(pftrack_size(t), 0);
	pftrack_free(t);
	free(log);
	free(l);
}

struct keyev {
	char key[96]; /* host NUL-free + ' ' + queue id */
	size_t line;
	int removed;
	int64_t when;
};

static int cmp_keyev(const void *a, const void *b)
{
	const struct keyev *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->line > y->line) - (x->line < y->line);
}

static void count_only(void *arg, const struct pftrack_msg *m)
{
	(void)m;
	++*(size_t *)arg;
}

/* A generated week-end of traffic through a content filter (if genpflog is
 * built): at the end the tracker holds about what the log leaves in the
 * queue.  Bound: the ids whose last line is not "removed" (each may hold
 * a removed root or hop with it) plus those removed within the link
 * window of the end.  Before hops were freed with their root, thousands
 * of removed second hops stayed. */
static void test_generated_held(void **state)
{
	const char *gen = "build/release/bench/genpflog";
	struct pflog_line *l = malloc(sizeof(*l));
	size_t emitted = 0, nev = 0, cap = 1 << 16, open = 0, recent = 0;
	struct pftrack_config cfg = {.emit = count_only, .emit_arg = &emitted};
	struct pftrack *t;
	struct keyev *ev;
	int64_t end = 0;
	FILE *f;
	char *log, *p;

	(void)state;
	if (access(gen, X_OK) != 0) {
		print_message("genpflog not built: skipped\n");
		free(l);
		return;
	}
	f = popen("build/release/bench/genpflog --registry "
		  "examples/registry.json --tariff examples/tariff.json "
		  "--from 2026-09-01 --to 2026-09-03 --filter --format rfc3339 "
		  "2>/dev/null", "r");
	assert_non_null(f);
	log = slurp(f);
	assert_int_equal(pclose(f), 0);
	ev = malloc(cap * sizeof(*ev));
	assert_non_null(ev);
	t = pftrack_new(&cfg);
	for (p = log; *p;) {
		char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		pflog_parse(l, p, n, PFLOG_FMT_AUTO);
		p += n + (e != NULL);
		if (l->kind < PFLOG_CLIENT || l->qid.n == 0)
			continue;
		assert_true(l->time.has_zone);
		pftrack_feed(t, l, (struct pflog_str){NULL, 0},
			     l->time.epoch_us);
		end = l->time.epoch_us;
		if (nev == cap) {
			ev = realloc(ev, (cap *= 2) * sizeof(*ev));
			assert_non_null(ev);
		}
		snprintf(ev[nev].key, sizeof(ev[nev].key), "%.*s %.*s",
			 (int)l->host.n, l->host.p, (int)l->qid.n, l->qid.p);
		ev[nev].line = nev;
		ev[nev].removed = l->kind == PFLOG_REMOVED;
		ev[nev].when = l->time.epoch_us;
		nev++;
	}
	qsort(ev, nev, sizeof(*ev), cmp_keyev);
	for (size_t i = 0; i < nev; i++) {
		if (i + 1 < nev && strcmp(ev[i].key, ev[i + 1].key) == 0)
			continue; /* the last line of each id decides */
		if (!ev[i].removed)
			open++;
		else if (ev[i].when + INT64_C(600) * 1000000 >= end)
			recent++;
	}
	print_message("%zu lines, %zu messages, %zu held at the end "
		      "(%zu ids still queued, %zu removed within the window)\n",
		      nev, emitted, pftrack_size(t), open, recent);
	assert_true(emitted > 1000);
	assert_true(pftrack_size(t) <= 2 * open + recent);
	pftrack_free(t);
	free(ev);
	free(log);
	free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scenarios),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_filter_log_held),
		cmocka_unit_test(test_generated_held),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
