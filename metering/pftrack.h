/*
 * pftrack — follow Postfix queue ids across parsed log lines (pflog.h) and
 * hand back finished outbound messages.  Pure: no I/O, no clock, no
 * globals; the caller resolves every line's time to epoch microseconds.
 *
 * A message is tracked from its origin line (smtpd "client=", pickup
 * "uid=") under its key (host, queue id) until qmgr "removed".  Only
 * messages from an authenticated smtpd session (sasl_username) or from
 * pickup are emitted, and only when they reached qmgr: inbound mail,
 * bounces and notices (they start at cleanup, with no origin line),
 * re-injected second hops and messages accepted before the log started
 * never are.
 *
 * Rules (DESIGN.md "Metering rules", issue 4):
 *  - qmgr repeats "from=, size=, nrcpt=" on every retry: the first counts,
 *    and its time is accepted_at.
 *  - a "client=" or "uid=" line for a known id starts a new message (ids
 *    are reused; a message that never reached qmgr is no message).
 *  - content-filter re-injection: a delivery to a filter relay (a loopback
 *    relay by default, or one of config.filter_relays "HOST:PORT") whose
 *    reply says "queued as NEWID" makes NEWID a second hop of the same
 *    message: its recipients' outcomes replace the filtered ones and it is
 *    never emitted itself.  The second hop's lines may come first: a
 *    finished anonymous message from a loopback client is kept for
 *    config.link_window_us of log time in case a link names it.  Once
 *    removed, a message waiting for its second hops leaves the key
 *    (host, queue id), which Postfix may reuse at once; the second hops
 *    are freed with their root when it is emitted.
 *  - a recipient is one (to, orig_to) pair, kept once by its latest status
 *    (only a 64-bit hash of the pair and its domain are stored); qmgr
 *    "status=expired" turns the recipients still deferred into expired.
 *
 * Memory is bounded by the messages in flight (plus the link window): after
 * a log, pftrack_size() counts the messages not yet removed, the removed
 * ones waiting for a second hop still in the queue or for their own
 * remaining lines (a root's finished hops), and the link window.
 *
 * Ownership: the struct pftrack_msg handed to a callback and every string
 * in it belong to the tracker and are valid during the callback only.
 */
#ifndef RELEVE_PFTRACK_H
#define RELEVE_PFTRACK_H

#include <stddef.h>
#include <stdint.h>

#include "common/diag.h"
#include "pflog.h"

struct pftrack;

struct pftrack_counts {
	unsigned sent, bounced, deferred, expired; /* by latest status */
	unsigned local, remote;			   /* by transport/domain */
};

enum pftrack_origin { PFTRACK_SASL = 1, PFTRACK_PICKUP = 2 };

struct pftrack_msg {
	const char *host;
	const char *queue_id;
	int64_t accepted_at_us; /* time of the first qmgr line */
	enum pftrack_origin origin;
	const char *sasl_username; /* NULL for pickup */
	long long uid;		   /* pickup: the submitting uid, else -1 */
	const char *sender;	   /* envelope sender ("" for <>) */
	long long size;
	long nrcpt;
	int in_flight; /* 1: listed by pftrack_in_flight(), no "removed" */
	int closed;    /* 1: closed by pftrack_expire() or id reuse */
	struct pftrack_counts rcpt;
};

typedef void (*pftrack_emit_fn)(void *arg, const struct pftrack_msg *m);
/* 1 when domain[0..n) is hosted here. */
typedef int (*pftrack_local_fn)(void *arg, const char *domain, size_t n);

struct pftrack_config {
	pftrack_emit_fn emit; /* finished messages; required */
	void *emit_arg;
	/* Decides local/remote for recipients nothing delivered.  NULL: the
	 * domains that a local transport delivered to so far. */
	pftrack_local_fn is_local_domain;
	void *local_arg;
	/* Content filters as "HOST:PORT" (HOST as in relay=NAME[HOST]:PORT,
	 * either NAME or HOST); none: any loopback relay is a filter. */
	const char *const *filter_relays;
	size_t n_filter_relays;
	/* How long (log time) a finished loopback message waits for the
	 * "queued as" line that makes it a second hop; 0: 10 minutes. */
	int64_t link_window_us;
};

/* A new tracker; the config is copied (filter_relays strings too). */
struct pftrack *pftrack_new(const struct pftrack_config *cfg);
/* Frees everything (messages in flight are dropped silently); NULL ok. */
void pftrack_free(struct pftrack *t);

/*
 * Feed one parsed line.  host overrides l->host when host.n > 0 (--host).
 * when_us is the line's time, resolved by the caller.  Lines of other kinds
 * than those the tracker needs are ignored.
 */
void pftrack_feed(struct pftrack *t, const struct pflog_line *l,
		  struct pflog_str host, int64_t when_us);

/* Call fn for each outbound message that reached qmgr and is not finished
 * (in_flight = 1).  The tracker is not changed. */
void pftrack_in_flight(struct pftrack *t, pftrack_emit_fn fn, void *arg);

/* Close messages last seen before now_us - max_age_us: those that reached
 * qmgr are emitted with closed = 1, the others dropped. */
void pftrack_expire(struct pftrack *t, int64_t now_us, int64_t max_age_us);

/* Messages currently held (all origins, for progress and statistics). */
size_t pftrack_size(const struct pftrack *t);

/*
 * State persistence, for a collector that commits "byte offset + tracker
 * state" in one transaction and resumes after a crash or a restart: a
 * tracker restored from pftrack_save() output and fed the rest of the log
 * emits exactly what one uninterrupted run would have emitted (same
 * messages, same order, same pftrack_in_flight() list).
 *
 * Format (version 2; version 1 is refused): "RPFT", u32 version, then the body, then u64 FNV-1a
 * of everything before it; integers little-endian, fixed width, written
 * byte by byte.  Body: last sweep time; hosts; domains seen delivered
 * locally (sorted); the slab (size, records held with their index, the
 * free list in order).  Hop lists and the key index are not saved: they
 * follow from the records, and load checks them (a hop's root is a root
 * held, pending counts match).  Times must lie within +-2^62 us.  78 bytes per
 * record held plus its strings (queue id, login, sender), 10 bytes + the
 * domain per recipient, 4 per free slot: about 190 bytes for a message
 * with two recipients.
 */

/* Serialise the whole state (messages held, recipients, link windows,
 * whatever else feeds future output) into a new buffer; *buf is the
 * caller's to free.  The format is versioned and self-checking. */
void pftrack_save(const struct pftrack *t, char **buf, size_t *len);
/* Restore a state saved by pftrack_save into t, a tracker freshly made
 * with pftrack_new() (its config is the caller's: emit callback, filters).
 * 0, or -1 with a message in d when buf is not a valid state (wrong
 * magic/version, truncated, lengths out of range, trailing bytes, counts
 * beyond limits); t is then left empty (as new). */
int pftrack_load(struct pftrack *t, const char *buf, size_t len,
		 struct diag *d);

#endif
