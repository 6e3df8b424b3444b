/*
 * pflog — parse one Postfix log line into a struct, without I/O and without
 * allocating.
 *
 * Input: the bytes of one line (pointer + length; not NUL-terminated; a
 * trailing "\n" or "\r\n" is ignored).  Lines are hostile: they may be
 * truncated, contain NULs, invalid UTF-8 or be a megabyte long; every input
 * gives a result, never a crash.
 *
 * Formats, detected per line unless forced:
 *   syslog   "Nov 23 07:12:01 host postfix/qmgr[123]: ..." (no year, no
 *            zone; an optional "<PRI>" prefix is skipped).  Postfix's own
 *            maillog_file (postlogd) has this layout too, with a zero-padded
 *            day ("Nov 03") and the short host name.
 *   rfc3339  "2026-11-23T07:12:01.123456+01:00 host postfix/qmgr[123]: ..."
 *   rfc5424  "<22>1 2026-11-23T07:12:01.123+01:00 host postfix 123 - - msg"
 *            (rsyslog cuts the tag at the first '/': the daemon is then
 *            recognised from the message text).
 *   journal  `journalctl -o json`: __REALTIME_TIMESTAMP, _HOSTNAME,
 *            SYSLOG_IDENTIFIER, SYSLOG_PID/_PID, MESSAGE (string or array
 *            of bytes).  A MESSAGE that is itself a whole syslog line (Postfix
 *            logging to stdout under systemd) is parsed as such.
 *   docker   Docker's json-file driver: {"log":"<a syslog line>\n",
 *            "stream":"stderr","time":"2026-11-23T07:12:01.123456789Z"}
 *            (mailcow's postfix container); the inner line gives host, tag
 *            and message, "time" gives the instant when the inner line has
 *            no zone.
 *
 * Ownership: every struct pflog_str of a struct pflog_line points either
 * into the caller's line or into the line struct's own buffers (decoded
 * JSON strings).  They are valid until the next pflog_parse() on the same
 * struct, or until the caller's line buffer changes, whichever comes first.
 * Do not copy a struct pflog_line by assignment (its pointers would still
 * refer to the original's buffers); allocate one (it is about 17 KiB) and
 * reuse it for every line.  Nothing here allocates or frees.
 *
 * Errors: a line that cannot be read gets kind PFLOG_MALFORMED and a reason
 * (enum pflog_bad) for the caller's statistics.  Addresses are never stored
 * anywhere by this module: the caller keeps what it needs (a domain).
 */
#ifndef RELEVE_PFLOG_H
#define RELEVE_PFLOG_H

#include <stddef.h>
#include <stdint.h>

/* Bytes kept of a JSON-decoded MESSAGE/log string; the rest is dropped and
 * the line is marked truncated.  Postfix's own records are shorter. */
#define PFLOG_MSG_MAX 16384
/* Bytes kept of a JSON-decoded host name or syslog identifier. */
#define PFLOG_FIELD_MAX 256
/* Longest queue id accepted (a long id is at most about 28 characters). */
#define PFLOG_QID_MAX 31

struct pflog_str {
	const char *p;
	size_t n;
};

enum pflog_format {
	PFLOG_FMT_AUTO = 0,
	PFLOG_FMT_SYSLOG,
	PFLOG_FMT_RFC3339,
	PFLOG_FMT_RFC5424,
	PFLOG_FMT_JOURNAL,
	PFLOG_FMT_DOCKER,
	PFLOG_FMT_COUNT
};

