/* libFuzzer driver: the GATEHOUSE_WEBHOOKS endpoint list (webhook/endpoints.c).  An accepted list
 * must hold only what the parser promises: a URL of bounded length starting https:// or http://,
 * at least one known event, a key of 24 to 64 bytes, no URL twice; a refused one an error that
 * never holds the input's secret text and an empty result. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "webhook/endpoints.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct webhook_endpoints eps;
	char err[512], *text;

	if (!ready) {
		if (sodium_init() < 0)
			abort();
		ready = 1;
	}
	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (webhook_endpoints_parse(text, &eps, err, sizeof(err)) == 0) {
		for (int i = 0; i < eps.n; i++) {
			const struct webhook_endpoint *e = &eps.e[i];
			size_t len = strlen(e->url);

			if (len == 0 || len > STORE_WEBHOOK_URL_MAX ||
			    (strncmp(e->url, "https://", 8) != 0 && strncmp(e->url, "http://", 7) != 0))
				abort();
			if (e->events == 0 || e->events >= (1u << WEBHOOK_NEVENTS))
				abort();
			if (e->keylen < WEBHOOK_KEY_MIN || e->keylen > WEBHOOK_KEY_MAX)
				abort();
			for (int k = 0; k < i; k++)
				if (strcmp(eps.e[k].url, e->url) == 0)
					abort();
		}
		if (eps.n > WEBHOOK_MAX_ENDPOINTS)
			abort();
	} else {
		const char *w = strstr(text, "whsec_");

		if (eps.n != 0 || err[0] == '\0')
			abort();
		/* the secret's text (past its prefix) never reaches the message */
		if (w && strlen(w + 6) >= 12) {
			char probe[13];
			memcpy(probe, w + 6, 12);
			probe[12] = '\0';
			/* (a probe an event name could spell, lower case only, proves nothing) */
			if (strspn(probe,
			        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") == 12 &&
			    strspn(probe, "abcdefghijklmnopqrstuvwxyz") < 12 && strstr(err, probe) != NULL)
				abort();
		}
	}
	webhook_endpoints_wipe(&eps);
	free(text);
	return 0;
}
