/*
 * pricesheet_pdf — the one-page price sheet of a tariff version: each plan
 * with its monthly price excluding VAT (HT) and including French VAT
 * (TTC), its included outbound per day and storage, the storage add-on,
 * the soft-quota policy in plain words, the effective date and the
 * seller's identity.  French, or English with lang "en".
 *
 * TTC prices are computed here with money_mul_div_round_cents (the one
 * rounding rule of billing/money.h: half away from zero, to the cent).
 * Errors go to d; nothing is printed.
 */
#ifndef RELEVE_PRICESHEET_PDF_H
#define RELEVE_PRICESHEET_PDF_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "billing/seller.h"
#include "billing/tariff.h"
#include "common/diag.h"

/*
 * Render t for seller s with VAT rate vat_rate (micro-units of a percent:
 * 20 % = 20000000) in lang ("fr" or "en").  0 with *buf (caller frees)
 * and *len, or -1 with the reason in d.
 */
int pricesheet_pdf_render(const struct tariff *t, const struct seller *s,
			  int64_t vat_rate, const char *lang,
			  unsigned char **buf, size_t *len, struct diag *d);

/*
 * Load the version named version (NULL: the one in effect today in
 * Europe/Paris, else the latest), the seller and France's VAT rate on the
 * later of today and the effective date, then render.  lang NULL means
 * "fr".  0, or -1 with the reason in d (no such version, no seller).
 */
int pricesheet_pdf_buffer(PGconn *c, const char *version, const char *lang,
			  unsigned char **buf, size_t *len, struct diag *d);

/* The TTC cents of an HT price in micro-units at rate (micro-units of a
 * percent): 0, or -1 on overflow.  Exposed for the tests. */
int pricesheet_ttc_cents(int64_t ht_micro, int64_t vat_rate, int64_t *cents);

#endif
