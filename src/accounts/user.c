/*
 * user — see user.h.  Owns what makes two addresses one account; must never
 * store or compare an address that did not come out of user_normalize_email.
 */
#include "accounts/user.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <idn2.h>

#include "util.h"

#define LOCAL_MAX 64 /* RFC 5321 4.5.3.1.1 */

static int decode(const unsigned char **p, const unsigned char *end, uint32_t *cp);
static int invisible(uint32_t cp);

/* One code point of valid UTF-8 at *p (advanced): 0, or -1 at a bad sequence. */
static int
decode(const unsigned char **p, const unsigned char *end, uint32_t *cp)
{
	const unsigned char *s = *p;
	size_t n;

	if (s[0] < 0x80) {
		*cp = s[0];
		*p = s + 1;
		return 0;
	}
	n = (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (n == 0 || (size_t)(end - s) < n || !utf8_valid((const char *)s, n))
		return -1;
	*cp = n == 2 ? s[0] & 0x1f : n == 3 ? s[0] & 0x0f : s[0] & 0x07;
	for (size_t i = 1; i < n; i++)
		*cp = (*cp << 6) | (s[i] & 0x3f);
	*p = s + n;
	return 0;
}

/* Characters that draw nothing (or only a space) or reorder text: an address
 * holding one looks like another.  Controls (C0, DEL, C1), spaces other than
 * the ASCII one, soft hyphen, combining grapheme joiner, fillers, zero-width
 * spaces/joiners/marks, bidi embeddings, overrides and isolates, word joiner
 * and invisible operators, variation selectors, BOM, interlinear
 * annotations, shorthand format controls, musical format controls, tags. */
static int
invisible(uint32_t cp)
{
	/* clang-format off */
	static const uint32_t ranges[][2] = {
		{ 0x0000, 0x001f }, { 0x007f, 0x00a0 }, { 0x00ad, 0x00ad }, { 0x034f, 0x034f },
		{ 0x061c, 0x061c }, { 0x115f, 0x1160 }, { 0x1680, 0x1680 }, { 0x17b4, 0x17b5 },
		{ 0x180b, 0x180f }, { 0x2000, 0x200f }, { 0x2028, 0x202f }, { 0x205f, 0x206f },
		{ 0x2800, 0x2800 }, { 0x3000, 0x3000 }, { 0x3164, 0x3164 }, { 0xfe00, 0xfe0f },
		{ 0xfeff, 0xfeff }, { 0xffa0, 0xffa0 }, { 0xfff0, 0xfffb }, { 0x1bca0, 0x1bca3 },
		{ 0x1d173, 0x1d17a }, { 0xe0000, 0xe0fff },
	};
	/* clang-format on */

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (cp >= ranges[i][0] && cp <= ranges[i][1])
			return 1;
	return 0;
}

static int
atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c != '\0' && strchr("-!#$%&'*+/=?^_`{}|~", c) != NULL);
}

/* Django's dot-atom: atext runs joined by single dots. */
static int
dot_atom(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(atext((unsigned char)s[i]) || (s[i] == '.' && s[i + 1] != '.')))
			return 0;
	return 1;
}

/* The local part s (n bytes, ASCII) in normal form into b: 0 or -1.  A
 * quoted string that needs no quotes loses them ("alice" is alice). */
static int
local_part(const char *s, size_t n, struct buf *b)
{
	char plain[LOCAL_MAX + 1];
	size_t m = 0;

	if (n == 0 || n > LOCAL_MAX)
		return -1;
	if (s[0] != '"') {
		if (!dot_atom(s, n))
			return -1;
		for (size_t i = 0; i < n; i++)
			buf_printf(b, "%c", s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
		return 0;
	}
	if (n < 3 || s[n - 1] != '"')
		return -1;
	for (size_t i = 1; i < n - 1; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\') {
			if (++i >= n - 1)
				return -1;
			c = (unsigned char)s[i];
		} else if (c == '"')
			return -1;
		if (c < 0x20 || c > 0x7e)
			return -1;
		plain[m++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	if (dot_atom(plain, m)) {
		buf_append(b, plain, m);
		return 0;
	}
	buf_puts(b, "\"");
	for (size_t i = 0; i < m; i++)
		buf_printf(b, plain[i] == '"' || plain[i] == '\\' ? "\\%c" : "%c", plain[i]);
	buf_puts(b, "\"");
	return 0;
}

/* Django's domain_regex over the ASCII form: dotted LDH labels of 1-63, a
 * last label of 2-63 not ending in '-'; or localhost. */
static int
ldh_domain(const char *d)
{
	size_t len = strlen(d), start = 0, labels = 0;

	if (strcmp(d, "localhost") == 0)
		return 1;
	if (len == 0 || len > 253)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && d[i] != '.') {
			char c = d[i];
			if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
				return 0;
			continue;
		}
		size_t n = i - start;
		if (n == 0 || n > 63 || d[start] == '-' || d[i - 1] == '-')
			return 0;
		labels++;
		if (i == len && (n < 2 || labels < 2))
			return 0;
		start = i + 1;
	}
	return 1;
}

