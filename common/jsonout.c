/*
 * jsonout — JSON string escaping with UTF-8 validation; see jsonout.h.
 */
#include "jsonout.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

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

size_t jsonout_put(char *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	char *o = out;
	size_t i = 0;

	*o++ = '"';
	while (i < n) {
		unsigned char c = p[i];

		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(o, "\\u00", 4);
			o[4] = hex[c >> 4];
			o[5] = hex[c & 15];
			o += 6;
			i++;
		} else if (c < 0x80) {
			*o++ = (char)c;
			i++;
		} else {
			size_t len = utf8_len(p + i, n - i);

			if (len == 0) {
				memcpy(o, "\\ufffd", 6);
				o += 6;
				i++;
			} else {
				memcpy(o, p + i, len);
				o += len;
				i += len;
			}
		}
	}
	*o++ = '"';
	return (size_t)(o - out);
}

void jsonout_string(FILE *f, const char *s, size_t n)
{
	char small[1024];
	char *buf = JSONOUT_MAX(n) <= sizeof(small) ? small
						    : xmalloc(JSONOUT_MAX(n));

	fwrite(buf, 1, jsonout_put(buf, s, n), f);
	if (buf != small) {
		free(buf);
	}
}

void jsonout_cstr(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
	} else {
		jsonout_string(f, s, strlen(s));
	}
}
