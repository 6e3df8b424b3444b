/*
 * mailcow — lenient reading of mailcow API answers; see mailcow.h.
 *
 * mailcow answers with PHP's json_encode of database rows, so integers
 * often arrive as strings ("active": "1"), an empty PHP array becomes `[]`
 * or `{}`, and a single object may come where a list is expected (the
 * /get/domain/NAME form).  Only the names releve needs are required; the
 * dozens of other fields are ignored.  The `active` flag is read (and must
 * be a number) but does not drop anything: a disabled mailbox still holds
 * mail, and its storage is billed.
 */
#include "mailcow.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/jsonv.h"
#include "common/xalloc.h"
#include "registry.h"

void mailcow_init(struct mailcow *m)
{
	memset(m, 0, sizeof(*m));
}

void mailcow_free(struct mailcow *m)
{
	size_t i;

	if (!m) {
		return;
	}
	for (i = 0; i < m->ndom; i++) {
		free(m->dom[i].name);
		free(m->dom[i].customer);
		free(m->dom[i].how);
		free(m->dom[i].tag);
		free(m->dom[i].attr);
		free(m->dom[i].where);
	}
	free(m->dom);
	for (i = 0; i < m->nmbx; i++) {
		free(m->mbx[i].address);
		free(m->mbx[i].login);
		free(m->mbx[i].domain);
		free(m->mbx[i].created);
		free(m->mbx[i].where);
	}
	free(m->mbx);
	for (i = 0; i < m->nmap; i++) {
		free(m->map[i].domain);
		free(m->map[i].customer);
		free(m->map[i].where);
	}
	free(m->map);
	free(m->unmapped);
	memset(m, 0, sizeof(*m));
}

static struct mc_domain *find_domain(struct mailcow *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->ndom; i++) {
		if (!strcmp(m->dom[i].name, name)) {
			return &m->dom[i];
		}
	}
	return NULL;
}

static struct mc_domain *add_domain(struct mailcow *m, const char *name,
				    const char *where)
{
	struct mc_domain *x = find_domain(m, name);

	if (x) {
		return x;
	}
	m->dom = xreallocarray(m->dom, m->ndom + 1, sizeof(*m->dom));
	x = &m->dom[m->ndom++];
	memset(x, 0, sizeof(*x));
	x->name = xstrdup(name);
	x->where = xstrdup(where);
	return x;
}

/*
 * The list of an answer: an array; `{}` (PHP's empty array) as an empty
 * list; an object holding `key` as a list of one.  NULL with an error
 * otherwise (mailcow's error answers are objects with "msg").
 */
static json_t *as_list(struct jsonv *v, json_t *doc, const char *key)
{
	json_t *msg;

	if (json_is_array(doc)) {
		return json_incref(doc);
	}
	if (json_is_object(doc) && json_object_size(doc) == 0) {
		return json_array();
	}
	if (json_is_object(doc) && json_object_get(doc, key)) {
		json_t *a = json_array();

		json_array_append(a, doc);
		return a;
	}
	msg = json_is_object(doc) ? json_object_get(doc, "msg") : NULL;
	if (json_is_string(msg)) {
		jsonv_error(v, "expected a list of objects with \"%s\" (mailcow answered: %s)",
			    key, json_string_value(msg));
	} else {
		jsonv_error(v, "expected a list of objects with \"%s\"", key);
	}
	return NULL;
}

/* A customer id from a string or a number (custom attributes may hold
 * either); NULL when absent. */
static char *id_of(json_t *j)
{
	if (json_is_string(j) && json_string_length(j) > 0) {
		return xstrdup(json_string_value(j));
	}
	if (json_is_integer(j)) {
		return xasprintf("%lld", (long long)json_integer_value(j));
	}
	return NULL;
}

static void read_tags(struct jsonv *v, struct mc_domain *x, json_t *tags)
{
	size_t i;
	json_t *t;
	char *list = NULL;

	if (json_is_string(tags)) {
		/* some versions give "tag1,tag2" */
		list = xstrdup(json_string_value(tags));
	} else if (json_is_array(tags)) {
		json_array_foreach(tags, i, t) {
			if (json_is_string(t) &&
			    !strncmp(json_string_value(t), "customer:", 9) &&
			    json_string_value(t)[9]) {
				free(x->tag);
				x->tag = xstrdup(json_string_value(t) + 9);
			}
		}
		return;
	} else if (tags && !json_is_null(tags) && !json_is_object(tags)) {
		jsonv_field_error(v, "tags", "expected a list of strings");
		return;
	}
	if (list) {
		char *save = NULL, *tok;

		for (tok = strtok_r(list, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save)) {
			while (isspace((unsigned char)*tok)) {
				tok++;
			}
			if (!strncmp(tok, "customer:", 9) && tok[9]) {
				free(x->tag);
				x->tag = xstrdup(tok + 9);
			}
		}
		free(list);
	}
}

