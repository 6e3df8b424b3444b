/*
 * quota — soft-quota states and notices (see quota.h).
 *
 * The ratios are micro-units, so "count >= 0.8 x quota" is evaluated as
 * count x 10^6 >= warn_ratio x quota in 128 bits: no rounding, no
 * overflow, whatever the grid says.  The notice text is built here so that
 * it can be tested without a mail system; cmd_quota.c hands it to
 * sendmail.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "money.h"
#include "quota.h"

typedef __int128 i128;

int quota_state_of(int64_t count, int64_t quota, int64_t warn_ratio,
		   int64_t block_ratio, enum quota_state *st, struct diag *d)
{
	i128 c, q;

	*st = QUOTA_OK;
	if (count < 0 || quota < 0 || warn_ratio < 0 || block_ratio < 0) {
		diag_add(d, "quota: negative input (count %lld, quota %lld,"
			    " warn ratio %lld, block ratio %lld)",
			 (long long)count, (long long)quota,
			 (long long)warn_ratio, (long long)block_ratio);
		return -1;
	}
	if (count == 0) {
		return 0;
	}
	c = (i128)count * MONEY_SCALE;
	q = quota;
	if (c > (i128)block_ratio * q) {
		*st = QUOTA_BLOCKED;
	} else if (count > quota) {
		*st = QUOTA_OVER;
	} else if (c >= (i128)warn_ratio * q) {
		*st = QUOTA_WARN;
	}
	return 0;
}

const char *quota_state_name(enum quota_state st)
{
	switch (st) {
	case QUOTA_OK:
		return "ok";
	case QUOTA_WARN:
		return "warn";
	case QUOTA_OVER:
		return "over";
	case QUOTA_BLOCKED:
		return "blocked";
	}
	abort();
}

const struct tariff_plan *quota_advice(const struct tariff *t,
				       int64_t current_quota, int64_t count)
{
	const struct tariff_plan *best = NULL, *largest = NULL;

	for (size_t i = 0; i < t->nplans; i++) {
		const struct tariff_plan *p = &t->plans[i];

		if (p->outbound_per_day <= current_quota) {
			continue;
		}
		if (!largest || p->outbound_per_day > largest->outbound_per_day) {
			largest = p;
		}
		if (p->outbound_per_day < count) {
			continue;
		}
		if (!best || p->outbound_per_day < best->outbound_per_day ||
		    (p->outbound_per_day == best->outbound_per_day &&
		     p->monthly_fee < best->monthly_fee)) {
			best = p;
		}
	}
	return best ? best : largest;
}

/* A growing string (xrealloc aborts on OOM). */
struct sbuf {
	char *s;
	size_t len, cap;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = xreallocarray(b->s, b->cap, 1);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	sb_add(b, s, strlen(s));
	free(s);
}

/*
 * RFC 2047 Q-encoding of a UTF-8 header text, in encoded words of at most
 * 75 characters folded onto continuation lines, never splitting a UTF-8
 * sequence between two words.
 */
static void sb_add_q(struct sbuf *b, const char *text)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)text;
	size_t word = 0;

	sb_add(b, "=?UTF-8?Q?", 10);
	for (; *p; p++) {
		char enc[3];
		size_t n;

		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9')) {
			enc[0] = (char)*p;
			n = 1;
		} else if (*p == ' ') {
			enc[0] = '_';
			n = 1;
		} else {
			enc[0] = '=';
			enc[1] = hex[*p >> 4];
			enc[2] = hex[*p & 15];
			n = 3;
		}
		/* 12 = "=?UTF-8?Q?" + "?=": start a new word before a
		 * character that is not a UTF-8 continuation byte. */
		if (word + n > 75 - 12 - 9 && (*p & 0xC0) != 0x80) {
			sb_add(b, "?=\n =?UTF-8?Q?", 14);
			word = 0;
		}
		sb_add(b, enc, n);
		word += n;
	}
	sb_add(b, "?=", 2);
}

static int64_t clamp64(i128 v)
{
	return v > INT64_MAX ? INT64_MAX : v < INT64_MIN ? INT64_MIN
							  : (int64_t)v;
}

