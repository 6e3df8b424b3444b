/*
 * fuzz_dovequota — libFuzzer target over dq_parse: every input is parsed
 * with the format detected, then again with a format forced (chosen from
 * the input's length) and, for odd lengths, a named quota root.  Checks
 * the invariants of the result: refused means no sample and at least one
 * error; accepted means sane samples and no error.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metering/dovequota.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const char *buf, size_t size, const struct dq_options *o)
{
	struct dq_snapshot s;
	struct diag d = DIAG_INIT;
	size_t nerr = 0;

	if (dq_parse("fuzz", buf, size, o, &s, &d) != 0) {
		if (s.n != 0 || s.s != NULL || d.n == 0) {
			abort();
		}
		diag_free(&d);
		return;
	}
	if (d.n != 0 || s.format == DQ_AUTO) {
		abort();
	}
	for (size_t i = 0; i < s.n; i++) {
		const struct dq_sample *x = &s.s[i];

		if (!x->mailbox[0] || x->bytes < 0 || x->bytes > DQ_MAX_BYTES ||
		    x->messages < -1 || x->messages > DQ_MAX_MESSAGES ||
		    x->limit_bytes < -1 || (x->error && (x->bytes != 0 || !x->reason))) {
			abort();
		}
		nerr += x->error != 0;
	}
	if (nerr != s.nerrors) {
		abort();
	}
	dq_snapshot_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so that ASan sees any read past the end */
	char *buf = malloc(size ? size : 1);
	struct dq_options o = {DQ_AUTO, NULL};

	if (!buf) {
		return 0;
	}
	memcpy(buf, data, size);
	check(buf, size, &o);
	o.format = (enum dq_format)(size % (DQ_MAILCOW_API + 1));
	o.quota_root = size & 1 ? "User quota" : NULL;
	check(buf, size, &o);
	free(buf);
	return 0;
}
