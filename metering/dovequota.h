/*
 * dovequota — parse one storage snapshot (doveadm quota get -A in any of
 * its formatters, the doveadm HTTP API answer to quotaGet, mailcow's
 * quota2 table as CSV/TSV, mailcow's GET /api/v1/get/mailbox/all) into one
 * sample per mailbox.
 *
 * Pure: bytes in, samples out; no I/O, no globals.  A snapshot is all or
 * nothing: on any error (truncated output, unknown header, bad value...)
 * dq_parse() adds every problem found to the diag, each naming the input
 * and its line (or JSON path) and field, and returns -1 with no sample.
 * A mailbox whose value is `error` is not a failure of the snapshot: it
 * gets a sample with error set (no value for this time, never zero).
 */
#ifndef RELEVE_DOVEQUOTA_H
#define RELEVE_DOVEQUOTA_H

#include <stddef.h>
#include <stdint.h>

#include "common/diag.h"

enum dq_format {
	DQ_AUTO = 0,	 /* detect from the content */
	DQ_TAB,		 /* doveadm -f tab */
	DQ_FLOW,	 /* doveadm -f flow */
	DQ_PAGER,	 /* doveadm -f pager */
	DQ_TABLE,	 /* doveadm default table formatter */
	DQ_JSON,	 /* doveadm -f json */
	DQ_HTTP,	 /* doveadm HTTP API answer to quotaGet */
	DQ_MAILCOW_CSV,	 /* quota2 table: username,bytes,messages */
	DQ_MAILCOW_TSV,	 /* same, tab separated (mysql -B) */
	DQ_MAILCOW_API,	 /* GET /api/v1/get/mailbox/all */
};

/* Above this a value is absurd (1 PiB for one mailbox, 10^12 messages). */
#define DQ_MAX_BYTES ((int64_t)1 << 50)
#define DQ_MAX_MESSAGES ((int64_t)1000000000000)

struct dq_sample {
	char *mailbox;		/* user name, valid UTF-8 */
	int64_t bytes;		/* 0 when error */
	int64_t messages;	/* -1: unknown */
	int64_t limit_bytes;	/* -1: unlimited (or unknown: quota2 CSV) */
	int error;		/* 1: no value for this time (see reason) */
	const char *reason;	/* static text when error, else NULL */
	size_t line;		/* line of the billed row (JSON: element + 1) */
};

struct dq_snapshot {
	enum dq_format format;	/* the format read (detected or forced) */
	struct dq_sample *s;	/* in order of first appearance */
	size_t n;
	size_t nerrors;		/* samples with error set */
	void *names;		/* private: the blocks holding the mailbox
				 * names (one allocation per block, not
				 * per name: a snapshot has a million) */
};

struct dq_options {
	enum dq_format format;	/* DQ_AUTO to detect */
	const char *quota_root; /* bill this root; NULL: each user's first */
};

/*
 * Parse buf[0..len) (need not be NUL-terminated); name names the input in
 * messages.  On success returns 0 and fills *out (free with
 * dq_snapshot_free).  On failure returns -1, *out is empty, d has every
 * error found (at most a few dozen, then a count of the rest).
 */
int dq_parse(const char *name, const char *buf, size_t len,
	     const struct dq_options *opt, struct dq_snapshot *out,
	     struct diag *d);
/* Frees the samples; accepts NULL and an empty snapshot. */
void dq_snapshot_free(struct dq_snapshot *snap);

/* "tab", "flow", "pager", "table", "json", "http", "mailcow-csv",
 * "mailcow-tsv", "mailcow-api", "auto". */
const char *dq_format_name(enum dq_format f);
/* Inverse of dq_format_name; 0 or -1 when unknown. */
int dq_format_parse(const char *s, enum dq_format *out);

#endif
