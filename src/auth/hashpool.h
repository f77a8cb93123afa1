/*
 * hashpool — a fixed set of worker threads for slow, CPU-bound work
 * (password hashing), fed from a bounded queue so a burst of logins costs a
 * 503, never unbounded memory, and never blocks an HTTP thread.  Knows
 * nothing about HTTP: callers pass a done callback that resumes their request.
 */
#ifndef GATEHOUSE_HASHPOOL_H
#define GATEHOUSE_HASHPOOL_H

struct hashpool;

/* threads workers, at most max_waiting jobs queued beyond the running ones.
 * background: run them at the lowest CPU priority, so they use idle cores
 * but never delay the HTTP threads (password hashing). */
struct hashpool *hashpool_new(unsigned threads, unsigned max_waiting, int background);
/* Reserve a place in the queue: 0, or -1 when full.  Each successful reserve
 * must be followed by exactly one hashpool_submit. */
int hashpool_reserve(struct hashpool *p);
/* Give back a reserved place that will not be used. */
void hashpool_release(struct hashpool *p);
/* Queue work(arg) then done(arg) on a worker, in a reserved place. */
void hashpool_submit(struct hashpool *p, void (*work)(void *), void (*done)(void *), void *arg);
/* Jobs queued or running right now (for /metrics and tests). */
unsigned hashpool_pending(struct hashpool *p);
/* Jobs waiting for a worker (reserved places count: they are about to be
 * queued) and jobs a worker is running, read together. */
void hashpool_stats(struct hashpool *p, unsigned *queued, unsigned *running);
/* Call on_wait(seconds from submit to start) on the worker as each job
 * starts.  Before the first submit (not synchronised). */
void hashpool_on_wait(struct hashpool *p, void (*on_wait)(double seconds));
/* Finish every queued job, stop the workers, free. */
void hashpool_free(struct hashpool *p);

#endif
