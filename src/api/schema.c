/*
 * api/schema — GET /api/schema/: docs/openapi.yaml, the machine-readable API
 * description, exactly as the Makefile built it into the binary (build/gen/
 * openapi.S), so the answer needs no file at run time and cannot differ from
 * the repository's copy.  Serves constant bytes only; it must never read the
 * request beyond If-None-Match.
 */
#include <stddef.h>
#include <string.h>

#include "api/api.h"
#include "http/http.h"

/* build/gen/openapi.S: the text, its length, and its strong ETag ("<sha256>") */
extern const char openapi_yaml[];
extern const size_t openapi_yaml_len;
extern const char openapi_yaml_etag[];

/* If-None-Match names our ETag: a list of entity tags, or "*" (RFC 9110 §13.1.2) */
static int
etag_matches(const char *inm)
{
	size_t n = strlen(openapi_yaml_etag);
	const char *p = inm;

	while (p && *p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0) /* weak comparison suffices for GET */
			p += 2;
		if (strncmp(p, openapi_yaml_etag, n) == 0 &&
		    (p[n] == '\0' || p[n] == ',' || p[n] == ' ' || p[n] == '\t'))
			return 1;
		p = strchr(p, ',');
	}
	return 0;
}

void
api_schema(struct request *r)
{
	const char *inm = request_header(r, "If-None-Match");

	if (inm && etag_matches(inm))
		respond_bytes(r, 304, NULL, 0, NULL);
	else
		respond_bytes(r, 200, openapi_yaml, openapi_yaml_len, "application/yaml; charset=utf-8");
	/* revalidate each time: the binary (and so the text) may change on upgrade */
	response_header(r, "Cache-Control", "no-cache");
	response_header(r, "ETag", openapi_yaml_etag);
}
