/*
 * pfstore — the Postfix collector's database side: one log stream's cursor
 * (the file it is reading, the offset, the tracker's state) and the rows
 * the tracker produced, committed together so that nothing is counted
 * twice or lost, whatever happens to the collector.
 *
 * Usage: pfstore_open() loads the stream's cursor; the caller restores the
 * tracker from pfstore_state(), finds where to start in each file with
 * pfstore_file_offset(), feeds the tracker, hands finished messages and
 * rejects to pfstore_add_*(), and calls pfstore_commit() every few seconds
 * and at the end: it writes the buffered messages and every message still
 * in flight, rolls them into usage_daily, and moves the cursor, in one
 * transaction.  On failure nothing of the batch is stored and the caller
 * stops: the next run resumes from the last commit.
 */
#ifndef RELEVE_PFSTORE_H
#define RELEVE_PFSTORE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "common/diag.h"
#include "pftrack.h"

struct pfstore;

struct pfstore_totals {
	long long messages;	 /* rows written (finished + in flight) */
	long long unattributed;	 /* of which not attributed to a mailbox */
	long long system;	 /* pickups by unregistered senders, not stored */
	long long rejects;	 /* rejected attempts recorded */
	long long commits;
};

/* Open (create) the stream host/name.  NULL with a message in d. */
struct pfstore *pfstore_open(PGconn *c, const char *host, const char *name,
			     struct diag *d);
void pfstore_free(struct pfstore *s);

/* The tracker state saved by the last commit (NULL, 0 when none). */
const char *pfstore_state(const struct pfstore *s, size_t *len);
/* 1 when domain[0..n) is hosted here (the registry's domains). */
int pfstore_is_hosted(void *s, const char *domain, size_t n);

/*
 * Where to start reading a file whose first bytes hash as given by hash_fn
 * (see linereader: lr_prefix_hash): the offset reached before when the
 * file was read already (by its fingerprint), else 0.  *current is set
 * when it is the file the cursor is in.
 */
typedef int (*pfstore_hash_fn)(void *arg, size_t n, uint64_t *fp);
uint64_t pfstore_file_offset(struct pfstore *s, pfstore_hash_fn fn, void *arg,
			     int *known, int *current);

/* Buffer a finished (or closed) message; copied. */
void pfstore_add_message(struct pfstore *s, const struct pftrack_msg *m);
/* Buffer a rejected attempt (kind "reject" or "sasl_failed"). */
void pfstore_add_reject(struct pfstore *s, const char *host, int64_t when_us,
			const char *kind, const char *who, size_t who_len);

/*
 * Commit: buffered rows, the messages in flight in t, and the cursor: the
 * file (fingerprint fp of fp_len bytes, first seen as path), the offset
 * after the last line fed, whether the file is finished, and t's state.
 * lines, malformed: the lines read, and of them the malformed ones,
 * since the previous commit (added to the stream's counts).  All of it is taken at the call, so t may go on at once.  background:
 * the transaction runs in a thread of its own while the caller goes on
 * parsing (the caller must not use the connection meanwhile); its result
 * comes from the next pfstore_commit() or pfstore_sync().  One commit
 * runs at a time, and none after a failed one.
 */
int pfstore_commit(struct pfstore *s, struct pftrack *t, uint64_t fp,
		   size_t fp_len, const char *path, uint64_t offset,
		   int finished, long long lines, long long malformed,
		   int background, struct diag *d);
/* Wait for a background commit: 0, or -1 with its errors in d. */
int pfstore_sync(struct pfstore *s, struct diag *d);
/* Messages buffered since the last commit. */
size_t pfstore_pending(const struct pfstore *s);

const struct pfstore_totals *pfstore_totals(const struct pfstore *s);

#endif
