/*
 * pftime — the instant of a log line.
 *
 * Lines with a zone (RFC 3339, RFC 5424, journald, Docker) carry their
 * instant.  Traditional syslog lines carry neither year nor zone: they are
 * read in the process's local time zone (the caller sets TZ from
 * --log-timezone) and their year is given (--year) or inferred: the first
 * line takes the current year, or the previous one when its date would be
 * more than a day in the future (a December log read in January), and the
 * year moves on when the months wrap (December to January).
 *
 * At the end of summer time the wall clock repeats an hour (in Paris,
 * 02:00-02:59 on the last Sunday of October).  A repeated wall time is
 * taken in summer time first, and in winter time once the log's clock has
 * gone back (the line would otherwise be more than 10 minutes before the
 * previous one).
 *
 * Not thread-safe: it calls mktime(), which reads the process's TZ.
 */
#ifndef RELEVE_PFTIME_H
#define RELEVE_PFTIME_H

#include <stdint.h>

#include "pflog.h"

struct pftime {
	int year;	  /* the year of yearless lines; 0 before the first */
	int fixed;	  /* year given: never inferred nor moved */
	int last_mon;	  /* month of the previous yearless line */
	int64_t now_us;	  /* the inference's "now" */
	int64_t last_us;  /* the previous resolved instant */
	/* Cache of the last hour resolved: lines come in order, so one
	 * mktime() per hour of log suffices. */
	int c_year, c_mon, c_mday, c_hour;
	int64_t c_base;	   /* epoch seconds of HH:00:00, first (summer) */
	int64_t c_base2;   /* second reading of an ambiguous hour, or == */
};

/* year: the year of yearless lines, 0 to infer it; now_us: the current
 * time (epoch microseconds). */
void pftime_init(struct pftime *t, int year, int64_t now_us);
/* The line's instant in epoch microseconds; INT64_MIN when the fields do
 * not make a time. */
int64_t pftime_resolve(struct pftime *t, const struct pflog_time *lt);

#endif
