/*
 * useragent — see useragent.h.  Order matters: Edge and Opera say "Chrome",
 * Chrome says "Safari", Android says "Linux".
 */
#include "auth/useragent.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *token, *name;
} browsers[] = {
	{ "Edg/", "Edge" },
	{ "OPR/", "Opera" },
	{ "Firefox/", "Firefox" },
	{ "Chromium/", "Chromium" },
	{ "HeadlessChrome/", "Chrome (headless)" },
	{ "Chrome/", "Chrome" },
	{ "Safari/", "Safari" },
	{ "curl/", "curl" },
	{ "python-requests/", "Python requests" },
	{ "Wget/", "Wget" },
	{ "node", "Node.js" },
	{ "okhttp/", "OkHttp" },
};

static const struct {
	const char *token, *name;
} systems[] = {
	{ "Android", "Android" },
	{ "iPhone", "iOS" },
	{ "iPad", "iPadOS" },
	{ "Windows", "Windows" },
	{ "Mac OS X", "macOS" },
	{ "CrOS", "ChromeOS" },
	{ "Linux", "Linux" },
};

void
useragent_describe(const char *ua, char *out, size_t outsz)
{
	const char *browser = NULL, *os = NULL;

	if (ua == NULL || *ua == '\0') {
		snprintf(out, outsz, "Unknown device");
		return;
	}
	for (size_t i = 0; i < sizeof(browsers) / sizeof(browsers[0]) && !browser; i++)
		if (strstr(ua, browsers[i].token))
			browser = browsers[i].name;
	for (size_t i = 0; i < sizeof(systems) / sizeof(systems[0]) && !os; i++)
		if (strstr(ua, systems[i].token))
			os = systems[i].name;
	if (browser && os)
		snprintf(out, outsz, "%s on %s", browser, os);
	else if (browser || os)
		snprintf(out, outsz, "%s", browser ? browser : os);
	else {
		/* printable ASCII only: a cut UTF-8 sequence must not reach JSON */
		char head[41];
		size_t i;
		for (i = 0; i < sizeof(head) - 1 && ua[i]; i++)
			head[i] = (ua[i] >= 0x20 && ua[i] < 0x7f) ? ua[i] : '?';
		head[i] = '\0';
		snprintf(out, outsz, "Other (%s)", head);
	}
}
