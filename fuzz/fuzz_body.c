/* libFuzzer driver: request bodies, as JSON and as HTML forms (urlencoded
 * and multipart).  The first byte picks the Content-Type. */
#include <stdint.h>
#include <stdlib.h>

#include "http/body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *types[] = { "application/json", "application/x-www-form-urlencoded", "text/plain",
		NULL, "multipart/form-data; boundary=XyZ",
		"multipart/form-data; boundary=\"a'(+_,-./:=? b\"" };
	char detail[256];
	json_t *out = NULL;
	int status;

	if (size == 0)
		return 0;
	status = body_parse(types[data[0] % 6], (const char *)data + 1, size - 1, &out, detail,
	    sizeof(detail));
	if ((status == 0) != (out != NULL))
		abort();
	if (out && !json_is_object(out))
		abort();
	json_decref(out);
	return 0;
}
