/*
 * fuzz_pflog — libFuzzer target for the Postfix line parser: every input,
 * under every format, must parse without reading outside the line, and the
 * result must point inside the line or the struct's own buffers.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

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
		(void)pflog_addr_domain(l->from);
		(void)pflog_addr_is_loopback(l->client_addr);
	}
	free(line);
	return 0;
}
