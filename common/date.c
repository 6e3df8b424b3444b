/*
 * date — parse and check calendar dates; see date.h.
 */
#include "date.h"

#include <string.h>

static int digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9') {
			return -1;
		}
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

int date_days_in_month(int y, int m)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	if (m < 1 || m > 12) {
		return 0;
	}
	return mdays[m - 1] + (m == 2 && leap);
}

int period_parse(const char *s, int *y, int *m)
{
	if (strlen(s) != 7 || s[4] != '-' || digits(s, 4, y) ||
	    digits(s + 5, 2, m) || *y < 1900 || *m < 1 || *m > 12) {
		return -1;
	}
	return 0;
}

int date_parse(const char *s, int *y, int *m, int *d)
{
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || digits(s, 4, y) ||
	    digits(s + 5, 2, m) || digits(s + 8, 2, d) || *y < 1900 ||
	    *m < 1 || *m > 12 || *d < 1 || *d > date_days_in_month(*y, *m)) {
		return -1;
	}
	return 0;
}
