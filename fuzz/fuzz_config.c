/* libFuzzer driver: the INI configuration file and its checks. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	struct config c;
	char err[512];

	if (fd < 0) {
		fd = memfd_create("fuzz.ini", 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	if (config_load(&c, path, err, sizeof(err)) == 0) {
		if (!config_origin_allowed(&c, c.public_origin, strlen(c.public_origin)))
			abort();
		config_check_deploy(&c);
	}
	config_free(&c);
	return 0;
}
