/*
 * api/common — small pieces every group of handlers shares, so request
 * validation and refusals read and sound the same everywhere.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "api/api.h"
#include "http.h"

const char *
api_string_field(json_t *obj, const char *name, json_t *errors)
{
	json_t *v = json_object_get(obj, name);
	const char *msg = NULL;

	if (v == NULL || json_is_null(v))
		msg = "This field is required.";
	else if (!json_is_string(v))
		msg = "Not a valid string.";
	else if (json_string_length(v) == 0)
		msg = "This field may not be blank.";
	if (msg) {
		json_object_set_new(errors, name, json_pack("[s]", msg));
		return NULL;
	}
	return json_string_value(v);
}

void
api_respond_throttled(struct request *r, long wait)
{
	char detail[96], ra[24];

	snprintf(detail, sizeof(detail), "Request was throttled. Expected available in %ld second%s.", wait,
	    wait == 1 ? "" : "s");
	snprintf(ra, sizeof(ra), "%ld", wait);
	respond_error(r, 429, detail);
	response_header(r, "Retry-After", ra);
}

void
api_respond_busy(struct request *r, const char *detail)
{
	respond_error(r, 503, detail ? detail : "Service temporarily unavailable.");
	response_header(r, "Retry-After", "1");
}

void
api_wipe_field(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);

	if (json_is_string(v))
		sodium_memzero((char *)json_string_value(v), json_string_length(v));
}
