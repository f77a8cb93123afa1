/* libFuzzer driver: Cookie headers (untrusted, on every request). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/cookie.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *h = malloc(size + 1);
	const char *v;
	size_t n;

	memcpy(h, data, size);
	h[size] = '\0';
	if (cookie_find(h, "sessionid", &v, &n))
		if (v < h || v + n > h + size)
			abort();
	if (cookie_find(h, "csrftoken", &v, &n))
		if (v < h || v + n > h + size)
			abort();
	free(h);
	return 0;
}
