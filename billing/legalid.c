/*
 * legalid — checks of legal identifiers; see legalid.h.
 *
 * Pure functions over NUL-terminated strings: no I/O, no allocation.
 * They take the compact, upper-case form ("FR40303265045", no spaces or
 * dots); callers normalise what users type before asking (registry.c does
 * for VAT numbers), except IBANs, where spaces are allowed because that is
 * how every bank prints them.
 *
 * VAT numbers of EU member states follow the forms the European
 * Commission's VIES publishes.  Only the French key is checked
 * arithmetically (against the SIREN): it is the case the invoices of a
 * French seller depend on, and the only key whose rule is public and
 * stable.  Outside the EU a VAT number is printed on the invoice but never
 * changes the tax (out of scope of French VAT), so it is checked loosely:
 * the country's own prefix followed by 2 to 13 letters or digits, with the
 * exact forms of the neighbours customers actually come from: Switzerland
 * and Liechtenstein (UID "CHE" + 9 digits with its mod-11 key), the United
 * Kingdom (GB + 9 or 12 digits, GBGD/GBHA + 3 digits), Norway (NO + 9
 * digits + optional MVA) and Monaco (which uses French VAT numbers).
 */
#include "legalid.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Every officially assigned ISO 3166-1 alpha-2 code (249). */
static const char iso3166[] =
	"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ "
	"BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ "
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ "
	"DE DJ DK DM DO DZ "
	"EC EE EG EH ER ES ET "
	"FI FJ FK FM FO FR "
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY "
	"HK HM HN HR HT HU "
	"ID IE IL IM IN IO IQ IR IS IT "
	"JE JM JO JP "
	"KE KG KH KI KM KN KP KR KW KY KZ "
	"LA LB LC LI LK LR LS LT LU LV LY "
	"MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ "
	"NA NC NE NF NG NI NL NO NP NR NU NZ "
	"OM "
	"PA PE PF PG PH PK PL PM PN PR PS PT PW PY "
	"QA "
	"RE RO RS RU RW "
	"SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ "
	"TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ "
	"UA UG UM US UY UZ "
	"VA VC VE VG VI VN VU "
	"WF WS "
	"YE YT "
	"ZA ZM ZW ";

static const char eu27[] =
	"AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL "
	"PT RO SE SI SK ";

/* Is cc two upper-case letters listed in a "AA BB " table? */
static int in_table(const char *table, const char *cc)
{
	const char *p;

	if (!cc || strlen(cc) != 2 || !isupper((unsigned char)cc[0]) ||
	    !isupper((unsigned char)cc[1])) {
		return 0;
	}
	for (p = table; *p; p += 3) {
		if (p[0] == cc[0] && p[1] == cc[1]) {
			return 1;
		}
	}
	return 0;
}

int country_is_iso3166(const char *cc)
{
	return in_table(iso3166, cc);
}

int country_is_eu(const char *cc)
{
	return in_table(eu27, cc);
}

static int all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	return 1;
}

