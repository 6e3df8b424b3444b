/*
 * fuzz_rater — libFuzzer target over rate_month: the bytes choose the
 * period, the subscriptions, each day's usage, the VAT rates and a few
 * tariff fields (a fixed grid of three plans).  Invariants: a refusal
 * leaves an empty result and at least one message; a rating has no
 * message, line nets summing to the net, VAT bases summing to the net,
 * each VAT amount = half-up(base x rate), net + VAT = total, an advice.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "billing/money.h"
#include "billing/rater.h"
#include "billing/tariff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char grid[] =
    "{\"version\": \"f\", \"effective_from\": \"2026-01-01\","
    " \"currency\": \"EUR\", \"timezone\": \"Europe/Paris\","
    " \"plans\": ["
    "  {\"code\": \"S\", \"name\": \"s\", \"monthly_fee\": \"4.00\","
    "   \"outbound_per_day\": 100, \"storage_included\": \"10 GiB\"},"
    "  {\"code\": \"M\", \"name\": \"m\", \"monthly_fee\": \"9.00\","
    "   \"outbound_per_day\": 500, \"storage_included\": \"50 GiB\"},"
    "  {\"code\": \"L\", \"name\": \"l\", \"monthly_fee\": \"19.00\","
    "   \"outbound_per_day\": 2000, \"storage_included\": \"200 GiB\"}],"
    " \"storage_addon\": {\"block\": \"10 GiB\", \"monthly_fee\": \"1.50\"},"
    " \"outbound\": {\"unit\": \"recipient\", \"count_local\": false,"
    "  \"warn_ratio\": \"0.8\", \"tolerated_days\": 3,"
    "  \"block_ratio\": \"2.0\", \"overage_per_1000\": \"0.50\"},"
    " \"vat\": {\"oss\": true}}";

struct reader {
	const uint8_t *p;
	size_t n;
};

static uint64_t take(struct reader *r, size_t bytes)
{
	uint64_t v = 0;

	for (size_t i = 0; i < bytes; i++) {
		v = v << 8 | (r->n ? (r->n--, *r->p++) : 0);
	}
	return v;
}

static void check(const struct rate_result *r)
{
	int64_t sum = 0, bases = 0, vats = 0, v;

	for (size_t i = 0; i < r->nlines; i++) {
		sum += r->lines[i].net;
	}
	for (size_t i = 0; i < r->nvat; i++) {
		bases += r->vat[i].base;
		vats += r->vat[i].amount;
		if (money_mul_div_round_cents(r->vat[i].vat.rate,
					      r->vat[i].base, 10000, &v) != 0 ||
		    v != r->vat[i].amount) {
			abort();
		}
	}
	if (sum != r->net || bases != r->net || vats != r->vat_total ||
	    r->net + r->vat_total != r->total || !r->advice.plan) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const codes[] = { "S", "M", "L", "X" };
	struct reader rd = { data, size };
	struct tariff t;
	struct diag d = DIAG_INIT;
	struct rate_sub subs[6];
	struct rate_day days[RATE_MAX_DAYS];
	struct rate_input in = { .tariff = &t, .subs = subs, .days = days };
	struct rate_result r;
	int rc;

	if (tariff_parse(&t, "grid", grid, strlen(grid), &d) != 0) {
		abort();
	}
	in.year = 2020 + (int)take(&rd, 1) % 12;
	in.month = (int)take(&rd, 1) % 14;
	in.ndays = 27 + (int)take(&rd, 1) % 6;
	in.nsubs = take(&rd, 1) % 7;
	for (size_t i = 0; i < in.nsubs; i++) {
		subs[i].plan = codes[take(&rd, 1) % 4];
		subs[i].start = (int)(int32_t)take(&rd, 4);
		subs[i].end = (int)(int32_t)take(&rd, 4);
	}
	for (int i = 0; i < RATE_MAX_DAYS; i++) {
		days[i].outbound = (int64_t)take(&rd, 8);
		days[i].storage_bytes = (int64_t)take(&rd, 8);
		days[i].storage_missing = (int)take(&rd, 1) & 1;
	}
	for (int k = 0; k < RATE_NKINDS; k++) {
		in.vat[k].rate = (int64_t)take(&rd, 8);
		in.vat[k].label = "x";
	}
	t.tolerated_days = (int)take(&rd, 1) % 32;
	t.overage_per_1000 = (int64_t)(take(&rd, 8) >> 1);
	t.addon_monthly_fee = (int64_t)(take(&rd, 8) >> 1);
	t.addon_block = 1 + (int64_t)(take(&rd, 8) >> 2);
	for (size_t i = 0; i < t.nplans; i++) {
		t.plans[i].monthly_fee = (int64_t)(take(&rd, 8) >> 1);
	}

	rc = rate_month(&in, &r, &d);
	if (rc == 0) {
		if (d.n != 0) {
			abort();
		}
		check(&r);
	} else if (rc != -1 || d.n == 0 || r.lines || r.vat || r.total) {
		abort();
	}
	rate_result_free(&r);
	diag_free(&d);
	tariff_free(&t);
	return 0;
}
