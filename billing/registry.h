/*
 * registry — the customer registry: customers with their domains,
 * mailboxes and subscriptions, read from the import document (JSON or
 * CSV) and checked before anything touches the database.
 *
 * Reading is two steps, both pure (bytes in, structs out, no I/O):
 * registry_parse_json() / registry_parse_csv() check the shape (fields,
 * types, columns) and fill a struct registry; registry_validate() checks
 * the content (forms, legal identifiers, dates, duplicates, overlaps) the
 * same way whatever the source.  Both add one message per problem to a
 * struct diag, naming the file and the place ("registry.json:
 * customers[2].country: ..." or "registry.csv: line 4, column country:
 * ..."), and go on, so that the user sees every error at once.
 *
 * The registry owns every string in it; registry_free() releases them.
 * Absent optional fields are NULL.  Domains, mailbox addresses and logins
 * are stored lower-case; VAT numbers in their compact upper-case form
 * ("CHE-116.281.710 TVA" becomes "CHE116281710"); country codes upper-case.
 */
#ifndef RELEVE_REGISTRY_H
#define RELEVE_REGISTRY_H

#include <jansson.h>
#include <stddef.h>

#include "common/diag.h"

struct reg_mailbox {
	char *address; /* local@domain, lower-case */
	char *login;   /* SASL login; the address when not given */
	char *start;   /* YYYY-MM-DD or NULL: the days it exists, */
	char *end;     /* start <= day < end (end exclusive) */
};

struct reg_subscription {
	char *plan;  /* tariff plan code */
	char *start; /* YYYY-MM-DD */
	char *end;   /* YYYY-MM-DD (exclusive) or NULL: open */
};

struct reg_customer {
	char *id, *name, *kind;
	char *line1, *line2, *postal_code, *city;
	char *country, *vat_number, *siren, *billing_email, *language;
	char **domains;
	size_t ndomains;
	struct reg_mailbox *mailboxes;
	size_t nmailboxes;
	struct reg_subscription *subs;
	size_t nsubs;
	long line; /* CSV: the line of its row; JSON: its index */
};

struct registry {
	char *file; /* name used in messages */
	int csv;    /* read from CSV: places are lines and columns */
	struct reg_customer *v;
	size_t n, cap;
};

/* Empty registry named file (copied). */
void registry_init(struct registry *r, const char *file);
void registry_free(struct registry *r);

/* Shape of the JSON document {"customers": [...]}: 0, or -1 with errors. */
int registry_parse_json(struct registry *r, json_t *doc, struct diag *d);
/* Same from bytes (syntax errors name line and column). */
int registry_parse_json_buffer(struct registry *r, const char *buf,
			       size_t len, struct diag *d);
/* The CSV form: a header row naming the columns, one row per customer. */
int registry_parse_csv(struct registry *r, const char *buf, size_t len,
		       struct diag *d);
/* Content checks of every customer; 0, or -1 with every error added. */
int registry_validate(const struct registry *r, struct diag *d);

/*
 * The place of a customer's field for messages, without the file name:
 * list is NULL, "domains", "mailboxes" or "subscriptions" (then idx is
 * the item), field the leaf ("country", "address.city", "plan") or NULL.
 * Caller frees.
 */
char *registry_place(const struct registry *r, size_t ci, const char *list,
		     size_t idx, const char *field);

/* The import document, every field present (null when absent); caller
 * json_decref()s.  Customers in the registry's order. */
json_t *registry_to_json(const struct registry *r);

/* Validity of forms shared with the mailcow reader. */
int registry_domain_ok(const char *s);
int registry_address_ok(const char *s);
int registry_date_ok(const char *s);
/* Lower-case s in place (ASCII); returns s. */
char *registry_lower(char *s);

#endif