enum pflog_kind {
	PFLOG_MALFORMED = 0, /* unreadable: see bad */
	PFLOG_NOT_POSTFIX,   /* another program (opendkim, dovecot, ...) */
	PFLOG_OTHER,         /* a Postfix line that counts nothing */
	PFLOG_CLIENT,        /* smtpd QID: client=NAME[ADDR][, sasl_...] */
	PFLOG_PICKUP,        /* pickup QID: uid=N from=<S> */
	PFLOG_MESSAGE_ID,    /* cleanup QID: message-id=<...> */
	PFLOG_QUEUED,        /* qmgr QID: from=<S>, size=N, nrcpt=N */
	PFLOG_EXPIRED,       /* qmgr QID: from=<S>, status=expired, ... */
	PFLOG_REMOVED,       /* qmgr or postsuper QID: removed */
	PFLOG_DELIVERY,      /* QID: to=<R>, [orig_to=<O>,] relay=..., status= */
	PFLOG_NOTIFY,        /* bounce QID: sender ... notification: NEWID */
	PFLOG_REJECT,        /* QID|NOQUEUE: [milter-]reject: STAGE from ... */
	PFLOG_SASL_FAILED,   /* warning: ...: SASL X authentication failed */
	PFLOG_KIND_COUNT
};

enum pflog_bad {
	PFLOG_BAD_NONE = 0,
	PFLOG_BAD_EMPTY,     /* empty or blank line */
	PFLOG_BAD_TIME,      /* no readable timestamp */
	PFLOG_BAD_HEADER,    /* no host, tag or message */
	PFLOG_BAD_JSON,      /* broken JSON or required member missing */
	PFLOG_BAD_EVENT,     /* a known Postfix event with unreadable fields */
	PFLOG_BAD_COUNT
};

enum pflog_daemon {
	PFLOG_D_UNKNOWN = 0, /* tag "postfix" only (RFC 5424 cut) */
	PFLOG_D_SMTPD,
	PFLOG_D_SMTP,
	PFLOG_D_LMTP,
	PFLOG_D_QMGR,
	PFLOG_D_PICKUP,
	PFLOG_D_CLEANUP,
	PFLOG_D_BOUNCE,
	PFLOG_D_LOCAL,
	PFLOG_D_VIRTUAL,
	PFLOG_D_PIPE,
	PFLOG_D_ERROR,
	PFLOG_D_DISCARD,
	PFLOG_D_POSTSUPER,
	PFLOG_D_POSTSCREEN,
	PFLOG_D_OTHER, /* another Postfix program (anvil, master, ...) */
	PFLOG_D_COUNT
};

enum pflog_status {
	PFLOG_ST_NONE = 0,
	PFLOG_ST_SENT,
	PFLOG_ST_DEFERRED,
	PFLOG_ST_BOUNCED,
	PFLOG_ST_EXPIRED,
	PFLOG_ST_OTHER /* deliverable, undeliverable (probes), SOFTBOUNCE */
};

/* Where a delivery line says the recipient went. */
enum pflog_via {
	PFLOG_VIA_NONE = 0, /* relay=none: nothing delivered it */
	PFLOG_VIA_LOCAL,    /* lmtp, local, virtual, pipe */
	PFLOG_VIA_REMOTE    /* smtp to a network address */
};

enum pflog_notify {
	PFLOG_NT_NONE = 0,
	PFLOG_NT_NON_DELIVERY, /* sender non-delivery notification */
	PFLOG_NT_DELAY,        /* sender delay notification */
	PFLOG_NT_SUCCESS,      /* sender delivery status notification */
	PFLOG_NT_POSTMASTER    /* postmaster ... notification */
};

/* SMTP stage of a reject line: RCPT rejects a recipient, the others the
 * whole message or session. */
enum pflog_stage {
	PFLOG_SG_OTHER = 0,
	PFLOG_SG_CONNECT,
	PFLOG_SG_HELO,
	PFLOG_SG_MAIL,
	PFLOG_SG_RCPT,
	PFLOG_SG_DATA,
	PFLOG_SG_EOM,    /* END-OF-MESSAGE */
	PFLOG_SG_CONTENT /* cleanup header/body checks */
};

