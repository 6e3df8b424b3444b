/*
 * test_legalid — country codes, SIREN, VAT numbers of every EU member
 * state (and the loose non-EU rules), IBAN and BIC: tables of real-shaped
 * valid and invalid identifiers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "billing/legalid.h"

static void test_countries(void **state)
{
	static const char *const yes[] = {"FR", "BE", "DE", "CH", "GB", "GR",
					  "AX", "BQ", "SS"};
	static const char *const no[] = {"UK", "EL", "XK", "EU", "fr", "F",
					 "FRA", "ZZ", "AA"};
	static const char *const eu[] = {"AT", "BE", "BG", "HR", "CY", "CZ",
					 "DK", "EE", "FI", "FR", "DE", "GR",
					 "HU", "IE", "IT", "LV", "LT", "LU",
					 "MT", "NL", "PL", "PT", "RO", "SK",
					 "SI", "ES", "SE"};
	static const char *const not_eu[] = {"CH", "GB", "NO", "EL", "MC",
					     "IS", "LI"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		assert_true(country_is_iso3166(yes[i]));
	}
	assert_false(country_is_iso3166(""));
	assert_false(country_is_iso3166(NULL));
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		assert_false(country_is_iso3166(no[i]));
	}
	for (i = 0; i < sizeof(eu) / sizeof(eu[0]); i++) {
		assert_true(country_is_eu(eu[i]));
		assert_true(country_is_iso3166(eu[i]));
	}
	for (i = 0; i < sizeof(not_eu) / sizeof(not_eu[0]); i++) {
		assert_false(country_is_eu(not_eu[i]));
	}
}

static void test_siren(void **state)
{
	static const struct {
		const char *s;
		int ok;
	} t[] = {
		{"732829320", 1}, {"834156275", 1}, {"356000000", 1},
		{"552081317", 1}, {"912345675", 1},
		{"732829321", 0}, {"123456789", 0}, {"73282932", 0},
		{"7328293200", 0}, {"73282932A", 0}, {"", 0},
		{"732 829 320", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (siren_is_valid(t[i].s) != t[i].ok) {
			fail_msg("siren %s: expected %d", t[i].s, t[i].ok);
		}
	}
	assert_false(siren_is_valid(NULL));
}

static void test_vat(void **state)
{
	static const struct {
		const char *cc, *vat, *siren;
		int ok;
		const char *why; /* part of the message when refused */
	} t[] = {
		/* France: key = (12 + 3 * (SIREN mod 97)) mod 97 */
		{"FR", "FR40303265045", NULL, 1, NULL},
		{"FR", "FR44732829320", "732829320", 1, NULL},
		{"FR", "FR78834156275", "834156275", 1, NULL},
		{"FR", "FR41732829320", NULL, 0, "expected key 44"},
		{"FR", "FR44732829320", "834156275", 0, "customer's SIREN"},
		{"FR", "FRA1732829320", NULL, 1, NULL}, /* alphanumeric key */
		{"FR", "FRO1732829320", NULL, 0, "other than I and O"},
		{"FR", "FR44732829321", NULL, 0, "valid SIREN"},
		{"FR", "FR4473282932", NULL, 0, "2 key characters"},
		{"FR", "DE812345673", NULL, 0, "FR + 2 key"},
		{"MC", "FR44732829320", NULL, 1, NULL},
		/* La Réunion: a French number. */
		{"RE", "FR44732829320", NULL, 1, NULL},
		{"RE", "RE44732829320", NULL, 0, "FR + 2 key"},
		/* every other member state */
		{"AT", "ATU13585627", NULL, 1, NULL},
		{"AT", "AT13585627", NULL, 0, "ATU"},
		{"BE", "BE0417238570", NULL, 1, NULL},
		{"BE", "BE1417238570", NULL, 1, NULL},
		{"BE", "BE2417238570", NULL, 0, "0 or 1"},
		{"BE", "BE417238570", NULL, 0, "10 digits"},
		{"BG", "BG123456789", NULL, 1, NULL},
		{"BG", "BG1234567890", NULL, 1, NULL},
		{"BG", "BG12345678", NULL, 0, "9 or 10"},
		{"CY", "CY10259033P", NULL, 1, NULL},
		{"CY", "CY102590331", NULL, 0, "letter"},
		{"CZ", "CZ12345678", NULL, 1, NULL},
		{"CZ", "CZ1234567890", NULL, 1, NULL},
		{"CZ", "CZ1234567", NULL, 0, "8, 9 or 10"},
		{"DE", "DE812345673", NULL, 1, NULL},
		{"DE", "DE81234567", NULL, 0, "DE + 9 digits"},
		{"DK", "DK13585628", NULL, 1, NULL},
		{"EE", "EE100931558", NULL, 1, NULL},
		{"GR", "EL094259216", NULL, 1, NULL},
		{"GR", "GR094259216", NULL, 0, "EL"},
		{"ES", "ESA12345674", NULL, 1, NULL},
		{"ES", "ES12345678Z", NULL, 1, NULL},
		{"ES", "ESX1234567L", NULL, 1, NULL},
		{"ES", "ES123456789", NULL, 0, "not both digits"},
		{"FI", "FI20774740", NULL, 1, NULL},
		{"HR", "HR33392005961", NULL, 1, NULL},
		{"HU", "HU12892312", NULL, 1, NULL},
		{"IE", "IE6388047V", NULL, 1, NULL},
		{"IE", "IE3628739UA", NULL, 1, NULL},
		{"IE", "IE8Z49289F", NULL, 1, NULL},
		{"IE", "IE1+23456A", NULL, 1, NULL},
		{"IE", "IE63880471", NULL, 0, "IE + 7 digits"},
		{"IT", "IT00743110157", NULL, 1, NULL},
		{"IT", "IT0074311015", NULL, 0, "11 digits"},
		{"LT", "LT119511515", NULL, 1, NULL},
		{"LT", "LT100001919017", NULL, 1, NULL},
		{"LU", "LU26375245", NULL, 1, NULL},
		{"LV", "LV40003521600", NULL, 1, NULL},
		{"MT", "MT11679112", NULL, 1, NULL},
		{"NL", "NL004495445B01", NULL, 1, NULL},
		{"NL", "NL004495445", NULL, 0, "B + 2 digits"},
		{"PL", "PL5260250274", NULL, 1, NULL},
		{"PT", "PT501964843", NULL, 1, NULL},
		{"RO", "RO18547290", NULL, 1, NULL},
		{"RO", "RO12", NULL, 1, NULL},
		{"RO", "RO1", NULL, 0, "2 to 10"},
		{"SE", "SE556188840401", NULL, 1, NULL},
		{"SE", "SE556188840402", NULL, 0, "01"},
		{"SI", "SI50223054", NULL, 1, NULL},
		{"SK", "SK2022749619", NULL, 1, NULL},
		/* outside the EU */
		{"CH", "CHE116281710", NULL, 1, NULL},
		{"CH", "CHE123456789", NULL, 0, "check digit"},
		{"CH", "CHE-116.281.710", NULL, 0, "capitals and digits"},
		{"LI", "CHE116281710", NULL, 1, NULL},
		{"GB", "GB980780684", NULL, 1, NULL},
		{"GB", "GBGD001", NULL, 1, NULL},
		{"GB", "GB98078068", NULL, 0, "GB + 9 or 12"},
		{"NO", "NO923609016MVA", NULL, 1, NULL},
		{"US", "US123456789", NULL, 1, NULL},
		{"US", "CA123456789", NULL, 0, "US + 2 to 13"},
		/* bad input */
		{"XX", "XX12345678", NULL, 0, "not an ISO 3166-1"},
		{"FR", "fr40303265045", NULL, 0, "capitals"},
		{"FR", "", NULL, 0, "FR + 2 key"},
	};
	char why[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int rc = vat_number_check(t[i].cc, t[i].vat, t[i].siren, why,
					  sizeof(why));

		if ((rc == 0) != t[i].ok) {
			fail_msg("%s %s: expected %s (%s)", t[i].cc, t[i].vat,
				 t[i].ok ? "valid" : "invalid", why);
		}
		if (!t[i].ok && !strstr(why, t[i].why)) {
			fail_msg("%s %s: message '%s' lacks '%s'", t[i].cc,
				 t[i].vat, why, t[i].why);
		}
	}
	assert_int_equal(vat_number_check("FR", NULL, NULL, why, sizeof(why)), -1);
	assert_int_equal(vat_number_check("FR", "FR41732829320", NULL, NULL, 0), -1);
}

