/*
 * fuzz_pflog — libFuzzer target for the Postfix line parser: every input,
 * under every format, must parse without reading outside the line, and the
 * result must point inside the line or the struct's own buffers, and
 * survive pflog_pack/pflog_unpack.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "metering/pflog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int inside(struct pflog_str s, const char *line, size_t len,
		  const struct pflog_line *l)
{
	const char *b = (const char *)&l->buf, *be = b + sizeof(l->buf);

	if (s.n == 0)
		return 1;
	if (s.p >= line && s.p + s.n <= line + len)
		return 1;
	return s.p >= b && s.p + s.n <= be;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pflog_line *l;
	/* an exact-size copy, so that ASan sees any read past the end */
	char *line = malloc(size ? size : 1);

	if (!l)
		l = malloc(sizeof(*l));
	if (!line || !l)
		abort();
	for (size_t i = 0; i < size; i++)
		line[i] = (char)data[i];
	for (int f = 0; f < PFLOG_FMT_COUNT; f++) {
		enum pflog_kind k = pflog_parse(l, line, size,
						(enum pflog_format)f);

		if (k >= PFLOG_KIND_COUNT || (k == PFLOG_MALFORMED &&
					      l->bad == PFLOG_BAD_NONE))
			abort();
		const struct pflog_str all[] = {
			l->host, l->tag, l->daemon_name, l->service, l->text,
			l->qid, l->client_name, l->client_addr, l->sasl_method,
			l->sasl_username, l->from, l->to, l->orig_to, l->relay,
			l->dsn, l->status_text, l->queued_as, l->new_id,
			l->message_id};
		for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
			if (!inside(all[i], line, size, l))
				abort();
		if (l->qid.n && !pflog_qid_valid(l->qid.p, l->qid.n, NULL))
			abort();
		/* packed and unpacked: the same kind and strings (pk
		 * holds every string of a line up to 64 KiB) */
		if (size < 65536) {
			static unsigned char pk[1 << 21];
			static struct pflog_line *u;
			size_t n;

			if (!u && !(u = malloc(sizeof(*u))))
				abort();
			n = pflog_pack(l, PFLOG_KEEP_ALL, pk, sizeof(pk));
			if (n == 0 || pflog_unpack(u, pk) != n ||
			    u->kind != l->kind || u->qid.n != l->qid.n ||
			    u->text.n != l->text.n ||
			    u->sasl_username.n != l->sasl_username.n ||
			    (u->qid.n && memcmp(u->qid.p, l->qid.p, u->qid.n)))
				abort();
		}
		/* the timestamp read later: the same verdict and time */
		{
			static struct pflog_line *v;

			if (!v && !(v = malloc(sizeof(*v))))
				abort();
			pflog_parse_deferred(v, line, size,
					     (enum pflog_format)f);
			pflog_finish_time(v);
			if (v->kind != l->kind || v->bad != l->bad)
				abort();
			if (k != PFLOG_MALFORMED &&
			    (v->time.epoch_us != l->time.epoch_us ||
			     v->time.year != l->time.year ||
			     v->time.usec != l->time.usec ||
			     v->time.has_zone != l->time.has_zone ||
			     v->qid.n != l->qid.n || v->host.n != l->host.n))
				abort();
		}
		(void)pflog_addr_domain(l->from);
		(void)pflog_addr_is_loopback(l->client_addr);
	}
	free(line);
	return 0;
}
