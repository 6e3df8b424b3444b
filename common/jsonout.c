/*
 * jsonout — JSON string escaping with UTF-8 validation; see jsonout.h.
 */
#include "jsonout.h"

#include <string.h>

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	size_t len;
	unsigned min;

	if (c < 0x80) {
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		len = 2;
		min = 0x80;
		c &= 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3;
		min = 0x800;
		c &= 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4;
		min = 0x10000;
		c &= 0x07;
	} else {
		return 0;
	}
	if (n < len) {
		return 0;
	}
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			return 0;
		}
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
		return 0;
	}
	return len;
}

void jsonout_string(FILE *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	putc('"', f);
	while (i < n) {
		unsigned char c = p[i];

		if (c == '"' || c == '\\') {
			putc('\\', f);
			putc(c, f);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
			i++;
		} else if (c < 0x80) {
			putc(c, f);
			i++;
		} else {
			size_t len = utf8_len(p + i, n - i);

			if (len == 0) {
				fputs("\\ufffd", f);
				i++;
			} else {
				fwrite(p + i, 1, len, f);
				i += len;
			}
		}
	}
	putc('"', f);
}

void jsonout_cstr(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
	} else {
		jsonout_string(f, s, strlen(s));
	}
}