int mailcow_parse_domains(struct mailcow *m, const char *file,
			  const char *buf, size_t len, struct diag *d)
{
	struct jsonv v;
	json_t *doc = jsonv_load_buffer(file, buf, len, d), *list, *o;
	size_t before = d->n, i, mark;

	if (!doc) {
		return -1;
	}
	jsonv_init(&v, file, d);
	list = as_list(&v, doc, "domain_name");
	json_array_foreach(list, i, o) {
		const char *name;
		long long active;

		mark = jsonv_index(&v, i);
		if (!json_is_object(o)) {
			jsonv_error(&v, "expected an object (a mailcow domain)");
			jsonv_pop(&v, mark);
			continue;
		}
		name = jsonv_string(&v, o, "domain_name", 1);
		(void)jsonv_int(&v, o, "active", 0, 1, &active);
		if (name) {
			char *low = registry_lower(xstrdup(name));

			if (!registry_domain_ok(low)) {
				jsonv_field_error(&v, "domain_name",
						  "'%s' is not a domain name", name);
			} else {
				char *where = xasprintf("%s: %s", file, v.path);
				struct mc_domain *x = add_domain(m, low, where);

				read_tags(&v, x, json_object_get(o, "tags"));
				free(where);
			}
			free(low);
		}
		jsonv_pop(&v, mark);
	}
	json_decref(list);
	json_decref(doc);
	return d->n > before ? -1 : 0;
}

/* "2024-01-10 10:22:33" -> "2024-01-10"; NULL when not a date. */
static char *date_of(json_t *j)
{
	const char *s = json_is_string(j) ? json_string_value(j) : NULL;
	char buf[11];

	if (!s || strlen(s) < 10) {
		return NULL;
	}
	memcpy(buf, s, 10);
	buf[10] = '\0';
	return registry_date_ok(buf) ? xstrdup(buf) : NULL;
}

int mailcow_parse_mailboxes(struct mailcow *m, const char *file,
			    const char *buf, size_t len, struct diag *d)
{
	struct jsonv v;
	json_t *doc = jsonv_load_buffer(file, buf, len, d), *list, *o;
	size_t before = d->n, i, mark;

	if (!doc) {
		return -1;
	}
	jsonv_init(&v, file, d);
	list = as_list(&v, doc, "username");
	json_array_foreach(list, i, o) {
		const char *user, *lp, *dom;
		char *addr = NULL;
		long long active;
		json_t *ca;

		mark = jsonv_index(&v, i);
		if (!json_is_object(o)) {
			jsonv_error(&v, "expected an object (a mailcow mailbox)");
			jsonv_pop(&v, mark);
			continue;
		}
		user = jsonv_string(&v, o, "username", 1);
		lp = jsonv_string(&v, o, "local_part", 0);
		dom = jsonv_string(&v, o, "domain", 0);
		(void)jsonv_int(&v, o, "active", 0, 1, &active);
		if (user) {
			addr = registry_lower(xstrdup(user));
		}
		if (addr && !registry_address_ok(addr)) {
			jsonv_field_error(&v, "username",
					  "'%s' is not a mailbox address", user);
		} else if (addr && dom && strcasecmp(strchr(addr, '@') + 1, dom)) {
			jsonv_field_error(&v, "domain",
					  "'%s' is not the domain of username '%s'",
					  dom, user);
		} else if (addr) {
			struct mc_mailbox *x;
			struct mc_domain *dx;
			char *attr = NULL;

			(void)lp;
			m->mbx = xreallocarray(m->mbx, m->nmbx + 1,
					       sizeof(*m->mbx));
			x = &m->mbx[m->nmbx++];
			memset(x, 0, sizeof(*x));
			x->address = xstrdup(addr);
			x->login = xstrdup(addr);
			x->domain = xstrdup(strchr(addr, '@') + 1);
			x->created = date_of(json_object_get(o, "created"));
			x->where = xasprintf("%s: %s", file, v.path);
			ca = json_object_get(o, "custom_attributes");
			if (json_is_object(ca)) {
				attr = id_of(json_object_get(ca, "customer_id"));
				if (!attr) {
					attr = id_of(json_object_get(ca, "customer"));
				}
			} else if (ca && !json_is_array(ca) && !json_is_null(ca)) {
				jsonv_field_error(&v, "custom_attributes",
						  "expected an object");
			}
			dx = add_domain(m, x->domain, x->where);
			if (attr && dx->attr && strcmp(attr, dx->attr)) {
				jsonv_field_error(&v, "custom_attributes",
						  "customer '%s', but another mailbox of %s "
						  "says '%s'", attr, x->domain, dx->attr);
			} else if (attr && !dx->attr) {
				dx->attr = xstrdup(attr);
			}
			free(attr);
		}
		free(addr);
		jsonv_pop(&v, mark);
	}
	json_decref(list);
	json_decref(doc);
	return d->n > before ? -1 : 0;
}

