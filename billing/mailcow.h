/*
 * mailcow — read mailcow's API answers for a registry sync: the domains
 * (/api/v1/get/domain/all) and mailboxes (/api/v1/get/mailbox/all), and
 * the operator's domain -> customer map.  Pure: bytes in, structs out.
 *
 * mailcow's JSON is read leniently, as mailcow writes it: numbers may be
 * numeric strings, an empty list may be `{}`, dates may be null, a
 * mailbox's custom_attributes may be `{}` or `[]`, unknown fields are
 * ignored.  What is needed (domain names, usernames) is still checked and
 * every problem is reported with the file and the JSON path.
 *
 * A domain's customer is found, in this order, in the --domain-map file,
 * in a domain tag `customer:ID`, or in the custom attribute `customer_id`
 * (or `customer`) of its mailboxes.  Domains found nowhere are listed in
 * `unmapped` (with their mailboxes left out): the caller reports them.
 * The struct owns its strings; mailcow_free() releases them.
 */
#ifndef RELEVE_MAILCOW_H
#define RELEVE_MAILCOW_H

#include <stddef.h>

#include "common/diag.h"

struct mc_domain {
	char *name;	/* lower-case */
	char *customer; /* resolved customer id, NULL when unmapped */
	char *how;	/* where the mapping came from, for messages */
	char *tag;	/* from the domain's tags */
	char *attr;	/* from its mailboxes' custom attributes */
	char *where;	/* place in the domains file, or the mailbox file */
};

struct mc_mailbox {
	char *address; /* lower-case local@domain */
	char *login;   /* the mailcow username (its SASL login) */
	char *domain;
	char *created; /* YYYY-MM-DD from `created`, or NULL */
	char *where;   /* "file: [3]" */
	int skipped;   /* its domain is unmapped */
};

struct mc_map {
	char *domain, *customer, *where;
};

struct mailcow {
	struct mc_domain *dom;
	size_t ndom;
	struct mc_mailbox *mbx;
	size_t nmbx;
	struct mc_map *map;
	size_t nmap;
	char **unmapped; /* names, borrowed from dom */
	size_t nunmapped;
};

void mailcow_init(struct mailcow *m);
void mailcow_free(struct mailcow *m);
/* Each returns 0, or -1 with every error added to d. */
int mailcow_parse_domains(struct mailcow *m, const char *file,
			  const char *buf, size_t len, struct diag *d);
int mailcow_parse_mailboxes(struct mailcow *m, const char *file,
			    const char *buf, size_t len, struct diag *d);
/* Lines `domain customer_id` or `domain,customer_id`; # comments. */
int mailcow_parse_map(struct mailcow *m, const char *file, const char *buf,
		      size_t len, struct diag *d);
/* After the three above: give each domain its customer. */
int mailcow_resolve(struct mailcow *m, struct diag *d);

#endif