char *quota_notice_format(const struct quota_notice *n)
{
	int fr = n->lang && !strcmp(n->lang, "fr");
	int over = n->level != QUOTA_WARN;
	const char *unit = n->unit == TARIFF_UNIT_MESSAGE ? "messages"
		: fr ? "destinataires" : "recipients";
	struct sbuf b = {NULL, 0, 0};
	char warn[MONEY_FMT_MAX], block[MONEY_FMT_MAX];
	int64_t pct = clamp64(n->quota ? (i128)n->count * 100 / n->quota : 0);
	int64_t block_at = clamp64((i128)n->block_ratio * n->quota /
				   MONEY_SCALE);
	char *subject;

	/* The tariff bounds ratios below only: clamp, never overflow. */
	money_format(warn, clamp64((i128)n->warn_ratio * 100), 0);
	money_format(block, n->block_ratio, 1);
	if (fr) {
		subject = xasprintf("%s (%s, %s)", over
				    ? "Quota d'envoi journalier dépassé"
				    : "Quota d'envoi journalier bientôt atteint",
				    n->customer_id, n->day);
	} else {
		subject = xasprintf("%s (%s, %s)", over
				    ? "Daily sending quota exceeded"
				    : "Daily sending quota nearly reached",
				    n->customer_id, n->day);
	}
	if (n->from) {
		sb_printf(&b, "From: %s\n", n->from);
	}
	sb_printf(&b, "To: %s\nSubject: ", n->to);
	sb_add_q(&b, subject);
	free(subject);
	sb_printf(&b, "\nMIME-Version: 1.0\n"
		      "Content-Type: text/plain; charset=UTF-8\n"
		      "Content-Transfer-Encoding: 8bit\n"
		      "Auto-Submitted: auto-generated\n"
		      "X-Releve-Quota: %s %s %s\n\n",
		  n->customer_id, n->day, quota_state_name(n->level));
	/* One text in two languages: each paragraph picks its literal (the
	 * compiler checks both against the same arguments). */
	sb_printf(&b, fr ? "Bonjour,\n\n"
			   "Le %s, le compte %s (%s) a envoyé %lld %s pour"
			   " un quota journalier de %lld (formule %s"
			   " « %s »), soit %lld %% du quota.\n\n"
			 : "Hello,\n\n"
			   "On %s, account %s (%s) sent %lld %s against a"
			   " daily quota of %lld (plan %s \"%s\"), that is"
			   " %lld %% of the quota.\n\n",
		  n->day, n->customer_id, n->customer_name,
		  (long long)n->count, unit, (long long)n->quota,
		  n->plan_code, n->plan_name, (long long)pct);
	if (over) {
		sb_printf(&b, fr ? "Le quota du jour est dépassé.  Les %d"
				   " premiers jours de dépassement du mois"
				   " sont tolérés ; au-delà, l'excédent est"
				   " facturé.  Au-delà de %s fois le quota"
				   " (%lld %s), l'envoi est suspendu jusqu'à"
				   " minuit.\n\n"
				 : "Today's quota is exceeded.  The first"
				   " %d over-quota days of the month are"
				   " free; the excess of later ones is"
				   " billed.  Beyond %s times the quota"
				   " (%lld %s), sending is suspended until"
				   " midnight.\n\n",
			  n->tolerated_days, block, (long long)block_at, unit);
	} else {
		sb_printf(&b, fr ? "Ce message vous prévient dès %s %% du"
				   " quota.  Au-delà du quota, les %d"
				   " premiers jours de dépassement du mois"
				   " sont tolérés, l'excédent des suivants"
				   " est facturé.\n\n"
				 : "This notice is sent from %s %% of the"
				   " quota.  Over the quota, the first %d"
				   " over-quota days of the month are free;"
				   " the excess of later ones is billed.\n\n",
			  warn, n->tolerated_days);
	}
	if (n->advice) {
		sb_printf(&b, fr ? "Si ce volume est habituel, la formule"
				   " %s « %s » (%lld %s par jour) serait"
				   " mieux adaptée.\n\n"
				 : "If this volume is usual for you, plan %s"
				   " \"%s\" (%lld %s a day) would fit"
				   " better.\n\n",
			  n->advice->code, n->advice->name,
			  (long long)n->advice->outbound_per_day, unit);
	}
	sb_printf(&b, "%s", fr ? "Ce message est envoyé automatiquement, au"
				 " plus une fois par jour.\n"
			       : "This message is sent automatically, at"
				 " most once a day.\n");
	return b.s;
}
