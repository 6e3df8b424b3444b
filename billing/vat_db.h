/*
 * vat_db — read VAT rates and legal mentions in force on a day from the
 * vat_rates and legal_mentions tables (sql/005_vat.sql), for vat_decide()
 * and the invoices.
 */
#ifndef RELEVE_VAT_DB_H
#define RELEVE_VAT_DB_H

#include <libpq-fe.h>

#include "common/diag.h"
#include "vat.h"

/*
 * Every standard rate in force on date ("YYYY-MM-DD"; the issue says: the
 * period's last day) into *t, usable with vat_rates_lookup.  Returns 0, or
 * -1 with the error in d and *t empty.  Free with vat_db_rates_free().
 */
int vat_db_rates(PGconn *c, const char *date, struct vat_rates *t,
		 struct diag *d);
/* Accepts an empty or already freed table. */
void vat_db_rates_free(struct vat_rates *t);

/*
 * The text of mention key in language ("fr" | "en") in force on date
 * (caller frees), or NULL with an error in d when there is none.
 */
char *vat_db_mention(PGconn *c, const char *key, const char *language,
		     const char *date, struct diag *d);

#endif
