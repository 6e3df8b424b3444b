/*
 * rater — rate one customer's month; see rater.h for the data.
 *
 * The rules (issue 6, which refines DESIGN.md "Billing rules"):
 *
 *   fee      per subscription: fee x A / D (A its active days, D the
 *            month's days);
 *   storage  per subscription: avg = (sum of the daily storage over its
 *            active days) / A, exact; excess = avg - included; when
 *            excess > 0 and the tariff has add-on blocks:
 *            blocks = ceil(excess / block), charged blocks x fee x A / D;
 *   outbound per month: each day's count is judged against the quota of
 *            the plan active that day; the over-quota days are taken in
 *            date order, the first tolerated_days are free, the excess of
 *            the later ones is summed and charged excess x price / 1000
 *            (a line even when the price is 0).  Days with traffic and no
 *            subscription are reported, never billed.
 *
 * Every line is one exact rational rounded once by
 * money_mul_div_round_cents() (the project's only rounding, half away
 * from zero); VAT per rate is rounded once on the sum of the nets at that
 * rate.  Intermediates that could exceed int64 are 128-bit; whatever does
 * not fit in the result is an error added to the diag, never a wrap.
 * Inputs are checked first and every problem is reported, not only the
 * first.
 */
#include "rater.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/date.h"
#include "common/size.h"
#include "common/xalloc.h"
#include "money.h"

__extension__ typedef __int128 i128;

#define PERCENT_MAX (100 * (int64_t)MONEY_SCALE) /* 100 % */

static const char *const month_en[] = { "January", "February", "March",
					"April",   "May",      "June",
					"July",	   "August",   "September",
					"October", "November", "December" };

void rate_input_set_vat(struct rate_input *in, int64_t rate, const char *label)
{
	for (int k = 0; k < RATE_NKINDS; k++) {
		in->vat[k].rate = rate;
		in->vat[k].label = label;
	}
}

const char *rate_kind_name(enum rate_kind k)
{
	switch (k) {
	case RATE_FEE:
		return "fee";
	case RATE_STORAGE:
		return "storage";
	case RATE_OUTBOUND:
		return "outbound";
	}
	return "?";
}