/* [1.2.3.4] or [IPv6:...], as Django's validate_ipv46_address: 1 when valid. */
static int
ip_literal(const char *d, size_t n)
{
	char ip[64];
	unsigned char addr[16];

	if (n < 3 || d[0] != '[' || d[n - 1] != ']' || n - 2 >= sizeof(ip))
		return 0;
	memcpy(ip, d + 1, n - 2);
	ip[n - 2] = '\0';
	if (strncasecmp(ip, "ipv6:", 5) == 0)
		return inet_pton(AF_INET6, ip + 5, addr) == 1;
	return inet_pton(AF_INET, ip, addr) == 1;
}

/* The domain d (n bytes, UTF-8) in ASCII normal form into b: 0 or -1. */
static int
domain_part(const char *d, size_t n, struct buf *b)
{
	char *in, *ascii = NULL;
	int ret = -1;

	if (n == 0)
		return -1;
	if (d[0] == '[') {
		if (!ip_literal(d, n))
			return -1;
		for (size_t i = 0; i < n; i++)
			buf_printf(b, "%c", d[i] >= 'A' && d[i] <= 'Z' ? d[i] + 32 : d[i]);
		return 0;
	}
	in = xstrndup(d, n);
	/* UTS #46 maps (lower case, fullwidth to ASCII, NFC) and checks IDNA2008;
	 * xn-- labels are decoded and checked too, so a bad A-label fails here.
	 * Not IDN2_USE_STD3_ASCII_RULES: libidn2 (2.3) then silently deletes what
	 * STD3 disallows ("exa_mple.com" became "example.com", itself a
	 * look-alike); the STD3 (LDH) rule is checked on the result instead. */
	if (idn2_to_ascii_8z(in, &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) != IDN2_OK || ascii == NULL)
		goto done;
	for (char *p = ascii; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	if (!ldh_domain(ascii))
		goto done;
	buf_puts(b, ascii);
	ret = 0;
done:
	idn2_free(ascii);
	free(in);
	return ret;
}

int
user_normalize_email(const char *in, char *out, size_t outsz)
{
	const unsigned char *p, *end;
	const char *at = NULL;
	struct buf b = { 0 };
	size_t n;
	int ret = -1;

	while (*in == ' ' || *in == '\t')
		in++;
	n = strlen(in);
	while (n > 0 && (in[n - 1] == ' ' || in[n - 1] == '\t'))
		n--;
	/* 4 bytes a character and IDNA's growth aside, no address is longer */
	if (n == 0 || n > 4 * STORE_EMAIL_MAX || !utf8_valid(in, n))
		return -1;
	p = (const unsigned char *)in;
	end = p + n;
	while (p < end) {
		uint32_t cp;
		if (decode(&p, end, &cp) != 0 || invisible(cp))
			return -1;
		if (cp == '@')
			at = (const char *)p - 1; /* the last one, as Django's rpartition */
	}
	if (at == NULL)
		return -1;
	for (const char *c = in; c < at; c++)
		if ((unsigned char)*c >= 0x80)
			return -1;
	if (local_part(in, (size_t)(at - in), &b) != 0)
		goto done;
	buf_puts(&b, "@");
	if (domain_part(at + 1, n - (size_t)(at + 1 - in), &b) != 0)
		goto done;
	if (b.len > STORE_EMAIL_MAX || b.len >= outsz)
		goto done;
	memcpy(out, b.data, b.len);
	out[b.len] = '\0';
	ret = 0;
done:
	buf_free(&b);
	return ret;
}

int
user_name_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	size_t chars = 0;

	if (!utf8_valid(s, len))
		return 0;
	while (p < end) {
		uint32_t cp;
		if (decode(&p, end, &cp) != 0)
			return 0;
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c ||
		    (cp >= 0x200e && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
		    (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff)
			return 0;
		if (++chars > STORE_NAME_MAX)
			return 0;
	}
	return 1;
}

/* s as a JSON string; bytes that are not UTF-8 become U+FFFD, so a bad
 * stored value (written around the API) cannot make the answer fail. */
static json_t *
safe_string(const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
	struct buf b = { 0 };
	json_t *j;

	if (utf8_valid(s, strlen(s)))
		return json_string(s);
	while (p < end) {
		const unsigned char *start = p;
		uint32_t cp;
		if (decode(&p, end, &cp) == 0)
			buf_append(&b, start, (size_t)(p - start));
		else {
			buf_puts(&b, "\xef\xbf\xbd");
			p = start + 1;
		}
	}
	j = json_stringn(b.data ? b.data : "", b.len);
	buf_free(&b);
	return j ? j : json_string("");
}

json_t *
user_profile_json(const struct store_user *u)
{
	char joined[32], last[32];
	json_t *j;

	iso8601(u->date_joined, joined, sizeof(joined));
	if (u->last_login)
		iso8601(u->last_login, last, sizeof(last));
	j = json_pack("{s:I, s:o, s:o, s:o, s:b, s:b, s:s, s:o, s:b, s:b}", "id", (json_int_t)u->id, "email",
	    safe_string(u->email), "first_name", safe_string(u->first_name), "last_name",
	    safe_string(u->last_name), "is_staff", u->is_staff, "is_superuser", u->is_superuser,
	    "date_joined", joined, "last_login", u->last_login ? json_string(last) : json_null(),
	    "email_verified", u->email_verified, "mfa_enabled", u->mfa_enabled);
	/* only out of memory can fail here: the caller's answer becomes a 500 */
	return j;
}
