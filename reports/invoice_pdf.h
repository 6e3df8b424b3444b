/*
 * invoice_pdf — the PDF of an invoice or credit note (billing/invoice.h),
 * in French, with the English labels beside the French ones for a
 * customer whose language is "en".
 *
 * The document carries every mention French law asks of an invoice (see
 * DESIGN.md, "French mentions"): the seller's and the customer's identity,
 * the number (a draft says BROUILLON), dates, service period, each line,
 * base and VAT per rate, totals, due date, payment terms and the legal
 * mentions of inv->mentions; credit notes name the invoice they correct.
 * Lines run over as many A4 pages as they need; totals, payment, mentions
 * and the usage chart (daily outbound against the quota, storage against
 * the included volume, the plan advice) come on the last page; every page
 * says "page n/N".
 *
 * Pure apart from the output: the figures are printed as the struct holds
 * them (nothing is recomputed).  Errors go to d; nothing is printed.
 */
#ifndef RELEVE_INVOICE_PDF_H
#define RELEVE_INVOICE_PDF_H

#include <stddef.h>

#include "billing/invoice.h"
#include "common/diag.h"

/* Write the PDF to path (atomically).  0, or -1 with the reason in d. */
int invoice_pdf_write(const struct invoice *inv, const char *path,
		      struct diag *d);
/* The PDF in memory: 0 with *buf (caller frees) and *len, or -1. */
int invoice_pdf_buffer(const struct invoice *inv, unsigned char **buf,
		       size_t *len, struct diag *d);

#endif
