/*
 * date — calendar dates as the project writes them: "YYYY-MM-DD" days and
 * "YYYY-MM" periods, proleptic Gregorian, years 1900..9999.  Pure.
 */
#ifndef RELEVE_DATE_H
#define RELEVE_DATE_H

/* 0 and the fields when s is exactly a valid YYYY-MM-DD date, else -1. */
int date_parse(const char *s, int *y, int *m, int *d);
/* 0 when s is exactly YYYY-MM with a month 01..12, else -1. */
int period_parse(const char *s, int *y, int *m);
int date_days_in_month(int y, int m);

#endif
