/*
 * tariff — the versioned tariff grid: parse and validate the JSON
 * document of DESIGN.md into a struct tariff, and write it back.  Pure: no
 * I/O, no database (billing/tariff_db.c stores and loads versions).
 *
 * Prices, ratios and overage are micro-units (billing/money.h), sizes are
 * bytes.  tariff_to_json() writes the canonical form of the document
 * (prices with at least 2 decimals, ratios with at least 1, sizes in the
 * largest exact binary unit): parsing it gives back the same struct, and
 * two files that mean the same tariff have the same canonical form.
 */
#ifndef RELEVE_TARIFF_H
#define RELEVE_TARIFF_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/diag.h"

enum tariff_unit {
	TARIFF_UNIT_RECIPIENT, /* each recipient of a message counts */
	TARIFF_UNIT_MESSAGE,   /* each message counts once */
};

struct tariff_plan {
	char *code;		  /* "S": what subscriptions refer to */
	char *name;		  /* "Essentiel" */
	int64_t monthly_fee;	  /* micro-units, >= 0 */
	int64_t outbound_per_day; /* count of the tariff's unit, >= 0 */
	int64_t storage_included; /* bytes, >= 0 */
};

struct tariff {
	char *version;	      /* "2026-09": [A-Za-z0-9._-]{1,32} */
	char *effective_from; /* "2026-09-01", a valid date */
	char *currency;	      /* "EUR" */
	char *timezone;	      /* "Europe/Paris" (checked against the
				 database's zone list when stored) */
	struct tariff_plan *plans; /* in the order of the document */
	size_t nplans;
	int has_addon;		   /* storage_addon present */
	int64_t addon_block;	   /* bytes, > 0 */
	int64_t addon_monthly_fee; /* micro-units per block per month */
	enum tariff_unit unit;
	int count_local;	  /* do local recipients count? */
	int64_t warn_ratio;	  /* micro-units: 800000 = 0.8 */
	int tolerated_days;	  /* over-quota days free per month, 0..31 */
	int64_t block_ratio;	  /* micro-units, >= warn_ratio */
	int64_t overage_per_1000; /* micro-units per 1000 units, >= 0 */
	int vat_oss;		  /* EU consumers taxed at their country's rate */
};

/*
 * Parse and validate the document in buf (name is the file name used in
 * messages).  Every error is added to d as `name: json.path: message`.
 * Returns 0 with *t filled (free with tariff_free), or -1 with *t empty.
 */
int tariff_parse(struct tariff *t, const char *name, const char *buf,
		 size_t len, struct diag *d);
/* Same from a parsed document. */
int tariff_from_json(struct tariff *t, const char *name, json_t *doc,
		     struct diag *d);
/* The canonical document (new reference). */
json_t *tariff_to_json(const struct tariff *t);
/* The plan with that code, or NULL. */
const struct tariff_plan *tariff_plan_find(const struct tariff *t,
					   const char *code);
/* Free what t owns and zero it; accepts NULL. */
void tariff_free(struct tariff *t);

/* 1 when s is a real calendar date written YYYY-MM-DD. */
int tariff_date_is_valid(const char *s);
const char *tariff_unit_name(enum tariff_unit u);

#endif
