/*
 * body — see body.h.
 */
#include "http/body.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util.h"

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..n) with '+' as space into a new string; NULL if malformed or not UTF-8. */
static char *
decode(const char *s, size_t n, size_t *outlen)
{
	char *out = xmalloc(n + 1);
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+')
			out[j++] = ' ';
		else if (s[i] == '%') {
			int hi, lo;
			if (i + 2 >= n) {
				free(out);
				return NULL;
			}
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0) {
				free(out);
				return NULL;
			}
			out[j++] = (char)(hi * 16 + lo);
			i += 2;
		} else
			out[j++] = s[i];
	}
	out[j] = '\0';
	if (!utf8_valid(out, j)) {
		free(out);
		return NULL;
	}
	*outlen = j;
	return out;
}

json_t *
form_parse(const char *data, size_t len)
{
	json_t *obj = json_object();
	const char *p = data, *end = data + len;

	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p)), *eq;
		size_t plen, klen, vlen;
		char *k = NULL, *v = NULL;

		if (amp == NULL)
			amp = end;
		plen = (size_t)(amp - p);
		if (plen > 0) {
			eq = memchr(p, '=', plen);
			if ((k = decode(p, eq ? (size_t)(eq - p) : plen, &klen)) == NULL ||
			    (v = decode(eq ? eq + 1 : amp, eq ? (size_t)(amp - eq - 1) : 0, &vlen)) == NULL) {
				free(k);
				json_decref(obj);
				return NULL;
			}
			json_object_set_new(obj, k, json_stringn(v, vlen));
			free(k);
			free(v);
		}
		p = amp + 1;
	}
	return obj;
}

/* media type of a Content-Type, without parameters and spaces */
static int
media_is(const char *ctype, const char *want)
{
	size_t n = strlen(want);

	while (*ctype == ' ')
		ctype++;
	return strncasecmp(ctype, want, n) == 0 && (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

int
body_parse(const char *ctype, const char *data, size_t len, json_t **out, char *detail, size_t detailsz)
{
	json_error_t jerr;
	json_t *v;

	*out = NULL;
	if (len == 0 && (ctype == NULL || *ctype == '\0')) {
		*out = json_object();
		return 0;
	}
	if (ctype == NULL || *ctype == '\0') {
		snprintf(detail, detailsz, "Unsupported media type \"\" in request.");
		return 415;
	}
	if (media_is(ctype, "application/json")) {
		if (len == 0) {
			*out = json_object();
			return 0;
		}
		v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
		if (v == NULL) {
			char shown[128];

			/* jansson quotes the offending input: keep a printable ASCII copy */
			ascii_sanitize(jerr.text, 100, shown, sizeof(shown));
			snprintf(detail, detailsz, "JSON parse error - %s", shown);
			return 400;
		}
		if (!json_is_object(v)) {
			json_decref(v);
			snprintf(detail, detailsz, "Invalid data. Expected a dictionary.");
			return 400;
		}
		*out = v;
		return 0;
	}
	if (media_is(ctype, "application/x-www-form-urlencoded")) {
		if ((v = form_parse(data, len)) == NULL) {
			snprintf(detail, detailsz, "Malformed form data.");
			return 400;
		}
		*out = v;
		return 0;
	}
	{
		/* echo only a short, printable media type */
		char mt[64];
		size_t i;
		for (i = 0; i < sizeof(mt) - 1 && ctype[i] && ctype[i] != ';'; i++)
			mt[i] = (ctype[i] >= 0x20 && ctype[i] < 0x7f && ctype[i] != '"') ? ctype[i] : '?';
		mt[i] = '\0';
		snprintf(detail, detailsz, "Unsupported media type \"%s\" in request.", mt);
	}
	return 415;
}