struct pflog_time {
	int year; /* 0: the line has none (traditional syslog) */
	int mon;  /* 1..12 */
	int mday, hour, min, sec;
	int usec;
	int has_zone; /* 1: utc_off and epoch_us are valid */
	int utc_off;  /* seconds east of UTC */
	int64_t epoch_us;
};

struct pflog_line {
	enum pflog_format format; /* the format this line was read as */
	enum pflog_kind kind;
	enum pflog_bad bad; /* for PFLOG_MALFORMED */
	int truncated;      /* a JSON message longer than PFLOG_MSG_MAX */
	struct pflog_time time;

	struct pflog_str host;
	struct pflog_str tag;     /* "postfix/submission/smtpd" */
	struct pflog_str daemon_name; /* last part of the tag: "smtpd" */
	struct pflog_str service; /* middle parts: "submission" (may be empty) */
	enum pflog_daemon daemon; /* from the tag, else from the text */
	int daemon_inferred;      /* daemon guessed from the message text */
	long pid;                 /* -1 when absent */
	struct pflog_str text;    /* the message after "tag[pid]: " */

	struct pflog_str qid; /* empty for NOQUEUE and lines without one */
	int qid_long;         /* enable_long_queue_ids form */

	/* Event fields; empty / -1 when the event has none. */
	struct pflog_str client_name, client_addr; /* CLIENT REJECT SASL */
	struct pflog_str sasl_method, sasl_username; /* CLIENT REJECT SASL */
	long long uid;              /* PICKUP */
	struct pflog_str from;      /* PICKUP QUEUED EXPIRED REJECT */
	struct pflog_str to, orig_to; /* DELIVERY REJECT */
	long long size;             /* QUEUED */
	long nrcpt;                 /* QUEUED */
	struct pflog_str relay, dsn; /* DELIVERY */
	enum pflog_status status;   /* DELIVERY EXPIRED */
	struct pflog_str status_text; /* DELIVERY: inside the parentheses */
	struct pflog_str queued_as; /* DELIVERY: "queued as ID" in the reply */
	enum pflog_via via;         /* DELIVERY */
	enum pflog_notify notify;   /* NOTIFY */
	struct pflog_str new_id;    /* NOTIFY */
	struct pflog_str message_id; /* MESSAGE_ID */
	enum pflog_stage stage;     /* REJECT */
	int milter;                 /* REJECT: milter-reject */

	/* pflog_parse_deferred: an RFC 3339 timestamp found, not yet read
	 * (time is unset until pflog_finish_time). */
	int time_deferred;
	struct pflog_str time_text;

	/* Owned storage for decoded JSON strings (see the ownership note). */
	struct {
		char msg[PFLOG_MSG_MAX];
		char host[PFLOG_FIELD_MAX];
		char ident[PFLOG_FIELD_MAX];
	} buf;
};

/*
 * Parse line[0..len) into *l (every field is reset first).  fmt forces a
 * format (PFLOG_FMT_AUTO detects it per line).  Returns l->kind.
 */
enum pflog_kind pflog_parse(struct pflog_line *l, const char *line, size_t len,
			    enum pflog_format fmt);

/*
 * A parsed line as bytes, for another thread (the dry run parses on one
 * core and tracks on the other).  pflog_pack() writes l's scalar fields
 * and the strings named in keep (PFLOG_KEEP_* bits) to out[0..cap) and
 * returns the bytes written, or 0 when cap is too small.  pflog_unpack()
 * rebuilds the line from them and returns the bytes read: its strings
 * point into in (keep the bytes while the line is read); strings not
 * kept are empty, and buf is not used.
 */
