/*
 * fuzz_pftrack_state — libFuzzer target for pftrack_load: arbitrary bytes
 * must be refused cleanly (-1, a message, an empty tracker) or accepted;
 * an accepted state must save back to the very same bytes, load again,
 * and survive being used (in-flight list, expiry).  Most inputs get their
 * trailing checksum made right first, so that the parser behind it is
 * what gets fuzzed (an odd ninth byte keeps the input as given).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/diag.h"
#include "metering/pftrack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ignore(void *arg, const struct pftrack_msg *m)
{
	(void)arg;
	if (!m->host || !m->queue_id || !m->sender)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pftrack_config cfg = {.emit = ignore};
	struct pftrack *t = pftrack_new(&cfg), *u;
	struct diag d = DIAG_INIT;
	char *in = malloc(size ? size : 1), *out, *out2;
	size_t n, n2;

	if (!in)
		abort();
	if (size)
		memcpy(in, data, size);
	if (size >= 16 && !(size > 8 && (data[8] & 1))) {
		uint64_t h = UINT64_C(14695981039346656037);

		for (size_t i = 0; i < size - 8; i++) {
			h ^= (unsigned char)in[i];
			h *= UINT64_C(1099511628211);
		}
		for (int i = 0; i < 8; i++)
			in[size - 8 + (size_t)i] = (char)(h >> (8 * i));
	}
	if (pftrack_load(t, in, size, &d) != 0) {
		if (d.n == 0 || pftrack_size(t) != 0)
			abort();
	} else {
		if (d.n != 0)
			abort();
		pftrack_save(t, &out, &n);
		if (n != size || memcmp(out, in, n) != 0)
			abort();
		u = pftrack_new(&cfg);
		if (pftrack_load(u, out, n, &d) != 0)
			abort();
		pftrack_save(u, &out2, &n2);
		if (n2 != n || memcmp(out, out2, n) != 0)
			abort();
		pftrack_in_flight(u, ignore, NULL);
		pftrack_expire(u, INT64_C(1) << 61, 0);
		free(out);
		free(out2);
		pftrack_free(u);
	}
	pftrack_free(t);
	diag_free(&d);
	free(in);
	return 0;
}