int mailcow_parse_map(struct mailcow *m, const char *file, const char *buf,
		      size_t len, struct diag *d)
{
	size_t before = d->n, off = 0, i;
	long line = 0;

	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (buf + off)) : len - off;
		char *s = xstrndup(buf + off, n), *hash, *a, *b, *rest;
		char *save = NULL;

		off += n + (nl ? 1 : 0);
		line++;
		if ((hash = strchr(s, '#'))) {
			*hash = '\0';
		}
		a = strtok_r(s, " \t\r,;", &save);
		b = a ? strtok_r(NULL, " \t\r,;", &save) : NULL;
		rest = b ? strtok_r(NULL, " \t\r,;", &save) : NULL;
		if (!a || !strcasecmp(a, "domain")) {
			free(s); /* blank, comment or a CSV header */
			continue;
		}
		registry_lower(a);
		if (!b || rest) {
			diag_add(d, "%s: line %ld: expected 'domain customer_id' "
				 "(or domain,customer_id)", file, line);
		} else if (!registry_domain_ok(a)) {
			diag_add(d, "%s: line %ld: '%s' is not a domain name", file,
				 line, a);
		} else {
			for (i = 0; i < m->nmap; i++) {
				if (!strcmp(m->map[i].domain, a)) {
					break;
				}
			}
			if (i < m->nmap && strcmp(m->map[i].customer, b)) {
				diag_add(d, "%s: line %ld: %s is mapped to %s here and to "
					 "%s at %s", file, line, a, b,
					 m->map[i].customer, m->map[i].where);
			} else if (i == m->nmap) {
				m->map = xreallocarray(m->map, m->nmap + 1,
						       sizeof(*m->map));
				m->map[m->nmap].domain = xstrdup(a);
				m->map[m->nmap].customer = xstrdup(b);
				m->map[m->nmap].where =
					xasprintf("%s: line %ld", file, line);
				m->nmap++;
			}
		}
		free(s);
	}
	return d->n > before ? -1 : 0;
}

int mailcow_resolve(struct mailcow *m, struct diag *d)
{
	size_t i, j;

	(void)d;
	free(m->unmapped);
	m->unmapped = NULL;
	m->nunmapped = 0;
	for (i = 0; i < m->ndom; i++) {
		struct mc_domain *x = &m->dom[i];

		free(x->customer);
		free(x->how);
		x->customer = x->how = NULL;
		for (j = 0; j < m->nmap; j++) {
			if (!strcmp(m->map[j].domain, x->name)) {
				x->customer = xstrdup(m->map[j].customer);
				x->how = xasprintf("domain map %s",
						   m->map[j].where);
				break;
			}
		}
		if (!x->customer && x->tag) {
			x->customer = xstrdup(x->tag);
			x->how = xasprintf("tag customer:%s at %s", x->tag,
					   x->where);
		}
		if (!x->customer && x->attr) {
			x->customer = xstrdup(x->attr);
			x->how = xstrdup("custom attribute of its mailboxes");
		}
		if (!x->customer) {
			m->unmapped = xreallocarray(m->unmapped,
						    m->nunmapped + 1,
						    sizeof(*m->unmapped));
			m->unmapped[m->nunmapped++] = x->name;
		}
	}
	for (i = 0; i < m->nmbx; i++) {
		struct mc_domain *x = find_domain(m, m->mbx[i].domain);

		m->mbx[i].skipped = !x || !x->customer;
	}
	return 0;
}
