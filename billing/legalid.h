/*
 * legalid — checks of legal identifiers: ISO 3166-1 country codes, EU
 * membership, SIREN, VAT numbers (format per EU member state, and the
 * French key against the SIREN), IBAN (mod 97).  Pure functions.
 */
#ifndef RELEVE_LEGALID_H
#define RELEVE_LEGALID_H

#include <stddef.h>

/* 1 when cc is an officially assigned ISO 3166-1 alpha-2 code ("FR"). */
int country_is_iso3166(const char *cc);
/* 1 when cc is one of the 27 EU member states (Greece is "GR"). */
int country_is_eu(const char *cc);
/* 1 when s is 9 digits with a valid Luhn key. */
int siren_is_valid(const char *s);
/*
 * 0 when vat is a well-formed VAT number for country cc (prefix included:
 * "FR40303265045", Greece "EL..."), else -1 with the expected form in why
 * ("FR + 2 key characters + the 9-digit SIREN").  For a French number with
 * a SIREN given (siren may be NULL), the two must agree.
 */
int vat_number_check(const char *cc, const char *vat, const char *siren,
		     char *why, size_t whylen);
/* 1 when iban (spaces allowed) has a valid country, length and mod-97. */
int iban_is_valid(const char *iban);
/* 1 when bic is 8 or 11 characters of the BIC form (AAAABBCC[DDD]). */
int bic_is_valid(const char *bic);

#endif
