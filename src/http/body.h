/*
 * body — turning an untrusted request body into a JSON object: JSON
 * (application/json) or an HTML form (application/x-www-form-urlencoded or
 * multipart/form-data with text fields only), all checked for valid UTF-8.  Pure: no I/O, no logging.
 */
#ifndef GATEHOUSE_BODY_H
#define GATEHOUSE_BODY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Parse data[0..len) per the Content-Type ctype (NULL: none).  An empty body
 * is an empty object.  On success 0 and *out (caller json_decref's); on
 * failure the HTTP status (400 or 415) with a DRF detail in detail. */
int body_parse(const char *ctype, const char *data, size_t len, json_t **out, char *detail, size_t detailsz);
/* Whether ctype (NULL: none) is one of the two HTML form types. */
bool body_is_form(const char *ctype);
/* Decode a form body into an object of strings (last value of a repeated
 * name wins).  NULL when it is not valid percent-encoding or UTF-8. */
json_t *form_parse(const char *data, size_t len);
/* Decode a multipart/form-data body (RFC 7578) per the boundary in ctype into
 * an object of strings (last value wins).  Text fields only: a part with a
 * filename or a content type other than text/plain sets *file and fails.
 * NULL when malformed or not UTF-8. */
json_t *multipart_parse(const char *ctype, const char *data, size_t len, bool *file);

#endif