enum {
	PFLOG_KEEP_HOST = 1 << 0,
	PFLOG_KEEP_TAG = 1 << 1,
	PFLOG_KEEP_DAEMON_NAME = 1 << 2,
	PFLOG_KEEP_SERVICE = 1 << 3,
	PFLOG_KEEP_TEXT = 1 << 4,
	PFLOG_KEEP_QID = 1 << 5,
	PFLOG_KEEP_CLIENT_NAME = 1 << 6,
	PFLOG_KEEP_CLIENT_ADDR = 1 << 7,
	PFLOG_KEEP_SASL_METHOD = 1 << 8,
	PFLOG_KEEP_SASL_USERNAME = 1 << 9,
	PFLOG_KEEP_FROM = 1 << 10,
	PFLOG_KEEP_TO = 1 << 11,
	PFLOG_KEEP_ORIG_TO = 1 << 12,
	PFLOG_KEEP_RELAY = 1 << 13,
	PFLOG_KEEP_DSN = 1 << 14,
	PFLOG_KEEP_STATUS_TEXT = 1 << 15,
	PFLOG_KEEP_QUEUED_AS = 1 << 16,
	PFLOG_KEEP_NEW_ID = 1 << 17,
	PFLOG_KEEP_MESSAGE_ID = 1 << 18,
	PFLOG_KEEP_TIME_TEXT = 1 << 19, /* kept whenever time_deferred */
	PFLOG_KEEP_ALL = (1 << 20) - 1
};
size_t pflog_pack(const struct pflog_line *l, uint32_t keep,
		  unsigned char *out, size_t cap);
size_t pflog_unpack(struct pflog_line *l, const unsigned char *in);

/*
 * pflog_parse, but the timestamp of an RFC 3339 line (the format whose
 * reading costs most) is only found, in l->time_text, and read later by
 * pflog_finish_time(), on another thread say.  After pflog_finish_time
 * the line's kind, bad and time are what pflog_parse gives (a bad
 * timestamp makes the line PFLOG_MALFORMED, PFLOG_BAD_TIME; the other
 * fields of such a line are then meaningless), and so are all its fields
 * when it is not malformed.  pflog_finish_time does nothing when nothing
 * was deferred; it returns l->kind.
 */
enum pflog_kind pflog_parse_deferred(struct pflog_line *l, const char *line,
				     size_t len, enum pflog_format fmt);
enum pflog_kind pflog_finish_time(struct pflog_line *l);

/* 1 when p[0..n) is a queue id; *is_long (may be NULL) tells which form.
 * Short ids are upper-case hex; long ids are a time part of at least 10
 * characters of Postfix's consonant alphabet, then the last 'z', then the
 * inode part (the time part may itself contain 'z'). */
int pflog_qid_valid(const char *p, size_t n, int *is_long);

/* The domain of an address (after the last '@'); empty when it has none
 * (root, MAILER-DAEMON, the null sender). */
struct pflog_str pflog_addr_domain(struct pflog_str addr);
/* 1 for 127.0.0.0/8, ::1, ::ffff:127.x.y.z and "localhost". */
int pflog_addr_is_loopback(struct pflog_str addr);
/* Split "name[addr]:port" (any part may be absent). */
void pflog_relay_split(struct pflog_str relay, struct pflog_str *name,
		       struct pflog_str *addr, struct pflog_str *port);

/* Seconds since the epoch of a UTC civil time (proleptic Gregorian). */
int64_t pflog_civil_to_epoch(int year, int mon, int mday, int hour, int min,
			     int sec);
/* The inverse: year, mon, mday, hour, min, sec of t from epoch seconds
 * (UTC, proleptic Gregorian; the other fields are left alone). */
void pflog_epoch_to_civil(int64_t secs, struct pflog_time *t);

const char *pflog_format_name(enum pflog_format f);
/* "auto", "syslog" (alias "maillog", "postlogd"), "rfc3339", "rfc5424",
 * "journal" (alias "journald", "json"), "docker"; returns -1 if unknown. */
int pflog_format_parse(const char *name, enum pflog_format *out);
const char *pflog_kind_name(enum pflog_kind k);
const char *pflog_bad_name(enum pflog_bad b);
const char *pflog_status_name(enum pflog_status s);
const char *pflog_daemon_str(enum pflog_daemon d);

#endif
