/*
 * fuzz_pftrack — libFuzzer target for the queue-id tracker: the input is a
 * log (lines split at '\n'), parsed by pflog and fed to pftrack with a
 * made-up clock; every emitted message must be self-consistent, and after
 * expiry the tracker must be empty.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metering/pflog.h"
#include "metering/pftrack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(void *arg, const struct pftrack_msg *m)
{
	const struct pftrack_counts *c = &m->rcpt;

	(void)arg;
	if (c->sent + c->bounced + c->deferred + c->expired !=
	    c->local + c->remote)
		abort();
	if (!m->host || !m->queue_id || !m->sender || m->origin == 0 ||
	    (m->origin == PFTRACK_SASL) != (m->sasl_username != NULL))
		abort();
	if (!pflog_qid_valid(m->queue_id, strlen(m->queue_id), NULL))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pflog_line *l;
	static const char *const filters[] = {"127.0.0.1:10024", "amavis"};
	struct pftrack_config cfg = {.emit = check};
	struct pftrack *t;
	const char *p = (const char *)data, *e = p + size;
	int64_t now = 0;

	if (!l && !(l = malloc(sizeof(*l))))
		abort();
	if (size && data[0] & 1) {
		cfg.filter_relays = filters;
		cfg.n_filter_relays = 2;
	}
	t = pftrack_new(&cfg);
	while (p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		const char *le = nl ? nl : e;

		pflog_parse(l, p, (size_t)(le - p), PFLOG_FMT_AUTO);
		/* a clock that mostly advances, sometimes jumps back */
		now += (int64_t)(le - p) * 1000000 - 30000000;
		pftrack_feed(t, l, (struct pflog_str){NULL, 0}, now);
		p = nl ? nl + 1 : e;
	}
	pftrack_in_flight(t, check, NULL);
	pftrack_expire(t, INT64_MAX / 2, 0);
	if (pftrack_size(t) != 0)
		abort();
	pftrack_free(t);
	return 0;
}
