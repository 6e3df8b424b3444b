/*
 * export — the finance exports of issued invoices and credit notes: the
 * journal, the lines, VAT by country / regime / rate, revenue by plan and
 * line kind (CSV), and the French FEC (Fichier des Écritures Comptables,
 * article A47 A-1 du LPF, tab-separated).
 *
 * Every export covers the documents with status 'issued' whose issue date
 * is within the period (accounting follows the issue date), in the order
 * issue date, series, number.  Credit notes carry negative amounts, so
 * the CSV sums over both are the revenue; the FEC reverses them.
 *
 * Each export_*() runs in one read-only REPEATABLE READ transaction of
 * its own (c must not be inside one) and streams the rows through a
 * cursor, so a year of a large service never sits whole in a PGresult.
 * It writes to out, which the caller owns (and closes).  Returns 0 with
 * *st filled, or -1 with every problem in d (a database error, a write
 * error, a document the FEC cannot write: unbalanced, not in EUR); what
 * was written to out is then incomplete.
 *
 * Formats (the README is the reference): CSV is comma-separated, a header
 * row, LF line ends, fields quoted as RFC 4180 only when they must be
 * (libcsv), amounts "-12.30", dates YYYY-MM-DD.  FEC: header row of the 18
 * columns, TAB-separated, no quoting (tabs, CR and LF inside a field
 * become spaces), UTF-8 without BOM, dates AAAAMMJJ, amounts "120,00".
 */
#ifndef RELEVE_EXPORT_H
#define RELEVE_EXPORT_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdio.h>

#include "common/diag.h"
#include "billing/seller.h"

enum export_kind {
	EXPORT_JOURNAL,
	EXPORT_LINES,
	EXPORT_VAT,
	EXPORT_PLANS,
	EXPORT_FEC,
};

/* A period of issue dates, both ends included. */
struct export_period {
	char label[8]; /* "2026-10" or "2026" */
	char from[11]; /* "2026-10-01" */
	char to[11];   /* "2026-10-31" */
	char end[9];   /* "20261031": the FEC file name's date */
};

struct export_stats {
	size_t documents; /* issued documents in the period */
	size_t rows;	  /* data rows written (header excluded) */
};

/* "journal" -> EXPORT_JOURNAL; 0, or -1 for an unknown name. */
int export_kind_parse(const char *name, enum export_kind *k);
const char *export_kind_name(enum export_kind k);

/* Parse "YYYY-MM" (month 01..12) or "YYYY" (2000..9999), exactly those
 * forms.  0 with *p filled, or -1 (*p zeroed). */
int export_period_month(const char *s, struct export_period *p);
int export_period_year(const char *s, struct export_period *p);

/*
 * The default file name of an export, written into buf (64 bytes):
 * "<SIREN>FEC<AAAAMMJJ>.txt" for the FEC (siren required), else
 * "<kind>-<period label>.csv" ("journal-2026-10.csv").
 */
#define EXPORT_NAME_MAX 64
char *export_file_name(char *buf, enum export_kind k,
		       const struct export_period *p, const char *siren);

/* The CSV exports (columns in the README and in export.c). */
int export_journal(PGconn *c, const struct export_period *p, FILE *out,
		   struct export_stats *st, struct diag *d);
int export_lines(PGconn *c, const struct export_period *p, FILE *out,
		 struct export_stats *st, struct diag *d);
int export_vat(PGconn *c, const struct export_period *p, FILE *out,
	       struct export_stats *st, struct diag *d);
int export_plans(PGconn *c, const struct export_period *p, FILE *out,
		 struct export_stats *st, struct diag *d);
/* The FEC with the journal and accounts of s ("accounting"). */
int export_fec(PGconn *c, const struct export_period *p, const struct seller *s,
	       FILE *out, struct export_stats *st, struct diag *d);

/* Any of the above (s is used by EXPORT_FEC only, and required there). */
int export_run(enum export_kind k, PGconn *c, const struct export_period *p,
	       const struct seller *s, FILE *out, struct export_stats *st,
	       struct diag *d);

#endif
