/* libFuzzer driver: arbitrary (percent-decoded) paths through static_map,
 * the SPA's path-to-file mapping, over a real folder in /tmp holding
 * index.html, an asset, a subfolder, a symlink inside and a symlink to a
 * file outside.
 *
 * What must hold for every input: no crash and no UB; a mapped file is
 * open, is a regular file, and its real path lies inside the folder (never
 * the outside file); refused paths leave no descriptor. */
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http/static.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[PATH_MAX], realroot[PATH_MAX];

static void
put(const char *rel, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if ((f = fopen(path, "w")) == NULL)
		exit(1);
	fputs(text, f);
	fclose(f);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char base[] = "/tmp/gatehouse-fuzz-static-XXXXXX", path[PATH_MAX], target[PATH_MAX];
	FILE *f;

	(void)argc;
	(void)argv;
	if (mkdtemp(base) == NULL)
		exit(1);
	snprintf(root, sizeof(root), "%s/static", base);
	mkdir(root, 0700);
	put("index.html", "<!doctype html><title>spa</title>\n");
	snprintf(path, sizeof(path), "%s/assets", root);
	mkdir(path, 0700);
	put("assets/app-Ab12Cd34.js", "console.log(1)\n");
	put("robots.txt", "User-agent: *\n");
	snprintf(target, sizeof(target), "%s/secret.txt", base);
	if ((f = fopen(target, "w")) == NULL)
		exit(1);
	fputs("outside\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/escape.txt", root);
	if (symlink(target, path) != 0)
		exit(1);
	snprintf(path, sizeof(path), "%s/assets/up", root);
	if (symlink("..", path) != 0)
		exit(1);
	if (realpath(root, realroot) == NULL)
		exit(1);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path, link[64], real[PATH_MAX];
	struct static_file f;
	struct stat st;
	ssize_t n;
	size_t rl = strlen(realroot);
	int rc;

	if (memchr(data, '\0', size) != NULL)
		return 0; /* a decoded path never holds NUL: the transport refuses %00 */
	path = malloc(size + 1);
	memcpy(path, data, size);
	path[size] = '\0';
	rc = static_map(root, path, &f);
	if (rc != 0) {
		if (rc != -1 || f.fd != -1)
			abort();
		goto done;
	}
	if (f.fd < 0 || f.content_type == NULL || fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != f.size)
		abort();
	snprintf(link, sizeof(link), "/proc/self/fd/%d", f.fd);
	if ((n = readlink(link, real, sizeof(real) - 1)) < 0)
		abort();
	real[n] = '\0';
	if (strncmp(real, realroot, rl) != 0 || real[rl] != '/') {
		fprintf(stderr, "fuzz_static: %s mapped to %s, outside %s\n", path, real, realroot);
		abort();
	}
	close(f.fd);
	(void)static_is_hashed(path);
done:
	free(path);
	return 0;
}
