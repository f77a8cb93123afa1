/* libFuzzer driver: the edge's framing rules and in-place layout walk (every
 * request head).  The input's lines become headers for the framing rules;
 * for the layout walk the first bytes pick where in the buffer the version,
 * names and values are said to be, which must never read outside it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/edge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXH 32

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct edge_header h[MAXH];
	const char *why;
	char *buf, *line;
	size_t n = 0, skip;

	if (size < 1 + 2 * MAXH)
		return 0;
	skip = 1 + 2 * MAXH;
	/* framing: "name:value" lines of the rest */
	buf = malloc(size - skip + 1);
	memcpy(buf, data + skip, size - skip);
	buf[size - skip] = '\0';
	for (line = buf; line && n < MAXH;) {
		char *nl = strchr(line, '\n'), *colon;
		if (nl)
			*nl = '\0';
		if ((colon = strchr(line, ':')) != NULL) {
			*colon = '\0';
			h[n].name = line;
			h[n].value = colon + 1;
			n++;
		}
		line = nl ? nl + 1 : NULL;
	}
	if (edge_check_framing(h, n, &why) != 0 && why == NULL)
		abort();
	free(buf);

	/* layout: arbitrary positions inside an exact-size copy */
	{
		size_t len = size - skip;
		char *head = malloc(len ? len : 1);
		size_t nh = data[0] % MAXH;

		memcpy(head, data + skip, len);
		if (len > 0) {
			for (size_t i = 0; i < nh; i++) {
				h[i].name = head + data[1 + 2 * i] % len;
				h[i].value = head + data[2 + 2 * i] % len;
			}
			(void)edge_check_layout(head, len, head + data[1] % len, h, nh);
		}
		free(head);
	}
	return 0;
}
