/*
 * fuzz_seller — libFuzzer target over the seller document (the legal
 * identity, invoicing series and accounts printed on every invoice) and
 * the legal-mention placeholder expansion.  Invariants: a refused
 * document leaves no seller and at least one error; an accepted one has
 * no error, and its canonical form parses back to the same canonical
 * form; expanding a mention never fails and drops no text outside the
 * placeholders.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "billing/invoice.h"
#include "billing/seller.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d = DIAG_INIT;
	struct seller s, s2;
	json_t *doc = json_loadb((const char *)data, size, 0, NULL);
	char *text = malloc(size + 1), *out;

	memcpy(text, data, size);
	text[size] = '\0';
	if (doc) {
		if (seller_from_json(&s, "fuzz", doc, &d) == 0) {
			json_t *c1 = seller_to_json(&s), *c2;
			struct diag d2 = DIAG_INIT;

			if (d.n != 0 ||
			    seller_from_json(&s2, "canonical", c1, &d2) != 0) {
				abort();
			}
			c2 = seller_to_json(&s2);
			if (!json_equal(c1, c2)) {
				abort();
			}
			/* The mention expansion with a real seller. */
			out = invoice_mention_expand(text, &s, "DE", 19000000,
						     size & 1);
			if (!out) {
				abort();
			}
			free(out);
			json_decref(c1);
			json_decref(c2);
			seller_free(&s);
			seller_free(&s2);
			diag_free(&d2);
		} else if (d.n == 0 || s.name != NULL) {
			abort();
		}
		json_decref(doc);
	} else {
		/* Any text through the expansion: without placeholders it
		 * comes back unchanged. */
		memset(&s, 0, sizeof(s));
		seller_defaults(&s);
		out = invoice_mention_expand(text, &s, NULL, 0, 1);
		if (!out || (!strchr(text, '{') && strcmp(out, text))) {
			abort();
		}
		free(out);
	}
	diag_free(&d);
	free(text);
	return 0;
}
