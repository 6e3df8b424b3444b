/*
 * pftime — resolve a log line's time to an instant; see pftime.h.
 */
#include "pftime.h"

#include <string.h>
#include <time.h>

void pftime_init(struct pftime *t, int year, int64_t now_us)
{
	memset(t, 0, sizeof(*t));
	t->year = year;
	t->fixed = year != 0;
	t->now_us = now_us;
	t->last_us = INT64_MIN;
}

/* Local wall time y-m-d h:00:00 with the given DST flag; -1 on error. */
static int64_t hour_start(int y, int m, int d, int h, int isdst)
{
	struct tm tm;
	time_t s;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_isdst = isdst;
	s = mktime(&tm);
	if (s == (time_t)-1) {
		return -1;
	}
	return (int64_t)s;
}

static void infer_year(struct pftime *t, const struct pflog_time *lt)
{
	time_t now = (time_t)(t->now_us / 1000000);
	struct tm tm;

	if (t->year == 0) {
		localtime_r(&now, &tm);
		t->year = tm.tm_year + 1900;
		/* More than a day ahead of now: it was last year. */
		int64_t s = hour_start(t->year, lt->mon, lt->mday, lt->hour, -1);

		if (s > (int64_t)now + 86400) {
			t->year--;
		}
	} else if (!t->fixed && lt->mon < t->last_mon &&
		   t->last_mon - lt->mon > 6) {
		t->year++; /* December, then January */
	}
	t->last_mon = lt->mon;
}

int64_t pftime_resolve(struct pftime *t, const struct pflog_time *lt)
{
	int64_t base, us;

	if (lt->has_zone) {
		t->last_us = lt->epoch_us;
		return lt->epoch_us;
	}
	if (lt->mon < 1 || lt->mon > 12 || lt->mday < 1 || lt->mday > 31 ||
	    lt->hour < 0 || lt->hour > 23 || lt->min < 0 || lt->min > 59 ||
	    lt->sec < 0 || lt->sec > 60) {
		return INT64_MIN;
	}
	if (lt->year) {
		t->year = lt->year;
		t->last_mon = lt->mon;
	} else {
		infer_year(t, lt);
	}
	if (t->c_year != t->year || t->c_mon != lt->mon ||
	    t->c_mday != lt->mday || t->c_hour != lt->hour) {
		int64_t s = hour_start(t->year, lt->mon, lt->mday, lt->hour, 1);
		int64_t w = hour_start(t->year, lt->mon, lt->mday, lt->hour, 0);
		struct tm chk;
		time_t ts;

		/* mktime() normalises a reading that does not exist in that
		 * DST state; keep only the readings that give back the same
		 * wall hour. */
		ts = (time_t)s;
		if (s < 0 || !localtime_r(&ts, &chk) ||
		    chk.tm_hour != lt->hour || chk.tm_mday != lt->mday) {
			s = -1;
		}
		ts = (time_t)w;
		if (w < 0 || !localtime_r(&ts, &chk) ||
		    chk.tm_hour != lt->hour || chk.tm_mday != lt->mday) {
			w = -1;
		}
		if (s < 0 && w < 0) {
			/* A wall time that does not exist (spring forward):
			 * take mktime's own reading. */
			s = w = hour_start(t->year, lt->mon, lt->mday, lt->hour,
					   -1);
			if (s < 0) {
				return INT64_MIN;
			}
		} else if (s < 0) {
			s = w;
		} else if (w < 0) {
			w = s;
		}
		t->c_year = t->year;
		t->c_mon = lt->mon;
		t->c_mday = lt->mday;
		t->c_hour = lt->hour;
		t->c_base = s < w ? s : w;
		t->c_base2 = s < w ? w : s;
	}
	base = t->c_base;
	us = (base + lt->min * 60 + lt->sec) * 1000000 + lt->usec;
	/* The repeated hour: once the clock went back, the second reading. */
	if (t->c_base2 != t->c_base && t->last_us != INT64_MIN &&
	    us < t->last_us - 600 * (int64_t)1000000) {
		us += (t->c_base2 - t->c_base) * 1000000;
	}
	t->last_us = us;
	return us;
}