static int is_upper_alnum(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int siren_is_valid(const char *s)
{
	int sum = 0;
	size_t i;

	if (!s || strlen(s) != 9 || !all_digits(s, 9)) {
		return 0;
	}
	/* Luhn: from the right, every second digit is doubled. */
	for (i = 0; i < 9; i++) {
		int d = s[8 - i] - '0';

		if (i % 2) {
			d *= 2;
			if (d > 9) {
				d -= 9;
			}
		}
		sum += d;
	}
	return sum % 10 == 0;
}

/*
 * A tiny pattern language for VAT bodies (after the 2-letter prefix):
 * '9' a digit, 'A' a letter, 'X' a letter or digit, 'P' a letter, + or *
 * (old Irish numbers), any other character itself.  Alternatives are separated by '|'.
 */
static int match1(const char *pat, size_t plen, const char *s)
{
	size_t i;

	if (strlen(s) != plen) {
		return 0;
	}
	for (i = 0; i < plen; i++) {
		int c = (unsigned char)s[i];

		switch (pat[i]) {
		case '9':
			if (!isdigit(c)) {
				return 0;
			}
			break;
		case 'A':
			if (!(c >= 'A' && c <= 'Z')) {
				return 0;
			}
			break;
		case 'X':
			if (!is_upper_alnum(c)) {
				return 0;
			}
			break;
		case 'P':
			if (!(c >= 'A' && c <= 'Z') && c != '+' && c != '*') {
				return 0;
			}
			break;
		default:
			if (c != pat[i]) {
				return 0;
			}
		}
	}
	return 1;
}

static int match(const char *pats, const char *s)
{
	while (*pats) {
		const char *bar = strchr(pats, '|');
		size_t len = bar ? (size_t)(bar - pats) : strlen(pats);

		if (match1(pats, len, s)) {
			return 1;
		}
		pats += len + (bar ? 1 : 0);
	}
	return 0;
}

struct vat_form {
	const char *cc;	    /* ISO country */
	const char *prefix; /* prefix of the VAT number */
	const char *pats;   /* forms of the rest, see match() */
	const char *why;    /* the expected form, for messages */
};

static const struct vat_form vat_forms[] = {
	{"AT", "AT", "U99999999", "ATU + 8 digits"},
	{"BE", "BE", "0999999999|1999999999", "BE + 10 digits starting with 0 or 1"},
	{"BG", "BG", "999999999|9999999999", "BG + 9 or 10 digits"},
	{"CY", "CY", "99999999A", "CY + 8 digits + 1 letter"},
	{"CZ", "CZ", "99999999|999999999|9999999999", "CZ + 8, 9 or 10 digits"},
	{"DE", "DE", "999999999", "DE + 9 digits"},
	{"DK", "DK", "99999999", "DK + 8 digits"},
	{"EE", "EE", "999999999", "EE + 9 digits"},
	{"ES", "ES", "X9999999X", "ES + a letter or digit + 7 digits + a letter or digit (not both digits)"},
	{"FI", "FI", "99999999", "FI + 8 digits"},
	{"FR", "FR", "XX999999999", "FR + 2 key characters + the 9-digit SIREN"},
	{"GR", "EL", "999999999", "EL + 9 digits (Greece uses EL, not GR)"},
	{"HR", "HR", "99999999999", "HR + 11 digits"},
	{"HU", "HU", "99999999", "HU + 8 digits"},
	{"IE", "IE", "9999999A|9999999AA|9P99999A", "IE + 7 digits + 1 or 2 letters, or digit + letter/+/* + 5 digits + letter"},
	{"IT", "IT", "99999999999", "IT + 11 digits"},
	{"LT", "LT", "999999999|999999999999", "LT + 9 or 12 digits"},
	{"LU", "LU", "99999999", "LU + 8 digits"},
	{"LV", "LV", "99999999999", "LV + 11 digits"},
	{"MT", "MT", "99999999", "MT + 8 digits"},
	{"NL", "NL", "999999999B99", "NL + 9 digits + B + 2 digits"},
	{"PL", "PL", "9999999999", "PL + 10 digits"},
	{"PT", "PT", "999999999", "PT + 9 digits"},
	{"RO", "RO", "99|999|9999|99999|999999|9999999|99999999|999999999|9999999999", "RO + 2 to 10 digits"},
	{"SE", "SE", "999999999901", "SE + 10 digits + 01"},
	{"SI", "SI", "99999999", "SI + 8 digits"},
	{"SK", "SK", "9999999999", "SK + 10 digits"},
	/* Outside the EU: exact forms for the usual neighbours. */
	{"CH", "CH", "E999999999", "CHE + 9 digits (the UID, e.g. CHE-116.281.710 TVA written CHE116281710)"},
	{"LI", "CH", "E999999999", "CHE + 9 digits (Liechtenstein uses Swiss UIDs)"},
	{"GB", "GB", "999999999|999999999999|GD999|HA999", "GB + 9 or 12 digits, or GBGD/GBHA + 3 digits"},
	{"NO", "NO", "999999999|999999999MVA", "NO + 9 digits, optionally followed by MVA"},
	{"MC", "FR", "XX999999999", "FR + 2 key characters + 9 digits (Monaco uses French VAT numbers)"},
	/* The overseas departments use French VAT numbers too. */
	{"GP", "FR", "XX999999999", "FR + 2 key characters + 9 digits (French VAT number)"},
	{"MQ", "FR", "XX999999999", "FR + 2 key characters + 9 digits (French VAT number)"},
	{"RE", "FR", "XX999999999", "FR + 2 key characters + 9 digits (French VAT number)"},
	{"GF", "FR", "XX999999999", "FR + 2 key characters + 9 digits (French VAT number)"},
	{"YT", "FR", "XX999999999", "FR + 2 key characters + 9 digits (French VAT number)"},
};

static const struct vat_form *vat_form_of(const char *cc)
{
	size_t i;

	for (i = 0; i < sizeof(vat_forms) / sizeof(vat_forms[0]); i++) {
		if (!strcmp(vat_forms[i].cc, cc)) {
			return &vat_forms[i];
		}
	}
	return NULL;
}

/* Swiss UID key: weights 5 4 3 2 7 6 5 4, 11 - sum mod 11 (10 is unused). */
static int uid_ch_ok(const char *d9)
{
	static const int w[8] = {5, 4, 3, 2, 7, 6, 5, 4};
	int sum = 0, key, i;

	for (i = 0; i < 8; i++) {
		sum += (d9[i] - '0') * w[i];
	}
	key = 11 - sum % 11;
	if (key == 11) {
		key = 0;
	}
	return key != 10 && key == d9[8] - '0';
}

/* French key characters are digits or letters other than I and O. */
static int fr_key_char(int c)
{
	return isdigit(c) || (c >= 'A' && c <= 'Z' && c != 'I' && c != 'O');
}

static int fail(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int check_fr(const char *cc, const char *vat, const char *siren,
		    char *why, size_t whylen)
{
	const char *body = vat + 2, *sv = vat + 4;

	if (!fr_key_char((unsigned char)body[0]) ||
	    !fr_key_char((unsigned char)body[1])) {
		return fail(why, whylen,
			    "the key characters of %s are digits or letters other than I and O", vat);
	}
	if (!siren_is_valid(sv)) {
		return fail(why, whylen,
			    "%s does not end with a valid SIREN (9 digits with a Luhn key)", vat);
	}
	if (isdigit((unsigned char)body[0]) && isdigit((unsigned char)body[1])) {
		unsigned long long n = 0;
		int key = (body[0] - '0') * 10 + (body[1] - '0'), want;
		int i;

		for (i = 0; i < 9; i++) {
			n = n * 10 + (unsigned)(sv[i] - '0');
		}
		want = (int)((12 + 3 * (n % 97)) % 97);
		if (key != want) {
			char buf[16];

			snprintf(buf, sizeof(buf), "%02d", want);
			return fail(why, whylen,
				    "the key of %s does not match its SIREN (expected key %s)",
				    vat, buf);
		}
	}
	if (siren && *siren && strcmp(siren, sv) != 0 && !strcmp(cc, "FR")) {
		return fail(why, whylen,
			    "%s does not contain the customer's SIREN %s", vat,
			    siren);
	}
	return 0;
}

int vat_number_check(const char *cc, const char *vat, const char *siren,
		     char *why, size_t whylen)
{
	const struct vat_form *f;
	size_t len, i;

	if (why && whylen) {
		why[0] = '\0';
	}
	if (!cc || !vat) {
		return fail(why, whylen, "no country or VAT number");
	}
	if (!strcmp(cc, "EL")) {
		cc = "GR";
	}
	if (!country_is_iso3166(cc)) {
		return fail(why, whylen, "%s is not an ISO 3166-1 country code", cc);
	}
	len = strlen(vat);
	for (i = 0; i < len; i++) {
		if (!is_upper_alnum((unsigned char)vat[i]) && vat[i] != '+' &&
		    vat[i] != '*') {
			return fail(why, whylen,
				    "%s: a VAT number is written in capitals and digits, without spaces or punctuation", vat);
		}
	}
	f = vat_form_of(cc);
	if (!f) {
		/* Another country outside the EU: loose check only. */
		if (len < 4 || len > 15 || strncmp(vat, cc, 2) != 0 ||
		    strchr(vat, '+') || strchr(vat, '*')) {
			return fail(why, whylen,
				    "expected %s + 2 to 13 letters or digits", cc);
		}
		return 0;
	}
	if (len < 2 || strncmp(vat, f->prefix, 2) != 0) {
		return fail(why, whylen, "expected %s", f->why);
	}
	if (!match(f->pats, vat + 2)) {
		return fail(why, whylen, "expected %s", f->why);
	}
	if (!strcmp(f->prefix, "ES") && isdigit((unsigned char)vat[2]) &&
	    isdigit((unsigned char)vat[10])) {
		return fail(why, whylen, "expected %s", f->why);
	}
	if (!strcmp(f->prefix, "FR")) {
		return check_fr(cc, vat, siren, why, whylen);
	}
	if (!strcmp(f->prefix, "CH") && !uid_ch_ok(vat + 3)) {
		return fail(why, whylen,
			    "the check digit of the Swiss UID %s is wrong", vat);
	}
	return 0;
}

struct iban_len {
	char cc[3];
	unsigned char len;
};

/* IBAN lengths of the SWIFT registry: every SEPA country and more. */
static const struct iban_len iban_lens[] = {
	{"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28},
	{"BA", 20}, {"BE", 16}, {"BG", 22}, {"BH", 22}, {"BR", 29},
	{"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24},
	{"DE", 22}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29},
	{"ES", 24}, {"FI", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22},
	{"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28},
	{"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23},
	{"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20},
	{"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20},
	{"LV", 21}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19},
	{"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15},
	{"PK", 24}, {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29},
	{"RO", 24}, {"RS", 22}, {"SA", 24}, {"SC", 31}, {"SE", 24},
	{"SI", 19}, {"SK", 24}, {"SM", 27}, {"ST", 25}, {"SV", 28},
	{"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22},
	{"VG", 24}, {"XK", 20},
};

int iban_is_valid(const char *iban)
{
	char s[40];
	size_t n = 0, i, want = 0;
	unsigned rem = 0;

	if (!iban) {
		return 0;
	}
	for (; *iban; iban++) {
		if (*iban == ' ') {
			continue;
		}
		if (n >= 34 || !is_upper_alnum((unsigned char)*iban)) {
			return 0;
		}
		s[n++] = *iban;
	}
	s[n] = '\0';
	if (n < 5 || !isupper((unsigned char)s[0]) ||
	    !isupper((unsigned char)s[1]) || !isdigit((unsigned char)s[2]) ||
	    !isdigit((unsigned char)s[3])) {
		return 0;
	}
	for (i = 0; i < sizeof(iban_lens) / sizeof(iban_lens[0]); i++) {
		if (s[0] == iban_lens[i].cc[0] && s[1] == iban_lens[i].cc[1]) {
			want = iban_lens[i].len;
		}
	}
	if (want == 0 || n != want) {
		return 0;
	}
	/* Move the first four characters to the end, letters as 10..35,
	 * and take the number mod 97 piecewise: it must be 1. */
	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[(i + 4) % n];

		if (isdigit(c)) {
			rem = (rem * 10 + (unsigned)(c - '0')) % 97;
		} else {
			rem = (rem * 100 + (unsigned)(c - 'A' + 10)) % 97;
		}
	}
	return rem == 1;
}

int bic_is_valid(const char *bic)
{
	size_t n, i;
	char cc[3];

	if (!bic) {
		return 0;
	}
	n = strlen(bic);
	if (n != 8 && n != 11) {
		return 0;
	}
	for (i = 0; i < 6; i++) {
		if (!isupper((unsigned char)bic[i])) {
			return 0;
		}
	}
	for (i = 6; i < n; i++) {
		if (!is_upper_alnum((unsigned char)bic[i])) {
			return 0;
		}
	}
	cc[0] = bic[4];
	cc[1] = bic[5];
	cc[2] = '\0';
	/* Kosovo's XK is used by SWIFT though not assigned by ISO. */
	return country_is_iso3166(cc) || !strcmp(cc, "XK");
}