const char *rate_unit_name(enum rate_unit u)
{
	switch (u) {
	case RATE_UNIT_MONTH:
		return "month";
	case RATE_UNIT_BLOCK_MONTH:
		return "block-month";
	case RATE_UNIT_1000_RCPT:
		return "1000-recipients";
	case RATE_UNIT_1000_MESSAGE:
		return "1000-messages";
	}
	return "?";
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int rate_day_of_month(int year, int month, const char *date, int *day)
{
	int y, m, d;

	*day = 0;
	if (!date || date_parse(date, &y, &m, &d) != 0 || month < 1 ||
	    month > 12) {
		return -1;
	}
	/* Years 1900..9999 keep the difference far inside int. */
	*day =
	    (int)(days_from_civil(y, m, d) - days_from_civil(year, month, 1)) +
	    1;
	return 0;
}

void rate_result_free(struct rate_result *r)
{
	if (!r) {
		return;
	}
	free(r->lines);
	free(r->vat);
	memset(r, 0, sizeof(*r));
}

static int64_t gcd64(int64_t a, int64_t b)
{
	while (b != 0) {
		int64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/*
 * Set the quantity num/den (num >= 0, den > 0) of l, reduced, and its
 * decimal form.  The 6-place decimal reuses the one rounding function:
 * 10^10 micro-"units" x num / den / 10^4 "cents" is 10^6 x num / den
 * rounded half-up, i.e. the quantity in micro-units.
 */
static int set_quantity(struct rate_line *l, int64_t num, int64_t den)
{
	int64_t g = gcd64(num, den);

	l->qty_num = num / g;
	l->qty_den = den / g;
	l->qty_exact = ((i128)l->qty_num * MONEY_SCALE) % l->qty_den == 0;
	return money_mul_div_round_cents((int64_t)10000 * MONEY_SCALE,
					 l->qty_num, l->qty_den, &l->quantity);
}

static struct rate_line *add_line(struct rate_result *r, size_t *cap)
{
	struct rate_line *l;

	if (r->nlines == *cap) {
		*cap = *cap ? 2 * *cap : 8;
		r->lines = xreallocarray(r->lines, *cap, sizeof(*r->lines));
	}
	l = &r->lines[r->nlines++];
	memset(l, 0, sizeof(*l));
	return l;
}

/* The active days of s in a month of D days: first..last, their count. */
static int active_range(const struct rate_sub *s, int D, int *first, int *last)
{
	*first = s->start < 1 ? 1 : s->start;
	*last = s->end > D ? D : s->end - 1;
	return *last >= *first ? *last - *first + 1 : 0;
}

/* Check the input; every problem goes to d.  Fills day_sub[1..D] with
 * the index of the subscription active that day, or -1. */
static int check_input(const struct rate_input *in, int D, int *day_sub,
		       const struct tariff_plan **plan_of, struct diag *d)
{
	int bad = 0;

	for (int k = 0; k < RATE_NKINDS; k++) {
		if (in->vat[k].rate < 0 || in->vat[k].rate > PERCENT_MAX) {
			char b[MONEY_FMT_MAX];

			diag_add(d,
				 "VAT rate for %s lines: %s %% is outside "
				 "0..100 %%",
				 rate_kind_name((enum rate_kind)k),
				 money_format(b, in->vat[k].rate, 2));
			bad = 1;
		}
	}
	if (in->ndays != D || (D > 0 && !in->days)) {
		diag_add(d, "%04d-%02d has %d days, usage given for %d",
			 in->year, in->month, D, in->days ? in->ndays : 0);
		bad = 1;
	} else {
		for (int i = 0; i < D; i++) {
			if (in->days[i].outbound < 0) {
				diag_add(d,
					 "%04d-%02d-%02d: negative outbound "
					 "count %lld",
					 in->year, in->month, i + 1,
					 (long long)in->days[i].outbound);
				bad = 1;
			}
			if (in->days[i].storage_bytes < 0) {
				diag_add(d,
					 "%04d-%02d-%02d: negative storage "
					 "%lld",
					 in->year, in->month, i + 1,
					 (long long)in->days[i].storage_bytes);
				bad = 1;
			}
		}
	}
	for (int day = 0; day <= RATE_MAX_DAYS; day++) {
		day_sub[day] = -1;
	}
	if (in->nsubs > 0 && !in->subs) {
		diag_add(d, "subscriptions missing");
		return -1;
	}
	for (size_t i = 0; i < in->nsubs; i++) {
		const struct rate_sub *s = &in->subs[i];
		int first, last;

		plan_of[i] =
		    s->plan ? tariff_plan_find(in->tariff, s->plan) : NULL;
		if (!plan_of[i]) {
			diag_add(d,
				 "subscription %zu: plan \"%s\" is not in "
				 "tariff %s",
				 i + 1, s->plan ? s->plan : "(none)",
				 in->tariff->version ? in->tariff->version
						     : "?");
			bad = 1;
		}
		if (s->end <= s->start) {
			diag_add(d,
				 "subscription %zu: end (day %d) is not "
				 "after its start (day %d)",
				 i + 1, s->end, s->start);
			bad = 1;
			continue;
		}
		if (active_range(s, D, &first, &last) == 0) {
			continue;
		}
		for (int day = first; day <= last; day++) {
			if (day_sub[day] >= 0) {
				diag_add(d,
					 "subscriptions %d and %zu overlap "
					 "on %04d-%02d-%02d",
					 day_sub[day] + 1, i + 1, in->year,
					 in->month, day);
				bad = 1;
				break;
			}
			day_sub[day] = (int)i;
		}
	}
	return bad ? -1 : 0;
}

/* Fee and storage lines of subscription i (active first..last). */
static int rate_sub_lines(const struct rate_input *in, size_t i,
			  const struct tariff_plan *p, int first, int last,
			  int D, struct rate_result *r, size_t *cap,
			  struct diag *d)
{
	const struct tariff *t = in->tariff;
	int A = last - first + 1;
	struct rate_line *l = add_line(r, cap);
	i128 sum = 0, excess, per_block;
	int64_t blocks, qty;

	l->kind = RATE_FEE;
	l->plan = p;
	l->sub = i;
	l->first_day = first;
	l->last_day = last;
	l->active_days = A;
	l->days_in_month = D;
	l->unit = RATE_UNIT_MONTH;
	l->unit_price = p->monthly_fee;
	l->vat = in->vat[RATE_FEE];
	if (set_quantity(l, A, D) != 0 ||
	    money_mul_div_round_cents(p->monthly_fee, A, D, &l->net) != 0) {
		diag_add(d, "plan %s: fee %lld x %d/%d does not fit", p->code,
			 (long long)p->monthly_fee, A, D);
		return -1;
	}

	if (!t->has_addon || t->addon_block <= 0) {
		return 0; /* no blocks to sell: the advice says what fits */
	}
	for (int day = first; day <= last; day++) {
		sum += in->days[day - 1].storage_bytes;
	}
	/* avg - included > 0  <=>  sum - included x A > 0, all exact. */
	excess = sum - (i128)p->storage_included * A;
	if (excess <= 0) {
		return 0;
	}
	per_block = (i128)t->addon_block * A;
	excess = (excess + per_block - 1) / per_block; /* ceil */
	if (excess > INT64_MAX ||
	    __builtin_mul_overflow((int64_t)excess, A, &qty)) {
		diag_add(d, "plan %s: storage excess too large", p->code);
		return -1;
	}
	blocks = (int64_t)excess;
	l = add_line(r, cap);
	l->kind = RATE_STORAGE;
	l->plan = p;
	l->sub = i;
	l->first_day = first;
	l->last_day = last;
	l->active_days = A;
	l->days_in_month = D;
	l->blocks = blocks;
	l->unit = RATE_UNIT_BLOCK_MONTH;
	l->unit_price = t->addon_monthly_fee;
	l->vat = in->vat[RATE_STORAGE];
	if (set_quantity(l, qty, D) != 0 ||
	    money_mul_div_round_cents(t->addon_monthly_fee, qty, D, &l->net) !=
		0) {
		diag_add(d, "plan %s: %lld storage blocks x %d/%d do not fit",
			 p->code, (long long)blocks, A, D);
		return -1;
	}
	return 0;
}

/* Walk the month for the outbound line and the usage summary. */
static int rate_outbound(const struct rate_input *in, int D, const int *day_sub,
			 const struct tariff_plan *const *plan_of,
			 struct rate_result *r, size_t *cap, struct diag *d)
{
	const struct tariff *t = in->tariff;
	struct rate_usage *u = &r->usage;
	struct rate_line *l;

	u->days_in_month = D;
	u->tolerated_days = t->tolerated_days;
	for (int day = 1; day <= D; day++) {
		const struct rate_day *x = &in->days[day - 1];
		const struct tariff_plan *p;
		int64_t over;

		u->storage_missing_days += x->storage_missing != 0;
		if (money_add(u->outbound_total, x->outbound,
			      &u->outbound_total) != 0) {
			diag_add(d, "outbound total of %04d-%02d does not fit",
				 in->year, in->month);
			return -1;
		}
		if (day_sub[day] < 0) {
			if (x->outbound > 0) {
				u->unsubscribed_days++;
				/* <= outbound_total: cannot overflow */
				u->unsubscribed_outbound += x->outbound;
			}
			continue;
		}
		u->covered_days++;
		if (money_add(u->storage_sum, x->storage_bytes,
			      &u->storage_sum) != 0) {
			diag_add(d, "storage sum of %04d-%02d does not fit",
				 in->year, in->month);
			return -1;
		}
		p = plan_of[day_sub[day]];
		if (x->outbound <= p->outbound_per_day) {
			continue;
		}
		over = x->outbound - p->outbound_per_day;
		/* In date order: the first tolerated_days are free. */
		if (++u->over_quota_days <= t->tolerated_days) {
			u->tolerated_used++;
			u->tolerated_excess += over; /* <= total */
		} else {
			u->billed_days++;
			u->billed_excess += over;
		}
	}
	u->storage_avg = u->covered_days ? u->storage_sum / u->covered_days : 0;
	if (u->billed_days == 0) {
		return 0;
	}
	l = add_line(r, cap);
	l->kind = RATE_OUTBOUND;
	l->first_day = 1;
	l->last_day = D;
	l->active_days = u->covered_days;
	l->days_in_month = D;
	l->excess = u->billed_excess;
	l->unit = t->unit == TARIFF_UNIT_MESSAGE ? RATE_UNIT_1000_MESSAGE
						 : RATE_UNIT_1000_RCPT;
	l->unit_price = t->overage_per_1000;
	l->vat = in->vat[RATE_OUTBOUND];
	if (set_quantity(l, u->billed_excess, 1000) != 0 ||
	    money_mul_div_round_cents(t->overage_per_1000, u->billed_excess,
				      1000, &l->net) != 0) {
		diag_add(d, "outbound excess %lld x %lld/1000 does not fit",
			 (long long)u->billed_excess,
			 (long long)t->overage_per_1000);
		return -1;
	}
	return 0;
}

/* a before b by (fee, code). */
static int cheaper(const struct tariff_plan *a, const struct tariff_plan *b)
{
	if (a->monthly_fee != b->monthly_fee) {
		return a->monthly_fee < b->monthly_fee;
	}
	return strcmp(a->code, b->code) < 0;
}

/*
 * The cheapest plan whose included storage covers the month's average
 * storage (over the covered days) and whose quota leaves at most
 * tolerated_days over-quota days among the covered days; else the
 * largest plan (the most expensive; ties: the last code).
 */
static void advise(const struct rate_input *in, int D, const int *day_sub,
		   struct rate_result *r)
{
	const struct tariff *t = in->tariff;
	const struct tariff_plan *best = NULL, *largest = NULL;

	for (size_t i = 0; i < t->nplans; i++) {
		const struct tariff_plan *p = &t->plans[i];
		int over = 0;

		if (!largest || cheaper(largest, p)) {
			largest = p;
		}
		if ((i128)p->storage_included * r->usage.covered_days <
		    r->usage.storage_sum) {
			continue;
		}
		for (int day = 1; day <= D; day++) {
			if (day_sub[day] >= 0 &&
			    in->days[day - 1].outbound > p->outbound_per_day) {
				over++;
			}
		}
		if (over <= t->tolerated_days && (!best || cheaper(p, best))) {
			best = p;
		}
	}
	r->advice.plan = best ? best : largest;
	r->advice.covers = best != NULL;
}

static int totals(struct rate_result *r, struct diag *d)
{
	for (size_t i = 0; i < r->nlines; i++) {
		const struct rate_line *l = &r->lines[i];
		struct rate_vat_total *v = NULL;

		if (money_add(r->net, l->net, &r->net) != 0) {
			diag_add(d, "net total does not fit");
			return -1;
		}
		for (size_t j = 0; j < r->nvat; j++) {
			if (r->vat[j].vat.rate == l->vat.rate) {
				v = &r->vat[j];
			}
		}
		if (!v) {
			r->vat =
			    xreallocarray(r->vat, r->nvat + 1, sizeof(*r->vat));
			v = &r->vat[r->nvat++];
			memset(v, 0, sizeof(*v));
			v->vat = l->vat;
		}
		if (money_add(v->base, l->net, &v->base) != 0) {
			diag_add(d, "VAT base does not fit");
			return -1;
		}
	}
	for (size_t j = 0; j < r->nvat; j++) {
		struct rate_vat_total *v = &r->vat[j];

		/* base cents x rate (micro-percent) / 10^8, rounded once:
		 * money_mul_div_round_cents divides by den x 10^4. */
		if (money_mul_div_round_cents(v->vat.rate, v->base, 10000,
					      &v->amount) != 0 ||
		    money_add(r->vat_total, v->amount, &r->vat_total) != 0) {
			diag_add(d, "VAT total does not fit");
			return -1;
		}
	}
	if (money_add(r->net, r->vat_total, &r->total) != 0) {
		diag_add(d, "invoice total does not fit");
		return -1;
	}
	return 0;
}

int rate_month(const struct rate_input *in, struct rate_result *out,
	       struct diag *d)
{
	int D, day_sub[RATE_MAX_DAYS + 1];
	const struct tariff_plan **plan_of = NULL;
	size_t *order = NULL, norder = 0, cap = 0;
	size_t before = d->n;

	memset(out, 0, sizeof(*out));
	if (!in->tariff || in->tariff->nplans == 0) {
		diag_add(d, "no tariff (or a tariff without plans)");
		return -1;
	}
	D = date_days_in_month(in->year, in->month);
	if (D == 0 || in->year < 1900 || in->year > 9999) {
		diag_add(d, "period %04d-%02d is not a month", in->year,
			 in->month);
		return -1;
	}
	out->year = in->year;
	out->month = in->month;
	/* An array of pointers: sizeof(*plan_of) is a pointer's size. */
	plan_of = xcalloc(in->nsubs ? in->nsubs : 1, sizeof(*plan_of)); // NOLINT(bugprone-sizeof-expression)
	if (check_input(in, D, day_sub, plan_of, d) != 0) {
		goto fail;
	}

	/* Subscriptions active in the month, by first active day (they
	 * do not overlap, so that is a total order). */
	order = xmalloc((in->nsubs ? in->nsubs : 1) * sizeof(*order));
	for (size_t i = 0; i < in->nsubs; i++) {
		int first, last;

		if (active_range(&in->subs[i], D, &first, &last) == 0) {
			continue;
		}
		size_t j = norder++;
		while (j > 0 &&
		       in->subs[order[j - 1]].start > in->subs[i].start) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
	if (norder == 0) {
		diag_add(d, "no subscription active in %04d-%02d", in->year,
			 in->month);
		goto fail;
	}
	for (size_t k = 0; k < norder; k++) {
		size_t i = order[k];
		int first, last;

		active_range(&in->subs[i], D, &first, &last);
		if (rate_sub_lines(in, i, plan_of[i], first, last, D, out, &cap,
				   d) != 0) {
			goto fail;
		}
	}
	if (rate_outbound(in, D, day_sub, plan_of, out, &cap, d) != 0) {
		goto fail;
	}
	advise(in, D, day_sub, out);
	if (totals(out, d) != 0) {
		goto fail;
	}
	free(plan_of);
	free(order);
	return 0;
fail:
	if (d->n == before) {
		diag_add(d, "rating failed"); /* never silent */
	}
	free(plan_of);
	free(order);
	rate_result_free(out);
	return -1;
}

/* "17/09/2026" (fr) or "2026-09-17" (en). */
static void fmt_day(char *b, size_t n, const struct rate_result *r, int day,
		    int fr)
{
	if (fr) {
		snprintf(b, n, "%02d/%02d/%04d", day, r->month, r->year);
	} else {
		snprintf(b, n, "%04d-%02d-%02d", r->year, r->month, day);
	}
}

char *rate_line_describe(char *buf, size_t len, const struct rate_result *r,
			 const struct rate_line *l, const struct tariff *t,
			 const char *lang)
{
	int fr = lang && strcmp(lang, "fr") == 0;
	char from[16], to[16], span[96], size[SIZE_FMT_MAX];
	int msg = l->unit == RATE_UNIT_1000_MESSAGE;

	fmt_day(from, sizeof(from), r, l->first_day, fr);
	fmt_day(to, sizeof(to), r, l->last_day, fr);
	if (l->active_days == l->days_in_month) {
		if (fr) {
			snprintf(span, sizeof(span), "mois de %02d/%04d",
				 r->month, r->year);
		} else {
			snprintf(span, sizeof(span), "%s %04d",
				 month_en[r->month - 1], r->year);
		}
	} else {
		snprintf(span, sizeof(span),
			 fr ? "du %s au %s (%d/%d jours)"
			    : "%s to %s (%d/%d days)",
			 from, to, l->active_days, l->days_in_month);
	}
	switch (l->kind) {
	case RATE_FEE:
		snprintf(buf, len,
			 fr ? "Forfait %s (%s), %s" : "Plan %s (%s), %s",
			 l->plan->code, l->plan->name, span);
		break;
	case RATE_STORAGE:
		size_format(size, t ? t->addon_block : 0);
		snprintf(buf, len,
			 fr ? "Stockage supplémentaire, forfait %s : %lld "
			      "bloc%s de %s, %s"
			    : "Extra storage, plan %s: %lld block%s of %s, %s",
			 l->plan->code, (long long)l->blocks,
			 l->blocks > 1 ? "s" : "", size, span);
		break;
	case RATE_OUTBOUND:
		snprintf(buf, len,
			 fr ? "Envois au-delà du quota : %lld %s sur %d jour%s "
			      "(%d jour%s de tolérance offert%s)"
			    : "Outbound over quota: %lld %s over the daily "
			      "quota on %d day%s (%d tolerated day%s free)%s",
			 (long long)l->excess,
			 fr ? (msg ? "messages" : "destinataires")
			    : (msg ? "messages" : "recipients"),
			 r->usage.billed_days,
			 r->usage.billed_days > 1 ? "s" : "",
			 r->usage.tolerated_used,
			 r->usage.tolerated_used > 1 ? "s" : "",
			 fr && r->usage.tolerated_used > 1 ? "s" : "");
		break;
	}
	return buf;
}