static void test_iban_bic(void **state)
{
	static const struct {
		const char *s;
		int ok;
	} iban[] = {
		{"FR76 3000 6000 0112 3456 7890 189", 1},
		{"FR7630006000011234567890189", 1},
		{"DE89 3704 0044 0532 0130 00", 1},
		{"BE68 5390 0754 7034", 1},
		{"GB29 NWBK 6016 1331 9268 19", 1},
		{"CH93 0076 2011 6238 5295 7", 1},
		{"NL91 ABNA 0417 1643 00", 1},
		{"IT60 X054 2811 1010 0000 0123 456", 1},
		{"ES91 2100 0418 4502 0005 1332", 1},
		{"NO93 8601 1117 947", 1},
		{"MT84 MALT 0110 0001 2345 MTLC AST0 01S", 1},
		{"FR76 3000 6000 0112 3456 7890 188", 0}, /* mod 97 */
		{"FR76 3000 6000 0112 3456 7890 18", 0},  /* length */
		{"DE89 3704 0044 0532 0130 000", 0},
		{"XX89 3704 0044 0532 0130 00", 0},
		{"fr76 3000 6000 0112 3456 7890 189", 0},
		{"FR76-3000-6000-0112-3456-7890-189", 0},
		{"", 0},
	};
	static const struct {
		const char *s;
		int ok;
	} bic[] = {
		{"CCOPFRPPXXX", 1}, {"BNPAFRPP", 1}, {"DEUTDEFF500", 1},
		{"GEBABEBB", 1}, {"BNPAFRP", 0}, {"BNPAFRPPXX", 0},
		{"BNP1FRPP", 0}, {"BNPAZZPP", 0}, {"bnpafrpp", 0}, {"", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(iban) / sizeof(iban[0]); i++) {
		if (iban_is_valid(iban[i].s) != iban[i].ok) {
			fail_msg("iban %s: expected %d", iban[i].s, iban[i].ok);
		}
	}
	for (i = 0; i < sizeof(bic) / sizeof(bic[0]); i++) {
		if (bic_is_valid(bic[i].s) != bic[i].ok) {
			fail_msg("bic %s: expected %d", bic[i].s, bic[i].ok);
		}
	}
	assert_false(iban_is_valid(NULL));
	assert_false(bic_is_valid(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_countries),
		cmocka_unit_test(test_siren),
		cmocka_unit_test(test_vat),
		cmocka_unit_test(test_iban_bic),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
