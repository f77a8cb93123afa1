/*
 * hashtime — the cost of one login's password work, measured outside the
 * server: libsodium's crypto_pwhash_argon2id_str_verify, the call gatehouse's
 * password_verify makes for its own hashes (src/auth/password.c), at the given
 * memory (KiB) and passes.  Prints one JSON line for bench/run:
 *   single_ms  median wall time of one verify, one thread
 *   single_cpu_ms  median CPU time of one verify (the thread's own clock, so
 *                  other load on a shared machine does not inflate it)
 *   parallel_per_s  verifies per second with THREADS threads doing COUNT
 *                   verifies each at once (what the hash pool could do with no
 *                   HTTP around it)
 * usage: hashtime MEMORY_KIB ITERATIONS THREADS COUNT
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

static char hashed[crypto_pwhash_STRBYTES];
static const char password[] = "bench-password-123";
static long per_thread;

static double
clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
now(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static void
verify_once(void)
{
	if (crypto_pwhash_argon2id_str_verify(hashed, password, strlen(password)) != 0) {
		fprintf(stderr, "hashtime: verify failed\n");
		exit(1);
	}
}

static void *
worker(void *arg)
{
	(void)arg;
	for (long i = 0; i < per_thread; i++)
		verify_once();
	return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static long
arg_long(const char *s, long min, long max)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "hashtime: bad number \"%s\"\n", s);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	long mem_kib, iters, threads, count;
	double *t, *cpu, t0, c0, elapsed;
	pthread_t *tids;

	if (argc != 5) {
		fprintf(stderr, "usage: hashtime MEMORY_KIB ITERATIONS THREADS COUNT\n");
		return 2;
	}
	mem_kib = arg_long(argv[1], 8, 4L * 1024 * 1024);
	iters = arg_long(argv[2], 1, 100);
	threads = arg_long(argv[3], 1, 256);
	count = arg_long(argv[4], 1, 10000);
	if (sodium_init() < 0)
		return 1;
	if (crypto_pwhash_argon2id_str(hashed, password, strlen(password), (unsigned long long)iters,
	        (size_t)mem_kib * 1024) != 0) {
		fprintf(stderr, "hashtime: out of memory\n");
		return 1;
	}
	verify_once(); /* warm: first touch of the memory */

	t = calloc((size_t)count, sizeof(*t));
	cpu = calloc((size_t)count, sizeof(*cpu));
	tids = calloc((size_t)threads, sizeof(*tids));
	if (t == NULL || cpu == NULL || tids == NULL)
		return 1;
	for (long i = 0; i < count; i++) {
		t0 = now();
		c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
		verify_once();
		cpu[i] = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
		t[i] = now() - t0;
	}
	qsort(t, (size_t)count, sizeof(*t), cmp_double);
	qsort(cpu, (size_t)count, sizeof(*cpu), cmp_double);

	per_thread = count;
	t0 = now();
	for (long i = 0; i < threads; i++)
		if (pthread_create(&tids[i], NULL, worker, NULL) != 0)
			return 1;
	for (long i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	elapsed = now() - t0;

	printf("{\"single_ms\":%.3f,\"single_min_ms\":%.3f,\"single_cpu_ms\":%.3f,\"count\":%ld,"
	       "\"threads\":%ld,\"parallel_per_s\":%.2f,\"memory_kib\":%ld,\"iterations\":%ld,"
	       "\"library\":\"libsodium %s\"}\n",
	    t[count / 2] * 1000, t[0] * 1000, cpu[count / 2] * 1000, count, threads,
	    (double)(per_thread * threads) / elapsed, mem_kib, iters, sodium_version_string());
	free(t);
	free(cpu);
	free(tids);
	return 0;
}
