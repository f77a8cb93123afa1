/*
 * fetch — see fetch.h.
 */
#include "social/fetch.h"

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

struct sink {
	struct buf *b;
	int overflow;
};

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;

	if (s->b->len + size * n > FETCH_MAX_BYTES) {
		s->overflow = 1;
		return 0; /* aborts the transfer */
	}
	buf_append(s->b, p, size * n);
	return size * n;
}

int
fetch_perform(const struct fetch *f, struct buf *out, long *http_code, char *err, size_t errsz)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	struct sink sink = { out, 0 };
	CURLcode rc;

	*http_code = 0;
	if (c == NULL) {
		snprintf(err, errsz, "curl_easy_init failed");
		return -1;
	}
	for (int i = 0; i < 6 && f->headers[i]; i++)
		hdrs = curl_slist_append(hdrs, f->headers[i]);
	hdrs = curl_slist_append(hdrs, "User-Agent: gatehouse");
	curl_easy_setopt(c, CURLOPT_URL, f->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, f->timeout);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, f->timeout);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE, (long)FETCH_MAX_BYTES);
	if (f->basic_user) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, f->basic_user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, f->basic_password ? f->basic_password : "");
	}
	if (f->method && strcmp(f->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, f->body ? f->body : "");
	}
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, http_code);
	if (rc != CURLE_OK)
		snprintf(err, errsz, "%s", sink.overflow ? "response too large" : curl_easy_strerror(rc));
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return rc == CURLE_OK ? 0 : -1;
}

json_t *
fetch_json(const struct fetch *f, long *http_code, int any_code, char *err, size_t errsz)
{
	struct buf b = { 0 };
	json_error_t jerr;
	json_t *j = NULL;

	if (fetch_perform(f, &b, http_code, err, errsz) != 0)
		goto done;
	if (!any_code && (*http_code < 200 || *http_code > 299)) {
		snprintf(err, errsz, "HTTP %ld", *http_code);
		goto done;
	}
	if ((j = json_loadb(b.data ? b.data : "", b.len, 0, &jerr)) == NULL)
		snprintf(err, errsz, "HTTP %ld, not JSON", *http_code);
done:
	if (b.data)
		sodium_memzero(b.data, b.len); /* may hold access tokens */
	buf_free(&b);
	return j;
}

void
fetch_urlencode(struct buf *b, const char *s)
{
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		    *c == '-' || *c == '.' || *c == '_' || *c == '~')
			buf_append(b, c, 1);
		else
			buf_printf(b, "%%%02X", *c);
	}
}
