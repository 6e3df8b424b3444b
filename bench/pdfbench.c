/*
 * pdfbench — how many invoice PDFs per second releve renders on one core.
 *
 * SYNOPSIS
 *	pdfbench [-n N] [-o DIR] [-l LINES] [-s SELLER.json]
 *
 * DESCRIPTION
 *	Renders N copies (default 500) of a sample invoice (3 lines, VAT
 *	20 %, the B2B mentions and the usage chart; -l for more lines) to
 *	memory, or with -o DIR to DIR/bench-K.pdf through the atomic file
 *	writer (which fsyncs: that measures the disk as much as the PDF).
 *	Prints the first document's time (font subsetting happens once per
 *	process), the rate of the others in CPU time (one core, whatever
 *	else runs) and wall-clock time, the size of one PDF and the peak
 *	RSS.  The seller comes from SELLER.json (default
 *	examples/seller.json).
 *
 *	the bench programs are built standalone (see the Makefile), so the modules
 *	the renderer needs are compiled in from their sources here.
 *
 * DIAGNOSTICS
 *	Usage errors exit 2, rendering errors exit 1.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "billing/invoice.h"
#include "billing/money.h"
#include "billing/seller.h"
#include "common/diag.h"
#include "common/jsonv.h"
#include "common/xalloc.h"
#include "reports/invoice_pdf.h"

static double clock_s(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* CPU time: the rate on one core, whatever else the machine runs. */
static double now(void)
{
	return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static void add_line(struct invoice *inv, const char *kind, const char *desc,
		     const char *desc_en, int64_t qty, const char *unit,
		     int64_t price, int64_t net)
{
	struct invoice_line *l = &inv->lines[inv->nlines];

	l->no = (int)++inv->nlines;
	l->kind = xstrdup(kind);
	l->plan = xstrdup("M");
	l->description = xstrdup(desc);
	l->description_en = desc_en ? xstrdup(desc_en) : NULL;
	l->quantity = qty;
	l->unit = xstrdup(unit);
	l->unit_price = price;
	l->vat_rate = 20000000;
	l->net = net;
}

static int sample(struct invoice *inv, const char *seller_path, int nlines)
{
	struct diag d = DIAG_INIT;
	json_error_t je;
	json_t *doc = json_load_file(seller_path, 0, &je);
	int64_t net = 0;

	memset(inv, 0, sizeof(*inv));
	if (!doc || seller_from_json(&inv->seller, seller_path, doc, &d)) {
		fprintf(stderr, "pdfbench: %s: %s\n", seller_path,
			doc ? "invalid" : je.text);
		diag_print(&d, stderr, "pdfbench");
		diag_free(&d);
		json_decref(doc);
		return -1;
	}
	json_decref(doc);
	inv->issued = 1;
	inv->number = xstrdup("F2026-000123");
	strcpy(inv->issue_date, "2026-11-02");
	strcpy(inv->due_date, "2026-12-02");
	strcpy(inv->period_start, "2026-10-01");
	strcpy(inv->period_end, "2026-10-31");
	inv->currency = xstrdup("EUR");
	inv->tariff_version = xstrdup("2026-09");
	inv->vat_regime = xstrdup("FR");
	inv->lines = xcalloc((size_t)nlines, sizeof(*inv->lines));
	add_line(inv, "fee", "Forfait M (Standard), octobre 2026",
		 "Plan M (Standard), October 2026", 1000000, "month", 9000000,
		 900);
	net += 900;
	if (nlines > 1) {
		add_line(inv, "storage", "Stockage supplémentaire : 2 blocs "
					 "de 10 Gio",
			 NULL, 2000000, "block-month", 1500000, 300);
		net += 300;
	}
	for (int i = 2; i < nlines; i++) {
		add_line(inv, "outbound", "Envois au-delà du quota (jours "
					  "facturés après les 3 tolérés)",
			 NULL, 1234000, "1000-recipients", 500000, 62);
		net += 62;
	}
	inv->net = net;
	inv->vat = xcalloc(1, sizeof(*inv->vat));
	inv->nvat = 1;
	inv->vat[0].rate = 20000000;
	inv->vat[0].base = net;
	inv->vat[0].amount = (net * 20 + 50) / 100;
	inv->vat_total = inv->vat[0].amount;
	inv->total = net + inv->vat_total;
	inv->customer.id = xstrdup("C042");
	inv->customer.name = xstrdup("Atelier Lumière & Cœur SARL");
	inv->customer.kind = xstrdup("business");
	inv->customer.line1 = xstrdup("3 place de l’Église");
	inv->customer.postal_code = xstrdup("38000");
	inv->customer.city = xstrdup("Grenoble");
	inv->customer.country = xstrdup("FR");
	inv->customer.siren = xstrdup("552100554");
	inv->customer.vat_number = xstrdup("FR40552100554");
	inv->customer.email = xstrdup("compta@atelier.example");
	inv->customer.language = xstrdup("fr");
	inv->mentions = xcalloc(2, sizeof(*inv->mentions));
	inv->nmentions = 2;
	inv->mentions[0].key = xstrdup("late_penalties");
	inv->mentions[0].fr = xstrdup(
		"En cas de retard de paiement, des pénalités au taux annuel "
		"de 12.15 % sont exigibles le jour suivant la date "
		"d’échéance.");
	inv->mentions[1].key = xstrdup("recovery_indemnity");
	inv->mentions[1].fr = xstrdup(
		"Indemnité forfaitaire pour frais de recouvrement due au "
		"créancier en cas de retard de paiement : 40.00 €.");
	inv->usage.ndays = 31;
	inv->usage.unit = xstrdup("recipients");
	for (int i = 0; i < 31; i++) {
		inv->usage.outbound[i] = 200 + (i * 37) % 400;
		inv->usage.quota[i] = 500;
	}
	inv->usage.outbound[9] = 640;
	inv->usage.storage_avg = 57LL << 30;
	inv->usage.storage_included = 50LL << 30;
	inv->usage.over_quota_days = 1;
	inv->usage.tolerated_days = 1;
	inv->usage.plan = xstrdup("M");
	inv->usage.plan_name = xstrdup("Standard");
	inv->usage.advice = xstrdup("M");
	inv->usage.advice_name = xstrdup("Standard");
	inv->usage.advice_covers = 1;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"count", required_argument, NULL, 'n'},
		{"out", required_argument, NULL, 'o'},
		{"lines", required_argument, NULL, 'l'},
		{"seller", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *out = NULL, *seller = "examples/seller.json";
	long n = 500, nlines = 3;
	struct invoice inv;
	struct diag d = DIAG_INIT;
	struct rusage ru;
	size_t size = 0;
	double t0, t1 = 0, t2, w1 = 0, w2;
	int c;

	while ((c = getopt_long(argc, argv, "n:o:l:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			n = strtol(optarg, NULL, 10);
			break;
		case 'o':
			out = optarg;
			break;
		case 'l':
			nlines = strtol(optarg, NULL, 10);
			break;
		case 's':
			seller = optarg;
			break;
		case 'h':
			puts("Usage: pdfbench [-n N] [-o DIR] [-l LINES] "
			     "[-s SELLER.json]");
			return 0;
		default:
			return 2;
		}
	}
	if (n < 1 || nlines < 1 || nlines > 100000 || optind != argc) {
		fputs("pdfbench: bad arguments (see --help)\n", stderr);
		return 2;
	}
	if (sample(&inv, seller, (int)nlines) != 0) {
		return 1;
	}
	t0 = now();
	for (long i = 0; i < n; i++) {
		int rc;

		if (i == 1) {
			t1 = now();
			w1 = clock_s(CLOCK_MONOTONIC);
		}
		if (out) {
			char *path = xasprintf("%s/bench-%ld.pdf", out, i);

			rc = invoice_pdf_write(&inv, path, &d);
			free(path);
		} else {
			unsigned char *buf;

			rc = invoice_pdf_buffer(&inv, &buf, &size, &d);
			free(buf);
		}
		if (rc != 0) {
			diag_print(&d, stderr, "pdfbench");
			diag_free(&d);
			invoice_free(&inv);
			return 1;
		}
	}
	t2 = now();
	w2 = clock_s(CLOCK_MONOTONIC);
	if (n == 1) {
		t1 = t2;
		w1 = w2;
	}
	getrusage(RUSAGE_SELF, &ru);
	if (out) {
		unsigned char *buf;

		if (invoice_pdf_buffer(&inv, &buf, &size, &d) == 0) {
			free(buf);
		}
		diag_free(&d);
	}
	printf("invoices: %ld (%ld lines each) to %s\n", n, nlines,
	       out ? out : "memory");
	printf("first: %.1f ms CPU\n", (t1 - t0) * 1000);
	if (n > 1) {
		printf("rate: %.0f invoices/s of CPU time (%.2f ms each); "
		       "%.0f/s wall clock\n",
		       (double)(n - 1) / (t2 - t1),
		       (t2 - t1) * 1000 / (double)(n - 1),
		       (double)(n - 1) / (w2 - w1));
	}
	printf("pdf size: %zu bytes\n", size);
	printf("peak RSS: %ld KiB\n", ru.ru_maxrss);
	invoice_free(&inv);
	return 0;
}
