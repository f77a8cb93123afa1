/*
 * body — see body.h.
 */
#include "http/body.h"

#include <stdbool.h>
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

/* The value of parameter name in a header value's "; name=value" list
 * (token or quoted-string without escapes) into out: 1, or 0 when absent, -1
 * when empty, too long or malformed. */
static int
header_param(const char *v, size_t n, const char *name, char *out, size_t outsz)
{
	size_t nl = strlen(name), i = 0;

	while (i < n) {
		size_t s, e, len;

		while (i < n && v[i] != ';')
			i++;
		if (i >= n)
			return 0;
		i++;
		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
		if (n - i <= nl || strncasecmp(v + i, name, nl) != 0 || v[i + nl] != '=')
			continue;
		i += nl + 1;
		if (i < n && v[i] == '"') {
			s = ++i;
			while (i < n && v[i] != '"' && v[i] != '\\')
				i++;
			if (i >= n || v[i] != '"')
				return -1;
			e = i++;
		} else {
			s = i;
			while (i < n && v[i] != ';' && v[i] != ' ' && v[i] != '\t' && v[i] != '"')
				i++;
			e = i;
		}
		len = e - s;
		if (len == 0 || len >= outsz)
			return -1;
		memcpy(out, v + s, len);
		out[len] = '\0';
		return 1;
	}
	return 0;
}

/* RFC 2046 boundary characters (a space is allowed, not last) */
static bool
boundary_valid(const char *b)
{
	size_t n = strlen(b);

	if (n < 1 || n > 70 || b[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((b[i] >= '0' && b[i] <= '9') || (b[i] >= 'a' && b[i] <= 'z') ||
		        (b[i] >= 'A' && b[i] <= 'Z') || strchr("'()+_,-./:=? ", b[i]) != NULL))
			return false;
	return true;
}

/* One part's headers h[0..n) (CRLF-separated, no final blank line): the field
 * name into name.  -1 when malformed, -2 for a file (a filename parameter)
 * or a content type other than text/plain. */
static int
part_headers(const char *h, size_t n, char *name, size_t namesz)
{
	bool named = false;
	const char *end = h + n;

	while (h < end) {
		const char *eol = memmem(h, (size_t)(end - h), "\r\n", 2), *colon;
		size_t len, vlen;
		const char *v;

		if (eol == NULL)
			eol = end;
		len = (size_t)(eol - h);
		if ((colon = memchr(h, ':', len)) == NULL)
			return -1;
		v = colon + 1;
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		vlen = (size_t)(eol - v);
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)h[i] < 0x20 || (unsigned char)h[i] >= 0x7f)
				return -1;
		if ((size_t)(colon - h) == 19 && strncasecmp(h, "Content-Disposition", 19) == 0) {
			char file[8];

			if (named || vlen < 9 || strncasecmp(v, "form-data", 9) != 0 ||
			    (vlen > 9 && v[9] != ';' && v[9] != ' '))
				return -1;
			/* filename="" is a file input left empty: still a file */
			if (header_param(v, vlen, "filename", file, sizeof(file)) != 0 ||
			    header_param(v, vlen, "filename*", file, sizeof(file)) != 0)
				return -2;
			if (header_param(v, vlen, "name", name, namesz) != 1)
				return -1;
			named = true;
		} else if ((size_t)(colon - h) == 12 && strncasecmp(h, "Content-Type", 12) == 0) {
			if (vlen < 10 || strncasecmp(v, "text/plain", 10) != 0 ||
			    (vlen > 10 && v[10] != ';' && v[10] != ' '))
				return -2;
		}
		h = eol + 2;
	}
	return named ? 0 : -1;
}

json_t *
multipart_parse(const char *ctype, const char *data, size_t len, bool *file)
{
	char boundary[72], delim[76], name[256];
	size_t dlen;
	const char *p, *end = data + len;
	json_t *obj;

	*file = false;
	if (header_param(ctype, strlen(ctype), "boundary", boundary, sizeof(boundary)) != 1 ||
	    !boundary_valid(boundary))
		return NULL;
	dlen = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
	/* the first delimiter opens the body (no preamble, as browsers send it) */
	if (len < dlen - 2 || memcmp(data, delim + 2, dlen - 2) != 0)
		return NULL;
	p = data + dlen - 2;
	obj = json_object();
	for (;;) {
		const char *hend, *next;
		size_t vlen;
		int rc;

		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return obj; /* the close delimiter: an epilogue is ignored */
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			break;
		p += 2;
		if ((hend = memmem(p, (size_t)(end - p), "\r\n\r\n", 4)) == NULL)
			break;
		if ((rc = part_headers(p, (size_t)(hend - p), name, sizeof(name))) != 0) {
			*file = rc == -2;
			break;
		}
		p = hend + 4;
		if ((next = memmem(p, (size_t)(end - p), delim, dlen)) == NULL)
			break;
		vlen = (size_t)(next - p);
		if (!utf8_valid(name, strlen(name)) || !utf8_valid(p, vlen))
			break;
		json_object_set_new(obj, name, json_stringn(p, vlen));
		p = next + dlen;
	}
	json_decref(obj);
	return NULL;
}

bool
body_is_form(const char *ctype)
{
	return ctype != NULL &&
	    (media_is(ctype, "application/x-www-form-urlencoded") || media_is(ctype, "multipart/form-data"));
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
	if (media_is(ctype, "multipart/form-data")) {
		bool file;

		if ((v = multipart_parse(ctype, data, len, &file)) == NULL) {
			snprintf(detail, detailsz,
			    file ? "File uploads are not accepted." : "Malformed multipart data.");
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
